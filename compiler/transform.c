/* transform.c: the env's transformers (see transform.h). The tables of where
 * labels and annotations go follow Kustomize's field specs. */
#include "transform.h"

#include <string.h>

#include "fieldspec.h"
#include "generate.h"
#include "kinds.h"
#include "merge.h"
#include "nameref.h"
#include "replace.h"

/* ---- settings --------------------------------------------------------------- */

static const struct {
  const char *name;
  value_kind kind;
} settings[] = {
    {"namespace", V_STRING}, {"name_prefix", V_STRING},     {"name_suffix", V_STRING},
    {"labels", V_OBJECT},    {"template_labels", V_OBJECT}, {"common_labels", V_OBJECT},
    {"annotations", V_OBJECT}, {"images", V_OBJECT},        {"replicas", V_OBJECT},
    {"replacements", V_LIST},   {"field_specs", V_OBJECT},
    /* Not a transformer: the schemas the build checks against (build.c). */
    {"kube_version", V_STRING},
};
enum { NSETTINGS = sizeof settings / sizeof *settings };

static bool check_image(eval *ev, const field *image) {
  const value *o = image->val;
  if (o->kind != V_OBJECT || !o->u.obj.len) {
    eval_fail(ev, o->at, "images.%s must be an object with name, tag or digest, got %s", image->key,
              o->kind == V_OBJECT ? "an empty object" : value_a(o->kind));
    return false;
  }
  for (size_t i = 0; i < o->u.obj.len; i++) {
    const field *f = &o->u.obj.fields[i];
    if (strcmp(f->key, "name") && strcmp(f->key, "tag") && strcmp(f->key, "digest")) {
      eval_fail(ev, f->val->at, "images.%s has no field \"%s\"; expected name, tag or digest", image->key, f->key);
      return false;
    }
    if (f->val->kind != V_STRING || !f->val->u.str.len) {
      eval_fail(ev, f->val->at, "images.%s.%s must be a non-empty string", image->key, f->key);
      return false;
    }
  }
  return true;
}

static bool check_replicas(eval *ev, const field *f) {
  if (f->val->kind == V_INT && f->val->u.i >= 0) return true;
  eval_fail(ev, f->val->at, "replicas.%s must be an int of at least 0, got %s", f->key,
            f->val->kind == V_INT ? "a negative int" : value_a(f->val->kind));
  return false;
}

/* ---- field specs of custom kinds ------------------------------------------ */

/* Where a transformer reaches in kinds it does not know, by category:
 * field_specs: { common_labels: [{ kind: "App", path: "spec.selector" }] }. */
static const char *const spec_categories[] = {"labels", "common_labels", "template_labels", "annotations", "images",
                                              "replicas", "references", "name_prefix", "name_suffix", "namespace"};
enum { NCATEGORIES = sizeof spec_categories / sizeof *spec_categories };
static const char *const spec_keys[] = {"kind", "group", "version", "path", "create", "to"};

static bool check_spec_entry(eval *ev, const char *category, const value *e) {
  bool refs = strcmp(category, "references") == 0;
  if (e->kind != V_OBJECT) {
    eval_fail(ev, e->at, "field_specs.%s entries must be objects, got %s", category, value_a(e->kind));
    return false;
  }
  for (size_t i = 0; i < e->u.obj.len; i++) {
    const field *f = &e->u.obj.fields[i];
    size_t k = 0;
    while (k < 6 && strcmp(spec_keys[k], f->key)) k++;
    if (k == 6 || (k == 5 && !refs)) {
      eval_fail(ev, f->val->at, "field_specs.%s entries have kind, group, version, path%s and create, not \"%s\"", category,
                refs ? ", to" : "", f->key);
      return false;
    }
    value_kind want = k == 4 ? V_BOOL : V_STRING;
    if (f->val->kind != want) {
      eval_fail(ev, f->val->at, "field_specs.%s: %s must be %s, got %s", category, f->key, value_a(want), value_a(f->val->kind));
      return false;
    }
  }
  if (!value_object_get(e, "path") || (refs && !value_object_get(e, "to"))) {
    eval_fail(ev, e->at, "field_specs.%s entries need a path%s", category, refs ? " and to, the kind the field names" : "");
    return false;
  }
  return true;
}

