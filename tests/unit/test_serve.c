/* test_serve.c: plumb run's HTTP port, spoken to over a real socket: the
 * probes, /metrics, the API behind its bearer token, and git webhooks
 * behind their signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <crypt.h>
#include <pthread.h>
#include <stdatomic.h>

#include "plumb/serve.h"

#define TOKEN "t0ken-for-tests"
#define SECRET "hook-secret"
#define MAX_BODY 4096
/* Seconds a connection may keep quiet before its headers are in: short, so
 * that the test of idle connections need not wait the real one. */
#define HEADER_TIMEOUT_S 1

/* What the owner saw of the calls. */
typedef struct {
  char synced[64];
  char pushed[512]; /* "provider ref url url ..." */
  int pushes;
} owner;

static owner seen;
static serve *server;
static metrics *registry;
static metrics_family *syncs, *app_health, *sync_seconds;

typedef struct {
  long status;
  char body[8192];
  size_t len;
  char type[128], allow[64], challenge[64], cookie[256], csp[512];
} response;

static const char *const known_apps[] = {"db", "web"};

static bool known(const char *app) { return strcmp(app, "db") == 0 || strcmp(app, "web") == 0; }

/* The list answers with text of its own, as plumb run's does. */
static int list_apps(const serve_call *call, json_t **out, void *ctx) {
  char text[64];
  snprintf(text, sizeof text, "{\"apps\":[\"%s\",\"%s\"]}", known_apps[0], known_apps[1]);
  *call->text = strdup(text);
  return 200;
}

/* GET of one app and its parts: {"app": NAME, "part": ...}. */
static int app_part(const serve_call *call, json_t **out, const char *part) {
  if (!known(call->app)) return 404;
  *out = json_pack("{ssss}", "app", call->app, "part", part);
  return 200;
}

static int get_app(const serve_call *call, json_t **out, void *ctx) { return app_part(call, out, "app"); }
static int get_resources(const serve_call *call, json_t **out, void *ctx) { return app_part(call, out, "resources"); }
static int get_history(const serve_call *call, json_t **out, void *ctx) { return app_part(call, out, "history"); }
static int get_diff(const serve_call *call, json_t **out, void *ctx) { return app_part(call, out, "diff"); }

/* What the query names, after verb: "object Pod p". */
static int on_object(const serve_call *call, json_t **out, const char *verb) {
  char part[128];
  snprintf(part, sizeof part, "%s %s %s", verb, json_string_value(json_object_get(call->query, "kind")),
           json_string_value(json_object_get(call->query, "name")));
  return app_part(call, out, part);
}

static int get_object(const serve_call *call, json_t **out, void *ctx) { return on_object(call, out, "object"); }
static int delete_object(const serve_call *call, json_t **out, void *ctx) { return on_object(call, out, "deleted"); }

static int sync_app(const serve_call *call, json_t **out, void *ctx) {
  if (!known(call->app)) return 404;
  snprintf(((owner *)ctx)->synced, sizeof seen.synced, "%s", call->app);
  return 202;
}

static int rollback_app(const serve_call *call, json_t **out, void *ctx) {
  if (!known(call->app)) return 404;
  *out = call->has_id ? json_pack("{sssI}", "app", call->app, "id", (json_int_t)call->id)
                      : json_pack("{sssn}", "app", call->app, "id");
  return 200;
}

static void pushed(const serve_push *push, void *ctx) {
  owner *o = ctx;
  o->pushes++;
  int n = snprintf(o->pushed, sizeof o->pushed, "%s %s", push->provider, push->ref);
  for (size_t i = 0; i < push->nurls; i++) n += snprintf(o->pushed + n, sizeof o->pushed - n, " %s", push->urls[i]);
}

static char *tick_events(const serve_call *call, long long *seq, void *ctx);
static int get_logs(const serve_call *call, json_t **out, void *ctx);
static char accounts_file[64];
static auth *people;

/* bcrypt of password, at the lowest cost: the tests check logins, not
 * bcrypt's slowness. */
static char *hash(const char *password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  static struct crypt_data data;
  if (!crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof salt)) abort();
  return strdup(crypt_r(password, salt, &data));
}

/* alice (group devs) and viewer, in an auth file. */
static void write_accounts(void) {
  strcpy(accounts_file, "/tmp/plumb-auth-XXXXXX");
  int fd = mkstemp(accounts_file);
  char *a = hash("alice-pass"), *v = hash("viewer-pass");
  dprintf(fd, "accounts:\n- name: alice\n  password: \"%s\"\n  groups: [devs]\n- name: viewer\n  password: \"%s\"\n", a, v);
  close(fd);
  free(a);
  free(v);
}

static int setup(void **state) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  registry = metrics_new();
  write_accounts();
  char *why = NULL;
  if (auth_load(&people, accounts_file, &why) != 0) fail_msg("%s", why);
  serve_opts o = {.address = "127.0.0.1", .auth = people, .events = tick_events, .token = TOKEN, .webhook_secret = SECRET, .max_body = MAX_BODY,
                  .metrics = registry, .push = pushed, .ctx = &seen, .header_timeout_s = HEADER_TIMEOUT_S,
                  .probes = true, .probe_address = "127.0.0.1"};
  o.api[SERVE_APPS] = list_apps;
  o.api[SERVE_APP] = get_app;
  o.api[SERVE_RESOURCES] = get_resources;
  o.api[SERVE_HISTORY] = get_history;
  o.api[SERVE_DIFF] = get_diff;
  o.api[SERVE_SYNC] = sync_app;
  o.api[SERVE_ROLLBACK] = rollback_app;
  o.api[SERVE_OBJECT] = get_object;
  o.api[SERVE_DELETE_OBJECT] = delete_object;
  o.api[SERVE_LOGS] = get_logs;
  char *err = NULL;
  if (serve_start(&server, &o, &err) != 0) fail_msg("serve_start: %s", err);
  return 0;
}

