/* test_compile.c: compiling a root held elsewhere (compile_files) reads a
 * file only when the compile does, and compile_keep keeps what a runtime
 * needs of a result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "plumb/compile.h"
#include "plumb/emit.h"

/* A root of four files; the reader counts the reads of each. */
typedef struct {
  const char *text; /* NULL: reading it is refused */
  int reads;
} test_file;

#define APP_READING(file) "template web(name: string) {\n  ConfigMap name { data: { conf: file(\"" file "\") } }\n}\n"

static test_file dev = {.text = "import \"../../lib/app.plumb\"\nenv dev { app a = web(name: \"a\") }\n"},
                 app = {.text = APP_READING("conf.txt")}, conf = {.text = "listen 80\n"},
                 unused = {.text = "env other {}\n"}, secret = {.text = NULL};
static const compile_file files[] = {
    {"envs/dev/main.plumb", &dev},
    {"lib/app.plumb", &app},
    {"lib/conf.txt", &conf},
    {"lib/unused.plumb", &unused},
    {"lib/secret.txt", &secret},
};
enum { NFILES = sizeof files / sizeof files[0] };

static int read_counted(void *ctx, const compile_file *f, arena *a, const char **text, size_t *len,
                        const char **err) {
  test_file *t = (test_file *)f->data;
  t->reads++;
  if (!t->text) {
    *err = arena_printf(a, "%s is a symlink that leaves the repository root", f->name);
    return -1;
  }
  *len = strlen(t->text);
  *text = arena_strndup(a, t->text, *len);
  return 0;
}

static const compile_reader reader = {read_counted, NULL};

static char *yaml_of(const compile_result *r) {
  buf b = {0};
  for (size_t i = 0; i < r->nres; i++) emit_yaml_resource(&b, r->res[i].obj, NULL);
  return b.data;
}

/* A kustomization tree held elsewhere, as the runtime holds a commit's: a
 * path with a kustomization.yaml and no .plumb files builds as Kustomize
 * builds it, reading what it names and nothing else. */