static bool check_field_specs(eval *ev, const value *v) {
  for (size_t i = 0; i < v->u.obj.len; i++) {
    const field *f = &v->u.obj.fields[i];
    size_t c = 0;
    while (c < NCATEGORIES && strcmp(spec_categories[c], f->key)) c++;
    if (c == NCATEGORIES) {
      eval_fail(ev, f->val->at, "field_specs has no category \"%s\"; expected labels, common_labels, template_labels, "
                "annotations, images, replicas, references, name_prefix, name_suffix or namespace", f->key);
      return false;
    }
    if (f->val->kind != V_LIST) {
      eval_fail(ev, f->val->at, "field_specs.%s must be a list, got %s", f->key, value_a(f->val->kind));
      return false;
    }
    for (size_t k = 0; k < f->val->u.list.len; k++)
      if (!check_spec_entry(ev, f->key, f->val->u.list.items[k])) return false;
  }
  return true;
}

value *transform_field_specs(arena *a, const layer *layers, size_t from, size_t to) {
  value *all = NULL;
  for (size_t i = from; i <= to; i++) {
    const value *specs = value_object_get(layers[i].settings, "field_specs");
    for (size_t c = 0; specs && c < specs->u.obj.len; c++) {
      if (!all) all = value_object(a, specs->at);
      const field *f = &specs->u.obj.fields[c];
      value *list = value_object_get(all, f->key);
      if (!list) value_object_set(a, all, f->key, list = value_list(a, f->val->at));
      for (size_t k = 0; k < f->val->u.list.len; k++) value_list_push(a, list, f->val->u.list.items[k]);
    }
  }
  return all;
}


bool transform_check_setting(eval *ev, const char *name, pos name_at, const value *v, pos value_at) {
  size_t s = 0;
  while (s < NSETTINGS && strcmp(settings[s].name, name) != 0) s++;
  if (s == NSETTINGS) {
    buf names = {0};
    for (size_t i = 0; i < NSETTINGS; i++)
      buf_printf(&names, "%s%s", i == 0 ? "" : i + 1 == NSETTINGS ? " or " : ", ", settings[i].name);
    eval_fail(ev, name_at, "unknown env setting \"%s\"; expected %s", name, names.data);
    buf_free(&names);
    return false;
  }
  if (v->kind != settings[s].kind) {
    eval_fail(ev, value_at, "env setting %s must be %s, got %s", name, value_kind_name(settings[s].kind),
              value_kind_name(v->kind));
    return false;
  }
  if (strcmp(name, "replacements") == 0) return replace_check(ev, v);
  if (strcmp(name, "field_specs") == 0) return check_field_specs(ev, v);
  bool images = strcmp(name, "images") == 0, replicas = strcmp(name, "replicas") == 0;
  for (size_t i = 0; (images || replicas) && i < v->u.obj.len; i++)
    if (!(images ? check_image(ev, &v->u.obj.fields[i]) : check_replicas(ev, &v->u.obj.fields[i]))) return false;
  return true;
}

/* ---- applying them ---------------------------------------------------------- */

typedef struct {
  eval *ev;
  arena *a;
  const char *env;
  const value *settings;
  compile_resource *res;
  size_t n;
  const resource_past *past; /* who each resource was (nameref.h) */
  bool *images_used; /* the layer's (layer.h), or NULL */
  const value *specs; /* field specs of custom kinds, by category, or NULL */
} env_tx;

/* The field specs of a category, or NULL. */
static const value *specs_of(const env_tx *t, const char *category) {
  return t->specs ? value_object_get(t->specs, category) : NULL;
}

/* Resource i as this layer's patches left it. */
static const resource_id *before(const env_tx *t, size_t i) { return past_latest(&t->past[i]); }

/* A value to lay over fields, and the `via` it arrives with. */
typedef struct {
  value *v;
  const char *via;
} tagged;

static tagged setting(const env_tx *t, const char *name) {
  value *v = value_object_get(t->settings, name);
  return (tagged){v, v ? arena_printf(t->a, "%s of %s", name, t->env) : NULL};
}

static bool scalar(const value *v) { return v->kind != V_OBJECT && v->kind != V_LIST; }

static value *tag(arena *a, const value *v, const char *via) {
  value *c = value_clone(a, v);
  c->via = via;
  return c;
}

/* A setting laid on every resource, its scalars tagged once with its
 * `via`: a merge shares such a scalar where it lands on no field, as it
 * is what the merge would make of it (merge.c, replaced). A `delete`
 * stays as it is: its mark is its `via`. */
