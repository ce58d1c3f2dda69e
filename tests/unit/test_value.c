/* test_value.c: objects keep insertion order, find keys (and the fields
 * holding them) fast when big and list their keys sorted. */
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

/* A field is found where it sits, small object or large, so its position
 * says which entry it is. */
static void field_lookup_gives_the_field_in_place(void **state) {
  arena *a = arena_new();
  value *small = value_object(a, P), *big = value_object(a, P);
  char key[32];
  value_object_set(a, small, "x", value_int(a, P, 1));
  value_object_set(a, small, "y", value_int(a, P, 2));
  for (int i = 0; i < 100; i++) {
    snprintf(key, sizeof key, "k%d", i);
    value_object_set(a, big, arena_strdup(a, key), value_int(a, P, i));
  }
  assert_ptr_equal(value_object_field(small, "y"), &small->u.obj.fields[1]);
  assert_ptr_equal(value_object_field(big, "k42"), &big->u.obj.fields[42]);
  assert_null(value_object_field(small, "z"));
  assert_null(value_object_field(big, "k100"));
  assert_null(value_object_field(value_int(a, P, 1), "x"));
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
  /* A path segment matches whole keys only. */
  assert_null(value_get_path(root, "spec.container[0]"));
  assert_null(value_get_path(root, "spec.containersx[0]"));
  arena_free(a);
}

static void add_refuses_a_key_the_object_has(void **state) {
  arena *a = arena_new();
  value *o = value_object(a, P);
  assert_true(value_object_add(a, o, "a", value_int(a, P, 1)));
  assert_false(value_object_add(a, o, "a", value_int(a, P, 2)));
  assert_int_equal(value_object_get(o, "a")->u.i, 1);
  assert_int_equal(o->u.obj.len, 1);
  arena_free(a);
}

static void reserve_keeps_contents_and_only_grows(void **state) {
  arena *a = arena_new();
  value *l = value_list(a, P), *o = value_object(a, P);
  value_list_push(a, l, value_int(a, P, 7));
  value_object_set(a, o, "k", value_int(a, P, 8));
  value_reserve(a, l, 100);
  value_reserve(a, o, 100);
  assert_int_equal(l->u.list.cap, 100);
  assert_int_equal(o->u.obj.cap, 100);
  value_reserve(a, l, 2);
  assert_int_equal(l->u.list.cap, 100);
  assert_int_equal(l->u.list.items[0]->u.i, 7);
  assert_int_equal(value_object_get(o, "k")->u.i, 8);
  arena_free(a);
}

static void keys_sort_bytewise_small_and_large(void **state) {
  arena *a = arena_new();
  for (int n = 3; n <= 40; n += 37) { /* insertion sort and qsort */
    value *o = value_object(a, P);
    char key[32];
    for (int i = n; i-- > 0;) {
      snprintf(key, sizeof key, "%c%d", i % 2 ? 'b' : 'B', i);
      value_object_set(a, o, arena_strdup(a, key), value_null(a, P));
    }
    const char **keys = value_sorted_keys(o);
    for (int i = 1; i < n; i++) assert_true(strcmp(keys[i - 1], keys[i]) < 0);
    free(keys);
  }
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
      cmocka_unit_test(field_lookup_gives_the_field_in_place),
      cmocka_unit_test(paths_reach_into_objects_and_lists),
      cmocka_unit_test(add_refuses_a_key_the_object_has),
      cmocka_unit_test(reserve_keeps_contents_and_only_grows),
      cmocka_unit_test(keys_sort_bytewise_small_and_large),
      cmocka_unit_test(comparison_orders_numbers_by_value_across_kinds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
