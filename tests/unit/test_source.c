/* test_source.c: configuration repositories fetched with libgit2 and
 * compiled from their trees, against real repositories made with git
 * (over ssh: test_ssh.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plumb/emit.h"
#include "plumb/source.h"
#include "source/internal.h"

#include "git_test.h"
#include "hostile_test.h"

static char origin[128]; /* file:// URL of tmp/origin */

static int setup(void **state) {
  git_test_make_origin("source");
  snprintf(origin, sizeof origin, "file://%s/origin", tmp);
  return 0;
}

static int teardown(void **state) {
  git_test_remove();
  return 0;
}

static source_repo *fetched(void) {
  source_repo *s = open_source(origin, NULL);
  if (source_fetch(s, NULL)) fail_msg("%s", source_last_error(s));
  return s;
}

/* Objects of the commits at revs of tmp/name and of their trees, without
 * their history. */
static size_t tip_objects(const char *name, const char *revs) {
  return (size_t)atol(sh_out("git -C %s/%s rev-list --objects --no-walk %s | wc -l", tmp, name, revs));
}

/* ---- fetching -------------------------------------------------------------- */

/* libgit2's local transport cannot cut history: a file:// cache is whole
 * from the first fetch. */
static void fetch_file_url_brings_branches_and_tags(void **state) {
  source_repo *s = open_source(origin, NULL);
  source_fetch_stats st;
  assert_int_equal(source_fetch(s, &st), 0);
  source_rev r;
  assert_int_equal(source_resolve(s, "main", &r), 0);
  assert_string_equal(r.commit, sh_out("git -C %s/origin rev-parse main", tmp));
  assert_string_equal(r.tree, sh_out("git -C %s/origin rev-parse main^{tree}", tmp));
  assert_int_equal(git_repository_is_shallow(s->repo), 0);
  /* The cache is named by a hash, not by the URL. */
  assert_null(strstr(source_cache_path(s), "origin"));
  source_free(s);
}

/* Only the new objects come, but for annotated tags: the local transport
 * sends each again, with its commit and that commit's tree, whenever a
 * fetch brings anything (over http and ssh only the new objects come). */
static void fetch_brings_new_commits(void **state) {
  source_repo *s = fetched();
  source_fetch_stats st;
  sh("cd %s/origin && sed -i 's/replicas: 1/replicas: 2/' envs/dev/main.plumb", tmp);
  commit_all("two replicas");
  assert_int_equal(source_fetch(s, &st), 0);
  /* The commit, the trees on the way to the file (root, envs, envs/dev)
   * and the file; v1-annotated, its commit and tree. */
  assert_int_equal(st.objects, 5 + 1 + tip_objects("origin", "v1-annotated^{commit}"));
  source_rev r;
  assert_int_equal(source_resolve(s, "main", &r), 0);
  assert_string_equal(r.commit, sh_out("git -C %s/origin rev-parse main", tmp));
  assert_int_equal(source_fetch(s, &st), 0);
  assert_int_equal(st.objects, 0);
  source_free(s);
}

static void fetch_prunes_deleted_branches(void **state) {
  sh("git -C %s/origin branch short-lived", tmp);
  source_repo *s = fetched();
  source_rev r;
  assert_int_equal(source_resolve(s, "short-lived", &r), 0);
  sh("git -C %s/origin branch -q -D short-lived", tmp);
  assert_int_equal(source_fetch(s, NULL), 0);
  assert_int_equal(source_resolve(s, "short-lived", &r), SOURCE_ENOTFOUND);
  source_free(s);
}

static void plain_local_path_works_like_file_url(void **state) {
  char path[128];
  snprintf(path, sizeof path, "%s/origin", tmp);
  source_repo *s = open_source(path, NULL);
  assert_int_equal(source_fetch(s, NULL), 0);
  source_rev r;
  assert_int_equal(source_resolve(s, "HEAD", &r), 0);
  assert_string_equal(r.commit, sh_out("git -C %s/origin rev-parse HEAD", tmp));
  source_free(s);
}

static void unreachable_remote_says_so(void **state) {
  source_repo *s = open_source("file:///nonexistent/plumb-repo", NULL);
  assert_int_equal(source_fetch(s, NULL), SOURCE_EUNREACHABLE);
  if (!strstr(source_last_error(s), "cannot reach file:///nonexistent/plumb-repo: ")) fail_msg("%s", source_last_error(s));
  source_free(s);
  /* Nothing listens on port 1; the password never shows. */
  s = open_source("http://alice:hunter2@127.0.0.1:1/repo.git", NULL);
  assert_int_equal(source_fetch(s, NULL), SOURCE_EUNREACHABLE);
  assert_non_null(strstr(source_last_error(s), "cannot reach http://127.0.0.1:1/repo.git: "));
  assert_null(strstr(source_last_error(s), "hunter2"));
  assert_null(strstr(source_last_error(s), "alice"));
  source_free(s);
}

/* ---- revisions ------------------------------------------------------------- */

static void resolve_every_form_of_revision(void **state) {
  source_repo *s = fetched();
  char full[41], abbrev[8];
  strcpy(full, sh_out("git -C %s/origin rev-parse main", tmp));
  snprintf(abbrev, sizeof abbrev, "%.7s", full);
  const char *revs[] = {"main", "refs/heads/main", "v1", "v1-annotated", "HEAD", full, abbrev};
  for (size_t i = 0; i < sizeof revs / sizeof revs[0]; i++) {
    source_rev r;
    if (source_resolve(s, revs[i], &r)) fail_msg("%s: %s", revs[i], source_last_error(s));
    assert_string_equal(r.commit, sh_out("git -C %s/origin rev-parse '%s^{commit}'", tmp, revs[i]));
    assert_string_equal(r.tree, sh_out("git -C %s/origin rev-parse '%s^{tree}'", tmp, revs[i]));
  }
  source_free(s);
}

