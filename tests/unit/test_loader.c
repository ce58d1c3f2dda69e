/* test_loader.c: the compiler reads nothing outside its root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"

static arena *A;
static char root[64];

static void write_file(const char *rel, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* root/ holds app.plumb, envs/dev/main.plumb and a symlink to /etc/hostname. */
static int setup(void **state) {
  A = arena_new();
  strcpy(root, "/tmp/plumb-loader-XXXXXX");
  assert_non_null(mkdtemp(root));
  char dir[128];
  snprintf(dir, sizeof dir, "%s/envs", root);
  mkdir(dir, 0777);
  snprintf(dir, sizeof dir, "%s/envs/dev", root);
  mkdir(dir, 0777);
  write_file("app.plumb", "template a() {}\n");
  write_file("envs/dev/main.plumb", "env dev {}\n");
  char link[128];
  snprintf(link, sizeof link, "%s/outside", root);
  assert_int_equal(symlink("/etc/hostname", link), 0);
  snprintf(link, sizeof link, "%s/inside", root);
  assert_int_equal(symlink("app.plumb", link), 0);
  return 0;
}

static int teardown(void **state) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  assert_int_equal(system(cmd), 0);
  arena_free(A);
  return 0;
}

static const char *resolve(loader *l, const char *from, const char *path) {
  const char *name = NULL, *err = NULL;
  return loader_resolve(l, from, path, &name, &err) == 0 ? name : err;
}

static void relative_paths_resolve_against_the_naming_file(void **state) {
  const char *err;
  loader *l = loader_new(A, root, &err);
  assert_string_equal(resolve(l, "envs/dev/main.plumb", "../../app.plumb"), "app.plumb");
  assert_string_equal(resolve(l, "envs/dev/main.plumb", "./x/../y.plumb"), "envs/dev/y.plumb");
  assert_string_equal(resolve(l, NULL, "envs//dev/main.plumb"), "envs/dev/main.plumb");
  assert_string_equal(resolve(l, "envs/dev/main.plumb", "std/web"), "std/web");
}

static void climbing_above_the_root_is_refused(void **state) {
  const char *err;
  loader *l = loader_new(A, root, &err);
  assert_string_equal(resolve(l, "envs/dev/main.plumb", "../../../etc/passwd"),
                      "path \"../../../etc/passwd\" leaves the repository root, 2 directories above this file's (the "
                      "root is the nearest directory holding .git, else the one built; see --root)");
  assert_string_equal(resolve(l, "app.plumb", "../x.plumb"),
                      "path \"../x.plumb\" leaves the repository root, which is this file's directory (the root is the "
                      "nearest directory holding .git, else the one built; see --root)");
  assert_string_equal(resolve(l, "app.plumb", "/etc/passwd"),
                      "absolute path \"/etc/passwd\" not allowed: paths are relative to the file that names them");
}

static void symlinks_are_followed_only_inside_the_root(void **state) {
  const char *err, *text;
  size_t len;
  loader *l = loader_new(A, root, &err);
  assert_int_equal(loader_read(l, "inside", &text, &len, &err), 0);
  assert_string_equal(text, "template a() {}\n");
  assert_int_equal(loader_read(l, "outside", &text, &len, &err), -1);
  assert_string_equal(err, "outside is a symlink that leaves the repository root");
}

static void directories_list_their_plumb_files_sorted(void **state) {
  const char *err, **names;
  loader *l = loader_new(A, root, &err);
  write_file("b.plumb", "");
  write_file("notes.txt", "");
  assert_int_equal(loader_list(l, "", &names, &err), 2);
  assert_string_equal(names[0], "app.plumb");
  assert_string_equal(names[1], "b.plumb");
  assert_true(loader_is_dir(l, "envs/dev"));
  assert_false(loader_is_dir(l, "app.plumb"));
}

static void the_standard_library_is_built_in(void **state) {
  const char *err, *text;
  size_t len;
  loader *l = loader_new_memory(A, NULL);
  assert_int_equal(loader_read(l, "std/web", &text, &len, &err), 0);
  assert_non_null(strstr(text, "template webapp("));
  assert_int_equal(loader_read(l, "std/nothing", &text, &len, &err), -1);
  assert_string_equal(err, "the standard library has no module \"nothing\"");
}

static void a_memory_loader_reads_only_its_files(void **state) {
  const char *err, *text;
  size_t len;
  loader *l = loader_new_memory(A, NULL);
  loader_add_file(l, "main.plumb", "env e {}", 8);
  assert_int_equal(loader_read(l, "main.plumb", &text, &len, &err), 0);
  assert_int_equal(len, 8);
  assert_int_equal(loader_read(l, "etc/passwd", &text, &len, &err), -1);
  assert_string_equal(err, "cannot read etc/passwd: No such file or directory");
}

static void make_dir(const char *rel) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  assert_int_equal(mkdir(path, 0777), 0);
}

