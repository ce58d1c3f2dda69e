/* status.c: the loop's published status and the server's requests, under
 * one mutex (see status.h). Documents are kept as text; each reader parses
 * its own copy. The texts are JSON strings the publisher may hold too:
 * a string never changes, and jansson counts references atomically. */
#include "plumb/status.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"
#include "plumb/kube.h"

struct status_store {
  pthread_mutex_t lock;
  json_t *apps; /* name: document, JSON text in parts (status_publish) */
  char *list;   /* the summaries, a JSON array in name order */
  json_t *summaries; /* name: the summary's compact text, what the list is made of */
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

static int by_name(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Under the lock: the summaries' texts in name order, as one array. */
static char *sorted_text(const json_t *summaries) {
  size_t n = json_object_size(summaries), k = 0;
  const char **names = heap_calloc(n + 1, sizeof *names), *name;
  json_t *text;
  json_object_foreach((json_t *)summaries, name, text) names[k++] = name;
  qsort(names, n, sizeof *names, by_name);
  buf b = {0};
  buf_putc(&b, '[');
  for (k = 0; k < n; k++) {
    if (k) buf_putc(&b, ',');
    buf_puts(&b, json_string_value(json_object_get(summaries, names[k])));
  }
  buf_putc(&b, ']');
  free(names);
  return b.data;
}

/* Under the lock: logs event (stolen) as the next. */
static void log_event(status_store *s, json_t *event) {
  json_object_set_new(event, "seq", json_integer(++s->last));
  char **slot = &s->events[s->last % STATUS_EVENTS_KEPT];
  free(*slot);
  if (!(*slot = json_dumps(event, JSON_COMPACT))) abort();
  json_decref(event);
}

/* Under the lock: the summary of name, an event when it is new or
 * changed. */
static void note_summary(status_store *s, const char *name, const json_t *summary) {
  char *text = json_dumps(summary, JSON_COMPACT);
  if (!text) abort();
  json_t *was = json_object_get(s->summaries, name);
  if (!was || strcmp(json_string_value(was), text) != 0) {
    log_event(s, json_pack("{s:s, s:O}", "type", "app", "app", summary));
    json_object_set_new(s->summaries, name, json_string_nocheck(text));
  }
  free(text);
}

/* Under the lock: forgets name, with an event. */
static void forget(status_store *s, const char *name) {
  log_event(s, json_pack("{s:s, s:s}", "type", "removed", "name", name));
  json_object_del(s->apps, name);
  json_object_del(s->summaries, name);
}

void status_publish(status_store *s, json_t *docs, json_t *summaries, bool whole) {
  const char *name;
  json_t *v, *tmp;
  pthread_mutex_lock(&s->lock);
  long long before = s->last;
  json_object_foreach(docs, name, v) json_object_set(s->apps, name, v);
  json_object_foreach(summaries, name, v) note_summary(s, name, v);
  if (whole) json_object_foreach_safe(s->summaries, tmp, name, v) if (!json_object_get(summaries, name)) forget(s, name);
  bool changed = s->last != before;
  char *old_list = NULL;
  if (changed) old_list = s->list, s->list = sorted_text(s->summaries);
  pthread_mutex_unlock(&s->lock);
  free(old_list);
  json_decref(docs);
  json_decref(summaries);
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

/* Under the lock: a document from its parts (status_publish). */
static json_t *parse(const json_t *doc) {
  if (!doc) return NULL;
  json_t *whole = json_loads(json_string_value(json_array_get(doc, 0)), 0, NULL);
  json_object_set_new(whole, "resources", json_loads(json_string_value(json_array_get(doc, 1)), 0, NULL));
  json_object_set_new(whole, "manifests", json_loads(json_string_value(json_array_get(doc, 2)), 0, NULL));
  return whole;
}

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
