/* status.c: the loop's published status and the server's requests, under
 * one mutex (see status.h). Documents are kept as text; each reader parses
 * its own copy, so no jansson value is shared between threads. */
#include "plumb/status.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"
#include "plumb/kube.h"

struct status_store {
  pthread_mutex_t lock;
  json_t *apps; /* name: document, JSON text */
  char *list;   /* the summaries, a JSON array in name order */
  json_t *summaries; /* name: the summary's compact text, to tell what changed */
  /* The event log, a ring: event seq is at events[seq % STATUS_EVENTS_KEPT]
   * while seq > last - STATUS_EVENTS_KEPT; compact JSON text, a fifth of
   * a parsed tree's memory, as a first sync fills it. */
  char *events[STATUS_EVENTS_KEPT];
  long long last;
  void (*changed)(void *ctx);
  void *changed_ctx;
  status_request *queue;
  size_t nqueue;
  void (*wake)(void *ctx); /* set before any request, never after */
  void *wake_ctx;
};

status_store *status_new(void) {
  status_store *s = heap_calloc(1, sizeof *s);
  pthread_mutex_init(&s->lock, NULL);
  s->apps = json_object();
  s->list = heap_strdup("[]");
  s->summaries = json_object();
  return s;
}

void status_free(status_store *s) {
  if (!s) return;
  json_decref(s->apps);
  free(s->list);
  json_decref(s->summaries);
  for (size_t i = 0; i < STATUS_EVENTS_KEPT; i++) free(s->events[i]);
  status_requests_free(s->queue, s->nqueue);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static int by_name(const void *a, const void *b) {
  return strcmp(kube_str(*(json_t *const *)a, "name"), kube_str(*(json_t *const *)b, "name"));
}

/* list's items in name order, as text. */
static char *sorted_text(json_t *list) {
  size_t n = json_array_size(list);
  json_t **items = heap_calloc(n + 1, sizeof *items);
  for (size_t i = 0; i < n; i++) items[i] = json_array_get(list, i);
  qsort(items, n, sizeof *items, by_name);
  json_t *sorted = json_array();
  for (size_t i = 0; i < n; i++) json_array_append(sorted, items[i]);
  char *text = json_dumps(sorted, JSON_COMPACT);
  if (!text) abort();
  json_decref(sorted);
  free(items);
  return text;
}

/* Under the lock: logs event (stolen) as the next. */
static void log_event(status_store *s, json_t *event) {
  json_object_set_new(event, "seq", json_integer(++s->last));
  char **slot = &s->events[s->last % STATUS_EVENTS_KEPT];
  free(*slot);
  if (!(*slot = json_dumps(event, JSON_COMPACT))) abort();
  json_decref(event);
}

/* Under the lock: an event per summary of list that is new or changed,
 * and per one that is gone; summaries becomes list's. */
static bool log_changes(status_store *s, const json_t *list) {
  json_t *now = json_object();
  size_t i;
  json_t *app;
  long long before = s->last;
  json_array_foreach(list, i, app) {
    const char *name = kube_str(app, "name");
    char *text = json_dumps(app, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) abort();
    json_t *was = json_object_get(s->summaries, name);
    bool same = was && strcmp(json_string_value(was), text) == 0;
    if (!same) log_event(s, json_pack("{s:s, s:O}", "type", "app", "app", app));
    /* The same string again when it did not change: replacing thousands
     * at every publish scatters the heap. */
    json_object_set_new(now, name, same ? json_incref(was) : json_string(text));
    free(text);
  }
  const char *name;
  json_t *was;
  json_object_foreach(s->summaries, name, was) {
    if (!json_object_get(now, name)) log_event(s, json_pack("{s:s, s:s}", "type", "removed", "name", name));
  }
  json_decref(s->summaries);
  s->summaries = now;
  return s->last != before;
}

void status_publish(status_store *s, json_t *apps, json_t *list) {
  char *text = sorted_text(list);
  pthread_mutex_lock(&s->lock);
  json_t *old = s->apps;
  char *old_list = s->list;
  s->apps = apps;
  s->list = text;
  bool changed = log_changes(s, list);
  pthread_mutex_unlock(&s->lock);
  json_decref(list);
  json_decref(old);
  free(old_list);
  if (changed && s->changed) s->changed(s->changed_ctx);
}

json_t *status_events(status_store *s, long long seq, long long *last) {
  pthread_mutex_lock(&s->lock);
  json_t *out = NULL;
  *last = s->last;
  if (seq >= 0 && seq <= s->last && s->last - seq <= STATUS_EVENTS_KEPT) {
    out = json_array();
    for (long long n = seq + 1; n <= s->last; n++)
      json_array_append_new(out, json_loads(s->events[n % STATUS_EVENTS_KEPT], 0, NULL));
  }
  pthread_mutex_unlock(&s->lock);
  return out;
}

long long status_seq(status_store *s) {
  pthread_mutex_lock(&s->lock);
  long long n = s->last;
  pthread_mutex_unlock(&s->lock);
  return n;
}

void status_on_publish(status_store *s, void (*changed)(void *ctx), void *ctx) {
  s->changed = changed;
  s->changed_ctx = ctx;
}

/* Under the lock. */
static json_t *parse(const json_t *text) { return text ? json_loads(json_string_value(text), 0, NULL) : NULL; }

json_t *status_app(status_store *s, const char *name) {
  pthread_mutex_lock(&s->lock);
  json_t *doc = parse(json_object_get(s->apps, name));
  pthread_mutex_unlock(&s->lock);
  return doc;
}

char *status_list(status_store *s, long long *seq) {
  pthread_mutex_lock(&s->lock);
  char *text = heap_strdup(s->list);
  if (seq) *seq = s->last;
  pthread_mutex_unlock(&s->lock);
  return text;
}

void status_ask(status_store *s, const status_request *r) {
  status_request c = *r;
  c.app = heap_strdup(r->app);
  c.revision = heap_strdup(r->revision);
  c.key = heap_strdup(r->key);
  c.by = heap_strdup(r->by);
  pthread_mutex_lock(&s->lock);
  s->queue = heap_realloc(s->queue, (s->nqueue + 1) * sizeof *s->queue);
  s->queue[s->nqueue++] = c;
  pthread_mutex_unlock(&s->lock);
  if (s->wake) s->wake(s->wake_ctx);
}

status_request *status_take(status_store *s, size_t *n) {
  pthread_mutex_lock(&s->lock);
  status_request *q = s->queue;
  *n = s->nqueue;
  s->queue = NULL;
  s->nqueue = 0;
  pthread_mutex_unlock(&s->lock);
  return q;
}

void status_requests_free(status_request *r, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(r[i].app);
    free(r[i].revision);
    free(r[i].key);
    free(r[i].by);
  }
  free(r);
}

void status_on_ask(status_store *s, void (*wake)(void *ctx), void *ctx) {
  s->wake = wake;
  s->wake_ctx = ctx;
}
