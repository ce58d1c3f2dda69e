/* diff.c: `plumb diff`, live objects against a server-side dry run.
 *
 * The server computes what an apply would make of each object, defaults
 * included, so only real changes show; fields the server owns are masked
 * on both sides first. An object Plumb's managed fields prove unchanged
 * (live_unchanged) needs no dry run: it cannot differ. The rest go to the
 * server together. The unified diff comes from libgit2. */
#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "kube/convert.h"
#include "live.h"
#include "plumb/arena.h"
#include "plumb/apply.h"

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
  const char *api = kube_str(obj, "apiVersion"), *ns = kube_meta_str(obj, "namespace");
  char *name, gv[200];
  snprintf(gv, sizeof gv, "%s", api);
  for (char *p = gv; *p; p++) if (*p == '/') *p = '.';
  name =
      heap_printf("%s.%s.%s%s%s", gv, kube_str(obj, "kind"), ns ? ns : "", ns ? "." : "", kube_meta_str(obj, "name"));
  return name;
}

static void show(const json_t *obj, const char *error) {
  fprintf(stderr, "error: %s %s: %s\n", kube_str(obj, "kind"), kube_meta_str(obj, "name"), error);
}

/* Prints the diff of one object; 1 when it differs. */
static int diff_one(json_t *live, json_t *merged, FILE *out) {
  if (live) live_mask(live);
  live_mask(merged);
  live_mask_secret(live, merged);
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
  return result;
}

/* The first failure ends diff: start no more dry runs after it. */
static int stop_at_error(size_t k, void *items) { return ((kube_apply_item *)items)[k].rc != KUBE_OK; }

/* Dry runs of every object that may differ, all at once; *which maps them
 * back to objects. Objects after one that could not be read are left out. */
static size_t dry_runs(kube_client *c, live_obj *objs, size_t n, kube_apply_item *items, size_t *which) {
  size_t m = 0;
  for (size_t i = 0; i < n && objs[i].rc == KUBE_OK; i++) {
    if (live_unchanged(&objs[i])) continue;
    items[m] = (kube_apply_item){.obj = objs[i].body};
    which[m++] = i;
  }
  kube_apply_opts ao = {.dry_run = true, .force = true, .field_manager = n ? objs[0].manager : NULL};
  kube_apply_many(c, items, m, &ao, stop_at_error, items);
  return m;
}

/* In install order: 1 when anything differs, 2 at the first error. */
static int report(live_obj *objs, size_t n, kube_apply_item *items, const size_t *which, FILE *out) {
  int worst = 0;
  for (size_t i = 0, k = 0; i < n; i++) {
    if (objs[i].rc != KUBE_OK) return show(objs[i].body, objs[i].error), 2;
    if (k == n || which[k] != i) continue; /* unchanged, known without asking */
    kube_apply_item *it = &items[k++];
    if (it->rc != KUBE_OK) return show(objs[i].body, it->error), 2;
    if (diff_one(objs[i].live, it->out, out)) worst = 1;
  }
  return worst;
}

int diff_resources(kube_client *c, const compile_result *all, const char *owner, const char *manager,
                   const app_ignore *ignore, size_t nignore, FILE *out) {
  /* Hooks are tasks of a sync, not objects to keep equal (apply.h). */
  compile_result kept = apply_select(all, APPLY_HOOK_NONE), *r = &kept;
  size_t n = r->nres;
  live_obj *objs = live_new(r, owner, manager, ignore, nignore);
  kube_apply_item *items = heap_calloc(n ? n : 1, sizeof *items);
  size_t *which = heap_calloc(n ? n : 1, sizeof *which);
  live_read(c, objs, n);
  size_t m = dry_runs(c, objs, n, items, which);
  for (size_t k = m; k < n; k++) which[k] = n; /* none */
  git_libgit2_init();
  int worst = report(objs, n, items, which, out);
  git_libgit2_shutdown();
  for (size_t k = 0; k < m; k++) {
    json_decref(items[k].out);
    free(items[k].error);
  }
  live_free(objs, n);
  free(items);
  free(which);
  free(kept.res);
  return worst;
}
