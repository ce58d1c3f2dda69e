/* request.c: sending requests to the API server, one or many at once, and
 * turning API Status bodies into words a user can act on.
 *
 * Every request goes through the client's curl multi handle, which keeps the
 * TLS connection between requests; requests sent together share it as
 * HTTP/2 streams. A single request (kube_request) is a batch of one, so
 * retries, backoff, Retry-After, the renewal of a refused exec credential
 * and the words for failures are the same code either way. */
#include "kube/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plumb/arena.h"
#include "plumb/forkgate.h"

#define POLL_MS 5 /* longest wait for an answer in flight; see pump */

/* One request on its way: its handle, headers, answer and retry state. */
typedef struct {
  kube_req *req;
  size_t index;
  CURL *h;
  struct curl_slist *hdrs;
  char *url;
  buf resp;
  int attempt;
  bool refreshed;     /* the exec credential was renewed for it already */
  long epoch;         /* c->cred_epoch when its headers were made */
  double retry_after; /* the server's Retry-After, seconds */
  double wake;        /* when its next attempt may start */
  CURLcode curl_rc;
  long code;          /* HTTP status, 0 when nothing came back */
  char *auth_error;   /* no credential to send, and why */
  char errbuf[CURL_ERROR_SIZE];
} job;

/* ---- errors ------------------------------------------------------------- */

enum { STATUS_MESSAGE_MAX = 800 };

/* A refusal too long to keep whole (an invalid Job's message quotes its
 * whole template) in the words of its causes, their values left out:
 * 'Job.batch "migrate" is invalid: spec.template: field is immutable'
 * (caller frees); NULL when it has no causes. */
static char *short_message(const json_t *body) {
  const json_t *details = json_object_get(body, "details"), *causes = json_object_get(details, "causes");
  if (!json_array_size(causes)) return NULL;
  buf b = {0};
  const char *kind = kube_str(details, "kind"), *group = kube_str(details, "group"), *name = kube_str(details, "name");
  buf_printf(&b, "%s%s%s \"%s\" is invalid:", kind ? kind : "object", group && *group ? "." : "", group ? group : "",
             name ? name : "");
  size_t i;
  const json_t *cause;
  json_array_foreach(causes, i, cause) {
    const char *field = kube_str(cause, "field"), *m = kube_str(cause, "message");
    const char *last = m ? strrchr(m, ':') : NULL;
    buf_printf(&b, "%s %s: %s", i ? ";" : "", field ? field : "?", last && last[1] ? last + 2 : m ? m : "");
    if (b.len > STATUS_MESSAGE_MAX) break;
  }
  return b.data;
}

int kube_status_error(kube_client *c, long code, json_t *body, const char *method, const char *path) {
  char *shorter = kube_str(body, "message") && strlen(kube_str(body, "message")) > STATUS_MESSAGE_MAX
                      ? short_message(body)
                      : NULL;
  const char *msg = shorter ? shorter : kube_str(body, "message");
  const char *reason = kube_str(body, "reason");
  int rc = code == 401   ? KUBE_EAUTH
           : code == 403 ? KUBE_EFORBIDDEN
           : code == 404 ? KUBE_ENOTFOUND
           : code == 409 ? KUBE_ECONFLICT
           : code == 410 ? KUBE_EGONE
                         : KUBE_ERROR;
  if (code == 401)
    kube_fail(c, "token rejected (401): %s: the server does not accept the credentials of user \"%s\"",
              msg ? msg : "Unauthorized", c->cfg->user ? c->cfg->user : "?");
  else if (code == 403)
    kube_fail(c, "forbidden: %s", msg ? msg : path);
  else if (msg)
    kube_fail(c, "%s (%ld%s%s)", msg, code, reason ? " " : "", reason ? reason : "");
  else
    kube_fail(c, "%s %s: HTTP %ld", method, path, code);
  free(shorter);
  return rc;
}

