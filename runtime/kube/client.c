/* client.c: HTTP to the API server: authentication, TLS, retries, rate
 * limiting, and turning API Status bodies into words a user can act on.
 *
 * One curl easy handle serves every request, so the TLS connection (HTTP/2
 * when the server offers it) is reused. */
#include "kube/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void kube_fail(kube_client *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->error, sizeof c->error, fmt, ap);
  va_end(ap);
}

const char *kube_last_error(const kube_client *c) { return c->error; }
long kube_request_count(const kube_client *c) { return c->requests; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s) {
  if (s <= 0) return;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Token bucket: burst requests at once, then qps per second. */
static void rate_limit(kube_client *c) {
  if (c->opts.qps <= 0) return;
  double t = now_s(), burst = c->opts.burst > 0 ? c->opts.burst : c->opts.qps;
  c->tokens += (t - c->last_fill) * c->opts.qps;
  if (c->tokens > burst) c->tokens = burst;
  c->last_fill = t;
  if (c->tokens < 1) {
    sleep_s((1 - c->tokens) / c->opts.qps);
    c->tokens = 1;
    c->last_fill = now_s();
  }
  c->tokens -= 1;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx) {
  buf_put(ctx, data, size * n);
  return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx) {
  kube_client *c = ctx;
  size_t len = size * n;
  if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) c->retry_after = atof(data + 12);
  return len;
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
    if (asprintf(err, "invalid server URL \"%s\"", c->cfg->server) < 0) *err = NULL;
    return KUBE_ERROR;
  }
  curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
  const char *name = c->cfg->tls_server_name ? c->cfg->tls_server_name : host;
  if (asprintf(&c->base, "%s://%s:%s", scheme, name, port) < 0) abort();
  if (c->cfg->tls_server_name) {
    char *map;
    if (asprintf(&map, "%s:%s:%s:%s", name, port, host, port) < 0) abort();
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
  kube_client *c = calloc(1, sizeof *c);
  if (!c) abort();
  c->cfg = cfg;
  if (opts) c->opts = *opts;
  if (!c->opts.timeout_ms) c->opts.timeout_ms = 30000;
  if (!opts) c->opts.max_retries = 5;
  c->tokens = c->opts.burst > 0 ? c->opts.burst : c->opts.qps;
  c->last_fill = now_s();
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
  curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
  curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_error);
  setup_tls(c);
  *out = c;
  return KUBE_OK;
}

void kube_client_free(kube_client *c) {
  if (!c) return;
  if (c->curl) curl_easy_cleanup(c->curl);
  curl_slist_free_all(c->connect_to);
  kube_discovery_free(c);
  free(c->base);
  free(c);
}

/* ---- errors ------------------------------------------------------------- */

/* An API Status body says what went wrong in the server's own words; the
 * code names the kind of failure for the caller. */
static int status_error(kube_client *c, long code, json_t *body, const char *method, const char *path) {
  const char *msg = json_string_value(json_object_get(body, "message"));
  const char *reason = json_string_value(json_object_get(body, "reason"));
  if (code == 401) {
    kube_fail(c, "token rejected (401): %s: the server does not accept the credentials of user \"%s\"",
              msg ? msg : "Unauthorized", c->cfg->user ? c->cfg->user : "?");
    return KUBE_EAUTH;
  }
  if (code == 403) {
    kube_fail(c, "forbidden: %s", msg ? msg : path);
    return KUBE_EFORBIDDEN;
  }
  if (msg)
    kube_fail(c, "%s (%ld%s%s)", msg, code, reason ? " " : "", reason ? reason : "");
  else
    kube_fail(c, "%s %s: HTTP %ld", method, path, code);
  return code == 404 ? KUBE_ENOTFOUND : code == 409 ? KUBE_ECONFLICT : code == 410 ? KUBE_EGONE : KUBE_ERROR;
}

static int transport_error(kube_client *c, CURLcode rc) {
  const char *detail = c->curl_error[0] ? c->curl_error : curl_easy_strerror(rc);
  if (rc == CURLE_PEER_FAILED_VERIFICATION || strstr(detail, "certificate"))
    kube_fail(c, "certificate verify failed for %s: %s%s", c->cfg->server,
              strstr(detail, "local issuer") || strstr(detail, "self-signed") ? "unknown authority; " : "", detail);
  else
    kube_fail(c, "cannot reach %s: %s", c->cfg->server, detail);
  return KUBE_EUNREACHABLE;
}

/* ---- requests ------------------------------------------------------------ */

static bool retryable_status(long code) { return code == 429 || code == 500 || code == 502 || code == 503 || code == 504; }

static bool retryable_transport(CURLcode rc) {
  return rc == CURLE_COULDNT_CONNECT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
         rc == CURLE_PARTIAL_FILE || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM || rc == CURLE_OPERATION_TIMEDOUT;
}

