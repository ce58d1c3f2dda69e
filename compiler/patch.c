/* patch.c: selecting and patching resources (see patch.h). */
#include "patch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpatch.h"
#include "kinds.h"
#include "merge.h"
#include "regex.h"
#include "selector.h"
#include "suggest.h"

/* ---- evaluating the statement --------------------------------------------- */

static const char *const where_keys[] = {"kind", "group", "version", "name", "namespace", "labels", "annotations"};

static bool known_where_key(const char *k) {
  for (size_t i = 0; i < sizeof where_keys / sizeof where_keys[0]; i++)
    if (strcmp(where_keys[i], k) == 0) return true;
  return false;
}

static bool where_arg(eval *ev, module *m, scope *sc, const node *st, const node *arg, value *where) {
  if (!arg->name || !known_where_key(arg->name)) {
    eval_fail(ev, arg->at, "where() takes named arguments: %sgroup, version, name, namespace, labels or annotations",
              st->type ? "" : "kind, ");
    return false;
  }
  if (st->type && strcmp(arg->name, "kind") == 0) {
    eval_fail(ev, arg->at, "the kind is written before where(); remove kind: here");
    return false;
  }
  if (value_object_get(where, arg->name)) {
    eval_fail(ev, arg->at, "argument \"%s\" given twice", arg->name);
    return false;
  }
  value *v = eval_expr(ev, m, sc, arg->a);
  if (v && v->kind != V_STRING) eval_fail(ev, arg->a->at, "where(%s: ...) must be a string, got %s", arg->name, value_kind_name(v->kind));
  if (!v || v->kind != V_STRING) return false;
  value_object_set(eval_arena(ev), where, arena_strdup(eval_arena(ev), arg->name), v);
  return true;
}

/* What out holds is copied out of the syntax trees, which go before the
 * patches are applied (eval_forget_syntax). */
static bool patch_eval(eval *ev, module *m, scope *sc, const node *st, patch *out) {
  *out = (patch){.at = st->at, .kind = st->type ? arena_strdup(eval_arena(ev), st->type) : NULL};
  if (st->c) {
    out->where = value_object(eval_arena(ev), st->c->at);
    for (size_t i = 0; i < st->c->list.len; i++)
      if (!where_arg(ev, m, sc, st, st->c->list.items[i], out->where)) return false;
  } else {
    out->name = eval_expr(ev, m, sc, st->a);
    if (!out->name) return false;
    if (out->name->kind != V_STRING) {
      eval_fail(ev, st->a->at, "the name in a patch must be a string, got %s", value_kind_name(out->name->kind));
      return false;
    }
  }
  out->body = eval_expr(ev, m, sc, st->b);
  return out->body != NULL;
}

patch *patch_list_push(arena *a, patch_list *l) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 8;
    l->items = arena_grow(a, l->items, l->n * sizeof *l->items, l->cap * sizeof *l->items);
  }
  l->items[l->n] = (patch){0};
  return &l->items[l->n++];
}

bool patch_list_add(eval *ev, module *m, scope *sc, const node *st, patch_list *l) {
  patch *p = patch_list_push(eval_arena(ev), l);
  if (patch_eval(ev, m, sc, st, p)) return true;
  l->n--;
  return false;
}

/* ---- targets --------------------------------------------------------------- */

typedef struct {
  const patch *p;
  pcre2_code *kind, *group, *version, *name, *ns;
  selector *labels, *annotations;
} target;

/* Patterns match whole strings, as Kustomize anchors a target's name. */
static bool compile_pattern(eval *ev, const value *where, const char *key, pcre2_code **out) {
  const value *v = value_object_get(where, key);
  if (!v) return true;
  int err;
  PCRE2_SIZE off;
  *out = pcre2_compile((PCRE2_SPTR)v->u.str.s, v->u.str.len, PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, &err, &off,
                       NULL);
  if (*out) return true;
  PCRE2_UCHAR msg[256];
  pcre2_get_error_message(err, msg, sizeof msg);
  eval_fail(ev, v->at, "invalid regular expression in where(%s: ...) at offset %zu: %s", key, (size_t)off, (char *)msg);
  return false;
}

static bool compile_selector(eval *ev, const value *where, const char *key, selector **out) {
  const value *v = value_object_get(where, key);
  const char *err;
  if (!v) return true;
  *out = selector_parse(eval_arena(ev), v->u.str.s, &err);
  if (!*out) eval_fail(ev, v->at, "invalid selector in where(%s: ...): %s", key, err);
  return *out != NULL;
}