static tagged laid_setting(const env_tx *t, const char *name) {
  tagged tg = setting(t, name);
  if (!tg.v || scalar(tg.v)) return tg.v ? (tagged){tag(t->a, tg.v, tg.via), tg.via} : tg;
  value *v = value_object(t->a, tg.v->at);
  value_reserve(t->a, v, tg.v->u.obj.len);
  for (size_t i = 0; i < tg.v->u.obj.len; i++) {
    const field *f = &tg.v->u.obj.fields[i];
    bool plain = scalar(f->val) && !merge_is_delete(f->val);
    value_object_push(t->a, v, f->key, plain ? tag(t->a, f->val, tg.via) : f->val);
  }
  v->via = tg.v->via;
  v->prev = tg.v->prev;
  return (tagged){v, tg.via};
}

static bool is(const char *kind, const char *want) { return kind && kinds_same(kind, want); }

/* {key: v} or {outer: {key: v}}, to merge over resources. It lives on the
 * stack: a merge copies what it takes from an overlay. */
typedef struct {
  value outer, inner;
  field fo, fi;
} overlay;

static value *one_field(value *obj, field *f, const char *key, value *v) {
  *f = (field){key, v};
  *obj = (value){.kind = V_OBJECT, .at = v->at, .u.obj = {.fields = f, .len = 1, .cap = 1}};
  return obj;
}

static value *nested(overlay *o, const char *outer, const char *key, value *v) {
  return one_field(&o->outer, &o->fo, outer, one_field(&o->inner, &o->fi, key, v));
}

/* obj with {key: v} merged over it (merge_into: obj changes in place). */
static value *with_field(arena *a, value *obj, const char *key, value *v, const char *via) {
  overlay o;
  return merge_into(a, obj, one_field(&o.outer, &o.fo, key, v), via);
}

/* res with {outer: {key: v}} merged over it. */
static value *with_nested(arena *a, value *res, const char *outer, const char *key, value *v, const char *via) {
  overlay o;
  return merge_into(a, res, nested(&o, outer, key, v), via);
}

/* A string made for one place of one resource: a merge takes it as it is. */
static value *made_string(arena *a, pos at, const char *s) {
  value *v = value_string_take(a, at, s, strlen(s));
  v->owned = true;
  return v;
}

/* fieldspec_fn: the tagged object merged into the field, made if missing. */
static value *laid(arena *a, value *old, void *ctx) {
  const tagged *tg = ctx;
  if (!old) {
    old = value_object(a, tg->v->at);
    old->owned = true;
  }
  return merge_into(a, old, tg->v, tg->via);
}

/* fieldspec_fn: the tagged scalar put in the field. */
static value *laid_scalar(arena *a, value *old, void *ctx) {
  const tagged *tg = ctx;
  value *v = value_clone(a, tg->v);
  v->via = tg->via;
  v->prev = old;
  v->owned = true;
  return v;
}

/* Kustomize sets the namespace of every subject named "default", whatever
 * its kind: its rule for the default ServiceAccount. Subjects naming a
 * ServiceAccount of the env follow it later, with the references. */
static value *default_subjects(arena *a, value *subjects, void *ctx) {
  const tagged *tg = ctx;
  if (subjects->kind != V_LIST) return NULL;
  value *out = value_own(a, subjects);
  for (size_t i = 0; i < out->u.list.len; i++) {
    value *s = out->u.list.items[i];
    if (s->kind != V_OBJECT || !is(value_get_string(s, "name"), "default")) continue;
    uint32_t was = s->size;
    value *now = with_field(a, s, "namespace", tg->v, tg->via);
    if (now == s)
      value_part_changed(out, now, was);
    else
      value_list_set(out, i, now);
  }
  return out;
}

