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

#include <stdbool.h>

#include "plumb/status.h"

/* Documents are published as text in parts, and read back whole and
 * parsed; the summaries as one text in name order. */
static void documents_come_back_as_copies_in_name_order(void **state) {
  status_store *s = status_new();
  assert_null(status_app(s, "web"));
  char *none = status_list(s, NULL);
  assert_string_equal(none, "[]");
  free(none);
  status_publish(s,
                 json_pack("{s:[s, s, s], s:[s, s, s]}", "web", "{\"name\":\"web\",\"sync\":\"Synced\"}",
                           "[{\"kind\":\"ConfigMap\"}]", "[{\"data\":{}}]", "api",
                           "{\"name\":\"api\",\"sync\":\"OutOfSync\"}", "[]", "[]"),
                 json_pack("{s:{s:s}, s:{s:s}}", "web", "name", "web", "api", "name", "api"), true);
  json_t *web = status_app(s, "web");
  assert_string_equal(json_string_value(json_object_get(web, "sync")), "Synced");
  char *whole = json_dumps(web, JSON_COMPACT);
  assert_string_equal(whole, "{\"name\":\"web\",\"sync\":\"Synced\",\"resources\":[{\"kind\":\"ConfigMap\"}],"
                             "\"manifests\":[{\"data\":{}}]}");
  free(whole);
  json_object_set_new(web, "sync", json_string("changed by a reader"));
  json_decref(web);
  web = status_app(s, "web");
  assert_string_equal(json_string_value(json_object_get(web, "sync")), "Synced");
  json_decref(web);
  char *list = status_list(s, NULL);
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

/* Every application's: web's and, with_api, api's. */
static void publish(status_store *s, const char *web_sync, bool with_api) {
  json_t *sums = json_pack("{s:{s:s, s:s}}", "web", "name", "web", "sync", web_sync);
  if (with_api) json_object_set_new(sums, "api", json_pack("{s:s, s:s}", "name", "api", "sync", "Synced"));
  status_publish(s, json_object(), sums, true);
}

static char *events_text(status_store *s, long long after, long long *last) {
  json_t *e = status_events(s, after, last);
  char *text = e ? json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(e);
  return text;
}

/* A publish logs an event per summary that is new or changed and per one
 * gone, and says so once; one that changes nothing logs nothing. */
static void publishing_logs_what_changed(void **state) {
  status_store *s = status_new();
  int told = 0;
  status_on_publish(s, count, &told);
  publish(s, "OutOfSync", true);
  assert_int_equal(told, 1);
  long long seq;
  free(status_list(s, &seq));
  assert_int_equal(seq, 2);
  publish(s, "OutOfSync", true);
  assert_int_equal(told, 1);
  assert_int_equal(status_seq(s), 2);
  publish(s, "Synced", false);
  assert_int_equal(told, 2);
  long long last;
  char *text = events_text(s, 2, &last);
  assert_string_equal(text, "[{\"app\":{\"name\":\"web\",\"sync\":\"Synced\"},\"seq\":3,\"type\":\"app\"},"
                            "{\"name\":\"api\",\"seq\":4,\"type\":\"removed\"}]");
  assert_int_equal(last, 4);
  free(text);
  text = events_text(s, 4, &last);
  assert_string_equal(text, "[]");
  free(text);
  status_free(s);
}

/* A publish of what changed leaves the others as they were: their
 * documents, their places in the list; it logs only what it changed. */
static void a_publish_of_changes_keeps_the_rest(void **state) {
  status_store *s = status_new();
  publish(s, "OutOfSync", true);
  status_publish(s, json_pack("{s:[s, s, s]}", "web", "{\"name\":\"web\",\"sync\":\"Synced\"}", "[]", "[]"),
                 json_pack("{s:{s:s, s:s}}", "web", "name", "web", "sync", "Synced"), false);
  char *list = status_list(s, NULL);
  assert_string_equal(list, "[{\"name\":\"api\",\"sync\":\"Synced\"},{\"name\":\"web\",\"sync\":\"Synced\"}]");
  free(list);
  json_t *web = status_app(s, "web");
  assert_string_equal(json_string_value(json_object_get(web, "sync")), "Synced");
  json_decref(web);
  long long last;
  char *text = events_text(s, 2, &last);
  assert_string_equal(text, "[{\"app\":{\"name\":\"web\",\"sync\":\"Synced\"},\"seq\":3,\"type\":\"app\"}]");
  free(text);
  /* The same again: nothing new. */
  status_publish(s, json_object(), json_pack("{s:{s:s, s:s}}", "web", "name", "web", "sync", "Synced"), false);
  assert_int_equal(status_seq(s), 3);
  status_free(s);
}

/* A reader that fell behind the log is told to read the list again. */
static void a_reader_behind_the_log_starts_again(void **state) {
  status_store *s = status_new();
  for (int i = 0; i < STATUS_EVENTS_KEPT + 2; i++) publish(s, i % 2 ? "Synced" : "OutOfSync", false);
  long long last;
  assert_null(status_events(s, 0, &last));
  assert_int_equal(last, STATUS_EVENTS_KEPT + 2);
  json_t *e = status_events(s, 2, &last);
  assert_int_equal(json_array_size(e), STATUS_EVENTS_KEPT);
  json_decref(e);
  assert_null(status_events(s, STATUS_EVENTS_KEPT + 3, &last));
  status_free(s);
}

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
      cmocka_unit_test(a_publish_of_changes_keeps_the_rest),
      cmocka_unit_test(requests_are_taken_oldest_first_and_once),
      cmocka_unit_test(a_request_wakes_the_loop),
      cmocka_unit_test(publishing_logs_what_changed),
      cmocka_unit_test(a_reader_behind_the_log_starts_again),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
