/* test_history.c: which history entry a rollback goes to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "plumb/history.h"

/* Oldest first: a at 1 and 2, b at 3 (failed) and 4, c at 5 (applied). */
static json_t *entries(void) {
  return json_pack("[{s:i, s:s, s:s}, {s:i, s:s, s:s}, {s:i, s:s, s:s}, {s:i, s:s, s:s}, {s:i, s:s, s:s}]", "id", 1,
                   "revision", "a", "result", "Synced", "id", 2, "revision", "a", "result", "Synced", "id", 3,
                   "revision", "b", "result", "OutOfSync", "id", 4, "revision", "b", "result", "Synced", "id", 5,
                   "revision", "c", "result", "Synced");
}

static long long id_of(const json_t *e) { return json_integer_value(json_object_get(e, "id")); }

static void without_an_id_the_latest_success_of_another_revision(void **state) {
  json_t *h = entries();
  assert_int_equal(id_of(history_pick(h, "c", false, 0)), 4);
  assert_int_equal(id_of(history_pick(h, "b", false, 0)), 5);
  json_decref(h);
}

static void an_id_picks_that_entry_or_none(void **state) {
  json_t *h = entries();
  assert_int_equal(id_of(history_pick(h, "c", true, 2)), 2);
  assert_null(history_pick(h, "c", true, 9));
  json_decref(h);
}

static void nothing_to_go_back_to(void **state) {
  json_t *h = json_pack("[{s:i, s:s, s:s}]", "id", 1, "revision", "a", "result", "Synced");
  assert_null(history_pick(h, "a", false, 0));
  json_decref(h);
}

/* A rollback builds with what its entry was built with. */
static void an_entry_keeps_its_args(void **state) {
  json_t *e = json_pack("{s:i, s:s, s:[s, s]}", "id", 1, "revision", "a", "args", "tag=1.2.3", "replicas=3");
  const char **args;
  assert_int_equal(history_args(e, &args), 2);
  assert_string_equal(args[0], "tag=1.2.3");
  assert_string_equal(args[1], "replicas=3");
  free(args);
  json_t *none = json_pack("{s:i, s:s}", "id", 2, "revision", "a");
  assert_int_equal(history_args(none, &args), 0);
  free(args);
  json_decref(e);
  json_decref(none);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(without_an_id_the_latest_success_of_another_revision),
      cmocka_unit_test(an_id_picks_that_entry_or_none),
      cmocka_unit_test(nothing_to_go_back_to),
      cmocka_unit_test(an_entry_keeps_its_args),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