static void unknown_revision_is_not_found(void **state) {
  source_repo *s = fetched();
  source_rev r;
  assert_int_equal(source_resolve(s, "no-such-branch", &r), SOURCE_ENOTFOUND);
  char want[256];
  snprintf(want, sizeof want, "revision \"no-such-branch\" not found in %s", origin);
  assert_string_equal(source_last_error(s), want);
  assert_int_equal(source_resolve(s, "0000000", &r), SOURCE_ENOTFOUND);
  source_free(s);
}

/* A commit to one env changes its path's id and leaves the other's. */
static void path_ids_follow_their_paths(void **state) {
  source_repo *s = fetched();
  source_rev r;
  char dev[41], prod[41], root[41];
  assert_int_equal(source_resolve(s, "main", &r), 0);
  assert_int_equal(source_path_id(s, r.tree, "envs/dev", dev), 0);
  assert_string_equal(dev, sh_out("git -C %s/origin rev-parse main:envs/dev", tmp));
  assert_int_equal(source_path_id(s, r.tree, "./envs/prod", prod), 0);
  assert_int_equal(source_path_id(s, r.tree, ".", root), 0);
  assert_string_equal(root, r.tree);
  assert_int_equal(source_path_id(s, r.tree, "envs/none", root), SOURCE_ENOTFOUND);
  sh("echo '// dev only' >> %s/origin/envs/dev/main.plumb", tmp);
  commit_all("a comment in dev");
  assert_int_equal(source_fetch(s, NULL), 0);
  assert_int_equal(source_resolve(s, "main", &r), 0);
  assert_int_equal(source_path_id(s, r.tree, "envs/prod", root), 0);
  assert_string_equal(root, prod);
  assert_int_equal(source_path_id(s, r.tree, "envs/dev", root), 0);
  assert_string_not_equal(root, dev);
  source_free(s);
}

/* ---- compiling from the tree ----------------------------------------------- */

static char *yaml_of(const compile_result *r) {
  buf b = {0};
  for (size_t i = 0; i < r->nres; i++) {
    if (i) buf_puts(&b, "---\n");
    emit_yaml_resource(&b, r->res[i].obj, NULL);
  }
  buf_putc(&b, '\0');
  return b.data;
}

static char *diags_of(const compile_result *r) {
  char *text = NULL;
  size_t len;
  FILE *f = open_memstream(&text, &len);
  diag_print(&r->diags, f);
  fclose(f);
  return text;
}

/* What `plumb build` makes of the same files in the working copy. */
static compile_result *build_on_disk(const char *path, const char *env) {
  char root[128], full[256];
  snprintf(root, sizeof root, "%s/origin", tmp);
  snprintf(full, sizeof full, "%s/%s", root, path);
  compile_opts o = {.path = full, .root = root, .env = env};
  return compile_build(&o);
}

static void compile_from_tree_equals_plumb_build(void **state) {
  source_repo *s = fetched();
  source_builds *b = source_builds_new(8, NULL);
  source_rev r;
  assert_int_equal(source_resolve(s, "main", &r), 0);
  const char *envs[] = {"envs/dev", "envs/prod"};
  for (int i = 0; i < 2; i++) {
    const compile_result *got;
    assert_int_equal(source_compile(s, b, r.tree, &(compile_opts){.path = envs[i]}, &got), 0);
    assert_int_equal(got->diags.errors, 0);
    assert_true(got->nres > 0);
    compile_result *want = build_on_disk(envs[i], NULL);
    char *x = yaml_of(got), *y = yaml_of(want);
    assert_string_equal(x, y);
    free(x);
    free(y);
    compile_free(want);
  }
  source_builds_free(b);
  source_free(s);
}

static void unchanged_tree_compiles_once(void **state) {
  source_repo *s = fetched();
  source_builds *b = source_builds_new(2, NULL);
  source_rev r;
  assert_int_equal(source_resolve(s, "main", &r), 0);
  const compile_result *first, *again, *other;
  assert_int_equal(source_compile(s, b, r.tree, &(compile_opts){.path = "envs/dev"}, &first), 0);
  assert_int_equal(source_compile(s, b, r.tree, &(compile_opts){.path = "envs/dev"}, &again), 0);
  assert_ptr_equal(first, again);
  size_t hits, misses;
  source_builds_stats(b, &hits, &misses);
  assert_int_equal(hits, 1);
  assert_int_equal(misses, 1);
  /* Another path or env is another result. */
  assert_int_equal(source_compile(s, b, r.tree, &(compile_opts){.path = "envs/dev", .env = "dev"}, &other), 0);
  assert_int_equal(source_compile(s, b, r.tree, &(compile_opts){.path = "envs/prod"}, &other), 0);
  source_builds_stats(b, &hits, &misses);
  assert_int_equal(misses, 3);
  /* Bound 2: the oldest (envs/dev without env) is gone and compiles again. */
  assert_int_equal(source_compile(s, b, r.tree, &(compile_opts){.path = "envs/dev"}, &again), 0);
  source_builds_stats(b, &hits, &misses);
  assert_int_equal(misses, 4);
  source_builds_free(b);
  source_free(s);
}

/* A build let go of is read again from its compact form, the same to the
 * byte and with its positions, without a compile. */