static void make_link(const char *to, const char *rel) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  assert_int_equal(symlink(to, path), 0);
}

/* The files of a YAML directory come in filepath.Walk's order, Argo CD's:
 * a subdirectory's at its name's place ("a" before "a-b.yaml", though
 * "a/" would sort after it as text). */
static const char *const walked[] = {"w/.x.yaml", "w/a/x.yaml", "w/a-b.yaml", "w/b.yaml", "w/c/d.yaml", "w/link/x.yaml"};

static void check_walk(loader *l, bool recurse, const char *const *want, int n) {
  const char *err = NULL, **names;
  assert_int_equal(loader_walk(l, "w", recurse, &names, &err), n);
  for (int i = 0; i < n; i++) assert_string_equal(names[i], want[i]);
}

static void a_walk_lists_files_in_walk_order(void **state) {
  const char *err;
  make_dir("w");
  make_dir("w/a");
  make_dir("w/c");
  make_dir("w/.git");
  for (size_t i = 0; i < 5; i++) write_file(walked[i], "");
  write_file("w/.git/config.yaml", ""); /* a checkout's, not a commit's */
  make_link("a", "w/link");             /* a directory link: what it points to */
  make_link("..", "w/c/up");            /* above itself: left out, as in a git tree */
  loader *l = loader_new(A, root, &err);
  check_walk(l, true, walked, 6);
  static const char *const top[] = {"w/.x.yaml", "w/a-b.yaml", "w/b.yaml"};
  check_walk(l, false, top, 3);
  /* A memory loader (a git tree) lists the same, in the same order. */
  loader *m = loader_new_memory(A, NULL);
  for (size_t i = 6; i-- > 0;) loader_add_file(m, walked[i], "", 0);
  loader_add_file(m, "w/a/x.yaml", "", 0); /* replaced: one name */
  loader_add_file(m, "wx.yaml", "", 0);
  check_walk(m, true, walked, 6);
  check_walk(m, false, top, 3);
}

static void a_walk_stays_inside_the_root(void **state) {
  const char *err = NULL, **names;
  make_dir("v");
  make_link("/etc", "v/etc");
  loader *l = loader_new(A, root, &err);
  assert_int_equal(loader_walk(l, "v", false, &names, &err), 0); /* not walked into */
  assert_int_equal(loader_walk(l, "v", true, &names, &err), -1);
  assert_string_equal(err, "v/etc is a symlink that leaves the repository root");
  assert_int_equal(loader_walk(l, "app.plumb", true, &names, &err), -1);
  assert_string_equal(err, "app.plumb is not a directory");
  assert_int_equal(loader_walk(l, "outside", true, &names, &err), -1);
  assert_string_equal(err, "outside is a symlink that leaves the repository root");
}

/* A hostile tree: too many files, directories too deep. */
static void a_walk_is_bounded(void **state) {
  const char *err = NULL, **names;
  loader *l = loader_new_memory(A, NULL);
  for (int i = 0; i <= LOADER_MAX_WALK; i++) loader_add_file(l, arena_printf(A, "many/%d.yaml", i), "", 0);
  assert_int_equal(loader_walk(l, "many", false, &names, &err), -1);
  assert_string_equal(err, "many holds more than 100000 files and directories");
  buf deep = {0};
  buf_puts(&deep, "deep");
  for (int i = 0; i <= LOADER_MAX_WALK_DEPTH; i++) buf_puts(&deep, "/d");
  buf_puts(&deep, "/x.yaml");
  loader_add_file(l, deep.data, "", 0);
  assert_int_equal(loader_walk(l, "deep", false, &names, &err), 0);
  assert_int_equal(loader_walk(l, "deep", true, &names, &err), -1);
  assert_string_equal(err, "deep has directories nested deeper than 64 levels");
  buf_free(&deep);
}

/* One message for a file too big, on disk or in a git tree (the runtime's
 * reader uses it too); the size is rounded up, never down to the limit. */
static void a_file_too_big_names_its_size(void **state) {
  assert_string_equal(compile_file_too_big(A, "big.yaml", 17 << 20), "big.yaml is 17.0 MiB; files may be at most 16 MiB");
  assert_string_equal(compile_file_too_big(A, "x", COMPILE_MAX_FILE + 1), "x is 16.1 MiB; files may be at most 16 MiB");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(relative_paths_resolve_against_the_naming_file),
      cmocka_unit_test(climbing_above_the_root_is_refused),
      cmocka_unit_test(symlinks_are_followed_only_inside_the_root),
      cmocka_unit_test(directories_list_their_plumb_files_sorted),
      cmocka_unit_test(the_standard_library_is_built_in),
      cmocka_unit_test(a_memory_loader_reads_only_its_files),
      cmocka_unit_test(a_file_too_big_names_its_size),
      cmocka_unit_test(a_walk_lists_files_in_walk_order),
      cmocka_unit_test(a_walk_stays_inside_the_root),
      cmocka_unit_test(a_walk_is_bounded),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