int kube_transport_error(kube_client *c, CURLcode rc, const char *errbuf) {
  const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  if (rc == CURLE_PEER_FAILED_VERIFICATION || strstr(detail, "certificate"))
    kube_fail(c, "certificate verify failed for %s: %s%s", c->cfg->server,
              strstr(detail, "local issuer") || strstr(detail, "self-signed") ? "unknown authority; " : "", detail);
  else
    kube_fail(c, "cannot reach %s: %s", c->cfg->server, detail);
  return KUBE_EUNREACHABLE;
}

/* ---- retries ------------------------------------------------------------- */

static bool retryable_status(long code) { return code == 429 || code == 500 || code == 502 || code == 503 || code == 504; }

static bool retryable_transport(CURLcode rc) {
  return rc == CURLE_COULDNT_CONNECT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
         rc == CURLE_PARTIAL_FILE || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM || rc == CURLE_OPERATION_TIMEDOUT;
}

/* Repeating a create could make two objects; a DELETE without preconditions,
 * repeated, could remove an object recreated under the same name in between.
 * The rest Plumb sends is idempotent (reads, server-side apply). */
static bool safe_to_repeat(const kube_req *r) { return strcmp(r->method, "POST") != 0 && !r->once; }

/* Exponential from 100 ms, capped at 5 s, with full jitter; Retry-After wins
 * when the server gives one (capped at 30 s). */
static double backoff(const job *j) {
  if (j->retry_after > 0) return j->retry_after < 30 ? j->retry_after : 30;
  double cap = 0.1 * (double)(1 << (j->attempt < 6 ? j->attempt : 6));
  if (cap > 5) cap = 5;
  return cap * (0.5 + 0.5 * (double)rand() / RAND_MAX);
}

/* ---- curl handles ------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t n, void *ctx) {
  buf_put(ctx, data, size * n);
  return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx) {
  job *j = ctx;
  size_t len = size * n;
  if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) j->retry_after = atof(data + 12);
  return len;
}

static CURLM *multi(kube_client *c) {
  if (c->multi) return c->multi;
  if (!(c->multi = curl_multi_init())) abort();
  curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  /* A server without HTTP/2 gets a few connections, not one per request. */
  curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
  return c->multi;
}

/* A copy of the template (address, TLS), kept for the next request after. */
static CURL *take_handle(kube_client *c) {
  if (c->nidle) return c->idle[--c->nidle];
  CURL *h = curl_easy_duphandle(c->curl);
  if (!h) abort();
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  /* Requests started together wait for the first connection to say whether
   * it multiplexes, instead of each opening one. */
  curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
  return h;
}

/* A few are kept for the next requests; the copies a batch made beyond
 * them go, with the buffers each holds (about 80 KiB). */
static void give_back(kube_client *c, CURL *h) {
  if (c->nidle == KUBE_IDLE_MAX) {
    curl_easy_cleanup(h);
    return;
  }
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL); /* it lived in the job */
  c->idle[c->nidle++] = h;
}

void kube_requests_free(kube_client *c) {
  if (c->multi) curl_multi_cleanup(c->multi);
  for (size_t i = 0; i < c->nidle; i++) curl_easy_cleanup(c->idle[i]);
  c->multi = NULL;
  c->nidle = 0;
}

/* ---- one request ----------------------------------------------------------------- */

/* One attempt: onto the multi handle, which sends it. */
static void start(kube_client *c, job *j) {
  CURL *h = j->h;
  kube_rate_limit(c);
  j->resp.len = 0;
  j->retry_after = 0;
  j->errbuf[0] = '\0';
  curl_easy_setopt(h, CURLOPT_URL, j->url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, j->hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &j->resp);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, j);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, j->errbuf);
  curl_easy_setopt(h, CURLOPT_PRIVATE, j);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->opts.timeout_ms);
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L); /* forget the last request's body */
  if (j->req->body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->req->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->req->len);
  }
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, j->req->method);
  kube_exec_cert(c, h);
  c->requests++;
  curl_multi_add_handle(c->multi, h);
}

static bool make_headers(kube_client *c, job *j) {
  char *err = NULL;
  j->epoch = c->cred_epoch;
  j->hdrs = kube_headers(c, j->req->content_type, j->req->accept, &err);
  if (!j->hdrs) j->auth_error = err ? err : strdup("cannot build the request");
  return j->hdrs != NULL;
}

