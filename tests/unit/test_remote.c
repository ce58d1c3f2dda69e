/* test_remote.c: remote kustomization bases: their URLs read as
 * Kustomize reads them, fetched into the cache from real repositories
 * made with git, and built from it with no network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plumb/source.h"
#include "remote.h"

#include "git_test.h"

static int setup(void **state) {
  git_test_make_origin("remote");
  return 0;
}

static int teardown(void **state) {
  git_test_remove();
  return 0;
}

/* Each form remote.h lists, and Kustomize's rules at their edges. */
static void urls_are_read_as_kustomize_reads_them(void **state) {
  static const struct {
    const char *in, *url, *ref, *path;
  } cases[] = {
      {"https://github.com/org/repo//deploy/base?ref=v1.2.0", "https://github.com/org/repo", "v1.2.0", "deploy/base"},
      {"github.com/org/repo/deploy/base?ref=main", "https://github.com/org/repo", "main", "deploy/base"},
      {"github.com/org/repo", "https://github.com/org/repo", NULL, ""},
      {"git@github.com:org/repo.git/deploy?ref=v1", "git@github.com:org/repo.git", "v1", "deploy"},
      {"ssh://git@host.example:2222/org/repo//base", "ssh://git@host.example:2222/org/repo", NULL, "base"},
      {"file:///srv/repo.git//base?version=v2", "file:///srv/repo.git", "v2", "base"},
      {"file:///srv/repo?ref=a&version=b", "file:///srv/repo", "a", ""},
      {"git::https://gitlab.com/g/sub/repo.git//x?ref=t", "https://gitlab.com/g/sub/repo.git", "t", "x"},
      {"https://dev.azure.com/org/proj/_git/repo/base?ref=main", "https://dev.azure.com/org/proj/_git/repo", "main", "base"},
      {"https://example.com/repo//a/../b?ref=release%2F1", "https://example.com/repo", "release/1", "a/../b"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    arena *a = arena_new();
    remote_spec spec;
    const char *err = NULL;
    assert_int_equal(remote_parse(a, cases[i].in, &spec, &err), 1);
    assert_string_equal(spec.url, cases[i].url);
    if (cases[i].ref) assert_string_equal(spec.ref, cases[i].ref);
    else assert_null(spec.ref);
    assert_string_equal(spec.path, cases[i].path);
    arena_free(a);
  }
}

static void local_paths_and_bad_urls(void **state) {
  static const char *const local[] = {"base", "../base", "gitlab.com/org/repo", "overlays/prod", "/abs"};
  static const struct {
    const char *in, *says;
  } bad[] = {
      {"https://example.com/repo//../up", "leaves its repository"},
      {"https://raw.githubusercontent.com/o/r/main/deploy.yaml", "Plumb does not download files"},
      {"https://github.com", "is not a repository URL"},
  };
  arena *a = arena_new();
  remote_spec spec;
  const char *err = NULL;
  for (size_t i = 0; i < sizeof local / sizeof *local; i++) assert_int_equal(remote_parse(a, local[i], &spec, &err), 0);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(remote_parse(a, bad[i].in, &spec, &err), -1);
    assert_non_null(strstr(err, bad[i].says));
  }
  arena_free(a);
}

/* origin/ gets a kustomization base at base/, committed and tagged base-1. */
static void add_base(const char *prefix) {
  sh("mkdir -p %s/origin/base && printf 'namePrefix: %s\\nresources:\\n- cm.yaml\\n' > %s/origin/base/kustomization.yaml",
     tmp, prefix, tmp);
  sh("printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: cm}\\ndata: {a: \"1\"}\\n' > %s/origin/base/cm.yaml", tmp);
  commit_all(prefix);
}

/* An overlay in tmp/overlay listing base/ of origin at ref. */
static void write_overlay(const char *ref) {
  sh("mkdir -p %s/overlay && printf 'namespace: prod\\nresources:\\n- file://%s/origin//base?ref=%s\\n' > "
     "%s/overlay/kustomization.yaml",
     tmp, tmp, ref, tmp);
}

static compile_result *build_overlay(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/overlay", tmp);
  compile_remote cached = {compile_remote_cached, cache};
  return compile_build(&(compile_opts){.path = path, .root = path, .remote = &cached});
}

static const char *first_name(const compile_result *r) {
  return r->nres ? value_get_string(r->res[0].obj, "metadata.name") : "";
}

static void fetch_then_build_with_no_network(void **state) {
  add_base("one-");
  write_overlay("main");
  char url[128];
  snprintf(url, sizeof url, "file://%s/origin", tmp);
  compile_result *r = build_overlay();
  assert_int_equal(r->diags.errors, 1);
  assert_non_null(strstr(r->diags.first->msg, "is not in the cache: run plumb fetch"));
  compile_free(r);

  source_rev rev;
  char *err = NULL;
  assert_int_equal(source_remote_fetch(cache, url, "main", &rev, &err), 0);
  assert_string_equal(rev.commit, sh_out("git -C %s/origin rev-parse main", tmp));
  r = build_overlay();
  assert_int_equal(r->diags.errors, 0);
  assert_int_equal(r->nres, 1);
  assert_string_equal(first_name(r), "one-cm");
  assert_string_equal(value_get_string(r->res[0].obj, "metadata.namespace"), "prod");
  compile_free(r);

  /* The branch moves: the build keeps the commit fetched until a fetch. */
  add_base("two-");
  r = build_overlay();
  assert_string_equal(first_name(r), "one-cm");
  compile_free(r);
  assert_int_equal(source_remote_fetch(cache, url, "main", &rev, &err), 0);
  r = build_overlay();
  assert_string_equal(first_name(r), "two-cm");
  compile_free(r);
}

