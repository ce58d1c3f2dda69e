/* diff.c: `plumb diff`, live objects against a server-side dry run.
 *
 * The server computes what an apply would make of each object, defaults
 * included, so only real changes show; fields the server owns are masked
 * on both sides first. The unified diff comes from libgit2. */
#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "kube/convert.h"
#include "plumb/apply.h"

/* Fields that change on every write or belong to the server alone. */
static void mask(json_t *obj) {
  json_t *meta = json_object_get(obj, "metadata");
  static const char *const server_meta[] = {"managedFields", "resourceVersion", "generation", "uid",
                                            "creationTimestamp"};
  for (size_t i = 0; i < sizeof server_meta / sizeof server_meta[0]; i++) json_object_del(meta, server_meta[i]);
  json_object_del(obj, "status");
}

static int print_hunks(const git_diff_delta *d, const git_diff_hunk *h, const git_diff_line *l, void *out) {
  (void)d;
  (void)h;
  if (l->origin == GIT_DIFF_LINE_FILE_HDR) return 0; /* ours, kubectl-style, come first */
  if (l->origin == GIT_DIFF_LINE_CONTEXT || l->origin == GIT_DIFF_LINE_ADDITION || l->origin == GIT_DIFF_LINE_DELETION)
    fputc(l->origin, out);
  fwrite(l->content, 1, l->content_len, out);
  return 0;
}

/* Names like kubectl diff's: group.version.Kind.namespace.name. */
static char *object_name(const json_t *obj) {
  json_t *meta = json_object_get(obj, "metadata");
  const char *api = json_string_value(json_object_get(obj, "apiVersion"));
  const char *ns = json_string_value(json_object_get(meta, "namespace"));
  char *name, gv[200];
  snprintf(gv, sizeof gv, "%s", api);
  for (char *p = gv; *p; p++) if (*p == '/') *p = '.';
  if (asprintf(&name, "%s.%s.%s%s%s", gv, json_string_value(json_object_get(obj, "kind")), ns ? ns : "", ns ? "." : "",
               json_string_value(json_object_get(meta, "name"))) < 0)
    abort();
  return name;
}

static int diff_one(kube_client *c, json_t *body, FILE *out) {
  json_t *meta = json_object_get(body, "metadata"), *live = NULL, *merged = NULL;
  const char *api = json_string_value(json_object_get(body, "apiVersion"));
  const char *kind = json_string_value(json_object_get(body, "kind"));
  int rc = kube_get(c, api, kind, json_string_value(json_object_get(meta, "namespace")),
                    json_string_value(json_object_get(meta, "name")), &live);
  kube_apply_opts ao = {.dry_run = true, .force = true};
  if ((rc != KUBE_OK && rc != KUBE_ENOTFOUND) || kube_apply(c, body, &ao, &merged) != KUBE_OK) {
    fprintf(stderr, "error: %s %s: %s\n", kind, json_string_value(json_object_get(meta, "name")), kube_last_error(c));
    json_decref(live);
    return 2;
  }
  if (live) mask(live);
  mask(merged);
  char *a = live ? kube_json_to_yaml(live) : strdup(""), *b = kube_json_to_yaml(merged);
  char *name = object_name(merged);
  int result = strcmp(a, b) != 0;
  if (result) {
    git_patch *patch;
    git_diff_options opts;
    git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
    git_patch_from_buffers(&patch, a, strlen(a), NULL, b, strlen(b), NULL, &opts);
    fprintf(out, "diff -u -N live/%s merged/%s\n--- live/%s\n+++ merged/%s\n", name, name, name, name);
    git_patch_print(patch, print_hunks, out);
    git_patch_free(patch);
  }
  free(name);
  free(a);
  free(b);
  json_decref(live);
  json_decref(merged);
  return result;
}

int diff_resources(kube_client *c, const compile_result *r, FILE *out) {
  git_libgit2_init();
  int worst = 0;
  for (size_t i = 0; i < r->nres && worst < 2; i++) {
    json_t *body = apply_body(r, i);
    int d = diff_one(c, body, out);
    if (d > worst) worst = d;
    json_decref(body);
  }
  git_libgit2_shutdown();
  return worst;
}
