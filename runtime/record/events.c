/* events.c: Kubernetes events about applications (see events.h).
 *
 * The caller's thread decides, under the lock, what an event becomes: a
 * new Event, a higher count on one sent a moment ago, or nothing (past the
 * object's budget, or the queue full). The writer thread only sends, so
 * the decisions never wait on the API server. Its sends are pieces of
 * work of the fork gate (forkgate.h), as the notifications' sender's: a
 * compile's fork never finds a lock of theirs held (the allocator's,
 * OpenSSL's), and never waits behind the API server, since its client
 * steps out of the gate while it waits on the network. */
#include "plumb/events.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/arena.h"
#include "plumb/forkgate.h"

#define QUEUE_MAX 1024    /* events waiting for the writer */
#define SAME_WINDOW_S 600 /* an equal event within it raises the count */
#define BURST 25          /* an object's budget, as client-go's spam filter */
#define REFILL_S 300      /* one more event every 5 minutes */
#define KEYS_MAX 4096     /* events and objects remembered */
#define MESSAGE_MAX 1024  /* bytes, as events.k8s.io's note */
#define DRAIN_S 2         /* what events_free waits for the queue */
#define TIMEOUT_MS 5000   /* of one request of the writer */

/* A request for the writer: create event, or when name is set raise its
 * count by a merge patch and create it if the server has lost it. */
typedef struct {
  json_t *event;
  char *name;
} job;

/* An event sent lately, by its key: object, type, reason and message. */
typedef struct {
  char *key, *name;
  long count;
  time_t first, last;
} sent;

/* An object's budget. */
typedef struct {
  char *object;
  double tokens;
  time_t at;
} bucket;

struct events_writer {
  kube_client *c;
  char *instance;
  metrics_family *dropped;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t wake;
  job queue[QUEUE_MAX];
  size_t head, n;
  bool stop;
  time_t drain_until;
  sent *sent;
  size_t nsent;
  bucket *buckets;
  size_t nbuckets;
  unsigned long serial;
};

static void drop(events_writer *e, const char *why) { metrics_add(e->dropped, (const char *[]){why}, 1); }

static char *timestamp(time_t t) {
  struct tm tm;
  gmtime_r(&t, &tm);
  char s[32];
  strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return heap_strdup(s);
}

/* ---- the writer ----------------------------------------------------------- */

static char *path_of(const json_t *event, const char *name) {
  const char *ns = kube_meta_str(event, "namespace");
  return name ? heap_printf("/api/v1/namespaces/%s/events/%s", ns, name) : heap_printf("/api/v1/namespaces/%s/events", ns);
}

static int send_json(kube_client *c, const char *method, const char *path, const char *type, const json_t *body) {
  char *text = json_dumps(body, JSON_COMPACT);
  json_t *out = NULL;
  int rc = kube_request(c, method, path, type, text, strlen(text), &out);
  json_decref(out);
  free(text);
  return rc;
}

static int create(events_writer *e, const json_t *event) {
  char *path = path_of(event, NULL);
  int rc = send_json(e->c, "POST", path, "application/json", event);
  free(path);
  return rc;
}

static void send_job(events_writer *e, job *j) {
  int rc;
  if (j->name) {
    json_t *patch = json_pack("{s:O, s:O}", "count", json_object_get(j->event, "count"), "lastTimestamp",
                              json_object_get(j->event, "lastTimestamp"));
    char *path = path_of(j->event, j->name);
    rc = send_json(e->c, "PATCH", path, "application/merge-patch+json", patch);
    free(path);
    json_decref(patch);
    if (rc == KUBE_ENOTFOUND) rc = create(e, j->event); /* expired, or its create was lost */
  } else {
    rc = create(e, j->event);
  }
  if (rc != KUBE_OK && rc != KUBE_ECONFLICT) drop(e, "error");
  json_decref(j->event);
  free(j->name);
}

