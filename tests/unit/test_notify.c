/* test_notify.c: each receiver's request as its API documents it (Slack's
 * and Teams' incoming webhooks, the generic webhook's body, template and
 * signature, GitHub's, GitLab's and Gitea's commit statuses with their
 * auth headers), and the sender against a local receiver: retries until
 * it answers, a loss counted and told without the URL, a hanging receiver
 * that never holds the caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plumb/arena.h"
#include "plumb/notify.h"

static const notify_event failed_sync = {"on-sync-failed", "shop", "web", "https://git.example.com/acme/shop.git",
                                         "0123456789abcdef0123456789abcdef01234567", "Degraded",
                                         "Deployment/web: \"image\" invalid", "https://plumb.example.com/apps/shop"};

static json_t *body_of(const notify_request *r) {
  json_error_t e;
  json_t *j = json_loads(r->body, 0, &e);
  if (!j) fail_msg("the body is not JSON: %s\n%s", e.text, r->body);
  return j;
}

static bool has_header(const notify_request *r, const char *h) {
  for (size_t i = 0; i < r->nheaders; i++)
    if (strcmp(r->headers[i], h) == 0) return true;
  return false;
}

static const char *str_at(json_t *j, const char *path) {
  json_t *v = j;
  char *copy = heap_strdup(path), *save = NULL;
  for (char *k = strtok_r(copy, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
    v = json_is_array(v) ? json_array_get(v, (size_t)atoi(k)) : json_object_get(v, k);
  free(copy);
  return json_string_value(v);
}

static void slack_takes_text_and_an_attachment(void **state) {
  notify_target t = {.name = "team", .type = NOTIFY_SLACK, .url = "https://hooks.slack.com/services/T/B/secret"};
  notify_request r;
  assert_null(notify_render(&t, &failed_sync, &r));
  assert_string_equal(r.method, "POST");
  assert_string_equal(r.url, t.url);
  assert_true(has_header(&r, "Content-Type: application/json"));
  json_t *b = body_of(&r);
  assert_string_equal(str_at(b, "text"),
                      "shop: sync-failed at 0123456 (Degraded): Deployment/web: \"image\" invalid");
  assert_string_equal(str_at(b, "attachments.0.color"), "#E96D76");
  assert_string_equal(str_at(b, "attachments.0.title_link"), "https://plumb.example.com/apps/shop");
  json_decref(b);
  notify_request_free(&r);
}

static void teams_takes_a_message_card(void **state) {
  notify_target t = {.name = "ops", .type = NOTIFY_TEAMS, .url = "https://example.webhook.office.com/webhookb2/x"};
  notify_event ok = failed_sync;
  ok.trigger = "on-deployed", ok.health = "Healthy", ok.message = NULL;
  notify_request r;
  assert_null(notify_render(&t, &ok, &r));
  json_t *b = body_of(&r);
  assert_string_equal(str_at(b, "@type"), "MessageCard");
  assert_string_equal(str_at(b, "@context"), "https://schema.org/extensions");
  assert_string_equal(str_at(b, "summary"), "shop: deployed at 0123456 (Healthy)");
  assert_string_equal(str_at(b, "themeColor"), "18BE52");
  assert_string_equal(str_at(b, "potentialAction.0.@type"), "OpenUri");
  assert_string_equal(str_at(b, "potentialAction.0.targets.0.uri"), "https://plumb.example.com/apps/shop");
  json_decref(b);
  notify_request_free(&r);
}

static void a_webhook_says_every_fact_with_its_headers(void **state) {
  const char *headers[] = {"X-Team: shop"};
  notify_target t = {.name = "hook", .type = NOTIFY_WEBHOOK, .url = "http://127.0.0.1:1/h", .headers = headers,
                     .nheaders = 1};
  notify_request r;
  assert_null(notify_render(&t, &failed_sync, &r));
  json_t *b = body_of(&r);
  assert_string_equal(str_at(b, "trigger"), "on-sync-failed");
  assert_string_equal(str_at(b, "app"), "shop");
  assert_string_equal(str_at(b, "project"), "web");
  assert_string_equal(str_at(b, "commit"), failed_sync.commit);
  assert_string_equal(str_at(b, "health"), "Degraded");
  assert_string_equal(str_at(b, "message"), failed_sync.message);
  assert_string_equal(str_at(b, "link"), "https://plumb.example.com/apps/shop");
  assert_true(has_header(&r, "X-Team: shop"));
  json_decref(b);
  notify_request_free(&r);
  notify_event unlinked = failed_sync;
  unlinked.link = NULL; /* no --public-url */
  assert_null(notify_render(&t, &unlinked, &r));
  b = body_of(&r);
  assert_null(json_object_get(b, "link"));
  json_decref(b);
  notify_request_free(&r);
}