static int teardown(void **state) {
  serve_stop(server);
  auth_free(people);
  unlink(accounts_file);
  metrics_free(registry);
  curl_global_cleanup();
  return 0;
}

static size_t collect(char *data, size_t size, size_t n, void *out) {
  response *r = out;
  size_t room = sizeof r->body - 1 - r->len, take = size * n < room ? size * n : room;
  memcpy(r->body + r->len, data, take);
  r->len += take;
  r->body[r->len] = '\0';
  return size * n;
}

static void copy_header(CURL *h, const char *name, char *to, size_t size) {
  struct curl_header *found;
  if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &found) == CURLHE_OK) snprintf(to, size, "%s", found->value);
}

/* Sends method path with the extra headers (NULL-terminated) and body. */
static response request_on(unsigned port, const char *method, const char *path, const char *const *headers,
                           const char *body, long len) {
  static response r;
  memset(&r, 0, sizeof r);
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
  CURL *h = curl_easy_init();
  struct curl_slist *list = NULL;
  for (size_t i = 0; headers && headers[i]; i++) list = curl_slist_append(list, headers[i]);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
  if (body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, len < 0 ? (long)strlen(body) : len);
  }
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  copy_header(h, "Content-Type", r.type, sizeof r.type);
  copy_header(h, "Allow", r.allow, sizeof r.allow);
  copy_header(h, "WWW-Authenticate", r.challenge, sizeof r.challenge);
  copy_header(h, "Set-Cookie", r.cookie, sizeof r.cookie);
  copy_header(h, "Content-Security-Policy", r.csp, sizeof r.csp);
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  return r;
}

static response request(const char *method, const char *path, const char *const *headers, const char *body) {
  return request_on(serve_port(server), method, path, headers, body, -1);
}

static response get(const char *path) { return request("GET", path, NULL, NULL); }

#define AUTH "Authorization: Bearer " TOKEN

static response api(const char *method, const char *path, const char *body) {
  return request(method, path, (const char *[]){AUTH, NULL}, body);
}

static void assert_reply(const response *r, long status, const char *body) {
  if (r->status != status || strcmp(r->body, body) != 0)
    fail_msg("got %ld %s, want %ld %s", r->status, r->body, status, body);
}

/* ---- probes ---------------------------------------------------------------- */

static void healthz_answers_while_the_process_runs(void **state) {
  response r = get("/healthz");
  assert_reply(&r, 200, "ok\n");
  r = request("POST", "/healthz", NULL, "");
  assert_int_equal(r.status, 405);
  assert_string_equal(r.allow, "GET, HEAD");
}

static void readyz_follows_the_owner(void **state) {
  response r = get("/readyz");
  assert_reply(&r, 503, "not ready\n");
  serve_set_ready(server, true);
  r = get("/readyz");
  assert_reply(&r, 200, "ok\n");
  serve_set_ready(server, false);
  r = get("/readyz");
  assert_int_equal(r.status, 503);
}

static void unknown_paths_are_not_found(void **state) {
  response r = get("/nothing/here");
  assert_int_equal(r.status, 404);
}

/* ---- metrics ----------------------------------------------------------------- */

static void assert_contains(const char *text, const char *part) {
  if (!strstr(text, part)) fail_msg("missing from the page:\n%s\n--- page:\n%s", part, text);
}

static void metrics_in_prometheus_text_format(void **state) {
  syncs = metrics_counter(registry, "plumb_syncs_total", "Syncs started.", NULL);
  app_health = metrics_gauge(registry, "plumb_app_health", "1 when the app is healthy.",
                             (const char *[]){"app", NULL});
  const double bounds[] = {0.1, 1};
  sync_seconds = metrics_histogram(registry, "plumb_sync_duration_seconds", "How long a sync took.", NULL, bounds, 2);
  metrics_add(syncs, NULL, 2);
  metrics_set(app_health, (const char *[]){"web"}, 1);
  metrics_set(app_health, (const char *[]){"db"}, 0);
  metrics_observe(sync_seconds, NULL, 0.05);
  metrics_observe(sync_seconds, NULL, 0.5);
  metrics_observe(sync_seconds, NULL, 3);

  response r = get("/metrics");
  assert_int_equal(r.status, 200);
  assert_string_equal(r.type, "text/plain; version=0.0.4; charset=utf-8");
  assert_contains(r.body, "# HELP plumb_syncs_total Syncs started.\n"
                          "# TYPE plumb_syncs_total counter\n"
                          "plumb_syncs_total 2\n");
  assert_contains(r.body, "# HELP plumb_app_health 1 when the app is healthy.\n"
                          "# TYPE plumb_app_health gauge\n"
                          "plumb_app_health{app=\"db\"} 0\n"
                          "plumb_app_health{app=\"web\"} 1\n");
  assert_contains(r.body, "# TYPE plumb_sync_duration_seconds histogram\n"
                          "plumb_sync_duration_seconds_bucket{le=\"0.1\"} 1\n"
                          "plumb_sync_duration_seconds_bucket{le=\"1\"} 2\n"
                          "plumb_sync_duration_seconds_bucket{le=\"+Inf\"} 3\n"
                          "plumb_sync_duration_seconds_sum 3.55\n"
                          "plumb_sync_duration_seconds_count 3\n");
  /* The server counts what it answered: the probes above, for one. */
  assert_contains(r.body, "plumb_http_requests_total{handler=\"healthz\",code=\"200\"} 1\n");
  assert_contains(r.body, "plumb_http_request_duration_seconds_bucket{handler=\"readyz\",le=\"+Inf\"} 3\n");
}

/* ---- the API: authentication -------------------------------------------------- */

static void api_without_a_token_is_unauthorized(void **state) {
  response r = get("/api/v1/apps");
  assert_reply(&r, 401, "{\"error\":\"a valid bearer token is required\"}");
  assert_string_equal(r.challenge, "Bearer");
  assert_string_equal(r.type, "application/json");
}

