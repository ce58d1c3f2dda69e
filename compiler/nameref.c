/* nameref.c: which fields name which resources, and rewriting them (see
 * nameref.h). */
#include "nameref.h"

#include <stdlib.h>
#include <string.h>

#include "fieldspec.h"
#include "kinds.h"

/* A field that names a resource of kind `target`. A NULL referrer stands for
 * every kind that holds a pod spec (Pod and the workloads), with the path
 * taken inside it. */
typedef struct {
  const char *target, *referrer, *path;
} ref;

static const ref refs[] = {
    {"ConfigMap", NULL, "volumes.configMap.name"},
    {"ConfigMap", NULL, "volumes.projected.sources.configMap.name"},
    {"ConfigMap", NULL, "containers.env.valueFrom.configMapKeyRef.name"},
    {"ConfigMap", NULL, "containers.envFrom.configMapRef.name"},
    {"ConfigMap", NULL, "initContainers.env.valueFrom.configMapKeyRef.name"},
    {"ConfigMap", NULL, "initContainers.envFrom.configMapRef.name"},
    {"Secret", NULL, "volumes.secret.secretName"},
    {"Secret", NULL, "volumes.projected.sources.secret.name"},
    {"Secret", NULL, "containers.env.valueFrom.secretKeyRef.name"},
    {"Secret", NULL, "containers.envFrom.secretRef.name"},
    {"Secret", NULL, "initContainers.env.valueFrom.secretKeyRef.name"},
    {"Secret", NULL, "initContainers.envFrom.secretRef.name"},
    {"Secret", NULL, "imagePullSecrets.name"},
    {"ServiceAccount", NULL, "serviceAccountName"},
    {"PersistentVolumeClaim", NULL, "volumes.persistentVolumeClaim.claimName"},
    {"PriorityClass", NULL, "priorityClassName"},
    {"Secret", "Ingress", "spec.tls.secretName"},
    {"Secret", "ServiceAccount", "imagePullSecrets.name"},
    {"Service", "Ingress", "spec.defaultBackend.service.name"},
    {"Service", "Ingress", "spec.rules.http.paths.backend.service.name"},
    {"Service", "StatefulSet", "spec.serviceName"},
    {"Service", "APIService", "spec.service.name"},
    {"IngressClass", "Ingress", "spec.ingressClassName"},
    {"PersistentVolume", "PersistentVolumeClaim", "spec.volumeName"},
    {"StorageClass", "PersistentVolume", "spec.storageClassName"},
    {"StorageClass", "PersistentVolumeClaim", "spec.storageClassName"},
    {"StorageClass", "StatefulSet", "spec.volumeClaimTemplates.spec.storageClassName"},
};
enum { NREFS = sizeof refs / sizeof *refs };

/* Fields that hold objects naming a resource, or lists of them: {kind,
 * name}, whose kind says what they name, or {name, namespace} of the one
 * kind given. Those with own_ns (a subject, a webhook's service) carry the
 * namespace of what they name, which follows its move too. */
static const struct {
  const char *referrer, *path, *kind;
  bool own_ns;
} typed[] = {
    {"ClusterRoleBinding", "roleRef", NULL, false},
    {"ClusterRoleBinding", "subjects", NULL, true},
    {"HorizontalPodAutoscaler", "spec.scaleTargetRef", NULL, false},
    {"MutatingWebhookConfiguration", "webhooks.clientConfig.service", "Service", true},
    {"RoleBinding", "roleRef", NULL, false},
    {"RoleBinding", "subjects", NULL, true},
    {"ValidatingWebhookConfiguration", "webhooks.clientConfig.service", "Service", true},
};

/* A resource the env renamed or moved: who it was, and its name and
 * namespace now. */
typedef struct {
  resource_id was;
  const value *name, *ns;
  bool cluster, renamed;
  const char *via; /* what its references say they follow, made once */
} moved;

typedef struct {
  arena *a;
  moved *m; /* sorted by kind, then old name */
  size_t n;
  const char *env;
  const value *custom; /* field specs of custom kinds' references, or NULL */
  bool follow[NREFS]; /* per entry of refs: whether it can name a renamed resource */
} table;

static int cmp_moved(const void *pa, const void *pb) {
  const moved *x = pa, *y = pb;
  int c = kinds_cmp(x->was.kind, y->was.kind);
  return c ? c : strcmp(x->was.name, y->was.name);
}

/* A namespaced resource without a namespace lands in "default"; references
 * that name "default" find it, as in Kustomize. */
static const char *ns_or_default(const char *ns) { return ns ? ns : "default"; }