static void a_released_build_reads_back_without_a_compile(void **state) {
  source_repo *s = fetched();
  source_builds *b = source_builds_new(1, NULL);
  source_rev r;
  assert_int_equal(source_resolve(s, "main", &r), 0);
  const compile_result *first, *again;
  assert_int_equal(source_compile(s, b, r.tree, &(compile_opts){.path = "envs/prod"}, &first), 0);
  char *want = yaml_of(first);
  const char *file = first->res[0].obj->at.file;
  int line = first->res[0].obj->at.line, col = first->res[0].obj->at.col;
  char *name = strdup(file);
  source_builds_release(b);
  assert_int_equal(source_compile(s, b, r.tree, &(compile_opts){.path = "envs/prod"}, &again), 0);
  char *got = yaml_of(again);
  assert_string_equal(got, want);
  assert_string_equal(again->res[0].obj->at.file, name);
  assert_int_equal(again->res[0].obj->at.line, line);
  assert_int_equal(again->res[0].obj->at.col, col);
  size_t hits, misses;
  source_builds_stats(b, &hits, &misses);
  assert_int_equal(hits, 1);
  assert_int_equal(misses, 1);
  free(name);
  free(got);
  free(want);
  source_builds_free(b);
  source_free(s);
}

/* The files of a tree are listed once for all its compiles, and a new
 * commit's tree anew: a file it added is there, one it removed is not. */
static void a_new_tree_is_listed_anew(void **state) {
  source_repo *s = fetched();
  source_builds *b = source_builds_new(8, NULL);
  source_rev before, added, removed;
  assert_int_equal(source_resolve(s, "main", &before), 0);
  const compile_result *got;
  assert_int_equal(source_compile(s, b, before.tree, &(compile_opts){.path = "envs/dev"}, &got), 0);
  assert_int_equal(got->diags.errors, 0);
  sh("cd %s/origin && mkdir envs/added && printf 'env added {\\n  ConfigMap \"c\" {}\\n}\\n' > envs/added/main.plumb",
     tmp);
  commit_all("added");
  assert_int_equal(source_fetch(s, NULL), 0);
  assert_int_equal(source_resolve(s, "main", &added), 0);
  assert_int_equal(source_compile(s, b, added.tree, &(compile_opts){.path = "envs/added"}, &got), 0);
  assert_int_equal(got->diags.errors, 0);
  assert_int_equal(got->nres, 1);
  sh("cd %s/origin && git rm -rq envs/added", tmp);
  commit_all("removed");
  assert_int_equal(source_fetch(s, NULL), 0);
  assert_int_equal(source_resolve(s, "main", &removed), 0);
  assert_int_equal(source_compile(s, b, removed.tree, &(compile_opts){.path = "envs/added"}, &got), 0);
  assert_true(got->diags.errors > 0);
  /* The tree before still compiles as it was. */
  assert_int_equal(source_compile(s, b, added.tree, &(compile_opts){.path = "envs/added", .env = "added"}, &got), 0);
  assert_int_equal(got->diags.errors, 0);
  source_builds_free(b);
  source_free(s);
}

/* The env's parameters travel to the compile in the child, and the same
 * tree with other args is another build. */
static void args_reach_the_compile_and_key_the_build(void **state) {
  sh("cd %s/origin && printf 'env a(tag: string) {\\n  ConfigMap \"c\" { data: { tag: tag } }\\n}\\n' > envs/args.plumb",
     tmp);
  commit_all("args");
  source_repo *s = fetched();
  source_builds *b = source_builds_new(8, NULL);
  source_rev r;
  assert_int_equal(source_resolve(s, "main", &r), 0);
  const char *one[] = {"tag=1.2.3"}, *two[] = {"tag=1.2.4"};
  const compile_result *first, *second, *again;
  assert_int_equal(
      source_compile(s, b, r.tree, &(compile_opts){.path = "envs/args.plumb", .args = one, .nargs = 1}, &first), 0);
  assert_int_equal(first->diags.errors, 0);
  char *x = yaml_of(first);
  assert_non_null(strstr(x, "tag: 1.2.3"));
  free(x);
  assert_int_equal(
      source_compile(s, b, r.tree, &(compile_opts){.path = "envs/args.plumb", .args = two, .nargs = 1}, &second), 0);
  assert_ptr_not_equal(first, second);
  x = yaml_of(second);
  assert_non_null(strstr(x, "tag: 1.2.4"));
  free(x);
  /* The caller's strings need not last: the cache keeps its own. */
  char copy[] = "tag=1.2.3";
  const char *same[] = {copy};
  assert_int_equal(
      source_compile(s, b, r.tree, &(compile_opts){.path = "envs/args.plumb", .args = same, .nargs = 1}, &again), 0);
  assert_ptr_equal(first, again);
  /* Without the one it needs, the compile says so. */
  assert_int_equal(source_compile(s, b, r.tree, &(compile_opts){.path = "envs/args.plumb"}, &again), 0);
  x = diags_of(again);
  assert_non_null(strstr(x, "missing parameter \"tag\" (string) for env a"));
  free(x);
  size_t hits, misses;
  source_builds_stats(b, &hits, &misses);
  assert_int_equal(hits, 1);
  assert_int_equal(misses, 3);
  source_builds_free(b);
  source_free(s);
}

static void unknown_tree_is_not_found(void **state) {
  source_repo *s = fetched();
  source_builds *b = source_builds_new(2, NULL);
  const compile_result *r;
  assert_int_equal(
      source_compile(s, b, "0123456789012345678901234567890123456789", &(compile_opts){.path = "envs/dev"}, &r),
      SOURCE_ENOTFOUND);
  source_builds_free(b);
  source_free(s);
}