static void api_with_a_wrong_token_is_unauthorized(void **state) {
  const char *wrong[][2] = {{"Authorization: Bearer t0ken-for-test", NULL},
                            {"Authorization: Bearer t0ken-for-tests-and-more", NULL},
                            {"Authorization: Basic dXNlcjpwYXNz", NULL},
                            {"Authorization: " TOKEN, NULL}};
  for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
    response r = request("GET", "/api/v1/apps", wrong[i], NULL);
    assert_int_equal(r.status, 401);
  }
  /* Unknown routes are not revealed to a stranger either. */
  response r = get("/api/v1/nothing");
  assert_int_equal(r.status, 401);
}

static void api_with_the_token_answers(void **state) {
  response r = api("GET", "/api/v1/apps", NULL);
  assert_reply(&r, 200, "{\"apps\":[\"db\",\"web\"]}");
  r = request("GET", "/api/v1/apps", (const char *[]){"Authorization: bearer " TOKEN, NULL}, NULL);
  assert_int_equal(r.status, 200);
}

static void api_without_a_configured_token_refuses_everyone(void **state) {
  serve *bare;
  char *err = NULL;
  serve_opts o = {.address = "127.0.0.1"};
  o.api[SERVE_APPS] = list_apps;
  assert_int_equal(serve_start(&bare, &o, &err), 0);
  response r = request_on(serve_port(bare), "GET", "/api/v1/apps", (const char *[]){AUTH, NULL}, NULL, -1);
  assert_reply(&r, 401, "{\"error\":\"a valid bearer token is required\"}");
  r = request_on(serve_port(bare), "POST", "/api/v1/webhook", (const char *[]){"X-Gitlab-Event: Push Hook", NULL},
                 "{}", -1);
  assert_reply(&r, 401, "{\"error\":\"the webhook has no secret configured\"}");
  serve_stop(bare);
}

/* ---- the API: routes ---------------------------------------------------------- */

static void api_routes_to_the_owners_callbacks(void **state) {
  const char *routes[][2] = {
      {"/api/v1/apps/web", "{\"app\":\"web\",\"part\":\"app\"}"},
      {"/api/v1/apps/web/resources", "{\"app\":\"web\",\"part\":\"resources\"}"},
      {"/api/v1/apps/db/history", "{\"app\":\"db\",\"part\":\"history\"}"},
      {"/api/v1/apps/db/diff", "{\"app\":\"db\",\"part\":\"diff\"}"},
  };
  for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
    response r = api("GET", routes[i][0], NULL);
    assert_reply(&r, 200, routes[i][1]);
  }
}

static void api_unknown_app_or_route_is_not_found(void **state) {
  response r = api("GET", "/api/v1/apps/nope", NULL);
  assert_reply(&r, 404, "{\"error\":\"Not Found\"}");
  const char *unknown[] = {"/api/v1/apps/web/events", "/api/v1/things", "/api/v1/apps/", "/api/v1/apps/web/diff/x",
                           "/api/v1/appsweb"};
  for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
    r = api("GET", unknown[i], NULL);
    assert_reply(&r, 404, "{\"error\":\"no such route\"}");
  }
}

static void api_wrong_method_is_not_allowed(void **state) {
  response r = api("GET", "/api/v1/apps/web/sync", NULL);
  assert_int_equal(r.status, 405);
  assert_string_equal(r.allow, "POST");
  r = api("PATCH", "/api/v1/apps/web", NULL);
  assert_int_equal(r.status, 405);
  assert_string_equal(r.allow, "GET, HEAD, PUT, DELETE");
  r = api("DELETE", "/api/v1/apps", NULL);
  assert_int_equal(r.status, 405);
  assert_string_equal(r.allow, "GET, HEAD, POST");
  /* One path, two methods: an object is read with GET, deleted with DELETE. */
  r = api("POST", "/api/v1/apps/web/object?kind=Pod&name=p", "");
  assert_int_equal(r.status, 405);
  assert_string_equal(r.allow, "GET, HEAD, DELETE");
  r = api("DELETE", "/api/v1/apps/web/object?kind=Pod&name=p", NULL);
  assert_reply(&r, 200, "{\"app\":\"web\",\"part\":\"deleted Pod p\"}");
  r = api("GET", "/api/v1/apps/web/object?kind=Pod&name=p", NULL);
  assert_reply(&r, 200, "{\"app\":\"web\",\"part\":\"object Pod p\"}");
  r = api("POST", "/api/v1/apps/web/sync", "{\"prune\": \"yes\"}");
  assert_reply(&r, 400, "{\"error\":\"prune and dryRun are true or false\"}");
}

static void api_sync_and_rollback(void **state) {
  response r = api("POST", "/api/v1/apps/web/sync", "");
  assert_reply(&r, 202, "{}");
  assert_string_equal(seen.synced, "web");
  r = api("POST", "/api/v1/apps/web/rollback", "{\"id\": 3}");
  assert_reply(&r, 200, "{\"app\":\"web\",\"id\":3}");
  r = api("POST", "/api/v1/apps/web/rollback", "");
  assert_reply(&r, 200, "{\"app\":\"web\",\"id\":null}");
  r = api("POST", "/api/v1/apps/web/rollback", "{\"id\": \"three\"}");
  assert_reply(&r, 400, "{\"error\":\"id is not an integer\"}");
  r = api("POST", "/api/v1/apps/web/rollback", "[3]");
  assert_reply(&r, 400, "{\"error\":\"the body is not a JSON object\"}");
  r = api("POST", "/api/v1/apps/nope/sync", "");
  assert_int_equal(r.status, 404);
}

/* ---- webhooks ------------------------------------------------------------------- */