static test_file k_overlay = {.text = "resources: [../base]\nnamePrefix: dev-\n"},
                 k_base = {.text = "resources: [web.yaml]\nconfigMapGenerator:\n- name: web\n  literals: [MODE=fast]\n"},
                 k_web = {.text = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n"},
                 k_unused = {.text = "not: [yaml\n"};
static const compile_file k_files[] = {
    {"kust/dev/kustomization.yaml", &k_overlay},
    {"kust/base/kustomization.yaml", &k_base},
    {"kust/base/web.yaml", &k_web},
    {"kust/base/unused.yaml", &k_unused},
};

static void a_kustomization_path_builds_natively(void **state) {
  compile_result *r = compile_files(k_files, 4, &reader, &(compile_opts){.path = "kust/dev"});
  assert_int_equal(r->diags.errors, 0);
  assert_int_equal(r->nres, 2);
  char *yaml = yaml_of(r);
  assert_non_null(strstr(yaml, "name: dev-web-"));   /* the generated ConfigMap, hashed */
  assert_non_null(strstr(yaml, "name: dev-web\n")); /* the Service */
  assert_int_equal(k_web.reads, 1);
  assert_int_equal(k_unused.reads, 0);
  free(yaml);
  compile_free(r);
}


/* A directory of YAML manifests held elsewhere, as the runtime holds a
 * commit's: a path with no .plumb files and no kustomization builds as
 * Argo CD's directory source, its env named after it, reading its
 * manifest files and no other. */
static test_file y_deploy = {.text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
                                     "spec:\n  selector: {matchLabels: {app: web}}\n"
                                     "  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: web}]}}\n"
                                     "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n"},
                 y_values = {.text = "replicas: 3\n"}, y_readme = {.text = "# web\n"},
                 y_sub = {.text = "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"web\"}}\n"};
static const compile_file y_files[] = {
    {"apps/web/deploy.yaml", &y_deploy},
    {"apps/web/values.yaml", &y_values},
    {"apps/web/README.md", &y_readme},
    {"apps/web/extra/cm.json", &y_sub},
};

static compile_result *yaml_dir_build(compile_yaml_dir o) {
  for (size_t i = 0; i < 4; i++) ((test_file *)y_files[i].data)->reads = 0;
  return compile_files(y_files, 4, &reader, &(compile_opts){.path = "apps/web", .yaml_dir = o});
}

static void a_yaml_directory_builds_as_argo_cd_builds_one(void **state) {
  compile_result *r = yaml_dir_build((compile_yaml_dir){0});
  assert_int_equal(r->diags.errors, 0);
  assert_string_equal(r->env, "web");
  assert_int_equal(r->nres, 2);
  assert_string_equal(value_get_string(r->res[0].obj, "kind"), "Service"); /* install order */
  assert_int_equal(y_values.reads, 1); /* read, and left out: not a resource */
  assert_int_equal(y_readme.reads, 0);
  assert_int_equal(y_sub.reads, 0);
  compile_free(r);
  r = yaml_dir_build((compile_yaml_dir){.recurse = true});
  assert_int_equal(r->nres, 3);
  assert_int_equal(y_sub.reads, 1);
  compile_free(r);
  r = yaml_dir_build((compile_yaml_dir){.recurse = true, .include = "**/*.json"});
  assert_int_equal(r->nres, 1);
  assert_int_equal(y_deploy.reads, 0);
  compile_free(r);
}

static void a_refused_manifest_fails_in_the_readers_words(void **state) {
  const char *text = y_sub.text;
  y_sub.text = NULL;
  compile_result *r = yaml_dir_build((compile_yaml_dir){.recurse = true});
  y_sub.text = text;
  assert_int_equal(r->diags.errors, 1);
  assert_string_equal(r->diags.first->msg, "yaml_dir: apps/web/extra/cm.json is a symlink that leaves the repository root");
  compile_free(r);
}

static void only_the_files_the_compile_reads_are_read(void **state) {
  for (size_t i = 0; i < NFILES; i++) ((test_file *)files[i].data)->reads = 0;
  compile_result *r = compile_files(files, NFILES, &reader, &(compile_opts){.path = "envs/dev"});
  assert_int_equal(r->diags.errors, 0);
  assert_int_equal(dev.reads, 1);
  assert_int_equal(app.reads, 1);
  assert_int_equal(conf.reads, 1);
  assert_int_equal(unused.reads, 0);
  assert_int_equal(secret.reads, 0);
  compile_free(r);
}

static void a_refused_read_fails_in_the_readers_words(void **state) {
  app.text = APP_READING("secret.txt");
  compile_result *r = compile_files(files, NFILES, &reader, &(compile_opts){.path = "envs/dev"});
  app.text = APP_READING("conf.txt");
  assert_int_equal(r->diags.errors, 1);
  assert_string_equal(r->diags.first->msg, "file: lib/secret.txt is a symlink that leaves the repository root");
  compile_free(r);
}

/* The kept result emits the same, knows where each value came from, and
 * not how: the history is plumb explain's. */
static void a_kept_result_is_the_resources_and_sources(void **state) {
  compile_result *r = compile_files(files, NFILES, &reader, &(compile_opts){.path = "envs/dev"});
  char *want = yaml_of(r);
  size_t used = arena_used(r->arena);
  compile_result *kept = compile_keep(r);
  char *got = yaml_of(kept);
  assert_string_equal(got, want);
  assert_string_equal(kept->env, "dev");
  assert_int_equal(kept->nres, 1);
  assert_string_equal(kept->res[0].app, "a");
  const value *data = value_get_path(kept->res[0].obj, "data.conf");
  assert_string_equal(data->at.file, "lib/app.plumb");
  assert_int_equal(data->at.line, 2);
  assert_null(data->prev);
  assert_non_null(kept->diags.sources);
  assert_true(arena_used(kept->arena) < used / 2);
  free(want);
  free(got);
  compile_free(kept);
}

/* A literal the compile built once is one value in the kept result too;
 * so is every copy of a key. */
static void a_kept_result_shares_what_the_compile_shared(void **state) {
  static const char text[] = "env e {\n  for i in range(2) {\n    ConfigMap \"c-${i}\" { data: { a: \"1\" } }\n  }\n}\n";
  compile_result *r = compile_source("main.plumb", text, sizeof text - 1, NULL);
  assert_int_equal(r->diags.errors, 0);
  assert_int_equal(r->nres, 2);
  assert_ptr_equal(value_get_path(r->res[0].obj, "data"), value_get_path(r->res[1].obj, "data"));
  compile_result *kept = compile_keep(r);
  const value *one = kept->res[0].obj, *two = kept->res[1].obj;
  assert_ptr_equal(value_get_path(one, "data"), value_get_path(two, "data"));
  assert_ptr_not_equal(value_get_path(one, "metadata.name"), value_get_path(two, "metadata.name"));
  assert_ptr_equal(one->u.obj.fields[0].key, two->u.obj.fields[0].key);
  compile_free(kept);
}

static void a_result_with_errors_is_kept_whole(void **state) {
  compile_result *r = compile_source("bad.plumb", "env e { x }\n", 12, NULL);
  assert_true(r->diags.errors > 0);
  assert_ptr_equal(compile_keep(r), r);
  compile_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(only_the_files_the_compile_reads_are_read),
      cmocka_unit_test(a_refused_read_fails_in_the_readers_words),
      cmocka_unit_test(a_kustomization_path_builds_natively),
      cmocka_unit_test(a_yaml_directory_builds_as_argo_cd_builds_one),
      cmocka_unit_test(a_refused_manifest_fails_in_the_readers_words),
      cmocka_unit_test(a_kept_result_is_the_resources_and_sources),
      cmocka_unit_test(a_kept_result_shares_what_the_compile_shared),
      cmocka_unit_test(a_result_with_errors_is_kept_whole),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
