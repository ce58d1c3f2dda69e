/* vars.c: Kustomize's vars (see vars.h), as its refvar filter expands
 * them. */
#include "vars.h"

#include <string.h>

#include "fieldspec.h"
#include "kinds.h"

/* Where a var may stand: in every pod spec, in some kinds, in any kind
 * (Kustomize's varReference table). */
static const char *const in_pod_spec[] = {
    "containers.args",          "containers.command",     "containers.env.value",
    "containers.volumeMounts.mountPath", "initContainers.args", "initContainers.command",
    "initContainers.env.value", "initContainers.volumeMounts.mountPath", "volumes.nfs.server"};
static const struct {
  const char *kind, *path; /* kind NULL: any */
} in_kind[] = {
    {"Deployment", "spec.template.metadata.annotations"},
    {"Ingress", "spec.rules.host"},
    {"Ingress", "spec.tls.hosts"},
    {"Ingress", "spec.tls.secretName"},
    {"Service", "spec.ports.port"},
    {"Service", "spec.ports.targetPort"},
    {"PersistentVolume", "spec.nfs.server"},
    {NULL, "metadata.labels"},
    {NULL, "metadata.annotations"},
};

typedef struct {
  eval *ev;
  arena *a;
  const value *vars;
  const value **values; /* per var: what it stands for */
} expander;

static bool same(const char *want, const char *have) { return !want || (have && strcmp(want, have) == 0); }

/* Whether resource r, who was past, is the one var names: its kind, its
 * name now or before, its apiVersion and namespace where the var says. */
static bool named(const value *var, const value *r, const resource_past *past) {
  const char *kind = value_get_string(var, "kind"), *name = value_get_string(var, "objname");
  const char *ns = value_get_string(var, "namespace");
  if (!same(kind, value_get_string(r, "kind")) || !same(value_get_string(var, "apiVersion"), value_get_string(r, "apiVersion")))
    return false;
  if (same(name, value_get_string(r, "metadata.name")) && same(ns, value_get_string(r, "metadata.namespace"))) return true;
  for (size_t k = 0; past && k < past->n; k++)
    if (same(name, past->ids[k].name) && same(ns, past->ids[k].ns)) return true;
  return false;
}

static const value *value_of(expander *x, const value *var, compile_resource *res, const resource_past *past, size_t n) {
  const char *name = value_get_string(var, "name");
  size_t found = 0, at = 0;
  for (size_t i = 0; i < n; i++)
    if (res[i].obj && named(var, res[i].obj, past ? &past[i] : NULL)) found++, at = i;
  if (found != 1) {
    eval_fail(x->ev, var->at, "var %s: %s resource matches its objref", name, found ? "more than one" : "no");
    return NULL;
  }
  const char *path = value_get_string(var, "fieldpath");
  const value *v = value_get_path(res[at].obj, path ? path : "metadata.name");
  if (!v || v->kind == V_OBJECT || v->kind == V_LIST || v->kind == V_NULL) {
    eval_fail(x->ev, var->at, "var %s: %s %s has no %s field %s", name, value_get_string(res[at].obj, "kind"),
              value_get_string(res[at].obj, "metadata.name"), v ? "scalar" : "", path ? path : "metadata.name");
    return NULL;
  }
  return v;
}

static const value *lookup(const expander *x, const char *name, size_t len) {
  for (size_t i = 0; i < x->vars->u.list.len; i++) {
    const char *n = value_get_string(x->vars->u.list.items[i], "name");
    if (x->values[i] && strlen(n) == len && memcmp(n, name, len) == 0) return x->values[i];
  }
  return NULL;
}

/* s with $(NAME) replaced, $$ made $; NULL when nothing changed. A string
 * that is one $(NAME) takes the value's type, as in Kustomize. */
static value *expanded(const expander *x, const value *s) {
  const char *t = s->u.str.s;
  size_t n = s->u.str.len;
  if (!memchr(t, '$', n)) return NULL;
  buf b = {0};
  bool changed = false;
  for (size_t i = 0; i < n; i++) {
    const char *close = t[i] == '$' && i + 1 < n && t[i + 1] == '(' ? memchr(t + i + 2, ')', n - i - 2) : NULL;
    const value *v = close ? lookup(x, t + i + 2, (size_t)(close - t - i - 2)) : NULL;
    if (v && i == 0 && close == t + n - 1) {
      buf_free(&b);
      value *whole = value_clone(x->a, v);
      whole->prev = s;
      return whole;
    }
    if (v) {
      value_put_text(&b, v); /* value_of took scalars only */
      i = (size_t)(close - t);
      changed = true;
    } else if (t[i] == '$' && i + 1 < n && t[i + 1] == '$') {
      buf_putc(&b, '$');
      i++;
      changed = true;
    } else {
      buf_putc(&b, t[i]);
    }
  }
  value *out = changed ? value_string(x->a, s->at, b.data ? b.data : "", b.len) : NULL;
  if (out) out->prev = s;
  buf_free(&b);
  return out;
}

/* fieldspec_fn: a string, or the strings of a list or an object, expanded. */
static value *substitute(arena *a, value *old, void *ctx) {
  const expander *x = ctx;
  if (old->kind == V_STRING) return expanded(x, old);
  bool obj = old->kind == V_OBJECT;
  if (!obj && old->kind != V_LIST) return NULL;
  value *out = NULL;
  size_t n = obj ? old->u.obj.len : old->u.list.len;
  for (size_t i = 0; i < n; i++) {
    const value *item = obj ? old->u.obj.fields[i].val : old->u.list.items[i];
    value *now = item->kind == V_STRING ? expanded(x, item) : NULL;
    if (!now) continue;
    if (!out) out = value_own(a, old);
    if (obj) value_object_set(a, out, old->u.obj.fields[i].key, now);
    else value_list_set(out, i, now);
  }
  return out;
}

static value *expand_in(expander *x, value *r, const char *path) {
  return fieldspec_apply(x->a, r, path, false, substitute, x);
}

static value *expand_resource(expander *x, value *r, const value *refs) {
  const char *kind = value_get_string(r, "kind");
  const kind_info *k = kind ? kinds_find(kind) : NULL;
  for (size_t i = 0; k && k->pod_spec && i < sizeof in_pod_spec / sizeof *in_pod_spec; i++)
    r = expand_in(x, r, arena_printf(x->a, "%s.%s", k->pod_spec, in_pod_spec[i]));
  for (size_t i = 0; i < sizeof in_kind / sizeof *in_kind; i++)
    if (same(in_kind[i].kind, kind)) r = expand_in(x, r, in_kind[i].path);
  for (size_t i = 0; refs && i < refs->u.list.len; i++)
    if (fieldspec_matches(refs->u.list.items[i], kind, r)) r = expand_in(x, r, value_get_string(refs->u.list.items[i], "path"));
  return r;
}

void vars_resolve(eval *ev, const value *vars, const value *refs, compile_resource *res, const resource_past *past,
                  size_t n) {
  expander x = {ev, eval_arena(ev), vars, arena_alloc(eval_arena(ev), (vars->u.list.len + 1) * sizeof *x.values)};
  bool ok = true;
  for (size_t i = 0; i < vars->u.list.len; i++) ok = (x.values[i] = value_of(&x, vars->u.list.items[i], res, past, n)) && ok;
  for (size_t i = 0; ok && i < n; i++)
    if (res[i].obj) res[i].obj = expand_resource(&x, res[i].obj, refs);
}