/* --public-url: the application's page of the UI (ui/app.js's /apps/NAME). */
static void a_link_goes_to_the_application_page(void **state) {
  char *link = notify_app_link("https://plumb.example.com", "shop");
  assert_string_equal(link, "https://plumb.example.com/apps/shop");
  free(link);
  link = notify_app_link("http://127.0.0.1:8080/", "a b/c");
  assert_string_equal(link, "http://127.0.0.1:8080/apps/a%20b%2Fc");
  free(link);
  assert_null(notify_app_link(NULL, "shop"));
  assert_null(notify_app_link("", "shop"));
}

/* on-out-of-sync: told in words, and a commit status says failure. */
static void out_of_sync_is_a_failure(void **state) {
  notify_event ev = failed_sync;
  ev.trigger = "on-out-of-sync", ev.message = "OutOfSync since 2026-01-02T15:04:05Z, for 5m";
  notify_target t = {.name = "team", .type = NOTIFY_SLACK, .url = "https://hooks.slack.com/services/T/B/secret"};
  notify_request r;
  assert_null(notify_render(&t, &ev, &r));
  json_t *b = body_of(&r);
  assert_string_equal(str_at(b, "text"),
                      "shop: out-of-sync at 0123456 (Degraded): OutOfSync since 2026-01-02T15:04:05Z, for 5m");
  assert_string_equal(str_at(b, "attachments.0.color"), "#E96D76");
  json_decref(b);
  notify_request_free(&r);
  t = (notify_target){.name = "gl", .type = NOTIFY_GITLAB, .url = "https://gitlab.com/api/v4", .token = "glpat"};
  assert_null(notify_render(&t, &ev, &r));
  assert_non_null(strstr(r.url, "?state=failed&"));
  assert_non_null(strstr(r.url, "&target_url=https%3A%2F%2Fplumb.example.com%2Fapps%2Fshop"));
  notify_request_free(&r);
}

static void a_template_is_filled_with_json_strings(void **state) {
  notify_target t = {.name = "hook", .type = NOTIFY_WEBHOOK, .url = "http://x/",
                     .template = "{\"text\": \"{{app}} ({{project}}) {{trigger}}: {{message}}\", \"sha\": \"{{commit}}\"}"};
  notify_request r;
  assert_null(notify_render(&t, &failed_sync, &r));
  json_t *b = body_of(&r);
  assert_string_equal(str_at(b, "text"), "shop (web) on-sync-failed: Deployment/web: \"image\" invalid");
  assert_string_equal(str_at(b, "sha"), failed_sync.commit);
  json_decref(b);
  notify_request_free(&r);
  t.template = "{\"text\": {{app}}}";
  assert_string_equal(notify_render(&t, &failed_sync, &r), "the template is not JSON once filled");
  t.template = "{\"text\": \"{{secret}}\"}";
  assert_non_null(strstr(notify_render(&t, &failed_sync, &r), "other than app"));
}

static void a_webhook_signs_its_body(void **state) {
  notify_target t = {.name = "hook", .type = NOTIFY_WEBHOOK, .url = "http://x/", .hmac_key = "key",
                     .template = "{\"a\":\"x\"}"};
  notify_request r;
  assert_null(notify_render(&t, &failed_sync, &r));
  assert_string_equal(r.body, "{\"a\":\"x\"}");
  /* Python's hmac.new(b"key", body, hashlib.sha256).hexdigest() */
  assert_true(has_header(&r, "X-Plumb-Signature-256: "
                             "sha256=80a5b9ec042fb6623fdc5c17cf14373cad1dbee609db6d633a37bff81e19276e"));
  notify_request_free(&r);
}

