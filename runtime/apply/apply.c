/* apply.c: server-side apply of an env, with ownership marks and prune.
 *
 * Objects go in sync order (waves.h), one sync wave after another, each
 * wave in batches: its Namespaces, then up to its CRDs, then the rest (see
 * batch_end). A batch starts with one list per kind and namespace
 * (live.c); an object Plumb's managed fields prove unchanged needs no
 * request, the others are applied concurrently over HTTP/2
 * (kube_apply_many). Lines come out in sync order as the answers arrive.
 * Between waves, when asked, the objects of a wave must become healthy
 * (settle.h) before the next goes. */
#include "plumb/apply.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "plumb/arena.h"
#include "kube/convert.h"
#include "compare/live.h"
#include "plumb/waves.h"
#include "hooks.h"
#include "settle.h"

/* The field of obj that holds base64 data, if it is a v1 Secret or
 * ConfigMap. */
static json_t *base64_field(json_t *obj) {
  if (!kube_str_is(obj, "apiVersion", "v1")) return NULL;
  if (kube_str_is(obj, "kind", "Secret")) return json_object_get(obj, "data");
  if (kube_str_is(obj, "kind", "ConfigMap")) return json_object_get(obj, "binaryData");
  return NULL;
}

/* Generators write long base64 data in lines (as Kustomize's do); the API
 * server decodes it alike and keeps it unbroken. Sent unbroken, it equals
 * the live object's, and an unchanged Secret needs no request. */
static void unbreak_base64(json_t *obj) {
  const char *key;
  json_t *v;
  json_object_foreach(base64_field(obj), key, v) {
    const char *s = json_string_value(v);
    if (!s || !strpbrk(s, "\r\n")) continue;
    size_t n = json_string_length(v), m = 0;
    char *out = heap_alloc(n + 1);
    for (size_t k = 0; k < n; k++)
      if (s[k] != '\r' && s[k] != '\n') out[m++] = s[k];
    json_string_setn(v, out, m);
    free(out);
  }
}

json_t *apply_body(const compile_result *r, size_t i, const char *owner) {
  json_t *obj = kube_json_from_value(r->res[i].obj);
  unbreak_base64(obj);
  json_t *meta = json_object_get(obj, "metadata");
  json_t *labels = json_object_get(meta, "labels");
  if (!labels) json_object_set_new(meta, "labels", labels = json_object());
  json_object_set_new(labels, APPLY_ENV_LABEL, json_string(r->env));
  if (owner) json_object_set_new(labels, APPLY_OWNER_LABEL, json_string(owner));
  json_t *ann = json_object_get(meta, "annotations");
  if (!ann) json_object_set_new(meta, "annotations", ann = json_object());
  json_object_set_new(ann, APPLY_APP_ANNOTATION, json_string(r->res[i].app ? r->res[i].app : "-"));
  return obj;
}

/* "deployment.apps/web", as kubectl names objects in its output (caller
 * frees). */