static const char github_push[] =
    "{\"ref\":\"refs/heads/main\",\"after\":\"4b825dc642cb6eb9a060e54bf8d69288fbee4904\",\"repository\":{"
    "\"clone_url\":\"https://github.com/acme/deploy.git\",\"ssh_url\":\"git@github.com:acme/deploy.git\","
    "\"html_url\":\"https://github.com/acme/deploy\"}}";

static const char gitlab_push[] =
    "{\"object_kind\":\"push\",\"ref\":\"refs/heads/main\",\"project\":{"
    "\"git_http_url\":\"https://gitlab.com/acme/deploy.git\",\"git_ssh_url\":\"git@gitlab.com:acme/deploy.git\","
    "\"web_url\":\"https://gitlab.com/acme/deploy\"},\"repository\":{"
    "\"git_http_url\":\"https://gitlab.com/acme/deploy.git\",\"git_ssh_url\":\"git@gitlab.com:acme/deploy.git\"}}";

static const char gitea_push[] =
    "{\"ref\":\"refs/heads/release\",\"repository\":{\"clone_url\":\"https://gitea.example.com/acme/deploy.git\","
    "\"ssh_url\":\"ssh://git@gitea.example.com:2222/acme/deploy.git\"}}";

/* The hex HMAC-SHA256 of body under key. */
static const char *hmac_hex(const char *key, const char *body) {
  static char hex[2 * EVP_MAX_MD_SIZE + 1];
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len;
  HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)body, strlen(body), mac, &len);
  for (unsigned i = 0; i < len; i++) snprintf(hex + 2 * i, 3, "%02x", mac[i]);
  return hex;
}

static response deliver(const char *event_header, const char *auth_header, const char *body) {
  seen.pushes = 0;
  seen.pushed[0] = '\0';
  return request("POST", "/api/v1/webhook", (const char *[]){event_header, auth_header, NULL}, body);
}

static void github_push_signed(void **state) {
  char sig[128];
  snprintf(sig, sizeof sig, "X-Hub-Signature-256: sha256=%s", hmac_hex(SECRET, github_push));
  response r = deliver("X-GitHub-Event: push", sig, github_push);
  assert_int_equal(r.status, 200);
  assert_int_equal(seen.pushes, 1);
  assert_string_equal(seen.pushed, "github refs/heads/main https://github.com/acme/deploy.git "
                                   "git@github.com:acme/deploy.git https://github.com/acme/deploy");
  assert_string_equal(r.body, "{\"ref\":\"refs/heads/main\",\"urls\":[\"https://github.com/acme/deploy.git\","
                              "\"git@github.com:acme/deploy.git\",\"https://github.com/acme/deploy\"]}");
}

static void github_push_with_a_bad_signature(void **state) {
  char sig[128];
  snprintf(sig, sizeof sig, "X-Hub-Signature-256: sha256=%s", hmac_hex("not-the-secret", github_push));
  const char *bad[] = {sig, "X-Hub-Signature-256: sha256=00", "X-Hub-Signature: sha1=0000", NULL};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    response r = deliver("X-GitHub-Event: push", bad[i], github_push);
    assert_reply(&r, 401, "{\"error\":\"the signature or token is wrong\"}");
    assert_int_equal(seen.pushes, 0);
  }
}

static void github_other_events_are_ignored(void **state) {
  const char *ping = "{\"zen\":\"Keep it logically awesome.\"}";
  char sig[128];
  snprintf(sig, sizeof sig, "X-Hub-Signature-256: sha256=%s", hmac_hex(SECRET, ping));
  response r = deliver("X-GitHub-Event: ping", sig, ping);
  assert_reply(&r, 200, "{\"ignored\":\"ping\"}");
  assert_int_equal(seen.pushes, 0);
}

static void gitlab_push_with_its_token(void **state) {
  response r = deliver("X-Gitlab-Event: Push Hook", "X-Gitlab-Token: " SECRET, gitlab_push);
  assert_int_equal(r.status, 200);
  assert_string_equal(seen.pushed, "gitlab refs/heads/main https://gitlab.com/acme/deploy.git "
                                   "git@gitlab.com:acme/deploy.git https://gitlab.com/acme/deploy");
  r = deliver("X-Gitlab-Event: Push Hook", "X-Gitlab-Token: hook-secreT", gitlab_push);
  assert_int_equal(r.status, 401);
  r = deliver("X-Gitlab-Event: Push Hook", NULL, gitlab_push);
  assert_int_equal(r.status, 401);
  assert_int_equal(seen.pushes, 0);
}

static void gitea_push_signed(void **state) {
  char sig[128];
  snprintf(sig, sizeof sig, "X-Gitea-Signature: %s", hmac_hex(SECRET, gitea_push));
  /* Gitea sends GitHub's event header too; its own signature decides. */
  response r = request("POST", "/api/v1/webhook",
                       (const char *[]){"X-Gitea-Event: push", "X-GitHub-Event: push", sig, NULL}, gitea_push);
  assert_int_equal(r.status, 200);
  assert_string_equal(seen.pushed, "gitea refs/heads/release https://gitea.example.com/acme/deploy.git "
                                   "ssh://git@gitea.example.com:2222/acme/deploy.git");
  snprintf(sig, sizeof sig, "X-Gitea-Signature: %s", hmac_hex(SECRET, github_push));
  r = deliver("X-Gitea-Event: push", sig, gitea_push);
  assert_int_equal(r.status, 401);
  assert_int_equal(seen.pushes, 0);
}

static void webhook_malformed_deliveries(void **state) {
  const char *bodies[] = {"not json", "{\"ref\":\"refs/heads/main\"}", "{\"repository\":{\"clone_url\":\"x\"}}"};
  for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
    response r = deliver("X-Gitlab-Event: Push Hook", "X-Gitlab-Token: " SECRET, bodies[i]);
    assert_reply(&r, 400, "{\"error\":\"not a push event's payload\"}");
  }
  response r = deliver("X-Bitbucket-Event: push", NULL, github_push);
  assert_reply(&r, 400, "{\"error\":\"not a GitHub, GitLab or Gitea delivery\"}");
  r = get("/api/v1/webhook");
  assert_int_equal(r.status, 405);
  assert_int_equal(seen.pushes, 0);
}