/* A symlink inside the tree is followed; one that leaves it fails when read,
 * in the same words as on disk. */
static void symlinks_stay_inside_the_tree(void **state) {
  sh("cd %s/origin && mkdir -p links && ln -s ../apps/nginx.plumb links/inside.plumb"
     " && ln -s ../../outside.plumb links/outside.plumb && ln -s dev envs/staging"
     " && printf 'import \"../links/inside.plumb\"\\nenv ok { app web = nginx(replicas: 1) }\\n' > envs/ok.plumb"
     " && printf 'import \"../links/outside.plumb\"\\nenv bad {}\\n' > envs/bad.plumb",
     tmp);
  commit_all("links");
  /* On disk, the link must lead somewhere to be refused for where. */
  sh("echo 'env outside {}' > %s/outside.plumb", tmp);
  source_repo *s = fetched();
  source_builds *b = source_builds_new(8, NULL);
  source_rev r;
  assert_int_equal(source_resolve(s, "main", &r), 0);
  const char *cases[][2] = {{"envs/ok.plumb", NULL}, {"envs/bad.plumb", NULL}, {"envs/staging", NULL}};
  for (int i = 0; i < 3; i++) {
    const compile_result *got;
    assert_int_equal(source_compile(s, b, r.tree, &(compile_opts){.path = cases[i][0], .env = cases[i][1]}, &got), 0);
    compile_result *want = build_on_disk(cases[i][0], cases[i][1]);
    char *x = diags_of(got), *y = diags_of(want), *xy = yaml_of(got), *yy = yaml_of(want);
    assert_string_equal(x, y);
    assert_string_equal(xy, yy);
    assert_int_equal(got->diags.errors, i == 1);
    if (i == 1) assert_non_null(strstr(x, "links/outside.plumb is a symlink that leaves the repository root"));
    free(x), free(y), free(xy), free(yy);
    compile_free(want);
  }
  source_builds_free(b);
  source_free(s);
}

/* Asserts that got, compiled from the tree with o, is what `plumb build`
 * makes of the same files on disk, messages and resources alike: n
 * resources, and messages that hold said (NULL: any). */
static void same_as_on_disk(const compile_result *got, compile_opts o, size_t n, const char *said) {
  char root[128], full[256];
  snprintf(root, sizeof root, "%s/origin", tmp);
  snprintf(full, sizeof full, "%s/%s", root, o.path);
  o.path = full;
  o.root = root;
  compile_result *want = compile_build(&o);
  char *x = diags_of(got), *y = diags_of(want), *xy = yaml_of(got), *yy = yaml_of(want);
  assert_string_equal(x, y);
  assert_string_equal(xy, yy);
  assert_int_equal(got->nres, n);
  if (said) assert_non_null(strstr(x, said));
  free(x), free(y), free(xy), free(yy);
  compile_free(want);
}

/* A directory of YAML manifests builds from the tree as on disk, its
 * options with it (recurse and patterns, a link to a directory walked
 * into, one out of the root refused in the same words), and other options
 * are another build. */
static void a_yaml_directory_compiles_from_the_tree_as_on_disk(void **state) {
  const char *sa = "apiVersion: v1\\nkind: ServiceAccount\\nmetadata: {name: %s}\\n"; /* printf's */
  sh("cd %s/origin && mkdir -p manifests/sub more out && ln -s ../more manifests/linked"
     " && ln -s ../../outside.yaml out/o.yaml && printf 'replicas: 3\\n' > manifests/values.yaml",
     tmp);
  const char *files[][2] = {{"origin/manifests/top.yaml", "top"}, {"origin/manifests/sub/s.yml", "sub"},
                            {"origin/more/m.yaml", "more"}, {"outside.yaml", "o"}};
  for (int i = 0; i < 4; i++) sh("cd %s && printf '%s' %s > %s", tmp, sa, files[i][1], files[i][0]);
  commit_all("manifests");
  source_repo *s = fetched();
  source_builds *b = source_builds_new(8, NULL);
  source_rev r;
  assert_int_equal(source_resolve(s, "main", &r), 0);
  const compile_opts cases[] = {{.path = "manifests"},
                                {.path = "manifests", .yaml_dir = {.recurse = true}},
                                {.path = "manifests", .yaml_dir = {.recurse = true, .include = "*.yaml", .exclude = "sub/*"}},
                                {.path = "out"}};
  const size_t counts[] = {1, 3, 2, 0};
  const compile_result *got[4];
  for (int i = 0; i < 4; i++) {
    assert_int_equal(source_compile(s, b, r.tree, &cases[i], &got[i]), 0);
    same_as_on_disk(got[i], cases[i], counts[i], i == 3 ? "out/o.yaml is a symlink that leaves the repository root" : NULL);
  }
  assert_ptr_not_equal(got[0], got[1]);
  assert_ptr_not_equal(got[1], got[2]);
  source_builds_free(b);
  source_free(s);
}

/* A Helm chart renders from the tree as on disk, in the compile's child
 * with helm from the runtime's PATH (the child's environment is empty)
 * and its files in the directory of the caches: a subchart and a library
 * chart, a hook left out with the same warning, and a template that is a
 * link out of the root refused in the same words. */
