/* watch.c: watch streams, resumed where they broke, relisted when expired,
 * many of them at once.
 *
 * A watch set runs its watches in the thread that calls kube_watch_set_run:
 * the streams are easy handles on a multi handle of the set's own, so they
 * share one HTTP/2 connection, and a list goes through the client a page at
 * a time, after which the client's connection is closed (lists are rare; a
 * connection costs about 100 KiB). The streams are newline-delimited JSON
 * events. kube_watch is a set of one that gives up on the first failure. */
#include "kube/internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"
#include "plumb/forkgate.h"

enum {
  STREAM_S = 600,  /* one stream at most; the next resumes where it ended */
  LIST_PAGE = 25,  /* objects per page: a page's parse tree is a list's peak memory */
  MAX_DROPS = 5,   /* streams dropped in a row before the watch has failed */
  WAIT_MS = 1000,  /* longest sleep between looks at the set */
};

typedef struct watch {
  char *api, *kind, *ns, *selector;
  kube_watch_fn fn;
  kube_fail_fn failed;
  void *ctx;
  char *path;    /* the collection's, once discovery has found it */
  char *rv;      /* where the next stream starts; NULL: list first */
  CURL *h;       /* the stream, while one is open */
  struct curl_slist *hdrs;
  buf line;      /* the event being read */
  bool gone;     /* the server said 410: history expired */
  long error;    /* code of an ERROR event other than 410, 0 if none */
  char message[512];
  int drops;     /* streams dropped in a row */
  int failures;  /* in a row, for the backoff */
  double wake;   /* when to list or stream again */
  bool done;     /* its callback stopped it, or kube_watch's failed */
  struct watch *next;
} watch;

struct kube_watch_set {
  kube_client *c;
  CURLM *multi;
  watch *watches;
  pthread_mutex_t mu;
  watch *added;  /* under mu: added since the run last looked */
  bool relist;   /* under mu: every watch to list again */
  double end;    /* kube_watch's time; HUGE_VAL for a set */
  bool give_up;  /* kube_watch's: a failure ends the run */
  int rc;        /* the failure that ended it */
};

/* ---- events -------------------------------------------------------------------- */

static void set_rv(watch *w, const char *rv) {
  if (!rv) return;
  free(w->rv);
  w->rv = heap_strdup(rv);
}

/* The callback's verdict: nonzero stops the watch. */
static void tell(watch *w, const char *type, json_t *obj) {
  if (!w->done) w->done = w->fn(type, obj, w->ctx) != 0;
}

