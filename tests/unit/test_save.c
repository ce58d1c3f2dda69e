/* test_save.c: the file names of `plumb build --out-dir`. A resource's kind,
 * namespace and name are user data: whatever they hold, a file name is one
 * safe path component, of bounded length, and no two are the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "save.h"

/* A resource as the compiler hands it over: kind, name, namespace (or NULL). */
static value *resource(arena *a, const char *kind, const char *name, const char *ns) {
  value *res = value_object(a, (pos){0}), *meta = value_object(a, (pos){0});
  value_object_set(a, meta, "name", value_cstring(a, (pos){0}, name));
  if (ns) value_object_set(a, meta, "namespace", value_cstring(a, (pos){0}, ns));
  value_object_set(a, res, "kind", value_cstring(a, (pos){0}, kind));
  value_object_set(a, res, "metadata", meta);
  return res;
}

/* The names save_names gives n resources of kind, names and namespaces. */
static const char **names_of(arena *a, size_t n, const char *const *kinds, const char *const *names,
                             const char *ns) {
  compile_result r = {.arena = a, .nres = n, .res = arena_alloc(a, n * sizeof(compile_resource))};
  for (size_t i = 0; i < n; i++) r.res[i].obj = resource(a, kinds[i], names[i], ns);
  return save_names(a, &r);
}

static void names_start_with_the_install_rank_of_the_kind(void **state) {
  arena *a = arena_new();
  const char *kinds[] = {"Namespace", "ConfigMap", "Widget"}, *names[] = {"n", "c", "w"};
  const char **got = names_of(a, 3, kinds, names, NULL);
  assert_string_equal(got[0], "00_namespace_n.yaml");
  assert_string_equal(got[1], "10_configmap_c.yaml");
  assert_string_equal(got[2], "22_widget_w.yaml");
  got = names_of(a, 1, kinds + 1, names + 1, "prod");
  assert_string_equal(got[0], "10_configmap_prod_c.yaml");
  arena_free(a);
}

static void a_kind_cannot_make_a_path(void **state) {
  arena *a = arena_new();
  const char *kinds[] = {"../../etc/Passwd", "A_B\n\033"}, *names[] = {"x", "y"};
  const char **got = names_of(a, 2, kinds, names, NULL);
  assert_string_equal(got[0], "22_..-..-etc-passwd_x.yaml");
  assert_string_equal(got[1], "22_a-b--_y.yaml");
  arena_free(a);
}

static void names_that_would_be_equal_get_a_number(void **state) {
  arena *a = arena_new();
  /* Kinds equal but for case; the same kind and name in two API groups. */
  const char *kinds[] = {"WIDGET", "Widget", "Widget"}, *names[] = {"w", "w", "w"};
  const char **got = names_of(a, 3, kinds, names, "ns");
  assert_string_equal(got[0], "22_widget_ns_w.yaml");
  assert_string_equal(got[1], "22_widget_ns_w_2.yaml");
  assert_string_equal(got[2], "22_widget_ns_w_3.yaml");
  arena_free(a);
}

static void a_long_name_is_cut_and_keeps_apart_from_its_neighbours(void **state) {
  arena *a = arena_new();
  char one[254], two[254];
  memset(one, 'a', 253), one[253] = '\0';
  memcpy(two, one, sizeof one), two[252] = 'b';
  const char *kinds[] = {"ConfigMap", "ConfigMap"}, *names[] = {one, two};
  const char **got = names_of(a, 2, kinds, names, "ns");
  for (int i = 0; i < 2; i++) {
    assert_int_equal(strlen(got[i]), 200 + strlen(".yaml"));
    assert_memory_equal(got[i], "10_configmap_ns_aaa", 19);
  }
  assert_string_not_equal(got[0], got[1]);
  arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(names_start_with_the_install_rank_of_the_kind),
      cmocka_unit_test(a_kind_cannot_make_a_path),
      cmocka_unit_test(names_that_would_be_equal_get_a_number),
      cmocka_unit_test(a_long_name_is_cut_and_keeps_apart_from_its_neighbours),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