/* ---- limits ------------------------------------------------------------------------ */

static size_t read_zeros(char *to, size_t size, size_t n, void *left) {
  size_t *rest = left, take = size * n < *rest ? size * n : *rest;
  memset(to, '0', take);
  *rest -= take;
  return take;
}

static void oversized_bodies_are_refused(void **state) {
  static char big[MAX_BODY + 2];
  memset(big, ' ', sizeof big - 1);
  response r = request("POST", "/api/v1/webhook", (const char *[]){"X-Gitlab-Event: Push Hook", NULL}, big);
  assert_reply(&r, 413, "{\"error\":\"the body is too large\"}");
  big[MAX_BODY] = '\0';
  r = api("POST", "/api/v1/apps/web/rollback", big); /* exactly the limit: read, then refused as no JSON */
  assert_int_equal(r.status, 400);

  /* Chunked, with no length declared: read up to the limit, the rest dropped. */
  size_t left = 3 * MAX_BODY;
  response sink = {0};
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/apps/web/sync", serve_port(server));
  CURL *h = curl_easy_init();
  struct curl_slist *list = curl_slist_append(NULL, AUTH);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, read_zeros);
  curl_easy_setopt(h, CURLOPT_READDATA, &left);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  assert_int_equal(curl_easy_perform(h), CURLE_OK);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  assert_int_equal(status, 413);
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
}

/* Each route reads as much body as it needs: a webhook delivery up to
 * max_body, an API call 64 KiB, the probes none. */
static void bodies_are_bounded_by_route(void **state) {
  serve *s = NULL;
  char *err = NULL;
  serve_opts o = {.address = "127.0.0.1", .token = TOKEN, .webhook_secret = SECRET, .max_body = 1 << 20};
  o.api[SERVE_ROLLBACK] = rollback_app;
  assert_int_equal(serve_start(&s, &o, &err), 0);
  static char body[100 << 10];
  memset(body, ' ', sizeof body - 1);
  response r = request_on(serve_port(s), "POST", "/api/v1/webhook",
                          (const char *[]){"X-Gitlab-Event: Push Hook", "X-Gitlab-Token: wrong", NULL}, body, -1);
  assert_int_equal(r.status, 401); /* read whole, then judged */
  r = request_on(serve_port(s), "POST", "/api/v1/apps/web/rollback", (const char *[]){AUTH, NULL}, body, -1);
  assert_reply(&r, 413, "{\"error\":\"the body is too large\"}");
  r = request_on(serve_port(s), "GET", "/healthz", NULL, "ten bytes!", -1);
  assert_int_equal(r.status, 413);
  serve_stop(s);
}

static void bad_addresses_are_refused(void **state) {
  serve *s = NULL;
  char *err = NULL;
  serve_opts o = {.address = "localhost"};
  assert_int_equal(serve_start(&s, &o, &err), -1);
  assert_null(s);
  assert_string_equal(err, "not an IP address: localhost");
  free(err);
  o.address = "127.0.0.1";
  o.port = serve_port(server);
  assert_int_equal(serve_start(&s, &o, &err), -1);
  char want[64];
  snprintf(want, sizeof want, "cannot listen on port %u: Address already in use", o.port);
  assert_string_equal(err, want);
  free(err);
}

static void the_probe_port_serves_the_probes_alone(void **state) {
  unsigned port = serve_probe_port(server);
  assert_int_not_equal(port, 0);
  assert_int_not_equal(port, serve_port(server));
  response r = request_on(port, "GET", "/healthz", NULL, NULL, -1);
  assert_reply(&r, 200, "ok\n");
  serve_set_ready(server, true);
  r = request_on(port, "GET", "/readyz", NULL, NULL, -1);
  assert_reply(&r, 200, "ok\n");
  serve_set_ready(server, false);
  r = request_on(port, "GET", "/metrics", NULL, NULL, -1);
  assert_int_equal(r.status, 200);
  r = request_on(port, "GET", "/api/v1/apps", (const char *[]){AUTH, NULL}, NULL, -1);
  assert_int_equal(r.status, 404);
  r = request_on(port, "POST", "/api/v1/webhook", (const char *[]){"X-Gitlab-Event: Push Hook", NULL}, "{}", -1);
  assert_int_equal(r.status, 404);
}

static double ms_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* A connection from 127.0.0.2 that sends half a request and waits. */
static int idle_client(unsigned port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.2", &from.sin_addr);
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof from) != 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0)
    fail_msg("idle client: %s", strerror(errno));
  static const char half[] = "GET /api/v1/apps HTTP/1.1\r\nHost: plumb\r\n";
  if (write(fd, half, sizeof half - 1) < 0) fail_msg("idle client: %s", strerror(errno));
  return fd;
}

/* Whether the server closed fd (a read that ends or fails). */
static bool closed_by_server(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  char c;
  return poll(&p, 1, 0) == 1 && read(fd, &c, 1) <= 0;
}

/* Idle connections, 2,000 (as the open-file limit allows) from one
 * address, each with half a request: the probes, the API and a webhook
 * from another address answer as fast as ever, and the server drops the
 * idle ones once their header time is up. */