static void event(watch *w, const char *text, size_t len) {
  json_t *ev = kube_json_read(text, len);
  const char *type = json_string_value(json_object_get(ev, "type"));
  json_t *obj = json_object_get(ev, "object");
  if (!type || !obj) {
    /* A refused watch answers with a Status, not events: keep its words. */
    const char *msg = json_string_value(json_object_get(ev, "message"));
    if (msg) snprintf(w->message, sizeof w->message, "%s", msg);
  } else if (strcmp(type, "ERROR") == 0) {
    long code = (long)json_integer_value(json_object_get(obj, "code"));
    w->gone |= code == 410;
    if (code != 410) {
      const char *msg = json_string_value(json_object_get(obj, "message"));
      w->error = code ? code : 500; /* the stream carries nothing more worth reading */
      snprintf(w->message, sizeof w->message, "%s", msg ? msg : "error event");
    }
  } else {
    set_rv(w, json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion")));
    tell(w, type, obj);
  }
  json_decref(ev);
}

static bool stopped(const watch *w) { return w->done || w->error; }

static size_t on_stream(char *data, size_t size, size_t n, void *ctx) {
  watch *w = ctx;
  size_t len = size * n;
  for (size_t i = 0; i < len && !stopped(w); i++) {
    if (data[i] != '\n') {
      buf_putc(&w->line, data[i]);
      continue;
    }
    if (w->line.len) event(w, w->line.data, w->line.len);
    w->line.len = 0;
  }
  return stopped(w) ? 0 : len; /* 0 ends the transfer */
}

/* The message of the Status body a refused watch answers with (event()
 * keeps it; a body without a final newline is still in the line buffer). */
static const char *status_message(watch *w) {
  if (w->line.len) event(w, w->line.data, w->line.len);
  w->line.len = 0;
  return w->message;
}

/* ---- lists ------------------------------------------------------------------------ */

static int listed(json_t *item, void *ctx) {
  watch *w = ctx;
  tell(w, "ADDED", item);
  return w->done;
}

/* The listed objects stand for everything that happened while away;
 * SYNCED after them tells that what was not among them is gone. */
static int relist(kube_client *c, watch *w) {
  json_t *none = json_object();
  tell(w, "LISTING", none);
  json_decref(none);
  char *rv = NULL;
  kube_list_opts lo = {.label_selector = w->selector, .page_size = LIST_PAGE};
  int rc = w->done ? KUBE_OK : kube_list_each(c, w->api, w->kind, w->ns, &lo, listed, w, &rv);
  if (rc == KUBE_OK && !w->done) {
    set_rv(w, rv);
    json_t *list = json_pack("{s:{s:s}}", "metadata", "resourceVersion", rv ? rv : "");
    tell(w, "SYNCED", list);
    json_decref(list);
    w->failures = 0;
  }
  free(rv);
  w->gone = false;
  return rc;
}

/* ---- streams ---------------------------------------------------------------------- */

static int open_stream(kube_watch_set *s, watch *w) {
  kube_client *c = s->c;
  char *err = NULL;
  if (!(w->hdrs = kube_headers(c, NULL, NULL, &err))) {
    kube_fail(c, "%s", err ? err : "no credentials");
    free(err);
    return KUBE_EAUTH;
  }
  /* timeoutSeconds=0 would mean "none": at least one second. */
  double left = s->end - kube_now();
  int seconds = left >= STREAM_S ? STREAM_S : left > 1 ? (int)(left + 0.999) : 1;
  char *url, *selector = w->selector ? curl_easy_escape(NULL, w->selector, 0) : NULL;
  url = heap_printf("%s%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s%s%s", c->base, w->path,
                    seconds, w->rv ? w->rv : "", selector ? "&labelSelector=" : "", selector ? selector : "");
  curl_free(selector);
  if (!(w->h = curl_easy_duphandle(c->curl))) abort();
  curl_easy_setopt(w->h, CURLOPT_URL, url);
  curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, w->hdrs);
  curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, on_stream);
  curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
  curl_easy_setopt(w->h, CURLOPT_PRIVATE, w);
  curl_easy_setopt(w->h, CURLOPT_TIMEOUT_MS, (long)(seconds + 5) * 1000);
  curl_easy_setopt(w->h, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(w->h, CURLOPT_PIPEWAIT, 1L); /* wait to share the connection */
  free(url);
  w->line.len = 0;
  w->message[0] = '\0';
  w->error = 0;
  w->gone = false;
  c->requests++;
  curl_multi_add_handle(s->multi, w->h);
  return KUBE_OK;
}

static void close_stream(kube_watch_set *s, watch *w) {
  if (!w->h) return;
  curl_multi_remove_handle(s->multi, w->h);
  curl_easy_cleanup(w->h);
  curl_slist_free_all(w->hdrs);
  w->h = NULL;
  w->hdrs = NULL;
}

/* Exponential from 200 ms, capped at 5 s, with jitter. */
static double backoff(int failures) {
  int n = failures < 5 ? failures : 5;
  double cap = 0.2 * (double)(1 << n);
  if (cap > 5) cap = 5;
  return cap * (0.5 + 0.5 * (double)rand() / RAND_MAX);
}

/* The view may be behind until the next list: the owner hears why, and
 * the watch lists again after a backoff (kube_watch's ends instead). */
static void fail(kube_watch_set *s, watch *w, int rc) {
  free(w->rv);
  w->rv = NULL;
  w->drops = 0;
  if (s->give_up) {
    s->rc = rc;
    w->done = true;
    return;
  }
  if (w->failed) w->failed(rc, kube_last_error(s->c), w->ctx);
  w->wake = kube_now() + backoff(w->failures++);
}

/* An answer that retrying cannot change: refused credentials, RBAC, a bad
 * request. 429 and 5xx are worth another try. */