static void set_namespace(env_tx *t) {
  tagged ns = laid_setting(t, "namespace");
  if (!ns.v) return;
  overlay o, os;
  value *in_metadata = nested(&o, "metadata", "namespace", ns.v);
  const value *custom = specs_of(t, "namespace");
  tagged in_service = {one_field(&os.outer, &os.fo, "namespace", ns.v), ns.via};
  for (size_t i = 0; i < t->n; i++) {
    const char *kind = before(t, i)->kind;
    const kind_info *k = kinds_find(kind);
    value *r = t->res[i].obj;
    if (!(k && k->cluster_scoped)) r = merge_into(t->a, r, in_metadata, ns.via);
    if (is(kind, "RoleBinding") || is(kind, "ClusterRoleBinding"))
      r = fieldspec_apply(t->a, r, "subjects", false, default_subjects, &ns);
    /* As Kustomize does, the Services these call are taken to have moved
     * with everything else, whether or not the env has them. */
    if (is(kind, "CustomResourceDefinition"))
      r = fieldspec_apply(t->a, r, "spec.conversion.webhook.clientConfig.service", false, laid, &in_service);
    if (is(kind, "APIService")) r = fieldspec_apply(t->a, r, "spec.service", false, laid, &in_service);
    t->res[i].obj = fieldspec_apply_matching(t->a, r, kind, custom, true, NULL, laid_scalar, &ns);
  }
}

/* As in Kustomize, a prefix or suffix leaves these names alone: a CRD's and
 * an APIService's names are fixed by what they serve, and renaming a
 * Namespace would move everything in it. */
static bool keeps_name(const char *kind) {
  return is(kind, "Namespace") || is(kind, "CustomResourceDefinition") || is(kind, "APIService");
}

typedef struct {
  arena *a;
  tagged affix;
  bool prefix;
} affixing;

/* s with the affix before or after it. */
static value *affixed(const affixing *x, const char *s) {
  const char *first = x->prefix ? x->affix.v->u.str.s : s, *second = x->prefix ? s : x->affix.v->u.str.s;
  return made_string(x->a, x->affix.v->at, arena_join(x->a, first, strlen(first), second, NULL));
}

/* fieldspec_fn: a name in a field of a custom kind that its field specs
 * say the prefix or suffix reaches (Kustomize's x-kubernetes-identity). */
static value *affix_field(arena *a, value *old, void *ctx) {
  const affixing *x = ctx;
  if (old->kind != V_STRING) return NULL;
  value *now = affixed(x, old->u.str.s);
  now->via = x->affix.via;
  now->prev = old;
  return now;
}

static void add_affix(env_tx *t, const char *name, bool prefix) {
  affixing x = {t->a, setting(t, name), prefix};
  const value *custom = specs_of(t, name);
  for (size_t i = 0; x.affix.v && i < t->n; i++) {
    const char *old = value_get_string(t->res[i].obj, "metadata.name");
    /* metadata.name gets the affix below, once, whatever the specs say. */
    t->res[i].obj = fieldspec_apply_matching(t->a, t->res[i].obj, before(t, i)->kind, custom, false, "metadata.name",
                                             affix_field, &x);
    if (!old || keeps_name(before(t, i)->kind)) continue;
    t->res[i].obj = with_nested(t->a, t->res[i].obj, "metadata", "name", affixed(&x, old), x.affix.via);
  }
}

/* Where a transformer puts labels or annotations besides metadata. */
typedef struct {
  const char *kind, *path;
  bool create; /* false: only where the object is already there */
} place;

/* Metadata a workload stamps on what it makes: its pod template and a
 * CronJob's job template. */
static const place templates[] = {
    {"CronJob", "spec.jobTemplate.metadata", true},
    {"CronJob", "spec.jobTemplate.spec.template.metadata", true},
    {"DaemonSet", "spec.template.metadata", true},
    {"Deployment", "spec.template.metadata", true},
    {"Job", "spec.template.metadata", true},
    {"ReplicaSet", "spec.template.metadata", true},
    {"ReplicationController", "spec.template.metadata", true},
    {"StatefulSet", "spec.template.metadata", true},
};
/* Labels, not annotations, also reach a StatefulSet's volume claims. */
static const place claim_templates = {"StatefulSet", "spec.volumeClaimTemplates.metadata", true};

