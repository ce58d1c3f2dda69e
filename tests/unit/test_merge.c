/* test_merge.c: plain overlays, and the provenance they leave behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "merge.h"
#include "plumb/emit.h"

#include "arena_test.h"

static pos at(int line) { return (pos){"t.plumb", line, 1}; }

static value *obj2(int line, const char *k1, value *v1, const char *k2, value *v2) {
  value *o = value_object(A, at(line));
  if (k1) value_object_set(A, o, k1, v1);
  if (k2) value_object_set(A, o, k2, v2);
  return o;
}

static value *del(void) {
  value *v = value_null(A, at(9));
  v->via = merge_delete_via;
  return v;
}

static void assert_json(const value *v, const char *want) {
  buf b = {0};
  emit_json(&b, v, false, false);
  assert_string_equal(b.data, want);
  buf_free(&b);
}

static void objects_merge_key_by_key(void **state) {
  value *base = obj2(1, "a", value_int(A, at(1), 1), "b", obj2(1, "x", value_int(A, at(1), 1), NULL, NULL));
  value *over = obj2(2, "b", obj2(2, "y", value_int(A, at(2), 2), NULL, NULL), "c", value_int(A, at(2), 3));
  assert_json(merge_values(A, base, over, "patch"), "{\"a\":1,\"b\":{\"x\":1,\"y\":2},\"c\":3}");
  assert_json(base, "{\"a\":1,\"b\":{\"x\":1}}"); /* inputs stay as they were */
}

static void scalars_and_lists_are_replaced_and_remember_what_they_replaced(void **state) {
  value *list = value_list(A, at(1));
  value_list_push(A, list, value_int(A, at(1), 1));
  value *base = obj2(1, "n", value_int(A, at(1), 1), "l", list);
  value *over = obj2(2, "n", value_int(A, at(2), 5), "l", value_list(A, at(2)));
  value *m = merge_values(A, base, over, "patch");
  assert_json(m, "{\"l\":[],\"n\":5}");
  const value *n = value_object_get(m, "n");
  assert_string_equal(n->via, "patch");
  assert_int_equal(n->at.line, 2);
  assert_non_null(n->prev);
  assert_int_equal(n->prev->at.line, 1);
  assert_int_equal(n->prev->u.i, 1);
}

static void delete_removes_a_field_and_vanishes_where_nothing_was(void **state) {
  value *base = obj2(1, "a", value_int(A, at(1), 1), "b", value_int(A, at(1), 2));
  value *over = obj2(2, "a", del(), "c", obj2(2, "d", del(), "e", value_int(A, at(2), 1)));
  assert_json(merge_values(A, base, over, "patch"), "{\"b\":2,\"c\":{\"e\":1}}");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(objects_merge_key_by_key),
      cmocka_unit_test(scalars_and_lists_are_replaced_and_remember_what_they_replaced),
      cmocka_unit_test(delete_removes_a_field_and_vanishes_where_nothing_was),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