static void idle_connections_starve_nothing(void **state) {
  struct rlimit lim;
  getrlimit(RLIMIT_NOFILE, &lim);
  size_t n = lim.rlim_cur > 4400 ? 2000 : (lim.rlim_cur - 400) / 2;
  int *fds = calloc(n, sizeof *fds);
  for (size_t i = 0; i < n; i++) fds[i] = idle_client(serve_port(server));
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  response r = request_on(serve_probe_port(server), "GET", "/healthz", NULL, NULL, -1);
  assert_int_equal(r.status, 200);
  r = api("GET", "/api/v1/apps", NULL);
  assert_int_equal(r.status, 200);
  r = request("POST", "/api/v1/webhook", (const char *[]){"X-Gitlab-Event: Push Hook", "X-Gitlab-Token: wrong", NULL},
              "{}");
  assert_int_equal(r.status, 401);
  r = get("/healthz");
  assert_int_equal(r.status, 200);
  double took = ms_since(&t0);
  if (took > 500) fail_msg("four requests beside %zu idle connections took %.0f ms", n, took);
  usleep((HEADER_TIMEOUT_S + 2) * 1000 * 1000);
  size_t closed = 0;
  for (size_t i = 0; i < n; i++) {
    closed += closed_by_server(fds[i]);
    close(fds[i]);
  }
  free(fds);
  if (closed != n) fail_msg("%zu of %zu idle connections still open after the header timeout", n - closed, n);
}

/* ---- sessions, CSRF, the UI, event streams ------------------------------------------- */

/* The session id in a Set-Cookie header, as a Cookie header. */
static void cookie_of(const response *r, char out[128]) {
  const char *v = strstr(r->cookie, "plumb_session=");
  if (!v) fail_msg("no session cookie in \"%s\"", r->cookie);
  snprintf(out, 128, "Cookie: %.*s", (int)strcspn(v, ";"), v);
}

static void csrf_of(const response *r, char out[128]) {
  json_t *j = json_loads(r->body, 0, NULL);
  const char *csrf = json_string_value(json_object_get(j, "csrf"));
  if (!csrf) fail_msg("no csrf in %s", r->body);
  snprintf(out, 128, "X-CSRF-Token: %s", csrf);
  json_decref(j);
}

static response login(const char *user, const char *password) {
  char body[256];
  snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, password);
  return request("POST", "/api/v1/session", NULL, body);
}

/* alice's session: its Cookie and X-CSRF-Token headers. */
static void alice_signs_in(char cookie[128], char csrf[128]) {
  response r = login("alice", "alice-pass");
  cookie_of(&r, cookie);
  csrf_of(&r, csrf);
}

static void a_password_opens_a_session_in_a_safe_cookie(void **state) {
  response r = login("alice", "alice-pass");
  assert_int_equal(r.status, 200);
  assert_contains(r.body, "\"user\":\"alice\"");
  assert_contains(r.body, "\"groups\":[\"devs\"]");
  assert_contains(r.cookie, "HttpOnly");
  assert_contains(r.cookie, "Secure");
  assert_contains(r.cookie, "SameSite=Strict");
  char cookie[128];
  cookie_of(&r, cookie);
  r = request("GET", "/api/v1/session", (const char *[]){cookie, NULL}, NULL);
  assert_int_equal(r.status, 200);
  assert_contains(r.body, "\"user\":\"alice\"");
  r = request("GET", "/api/v1/apps", (const char *[]){cookie, NULL}, NULL);
  assert_int_equal(r.status, 200);
  r = login("alice", "wrong");
  assert_reply(&r, 401, "{\"error\":\"wrong user name or password\"}");
  assert_string_equal(r.cookie, "");
  r = login("nobody", "alice-pass");
  assert_reply(&r, 401, "{\"error\":\"wrong user name or password\"}");
  r = request("POST", "/api/v1/session", NULL, "{\"username\": 1}");
  assert_int_equal(r.status, 400);
}

/* A cookie's request that changes something needs the session's CSRF
 * token; a bearer token's does not (no browser sends one by itself). */
static void a_cookie_needs_its_csrf_token_to_change_anything(void **state) {
  char cookie[128], csrf[128];
  alice_signs_in(cookie, csrf);
  response r = request("POST", "/api/v1/apps/web/sync", (const char *[]){cookie, NULL}, "");
  assert_reply(&r, 403, "{\"error\":\"missing or wrong CSRF token\"}");
  r = request("POST", "/api/v1/apps/web/sync", (const char *[]){cookie, "X-CSRF-Token: 0000", NULL}, "");
  assert_int_equal(r.status, 403);
  r = request("POST", "/api/v1/apps/web/sync", (const char *[]){cookie, csrf, NULL}, "");
  assert_int_equal(r.status, 202);
  r = api("POST", "/api/v1/apps/web/sync", "");
  assert_int_equal(r.status, 202);
}

static void signing_out_ends_the_session(void **state) {
  char cookie[128], csrf[128];
  alice_signs_in(cookie, csrf);
  response r = request("DELETE", "/api/v1/session", (const char *[]){cookie, NULL}, NULL);
  assert_int_equal(r.status, 403);
  r = request("DELETE", "/api/v1/session", (const char *[]){cookie, csrf, NULL}, NULL);
  assert_int_equal(r.status, 200);
  assert_contains(r.cookie, "Max-Age=0");
  r = request("GET", "/api/v1/session", (const char *[]){cookie, NULL}, NULL);
  assert_reply(&r, 401, "{\"error\":\"the session has ended: sign in again\"}");
}

/* The CLI asks for the session as a bearer token instead of a cookie. */
static void plumb_login_gets_a_bearer_token(void **state) {
  response r = request("POST", "/api/v1/session", NULL,
                       "{\"username\":\"alice\",\"password\":\"alice-pass\",\"token\":true}");
  assert_int_equal(r.status, 200);
  assert_string_equal(r.cookie, "");
  json_t *j = json_loads(r.body, 0, NULL);
  char bearer[128];
  snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", json_string_value(json_object_get(j, "token")));
  json_decref(j);
  r = request("POST", "/api/v1/apps/web/sync", (const char *[]){bearer, NULL}, "");
  assert_int_equal(r.status, 202);
}

