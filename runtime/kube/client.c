/* client.c: the client itself: the server's address, TLS, credentials in
 * headers and the rate limit. Sending requests (retries, many at once, the
 * words for failures) is request.c's. */
#include "kube/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/arena.h"

/* The credentials live in the kube_config, which clients in several threads
 * may share: a rotated token file or an exec plugin's renewal rewrites them. */
static pthread_mutex_t cred_lock = PTHREAD_MUTEX_INITIALIZER;

void kube_fail(kube_client *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->error, sizeof c->error, fmt, ap);
  va_end(ap);
}

const char *kube_last_error(const kube_client *c) { return c->error; }
long kube_request_count(const kube_client *c) { return c->requests; }
const char *kube_default_namespace(const kube_client *c) {
  return c->namespace ? c->namespace : c->cfg->namespace ? c->cfg->namespace : "default";
}

void kube_client_set_namespace(kube_client *c, const char *ns) {
  free(c->namespace);
  c->namespace = ns && *ns ? heap_strdup(ns) : NULL;
}

double kube_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void kube_sleep(double s) {
  if (s <= 0) return;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Token bucket: burst requests at once, then qps per second. */
void kube_rate_limit(kube_client *c) {
  if (c->opts.qps <= 0) return;
  double t = kube_now(), burst = c->opts.burst > 0 ? c->opts.burst : c->opts.qps;
  c->tokens += (t - c->last_fill) * c->opts.qps;
  if (c->tokens > burst) c->tokens = burst;
  c->last_fill = t;
  if (c->tokens < 1) {
    kube_sleep((1 - c->tokens) / c->opts.qps);
    c->tokens = 1;
    c->last_fill = kube_now();
  }
  c->tokens -= 1;
}

void kube_client_interrupt(kube_client *c) { atomic_store(&c->interrupted, true); }
bool kube_interrupted(const kube_client *c) { return atomic_load(&c->interrupted); }

/* curl calls it about once a second while a transfer waits, and more often
 * while data flows: nonzero aborts the transfer. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  return kube_interrupted(ctx);
}

/* curl's blob options copy the PEM, so stack structs are fine here. */
static void set_blob(CURL *h, CURLoption opt, const char *pem) {
  struct curl_blob b = {(void *)pem, strlen(pem), CURL_BLOB_COPY};
  curl_easy_setopt(h, opt, &b);
}

static void setup_tls(kube_client *c) {
  kube_config *k = c->cfg;
  CURL *h = c->curl;
  if (k->insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (k->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, k->ca_file);
  if (k->ca_pem) set_blob(h, CURLOPT_CAINFO_BLOB, k->ca_pem);
  if (k->cert_file) curl_easy_setopt(h, CURLOPT_SSLCERT, k->cert_file);
  if (k->key_file) curl_easy_setopt(h, CURLOPT_SSLKEY, k->key_file);
  if (k->cert_pem) set_blob(h, CURLOPT_SSLCERT_BLOB, k->cert_pem);
  if (k->key_pem) set_blob(h, CURLOPT_SSLKEY_BLOB, k->key_pem);
  if (k->username) {
    curl_easy_setopt(h, CURLOPT_USERNAME, k->username);
    curl_easy_setopt(h, CURLOPT_PASSWORD, k->password ? k->password : "");
  }
}

/* tls-server-name: the certificate is checked against that name while the
 * connection still goes to the server's address, so the URL carries the
 * name and CONNECT_TO maps it to the real host. */
static int setup_server(kube_client *c, char **err) {
  CURLU *u = curl_url();
  char *host = NULL, *port = NULL, *scheme = NULL;
  if (curl_url_set(u, CURLUPART_URL, c->cfg->server, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
    curl_url_cleanup(u);
    *err = heap_printf("invalid server URL \"%s\"", c->cfg->server);
    return KUBE_ERROR;
  }
  curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
  const char *name = c->cfg->tls_server_name ? c->cfg->tls_server_name : host;
  c->base = heap_printf("%s://%s:%s", scheme, name, port);
  if (c->cfg->tls_server_name) {
    char *map;
    map = heap_printf("%s:%s:%s:%s", name, port, host, port);
    c->connect_to = curl_slist_append(NULL, map);
    free(map);
    curl_easy_setopt(c->curl, CURLOPT_CONNECT_TO, c->connect_to);
  }
  curl_free(host);
  curl_free(port);
  curl_free(scheme);
  curl_url_cleanup(u);
  return KUBE_OK;
}

int kube_client_new(kube_client **out, kube_config *cfg, const kube_client_opts *opts, char **err) {
  static bool global_init;
  if (!global_init) curl_global_init(CURL_GLOBAL_DEFAULT), global_init = true;
  kube_client *c = heap_calloc(1, sizeof *c);
  c->cfg = cfg;
  if (opts) c->opts = *opts;
  if (!c->opts.timeout_ms) c->opts.timeout_ms = 30000;
  if (!c->opts.max_retries) c->opts.max_retries = 5;
  if (c->opts.max_retries < 0) c->opts.max_retries = 0;
  c->tokens = c->opts.burst > 0 ? c->opts.burst : c->opts.qps;
  c->last_fill = kube_now();
  c->curl = curl_easy_init();
  *out = NULL;
  if (!c->curl || setup_server(c, err) != KUBE_OK) {
    kube_client_free(c);
    return KUBE_ERROR;
  }
  curl_easy_setopt(c->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "plumb/" PLUMB_VERSION);
  /* Copies of the template (requests, watches) inherit it. */
  curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
  curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
  setup_tls(c);
  *out = c;
  return KUBE_OK;
}

void kube_client_free(kube_client *c) {
  if (!c) return;
  /* Benchmarks count requests without a debugger or a proxy. */
  const char *stats = getenv("PLUMB_STATS");
  if (stats && strcmp(stats, "1") == 0) fprintf(stderr, "requests: %ld\n", c->requests);
  kube_requests_free(c);
  if (c->curl) curl_easy_cleanup(c->curl);
  curl_slist_free_all(c->connect_to);
  kube_discovery_free(c);
  kube_openapi_free(c);
  free(c->namespace);
  free(c->base);
  free(c);
}

/* Adds the Authorization header of the credential in use now, if any;
 * false with *err when there is none to be had. */
static bool add_authorization(kube_client *c, struct curl_slist **h, char **err) {
  const char *token = NULL;
  pthread_mutex_lock(&cred_lock);
  bool ok = kube_config_bearer(c->cfg, &token, err) == 0;
  if (ok && token) {
    char *auth;
    auth = heap_printf("Authorization: Bearer %s", token);
    *h = curl_slist_append(*h, auth);
    free(auth);
  }
  pthread_mutex_unlock(&cred_lock);
  return ok;
}

struct curl_slist *kube_headers(kube_client *c, const char *content_type, const char *accept, char **err) {
  struct curl_slist *h = NULL;
  char line[512];
  if (!add_authorization(c, &h, err)) return NULL;
  kube_exec_cert(c, c->curl);
  snprintf(line, sizeof line, "Accept: %s", accept ? accept : "application/json");
  h = curl_slist_append(h, line);
  if (content_type) {
    snprintf(line, sizeof line, "Content-Type: %s", content_type);
    h = curl_slist_append(h, line);
  }
  return curl_slist_append(h, "Expect:");
}

void kube_exec_cert(kube_client *c, CURL *h) {
  pthread_mutex_lock(&cred_lock);
  if (c->cfg->exec_cert_pem) set_blob(h, CURLOPT_SSLCERT_BLOB, c->cfg->exec_cert_pem);
  if (c->cfg->exec_key_pem) set_blob(h, CURLOPT_SSLKEY_BLOB, c->cfg->exec_key_pem);
  pthread_mutex_unlock(&cred_lock);
}

void kube_exec_expire(kube_client *c) {
  pthread_mutex_lock(&cred_lock);
  c->cfg->exec_expiry = 1;
  pthread_mutex_unlock(&cred_lock);
}