static void a_chart_compiles_from_the_tree_as_on_disk(void **state) {
  char here[4096];
  assert_non_null(getcwd(here, sizeof here));
  sh("cd %s/origin && mkdir charts && cp -r %s/tests/helm/charts/umbrella %s/tests/helm/charts/hooks charts/"
     " && cp -r charts/hooks charts/leaky && ln -s ../../../../outside.yaml charts/leaky/templates/o.yaml",
     tmp, here, here);
  commit_all("charts");
  source_repo *s = fetched();
  source_builds *b = source_builds_new(8, NULL);
  source_rev r;
  assert_int_equal(source_resolve(s, "main", &r), 0);
  const char *paths[] = {"charts/umbrella", "charts/hooks", "charts/leaky"};
  /* hooks: its ConfigMap, its pre-install Job, a PreSync hook, and its
   * pre-delete Job, a PreDelete hook; its test Pod left out. */
  const size_t counts[] = {2, 3, 0};
  const char *said[] = {NULL, "warning: helm_chart: chart hooks has 1 hook that no sync phase runs, left out",
                        "charts/leaky/templates/o.yaml is a symlink that leaves the repository root"};
  for (int i = 0; i < 3; i++) {
    const compile_result *got;
    compile_opts o = {.path = paths[i], .helm = {getenv("PATH"), NULL}};
    assert_int_equal(source_compile(s, b, r.tree, &o, &got), 0);
    same_as_on_disk(got, o, counts[i], said[i]);
  }
  source_builds_free(b);
  source_free(s);
}

/* A commit that exceeds a limit has that as its one error, kept as a
 * result is: the tree is not compiled again. The other paths of the same
 * tree compile as before. */
static void a_commit_over_a_limit_fails_in_words_once(void **state) {
  char path[192];
  snprintf(path, sizeof path, "%s/origin/envs/burn.plumb", tmp);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(HOSTILE_BURN, f);
  fclose(f);
  commit_all("burn");
  source_repo *s = fetched();
  source_limits l = source_default_limits;
  l.cpu_s = 1;
  source_builds *b = source_builds_new(8, &l);
  source_rev r;
  assert_int_equal(source_resolve(s, "main", &r), 0);
  const compile_result *got, *again;
  assert_int_equal(source_compile(s, b, r.tree, &(compile_opts){.path = "envs/burn.plumb"}, &got), 0);
  char *text = diags_of(got), want[160];
  snprintf(want, sizeof want,
           "plumb: error: the compile of envs/burn.plumb at tree %.7s exceeded its CPU time limit of 1 s\n", r.tree);
  assert_string_equal(text, want);
  assert_int_equal(source_compile(s, b, r.tree, &(compile_opts){.path = "envs/burn.plumb"}, &again), 0);
  assert_ptr_equal(again, got);
  size_t hits, misses;
  source_builds_stats(b, &hits, &misses);
  assert_int_equal(misses, 1);
  assert_int_equal(source_compile(s, b, r.tree, &(compile_opts){.path = "envs/dev"}, &got), 0);
  assert_int_equal(got->diags.errors, 0);
  assert_true(got->nres > 0);
  free(text);
  source_builds_free(b);
  source_free(s);
}

/* ---- credentials ----------------------------------------------------------- */

