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
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