static int hopeless_status(kube_client *c, const char *path, long code, const char *msg) {
  if (code < 400 || code == 429 || code >= 500) return KUBE_OK;
  kube_fail(c, "%swatch %s: %s (%ld)", code == 403 ? "forbidden: " : "", path, msg && *msg ? msg : "refused", code);
  return code == 401 ? KUBE_EAUTH : code == 403 ? KUBE_EFORBIDDEN : code == 404 ? KUBE_ENOTFOUND : KUBE_ERROR;
}

/* What the end of a stream means: go on from where it was, list again, or
 * a failure. */
static void stream_ended(kube_watch_set *s, watch *w, CURLcode result) {
  kube_client *c = s->c;
  long code = 0;
  curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &code);
  close_stream(s, w);
  if (w->done || result == CURLE_ABORTED_BY_CALLBACK) return; /* stopped, or interrupted */
  int rc = KUBE_OK;
  if (w->error) {
    if ((rc = hopeless_status(c, w->path, w->error, w->message)) == KUBE_OK)
      kube_fail(c, "watch %s: %s (%ld)", w->path, w->message, w->error), rc = KUBE_ERROR;
  } else if (code == 410 || w->gone) {
    free(w->rv);
    w->rv = NULL; /* list again, now */
  } else if ((rc = hopeless_status(c, w->path, code, status_message(w))) != KUBE_OK) {
  } else if ((result != CURLE_OK && result != CURLE_OPERATION_TIMEDOUT) || code >= 300) {
    /* A dropped stream resumes from the last resourceVersion seen. */
    if (code >= 300) kube_fail(c, "watch %s: HTTP %ld", w->path, code);
    else kube_fail(c, "watch %s: %s", w->path, curl_easy_strerror(result));
    if (++w->drops > MAX_DROPS) rc = KUBE_ERROR;
    else w->wake = kube_now() + 0.2;
  } else {
    w->drops = 0; /* its time was up */
  }
  if (rc != KUBE_OK) fail(s, w, rc);
}

/* Finds the collection, lists it unless there is a version to start from,
 * and opens the stream. True when it listed. */
static bool start(kube_watch_set *s, watch *w) {
  const kube_resource *r;
  int rc = KUBE_OK;
  bool lists = !w->rv;
  if (!w->path && (rc = kube_resource_find(s->c, w->api, w->kind, &r)) == KUBE_OK) w->path = kube_path(r, w->ns, NULL);
  if (rc == KUBE_OK && lists) rc = relist(s->c, w);
  if (rc == KUBE_OK && !w->done) rc = open_stream(s, w);
  if (rc != KUBE_OK && rc != KUBE_ECANCELED) fail(s, w, rc);
  return lists;
}

/* ---- the set ------------------------------------------------------------------------ */

