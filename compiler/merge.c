/* merge.c: plain and strategic overlays (see merge.h).
 *
 * The strategic rule follows what `kubectl kustomize` (Kustomize v5) does,
 * which is the behaviour people copy patches from: keyed lists put the
 * patch's elements first, in the patch's order, then the base's others. In
 * a list keyed by two fields (ports by port and protocol) where an element
 * gives the second, the patch's new elements come first and the base's keep
 * their order. Only the built-in
 * kinds have merge keys: a custom resource's lists are replaced, as
 * Kustomize, which has no schema for them, replaces them, unless a
 * merge_schema read from an OpenAPI document (openapi.h) gives them
 * keys; with one, as in Kustomize, the built-in table is not used. */
#include "merge.h"

#include <string.h>

#include "kinds.h"

const char merge_delete_via[] = "delete";
const char merge_replace_via[] = ":=";
const char merge_removed_via[] = "removed";

/* ---- where merge keys apply ----------------------------------------------- */

/* The Kubernetes type a value has, as far as merge keys care: one of
 * these, or a type of a merge_schema, numbered from S_CUSTOM on. */
typedef int shape;
enum {
  S_NONE, /* unknown: lists are replaced */
  S_KNOWN, /* a built-in kind with no keyed list outside its metadata */
  S_WORKLOAD,
  S_WORKLOAD_SPEC,
  S_CRONJOB,
  S_CRONJOB_SPEC,
  S_JOB_TEMPLATE,
  S_POD,
  S_POD_TEMPLATE_KIND,
  S_POD_TEMPLATE,
  S_POD_SPEC,
  S_CONTAINER,
  S_SERVICE,
  S_SERVICE_SPEC,
  S_SERVICE_ACCOUNT,
  S_WEBHOOKS,
  S_META,
  S_CUSTOM,
};

/* A field of a shape: the shape of its value, or for a keyed list of its
 * elements. key2 is a second key Kustomize matches loosely: an element
 * without it matches any value. A `set` is a list of scalars merged as a
 * set (finalizers). The keys are the patchMergeKey tags of k8s.io/api. */
typedef struct {
  shape parent;
  const char *field;
  shape child;
  const char *key, *key2;
  bool set;
} rule;

#define FIELD(parent, field, child) {parent, field, child, NULL, NULL, false}
#define KEYED(parent, field, child, key) {parent, field, child, key, NULL, false}
#define KEYED2(parent, field, child, key, key2) {parent, field, child, key, key2, false}
#define SET(parent, field) {parent, field, S_NONE, NULL, NULL, true}

static const rule rules[] = {
    FIELD(S_KNOWN, "metadata", S_META),
    FIELD(S_WORKLOAD, "metadata", S_META),
    FIELD(S_CRONJOB, "metadata", S_META),
    FIELD(S_POD, "metadata", S_META),
    FIELD(S_POD_TEMPLATE_KIND, "metadata", S_META),
    FIELD(S_SERVICE, "metadata", S_META),
    FIELD(S_SERVICE_ACCOUNT, "metadata", S_META),
    FIELD(S_WEBHOOKS, "metadata", S_META),
    SET(S_META, "finalizers"),
    KEYED(S_META, "ownerReferences", S_NONE, "uid"),
    FIELD(S_WORKLOAD, "spec", S_WORKLOAD_SPEC),
    FIELD(S_WORKLOAD_SPEC, "template", S_POD_TEMPLATE),
    FIELD(S_CRONJOB, "spec", S_CRONJOB_SPEC),
    FIELD(S_CRONJOB_SPEC, "jobTemplate", S_JOB_TEMPLATE),
    FIELD(S_JOB_TEMPLATE, "metadata", S_META),
    FIELD(S_JOB_TEMPLATE, "spec", S_WORKLOAD_SPEC),
    FIELD(S_POD, "spec", S_POD_SPEC),
    FIELD(S_POD_TEMPLATE_KIND, "template", S_POD_TEMPLATE),
    FIELD(S_POD_TEMPLATE, "metadata", S_META),
    FIELD(S_POD_TEMPLATE, "spec", S_POD_SPEC),
    KEYED(S_POD_SPEC, "containers", S_CONTAINER, "name"),
    KEYED(S_POD_SPEC, "initContainers", S_CONTAINER, "name"),
    KEYED(S_POD_SPEC, "ephemeralContainers", S_CONTAINER, "name"),
    KEYED(S_POD_SPEC, "volumes", S_NONE, "name"),
    KEYED(S_POD_SPEC, "imagePullSecrets", S_NONE, "name"),
    KEYED(S_POD_SPEC, "hostAliases", S_NONE, "ip"),
    KEYED2(S_POD_SPEC, "topologySpreadConstraints", S_NONE, "topologyKey", "whenUnsatisfiable"),
    KEYED(S_POD_SPEC, "resourceClaims", S_NONE, "name"),
    KEYED(S_POD_SPEC, "schedulingGates", S_NONE, "name"),
    KEYED2(S_CONTAINER, "ports", S_NONE, "containerPort", "protocol"),
    KEYED(S_CONTAINER, "env", S_NONE, "name"),
    KEYED(S_CONTAINER, "volumeMounts", S_NONE, "mountPath"),
    KEYED(S_CONTAINER, "volumeDevices", S_NONE, "devicePath"),
    FIELD(S_SERVICE, "spec", S_SERVICE_SPEC),
    KEYED2(S_SERVICE_SPEC, "ports", S_NONE, "port", "protocol"),
    KEYED(S_SERVICE_ACCOUNT, "secrets", S_NONE, "name"),
    KEYED(S_WEBHOOKS, "webhooks", S_NONE, "name"),
};