static void the_ui_is_served_under_a_strict_policy(void **state) {
  response r = get("/");
  assert_int_equal(r.status, 200);
  assert_string_equal(r.type, "text/html; charset=utf-8");
  assert_contains(r.body, "<script src=\"/assets/app.js\"");
  assert_contains(r.csp, "default-src 'none'");
  assert_contains(r.csp, "script-src 'self'");
  assert_contains(r.csp, "frame-ancestors 'none'");
  response page = get("/apps/web");
  assert_string_equal(page.body, r.body);
  r = get("/assets/app.js");
  assert_int_equal(r.status, 200);
  assert_string_equal(r.type, "text/javascript; charset=utf-8");
  r = get("/assets/style.css");
  assert_string_equal(r.type, "text/css; charset=utf-8");
  assert_int_equal(get("/assets/none.js").status, 404);
  assert_int_equal(get("/assets/../Makefile").status, 404);
  assert_int_equal(request("POST", "/", NULL, "").status, 405);
  /* Anyone may ask what the login page offers: here, no single sign-on. */
  r = get("/api/v1/settings");
  assert_reply(&r, 200, "{}");
  assert_int_equal(get("/auth/login").status, 404);
  /* The API's answers are never cached, nor guessed at. */
  r = api("GET", "/api/v1/apps", NULL);
  assert_contains(r.csp, "default-src 'none'");
}

/* Five failures for a user, or from an address, lock its logins for a
 * while, the right password included. */
static void failed_logins_are_throttled(void **state) {
  serve *s;
  char *err = NULL;
  auth *a = NULL;
  if (auth_load(&a, accounts_file, &err) != 0) fail_msg("%s", err);
  serve_opts o = {.address = "127.0.0.1", .auth = a};
  assert_int_equal(serve_start(&s, &o, &err), 0);
  const char *wrong = "{\"username\":\"viewer\",\"password\":\"nope\"}";
  for (int i = 0; i < 5; i++)
    assert_int_equal(request_on(serve_port(s), "POST", "/api/v1/session", NULL, wrong, -1).status, 401);
  response r = request_on(serve_port(s), "POST", "/api/v1/session", NULL,
                          "{\"username\":\"viewer\",\"password\":\"viewer-pass\"}", -1);
  assert_int_equal(r.status, 429);
  assert_contains(r.body, "too many failed logins");
  serve_stop(s);
  auth_free(a);
}

static atomic_long news;

/* An event per tick the test makes. */
static char *tick_events(const serve_call *call, long long *seq, void *ctx) {
  long n = atomic_load(&news);
  if (*seq < 0 || *seq >= n) {
    if (*seq < 0) *seq = n;
    return NULL;
  }
  char *text = NULL;
  if (asprintf(&text, "id: %ld\nevent: tick\ndata: {\"by\":\"%s\"}\n\n", n, call->who->user) < 0) abort();
  *seq = n;
  return text;
}

static void *tick_later(void *arg) {
  usleep(300 * 1000);
  atomic_store(&news, 1);
  serve_notify(server);
  return NULL;
}

/* Stops the transfer once a tick came. */
static size_t until_tick(char *data, size_t size, size_t n, void *out) {
  collect(data, size, n, out);
  return strstr(((response *)out)->body, "event: tick") ? 0 : size * n;
}

/* A stream sends nothing until the owner has news, then sends it at once. */
static void a_stream_carries_news_as_it_comes(void **state) {
  pthread_t t;
  pthread_create(&t, NULL, tick_later, NULL);
  static response r;
  memset(&r, 0, sizeof r);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/stream", serve_port(server));
  CURL *h = curl_easy_init();
  struct curl_slist *list = curl_slist_append(NULL, AUTH);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, until_tick);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CURLcode rc = curl_easy_perform(h);
  double took = ms_since(&t0);
  pthread_join(t, NULL);
  assert_int_equal(rc, CURLE_WRITE_ERROR); /* stopped by until_tick, not by the timeout */
  assert_string_equal(r.body, "id: 1\nevent: tick\ndata: {\"by\":\"admin\"}\n\n");
  if (took > 1500) fail_msg("the event took %.0f ms", took);
  char type[128] = "";
  copy_header(h, "Content-Type", type, sizeof type);
  assert_string_equal(type, "text/event-stream; charset=utf-8");
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  r = get("/api/v1/stream");
  assert_int_equal(r.status, 401);
}

/* ---- bodies written as they come ------------------------------------------ */

static atomic_bool client_saw_one, writer_waited_out, writer_ended;

static void sleep_ms(long ms) { usleep((useconds_t)ms * 1000); }

/* Writes "one", waits for the client to have it (so it was sent before
 * the body ended), then "two". */
static void write_two(serve_feed *f, void *job) {
  serve_feed_write(f, "one\n", 4);
  int waited = 0;
  while (!atomic_load(&client_saw_one) && waited++ < 100) sleep_ms(50);
  atomic_store(&writer_waited_out, !atomic_load(&client_saw_one));
  serve_feed_write(f, "two\n", 4);
  free(job);
}

/* Writes a line every 20 ms until told the client is gone. */
static void write_on(serve_feed *f, void *job) {
  for (int i = 0; i < 500 && serve_feed_write(f, "line\n", 5); i++) sleep_ms(20);
  atomic_store(&writer_ended, true);
  free(job);
}

/* Writes nothing, asking every 20 ms whether to go on. */
static void write_nothing(serve_feed *f, void *job) {
  for (int i = 0; i < 500 && serve_feed_write(f, NULL, 0); i++) sleep_ms(20);
  atomic_store(&writer_ended, true);
  free(job);
}

static int get_logs(const serve_call *call, json_t **out, void *ctx) {
  const char *how = json_string_value(json_object_get(call->query, "how"));
  *call->feed = !how ? NULL : strcmp(how, "two") == 0 ? write_two : strcmp(how, "on") == 0 ? write_on : write_nothing;
  *call->feed_job = malloc(16); /* the writer's to free, as a job is */
  if (!*call->feed) free(*call->feed_job);
  return *call->feed ? 200 : 400;
}

