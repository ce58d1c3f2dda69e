/* watch.c: a watch stream, resumed where it broke, relisted when expired.
 *
 * The stream is newline-delimited JSON events. It runs on its own curl
 * handle (a copy of the client's, same TLS and address) so a long watch
 * does not hold the client's connection. */
#include "kube/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  kube_watch_fn fn;
  void *ctx;
  const char *selector; /* label selector, or NULL */
  buf line;
  char *rv;     /* last resourceVersion seen */
  bool stopped; /* the callback asked to stop */
  bool gone;    /* the server said 410: history expired */
  long error;   /* code of an ERROR event other than 410, 0 if none */
  char message[512];
} stream;

static void set_rv(stream *s, const char *rv) {
  if (!rv) return;
  free(s->rv);
  s->rv = strdup(rv);
}

static void event(stream *s, const char *text, size_t len) {
  json_t *ev = json_loadb(text, len, 0, NULL);
  const char *type = kube_str(ev, "type");
  json_t *obj = json_object_get(ev, "object");
  if (!type || !obj) {
    /* A refused watch answers with a Status, not events: keep its words. */
    const char *msg = kube_str(ev, "message");
    if (msg) snprintf(s->message, sizeof s->message, "%s", msg);
    json_decref(ev);
    return;
  }
  if (strcmp(type, "ERROR") == 0) {
    long code = (long)json_integer_value(json_object_get(obj, "code"));
    s->gone |= code == 410;
    if (code != 410) {
      const char *msg = kube_str(obj, "message");
      s->error = code ? code : 500;
      snprintf(s->message, sizeof s->message, "%s", msg ? msg : "error event");
      s->stopped = true; /* the stream carries nothing more worth reading */
    }
  } else {
    set_rv(s, kube_meta_str(obj, "resourceVersion"));
    s->stopped = s->fn(type, obj, s->ctx) != 0;
  }
  json_decref(ev);
}

static size_t on_stream(char *data, size_t size, size_t n, void *ctx) {
  stream *s = ctx;
  size_t len = size * n;
  for (size_t i = 0; i < len && !s->stopped; i++) {
    if (data[i] != '\n') {
      buf_putc(&s->line, data[i]);
      continue;
    }
    if (s->line.len) event(s, s->line.data, s->line.len);
    s->line.len = 0;
  }
  return s->stopped ? 0 : len; /* 0 ends the transfer */
}

/* The relisted objects stand for everything that happened while away; the
 * SYNCED event after them tells what is gone. */
static int relist(kube_client *c, const char *api, const char *kind, const char *ns, stream *s) {
  json_t *items;
  char *rv = NULL;
  kube_list_opts lo = {.label_selector = s->selector};
  int rc = kube_list(c, api, kind, ns, &lo, &items, &rv);
  size_t i;
  json_t *obj;
  json_array_foreach(items, i, obj) {
    /* List items carry no apiVersion and kind; watch events do. */
    json_object_set_new(obj, "apiVersion", json_string(api));
    json_object_set_new(obj, "kind", json_string(kind));
    if (!s->stopped) s->stopped = s->fn("ADDED", obj, s->ctx) != 0;
  }
  if (rc == KUBE_OK) {
    set_rv(s, rv);
    json_t *list = json_pack("{s:{s:s}, s:O}", "metadata", "resourceVersion", rv ? rv : "", "items", items);
    if (!s->stopped) s->stopped = s->fn("SYNCED", list, s->ctx) != 0;
    json_decref(list);
  }
  json_decref(items);
  free(rv);
  s->gone = false;
  return rc;
}