static void target_free(target *t) {
  pcre2_code_free(t->kind);
  pcre2_code_free(t->group);
  pcre2_code_free(t->version);
  pcre2_code_free(t->name);
  pcre2_code_free(t->ns);
}

static bool target_compile(eval *ev, const patch *p, target *t) {
  *t = (target){.p = p};
  if (!p->where) return true;
  bool ok = compile_pattern(ev, p->where, "kind", &t->kind);
  ok = compile_pattern(ev, p->where, "group", &t->group) && ok;
  ok = compile_pattern(ev, p->where, "version", &t->version) && ok;
  ok = compile_pattern(ev, p->where, "name", &t->name) && ok;
  ok = compile_pattern(ev, p->where, "namespace", &t->ns) && ok;
  ok = compile_selector(ev, p->where, "labels", &t->labels) && ok;
  return compile_selector(ev, p->where, "annotations", &t->annotations) && ok;
}

static const char *str_at(const value *res, const char *path) {
  const value *v = value_get_path(res, path);
  return v && v->kind == V_STRING ? v->u.str.s : NULL;
}

/* Whether re matches the n bytes at s. */
static bool pattern_matches_n(eval *ev, const target *t, pcre2_code *re, const char *s, size_t n) {
  if (!re) return true;
  pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
  int rc = regex_match(ev, t->p->at, re, (PCRE2_SPTR)s, n, 0, 0, md);
  pcre2_match_data_free(md);
  return rc >= 0;
}

/* An absent string (no namespace) matches as "". */
static bool pattern_matches(eval *ev, const target *t, pcre2_code *re, const char *s) {
  return pattern_matches_n(ev, t, re, s ? s : "", s ? strlen(s) : 0);
}

/* The group and version of apiVersion, as a target names them: "apps" and
 * "v1" of apps/v1, "" and "v1" of v1. */
static bool api_matches(eval *ev, const target *t, const value *res) {
  if (!t->group && !t->version) return true;
  const char *api = str_at(res, "apiVersion");
  const char *slash = api ? strrchr(api, '/') : NULL;
  return pattern_matches_n(ev, t, t->group, slash ? api : "", slash ? (size_t)(slash - api) : 0) &&
         pattern_matches(ev, t, t->version, slash ? slash + 1 : api);
}

/* A resource is matched by its name or namespace now or as declared
 * (orig, NULL when it is the same), as Kustomize matches a target: an
 * overlay names a resource of the env below as that env has it, or as it
 * was written. */
static bool target_matches(eval *ev, const target *t, const value *res, const resource_id *orig) {
  const char *kind = str_at(res, "kind"), *name = str_at(res, "metadata.name"), *ns = str_at(res, "metadata.namespace");
  if (!kind || !name || (t->p->kind && strcmp(kind, t->p->kind))) return false;
  if (t->p->name) return strcmp(name, t->p->name->u.str.s) == 0 || (orig && strcmp(orig->name, t->p->name->u.str.s) == 0);
  return pattern_matches(ev, t, t->kind, kind) && api_matches(ev, t, res) &&
         (pattern_matches(ev, t, t->name, name) || (orig && pattern_matches(ev, t, t->name, orig->name))) &&
         (pattern_matches(ev, t, t->ns, ns) || (orig && pattern_matches(ev, t, t->ns, orig->ns))) &&
         (!t->labels || selector_match(t->labels, value_get_path(res, "metadata.labels"))) &&
         (!t->annotations || selector_match(t->annotations, value_get_path(res, "metadata.annotations")));
}

/* `Deployment "web"` or `Deployment where(name: "api-.*")`, for messages. */
static const char *describe(arena *a, const patch *p) {
  if (p->name) return arena_printf(a, "%s \"%s\"", p->kind, p->name->u.str.s);
  buf b = {0};
  buf_printf(&b, "%s%swhere(", p->kind ? p->kind : "", p->kind ? " " : "");
  for (size_t i = 0; i < p->where->u.obj.len; i++)
    buf_printf(&b, "%s%s: \"%s\"", i ? ", " : "", p->where->u.obj.fields[i].key, p->where->u.obj.fields[i].val->u.str.s);
  buf_putc(&b, ')');
  const char *s = arena_strdup(a, b.data);
  buf_free(&b);
  return s;
}

/* ---- the index --------------------------------------------------------------- */