static void *writer(void *arg) {
  events_writer *e = arg;
  pthread_mutex_lock(&e->mu);
  for (;;) {
    while (!e->n && !e->stop) pthread_cond_wait(&e->wake, &e->mu);
    if (!e->n || (e->stop && time(NULL) > e->drain_until)) break;
    job j = e->queue[e->head];
    e->head = (e->head + 1) % QUEUE_MAX, e->n--;
    pthread_mutex_unlock(&e->mu);
    /* Inside the fork gate, as the notifications' sender: its client
     * steps out while it waits on the API server. */
    forkgate_enter();
    send_job(e, &j);
    forkgate_leave();
    pthread_mutex_lock(&e->mu);
  }
  /* Past the drain: what is left is dropped, and counted. */
  for (; e->n; e->head = (e->head + 1) % QUEUE_MAX, e->n--) {
    json_decref(e->queue[e->head].event);
    free(e->queue[e->head].name);
    drop(e, "queue");
  }
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

int events_new(kube_config *cfg, const char *instance, metrics_family *dropped, events_writer **out, char **err) {
  events_writer *e = heap_calloc(1, sizeof *e);
  kube_client_opts o = {.max_retries = -1, .timeout_ms = TIMEOUT_MS, .gated = true};
  if (kube_client_new(&e->c, cfg, &o, err) != KUBE_OK) {
    free(e);
    return KUBE_ERROR;
  }
  e->instance = heap_strdup(instance ? instance : "");
  e->dropped = dropped;
  pthread_mutex_init(&e->mu, NULL);
  pthread_cond_init(&e->wake, NULL);
  if (pthread_create(&e->thread, NULL, writer, e) != 0) abort();
  *out = e;
  return 0;
}

void events_free(events_writer *e) {
  if (!e) return;
  pthread_mutex_lock(&e->mu);
  e->stop = true;
  e->drain_until = time(NULL) + DRAIN_S;
  pthread_cond_signal(&e->wake);
  pthread_mutex_unlock(&e->mu);
  pthread_join(e->thread, NULL);
  for (size_t i = 0; i < e->nsent; i++) free(e->sent[i].key), free(e->sent[i].name);
  for (size_t i = 0; i < e->nbuckets; i++) free(e->buckets[i].object);
  free(e->sent);
  free(e->buckets);
  free(e->instance);
  kube_client_free(e->c);
  pthread_mutex_destroy(&e->mu);
  pthread_cond_destroy(&e->wake);
  free(e);
}

/* ---- deciding, in the caller's thread ----------------------------------------- */

/* Whether obj's budget allows one more event now, which it then takes. */
static bool within_budget(events_writer *e, const char *object, time_t now) {
  size_t i = 0;
  while (i < e->nbuckets && strcmp(e->buckets[i].object, object) != 0) i++;
  if (i == e->nbuckets) {
    if (e->nbuckets == KEYS_MAX) { /* forget the longest idle, whose budget is full again */
      size_t old = 0;
      for (size_t k = 1; k < e->nbuckets; k++)
        if (e->buckets[k].at < e->buckets[old].at) old = k;
      free(e->buckets[old].object);
      e->buckets[old] = e->buckets[--e->nbuckets];
    }
    e->buckets = heap_realloc(e->buckets, (e->nbuckets + 1) * sizeof *e->buckets);
    e->buckets[e->nbuckets++] = (bucket){heap_strdup(object), BURST, now};
    i = e->nbuckets - 1;
  }
  bucket *b = &e->buckets[i];
  b->tokens += (double)(now - b->at) / REFILL_S;
  if (b->tokens > BURST) b->tokens = BURST;
  b->at = now;
  if (b->tokens < 1) return false;
  b->tokens -= 1;
  return true;
}

/* The event sent lately under key, made anew (count 0) when there is none
 * within the window. */
static sent *sent_under(events_writer *e, const char *key, const char *object_name, time_t now) {
  for (size_t i = 0; i < e->nsent; i++) {
    if (strcmp(e->sent[i].key, key) != 0) continue;
    if (now - e->sent[i].last < SAME_WINDOW_S) return &e->sent[i];
    free(e->sent[i].key), free(e->sent[i].name);
    e->sent[i] = e->sent[--e->nsent];
    break;
  }
  if (e->nsent == KEYS_MAX) { /* the oldest goes */
    size_t old = 0;
    for (size_t k = 1; k < e->nsent; k++)
      if (e->sent[k].last < e->sent[old].last) old = k;
    free(e->sent[old].key), free(e->sent[old].name);
    e->sent[old] = e->sent[--e->nsent];
  }
  e->sent = heap_realloc(e->sent, (e->nsent + 1) * sizeof *e->sent);
  /* Named as client-go names them: the object's name and a unique tail. */
  char *name = heap_printf("%.200s.%lx%04lx", object_name, (unsigned long)now, e->serial++ & 0xffff);
  e->sent[e->nsent] = (sent){heap_strdup(key), name, 0, now, now};
  return &e->sent[e->nsent++];
}

static json_t *event_json(events_writer *e, const events_object *obj, const char *type, const char *reason,
                          const char *msg, const sent *s) {
  char *first = timestamp(s->first), *last = timestamp(s->last);
  json_t *involved = json_pack("{s:s, s:s, s:s, s:s}", "apiVersion", obj->api_version, "kind", obj->kind,
                               "namespace", obj->namespace, "name", obj->name);
  if (obj->uid) json_object_set_new(involved, "uid", json_string(obj->uid));
  json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:I, s:s, s:s, s:{s:s}, s:s, s:s}",
                         "apiVersion", "v1", "kind", "Event", "metadata", "name", s->name, "namespace",
                         obj->namespace, "involvedObject", involved, "type", type, "reason", reason, "message",
                         msg, "count", (json_int_t)s->count, "firstTimestamp", first, "lastTimestamp", last,
                         "source", "component", "plumb", "reportingComponent", "plumb.dev/runtime",
                         "reportingInstance", e->instance);
  free(first);
  free(last);
  return ev;
}

void events_emit(events_writer *e, const events_object *obj, const char *type, const char *reason, const char *fmt, ...) {
  if (!e) return;
  va_list ap;
  va_start(ap, fmt);
  char *raw = NULL;
  if (vasprintf(&raw, fmt, ap) < 0) abort();
  va_end(ap);
  /* A message may quote a file of any bytes; the API server takes UTF-8. */
  char *msg = heap_utf8(raw, MESSAGE_MAX);
  free(raw);
  char *object = heap_printf("%s/%s/%s", obj->namespace, obj->kind, obj->name);
  char *key = heap_printf("%s\x1f%s\x1f%s\x1f%s\x1f%s", object, obj->uid ? obj->uid : "", type, reason, msg);
  time_t now = time(NULL);
  pthread_mutex_lock(&e->mu);
  if (!within_budget(e, object, now)) {
    drop(e, "rate");
  } else if (e->n == QUEUE_MAX || e->stop) {
    drop(e, "queue");
  } else {
    sent *s = sent_under(e, key, obj->name, now);
    s->count++;
    s->last = now;
    job j = {event_json(e, obj, type, reason, msg, s), s->count > 1 ? heap_strdup(s->name) : NULL};
    e->queue[(e->head + e->n++) % QUEUE_MAX] = j;
    pthread_cond_signal(&e->wake);
  }
  pthread_mutex_unlock(&e->mu);
  free(key);
  free(object);
  free(msg);
}