static size_t saw_one(char *data, size_t size, size_t n, void *out) {
  collect(data, size, n, out);
  if (strstr(((response *)out)->body, "one\n")) atomic_store(&client_saw_one, true);
  return size * n;
}

/* A GET of the feed route asking for the writer how, its pieces to fn
 * with r; feed_done frees it. */
static CURL *feed_request(unsigned port, const char *how, curl_write_callback fn, response *r) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/apps/web/logs?how=%s", port, how);
  CURL *h = curl_easy_init();
  struct curl_slist *list = curl_slist_append(NULL, AUTH);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_PRIVATE, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fn ? fn : collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  return h;
}

static void feed_done(CURL *h) {
  struct curl_slist *list;
  curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&list);
  curl_slist_free_all(list);
  curl_easy_cleanup(h); /* closes the connection */
}

/* What the writer writes reaches the client as it comes, as text. */
static void a_feed_sends_each_write_as_it_comes(void **state) {
  static response r;
  memset(&r, 0, sizeof r);
  atomic_store(&client_saw_one, false);
  CURL *h = feed_request(serve_port(server), "two", saw_one, &r);
  assert_int_equal(curl_easy_perform(h), CURLE_OK);
  assert_string_equal(r.body, "one\ntwo\n");
  assert_false(atomic_load(&writer_waited_out));
  char type[128] = "";
  copy_header(h, "Content-Type", type, sizeof type);
  assert_string_equal(type, "text/plain; charset=utf-8");
  feed_done(h);
  assert_int_equal(get("/api/v1/apps/web/logs?how=two").status, 401);
}

/* Stops the transfer at the first piece. */
static size_t first_piece(char *data, size_t size, size_t n, void *out) {
  collect(data, size, n, out);
  return 0;
}

/* A client that goes away ends its writer. */
static void a_writer_learns_that_its_client_went_away(void **state) {
  static response r;
  memset(&r, 0, sizeof r);
  atomic_store(&writer_ended, false);
  CURL *h = feed_request(serve_port(server), "on", first_piece, &r);
  assert_int_equal(curl_easy_perform(h), CURLE_WRITE_ERROR);
  feed_done(h);
  assert_string_equal(r.body, "line\n");
  for (int i = 0; i < 100 && !atomic_load(&writer_ended); i++) sleep_ms(20);
  assert_true(atomic_load(&writer_ended));
}

static void *read_quiet_feed(void *port) {
  static response r;
  CURL *h = feed_request(*(unsigned *)port, "quiet", NULL, &r);
  curl_easy_perform(h);
  feed_done(h);
  return NULL;
}

/* serve_stop ends a feed that writes nothing (a quiet log) and waits for
 * its writer. */
static void stopping_the_server_ends_its_feeds(void **state) {
  serve *s;
  char *err = NULL;
  serve_opts o = {.address = "127.0.0.1", .token = TOKEN};
  o.api[SERVE_LOGS] = get_logs;
  assert_int_equal(serve_start(&s, &o, &err), 0);
  atomic_store(&writer_ended, false);
  unsigned port = serve_port(s);
  pthread_t t;
  pthread_create(&t, NULL, read_quiet_feed, &port);
  sleep_ms(300);
  assert_false(atomic_load(&writer_ended));
  serve_stop(s);
  assert_true(atomic_load(&writer_ended));
  pthread_join(t, NULL);
}

int main(void) {
  /* The idle connections' test holds two files a connection. */
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(healthz_answers_while_the_process_runs),
      cmocka_unit_test(readyz_follows_the_owner),
      cmocka_unit_test(unknown_paths_are_not_found),
      cmocka_unit_test(metrics_in_prometheus_text_format),
      cmocka_unit_test(api_without_a_token_is_unauthorized),
      cmocka_unit_test(api_with_a_wrong_token_is_unauthorized),
      cmocka_unit_test(api_with_the_token_answers),
      cmocka_unit_test(api_without_a_configured_token_refuses_everyone),
      cmocka_unit_test(api_routes_to_the_owners_callbacks),
      cmocka_unit_test(api_unknown_app_or_route_is_not_found),
      cmocka_unit_test(api_wrong_method_is_not_allowed),
      cmocka_unit_test(api_sync_and_rollback),
      cmocka_unit_test(github_push_signed),
      cmocka_unit_test(github_push_with_a_bad_signature),
      cmocka_unit_test(github_other_events_are_ignored),
      cmocka_unit_test(gitlab_push_with_its_token),
      cmocka_unit_test(gitea_push_signed),
      cmocka_unit_test(webhook_malformed_deliveries),
      cmocka_unit_test(oversized_bodies_are_refused),
      cmocka_unit_test(bad_addresses_are_refused),
      cmocka_unit_test(bodies_are_bounded_by_route),
      cmocka_unit_test(the_probe_port_serves_the_probes_alone),
      cmocka_unit_test(idle_connections_starve_nothing),
      cmocka_unit_test(a_password_opens_a_session_in_a_safe_cookie),
      cmocka_unit_test(a_cookie_needs_its_csrf_token_to_change_anything),
      cmocka_unit_test(signing_out_ends_the_session),
      cmocka_unit_test(plumb_login_gets_a_bearer_token),
      cmocka_unit_test(the_ui_is_served_under_a_strict_policy),
      cmocka_unit_test(failed_logins_are_throttled),
      cmocka_unit_test(a_stream_carries_news_as_it_comes),
      cmocka_unit_test(a_feed_sends_each_write_as_it_comes),
      cmocka_unit_test(a_writer_learns_that_its_client_went_away),
      cmocka_unit_test(stopping_the_server_ends_its_feeds),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