/* Repeating a create could make two objects; everything else Plumb sends is
 * idempotent (reads, server-side apply, deletes). */
static bool safe_to_repeat(const char *method) { return strcmp(method, "POST") != 0; }

/* Exponential from 100 ms, capped at 5 s, with full jitter; Retry-After wins
 * when the server gives one (capped at 30 s). */
static double backoff(kube_client *c, int attempt) {
  if (c->retry_after > 0) return c->retry_after < 30 ? c->retry_after : 30;
  double cap = 0.1 * (double)(1 << (attempt < 6 ? attempt : 6));
  if (cap > 5) cap = 5;
  return cap * (0.5 + 0.5 * (double)rand() / RAND_MAX);
}

struct curl_slist *kube_headers(kube_client *c, const char *content_type, const char *accept, char **err) {
  struct curl_slist *h = NULL;
  char line[512];
  const char *token = NULL;
  if (kube_config_bearer(c->cfg, &token, err) != 0) return NULL;
  if (token) {
    char *auth;
    if (asprintf(&auth, "Authorization: Bearer %s", token) < 0) abort();
    h = curl_slist_append(h, auth);
    free(auth);
  }
  if (c->cfg->exec_cert_pem) set_blob(c->curl, CURLOPT_SSLCERT_BLOB, c->cfg->exec_cert_pem);
  if (c->cfg->exec_key_pem) set_blob(c->curl, CURLOPT_SSLKEY_BLOB, c->cfg->exec_key_pem);
  snprintf(line, sizeof line, "Accept: %s", accept ? accept : "application/json");
  h = curl_slist_append(h, line);
  if (content_type) {
    snprintf(line, sizeof line, "Content-Type: %s", content_type);
    h = curl_slist_append(h, line);
  }
  return curl_slist_append(h, "Expect:");
}

/* One attempt. *code is the HTTP status, 0 when nothing came back. */
static CURLcode perform(kube_client *c, const char *method, const char *url, struct curl_slist *hdrs,
                        const char *body, size_t len, buf *resp, long *code) {
  CURL *h = c->curl;
  rate_limit(c);
  resp->len = 0;
  c->retry_after = 0;
  c->curl_error[0] = '\0';
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->opts.timeout_ms);
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L); /* forget the last request's body */
  if (body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  }
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  c->requests++;
  CURLcode rc = curl_easy_perform(h);
  *code = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
  return rc;
}

int kube_request_accept(kube_client *c, const char *method, const char *path, const char *content_type,
                        const char *accept, const char *body, size_t len, json_t **out) {
  char *err = NULL;
  if (out) *out = NULL;
  struct curl_slist *hdrs = kube_headers(c, content_type, accept, &err);
  if (!hdrs) {
    kube_fail(c, "%s", err ? err : "cannot build the request");
    free(err);
    return KUBE_EAUTH;
  }
  char *url;
  if (asprintf(&url, "%s%s", c->base, path) < 0) abort();
  buf resp = {0};
  long code = 0;
  CURLcode rc = CURLE_OK;
  bool refreshed = false;
  for (int attempt = 0;; attempt++) {
    rc = perform(c, method, url, hdrs, body, len, &resp, &code);
    /* An exec credential the server refuses may have been revoked before
     * it expired: fetch a new one, once. */
    if (rc == CURLE_OK && code == 401 && c->cfg->exec && !refreshed) {
      refreshed = true;
      c->cfg->exec_expiry = 1;
      curl_slist_free_all(hdrs);
      if (!(hdrs = kube_headers(c, content_type, accept, &err))) break;
      continue;
    }
    bool again = rc == CURLE_OK ? retryable_status(code) : retryable_transport(rc);
    if (!again || !safe_to_repeat(method) || attempt >= c->opts.max_retries) break;
    sleep_s(backoff(c, attempt));
  }
  curl_slist_free_all(hdrs);
  free(url);
  if (!hdrs && err) {
    kube_fail(c, "%s", err);
    free(err);
    buf_free(&resp);
    return KUBE_EAUTH;
  }
  int result = KUBE_OK;
  json_t *json = resp.len ? json_loadb(resp.data, resp.len, 0, NULL) : NULL;
  if (rc != CURLE_OK)
    result = transport_error(c, rc);
  else if (code >= 300)
    result = status_error(c, code, json, method, path);
  else if (resp.len && !json)
    kube_fail(c, "%s %s: the answer is not JSON", method, path), result = KUBE_ERROR;
  buf_free(&resp);
  if (result == KUBE_OK && out)
    *out = json;
  else
    json_decref(json);
  return result;
}

int kube_request(kube_client *c, const char *method, const char *path, const char *content_type, const char *body,
                 size_t len, json_t **out) {
  return kube_request_accept(c, method, path, content_type, NULL, body, len, out);
}