static void files_of_a_tree_stay_inside_it(void **state) {
  add_base("one-");
  sh("mkdir -p %s/origin/leak && ln -s /etc/hostname %s/origin/leak/cm.yaml", tmp, tmp);
  sh("printf 'resources:\\n- cm.yaml\\n' > %s/origin/leak/kustomization.yaml", tmp);
  sh("printf 'resources:\\n- ../../up.yaml\\n' > %s/origin/base/kustomization.yaml", tmp);
  commit_all("leaks");
  char url[128];
  snprintf(url, sizeof url, "file://%s/origin", tmp);
  source_rev rev;
  char *err = NULL;
  assert_int_equal(source_remote_fetch(cache, url, "main", &rev, &err), 0);
  write_overlay("main");
  compile_result *r = build_overlay();
  assert_int_equal(r->diags.errors, 1);
  assert_non_null(strstr(r->diags.first->msg, "path \"../../up.yaml\" leaves the repository"));
  compile_free(r);
  sh("printf 'resources:\\n- file://%s/origin//leak?ref=main\\n' > %s/overlay/kustomization.yaml", tmp, tmp);
  r = build_overlay();
  assert_int_equal(r->diags.errors, 1);
  assert_non_null(strstr(r->diags.first->msg, "is a symlink that leaves the repository root"));
  compile_free(r);
}

/* In the words a source's own fetch has for it. */
static void unreachable_repository_says_so(void **state) {
  source_rev rev;
  char *err = NULL, want[1024];
  assert_int_equal(source_remote_fetch(cache, "file:///nonexistent/repo", NULL, &rev, &err), SOURCE_EUNREACHABLE);
  assert_int_equal(fetch_once("file:///nonexistent/repo", NULL, want, sizeof want), SOURCE_EUNREACHABLE);
  assert_string_equal(err, want);
  free(err);
}

/* The runtime: an app's tree whose kustomization lists a remote base
 * compiles with it, fetched in the compile's child into the runtime's
 * cache; a base that cannot be fetched fails that pass only. */
static void runtime_compiles_fetch_remote_bases(void **state) {
  sh("mkdir -p %s/lib/db && printf 'apiVersion: v1\\nkind: Service\\nmetadata: {name: db}\\nspec: {ports: [{port: 1}]}\\n' > "
     "%s/lib/db/svc.yaml && printf 'resources:\\n- svc.yaml\\n' > %s/lib/db/kustomization.yaml",
     tmp, tmp, tmp);
  sh("git init -q -b main %s/lib && git -C %s/lib add -A && git -C %s/lib commit -qm db", tmp, tmp, tmp);
  sh("mkdir -p %s/origin/app && printf 'namePrefix: app-\\nresources:\\n- file://%s/lib//db\\n- file://%s/gone//x\\n' > "
     "%s/origin/app/kustomization.yaml",
     tmp, tmp, tmp, tmp);
  commit_all("app");
  char url[128];
  snprintf(url, sizeof url, "file://%s/origin", tmp);
  source_repo *s = open_source(url, NULL);
  assert_int_equal(source_fetch(s, NULL), 0);
  source_rev rev;
  assert_int_equal(source_resolve(s, "main", &rev), 0);
  source_builds *b = source_builds_new(4, NULL);
  compile_remote remote = {source_remote_dir, cache};
  compile_opts o = {.path = "app", .remote = &remote};
  const compile_result *r;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(source_compile(s, b, rev.tree, &o, &r), SOURCE_ERROR);
    assert_non_null(strstr(source_last_error(s), "failed: cannot reach file://"));
  }
  size_t hits, misses;
  source_builds_stats(b, &hits, &misses);
  assert_int_equal(hits + misses, 0); /* nothing kept: each pass tries again */

  sh("git init -q -b main %s/gone && mkdir -p %s/gone/x && cp %s/lib/db/* %s/gone/x/ && sed -i 's/db/db2/' %s/gone/x/svc.yaml",
     tmp, tmp, tmp, tmp, tmp);
  sh("git -C %s/gone add -A && git -C %s/gone commit -qm x", tmp, tmp);
  assert_int_equal(source_compile(s, b, rev.tree, &o, &r), 0);
  assert_int_equal(r->diags.errors, 0);
  assert_int_equal(r->nres, 2);
  assert_string_equal(value_get_string(r->res[0].obj, "metadata.name"), "app-db");
  assert_string_equal(value_get_string(r->res[1].obj, "metadata.name"), "app-db2");
  source_builds_free(b);
  source_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(urls_are_read_as_kustomize_reads_them),
      cmocka_unit_test(local_paths_and_bad_urls),
      cmocka_unit_test_setup_teardown(fetch_then_build_with_no_network, setup, teardown),
      cmocka_unit_test_setup_teardown(files_of_a_tree_stay_inside_it, setup, teardown),
      cmocka_unit_test_setup_teardown(unreachable_repository_says_so, setup, teardown),
      cmocka_unit_test_setup_teardown(runtime_compiles_fetch_remote_bases, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
