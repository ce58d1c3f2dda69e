/* stream.c: a GET whose answer is read as it comes (kube_stream), as a
 * Pod's log followed is.
 *
 * The request runs in the caller's thread on a handle of its own, so a
 * stream that lasts minutes holds nothing of the client's other requests.
 * The callback hears of each piece of a successful answer, and of the
 * silence between them about every second (curl's progress callback), so
 * that it can end a stream whose reader went away. A failed answer is
 * gathered instead (a Status, at most ERROR_MAX bytes) for
 * kube_last_error. */
#include "kube/internal.h"

#include <stdlib.h>
#include <string.h>

enum { ERROR_MAX = 64 << 10 };

typedef struct {
  CURL *h;
  kube_stream_fn fn;
  void *ctx;
  long code;    /* the answer's status, once its headers are in */
  buf error;    /* a failed answer's body */
  bool stopped; /* fn said so */
} stream;

static long status_of(stream *s) {
  if (!s->code) curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->code);
  return s->code;
}

static size_t on_data(char *data, size_t size, size_t n, void *ctx) {
  stream *s = ctx;
  size_t len = size * n;
  if (status_of(s) / 100 != 2) {
    if (s->error.len + len <= ERROR_MAX) buf_put(&s->error, data, len);
    return len;
  }
  s->stopped = s->stopped || s->fn(data, len, s->ctx) != 0;
  return s->stopped ? 0 : len; /* 0 ends the transfer */
}

static int on_tick(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  stream *s = ctx;
  s->stopped = s->stopped || s->fn(NULL, 0, s->ctx) != 0;
  return s->stopped; /* nonzero ends the transfer */
}

int kube_stream(kube_client *c, const char *path, int timeout_s, kube_stream_fn fn, void *ctx) {
  char *err = NULL;
  struct curl_slist *hdrs = kube_headers(c, NULL, "*/*", &err);
  if (!hdrs) {
    kube_fail(c, "%s", err ? err : "no credentials");
    free(err);
    return KUBE_EAUTH;
  }
  stream s = {.fn = fn, .ctx = ctx};
  if (!(s.h = curl_easy_duphandle(c->curl))) abort();
  char *url = heap_printf("%s%s", c->base, path), errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(s.h, CURLOPT_URL, url);
  curl_easy_setopt(s.h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(s.h, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(s.h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(s.h, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(s.h, CURLOPT_XFERINFOFUNCTION, on_tick);
  curl_easy_setopt(s.h, CURLOPT_XFERINFODATA, &s);
  curl_easy_setopt(s.h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(s.h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(s.h, CURLOPT_TIMEOUT_MS, (long)timeout_s * 1000);
  kube_exec_cert(c, s.h);
  kube_rate_limit(c);
  c->requests++;
  CURLcode rc = curl_easy_perform(s.h);
  int result = KUBE_OK;
  /* A stream that ran its time, or that the callback ended, is done. */
  if (s.stopped || (rc == CURLE_OPERATION_TIMEDOUT && status_of(&s) / 100 == 2)) result = KUBE_OK;
  else if (rc != CURLE_OK) result = kube_transport_error(c, rc, errbuf);
  else if (status_of(&s) / 100 != 2) {
    json_t *body = kube_json_read(s.error.data, s.error.len);
    result = kube_status_error(c, s.code, body, "GET", path);
    json_decref(body);
  }
  buf_free(&s.error);
  free(url);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(s.h);
  return result;
}