/* The label selectors that must keep matching the templates. */
static const place selectors[] = {
    {"DaemonSet", "spec.selector.matchLabels", true},
    {"Deployment", "spec.selector.matchLabels", true},
    {"ReplicaSet", "spec.selector.matchLabels", true},
    {"ReplicationController", "spec.selector", true},
    {"Service", "spec.selector", true},
    {"StatefulSet", "spec.selector.matchLabels", true},
    {"CronJob", "spec.jobTemplate.spec.selector.matchLabels", false},
    {"Job", "spec.selector.matchLabels", false},
    {"NetworkPolicy", "spec.podSelector.matchLabels", false},
    {"NetworkPolicy", "spec.ingress.from.podSelector.matchLabels", false},
    {"NetworkPolicy", "spec.egress.to.podSelector.matchLabels", false},
    {"PodDisruptionBudget", "spec.selector.matchLabels", false},
};
/* Selectors inside the pod spec of Deployments and StatefulSets. */
static const char *const pod_selectors[] = {
    "spec.template.spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution.podAffinityTerm.labelSelector.matchLabels",
    "spec.template.spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution.labelSelector.matchLabels",
    "spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.podAffinityTerm.labelSelector.matchLabels",
    "spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution.labelSelector.matchLabels",
    "spec.template.spec.topologySpreadConstraints.labelSelector.matchLabels",
};

typedef enum { METADATA, TEMPLATES, SELECTORS } reach;
enum { NTEMPLATES = sizeof templates / sizeof *templates };

/* One labels or annotations setting on its way to every resource. */
typedef struct {
  arena *a;
  const char *key;    /* "labels" or "annotations" */
  value *in_metadata; /* {metadata: {key: tg.v}} */
  tagged tg;
  reach how;
  /* The paths of templates[] and then claim_templates with key appended,
   * made once for all resources. */
  const char *paths[NTEMPLATES + 1];
  const value *custom; /* field specs of custom kinds where it goes too, or NULL */
} labeling;

static value *add_to(labeling *l, value *r, const char *kind) {
  r = merge_into(l->a, r, l->in_metadata, l->tg.via);
  for (size_t i = 0; l->how != METADATA && i < NTEMPLATES; i++)
    if (is(kind, templates[i].kind)) r = fieldspec_apply(l->a, r, l->paths[i], templates[i].create, laid, &l->tg);
  if (l->how != METADATA && is(l->key, "labels") && is(kind, claim_templates.kind))
    r = fieldspec_apply(l->a, r, l->paths[NTEMPLATES], claim_templates.create, laid, &l->tg);
  r = fieldspec_apply_matching(l->a, r, kind, l->custom, true, NULL, laid, &l->tg);
  if (l->how != SELECTORS) return r;
  for (size_t i = 0; i < sizeof selectors / sizeof *selectors; i++)
    if (is(kind, selectors[i].kind)) r = fieldspec_apply(l->a, r, selectors[i].path, selectors[i].create, laid, &l->tg);
  for (size_t i = 0; (is(kind, "Deployment") || is(kind, "StatefulSet")) && i < sizeof pod_selectors / sizeof *pod_selectors; i++)
    r = fieldspec_apply(l->a, r, pod_selectors[i], false, laid, &l->tg);
  return r;
}

static void add_metadata(env_tx *t, const char *name, const char *key, reach how) {
  /* Custom kinds: labels by the reach of their setting, annotations alike. */
  const char *category = strcmp(key, "annotations") == 0 ? "annotations"
                         : how == SELECTORS                ? "common_labels"
                         : how == TEMPLATES                ? "template_labels"
                                                           : "labels";
  labeling l = {t->a, key, NULL, laid_setting(t, name), how, {NULL}, specs_of(t, category)};
  if (!l.tg.v) return;
  overlay o;
  l.in_metadata = nested(&o, "metadata", key, l.tg.v);
  for (size_t i = 0; i < NTEMPLATES; i++) l.paths[i] = arena_printf(t->a, "%s.%s", templates[i].path, key);
  l.paths[NTEMPLATES] = arena_printf(t->a, "%s.%s", claim_templates.path, key);
  for (size_t i = 0; i < t->n; i++) t->res[i].obj = add_to(&l, t->res[i].obj, before(t, i)->kind);
}

/* The path of the first field spec of list that kind (and res's
 * apiVersion) matches, or NULL. */
static const char *custom_path(const value *list, const char *kind, const value *res) {
  for (size_t i = 0; list && i < list->u.list.len; i++)
    if (fieldspec_matches(list->u.list.items[i], kind, res)) return value_get_string(list->u.list.items[i], "path");
  return NULL;
}

static bool scalable(const char *kind) {
  return is(kind, "Deployment") || is(kind, "ReplicaSet") || is(kind, "ReplicationController") || is(kind, "StatefulSet");
}

/* The entry of want for a name, NULL for none. */
static const field *entry_for(const value *want, const char *name) { return name ? value_object_field(want, name) : NULL; }