/* False when it cannot be sent at all (no credential). */
static bool begin(kube_client *c, job *j) {
  if (!make_headers(c, j)) return false;
  j->url = heap_printf("%s%s", c->base, j->req->path);
  j->h = take_handle(c);
  start(c, j);
  return true;
}

enum { DONE, AGAIN, LATER };

/* After an attempt: done, again at once, or again after a backoff. */
static int settle(kube_client *c, job *j) {
  j->code = 0;
  if (j->curl_rc == CURLE_OK) curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &j->code);
  /* An exec credential the server refuses may have been revoked before it
   * expired: fetch a new one, once per request; requests that were sent
   * with the same refused one share one renewal. */
  if (j->curl_rc == CURLE_OK && j->code == 401 && c->cfg->exec && !j->refreshed) {
    j->refreshed = true;
    if (j->epoch == c->cred_epoch) kube_exec_expire(c), c->cred_epoch++;
    curl_slist_free_all(j->hdrs);
    j->attempt++;
    return make_headers(c, j) ? AGAIN : DONE;
  }
  bool again = j->curl_rc == CURLE_OK ? retryable_status(j->code) : retryable_transport(j->curl_rc);
  if (!again || kube_interrupted(c) || !safe_to_repeat(j->req) || j->attempt >= c->opts.max_retries) return DONE;
  j->wake = kube_now() + backoff(j);
  j->attempt++;
  return LATER;
}

/* An integer past int64 (a CRD's schema may hold one: maximum:
 * 1e19 written out) is valid JSON that jansson refuses; rather than
 * lose the whole answer (every CRD of a list), such answers are read
 * with every integer as a float. */
json_t *kube_json_read(const char *text, size_t len) {
  json_error_t e;
  json_t *json = json_loadb(text, len, 0, &e);
  if (!json && json_error_code(&e) == json_error_numeric_overflow)
    json = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, NULL);
  return json;
}

/* The answer, or the words for what went wrong, into the request. */
static void finish(kube_client *c, job *j) {
  kube_req *r = j->req;
  json_t *json = j->resp.len ? kube_json_read(j->resp.data, j->resp.len) : NULL;
  int result = KUBE_OK;
  if (j->auth_error)
    kube_fail(c, "%s", j->auth_error), result = KUBE_EAUTH;
  else if (j->curl_rc == CURLE_ABORTED_BY_CALLBACK)
    kube_fail(c, "%s %s: interrupted", r->method, r->path), result = KUBE_ECANCELED;
  else if (j->curl_rc != CURLE_OK)
    result = kube_transport_error(c, j->curl_rc, j->errbuf);
  else if (j->code >= 300)
    result = kube_status_error(c, j->code, json, r->method, r->path);
  else if (j->resp.len && !json)
    kube_fail(c, "%s %s: the answer is not JSON", r->method, r->path), result = KUBE_ERROR;
  r->rc = result;
  if (result == KUBE_OK) {
    r->out = json;
  } else {
    json_decref(json);
    r->error = heap_strdup(c->error);
  }
  if (j->h) give_back(c, j->h);
  curl_slist_free_all(j->hdrs);
  free(j->url);
  free(j->auth_error);
  buf_free(&j->resp);
}

/* ---- many at once ------------------------------------------------------------------ */

typedef struct {
  kube_client *c;
  kube_req *reqs;
  job *jobs;
  size_t n, next; /* requests not yet started begin at next */
  size_t busy;    /* started and not finished, waiting ones included */
  job **waiting;  /* backing off before a retry */
  size_t nwaiting, failed;
  kube_done_fn done;
  void *ctx;
  bool stop;
} batch;

static void end_job(batch *b, job *j) {
  finish(b->c, j);
  b->busy--;
  if (j->req->rc != KUBE_OK) b->failed++;
  if (b->done && b->done(j->index, b->ctx)) b->stop = true;
}

