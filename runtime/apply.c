/* apply.c: server-side apply of an env, with ownership marks and prune. */
#include "plumb/apply.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/convert.h"

json_t *apply_body(const compile_result *r, size_t i) {
  json_t *obj = kube_json_from_value(r->res[i].obj);
  json_t *meta = json_object_get(obj, "metadata");
  json_t *labels = json_object_get(meta, "labels");
  if (!labels) json_object_set_new(meta, "labels", labels = json_object());
  json_object_set_new(labels, APPLY_ENV_LABEL, json_string(r->env));
  json_t *ann = json_object_get(meta, "annotations");
  if (!ann) json_object_set_new(meta, "annotations", ann = json_object());
  json_object_set_new(ann, APPLY_APP_ANNOTATION, json_string(r->res[i].app ? r->res[i].app : "-"));
  return obj;
}

static const char *str(const json_t *obj, const char *key) { return json_string_value(json_object_get(obj, key)); }
static bool eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }
static const char *meta_str(const json_t *obj, const char *key) { return str(json_object_get(obj, "metadata"), key); }

/* "deployment.apps/web", as kubectl names objects in its output. */
static void print_ref(FILE *out, const json_t *obj) {
  const char *api = str(obj, "apiVersion"), *slash = api ? strchr(api, '/') : NULL;
  char kind[128];
  snprintf(kind, sizeof kind, "%s", str(obj, "kind"));
  for (char *p = kind; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
  if (slash)
    fprintf(out, "%s.%.*s/%s", kind, (int)(slash - api), api, meta_str(obj, "name"));
  else
    fprintf(out, "%s/%s", kind, meta_str(obj, "name"));
}

static bool established(const json_t *crd) {
  size_t i;
  json_t *cond;
  json_array_foreach(json_object_get(json_object_get(crd, "status"), "conditions"), i, cond)
    if (eq(str(cond, "type"), "Established") && eq(str(cond, "status"), "True")) return true;
  return false;
}

/* Custom resources of a new CRD can only be applied once it is served. */
static int wait_established(kube_client *c, const json_t *crd) {
  for (int i = 0; i < 300; i++) {
    json_t *live;
    int rc = kube_get(c, str(crd, "apiVersion"), "CustomResourceDefinition", NULL, meta_str(crd, "name"), &live);
    bool ok = rc == KUBE_OK && established(live);
    json_decref(live);
    if (ok) {
      kube_discovery_reset(c);
      return KUBE_OK;
    }
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
  }
  fprintf(stderr, "error: CustomResourceDefinition %s is not Established after 30 s\n", meta_str(crd, "name"));
  return KUBE_ERROR;
}

static int apply_one(kube_client *c, json_t *body, const apply_opts *o) {
  json_t *live = NULL, *after = NULL;
  int rc = kube_get(c, str(body, "apiVersion"), str(body, "kind"), meta_str(body, "namespace"), meta_str(body, "name"), &live);
  if (rc != KUBE_OK && rc != KUBE_ENOTFOUND) goto fail;
  kube_apply_opts ao = {.force = o->force, .dry_run = o->dry_run};
  rc = kube_apply(c, body, &ao, &after);
  if (rc != KUBE_OK) goto fail;
  const char *verb = !live ? "created"
                     : eq(meta_str(live, "resourceVersion"), meta_str(after, "resourceVersion")) ? "unchanged"
                                                                                                 : "configured";
  print_ref(o->out, body);
  fprintf(o->out, " %s%s\n", verb, o->dry_run ? " (server dry run)" : "");
  if (!o->dry_run && eq(str(body, "kind"), "CustomResourceDefinition")) rc = wait_established(c, body);
  json_decref(live);
  json_decref(after);
  return rc;
fail:
  fprintf(stderr, "error: ");
  print_ref(stderr, body);
  fprintf(stderr, ": %s%s\n", kube_last_error(c),
          rc == KUBE_ECONFLICT && !o->force ? "\n  (another field manager owns these fields; --force-conflicts takes them over)" : "");
  json_decref(live);
  return rc;
}

/* Kinds whose marked objects prune looks for: those the env applies now and
 * the usual ones an env may have stopped using. */
static const char *const prune_kinds[][2] = {
    {"v1", "ConfigMap"}, {"v1", "Secret"}, {"v1", "Service"}, {"v1", "ServiceAccount"},
    {"v1", "PersistentVolumeClaim"}, {"apps/v1", "Deployment"}, {"apps/v1", "StatefulSet"},
    {"apps/v1", "DaemonSet"}, {"batch/v1", "Job"}, {"batch/v1", "CronJob"},
    {"networking.k8s.io/v1", "Ingress"}, {"networking.k8s.io/v1", "NetworkPolicy"},
    {"autoscaling/v2", "HorizontalPodAutoscaler"}, {"policy/v1", "PodDisruptionBudget"},
    {"rbac.authorization.k8s.io/v1", "Role"}, {"rbac.authorization.k8s.io/v1", "RoleBinding"},
    {"rbac.authorization.k8s.io/v1", "ClusterRole"}, {"rbac.authorization.k8s.io/v1", "ClusterRoleBinding"},
    {"v1", "Namespace"},
};

static bool wanted(const compile_result *r, const json_t *live) {
  const char *kind = str(live, "kind"), *name = meta_str(live, "name"), *ns = meta_str(live, "namespace");
  for (size_t i = 0; i < r->nres; i++) {
    const value *res = r->res[i].obj;
    const value *k = value_get_path(res, "kind"), *n = value_get_path(res, "metadata.name");
    const value *rns = value_get_path(res, "metadata.namespace");
    if (strcmp(k->u.str.s, kind) == 0 && strcmp(n->u.str.s, name) == 0 &&
        ((!rns && (!ns || strcmp(ns, "default") == 0)) || (rns && ns && strcmp(rns->u.str.s, ns) == 0)))
      return true;
  }
  return false;
}

static int prune_kind(kube_client *c, const compile_result *r, const char *api, const char *kind, const apply_opts *o) {
  char selector[300];
  snprintf(selector, sizeof selector, "%s=%s", APPLY_ENV_LABEL, r->env);
  kube_list_opts lo = {.label_selector = selector};
  json_t *items;
  int rc = kube_list(c, api, kind, NULL, &lo, &items, NULL), failed = 0;
  if (rc == KUBE_ENOTFOUND) rc = KUBE_OK; /* the server does not serve this kind */
  size_t i;
  json_t *live;
  json_array_foreach(items, i, live) {
    json_object_set_new(live, "apiVersion", json_string(api));
    json_object_set_new(live, "kind", json_string(kind));
    if (wanted(r, live) || meta_str(live, "deletionTimestamp")) continue;
    /* The uid precondition keeps a recreated object of the same name safe. */
    kube_delete_opts dopts = {.propagation = "Background", .uid = meta_str(live, "uid")};
    int d = o->dry_run ? KUBE_OK : kube_delete(c, api, kind, meta_str(live, "namespace"), meta_str(live, "name"), &dopts);
    if (d == KUBE_OK || d == KUBE_ENOTFOUND) {
      print_ref(o->out, live);
      fprintf(o->out, " pruned%s\n", o->dry_run ? " (server dry run)" : "");
    } else {
      fprintf(stderr, "error: prune ");
      print_ref(stderr, live);
      fprintf(stderr, ": %s\n", kube_last_error(c));
      failed++;
    }
  }
  json_decref(items);
  if (rc != KUBE_OK) fprintf(stderr, "error: cannot list %s for prune: %s\n", kind, kube_last_error(c));
  return rc != KUBE_OK ? 1 : failed;
}

static int prune(kube_client *c, const compile_result *r, const apply_opts *o) {
  int failed = 0;
  size_t n = sizeof prune_kinds / sizeof prune_kinds[0];
  for (size_t i = 0; i < n; i++) failed += prune_kind(c, r, prune_kinds[i][0], prune_kinds[i][1], o);
  /* Kinds of this env outside the usual list (custom resources) too. */
  for (size_t i = 0; i < r->nres; i++) {
    const char *api = value_get_path(r->res[i].obj, "apiVersion")->u.str.s;
    const char *kind = value_get_path(r->res[i].obj, "kind")->u.str.s;
    bool seen = false;
    for (size_t k = 0; k < n && !seen; k++) seen = strcmp(prune_kinds[k][1], kind) == 0;
    for (size_t k = 0; k < i && !seen; k++) seen = strcmp(value_get_path(r->res[k].obj, "kind")->u.str.s, kind) == 0;
    if (!seen) failed += prune_kind(c, r, api, kind, o);
  }
  return failed;
}

/* Without a server or with refused credentials every further object would
 * fail the same way: stop at the first. */
static bool hopeless(int rc) { return rc == KUBE_EUNREACHABLE || rc == KUBE_EAUTH; }

int apply_resources(kube_client *c, const compile_result *r, const apply_opts *o) {
  int failed = 0;
  for (size_t i = 0; i < r->nres; i++) {
    json_t *body = apply_body(r, i);
    int rc = apply_one(c, body, o);
    json_decref(body);
    if (rc == KUBE_OK) continue;
    failed++;
    if (hopeless(rc)) {
      fprintf(stderr, "plumb: stopped after %zu of %zu objects\n", i, r->nres);
      return failed;
    }
  }
  if (!o->prune) return failed;
  if (failed) {
    fprintf(stderr, "plumb: not pruning: %d object%s failed to apply\n", failed, failed == 1 ? "" : "s");
    return failed;
  }
  if (r->nres == 0) {
    fprintf(stderr, "plumb: not pruning: env %s produced no resources\n", r->env);
    return 1;
  }
  return prune(c, r, o);
}
