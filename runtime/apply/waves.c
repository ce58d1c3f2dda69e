/* waves.c: the order a sync applies objects in (see waves.h). */
#include "plumb/waves.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"
#include "plumb/kube.h"

/* A decimal integer and nothing else, as Go's strconv.Atoi reads it. */
static bool integer(const char *s, long *out) {
  const char *digits = s + (*s == '-' || *s == '+');
  if (!isdigit((unsigned char)*digits)) return false;
  char *end;
  errno = 0;
  *out = strtol(s, &end, 10);
  return !*end && errno == 0;
}

bool waves_parse(const json_t *obj, long *wave, char **why) {
  const json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
  /* A Helm hook's weight is its wave, as Argo CD takes it. */
  const char *key = json_object_get(ann, WAVES_ANNOTATION)        ? WAVES_ANNOTATION
                    : json_object_get(ann, WAVES_ARGO_ANNOTATION) ? WAVES_ARGO_ANNOTATION
                                                                  : "helm.sh/hook-weight";
  const char *text = kube_str(ann, key);
  *wave = 0;
  *why = NULL;
  if (!json_object_get(ann, key) || (text && integer(text, wave))) return true;
  *why = heap_printf("annotation %s: %s%s%s is not an integer", key, text ? "\"" : "", text ? text : "a non-string",
                     text ? "\"" : "");
  return false;
}

/* gitops-engine's kindOrder (from Helm's install order). */
static const char *const kind_order[] = {
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
    "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job",
    "CronJob", "IngressClass", "Ingress", "APIService",
};

static size_t kind_rank(const char *kind) {
  size_t n = sizeof kind_order / sizeof *kind_order;
  for (size_t i = 0; kind && i < n; i++)
    if (strcmp(kind_order[i], kind) == 0) return i;
  return n;
}

typedef struct {
  const json_t *obj;
  size_t index, rank;
  long wave;
} step;

static int cmp_str(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : ""); }

/* Wave, kind and name as gitops-engine; namespace and input order only
 * break the ties it leaves to chance. */
static int cmp_step(const void *a, const void *b) {
  const step *x = a, *y = b;
  if (x->wave != y->wave) return x->wave < y->wave ? -1 : 1;
  if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
  int c = cmp_str(kube_meta_str(x->obj, "name"), kube_meta_str(y->obj, "name"));
  if (!c) c = cmp_str(kube_meta_str(x->obj, "namespace"), kube_meta_str(y->obj, "namespace"));
  return c ? c : x->index < y->index ? -1 : x->index > y->index;
}

/* What an object provides others (provides) or needs of them (needs), as a
 * key; NULL for nothing. */
typedef const char *key_fn(const json_t *obj, const char *default_ns, arena *a);

static bool core(const json_t *obj) { return kube_str_is(obj, "apiVersion", "v1"); }

static const char *namespace_made(const json_t *obj, const char *default_ns, arena *a) {
  return kube_str_is(obj, "kind", "Namespace") && core(obj) ? kube_meta_str(obj, "name") : NULL;
}

static const char *namespace_used(const json_t *obj, const char *default_ns, arena *a) {
  const char *ns = kube_meta_str(obj, "namespace");
  return ns && *ns ? ns : default_ns;
}

static const char *kind_made(const json_t *obj, const char *default_ns, arena *a) {
  const json_t *spec = json_object_get(obj, "spec");
  const char *group = kube_str(spec, "group"), *kind = kube_str(json_object_get(spec, "names"), "kind");
  const char *api = kube_str(obj, "apiVersion");
  bool crd =
      kube_str_is(obj, "kind", "CustomResourceDefinition") && api && strncmp(api, "apiextensions.k8s.io/", 21) == 0;
  return crd && group && kind ? arena_printf(a, "%s/%s", group, kind) : NULL;
}

static const char *kind_used(const json_t *obj, const char *default_ns, arena *a) {
  const char *api = kube_str(obj, "apiVersion"), *slash = api ? strchr(api, '/') : NULL;
  return arena_printf(a, "%.*s/%s", slash ? (int)(slash - api) : 0, api ? api : "", kube_str(obj, "kind"));
}

typedef struct {
  const char *key;
  size_t first; /* the first step that needs it */
} need;

static need *find(need *needs, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(needs[i].key, key) == 0) return &needs[i];
  return NULL;
}

/* gitops-engine's adjustDeps: a step that provides what an earlier one
 * needs moves to just before the first such step, into its wave. */
static void hoist(step *s, size_t n, key_fn *provides, key_fn *needs_of, const char *default_ns, arena *a) {
  need *needs = arena_alloc(a, (n ? n : 1) * sizeof *needs);
  size_t nneeds = 0;
  for (size_t i = 0; i < n; i++) {
    const char *made = provides(s[i].obj, default_ns, a), *used;
    if (!made && (used = needs_of(s[i].obj, default_ns, a)) && !find(needs, nneeds, used))
      needs[nneeds++] = (need){used, i};
    need *first = made ? find(needs, nneeds, made) : NULL;
    if (!first) continue;
    size_t to = first->first;
    step moved = s[i];
    moved.wave = s[to].wave;
    memmove(&s[to + 1], &s[to], (i - to) * sizeof *s);
    s[to] = moved;
    for (size_t k = 0; k < nneeds; k++)
      if (needs[k].first >= to) needs[k].first++;
  }
}

void waves_sort(const json_t *const *objs, size_t n, const char *default_ns, size_t *order, long *wave) {
  step *s = heap_alloc((n ? n : 1) * sizeof *s);
  for (size_t i = 0; i < n; i++) {
    char *why;
    s[i] = (step){objs[i], i, kind_rank(kube_str(objs[i], "kind")), 0};
    waves_parse(objs[i], &s[i].wave, &why);
    free(why);
  }
  qsort(s, n, sizeof *s, cmp_step);
  arena *a = arena_new();
  hoist(s, n, namespace_made, namespace_used, default_ns, a);
  hoist(s, n, kind_made, kind_used, default_ns, a);
  arena_free(a);
  for (size_t k = 0; k < n; k++) {
    order[k] = s[k].index;
    wave[k] = s[k].wave;
  }
  free(s);
}
