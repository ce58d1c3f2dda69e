/* test_value.c: objects keep insertion order and find keys fast when big. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/value.h"

static const pos P = {"t", 1, 1};

static void big_objects_find_every_key_after_sets_and_removals(void **state) {
  arena *a = arena_new();
  value *o = value_object(a, P);
  char key[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof key, "k%d", i);
    value_object_set(a, o, arena_strdup(a, key), value_int(a, P, i));
  }
  value_object_set(a, o, "k10", value_int(a, P, -10)); /* replaces in place */
  assert_int_equal(o->u.obj.len, 5000);
  assert_string_equal(o->u.obj.fields[10].key, "k10");
  assert_true(value_object_remove(o, "k0"));
  assert_false(value_object_remove(o, "k0"));
  assert_null(value_object_get(o, "k0"));
  for (int i = 1; i < 5000; i++) {
    snprintf(key, sizeof key, "k%d", i);
    value *v = value_object_get(o, key);
    assert_non_null(v);
    assert_int_equal(v->u.i, i == 10 ? -10 : i);
  }
  value *c = value_clone(a, o);
  value_object_set(a, c, "new", value_null(a, P));
  assert_null(value_object_get(o, "new")); /* a clone has its own index */
  assert_non_null(value_object_get(c, "k4999"));
  arena_free(a);
}

static void paths_reach_into_objects_and_lists(void **state) {
  arena *a = arena_new();
  value *root = value_object(a, P), *spec = value_object(a, P), *list = value_list(a, P), *c = value_object(a, P);
  value_object_set(a, c, "image", value_cstring(a, P, "nginx"));
  value_list_push(a, list, c);
  value_object_set(a, spec, "containers", list);
  value_object_set(a, root, "spec", spec);
  assert_string_equal(value_get_path(root, "spec.containers[0].image")->u.str.s, "nginx");
  assert_null(value_get_path(root, "spec.containers[1].image"));
  assert_null(value_get_path(root, "spec.missing"));
  arena_free(a);
}

static void comparison_orders_numbers_by_value_across_kinds(void **state) {
  arena *a = arena_new();
  assert_int_equal(value_compare(value_int(a, P, 2), value_float(a, P, 2.0)), 0);
  assert_true(value_compare(value_int(a, P, 1), value_float(a, P, 1.5)) < 0);
  assert_true(value_compare(value_null(a, P), value_bool(a, P, false)) < 0);
  assert_true(value_compare(value_cstring(a, P, "ab"), value_cstring(a, P, "b")) < 0);
  arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(big_objects_find_every_key_after_sets_and_removals),
      cmocka_unit_test(paths_reach_into_objects_and_lists),
      cmocka_unit_test(comparison_orders_numbers_by_value_across_kinds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