/* ---- merge keys read from a schema ---- */

/* The fields of one type of a merge_schema that lead to a keyed list. */
typedef struct {
  rule *rules;
  size_t n;
} custom_type;

struct merge_schema {
  arena *a;
  custom_type *types;
  size_t ntypes;
  struct kind_type {
    const char *api_version, *kind;
    shape s;
  } *kinds;
  size_t nkinds;
};

merge_schema *merge_schema_new(arena *a) {
  merge_schema *s = arena_alloc(a, sizeof *s);
  s->a = a;
  return s;
}

int merge_schema_type(merge_schema *s) {
  s->types = arena_room_for_one(s->a, s->types, s->ntypes, sizeof *s->types);
  s->types[s->ntypes] = (custom_type){0};
  return (int)s->ntypes++;
}

void merge_schema_kind(merge_schema *s, const char *api_version, const char *kind, int type) {
  s->kinds = arena_room_for_one(s->a, s->kinds, s->nkinds, sizeof *s->kinds);
  s->kinds[s->nkinds++] = (struct kind_type){api_version, kind, S_CUSTOM + type};
}

void merge_schema_field(merge_schema *s, int parent, const char *field, int child, const char *key, const char *key2,
                        bool set) {
  custom_type *t = &s->types[parent];
  t->rules = arena_room_for_one(s->a, t->rules, t->n, sizeof *t->rules);
  t->rules[t->n++] = (rule){S_CUSTOM + parent, field, child < 0 ? S_NONE : S_CUSTOM + child, key, key2, set};
}

size_t merge_schema_size(const merge_schema *s) {
  size_t n = s->ntypes + s->nkinds;
  for (size_t i = 0; i < s->ntypes; i++) n += s->types[i].n;
  return n;
}

/* A field of a type of the schema: by its name, else "*", a map's values. */
static const rule *custom_rule(const merge_schema *s, shape parent, const char *field) {
  const custom_type *t = &s->types[parent - S_CUSTOM];
  const rule *any = NULL;
  for (size_t i = 0; i < t->n; i++) {
    if (strcmp(t->rules[i].field, field) == 0) return &t->rules[i];
    if (strcmp(t->rules[i].field, "*") == 0) any = &t->rules[i];
  }
  return any;
}

static shape custom_root(const merge_schema *s, const value *res) {
  const char *api = value_get_string(res, "apiVersion"), *kind = value_get_string(res, "kind");
  for (size_t i = 0; api && kind && i < s->nkinds; i++)
    if (strcmp(s->kinds[i].kind, kind) == 0 && strcmp(s->kinds[i].api_version, api) == 0) return s->kinds[i].s;
  return S_NONE;
}

/* ---- the built-in table ---- */

/* The first byte inline: every field of a strategic patch is looked up. */
static const rule *find_rule(const merge_schema *custom, shape parent, const char *field) {
  if (parent == S_NONE) return NULL;
  if (parent >= S_CUSTOM) return custom_rule(custom, parent, field);
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
    if (rules[i].parent == parent && rules[i].field[0] == field[0] && strcmp(rules[i].field, field) == 0) return &rules[i];
  return NULL;
}