/* The later of two entries: with both, the later wins, as if applied in order. */
static const field *later(const field *x, const field *y) { return !x ? y : !y || x > y ? x : y; }

/* A workload's replicas entry is under the name it was declared with, the
 * name this layer found it with, or the name this layer gave it (as in
 * Kustomize). Looked up per workload, so a long list of entries stays
 * linear. */
static void set_replicas(env_tx *t) {
  tagged want = setting(t, "replicas");
  if (!want.v) return;
  const field *fields = want.v->u.obj.fields;
  bool *used = arena_alloc(t->a, want.v->u.obj.len + 1);
  const value *custom = specs_of(t, "replicas");
  for (size_t i = 0; i < t->n; i++) {
    bool builtin = scalable(before(t, i)->kind);
    const char *path = builtin ? NULL : custom_path(custom, before(t, i)->kind, t->res[i].obj);
    if (!builtin && !path) continue;
    const field *declared = entry_for(want.v, past_declared(&t->past[i])->name), *was = entry_for(want.v, before(t, i)->name);
    const field *now = entry_for(want.v, value_get_string(t->res[i].obj, "metadata.name"));
    const field *f = later(later(declared, was), now);
    if (!f) continue;
    tagged count = {f->val, want.via};
    t->res[i].obj = builtin ? with_nested(t->a, t->res[i].obj, "spec", "replicas", f->val, want.via)
                            : fieldspec_apply(t->a, t->res[i].obj, path, true, laid_scalar, &count);
    if (declared) used[declared - fields] = true;
    if (was) used[was - fields] = true;
    if (now) used[now - fields] = true;
  }
  for (size_t w = 0; w < want.v->u.obj.len; w++)
    if (!used[w])
      eval_fail(t->ev, fields[w].val->at, "replicas: %s has no Deployment, ReplicaSet, ReplicationController or StatefulSet named \"%s\"",
                t->env, fields[w].key);
}

/* ---- images ------------------------------------------------------------------ */

typedef struct {
  arena *a;
  tagged images;
  bool *used; /* per entry of the images setting */
} retag;

/* The new reference for `image`, or NULL when no entry names its image. A
 * reference is NAME[:TAG][@DIGEST]; a colon before the last slash is a
 * registry's port. A new tag or digest replaces both old ones. */
static value *retagged(retag *c, const value *image) {
  const char *s = image->u.str.s, *digest = strchr(s, '@');
  size_t end = digest ? (size_t)(digest - s) : image->u.str.len;
  const char *slash = memrchr(s, '/', end), *from = slash ? slash : s;
  const char *colon = memrchr(from, ':', end - (size_t)(from - s));
  size_t name_len = colon ? (size_t)(colon - s) : end;
  /* Hashed: an env may have an entry for every app's image. */
  const field *f = value_object_fieldn(c->images.v, s, name_len);
  if (!f) return NULL;
  c->used[f - c->images.v->u.obj.fields] = true;
  const value *o = f->val;
  const char *name = value_get_string(o, "name"), *tag = value_get_string(o, "tag"), *dig = value_get_string(o, "digest");
  /* The old name is not NUL-terminated where it ends: copied by length, up
   * to a NUL in it as a printf's %.*s would. */
  const char *base = name ? name : s;
  size_t base_len = name ? strlen(name) : strnlen(s, name_len);
  const char *now = tag || dig ? arena_join(c->a, base, base_len, tag ? ":" : "", tag ? tag : "", dig ? "@" : "", dig ? dig : "", NULL)
                               : arena_join(c->a, base, base_len, s + name_len, NULL);
  return made_string(c->a, o->at, now);
}

/* Below, NULL means nothing changed; anything else stands for the value
 * looked in, owned (value.h). */
static value *in_containers(retag *c, value *list) {
  value *out = NULL;
  for (size_t i = 0; list->kind == V_LIST && i < list->u.list.len; i++) {
    value *ctr = list->u.list.items[i], *image = ctr->kind == V_OBJECT ? value_object_get(ctr, "image") : NULL;
    value *now = image && image->kind == V_STRING ? retagged(c, image) : NULL;
    if (!now || value_equal(now, image)) continue;
    if (!out) out = value_own(c->a, list);
    uint32_t was = ctr->size;
    now = with_field(c->a, ctr, "image", now, c->images.via);
    if (now == ctr)
      value_part_changed(out, now, was);
    else
      value_list_set(out, i, now);
  }
  return out;
}