/* The resources by kind and name, twice: sorted by kind then position,
 * and by kind, name (now, and as declared where it differs), then
 * position. The resources a patch may match are a run of one of them, in
 * the order declared, found by binary search. Each is sorted when a patch
 * first needs it: most envs patch by name only, or by where() only. The
 * arrays are malloc'd, freed once the patches are applied: the arena
 * keeps nothing of them. */
typedef struct {
  const char *kind, *name; /* name NULL in by_kind */
  size_t at;
} entry;

typedef struct {
  const compile_resource *res;
  const resource_past *past;
  size_t n;
  entry *by_kind, *by_name; /* NULL until needed */
  size_t nkind, nname;
} res_index;

static int cmp_entry(const void *pa, const void *pb) {
  const entry *x = pa, *y = pb;
  int c = kinds_cmp(x->kind, y->kind);
  if (!c && x->name) c = strcmp(x->name, y->name);
  return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* How resource i was declared, when an earlier layer renamed or moved it. */
static const resource_id *orig_of(const resource_past *past, size_t i) {
  return past && past[i].n ? past_declared(&past[i]) : NULL;
}

/* A patch may have deleted a resource before the index is made: it is
 * left out. Patches change no kind or name, so the rest are as before. */
static void index_build(res_index *ix, bool by_name) {
  entry *e = heap_alloc(((by_name ? 2 : 1) * ix->n + 1) * sizeof(entry));
  size_t k = 0;
  for (size_t i = 0; i < ix->n; i++) {
    const value *r = ix->res[i].obj;
    const char *kind = r ? str_at(r, "kind") : NULL, *name = kind ? str_at(r, "metadata.name") : NULL;
    if (!name) continue;
    e[k++] = (entry){kind, by_name ? name : NULL, i};
    const resource_id *orig = by_name ? orig_of(ix->past, i) : NULL;
    if (orig && strcmp(orig->name, name) != 0) e[k++] = (entry){kind, orig->name, i};
  }
  qsort(e, k, sizeof(entry), cmp_entry);
  if (by_name)
    ix->by_name = e, ix->nname = k;
  else
    ix->by_kind = e, ix->nkind = k;
}

static void index_free(res_index *ix) {
  free(ix->by_kind);
  free(ix->by_name);
}

/* The first entry of e[0..n) not before key, ignoring positions. */
static size_t first_of(const entry *e, size_t n, const entry *key) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cmp_entry(&e[mid], key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* The entries a patch may match, *count of them; NULL: every resource. */
static const entry *candidates(res_index *ix, const patch *p, size_t *count) {
  if (!p->kind) return NULL;
  if (!(p->name ? ix->by_name : ix->by_kind)) index_build(ix, p->name != NULL);
  const entry *e = p->name ? ix->by_name : ix->by_kind;
  size_t n = p->name ? ix->nname : ix->nkind;
  entry key = {p->kind, p->name ? p->name->u.str.s : NULL, 0};
  size_t from = first_of(e, n, &key);
  key.at = SIZE_MAX;
  *count = first_of(e, n, &key) - from;
  return e + from;
}

/* ---- applying --------------------------------------------------------------- */

static const char *const identity[] = {"apiVersion", "kind", "metadata.name", "metadata.namespace"};

/* Whether p may change identity field i (kind is 1, the name 2). */
static bool may_change(const patch *p, size_t i) { return (i == 1 && p->may_rekind) || (i == 2 && p->may_rename); }

static bool same_at(const value *x, const value *y, const char *path) {
  const value *vx = value_get_path(x, path), *vy = value_get_path(y, path);
  return vx ? vy && value_equal(vx, vy) : !vy;
}

/* A patch changes a resource; which resource it is stays as declared. A
 * body may restate the identity fields (as a Kustomize patch does), not
 * change them. */
static bool body_keeps_identity(eval *ev, const patch *p, const value *res) {
  bool ok = true;
  for (size_t i = 0; i < sizeof identity / sizeof identity[0]; i++) {
    const value *v = value_get_path(p->body, identity[i]), *old = v ? value_get_path(res, identity[i]) : NULL;
    if (v && !may_change(p, i) && !(old && value_equal(v, old))) {
      eval_fail(ev, v->at, "a patch cannot change %s; it names the resource it patches", identity[i]);
      ok = false;
    }
  }
  return ok;
}

static bool op_keeps_identity(eval *ev, const patch *p, const value *op, const value *before, const value *after) {
  for (size_t i = 0; i < sizeof identity / sizeof identity[0]; i++)
    if (!may_change(p, i) && !same_at(before, after, identity[i])) {
      eval_fail(ev, op->at, "a patch cannot change %s; it names the resource it patches", identity[i]);
      return false;
    }
  return true;
}

static bool json_patch(eval *ev, const patch *p, value **res) {
  const value *ops = p->body;
  for (size_t i = 0; i < ops->u.list.len; i++) {
    const value *op = ops->u.list.items[i];
    value *next = jsonpatch_apply(eval_arena(ev), eval_diags(ev), *res, op, "patch");
    if (!next || !op_keeps_identity(ev, p, op, *res, next)) return false;
    *res = next;
  }
  return true;
}

/* *res becomes the patched resource, or NULL when the patch deletes it;
 * keys: merge keys instead of the built-in ones, or NULL. */
static bool apply_body(eval *ev, const patch *p, const merge_schema *keys, value **res) {
  if (p->body->kind == V_LIST) return json_patch(ev, p, res);
  if (p->body->kind != V_OBJECT) {
    eval_fail(ev, p->body->at, "a patch is an object (merged in) or a list of JSON patch operations, not %s",
              value_a(p->body->kind));
    return false;
  }
  value *out;
  if (!body_keeps_identity(ev, p, *res) || !merge_strategic(eval_arena(ev), eval_diags(ev), *res, p->body, "patch", keys, &out))
    return false;
  *res = out;
  return true;
}

/* Applies p to every resource it selects; false when it selects none. */
static bool apply_patch(eval *ev, const target *t, const merge_schema *keys, res_index *ix, compile_resource *res,
                        const resource_past *past, size_t n) {
  size_t count = n, hits = 0;
  const entry *only = candidates(ix, t->p, &count);
  for (size_t c = 0; c < count; c++) {
    size_t i = only ? only[c].at : c;
    if (!res[i].obj || !target_matches(ev, t, res[i].obj, orig_of(past, i))) continue;
    if (!eval_charge(ev, t->p->at, 1 + t->p->body->size / SCAN_BYTES)) return true;
    hits++;
    if (!apply_body(ev, t->p, keys, &res[i].obj)) return true;
  }
  return hits > 0;
}

/* For a patch by name that matched nothing: the resource it most likely
 * meant, a near name of its kind or its name under another kind, or NULL. */
static const char *near_target(arena *a, const patch *p, const compile_resource *res, size_t n) {
  if (!p->name) return NULL;
  const char **names = arena_alloc(a, (n ? n : 1) * sizeof *names);
  size_t k = 0;
  const char *other_kind = NULL;
  for (size_t i = 0; i < n; i++) {
    const char *kind = res[i].obj ? str_at(res[i].obj, "kind") : NULL;
    const char *name = kind ? str_at(res[i].obj, "metadata.name") : NULL;
    if (!name) continue;
    if (strcmp(kind, p->kind) == 0) names[k++] = name;
    else if (!other_kind && strcmp(name, p->name->u.str.s) == 0) other_kind = kind;
  }
  const char *near = nearest_word(p->name->u.str.s, names, k);
  if (near) return arena_printf(a, "%s \"%s\"", p->kind, near);
  return other_kind ? arena_printf(a, "%s \"%s\"", other_kind, p->name->u.str.s) : NULL;
}

static void fail_no_match(eval *ev, const char *scope, const patch *p, const compile_resource *res, size_t n) {
  arena *a = eval_arena(ev);
  const char *near = near_target(a, p, res, n);
  eval_fail(ev, p->at, "patch %s matches no resource of %s%s%s%s", describe(a, p), scope,
            near ? "; did you mean " : "", near ? near : "", near ? "?" : "");
}

void patch_apply(eval *ev, const char *scope, const patch_list *l, const merge_schema *keys, compile_resource *res,
                 resource_past *past, size_t *n) {
  if (!l->n) return; /* not even the index to build */
  res_index ix = {res, past, *n, NULL, NULL, 0, 0};
  for (size_t p = 0; p < l->n; p++) {
    target t;
    patch *pt = &l->items[p];
    pt->missed = target_compile(ev, pt, &t) && !apply_patch(ev, &t, keys, &ix, res, past, *n);
    if (pt->missed && !pt->may_miss) fail_no_match(ev, scope, pt, res, *n);
    target_free(&t);
  }
  index_free(&ix);
  size_t kept = 0;
  for (size_t i = 0; i < *n; i++) {
    if (!res[i].obj) continue;
    if (past) past[kept] = past[i];
    res[kept++] = res[i];
  }
  *n = kept;
}