static void launch(batch *b) {
  job *j = &b->jobs[b->next];
  j->index = b->next;
  j->req = &b->reqs[b->next++];
  j->req->rc = KUBE_ERROR;
  j->req->out = NULL;
  j->req->error = NULL;
  b->busy++;
  if (!begin(b->c, j)) end_job(b, j);
}

static void after_attempt(batch *b, job *j) {
  switch (settle(b->c, j)) {
  case AGAIN: start(b->c, j); break;
  case LATER: b->waiting[b->nwaiting++] = j; break;
  default: end_job(b, j);
  }
}

/* Retries whose backoff is over start again; once the batch stops, the
 * last answer of a waiting request stands. Returns the milliseconds until
 * the next one is due (1000 when none waits). */
static long wake_due(batch *b) {
  double now = kube_now(), next = now + 1;
  for (size_t i = 0; i < b->nwaiting;) {
    job *j = b->waiting[i];
    if (!b->stop && j->wake > now) {
      if (j->wake < next) next = j->wake;
      i++;
      continue;
    }
    b->waiting[i] = b->waiting[--b->nwaiting];
    if (b->stop)
      end_job(b, j);
    else
      start(b->c, j);
  }
  return (long)((next - now) * 1000) + 1;
}

static void pump(batch *b, long wait_ms) {
  int running, left;
  CURLMsg *m;
  curl_multi_perform(b->c->multi, &running);
  while ((m = curl_multi_info_read(b->c->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    job *j;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
    j->curl_rc = m->data.result; /* m is gone once the handle is removed */
    curl_multi_remove_handle(b->c->multi, m->easy_handle);
    after_attempt(b, j);
  }
  /* curl (7.88 here) can leave an HTTP/2 stream's answer in its buffers
   * with nothing left on the socket to wake the poll: look again soon
   * rather than at the next timeout. */
  if (b->busy > b->nwaiting && wait_ms > POLL_MS) wait_ms = POLL_MS;
  if (!b->busy) return;
  if (b->c->opts.gated) forkgate_leave();
  curl_multi_poll(b->c->multi, NULL, 0, (int)wait_ms, NULL);
  if (b->c->opts.gated) forkgate_enter();
}

size_t kube_request_many(kube_client *c, kube_req *reqs, size_t n, kube_done_fn done, void *ctx) {
  size_t limit = c->opts.parallel > 0 ? (size_t)c->opts.parallel : 64;
  batch b = {.c = c, .reqs = reqs, .n = n, .done = done, .ctx = ctx};
  b.jobs = heap_calloc(n, sizeof *b.jobs);
  b.waiting = heap_calloc(limit, sizeof *b.waiting);
  multi(c);
  for (;;) {
    b.stop = b.stop || kube_interrupted(c); /* retries waiting end with their last answer */
    long wait_ms = wake_due(&b);
    while (!b.stop && b.next < n && b.busy < limit) launch(&b);
    if (!b.busy) break;
    pump(&b, wait_ms);
  }
  for (size_t i = b.next; i < n; i++) kube_cancel(&reqs[i]);
  free(b.jobs);
  free(b.waiting);
  return b.failed + (n - b.next);
}

void kube_cancel(kube_req *r) {
  r->rc = KUBE_ECANCELED;
  r->out = NULL;
  r->error = heap_strdup("not sent: the batch stopped before it");
}

int kube_request_one(kube_client *c, kube_req *r, json_t **out) {
  kube_request_many(c, r, 1, NULL, NULL);
  free(r->error); /* c->error holds the same words */
  r->error = NULL;
  if (out)
    *out = r->out;
  else
    json_decref(r->out);
  return r->rc;
}

int kube_request_accept(kube_client *c, const char *method, const char *path, const char *content_type,
                        const char *accept, const char *body, size_t len, json_t **out) {
  kube_req r = {.method = method, .path = path, .content_type = content_type, .accept = accept, .body = body, .len = len};
  return kube_request_one(c, &r, out);
}

int kube_request(kube_client *c, const char *method, const char *path, const char *content_type, const char *body,
                 size_t len, json_t **out) {
  return kube_request_accept(c, method, path, content_type, NULL, body, len, out);
}