/* The position of the first entry of t->m not before key. */
static size_t lower_bound(const table *t, const moved *key) {
  size_t lo = 0, hi = t->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cmp_moved(&t->m[mid], key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* The namespace m is in now. */
static const char *ns_now(const moved *m) { return ns_or_default(m->ns && m->ns->kind == V_STRING ? m->ns->u.str.s : NULL); }

/* The resource of `kind` once called `name`, in namespace ns (NULL: any)
 * as it is now, or with was, as it was before this layer. */
static moved *find(const table *t, const char *kind, const char *name, const char *ns, bool was) {
  moved key = {.was = {kind, NULL, name}};
  for (size_t i = lower_bound(t, &key); i < t->n && cmp_moved(&t->m[i], &key) == 0; i++)
    if (!ns || t->m[i].cluster || strcmp(was ? ns_or_default(t->m[i].was.ns) : ns_now(&t->m[i]), ns) == 0)
      return &t->m[i];
  return NULL;
}

/* Whether a resource of kind has a new name. A plain reference can change
 * only then: one moved to another namespace is still named the same. */
static bool renamed_any(const table *t, const char *kind) {
  moved first = {.was = {kind, NULL, ""}};
  for (size_t i = lower_bound(t, &first); i < t->n && strcmp(t->m[i].was.kind, kind) == 0; i++)
    if (t->m[i].renamed) return true;
  return false;
}

/* The new value of a field that named m; `old` is what it replaces. */
static value *follow(const table *t, const value *old, const value *now, moved *m) {
  value *v = value_clone(t->a, now);
  static const char follows[] = "follows the rename of ";
  if (!m->via) m->via = arena_join(t->a, follows, sizeof follows - 1, m->was.kind, " \"", m->was.name, "\" in ", t->env, NULL);
  v->via = m->via;
  v->prev = old;
  v->owned = true;
  return v;
}

typedef struct {
  const table *t;
  const char *kind, *ns; /* what the field names (NULL: it says); ns NULL: any */
  bool own_ns;            /* the field names the namespace too */
  bool changed; /* a plain reference was rewritten */
} lookup;

/* The fieldspec_fns below, as fieldspec.h says: NULL when nothing changed. */
static value *plain_ref(arena *a, value *old, void *ctx) {
  lookup *l = ctx;
  if (old->kind != V_STRING) return NULL;
  moved *m = find(l->t, l->kind, old->u.str.s, l->ns, false);
  if (!m || value_equal(m->name, old)) return NULL;
  l->changed = true;
  return follow(l->t, old, m->name, m);
}

static value *with(arena *a, value *obj, const char *key, value *v) {
  value *out = value_own(a, obj);
  value_object_set(a, out, key, v);
  return out;
}

/* One that names the namespace too finds the resource there, or in any
 * namespace when it names none. Of subjects, only a ServiceAccount is a
 * resource (a User or Group is not). */
static value *typed_one(arena *a, value *obj, const lookup *l) {
  const value *kv = value_object_get(obj, "kind"), *name = value_object_get(obj, "name");
  const value *ns = value_object_get(obj, "namespace");
  const char *kind = l->kind ? l->kind : kv && kv->kind == V_STRING ? kv->u.str.s : NULL;
  if (!kind || !name || name->kind != V_STRING) return NULL;
  if (l->own_ns && !l->kind && strcmp(kind, "ServiceAccount") != 0) return NULL;
  const char *in = !l->own_ns ? l->ns : ns && ns->kind == V_STRING ? ns->u.str.s : NULL;
  moved *m = find(l->t, kind, name->u.str.s, in, l->own_ns);
  if (!m) return NULL;
  value *out = NULL;
  if (!value_equal(m->name, name)) out = with(a, obj, "name", follow(l->t, name, m->name, m));
  if (l->own_ns && m->ns && !(ns && value_equal(ns, m->ns))) out = with(a, out ? out : obj, "namespace", follow(l->t, ns, m->ns, m));
  return out;
}

static value *typed_ref(arena *a, value *old, void *ctx) {
  if (old->kind == V_OBJECT) return typed_one(a, old, ctx);
  if (old->kind != V_LIST) return NULL;
  value *out = NULL;
  for (size_t i = 0; i < old->u.list.len; i++) {
    value *item = old->u.list.items[i];
    uint32_t was = item->size;
    value *now = item->kind == V_OBJECT ? typed_one(a, item, ctx) : NULL;
    if (!now) continue;
    if (!out) out = value_own(a, old);
    if (now == item)
      value_part_changed(out, now, was);
    else
      value_list_set(out, i, now);
  }
  return out;
}

/* fieldspec_fn: the references inside a pod spec, reached once for all. */
static value *pod_refs(arena *a, value *spec, void *ctx) {
  lookup *l = ctx;
  value *out = spec;
  l->changed = false;
  for (size_t i = 0; i < NREFS; i++) {
    if (refs[i].referrer || !l->t->follow[i]) continue;
    l->kind = refs[i].target;
    out = fieldspec_apply(a, out, refs[i].path, false, plain_ref, l);
  }
  return l->changed ? out : NULL;
}

static value *follow_refs(const table *t, value *r, const resource_id *id) {
  const kind_info *k = kinds_find(id->kind);
  /* A reference finds what is in the namespace its resource is in now,
   * as Kustomize's, which runs once everything has moved. */
  lookup l = {t, NULL, k && k->cluster_scoped ? NULL : ns_or_default(value_get_string(r, "metadata.namespace")), false, false};
  if (k && k->pod_spec) r = fieldspec_apply(t->a, r, k->pod_spec, false, pod_refs, &l);
  for (size_t i = 0; i < NREFS; i++) {
    const ref *f = &refs[i];
    if (!f->referrer || !t->follow[i] || !kinds_same(f->referrer, id->kind)) continue;
    l.kind = f->target;
    r = fieldspec_apply(t->a, r, f->path, false, plain_ref, &l);
  }
  for (size_t i = 0; t->custom && i < t->custom->u.list.len; i++) {
    const value *spec = t->custom->u.list.items[i];
    if (!fieldspec_matches(spec, id->kind, r)) continue;
    l.kind = value_get_string(spec, "to");
    r = fieldspec_apply(t->a, r, value_get_string(spec, "path"), false, plain_ref, &l);
  }
  for (size_t i = 0; i < sizeof typed / sizeof *typed; i++) {
    if (!kinds_same(typed[i].referrer, id->kind)) continue;
    l.kind = typed[i].kind;
    l.own_ns = typed[i].own_ns;
    r = fieldspec_apply(t->a, r, typed[i].path, false, typed_ref, &l);
  }
  return r;
}

/* Whether a resource of this kind holds references of typed[]. */
static bool has_typed_refs(const char *kind) {
  for (size_t i = 0; i < sizeof typed / sizeof *typed; i++)
    if (kinds_same(typed[i].referrer, kind)) return true;
  return false;
}

/* Adds to t what resource r was called as was, when it is called else now. */
static void add_moved(table *t, const compile_resource *r, const resource_id *was, bool *any_renamed) {
  const value *name = value_get_path(r->obj, "metadata.name"), *ns = value_get_path(r->obj, "metadata.namespace");
  if (!was->kind || !was->name || !name || name->kind != V_STRING) return;
  bool renamed = strcmp(name->u.str.s, was->name) != 0;
  const char *ns_now = ns && ns->kind == V_STRING ? ns->u.str.s : NULL;
  if (!renamed && strcmp(ns_or_default(ns_now), ns_or_default(was->ns)) == 0) return;
  const kind_info *k = kinds_find(was->kind);
  t->m[t->n++] = (moved){*was, name, ns, k && k->cluster_scoped, renamed, NULL};
  *any_renamed |= renamed;
}

void nameref_follow(arena *a, compile_resource *res, size_t n, const resource_past *past, const char *env,
                    const value *custom) {
  size_t ids = 0;
  for (size_t i = 0; i < n; i++) ids += past[i].n;
  table t = {.a = a, .m = arena_alloc(a, ids * sizeof(moved) + 1), .env = env, .custom = custom};
  bool any_renamed = false, any_typed = false;
  /* Any name a resource had finds it, from the namespace it is in now: a
   * resource moved to another namespace is not found from the old one
   * (Kustomize's rule), and one moved by this layer with its referrers is. */
  for (size_t i = 0; i < n; i++) {
    const resource_id *before = past_latest(&past[i]);
    add_moved(&t, &res[i], before, &any_renamed);
    for (size_t k = 0; k + 1 < past[i].n; k++) {
      resource_id was = {past[i].ids[k].kind, before->ns, past[i].ids[k].name};
      if (was.name && before->name && strcmp(was.name, before->name) != 0) add_moved(&t, &res[i], &was, &any_renamed);
    }
  }
  for (size_t i = 0; !any_renamed && !any_typed && i < n; i++)
    any_typed = past_declared(&past[i])->kind && has_typed_refs(past_declared(&past[i])->kind);
  /* Only a rename changes a plain reference, and only the typed
   * ones follow a move to another namespace: an env that just sets a
   * namespace on workloads and services has nothing to rewrite. */
  if (!t.n || (!any_renamed && !any_typed)) return;
  qsort(t.m, t.n, sizeof *t.m, cmp_moved);
  for (size_t i = 0; i < NREFS; i++) t.follow[i] = renamed_any(&t, refs[i].target);
  for (size_t i = 0; i < n; i++)
    if (past_latest(&past[i])->kind) res[i].obj = follow_refs(&t, res[i].obj, past_latest(&past[i]));
}