static int stream_once(kube_client *c, const char *path, stream *s, int seconds, long *code) {
  s->line.len = 0; /* a line cut off by the last stream's end is no event */
  s->message[0] = '\0';
  char *err = NULL;
  struct curl_slist *hdrs = kube_headers(c, NULL, NULL, &err);
  if (!hdrs) {
    kube_fail(c, "%s", err ? err : "no credentials");
    free(err);
    return KUBE_EAUTH;
  }
  char *url, *selector = s->selector ? curl_easy_escape(NULL, s->selector, 0) : NULL;
  if (asprintf(&url, "%s%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s%s%s", c->base, path,
               seconds, s->rv ? s->rv : "", selector ? "&labelSelector=" : "", selector ? selector : "") < 0)
    abort();
  curl_free(selector);
  CURL *h = curl_easy_duphandle(c->curl);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(seconds + 5) * 1000);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  c->requests++;
  CURLcode rc = curl_easy_perform(h);
  *code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
  curl_easy_cleanup(h);
  curl_slist_free_all(hdrs);
  free(url);
  if (s->stopped || rc == CURLE_OK || rc == CURLE_OPERATION_TIMEDOUT) return KUBE_OK;
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    kube_fail(c, "watch %s: interrupted", path);
    return KUBE_ECANCELED;
  }
  kube_fail(c, "watch %s: %s", path, curl_easy_strerror(rc));
  return KUBE_ERROR;
}

/* The message of the Status body a refused watch answers with (event()
 * keeps it; a body without a final newline is still in the line buffer). */
static const char *status_message(stream *s) {
  if (s->line.len) event(s, s->line.data, s->line.len);
  return s->message;
}

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An answer that retrying cannot change: refused credentials, RBAC, a bad
 * request. 429 and 5xx are worth another try. */
static int hopeless_status(kube_client *c, const char *path, long code, const char *msg) {
  if (code < 400 || code == 429 || code >= 500) return KUBE_OK;
  kube_fail(c, "%swatch %s: %s (%ld)", code == 403 ? "forbidden: " : "", path, msg && *msg ? msg : "refused", code);
  return code == 401 ? KUBE_EAUTH : code == 403 ? KUBE_EFORBIDDEN : code == 404 ? KUBE_ENOTFOUND : KUBE_ERROR;
}

int kube_watch(kube_client *c, const char *api_version, const char *kind, const char *ns, const kube_watch_opts *o,
               kube_watch_fn fn, void *ctx) {
  const kube_resource *r;
  int rc = kube_resource_find(c, api_version, kind, &r);
  if (rc != KUBE_OK) return rc;
  char *path = kube_path(r, ns, NULL);
  stream s = {.fn = fn, .ctx = ctx, .selector = o->label_selector};
  set_rv(&s, o->resource_version);
  double end = mono() + o->timeout_s;
  if (!s.rv) rc = relist(c, api_version, kind, ns, &s);
  for (int failures = 0; rc == KUBE_OK && !s.stopped && mono() < end;) {
    long code;
    /* timeoutSeconds=0 would mean "none": at least one second. */
    int left = (int)(end - mono() + 0.999);
    int once = stream_once(c, path, &s, left > 0 ? left : 1, &code);
    if (once == KUBE_ECANCELED) {
      rc = once;
    } else if (s.error) {
      rc = hopeless_status(c, path, s.error, s.message);
      if (rc == KUBE_OK) kube_fail(c, "watch %s: %s (%ld)", path, s.message, s.error), rc = KUBE_ERROR;
    } else if (code == 410 || s.gone) {
      rc = relist(c, api_version, kind, ns, &s);
    } else if ((rc = hopeless_status(c, path, code, status_message(&s))) != KUBE_OK) {
      break;
    } else if (once != KUBE_OK || code >= 300) {
      /* A dropped stream resumes from the last resourceVersion seen. */
      if (++failures > 5) rc = once != KUBE_OK ? once : KUBE_ERROR;
      if (code >= 300) kube_fail(c, "watch %s: HTTP %ld", path, code);
      nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
    } else {
      failures = 0;
    }
  }
  free(path);
  free(s.rv);
  buf_free(&s.line);
  return rc;
}
