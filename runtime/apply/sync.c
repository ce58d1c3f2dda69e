/* sync.c: one application against its cluster, one pass (see sync.h). */
#include "plumb/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

const char *sync_status_name(sync_status s) {
  return s == SYNC_SYNCED ? "Synced" : s == SYNC_OUT_OF_SYNC ? "OutOfSync" : "Unknown";
}

void sync_report_free(sync_report *r) {
  free(r->error);
  free(r->diff);
  apply_result_free(&r->objects);
  *r = (sync_report){0};
}

#define SKIP_MISSING "SkipDryRunOnMissingResource=true"

/* Objects that name no namespace go to the application's. */
static void aim(kube_client *c, const app_def *app) { kube_client_set_namespace(c, app->namespace); }

char *sync_check_project(kube_client *c, const app_def *app, const app_project *p, const compile_result *r) {
  aim(c, app);
  arena *a = arena_new();
  const char *why = app_check_source(p, app, a);
  for (size_t i = 0; i < r->nres && !why; i++) {
    const value *res = r->res[i].obj;
    const char *api = value_get_string(res, "apiVersion"), *kind = value_get_string(res, "kind");
    const char *ns = value_get_string(res, "metadata.namespace");
    const kube_resource *kr;
    /* An application declared by app's build is checked as one of its
     * namespaced objects: no server serves that kind. */
    bool namespaced = app_is_definition(res) || kube_resource_find(c, api, kind, &kr) != KUBE_OK || kr->namespaced;
    why = app_check_object(p, app, api, kind, namespaced ? (ns ? ns : kube_default_namespace(c)) : NULL, a);
    if (why) why = arena_printf(a, "%s \"%s\": %s", kind, value_get_string(res, "metadata.name"), why);
  }
  char *out = why ? heap_strdup(why) : NULL;
  arena_free(a);
  return out;
}

static bool str_is(const value *v, const char *path, const char *want) {
  const char *s = value_get_string(v, path);
  return s && strcmp(s, want) == 0;
}

/* Whether r builds a CRD that serves kind in api ("group/version"). */
static bool crd_built(const compile_result *r, const char *api, const char *kind) {
  const char *slash = strchr(api, '/');
  for (size_t i = 0; slash && i < r->nres; i++) {
    const value *crd = r->res[i].obj;
    const char *group = value_get_string(crd, "spec.group"), *k = value_get_string(crd, "spec.names.kind");
    const value *versions = value_get_path(crd, "spec.versions");
    if (!str_is(crd, "kind", "CustomResourceDefinition") || !group || !k || strcmp(k, kind) != 0 ||
        strlen(group) != (size_t)(slash - api) || strncmp(group, api, slash - api) != 0 || !versions ||
        versions->kind != V_LIST)
      continue;
    for (size_t j = 0; j < versions->u.list.len; j++)
      if (str_is(versions->u.list.items[j], "name", slash + 1)) return true;
  }
  return false;
}

char *sync_check_kinds(kube_client *c, const app_def *app, const compile_result *r) {
  if (app_sync_option(app, SKIP_MISSING)) return NULL;
  aim(c, app);
  char *text = NULL;
  size_t len;
  FILE *f = open_memstream(&text, &len);
  if (!f) abort();
  for (size_t i = 0; i < r->nres; i++) {
    const value *res = r->res[i].obj;
    const char *api = value_get_string(res, "apiVersion"), *kind = value_get_string(res, "kind");
    const kube_resource *kr;
    if (app_is_definition(res) || kube_resource_find(c, api, kind, &kr) != KUBE_ENOTFOUND || crd_built(r, api, kind))
      continue;
    json_t *body = apply_body(r, i, NULL);
    bool skip = apply_object_option(body, SKIP_MISSING, true);
    json_decref(body);
    if (skip) continue;
    pos at = value_get_path(res, "kind")->at;
    if (at.file) fprintf(f, "%s:%d:%d: ", at.file, at.line, at.col);
    fprintf(f, "%s \"%s\": the server does not serve kind %s in %s, and the build has no CRD for it (the sync "
               "option " SKIP_MISSING ", on the object or the application, lets the sync go on without it)\n",
            kind, value_get_string(res, "metadata.name"), kind, api);
  }
  fclose(f);
  if (len) return text;
  free(text);
  return NULL;
}

