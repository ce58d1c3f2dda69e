/* chartapp.c: an application of a chart repository's chart, as a git
 * repository of its own.
 *
 * An application may name a chart of a chart repository or an OCI
 * registry rather than a path in git, as Argo CD's Helm source does. The
 * runtime builds, records and rolls back what a commit holds, so such an
 * application is given one: a bare repository in the cache whose commits
 * each hold an env rendering the chart with the application's values
 * (main.plumb, values.json) and the plumb.lock pinning the version its
 * revision resolved to. A commit is a function of its content alone (no
 * parent, a fixed author and time): the same pin is the same commit, after
 * a restart or on another replica, and a new version is a new commit,
 * which is synced, recorded and rolled back to as any other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

#include "internal.h"

/* main.plumb: helm_chart() of app's chart at the version pinned. Its
 * strings were checked to hold no '"', '\' or '$' (app.c). */
static const char *env_text(arena *a, const source_chart_app *app, const compile_chart *c) {
  buf b = {0};
  bool oci = strncmp(app->repo, "oci://", 6) == 0;
  buf_printf(&b, "// Made by plumb run: the chart of an application whose source is a chart.\nenv chart {\n");
  buf_printf(&b, "  helm_chart(\"%s\", {", c->repo);
  if (!oci) buf_printf(&b, " chart: \"%s\",", c->chart);
  buf_printf(&b, " version: \"%s\", release: \"%s\"", c->version, app->release);
  if (*app->namespace) buf_printf(&b, ", namespace: \"%s\"", app->namespace);
  if (app->values) buf_puts(&b, ", values_files: [\"values.json\"]");
  buf_puts(&b, " })\n}\n");
  const char *text = arena_strndup(a, b.data, b.len);
  buf_free(&b);
  return text;
}

typedef struct {
  const char *name, *text;
} tree_file;

/* A commit of files, with no parent and a fixed author and time, as the
 * head of the branch main; 0 or -1 with *err. */
static int commit_files(git_repository *repo, const tree_file *files, size_t n, const char *subject, char **err) {
  git_treebuilder *tb = NULL;
  git_signature *sig = NULL;
  git_tree *tree = NULL;
  git_oid id, tree_id, commit_id;
  int rc = git_treebuilder_new(&tb, repo, NULL);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = git_blob_create_from_buffer(&id, repo, files[i].text, strlen(files[i].text));
    if (rc == 0) rc = git_treebuilder_insert(NULL, tb, files[i].name, &id, GIT_FILEMODE_BLOB);
  }
  if (rc == 0) rc = git_treebuilder_write(&tree_id, tb);
  if (rc == 0) rc = git_tree_lookup(&tree, repo, &tree_id);
  if (rc == 0) rc = git_signature_new(&sig, "plumb", "plumb@localhost", 0, 0);
  if (rc == 0) rc = git_commit_create(&commit_id, repo, NULL, sig, sig, "UTF-8", subject, tree, 0, NULL);
  git_reference *ref = NULL;
  if (rc == 0) rc = git_reference_create(&ref, repo, "refs/heads/main", &commit_id, 1, "plumb run: pinned");
  if (rc == 0) rc = git_repository_set_head(repo, "refs/heads/main");
  if (rc) *err = heap_printf("cannot commit the chart's pin: %s", source_git_error());
  git_reference_free(ref);
  git_signature_free(sig);
  git_tree_free(tree);
  git_treebuilder_free(tb);
  return rc ? -1 : 0;
}

int source_chart_app_pin(const source_charts *charts, const char *dir, const source_chart_app *app, char **err) {
  arena *a = arena_new();
  bool oci = strncmp(app->repo, "oci://", 6) == 0;
  size_t n = strlen(app->repo);
  while (n && app->repo[n - 1] == '/') n--;
  compile_chart c = {.repo = oci ? arena_printf(a, "%.*s/%s", (int)n, app->repo, app->chart) : arena_strndup(a, app->repo, n),
                     .chart = app->chart,
                     .version = app->version,
                     .lock = "plumb.lock"};
  const char *data, *why = NULL;
  size_t len;
  git_repository *repo = NULL;
  int rc = source_chart_get((void *)charts, a, &c, &data, &len, &why);
  const char *lock = rc ? NULL : compile_lock_text(a, NULL, 0, &c, 1, &why);
  if (!lock) {
    *err = heap_strdup(why);
    rc = -1;
  } else if (git_repository_open_bare(&repo, dir) != 0 && git_repository_init(&repo, dir, 1) != 0) {
    *err = heap_printf("cannot make the repository of the chart's pins %s: %s", dir, source_git_error());
    rc = -1;
  } else {
    tree_file files[3] = {{"main.plumb", env_text(a, app, &c)}, {"plumb.lock", lock}, {"values.json", app->values}};
    const char *subject = arena_printf(a, "chart %s %s of %s", c.chart, c.pinned, c.repo);
    rc = commit_files(repo, files, app->values ? 3 : 2, subject, err);
  }
  git_repository_free(repo);
  arena_free(a);
  return rc;
}