static void github_and_gitea_statuses(void **state) {
  notify_target t = {.name = "gh", .type = NOTIFY_GITHUB, .url = "https://api.github.com", .token = "ghp_x"};
  notify_request r;
  assert_null(notify_render(&t, &failed_sync, &r));
  assert_string_equal(r.url, "https://api.github.com/repos/acme/shop/statuses/" "0123456789abcdef0123456789abcdef01234567");
  assert_true(has_header(&r, "Authorization: Bearer ghp_x"));
  assert_true(has_header(&r, "Accept: application/vnd.github+json"));
  json_t *b = body_of(&r);
  assert_string_equal(str_at(b, "state"), "failure");
  assert_string_equal(str_at(b, "context"), "plumb/shop");
  assert_string_equal(str_at(b, "target_url"), "https://plumb.example.com/apps/shop");
  assert_true(strlen(str_at(b, "description")) <= 140);
  json_decref(b);
  notify_request_free(&r);

  t = (notify_target){.name = "tea", .type = NOTIFY_GITEA, .url = "https://gitea.example.com/api/v1", .token = "t0"};
  notify_event ok = failed_sync;
  ok.trigger = "on-sync-succeeded", ok.repo = "git@gitea.example.com:acme/shop.git";
  assert_null(notify_render(&t, &ok, &r));
  assert_string_equal(r.url, "https://gitea.example.com/api/v1/repos/acme/shop/statuses/" "0123456789abcdef0123456789abcdef01234567");
  assert_true(has_header(&r, "Authorization: token t0"));
  b = body_of(&r);
  assert_string_equal(str_at(b, "state"), "success");
  json_decref(b);
  notify_request_free(&r);

  ok.trigger = "on-sync-running";
  assert_null(notify_render(&t, &ok, &r));
  b = body_of(&r);
  assert_string_equal(str_at(b, "state"), "pending");
  json_decref(b);
  notify_request_free(&r);

  ok.repo = "https://gitea.example.com/shop.git";
  assert_string_equal(notify_render(&t, &ok, &r), "the repository's URL has no owner/name");
}

static void gitlab_status_in_the_query(void **state) {
  notify_target t = {.name = "gl", .type = NOTIFY_GITLAB, .url = "https://gitlab.com/api/v4", .token = "glpat"};
  notify_event ev = failed_sync;
  ev.message = "bad", ev.link = NULL;
  notify_request r;
  assert_null(notify_render(&t, &ev, &r));
  assert_string_equal(r.url, "https://gitlab.com/api/v4/projects/acme%2Fshop/statuses/"
                             "0123456789abcdef0123456789abcdef01234567?state=failed&name=plumb%2Fshop&description="
                             "shop%3A%20sync-failed%20at%200123456%20%28Degraded%29%3A%20bad");
  assert_true(has_header(&r, "PRIVATE-TOKEN: glpat"));
  notify_request_free(&r);
  ev.trigger = "on-sync-running";
  assert_null(notify_render(&t, &ev, &r));
  assert_non_null(strstr(r.url, "?state=running&"));
  notify_request_free(&r);
}

/* ---- a local receiver ----------------------------------------------------- */

typedef struct {
  pthread_mutex_t mu;
  int refuse;     /* answers 503 this many times first */
  int hang_ms;    /* before answering */
  int calls, ok;
  char last[4096], signature[128];
} receiver;

static enum MHD_Result answer(void *arg, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *data, size_t *size, void **con) {
  receiver *rc = arg;
  if (!*con) { /* the headers: the body comes next */
    *con = heap_calloc(1, 4096);
    return MHD_YES;
  }
  if (*size) {
    strncat(*con, data, *size < 4000 - strlen(*con) ? *size : 4000 - strlen(*con));
    *size = 0;
    return MHD_YES;
  }
  if (rc->hang_ms) usleep((useconds_t)rc->hang_ms * 1000);
  pthread_mutex_lock(&rc->mu);
  rc->calls++;
  bool ok = rc->calls > rc->refuse;
  if (ok) {
    rc->ok++;
    snprintf(rc->last, sizeof rc->last, "%s", (char *)*con);
    const char *sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Plumb-Signature-256");
    snprintf(rc->signature, sizeof rc->signature, "%s", sig ? sig : "");
  }
  pthread_mutex_unlock(&rc->mu);
  free(*con);
  *con = NULL;
  struct MHD_Response *res = MHD_create_response_from_buffer(2, "{}", MHD_RESPMEM_PERSISTENT);
  enum MHD_Result r = MHD_queue_response(conn, ok ? 200 : 503, res);
  MHD_destroy_response(res);
  return r;
}

static struct MHD_Daemon *listen_on(receiver *rc, char *url, size_t len) {
  struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                                          NULL, answer, rc, MHD_OPTION_END);
  assert_non_null(d);
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  snprintf(url, len, "http://127.0.0.1:%u/hook?token=s3cret", info->port);
  return d;
}

static bool wait_for(notify_sender *s, int seconds) {
  for (int i = 0; i < seconds * 20; i++) {
    if (!notify_pending(s)) return true;
    usleep(50000);
  }
  return false;
}