static shape root_shape(const merge_schema *custom, const value *res) {
  if (custom) return custom_root(custom, res);
  static const struct { const char *kind; shape s; } roots[] = {
      {"CronJob", S_CRONJOB},
      {"DaemonSet", S_WORKLOAD},
      {"Deployment", S_WORKLOAD},
      {"Job", S_WORKLOAD},
      {"MutatingWebhookConfiguration", S_WEBHOOKS},
      {"Pod", S_POD},
      {"PodTemplate", S_POD_TEMPLATE_KIND},
      {"ReplicaSet", S_WORKLOAD},
      {"ReplicationController", S_WORKLOAD},
      {"Service", S_SERVICE},
      {"ServiceAccount", S_SERVICE_ACCOUNT},
      {"StatefulSet", S_WORKLOAD},
      {"ValidatingWebhookConfiguration", S_WEBHOOKS},
  };
  const value *k = value_object_get(res, "kind");
  if (!k || k->kind != V_STRING) return S_NONE;
  for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++)
    if (kinds_same(roots[i].kind, k->u.str.s)) return roots[i].s;
  return kinds_find(k->u.str.s) ? S_KNOWN : S_NONE;
}

/* ---- the merge ------------------------------------------------------------ */

typedef struct {
  arena *a;
  diag_list *d;
  const char *via;
  bool strategic; /* honour merge keys and $patch directives */
  const merge_schema *custom; /* merge keys instead of the built-in ones, or NULL */
  bool in_place;  /* merge_into: change what is owned, own what is made */
  bool failed;
} mctx;

typedef enum { D_NONE, D_MERGE, D_REPLACE, D_DELETE, D_UNKNOWN } directive;

/* The `$patch` of an object of a strategic overlay. */
static directive directive_of(const mctx *c, const value *v) {
  static const char *const names[] = {"merge", "replace", "delete"};
  const value *p = c->strategic && v->kind == V_OBJECT ? value_object_get(v, "$patch") : NULL;
  if (!p) return D_NONE;
  for (int i = 0; i < 3; i++)
    if (p->kind == V_STRING && strcmp(p->u.str.s, names[i]) == 0) return (directive)(D_MERGE + i);
  return D_UNKNOWN;
}

/* Called once for every object of the overlay, d its directive. */
static void check_directive(mctx *c, const value *obj, directive d) {
  if (d != D_UNKNOWN) return;
  diag_error(c->d, value_object_get(obj, "$patch")->at, "unknown $patch directive; expected \"replace\", \"merge\" or \"delete\"");
  c->failed = true;
}