void sync_compare(kube_client *c, const app_def *app, const compile_result *r, const apply_lister *view,
                  sync_report *out) {
  *out = (sync_report){0};
  aim(c, app);
  size_t len;
  FILE *f = open_memstream(&out->diff, &len);
  if (!f) abort();
  int rc = diff_resources(c, r, app->name, app->field_manager, app->ignore, app->nignore, f);
  /* Objects of the application that left git are differences too. */
  apply_result orphans = {0};
  apply_opts po = {.dry_run = true, .owner = app->name, .result = &orphans, .view = view};
  if (rc != 2 && apply_prune(c, r, &po)) rc = 2;
  for (size_t i = 0; i < orphans.n; i++) {
    fprintf(f, "%s%s%s: in the cluster, no longer in git\n", orphans.items[i].ns ? orphans.items[i].ns : "",
            orphans.items[i].ns ? " " : "", orphans.items[i].ref);
    rc = rc ? rc : 1;
  }
  apply_result_free(&orphans);
  fclose(f);
  out->status = rc == 0 ? SYNC_SYNCED : rc == 1 ? SYNC_OUT_OF_SYNC : SYNC_UNKNOWN;
  if (rc == 2) out->error = heap_strdup(kube_last_error(c));
}

/* CreateNamespace=true: the destination namespace, made when it is not
 * there, as Argo CD makes it (not the application's to prune); NULL, or
 * why not (caller frees). */
static char *create_namespace(kube_client *c, const app_def *app) {
  if (!*app->namespace) return NULL;
  json_t *ns = NULL;
  int rc = kube_get(c, "v1", "Namespace", NULL, app->namespace, &ns);
  json_decref(ns);
  /* Made, or there: its labels and annotations as the application says
   * (managedNamespaceMetadata, applied whenever it gives them). */
  if (rc == KUBE_ENOTFOUND || (rc == KUBE_OK && app->namespace_metadata)) {
    json_t *obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
                            app->namespace);
    json_t *meta = app->namespace_metadata ? json_loads(app->namespace_metadata, 0, NULL) : NULL;
    if (meta) json_object_update(json_object_get(obj, "metadata"), meta);
    json_decref(meta);
    kube_apply_opts ao = {0};
    rc = kube_apply(c, obj, &ao, NULL);
    json_decref(obj);
  }
  return rc == KUBE_OK ? NULL : heap_printf("cannot create the namespace %s (CreateNamespace=true): %s", app->namespace,
                                            kube_last_error(c));
}

void sync_apply(kube_client *c, const app_def *app, const app_project *p, const compile_result *r,
                const apply_lister *view, sync_report *out) {
  *out = (sync_report){0};
  if ((out->error = sync_check_project(c, app, p, r))) return;
  if (r->nres == 0 && !app->allow_empty) {
    /* Nothing to apply, and prune would delete everything. */
    out->error = heap_strdup("the build produced no resources; nothing is synced or pruned (allow_empty permits it)");
    return;
  }
  /* Git is the truth: fields someone else took (kubectl scale) come back.
   * Waves wait for health between them, as in Argo CD. */
  apply_opts o = {.force = true, .prune = app->prune, .allow_empty = app->allow_empty, .owner = app->name,
                  .field_manager = app->field_manager,
                  .result = &out->objects, .wave_timeout_s = SYNC_WAVE_TIMEOUT_S,
                  .recreate = app_sync_option(app, "Recreate=true"), .ignore = app->ignore, .nignore = app->nignore,
                  .view = view};
  if (app_sync_option(app, "CreateNamespace=true") && (out->error = create_namespace(c, app))) return;
  int failed = apply_resources(c, r, &o);
  out->status = failed ? SYNC_OUT_OF_SYNC : SYNC_SYNCED;
  if (out->objects.halt)
    out->error = heap_strdup(out->objects.halt);
  else if (failed) out->error = heap_printf("%d object%s failed to sync", failed, failed == 1 ? "" : "s");
}