char *ref_of(const json_t *obj) {
  const char *api = kube_str(obj, "apiVersion"), *slash = api ? strchr(api, '/') : NULL;
  char kind[128];
  snprintf(kind, sizeof kind, "%s", kube_str(obj, "kind"));
  for (char *p = kind; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
  return slash ? heap_printf("%s.%.*s/%s", kind, (int)(slash - api), api, kube_meta_str(obj, "name"))
               : heap_printf("%s/%s", kind, kube_meta_str(obj, "name"));
}

bool apply_object_option(const json_t *obj, const char *option, bool argo) {
  const json_t *notes = json_object_get(json_object_get(obj, "metadata"), "annotations");
  const char *keys[] = {APPLY_OPTIONS_ANNOTATION, argo ? "argocd.argoproj.io/sync-options" : NULL};
  size_t n = strlen(option);
  for (size_t k = 0; k < 2 && keys[k]; k++) {
    const char *list = kube_str(notes, keys[k]);
    for (const char *p = list; p && *p; p += strcspn(p, ","), p += *p == ',') {
      while (*p == ' ') p++;
      size_t len = strcspn(p, ",");
      while (len && p[len - 1] == ' ') len--;
      if (len == n && strncmp(p, option, n) == 0) return true;
    }
  }
  return false;
}

void apply_result_free(apply_result *r) {
  for (size_t i = 0; i < r->n; i++) {
    free(r->items[i].ref);
    free(r->items[i].ns);
    free(r->items[i].verb);
    free(r->items[i].error);
  }
  free(r->items);
  free(r->halt);
  *r = (apply_result){0};
}

/* One object's outcome: a line for the user (errors on stderr, with a hint
 * where one helps), and an entry in o->result. */
void outcome(const apply_opts *o, const json_t *obj, const char *verb, const char *error, const char *hint) {
  char *ref = ref_of(obj);
  if (verb && o->out) fprintf(o->out, "%s %s%s\n", ref, verb, o->dry_run ? " (server dry run)" : "");
  if (!verb && o->out) {
    fflush(o->out); /* the lines before it come first, also in one file */
    fprintf(stderr, "error: %s: %s%s\n", ref, error, hint ? hint : "");
  }
  if (!o->result) {
    free(ref);
    return;
  }
  apply_result *r = o->result;
  if (r->n == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 16;
    r->items = heap_realloc(r->items, r->cap * sizeof *r->items);
  }
  r->items[r->n++] = (apply_outcome){ref, heap_strdup(kube_meta_str(obj, "namespace")), heap_strdup(verb),
                                     error ? heap_printf("%s%s", error, hint ? hint : "") : NULL};
}

static bool established(const json_t *crd) {
  size_t i;
  json_t *cond;
  json_array_foreach(json_object_get(json_object_get(crd, "status"), "conditions"), i, cond)
    if (kube_str_is(cond, "type", "Established") && kube_str_is(cond, "status", "True")) return true;
  return false;
}

/* Custom resources of a new CRD can only be applied once it is served. */
static int wait_established(kube_client *c, const json_t *crd) {
  for (int i = 0; i < 300; i++) {
    json_t *live;
    int rc =
        kube_get(c, kube_str(crd, "apiVersion"), "CustomResourceDefinition", NULL, kube_meta_str(crd, "name"), &live);
    bool ok = rc == KUBE_OK && established(live);
    json_decref(live);
    if (ok) return KUBE_OK;
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
  }
  fprintf(stderr, "error: CustomResourceDefinition %s is not Established after 30 s\n", kube_meta_str(crd, "name"));
  return KUBE_ERROR;
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
#define PRUNE_KINDS (sizeof prune_kinds / sizeof prune_kinds[0])

const char *apply_prune_kind(size_t i, const char **api) {
  if (i >= sizeof prune_kinds / sizeof prune_kinds[0]) return NULL;
  *api = prune_kinds[i][0];
  return prune_kinds[i][1];
}

/* Is live one of r's resources? Those naming no namespace went to dflt. */
static bool wanted(const compile_result *r, const json_t *live, const char *dflt) {
  const char *kind = kube_str(live, "kind"), *name = kube_meta_str(live, "name");
  const char *ns = kube_meta_str(live, "namespace");
  for (size_t i = 0; i < r->nres; i++) {
    const value *res = r->res[i].obj;
    const value *k = value_get_path(res, "kind"), *n = value_get_path(res, "metadata.name");
    const value *rns = value_get_path(res, "metadata.namespace");
    if (strcmp(k->u.str.s, kind) == 0 && strcmp(n->u.str.s, name) == 0 &&
        ((!rns && (!ns || strcmp(ns, dflt) == 0)) || (rns && ns && strcmp(rns->u.str.s, ns) == 0)))
      return true;
  }
  return false;
}

/* obj's outcome: prune failed, in c's last error's words. Returns 1. */
static int prune_failed(kube_client *c, const json_t *obj, const apply_opts *o) {
  char *why = heap_printf("prune: %s", kube_last_error(c));
  outcome(o, obj, NULL, why, NULL);
  free(why);
  return 1;
}

/* Deletes live, an object of the owner's that r does not build, unless
 * it is a hook, going already, or its sync options say Prune=false.
 * Returns 1 when the delete failed. */
static int prune_one(kube_client *c, const char *api, const char *kind, json_t *live, const apply_opts *o) {
  if (kube_meta_str(live, "deletionTimestamp")) return 0;
  /* A hook is a task of a sync, not an object to keep (hooks.c). */
  if (apply_is_hook_json(live)) return 0;
  if (apply_object_option(live, "Prune=false", true)) {
    outcome(o, live, "not pruned (its sync options say Prune=false)", NULL, NULL);
    return 0;
  }
  /* The uid precondition keeps a recreated object of the same name safe. */
  kube_delete_opts dopts = {.propagation = "Background", .uid = kube_meta_str(live, "uid")};
  const char *ns = kube_meta_str(live, "namespace"), *name = kube_meta_str(live, "name");
  int d = o->dry_run ? KUBE_OK : kube_delete(c, api, kind, ns, name, &dopts);
  if (d == KUBE_OK || d == KUBE_ENOTFOUND) {
    outcome(o, live, "pruned", NULL, NULL);
    return 0;
  }
  return prune_failed(c, live, o);
}

/* The objects of api/kind prune looks at, in *items: the owner's in the
 * view when it can say (*from_view), else the server's list by label. */
static int candidates(kube_client *c, const compile_result *r, const char *api, const char *kind,
                      const apply_opts *o, json_t **items, bool *from_view) {
  *from_view = o->view && o->owner && o->view->list(o->view->ctx, api, kind, items);
  if (*from_view) return KUBE_OK;
  json_decref(*items);
  char selector[300];
  snprintf(selector, sizeof selector, "%s=%s", o->owner ? APPLY_OWNER_LABEL : APPLY_ENV_LABEL, o->owner ? o->owner : r->env);
  kube_list_opts lo = {.label_selector = selector};
  int rc = kube_list(c, api, kind, NULL, &lo, items, NULL);
  return rc == KUBE_ENOTFOUND ? KUBE_OK : rc; /* the server does not serve this kind */
}

/* What the view showed as seen, read from the server: *live, or NULL when
 * it is gone or no longer the owner's. Not KUBE_OK: it could not be read. */
static int confirm(kube_client *c, const char *api, const char *kind, const json_t *seen, const char *owner,
                   json_t **live) {
  int rc = kube_get(c, api, kind, kube_meta_str(seen, "namespace"), kube_meta_str(seen, "name"), live);
  if (rc != KUBE_OK ||
      !kube_str_is(json_object_get(json_object_get(*live, "metadata"), "labels"), APPLY_OWNER_LABEL, owner))
    json_decref(*live), *live = NULL;
  return rc == KUBE_ENOTFOUND ? KUBE_OK : rc;
}

static int prune_kind(kube_client *c, const compile_result *r, const char *api, const char *kind, const apply_opts *o) {
  json_t *items = NULL;
  bool from_view;
  int rc = candidates(c, r, api, kind, o, &items, &from_view), failed = 0;
  size_t i;
  json_t *item;
  json_array_foreach(items, i, item) {
    json_object_set_new(item, "apiVersion", json_string(api));
    json_object_set_new(item, "kind", json_string(kind));
    if (wanted(r, item, kube_default_namespace(c))) continue;
    json_t *live = from_view ? NULL : json_incref(item);
    if (from_view && confirm(c, api, kind, item, o->owner, &live) != KUBE_OK) {
      failed += prune_failed(c, item, o);
      continue;
    }
    if (live) failed += prune_one(c, api, kind, live, o);
    json_decref(live);
  }
  json_decref(items);
  if (rc != KUBE_OK) fprintf(stderr, "error: cannot list %s for prune: %s\n", kind, kube_last_error(c));
  return rc != KUBE_OK ? 1 : failed;
}

int apply_prune(kube_client *c, const compile_result *r, const apply_opts *o) {
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

/* ---- deleting an application's objects ------------------------------------------ */

/* The kinds an application's deletion looks through: every kind the
 * server serves that can be listed and deleted, custom resources included,
 * in its group's preferred version; prune's usual list when the server
 * names its kinds only per group-version. */
typedef struct {
  const char **apis, **kinds;
  size_t n;
} kind_list;

static bool take_kind(const kube_resource *r, void *ctx) {
  kind_list *l = ctx;
  if (!r->listable || !r->preferred) return true;
  l->apis = heap_realloc(l->apis, (l->n + 1) * sizeof *l->apis);
  l->kinds = heap_realloc(l->kinds, (l->n + 1) * sizeof *l->kinds);
  /* Copies: a list may refresh discovery, which frees r. */
  l->apis[l->n] = heap_strdup(r->group_version);
  l->kinds[l->n++] = heap_strdup(r->kind);
  return true;
}

static void kinds_free(kind_list *l) {
  for (size_t k = 0; k < l->n; k++) free((char *)l->apis[k]), free((char *)l->kinds[k]);
  free(l->apis), free(l->kinds);
  *l = (kind_list){0};
}

static kind_list deletable_kinds(kube_client *c) {
  kind_list l = {0};
  if (kube_resource_each(c, take_kind, &l) == KUBE_OK && l.n) return l;
  kinds_free(&l);
  for (size_t k = 0; k < PRUNE_KINDS; k++) {
    kube_resource usual = {.group_version = (char *)prune_kinds[k][0], .kind = (char *)prune_kinds[k][1],
                           .listable = true, .preferred = true};
    take_kind(&usual, &l);
  }
  return l;
}

/* The objects marked as owner's, each with its apiVersion and kind, once
 * each; the lists that failed counted in *failed. */
static json_t *owned(kube_client *c, const char *owner, int *failed) {
  char selector[300];
  snprintf(selector, sizeof selector, "%s=%s", APPLY_OWNER_LABEL, owner);
  kube_list_opts lo = {.label_selector = selector};
  json_t *all = json_array(), *uids = json_object();
  kind_list l = deletable_kinds(c);
  for (size_t k = 0; k < l.n; k++) {
    json_t *items = NULL;
    int rc = kube_list(c, l.apis[k], l.kinds[k], NULL, &lo, &items, NULL);
    if (rc != KUBE_OK && rc != KUBE_ENOTFOUND) {
      fprintf(stderr, "error: cannot list %s of %s: %s\n", l.kinds[k], owner, kube_last_error(c));
      ++*failed;
    }
    size_t i;
    json_t *live;
    json_array_foreach(items, i, live) {
      const char *uid = kube_meta_str(live, "uid");
      if (!uid || json_object_get(uids, uid)) continue; /* one object served in two groups */
      json_object_set_new(uids, uid, json_true());
      json_object_set_new(live, "apiVersion", json_string(l.apis[k]));
      json_object_set_new(live, "kind", json_string(l.kinds[k]));
      json_array_append(all, live);
    }
    json_decref(items);
  }
  kinds_free(&l);
  json_decref(uids);
  return all;
}

/* An object's sync wave; 0 when its annotation is no integer (it was
 * applied, so its wave read then). */
long wave_of(const json_t *live) {
  long wave;
  char *why;
  if (waves_parse(live, &wave, &why)) return wave;
  free(why);
  return 0;
}

int apply_delete_owned(kube_client *c, const char *owner, const char *propagation, size_t *left, const apply_opts *o) {
  int failed = 0;
  json_t *found = owned(c, owner, &failed), *all = json_array();
  size_t i;
  json_t *live;
  /* Delete=false (Argo CD's annotation too): it stays, as if not owned. */
  json_array_foreach(found, i, live) if (!apply_object_option(live, "Delete=false", true)) json_array_append(all, live);
  json_decref(found);
  long top = LONG_MIN;
  /* Reverse wave order: the highest wave left goes first, and a lower one
   * only once it is gone, terminating objects included. */
  json_array_foreach(all, i, live) if (wave_of(live) > top) top = wave_of(live);
  json_array_foreach(all, i, live) {
    if (kube_meta_str(live, "deletionTimestamp") || wave_of(live) != top) continue;
    kube_delete_opts dopts = {.propagation = propagation, .uid = kube_meta_str(live, "uid")};
    int d = kube_delete(c, kube_str(live, "apiVersion"), kube_str(live, "kind"), kube_meta_str(live, "namespace"),
                        kube_meta_str(live, "name"), &dopts);
    if (d == KUBE_OK || d == KUBE_ENOTFOUND) {
      outcome(o, live, "deleted", NULL, NULL);
    } else {
      char *err = heap_printf("delete: %s", kube_last_error(c));
      outcome(o, live, NULL, err, NULL);
      free(err);
      failed++;
    }
  }
  *left = json_array_size(all);
  json_decref(all);
  return failed;
}

/* ---- applying, many objects at once ------------------------------------------ */

/* Without a server or with refused credentials every further object would
 * fail the same way: stop at the first. */
static bool hopeless(int rc) { return rc == KUBE_EUNREACHABLE || rc == KUBE_EAUTH; }

/* One apply: objects go to the server concurrently, batch by batch, while
 * their lines come out in sync order. */
typedef struct {
  kube_client *c;
  const apply_opts *o;
  live_obj *objs;       /* in sync order */
  long *wave;           /* wave[i]: object i's sync wave */
  kube_apply_item *res; /* res[i]: how object i went */
  const char **verb;    /* created, configured, unchanged, replaced; NULL until known */
  bool *done;
  bool *recreate;       /* refused for a field that cannot change, and opted in: to be recreated */
  size_t n, printed;    /* objects before printed are reported */
  size_t answered;      /* objects the server answered for */
  int failed;
  bool stopped;         /* a hopeless failure was reported */
  char *halt;           /* why a wave stopped the sync, or NULL */
} run;

/* Whether the server refused an apply because a field that cannot change
 * did: "spec.selector: Invalid value: ...: field is immutable", a
 * StatefulSet's "updates to statefulset spec for fields other than ...". */
static bool immutable(const char *error) {
  return error && (strstr(error, "field is immutable") || strstr(error, "may not change once set") ||
                   strstr(error, "updates to statefulset spec for fields other than"));
}

static void report(run *r, size_t i) {
  const kube_apply_item *it = &r->res[i];
  if (it->rc == KUBE_ECANCELED) return;
  if (it->rc == KUBE_OK) {
    r->answered++;
    outcome(r->o, r->objs[i].body, r->verb[i], NULL, NULL);
    return;
  }
  r->failed++;
  if (hopeless(it->rc) && r->stopped) return; /* said once is enough */
  if (hopeless(it->rc))
    r->stopped = true;
  else
    r->answered++;
  outcome(r->o, r->objs[i].body, NULL, it->error,
          it->rc == KUBE_ECONFLICT && !r->o->force
              ? "\n  (another field manager owns these fields; --force-conflicts takes them over)"
          : immutable(it->error)
              ? "\n  (a field that cannot change has changed: the sync option Recreate=true, on the object (annotation "
                APPLY_OPTIONS_ANNOTATION ") or the application (sync_options), deletes and recreates it)"
              : NULL);
}

/* Lines for every finished object up to the first still on its way. */
static void flush(run *r) {
  while (r->printed < r->n && r->done[r->printed]) report(r, r->printed++);
}

/* created, configured or unchanged, from the live object and the answer. */
static void verdict(run *r, size_t i) {
  const json_t *live = r->objs[i].live, *after = r->res[i].out;
  const char *rv = kube_meta_str(after, "resourceVersion");
  bool same = live && after &&
              (kube_str_is(json_object_get(live, "metadata"), "resourceVersion", rv) || live_same(live, after, r->o->field_manager));
  r->verb[i] = !live ? "created" : same ? "unchanged" : "configured";
  r->done[i] = true;
}

typedef struct {
  run *r;
  kube_apply_item *items;
  size_t *which; /* items[k] is object which[k] */
} batch;

static void take(batch *b, size_t k) {
  b->r->res[b->which[k]] = b->items[k];
  b->items[k].out = NULL;
  b->items[k].error = NULL;
}

/* Whether object i, refused for a field that cannot change, is to be
 * deleted and created anew: the application or the object says so (Argo
 * CD's Force=true on an object means the same: delete and create), and
 * this is no dry run. */
static bool to_recreate(const run *r, size_t i) {
  const kube_apply_item *it = &r->res[i];
  return !r->o->dry_run && it->rc != KUBE_OK && immutable(it->error) && r->objs[i].live &&
         (r->o->recreate || apply_object_option(r->objs[i].body, "Recreate=true", false) ||
          apply_object_option(r->objs[i].body, "Force=true", true));
}

static int applied(size_t k, void *ctx) {
  batch *b = ctx;
  size_t i = b->which[k];
  take(b, k);
  verdict(b->r, i);
  /* Its line waits for the recreation (recreate_all). */
  if ((b->r->recreate[i] = to_recreate(b->r, i))) b->r->done[i] = false;
  flush(b->r);
  return hopeless(b->r->res[i].rc);
}

enum { RECREATE_WAIT_S = 60 };

/* Deletes object i (the live one, by its uid, its dependents first) and
 * waits until it is gone, then applies it again: "replaced", or why not. */
static void recreate(run *r, size_t i) {
  const json_t *live = r->objs[i].live, *body = r->objs[i].body;
  const char *api = kube_str(body, "apiVersion"), *kind = kube_str(body, "kind");
  const char *ns = kube_meta_str(live, "namespace"), *name = kube_meta_str(live, "name");
  kube_delete_opts dopts = {.propagation = "Foreground", .uid = kube_meta_str(live, "uid")};
  int rc = kube_delete(r->c, api, kind, ns, name, &dopts);
  json_t *seen = NULL;
  for (int t = 0; (rc == KUBE_OK || rc == KUBE_ENOTFOUND) && t < RECREATE_WAIT_S * 5; t++) {
    json_decref(seen);
    seen = NULL;
    if ((rc = kube_get(r->c, api, kind, ns, name, &seen)) == KUBE_ENOTFOUND) break;
    usleep(200000);
  }
  json_decref(seen);
  kube_apply_item *it = &r->res[i];
  free(it->error);
  it->error = NULL;
  json_decref(it->out);
  it->out = NULL;
  if (rc != KUBE_ENOTFOUND) {
    it->rc = KUBE_ERROR;
    it->error = heap_printf("a field that cannot change has changed, and it could not be deleted to be recreated: %s",
                            rc == KUBE_OK ? "still there after a minute" : kube_last_error(r->c));
  } else {
    kube_apply_opts ao = {.force = r->o->force, .field_manager = r->o->field_manager};
    it->rc = kube_apply(r->c, (json_t *)body, &ao, &it->out);
    if (it->rc != KUBE_OK) it->error = heap_printf("recreated, then refused: %s", kube_last_error(r->c));
  }
  r->verb[i] = "replaced (deleted and created anew: a field that cannot change had changed)";
  r->done[i] = true;
}

/* Why an application may not take over a live object, or NULL when the
 * object is its own (caller frees). */
static char *foreign(const json_t *live, const char *owner) {
  const char *mark = kube_str(json_object_get(json_object_get(live, "metadata"), "labels"), APPLY_OWNER_LABEL);
  if (mark && owner && strcmp(mark, owner) == 0) return NULL;
  return heap_printf("exists and belongs to %s%s; application %s does not take it over", mark ? "application " : "",
                     mark ? mark : "no Plumb application (made by hand or another tool)", owner);
}

/* Objects known without a request: unreadable, someone else's, or already
 * as wanted. Returns false when one of them makes further requests
 * pointless. */
static bool decide(run *r, size_t i, batch *b, size_t *m) {
  live_obj *ob = &r->objs[i];
  char *theirs = ob->rc == KUBE_OK && ob->live && r->o->owner ? foreign(ob->live, r->o->owner) : NULL;
  if (theirs) {
    r->res[i] = (kube_apply_item){.obj = ob->body, .rc = KUBE_ERROR, .error = theirs};
    r->done[i] = true;
    return true;
  }
  if (ob->rc != KUBE_OK) {
    r->res[i] = (kube_apply_item){.obj = ob->body, .rc = ob->rc, .error = ob->error};
    ob->error = NULL;
    r->done[i] = true;
    return !hopeless(ob->rc);
  }
  if (live_unchanged(ob)) {
    r->res[i] = (kube_apply_item){.obj = ob->body};
    r->verb[i] = "unchanged";
    r->done[i] = true;
    return true;
  }
  b->items[*m] = (kube_apply_item){.obj = ob->body};
  b->which[(*m)++] = i;
  return true;
}

/* A CRD not served yet (new, changed, or still settling from an earlier
 * apply): wait until it is, then discover again. */
static void wait_crds(run *r, size_t from, size_t to) {
  bool changed = false;
  for (size_t i = from; i < to; i++) {
    const json_t *seen = r->res[i].out ? r->res[i].out : r->objs[i].live;
    if (r->res[i].rc != KUBE_OK || !seen || !kube_str_is(r->objs[i].body, "kind", "CustomResourceDefinition")) continue;
    changed = changed || r->res[i].out || !established(seen);
    if (!established(seen) && wait_established(r->c, r->objs[i].body) != KUBE_OK) r->failed++;
  }
  if (changed) kube_discovery_reset(r->c);
}

static void apply_batch(run *r, size_t from, size_t to) {
  batch b = {r, heap_calloc(to - from, sizeof *b.items), heap_calloc(to - from, sizeof *b.which)};
  size_t m = 0;
  bool go = true;
  live_read(r->c, r->objs + from, to - from);
  for (size_t i = from; i < to; i++) go = decide(r, i, &b, &m) && go;
  flush(r);
  kube_apply_opts ao = {.force = r->o->force, .dry_run = r->o->dry_run, .field_manager = r->o->field_manager};
  if (go) kube_apply_many(r->c, b.items, m, &ao, applied, &b);
  for (size_t k = 0; k < m; k++) {
    if (!go) b.items[k].rc = KUBE_ECANCELED;
    if (b.items[k].rc == KUBE_ECANCELED) take(&b, k);
  }
  for (size_t i = from; i < to; i++)
    if (r->recreate[i]) recreate(r, i);
  flush(r);
  if (!r->o->dry_run && !r->stopped && go) wait_crds(r, from, to);
  r->stopped = r->stopped || !go;
  free(b.items);
  free(b.which);
}

/* Namespaces and CRDs come early in sync order, and what follows may need
 * them: a batch ends after a run of them. Within a batch objects go in
 * parallel. */
static bool barrier(const json_t *body) {
  return kube_str_is(body, "kind", "Namespace") || kube_str_is(body, "kind", "CustomResourceDefinition");
}

static size_t batch_end(const live_obj *objs, size_t from, size_t to) {
  for (size_t i = from + 1; i < to; i++)
    if (barrier(objs[i - 1].body) && !kube_str_is(objs[i - 1].body, "kind", kube_str(objs[i].body, "kind"))) return i;
  return to;
}

static size_t wave_end(const run *r, size_t from) {
  size_t to = from + 1;
  while (to < r->n && r->wave[to] == r->wave[from]) to++;
  return to;
}

static void *zeroed(size_t n, size_t size) {
  void *p = heap_calloc(n ? n : 1, size);
  return p;
}

/* Stops the sync after the wave of objects [from, to), saying why. */
static void halt(run *r, size_t from, size_t to, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void halt(run *r, size_t from, size_t to, const char *fmt, ...) {
  va_list ap;
  char rest[80] = "";
  va_start(ap, fmt);
  char *why = heap_vprintf(fmt, ap);
  va_end(ap);
  size_t later = r->n - to;
  if (later) snprintf(rest, sizeof rest, " (%zu object%s of later waves not applied)", later, later == 1 ? "" : "s");
  r->halt = heap_printf("wave %ld: %s%s", r->wave[from], why, rest);
  free(why);
}

/* Waits, as o asks, until the objects of the wave [from, to) are healthy;
 * halts the sync when they are not. */
static void settle(run *r, size_t from, size_t to) {
  json_t **bodies = zeroed(to - from, sizeof *bodies);
  for (size_t i = from; i < to; i++) bodies[i - from] = r->objs[i].body;
  settle_failure why;
  if (!settle_wave(r->c, bodies, to - from, r->o->wave_timeout_s, &why)) {
    char *ref = ref_of(bodies[why.index]);
    const char *name = health_name(why.health.code), *sep = *why.health.message ? ": " : "";
    if (why.timed_out)
      halt(r, from, to, "%s is still %s after %g s%s%s", ref, name, r->o->wave_timeout_s, sep, why.health.message);
    else
      halt(r, from, to, "%s is %s%s%s", ref, name, sep, why.health.message);
    free(ref);
  }
  free(bodies);
}

/* One sync wave, batch by batch. A wave where anything failed ends the
 * sync; so does one that does not become healthy, when o waits for that.
 * As in Argo CD, the last wave is not waited for unless o->wait_last. */
static void sync_wave(run *r, size_t from, size_t to) {
  int failed = r->failed;
  for (size_t b = from, e; b < to && !r->stopped; b = e) {
    e = batch_end(r->objs, b, to);
    apply_batch(r, b, e);
  }
  if (r->stopped) return;
  bool last = to == r->n;
  if (r->failed > failed && !last)
    halt(r, from, to, "%d object%s failed to apply", r->failed - failed, r->failed - failed == 1 ? "" : "s");
  else if (r->failed == failed && r->o->wave_timeout_s > 0 && !r->o->dry_run && (!last || r->o->wait_last))
    settle(r, from, to);
}

/* Objects whose wave cannot be read, each reported: nothing is applied. */
static int bad_waves(run *r) {
  int bad = 0;
  for (size_t i = 0; i < r->n; i++) {
    long wave;
    char *why;
    if (waves_parse(r->objs[i].body, &wave, &why)) continue;
    outcome(r->o, r->objs[i].body, NULL, why, NULL);
    free(why);
    bad++;
  }
  return bad;
}

/* Puts r's objects in sync order, each with its wave. */
static void in_sync_order(run *r) {
  const json_t **bodies = zeroed(r->n, sizeof *bodies);
  size_t *order = zeroed(r->n, sizeof *order);
  live_obj *sorted = zeroed(r->n, sizeof *sorted);
  for (size_t i = 0; i < r->n; i++) bodies[i] = r->objs[i].body;
  waves_sort(bodies, r->n, kube_default_namespace(r->c), order, r->wave);
  for (size_t k = 0; k < r->n; k++) sorted[k] = r->objs[order[k]];
  free(r->objs);
  r->objs = sorted;
  free(bodies);
  free(order);
}

/* Applies every wave; *halted when a wave stopped the sync. */
static int apply_all(kube_client *c, const compile_result *res, const apply_opts *o, bool *halted) {
  size_t n = res->nres;
  run r = {.c = c, .o = o, .objs = live_new(res, o->owner, o->field_manager, o->ignore, o->nignore), .n = n, .wave = zeroed(n, sizeof(long)),
           .res = zeroed(n, sizeof(kube_apply_item)), .verb = zeroed(n, sizeof(char *)), .done = zeroed(n, sizeof(bool)),
           .recreate = zeroed(n, sizeof(bool))};
  int bad = bad_waves(&r);
  if (!bad) in_sync_order(&r);
  for (size_t from = 0, to; from < n && !r.stopped && !r.halt && !bad; from = to) {
    to = wave_end(&r, from);
    sync_wave(&r, from, to);
  }
  for (size_t i = r.printed; i < n; i++)
    if (r.done[i]) report(&r, i);
  if (o->out) fflush(o->out);
  if (r.stopped) fprintf(stderr, "plumb: stopped after %zu of %zu objects\n", r.answered, n);
  if (r.halt && o->out) fprintf(stderr, "plumb: %s\n", r.halt);
  *halted = r.halt != NULL;
  if (r.halt && o->result) o->result->halt = r.halt;
  else free(r.halt);
  for (size_t i = 0; i < n; i++) {
    json_decref(r.res[i].out);
    free(r.res[i].error);
  }
  live_free(r.objs, n);
  free(r.wave);
  free(r.res);
  free(r.verb);
  free(r.done);
  free(r.recreate);
  return bad + r.failed + (*halted && !r.failed);
}

int apply_resources(kube_client *c, const compile_result *r, const apply_opts *o) {
  return apply_has_hooks(r) ? apply_with_hooks(c, r, o) : apply_objects(c, r, o);
}

int apply_objects(kube_client *c, const compile_result *r, const apply_opts *o) {
  bool halted;
  int failed = apply_all(c, r, o, &halted);
  if (!o->prune) return failed;
  if (halted) {
    fputs("plumb: not pruning: the sync stopped before it was done\n", stderr);
    return failed;
  }
  if (failed) {
    fprintf(stderr, "plumb: not pruning: %d object%s failed to apply\n", failed, failed == 1 ? "" : "s");
    return failed;
  }
  if (r->nres == 0 && !o->allow_empty) {
    fprintf(stderr, "plumb: not pruning: env %s produced no resources\n", r->env);
    return 1;
  }
  return apply_prune(c, r, o);
}

/* compile_served's read, from k's cluster. */
static int read_served(void *ctx, const char *api, arena *a, const char **text, size_t *len, const char **err) {
  kube_client *k = ctx;
  int rc = kube_openapi_doc(k, api, text, len);
  if (rc == KUBE_ENOTFOUND) return -1;
  if (rc != KUBE_OK) *err = arena_strdup(a, kube_last_error(k));
  return rc == KUBE_OK ? 0 : -2;
}

bool apply_check_served(kube_client *k, const compile_result *r, diag_list *d) {
  d->sources = r->diags.sources;
  return compile_check_served(r, d, &(compile_served){read_served, k});
}