static void urls_lose_their_credentials(void **state) {
  const char *cases[][2] = {
      {"https://user:tok@example.com/org/repo.git", "https://example.com/org/repo.git"},
      {"https://tok@example.com:8443/r", "https://example.com:8443/r"},
      {"http://u:p@[::1]:8080/r?x=a@b", "http://[::1]:8080/r?x=a@b"},
      {"ssh://git@example.com/r.git", "ssh://git@example.com/r.git"},
      {"ssh://git:pw@example.com/r.git", "ssh://example.com/r.git"},
      {"git@example.com:org/r.git", "git@example.com:org/r.git"},
      {"https://example.com/path@with-at", "https://example.com/path@with-at"},
      {"/srv/git/r.git", "/srv/git/r.git"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *got = source_scrub_url(cases[i][0]);
    assert_string_equal(got, cases[i][1]);
    free(got);
  }
  /* Two URLs with different credentials share one cache. */
  source_repo *a = open_source("https://a:1@example.com/r.git", NULL), *b = open_source("https://b:2@example.com/r.git", NULL);
  assert_string_equal(source_cache_path(a), source_cache_path(b));
  assert_string_equal(source_url(a), "https://example.com/r.git");
  source_free(a);
  source_free(b);
}

/* A webhook names a repository in any of its forms; each form of one
 * repository gives one key. */
static void url_keys_match_every_form_of_a_repository(void **state) {
  const char *cases[][2] = {
      {"https://tok@GitHub.com/org/repo.git", "github.com/org/repo"},
      {"https://github.com/org/repo/", "github.com/org/repo"},
      {"git@github.com:org/repo.git", "github.com/org/repo"},
      {"ssh://git@github.com:22/org/repo.git", "github.com/org/repo"},
      {"http://[::1]:8080/r", "[::1]/r"},
      {"file:///srv/git/r.git/", "/srv/git/r"},
      {"/srv/git/r", "/srv/git/r"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *got = source_url_key(cases[i][0]);
    assert_string_equal(got, cases[i][1]);
    free(got);
  }
}

/* The host and port known_hosts is searched for. An scp-like address names
 * no port: it is 22, as in git (test_ssh.c fetches from another port, and
 * so with ssh:// only). */
static void ssh_urls_give_host_and_port(void **state) {
  struct {
    const char *url, *user, *host;
    int port;
  } cases[] = {
      {"git@Example.com:org/r.git", "git", "Example.com", 22},
      {"ssh://git@example.com:2222/r.git", "git", "example.com", 2222},
      {"ssh://example.com/r.git", NULL, "example.com", 22},
      {"ssh://git@[::1]:2222/r", "git", "::1", 2222},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    source_url_parts p;
    source_url_split(cases[i].url, &p);
    if (cases[i].user) assert_string_equal(p.user, cases[i].user);
    else assert_null(p.user);
    assert_string_equal(p.host, cases[i].host);
    assert_int_equal(p.port, cases[i].port);
    free(p.user);
    free(p.host);
  }
}

static void credentials_from_files(void **state) {
  sh("cd %s && echo s3cret > token && echo alice > user && printf 'BEGIN KEY\\nabc\\n' > key", tmp);
  char token[128], user[128], key[128];
  snprintf(token, sizeof token, "%s/token", tmp);
  snprintf(user, sizeof user, "%s/user", tmp);
  snprintf(key, sizeof key, "%s/key", tmp);
  source_creds *c;
  char *err = NULL;
  source_cred_files f = {.username_file = user, .token_file = token, .ssh_key_file = key};
  assert_int_equal(source_creds_from_files(&c, &f, &err), 0);
  assert_string_equal(c->username, "alice");
  assert_string_equal(c->password, "s3cret");
  assert_string_equal(c->ssh_key, "BEGIN KEY\nabc\n"); /* as it is: a key keeps its newlines */
  source_creds_free(c);
  f = (source_cred_files){.token_file = "/nonexistent/token"};
  assert_int_equal(source_creds_from_files(&c, &f, &err), SOURCE_ERROR);
  assert_string_equal(err, "cannot read /nonexistent/token: No such file or directory");
  free(err);
}

static void credentials_from_a_secret(void **state) {
  /* username: git, identity: KEY, password: pass (the key's passphrase),
   * known_hosts: a line */
  json_t *secret = json_pack("{s:{s:s,s:s},s:{s:s,s:s,s:s,s:s}}", "metadata", "namespace", "plumb", "name", "repo",
                             "data", "username", "Z2l0", "identity", "S0VZ", "password", "cGFzcw==", "known_hosts",
                             "aG9zdCBzc2gtZWQyNTUxOSBBQUFB");
  source_creds *c;
  char *err = NULL;
  assert_int_equal(source_creds_from_secret_object(&c, secret, &err), 0);
  assert_string_equal(c->username, "git");
  assert_string_equal(c->ssh_key, "KEY");
  assert_string_equal(c->ssh_passphrase, "pass");
  assert_null(c->password);
  assert_string_equal(c->known_hosts, "host ssh-ed25519 AAAA");
  source_creds_free(c);
  json_object_set_new(json_object_get(secret, "data"), "identity", json_string("not base64!"));
  assert_int_equal(source_creds_from_secret_object(&c, secret, &err), SOURCE_ERROR);
  assert_string_equal(err, "Secret plumb/repo: data.identity is not base64");
  free(err);
  json_decref(secret);
}

static char *b64(const unsigned char *data, size_t len) {
  char *out = malloc(4 * ((len + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)out, data, (int)len);
  return out;
}

/* A known_hosts line for name, hashed as ssh-keygen -H does. */
static char *hashed_host(const char *name) {
  const unsigned char salt[20] = "0123456789abcdefghij";
  unsigned char md[20];
  unsigned int n;
  HMAC(EVP_sha1(), salt, sizeof salt, (const unsigned char *)name, strlen(name), md, &n);
  char *s = b64(salt, sizeof salt), *h = b64(md, n), *out;
  if (asprintf(&out, "|1|%s|%s", s, h) < 0) abort();
  free(s);
  free(h);
  return out;
}

static void host_keys_are_checked_against_known_hosts(void **state) {
  const unsigned char key[] = "\0\0\0\x0bssh-ed25519 the key", other[] = "\0\0\0\x0bssh-ed25519 another",
                      ecdsa[] = "\0\0\0\x13" "ecdsa-sha2-nistp256 a key";
  char *k = b64(key, sizeof key), *o = b64(other, sizeof other), *e = b64(ecdsa, sizeof ecdsa), *hashed = hashed_host("[git.example.com]:2222"), *known, *why = NULL;
  if (asprintf(&known,
               "# a comment\n"
               "github.com,gitlab.com ssh-ed25519 %s\n"
               "%s ssh-ed25519 %s\n"
               "[plain.example]:2222 ssh-ed25519 %s\n"
               "*.corp.example ssh-ed25519 %s\n"
               "changed.example ssh-ed25519 %s\n"
               "typed.example ecdsa-sha2-nistp256 %s\n"
               "@revoked revoked.example ssh-ed25519 %s\n"
               "@cert-authority ca.example ssh-ed25519 %s\n",
               k, hashed, k, k, k, o, e, k, k) < 0)
    abort();
  assert_int_equal(source_known_host(known, "gitlab.com", 22, key, sizeof key, &why), 0);
  assert_int_equal(source_known_host(known, "git.example.com", 2222, key, sizeof key, &why), 0);
  assert_int_equal(source_known_host(known, "plain.example", 2222, key, sizeof key, &why), 0);
  assert_int_equal(source_known_host(known, "build.corp.example", 22, key, sizeof key, &why), 0);
  struct {
    const char *host;
    int port;
    const char *why;
  } refused[] = {
      {"git.example.com", 22, "host key for git.example.com not in known_hosts"},
      {"plain.example", 22, "host key for plain.example not in known_hosts"},
      {"changed.example", 22, "host key for changed.example does not match known_hosts"},
      /* A key of another type is not a changed key. */
      {"typed.example", 22, "host key for typed.example not in known_hosts, which has only other types of key for it:"
                            " the server showed its ssh-ed25519 key"},
      {"revoked.example", 22, "host key for revoked.example is revoked in known_hosts"},
      {"ca.example", 22, "host key for ca.example not in known_hosts"},
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    assert_int_equal(source_known_host(known, refused[i].host, refused[i].port, key, sizeof key, &why), SOURCE_EHOSTKEY);
    assert_non_null(strstr(why, refused[i].why));
    free(why);
  }
  free(k);
  free(o);
  free(e);
  free(hashed);
  free(known);
}

/* ---- https: git http-backend behind basic auth ------------------------------ */

static pid_t server;
static int http_port;
static char http_url[128]; /* of tmp/origin */

/* Serves tmp/ over HTTP to alice:pw and to git:tok (a token's login). */
static int start_server(void **state) {
  char port_file[128];
  snprintf(port_file, sizeof port_file, "%s/port", tmp);
  unlink(port_file);
  server = fork();
  if (server == 0) {
    execlp("python3", "python3", "tests/unit/git_http_server.py", tmp, port_file, "alice:pw", "git:tok", (char *)NULL);
    _exit(127);
  }
  FILE *f = NULL;
  for (int i = 0; i < 200 && !(f = fopen(port_file, "r")); i++) usleep(50 * 1000);
  assert_non_null(f);
  assert_int_equal(fscanf(f, "%d", &http_port), 1);
  fclose(f);
  snprintf(http_url, sizeof http_url, "http://127.0.0.1:%d/origin", http_port);
  return 0;
}

static int stop_server(void **state) {
  kill(server, SIGTERM);
  waitpid(server, NULL, 0);
  return 0;
}

static void http_basic_and_token_credentials(void **state) {
  char error[1024], url[160];
  source_creds basic = {.username = "alice", .password = "pw"}, token = {.password = "tok"};
  assert_int_equal(fetch_once(http_url, &basic, error, sizeof error), 0);
  assert_int_equal(fetch_once(http_url, &token, error, sizeof error), 0);
  snprintf(url, sizeof url, "http://alice:pw@%s", http_url + 7);
  assert_int_equal(fetch_once(url, NULL, error, sizeof error), 0);
}

static void http_wrong_or_missing_credentials(void **state) {
  char error[1024], want[256];
  source_creds wrong = {.username = "alice", .password = "hunter2"};
  int rc = fetch_once(http_url, &wrong, error, sizeof error);
  if (rc != SOURCE_EAUTH) fail_msg("%d %s", rc, error);
  snprintf(want, sizeof want, "authentication failed for %s", http_url);
  assert_string_equal(error, want);
  assert_int_equal(fetch_once(http_url, NULL, error, sizeof error), SOURCE_EAUTH);
  snprintf(want, sizeof want, "%s asks for credentials and none were given", http_url);
  assert_string_equal(error, want);
}

/* ---- shallow caches: http --------------------------------------------------- */

/* tmp/NAME: examples/nginx, then n commits that each change
 * envs/dev/main.plumb. */
static void make_history(const char *name, int n) {
  sh("git init -q -b main %s/%s && cp -R examples/nginx/. %s/%s/ && cd %s/%s && git add -A && git commit -qm nginx"
     " && for i in $(seq %d); do echo \"// change $i\" >> envs/dev/main.plumb && git commit -qam \"change $i\"; done",
     tmp, name, tmp, name, tmp, name, n);
}

static void add_commit(const char *name, const char *line) {
  sh("cd %s/%s && echo '%s' >> envs/dev/main.plumb && git commit -qam '%s'", tmp, name, line, line);
}

/* A source of tmp/name over http. */
static source_repo *open_http(const char *name) {
  char url[160];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/%s", http_port, name);
  static const source_creds token = {.password = "tok"};
  return open_source(url, &token);
}

/* Whether the cache holds the commit at rev of tmp/name. */
static bool has_commit(source_repo *s, const char *name, const char *rev) {
  git_oid id;
  git_commit *c = NULL;
  assert_int_equal(git_oid_fromstr(&id, sh_out("git -C %s/%s rev-parse %s", tmp, name, rev)), 0);
  bool has = git_commit_lookup(&c, s->repo, &id) == 0;
  git_commit_free(c);
  return has;
}

/* Each branch and tag (annotated or not) as its commit and tree. */
static void first_fetch_brings_only_the_tips(void **state) {
  make_history("long", 40);
  sh("git -C %s/long tag v1 main~20 && git -C %s/long tag -a v2 -m two main~10", tmp, tmp);
  source_repo *s = open_http("long");
  source_fetch_stats st;
  assert_int_equal(source_fetch(s, &st), 0);
  assert_int_equal(git_repository_is_shallow(s->repo), 1);
  assert_int_equal(st.objects, tip_objects("long", "main v1 v2"));
  assert_true(st.bytes > 0);
  assert_true(has_commit(s, "long", "v1"));
  assert_true(has_commit(s, "long", "v2^{commit}"));
  assert_false(has_commit(s, "long", "main~1"));
  assert_false(has_commit(s, "long", "v1~1"));
  source_free(s);
}

/* A shallow cache stays so: new commits come, and only their objects.
 * libgit2 1.8 loses the cut in a fetch that does not deepen (fetch.c puts
 * it back): the second fetch of new commits would fail on the parents the
 * cache lacks. */
static void later_fetches_bring_only_new_commits(void **state) {
  make_history("grows", 40);
  char below[41]; /* the first commit below the cut */
  strcpy(below, sh_out("git -C %s/grows rev-parse main~1", tmp));
  source_repo *s = open_http("grows");
  assert_int_equal(source_fetch(s, NULL), 0);
  source_fetch_stats st;
  for (int i = 0; i < 2; i++) {
    add_commit("grows", i ? "// second" : "// first");
    assert_int_equal(source_fetch(s, &st), 0);
    /* The commit, the trees on the way to the file (root, envs, envs/dev)
     * and the file. */
    assert_int_equal(st.objects, 5);
    assert_int_equal(git_repository_is_shallow(s->repo), 1);
    assert_false(has_commit(s, "grows", below));
  }
  assert_int_equal(source_fetch(s, &st), 0);
  assert_int_equal(st.objects, 0);
  source_rev r;
  assert_int_equal(source_resolve(s, "main", &r), 0);
  assert_string_equal(r.commit, sh_out("git -C %s/grows rev-parse main", tmp));
  source_free(s);
}

/* A commit below the cut, as a rollback names one: the history comes, and
 * the commit resolves as in a whole cache. */
static void old_commit_fetches_the_history(void **state) {
  make_history("old", 40);
  source_repo *s = open_http("old");
  assert_int_equal(source_fetch(s, NULL), 0);
  char full[41], abbrev[8];
  strcpy(full, sh_out("git -C %s/old rev-parse main~30", tmp));
  snprintf(abbrev, sizeof abbrev, "%.7s", sh_out("git -C %s/old rev-parse main~35", tmp));
  source_rev r;
  if (source_resolve(s, full, &r)) fail_msg("%s", source_last_error(s));
  assert_string_equal(r.tree, sh_out("git -C %s/old rev-parse main~30^{tree}", tmp));
  assert_int_equal(git_repository_is_shallow(s->repo), 0);
  assert_true(has_commit(s, "old", "main~40"));
  assert_int_equal(source_resolve(s, abbrev, &r), 0);
  assert_string_equal(r.commit, sh_out("git -C %s/old rev-parse main~35", tmp));
  /* Whole now: a fetch brings only what is new. */
  add_commit("old", "// after");
  source_fetch_stats st;
  assert_int_equal(source_fetch(s, &st), 0);
  assert_int_equal(st.objects, 5);
  source_free(s);
}

/* A commit no branch or tag leads to is not found after the history came;
 * the history comes once. */
static void unknown_commit_is_not_found_in_the_history(void **state) {
  make_history("unknown", 3);
  source_repo *s = open_http("unknown");
  assert_int_equal(source_fetch(s, NULL), 0);
  source_rev r;
  assert_int_equal(source_resolve(s, "0123456789abcdef0123456789abcdef01234567", &r), SOURCE_ENOTFOUND);
  char want[256];
  snprintf(want, sizeof want,
           "revision \"0123456789abcdef0123456789abcdef01234567\" not found in %s: no branch or tag has it, nor a"
           " commit in their history",
           source_url(s));
  assert_string_equal(source_last_error(s), want);
  assert_int_equal(git_repository_is_shallow(s->repo), 0);
  /* Without the server, the cache answers alone. */
  stop_server(state);
  assert_int_equal(source_resolve(s, "abcdef0", &r), SOURCE_ENOTFOUND);
  assert_int_equal(start_server(state), 0);
  source_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(url_keys_match_every_form_of_a_repository),
      cmocka_unit_test(fetch_file_url_brings_branches_and_tags),
      cmocka_unit_test(fetch_brings_new_commits),
      cmocka_unit_test(fetch_prunes_deleted_branches),
      cmocka_unit_test(plain_local_path_works_like_file_url),
      cmocka_unit_test(unreachable_remote_says_so),
      cmocka_unit_test(resolve_every_form_of_revision),
      cmocka_unit_test(unknown_revision_is_not_found),
      cmocka_unit_test(path_ids_follow_their_paths),
      cmocka_unit_test(compile_from_tree_equals_plumb_build),
      cmocka_unit_test(unchanged_tree_compiles_once),
      cmocka_unit_test(a_released_build_reads_back_without_a_compile),
      cmocka_unit_test(a_new_tree_is_listed_anew),
      cmocka_unit_test(args_reach_the_compile_and_key_the_build),
      cmocka_unit_test(unknown_tree_is_not_found),
      cmocka_unit_test(symlinks_stay_inside_the_tree),
      cmocka_unit_test(a_yaml_directory_compiles_from_the_tree_as_on_disk),
      cmocka_unit_test(a_chart_compiles_from_the_tree_as_on_disk),
      cmocka_unit_test(a_commit_over_a_limit_fails_in_words_once),
      cmocka_unit_test(urls_lose_their_credentials),
      cmocka_unit_test(ssh_urls_give_host_and_port),
      cmocka_unit_test(credentials_from_files),
      cmocka_unit_test(credentials_from_a_secret),
      cmocka_unit_test(host_keys_are_checked_against_known_hosts),
      cmocka_unit_test_setup_teardown(http_basic_and_token_credentials, start_server, stop_server),
      cmocka_unit_test_setup_teardown(http_wrong_or_missing_credentials, start_server, stop_server),
      cmocka_unit_test_setup_teardown(first_fetch_brings_only_the_tips, start_server, stop_server),
      cmocka_unit_test_setup_teardown(later_fetches_bring_only_new_commits, start_server, stop_server),
      cmocka_unit_test_setup_teardown(old_commit_fetches_the_history, start_server, stop_server),
      cmocka_unit_test_setup_teardown(unknown_commit_is_not_found_in_the_history, start_server, stop_server),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