/* Kustomize looks for containers and initContainers at any depth, so
 * custom resources that embed pod specs are covered too. */
static value *images_in(retag *c, value *v) {
  value *out = NULL;
  for (size_t i = 0; v->kind == V_LIST && i < v->u.list.len; i++) {
    value *old = v->u.list.items[i];
    uint32_t was = old->size;
    value *item = images_in(c, old);
    if (!item) continue;
    if (!out) out = value_own(c->a, v);
    if (item == old)
      value_part_changed(out, item, was);
    else
      value_list_set(out, i, item);
  }
  for (size_t i = 0; v->kind == V_OBJECT && i < v->u.obj.len; i++) {
    const field *f = &v->u.obj.fields[i];
    uint32_t was = f->val->size;
    /* The first byte first: this runs for every field of every resource. */
    bool ctrs = (f->key[0] == 'c' && strcmp(f->key, "containers") == 0) || (f->key[0] == 'i' && strcmp(f->key, "initContainers") == 0);
    value *now = ctrs ? in_containers(c, f->val) : images_in(c, f->val);
    if (!now) continue;
    if (!out) out = value_own(c->a, v);
    if (now == f->val)
      value_part_changed(out, now, was);
    else
      value_object_set(c->a, out, f->key, now);
  }
  return out;
}

/* fieldspec_fn: an image reference a field spec of a custom kind names. */
static value *retag_field(arena *a, value *old, void *ctx) {
  retag *c = ctx;
  value *now = old->kind == V_STRING ? retagged(c, old) : NULL;
  if (!now || value_equal(now, old)) return NULL;
  now->via = c->images.via;
  now->prev = old;
  return now;
}

static void set_images(env_tx *t) {
  retag c = {t->a, setting(t, "images"), NULL};
  if (!c.images.v) return;
  c.used = t->images_used ? t->images_used : arena_alloc(t->a, c.images.v->u.obj.len + 1);
  const value *custom = specs_of(t, "images");
  for (size_t i = 0; i < t->n; i++) {
    value *now = images_in(&c, t->res[i].obj);
    if (now) t->res[i].obj = now;
    t->res[i].obj = fieldspec_apply_matching(t->a, t->res[i].obj, before(t, i)->kind, custom, false, NULL,
                                             retag_field, &c);
  }
  for (size_t i = 0; !t->images_used && i < c.images.v->u.obj.len; i++)
    if (!c.used[i])
      eval_fail(t->ev, c.images.v->u.obj.fields[i].val->at, "images: no container of %s runs image \"%s\"", t->env,
                c.images.v->u.obj.fields[i].key);
}

/* ---- generated names ------------------------------------------------------ */

static void hash_names(env_tx *t) {
  for (size_t i = 0; i < t->n; i++) {
    value *r = t->res[i].obj, *name = value_get_path(r, "metadata.name");
    if (!r->name_hash || !name || name->kind != V_STRING) continue;
    const char *hash = generate_content_hash(t->a, r);
    value *now = made_string(t->a, name->at, arena_join(t->a, name->u.str.s, strlen(name->u.str.s), "-", hash, NULL));
    t->res[i].obj = with_nested(t->a, r, "metadata", "name", now, "content hash");
  }
}

void transform_env(eval *ev, const layer *l, const value *specs, compile_resource *res, const resource_past *past,
                   size_t n, bool last) {
  arena *a = eval_arena(ev);
  env_tx t = {ev, a, l->label, l->settings, res, n, past, l->images_used, specs};
  set_namespace(&t);
  add_affix(&t, "name_prefix", true);
  add_affix(&t, "name_suffix", false);
  add_metadata(&t, "labels", "labels", METADATA);
  add_metadata(&t, "template_labels", "labels", TEMPLATES);
  add_metadata(&t, "common_labels", "labels", SELECTORS);
  add_metadata(&t, "annotations", "annotations", TEMPLATES);
  set_replicas(&t);
  set_images(&t);
  tagged repl = setting(&t, "replacements");
  if (repl.v) replace_apply(ev, repl.via, repl.v, res, past, n);
  if (last) hash_names(&t);
  nameref_follow(a, res, n, past, l->label, specs_of(&t, "references"));
}
