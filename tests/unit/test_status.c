/* test_status.c: what the loop and the server's threads share: published
 * documents come back as copies of their own, requests in the order they
 * were asked, and a request wakes the loop at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "plumb/status.h"

/* Documents are published as text, and read back parsed; the summaries
 * as one text in name order. */
static void documents_come_back_as_copies_in_name_order(void **state) {
  status_store *s = status_new();
  assert_null(status_app(s, "web"));
  char *none = status_list(s);
  assert_string_equal(none, "[]");
  free(none);
  status_publish(s, json_pack("{s:s, s:s}", "web", "{\"name\":\"web\",\"sync\":\"Synced\"}", "api",
                              "{\"name\":\"api\",\"sync\":\"OutOfSync\"}"),
                 json_pack("[{s:s}, {s:s}]", "name", "web", "name", "api"));
  json_t *web = status_app(s, "web");
  assert_string_equal(json_string_value(json_object_get(web, "sync")), "Synced");
  json_object_set_new(web, "sync", json_string("changed by a reader"));
  json_decref(web);
  web = status_app(s, "web");
  assert_string_equal(json_string_value(json_object_get(web, "sync")), "Synced");
  json_decref(web);
  char *list = status_list(s);
  assert_string_equal(list, "[{\"name\":\"api\"},{\"name\":\"web\"}]");
  free(list);
  status_free(s);
}

static void requests_are_taken_oldest_first_and_once(void **state) {
  status_store *s = status_new();
  status_ask(s, &(status_request){.kind = STATUS_SYNC, .app = "web"});
  status_ask(s, &(status_request){.kind = STATUS_ROLLBACK, .app = "web", .revision = "abc", .id = 3});
  status_ask(s, &(status_request){.kind = STATUS_REFRESH, .key = "github.com/o/r"});
  size_t n;
  status_request *q = status_take(s, &n);
  assert_int_equal(n, 3);
  assert_int_equal(q[0].kind, STATUS_SYNC);
  assert_string_equal(q[1].revision, "abc");
  assert_int_equal(q[1].id, 3);
  assert_string_equal(q[2].key, "github.com/o/r");
  status_requests_free(q, n);
  q = status_take(s, &n);
  assert_int_equal(n, 0);
  status_requests_free(q, n);
  status_free(s);
}

static void count(void *n) { ++*(int *)n; }

static void a_request_wakes_the_loop(void **state) {
  status_store *s = status_new();
  int woken = 0;
  status_on_ask(s, count, &woken);
  status_ask(s, &(status_request){.kind = STATUS_SYNC, .app = "web"});
  status_ask(s, &(status_request){.kind = STATUS_REFRESH, .key = "k"});
  assert_int_equal(woken, 2);
  size_t n;
  status_request *q = status_take(s, &n);
  assert_int_equal(n, 2);
  status_requests_free(q, n);
  status_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(documents_come_back_as_copies_in_name_order),
      cmocka_unit_test(requests_are_taken_oldest_first_and_once),
      cmocka_unit_test(a_request_wakes_the_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