kube_watch_set *kube_watch_set_new(kube_client *c) {
  kube_watch_set *s = heap_calloc(1, sizeof *s);
  s->c = c;
  s->end = HUGE_VAL;
  if (!(s->multi = curl_multi_init())) abort();
  curl_multi_setopt(s->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  pthread_mutex_init(&s->mu, NULL);
  return s;
}

static void watch_free(watch *w) {
  free(w->api);
  free(w->kind);
  free(w->ns);
  free(w->selector);
  free(w->path);
  free(w->rv);
  buf_free(&w->line);
  free(w);
}

void kube_watch_set_free(kube_watch_set *s) {
  if (!s) return;
  while (s->watches) {
    watch *w = s->watches;
    s->watches = w->next;
    close_stream(s, w);
    watch_free(w);
  }
  while (s->added) {
    watch *w = s->added;
    s->added = w->next;
    watch_free(w);
  }
  curl_multi_cleanup(s->multi);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static watch *watch_new(const kube_watch_spec *spec) {
  watch *w = heap_calloc(1, sizeof *w);
  *w = (watch){.api = heap_strdup(spec->api_version), .kind = heap_strdup(spec->kind), .ns = heap_strdup(spec->ns),
               .selector = heap_strdup(spec->label_selector), .fn = spec->fn, .failed = spec->failed,
               .ctx = spec->ctx};
  return w;
}

void kube_watch_set_add(kube_watch_set *s, const kube_watch_spec *spec) {
  watch *w = watch_new(spec);
  pthread_mutex_lock(&s->mu);
  w->next = s->added;
  s->added = w;
  pthread_mutex_unlock(&s->mu);
  curl_multi_wakeup(s->multi);
}

void kube_watch_set_stop(kube_watch_set *s) {
  kube_client_interrupt(s->c);
  curl_multi_wakeup(s->multi);
}

void kube_watch_set_relist(kube_watch_set *s) {
  pthread_mutex_lock(&s->mu);
  s->relist = true;
  pthread_mutex_unlock(&s->mu);
  curl_multi_wakeup(s->multi);
}

/* The watches added, and the relist asked for, since the run last looked:
 * a watch without a version to start from lists at once. */
static void take_added(kube_watch_set *s) {
  pthread_mutex_lock(&s->mu);
  while (s->added) {
    watch *w = s->added;
    s->added = w->next;
    w->next = s->watches;
    s->watches = w;
  }
  bool relist = s->relist;
  s->relist = false;
  pthread_mutex_unlock(&s->mu);
  for (watch *w = s->watches; relist && w; w = w->next) {
    if (w->done) continue;
    close_stream(s, w);
    free(w->rv);
    w->rv = NULL;
    w->wake = 0;
  }
}

/* Starts what is due; lists hold the client's connection only while they
 * run. False when no watch is left to run. */
static bool start_due(kube_watch_set *s) {
  bool any = false, listed = false;
  for (watch *w = s->watches; w && s->rc == KUBE_OK && !kube_interrupted(s->c); w = w->next) {
    if (!w->h && !w->done && kube_now() >= w->wake) listed |= start(s, w);
    any |= !w->done;
  }
  if (listed) kube_requests_free(s->c);
  return any;
}

static void read_streams(kube_watch_set *s) {
  int running, left;
  CURLMsg *m;
  curl_multi_perform(s->multi, &running);
  while ((m = curl_multi_info_read(s->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    watch *w;
    CURLcode result = m->data.result; /* m is gone once the handle is removed */
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&w);
    stream_ended(s, w, result);
  }
}

/* Milliseconds until a watch without a stream is due, the end, or WAIT_MS. */
static int wait_ms(const kube_watch_set *s) {
  double now = kube_now(), next = now + WAIT_MS / 1000.0;
  if (s->end < next) next = s->end;
  for (const watch *w = s->watches; w; w = w->next)
    if (!w->h && !w->done && w->wake < next) next = w->wake;
  return next > now ? (int)((next - now) * 1000) + 1 : 0;
}

int kube_watch_set_run(kube_watch_set *s) {
  /* The run works inside the fork gate, lists too: a list of thousands of
   * objects, a page at a time, would hold every fork (the compiles) off
   * for its whole length, and the threads queued behind that fork. Its
   * client steps out while it waits on the server. */
  bool gated = s->c->opts.gated;
  s->c->opts.gated = true;
  while (!kube_interrupted(s->c) && s->rc == KUBE_OK && kube_now() < s->end) {
    /* The runtime forks its compiles meanwhile: all but the wait is work. */
    forkgate_enter();
    take_added(s);
    bool done = !start_due(s) && s->give_up;
    if (!done) read_streams(s);
    forkgate_leave();
    if (done) break;
    if (s->rc == KUBE_OK) curl_multi_poll(s->multi, NULL, 0, wait_ms(s), NULL);
  }
  for (watch *w = s->watches; w; w = w->next) close_stream(s, w);
  s->c->opts.gated = gated;
  return kube_interrupted(s->c) ? KUBE_ECANCELED : s->rc;
}

int kube_watch(kube_client *c, const char *api_version, const char *kind, const char *ns, const kube_watch_opts *o,
               kube_watch_fn fn, void *ctx) {
  kube_watch_set *s = kube_watch_set_new(c);
  s->end = kube_now() + o->timeout_s;
  s->give_up = true;
  s->watches = watch_new(&(kube_watch_spec){.api_version = api_version, .kind = kind, .ns = ns,
                                             .label_selector = o->label_selector, .fn = fn, .ctx = ctx});
  set_rv(s->watches, o->resource_version);
  int rc = kube_watch_set_run(s);
  kube_watch_set_free(s);
  return rc;
}