static void a_receiver_that_comes_back_gets_it(void **state) {
  receiver rc = {PTHREAD_MUTEX_INITIALIZER, .refuse = 2};
  char url[128];
  struct MHD_Daemon *d = listen_on(&rc, url, sizeof url);
  metrics *m = metrics_new();
  notify_opts o = {.backoff_ms = 50, .sent = metrics_counter(m, "n_total", "N.", (const char *[]){"notifier", "result", NULL}),
                   .lost = metrics_counter(m, "l_total", "L.", (const char *[]){"notifier", "reason", NULL})};
  notify_sender *s = notify_new(&o);
  notify_target t = {.name = "hook", .type = NOTIFY_WEBHOOK, .url = url, .hmac_key = "key", .template = "{\"a\":\"x\"}"};
  notify_request r;
  assert_null(notify_render(&t, &failed_sync, &r));
  notify_queue(s, "hook", "shop", &r);
  assert_true(wait_for(s, 5));
  assert_int_equal(rc.calls, 3);
  assert_int_equal(rc.ok, 1);
  assert_string_equal(rc.last, "{\"a\":\"x\"}");
  assert_string_equal(rc.signature, "sha256=80a5b9ec042fb6623fdc5c17cf14373cad1dbee609db6d633a37bff81e19276e");
  char *text = metrics_text(m);
  assert_non_null(strstr(text, "n_total{notifier=\"hook\",result=\"retried\"} 2\n"));
  assert_non_null(strstr(text, "n_total{notifier=\"hook\",result=\"sent\"} 1\n"));
  assert_null(strstr(text, "l_total{"));
  free(text);
  notify_free(s);
  metrics_free(m);
  MHD_stop_daemon(d);
}

static void a_loss_is_counted_and_told_once_without_the_url(void **state) {
  receiver rc = {PTHREAD_MUTEX_INITIALIZER, .refuse = 1000};
  char url[128], *logged = NULL;
  size_t loglen = 0;
  struct MHD_Daemon *d = listen_on(&rc, url, sizeof url);
  metrics *m = metrics_new();
  FILE *log = open_memstream(&logged, &loglen);
  notify_opts o = {.attempts = 3, .backoff_ms = 20, .log = log,
                   .lost = metrics_counter(m, "l_total", "L.", (const char *[]){"notifier", "reason", NULL})};
  notify_sender *s = notify_new(&o);
  notify_target t = {.name = "slack", .type = NOTIFY_SLACK, .url = url};
  notify_request r;
  assert_null(notify_render(&t, &failed_sync, &r));
  notify_queue(s, "slack", "shop", &r);
  assert_true(wait_for(s, 5));
  notify_free(s);
  fclose(log);
  assert_int_equal(rc.calls, 3);
  assert_string_equal(logged, "notifier slack: a notification about shop is lost: 3 attempts failed, the last: "
                              "HTTP status 503\n");
  char *text = metrics_text(m);
  assert_non_null(strstr(text, "l_total{notifier=\"slack\",reason=\"attempts\"} 1\n"));
  free(text);
  free(logged);
  metrics_free(m);
  MHD_stop_daemon(d);
}

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The caller never waits on a receiver, and a full queue loses the newest. */
static void a_hanging_receiver_holds_nobody(void **state) {
  receiver rc = {PTHREAD_MUTEX_INITIALIZER, .hang_ms = 1500};
  char url[128];
  struct MHD_Daemon *d = listen_on(&rc, url, sizeof url);
  metrics *m = metrics_new();
  notify_opts o = {.attempts = 1, .timeout_ms = 300, .queue_max = 4,
                   .lost = metrics_counter(m, "l_total", "L.", (const char *[]){"notifier", "reason", NULL})};
  notify_sender *s = notify_new(&o);
  notify_target t = {.name = "teams", .type = NOTIFY_TEAMS, .url = url};
  double start = seconds();
  for (int i = 0; i < 10; i++) {
    notify_request r;
    assert_null(notify_render(&t, &failed_sync, &r));
    notify_queue(s, "teams", "shop", &r);
  }
  assert_true(seconds() - start < 0.2);
  assert_true(wait_for(s, 10));
  char *text = metrics_text(m);
  assert_non_null(strstr(text, "l_total{notifier=\"teams\",reason=\"queue\"} 6\n"));
  assert_non_null(strstr(text, "l_total{notifier=\"teams\",reason=\"attempts\"} 4\n"));
  free(text);
  notify_free(s);
  metrics_free(m);
  MHD_stop_daemon(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(slack_takes_text_and_an_attachment),
      cmocka_unit_test(teams_takes_a_message_card),
      cmocka_unit_test(a_webhook_says_every_fact_with_its_headers),
      cmocka_unit_test(a_template_is_filled_with_json_strings),
      cmocka_unit_test(a_webhook_signs_its_body),
      cmocka_unit_test(a_link_goes_to_the_application_page),
      cmocka_unit_test(out_of_sync_is_a_failure),
      cmocka_unit_test(github_and_gitea_statuses),
      cmocka_unit_test(gitlab_status_in_the_query),
      cmocka_unit_test(a_receiver_that_comes_back_gets_it),
      cmocka_unit_test(a_loss_is_counted_and_told_once_without_the_url),
      cmocka_unit_test(a_hanging_receiver_holds_nobody),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