static bool prefixed(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static const char set_order[] = "$setElementOrder/", delete_from[] = "$deleteFromPrimitiveList/";

static bool is_directive_key(const mctx *c, const char *key) {
  return c->strategic && (strcmp(key, "$patch") == 0 || prefixed(key, set_order) || prefixed(key, delete_from));
}

/* Whether an overlay value asks for what is under it to go. */
static bool deletes(mctx *c, const value *v) { return merge_is_delete(v) || directive_of(c, v) == D_DELETE; }

/* A value that lands where nothing was before keeps no markers and no
 * directives: there is nothing under it to delete or merge with. */
static value *fresh(mctx *c, const value *v) {
  value *out;
  if (c->in_place && v->owned && v->kind != V_OBJECT && v->kind != V_LIST) {
    out = (value *)v; /* made for this place: taken as it is */
  } else if (v->kind == V_OBJECT) {
    check_directive(c, v, directive_of(c, v));
    out = value_object(c->a, v->at);
    for (size_t i = 0; i < v->u.obj.len; i++) {
      const field *f = &v->u.obj.fields[i];
      if (!deletes(c, f->val) && !is_directive_key(c, f->key)) value_object_push(c->a, out, f->key, fresh(c, f->val));
    }
  } else if (v->kind == V_LIST) {
    out = value_list(c->a, v->at);
    for (size_t i = 0; i < v->u.list.len; i++) {
      const value *item = v->u.list.items[i];
      if (!deletes(c, item) && directive_of(c, item) != D_REPLACE) value_list_push(c->a, out, fresh(c, item));
    }
  } else {
    out = value_clone(c->a, v);
  }
  out->via = merge_is_replace(v) ? c->via : v->via;
  out->prev = v->prev;
  out->owned = c->in_place;
  return out;
}

static value *replaced(mctx *c, const value *base, const value *overlay) {
  /* A scalar of the overlay already as this would make it, where nothing
   * was: shared, not copied (a build's setting, tagged once for every
   * resource it reaches). Never owned, so nothing changes it in place. */
  if (c->in_place && !base && !overlay->owned && overlay->via == c->via && !overlay->prev && overlay->kind != V_OBJECT &&
      overlay->kind != V_LIST)
    return (value *)overlay;
  value *v = fresh(c, overlay);
  v->via = c->via;
  v->prev = base;
  return v;
}

static value *merge_value(mctx *c, const value *base, const value *ov, shape s, const rule *r);
static value *merge_directed(mctx *c, const value *base, const value *ov, directive d, shape s, const rule *r);

/* ---- keyed lists ---- */

/* The element's key, or NULL after reporting that it has none. */
static const value *key_of(mctx *c, const value *el, const rule *r) {
  const value *k = el->kind == V_OBJECT ? value_object_get(el, r->key) : NULL;
  if (!k) {
    diag_error(c->d, el->at, "an element of %s needs \"%s\": the list merges by it (write %s := [...] to replace it whole)",
               r->field, r->key, r->field);
    c->failed = true;
  }
  return k;
}

static bool same_element(const rule *r, const value *x, const value *y) {
  if (x->kind != V_OBJECT || y->kind != V_OBJECT) return false;
  const value *kx = value_object_get(x, r->key), *ky = value_object_get(y, r->key);
  if (!kx || !ky || !value_equal(kx, ky)) return false;
  if (!r->key2) return true;
  const value *x2 = value_object_get(x, r->key2), *y2 = value_object_get(y, r->key2);
  return !x2 || !y2 || value_equal(x2, y2);
}

static long find_element(const value *list, const value *el, const rule *r) {
  for (size_t i = 0; i < list->u.list.len; i++)
    if (same_element(r, list->u.list.items[i], el)) return (long)i;
  return -1;
}

/* A list like base (position and provenance), with no items yet. */
static value *list_like(mctx *c, const value *base) {
  value *out = value_list(c->a, base->at);
  out->via = base->via;
  out->prev = base->prev;
  out->owned = c->in_place;
  return out;
}

typedef struct {
  value **merged; /* per base element: its merged value, or NULL */
  bool *gone;     /* per base element: deleted by the overlay */
  value *first;   /* what the overlay brings to the front (see the file comment) */
  bool two_keys;  /* some element has the rule's key2 */
} keyed;

static bool any_has(const value *list, const char *key) {
  for (size_t i = 0; key && i < list->u.list.len; i++)
    if (list->u.list.items[i]->kind == V_OBJECT && value_object_get(list->u.list.items[i], key)) return true;
  return false;
}

/* Lays one overlay element onto its base element, or adds it. */
static void keyed_element(mctx *c, keyed *k, const value *base, const value *el, const rule *r) {
  long j = find_element(base, el, r);
  if (deletes(c, el)) {
    if (j >= 0) k->gone[j] = true;
    return;
  }
  if (j < 0) {
    long again = find_element(k->first, el, r);
    if (again < 0)
      value_list_push(c->a, k->first, replaced(c, NULL, el));
    else
      value_list_set(k->first, (size_t)again, merge_value(c, k->first->u.list.items[again], el, r->child, NULL));
    return;
  }
  bool seen = k->merged[j] != NULL, in_place = c->in_place;
  /* A second element for the same key merges onto a copy: with one key,
   * the list keeps what the first one made. */
  c->in_place = in_place && !seen;
  k->merged[j] = merge_value(c, seen ? k->merged[j] : base->u.list.items[j], el, r->child, NULL);
  c->in_place = in_place;
  if (!k->two_keys && !seen) value_list_push(c->a, k->first, k->merged[j]);
}

static value *merge_keyed(mctx *c, const value *base, const value *ov, const rule *r) {
  for (size_t i = 0; i < ov->u.list.len; i++)
    if (directive_of(c, ov->u.list.items[i]) == D_REPLACE) return replaced(c, base, ov);
  size_t nb = base->u.list.len;
  keyed k = {arena_alloc(c->a, (nb + 1) * sizeof *k.merged), arena_alloc(c->a, nb + 1), value_list(c->a, ov->at),
             any_has(base, r->key2) || any_has(ov, r->key2)};
  for (size_t i = 0; i < ov->u.list.len; i++) {
    const value *el = ov->u.list.items[i];
    if (key_of(c, el, r)) keyed_element(c, &k, base, el, r);
  }
  value *out = list_like(c, base);
  for (size_t i = 0; i < k.first->u.list.len; i++) value_list_push(c->a, out, k.first->u.list.items[i]);
  /* With one key the merged elements moved to the front; with two they
   * stay where the base has them. */
  for (size_t j = 0; j < nb; j++)
    if (!k.gone[j] && (k.two_keys || !k.merged[j])) value_list_push(c->a, out, k.merged[j] ? k.merged[j] : base->u.list.items[j]);
  return out;
}

static bool list_has(const value *list, const value *v) {
  for (size_t i = 0; i < list->u.list.len; i++)
    if (value_equal(list->u.list.items[i], v)) return true;
  return false;
}

/* A set of scalars: the overlay's first, then the base's others. */
static value *merge_set(mctx *c, const value *base, const value *ov) {
  value *out = list_like(c, base);
  for (size_t i = 0; i < ov->u.list.len; i++)
    if (!list_has(out, ov->u.list.items[i])) value_list_push(c->a, out, replaced(c, NULL, ov->u.list.items[i]));
  for (size_t i = 0; i < base->u.list.len; i++)
    if (!list_has(out, base->u.list.items[i])) value_list_push(c->a, out, base->u.list.items[i]);
  return out;
}

/* ---- list directives of an object ---- */

static const value *want_list(mctx *c, const field *f) {
  if (f->val->kind == V_LIST) return f->val;
  diag_error(c->d, f->val->at, "%s needs a list", f->key);
  c->failed = true;
  return NULL;
}

/* $deleteFromPrimitiveList/F: [values] drops those values from list F. */
static void delete_from_list(mctx *c, value *obj, const field *f) {
  const value *drop = want_list(c, f);
  value *old = value_object_get(obj, f->key + strlen(delete_from));
  if (!drop || !old || old->kind != V_LIST) return;
  value *out = list_like(c, old);
  for (size_t i = 0; i < old->u.list.len; i++)
    if (!list_has(drop, old->u.list.items[i])) value_list_push(c->a, out, old->u.list.items[i]);
  value_object_set(c->a, obj, f->key + strlen(delete_from), out);
}

/* $setElementOrder/F: [elements] puts those elements (by key, or by value in
 * a list of scalars) first, in that order; the rest keep theirs. */
static void set_element_order(mctx *c, value *obj, const field *f, const rule *r) {
  const value *order = want_list(c, f);
  const char *name = f->key + strlen(set_order);
  value *old = value_object_get(obj, name);
  if (!order || !old || old->kind != V_LIST) return;
  value *out = list_like(c, old);
  bool *taken = arena_alloc(c->a, old->u.list.len + 1);
  for (size_t i = 0; i < order->u.list.len; i++)
    for (size_t j = 0; j < old->u.list.len; j++) {
      const value *o = order->u.list.items[i], *el = old->u.list.items[j];
      if (taken[j] || !(r && r->key ? same_element(r, el, o) : value_equal(el, o))) continue;
      taken[j] = true;
      value_list_push(c->a, out, (value *)el);
      break;
    }
  for (size_t j = 0; j < old->u.list.len; j++)
    if (!taken[j]) value_list_push(c->a, out, old->u.list.items[j]);
  value_object_set(c->a, obj, name, out);
}

static void list_directives(mctx *c, value *obj, const value *ov, shape s) {
  if (!c->strategic) return;
  for (size_t i = 0; i < ov->u.obj.len; i++) {
    const field *f = &ov->u.obj.fields[i];
    if (prefixed(f->key, delete_from))
      delete_from_list(c, obj, f);
    else if (prefixed(f->key, set_order))
      set_element_order(c, obj, f, find_rule(c->custom, s, f->key + strlen(set_order)));
  }
}

/* ---- objects and values ---- */

/* Removes key (whose value is old) from obj, leaving the record merge.h
 * describes. */
static void remove_field(mctx *c, value *obj, const char *key, const value *old, const value *marker) {
  value_object_remove(obj, key);
  value *rec = value_object(c->a, marker->at);
  value_object_push(c->a, rec, key, (value *)old);
  rec->via = merge_removed_via;
  rec->prev = obj->prev;
  obj->prev = rec;
}

/* How many keys of ov a merge adds to base; 0 when base is owned with
 * room for all of them already, which needs no count. */
static size_t keys_added(mctx *c, const value *base, const value *ov) {
  if (base->owned && base->u.obj.cap - base->u.obj.len >= ov->u.obj.len) return 0;
  size_t n = 0;
  for (size_t i = 0; i < ov->u.obj.len; i++) {
    const field *f = &ov->u.obj.fields[i];
    n += !is_directive_key(c, f->key) && !deletes(c, f->val) && !value_object_get(base, f->key);
  }
  return n;
}

/* d: the directive of ov. */
static value *merge_object(mctx *c, const value *base, const value *ov, directive d, shape s) {
  check_directive(c, ov, d);
  value *out = c->in_place ? value_own_room(c->a, (value *)base, keys_added(c, base, ov)) : value_clone(c->a, base);
  for (size_t i = 0; i < ov->u.obj.len; i++) {
    const field *f = &ov->u.obj.fields[i];
    if (is_directive_key(c, f->key)) continue;
    if (c->strategic && strcmp(f->key, "$retainKeys") == 0) {
      /* Kustomize leaves it in its output, which the API server refuses. */
      diag_error(c->d, f->val->at, "$retainKeys is not supported; replace the object whole instead (\"$patch\": \"replace\" in it, or := in Plumb)");
      c->failed = true;
      continue;
    }
    /* Found once: set again below without a second lookup. */
    field *at = value_object_field(out, f->key);
    value *old = at ? at->val : NULL;
    const rule *r = find_rule(c->custom, s, f->key);
    /* Read once for the deletion and the merge: it takes a lookup. */
    directive fd = directive_of(c, f->val);
    if (merge_is_delete(f->val) || fd == D_DELETE) {
      if (old) remove_field(c, out, f->key, old, f->val);
    } else if (old) {
      uint32_t was = old->size;
      value *now = merge_directed(c, old, f->val, fd, r ? r->child : S_NONE, r);
      if (now == old)
        value_part_changed(out, now, was);
      else
        value_field_set(out, at, now);
    } else {
      value_object_push(c->a, out, f->key, replaced(c, NULL, f->val));
    }
  }
  list_directives(c, out, ov, s);
  return out;
}

/* d: the directive of ov; r: the rule of the field that holds the value,
 * for a list. */
static value *merge_directed(mctx *c, const value *base, const value *ov, directive d, shape s, const rule *r) {
  if (merge_is_replace(ov) || d == D_REPLACE) return replaced(c, base, ov);
  if (c->strategic && r && base->kind == V_LIST && ov->kind == V_LIST) {
    if (r->key) return merge_keyed(c, base, ov, r);
    if (r->set) return merge_set(c, base, ov);
  }
  if (base->kind != V_OBJECT || ov->kind != V_OBJECT) return replaced(c, base, ov);
  return merge_object(c, base, ov, d, s);
}

static value *merge_value(mctx *c, const value *base, const value *ov, shape s, const rule *r) {
  return merge_directed(c, base, ov, directive_of(c, ov), s, r);
}

value *merge_values(arena *a, const value *base, const value *overlay, const char *via) {
  mctx c = {.a = a, .via = via};
  return merge_value(&c, base, overlay, S_NONE, NULL);
}

value *merge_into(arena *a, value *base, value *overlay, const char *via) {
  mctx c = {.a = a, .via = via, .in_place = true};
  return merge_value(&c, base, overlay, S_NONE, NULL);
}

bool merge_strategic(arena *a, diag_list *d, value *res, const value *overlay, const char *via,
                     const merge_schema *custom, value **out) {
  mctx c = {.a = a, .d = d, .via = via, .strategic = true, .in_place = true, .custom = custom};
  directive top = directive_of(&c, overlay);
  *out = top == D_DELETE ? NULL : merge_directed(&c, res, overlay, top, root_shape(custom, res), NULL);
  if (c.failed) *out = NULL;
  return !c.failed;
}
