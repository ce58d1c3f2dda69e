/* cache.c: the live view of Plumb's objects (see cache.h).
 *
 * One lock guards every watch's objects, the versions and the flags; the
 * watch threads hold it only to store one event, and readers only to copy
 * out. Objects are kept as compact JSON text, a fraction of the memory of a
 * parsed tree, and parsed again when read. */
#include "plumb/cache.h"
#include "plumb/arena.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/apply.h"

#define WATCH_S 600     /* one kube_watch call; it resumes across dropped streams */
#define FIELD_MANAGER "plumb"

typedef struct watch {
  cache *owner;
  char *api, *kind, *ns; /* ns NULL: every namespace */
  kube_client *client;   /* the thread's own */
  pthread_t thread;
  char *rv;              /* the thread's: where to resume, NULL to list */
  int failures;          /* the thread's: in a row, for the backoff */
  /* Under the owner's lock: */
  json_t *objects;       /* "ns/name" -> [text, app or null] */
  bool synced;
  char *error;
  struct watch *next;
} watch;

struct cache {
  kube_config *cfg;
  pthread_mutex_t mu;
  pthread_cond_t changed; /* signalled when version grows, and on stop */
  bool stopping;
  uint64_t version;
  json_t *app_versions; /* app -> the version of its last change */
  watch *watches;
};

static bool same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }
static const char *meta_str(const json_t *obj, const char *key) {
  return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

/* ---- versions ---------------------------------------------------------------- */

/* Under the lock: something changed, of app's objects when app is given. */
static void bump(cache *c, const char *app) {
  c->version++;
  if (app) json_object_set_new(c->app_versions, app, json_integer((json_int_t)c->version));
  pthread_cond_broadcast(&c->changed);
}

uint64_t cache_app_version(cache *c, const char *app) {
  pthread_mutex_lock(&c->mu);
  uint64_t v = (uint64_t)json_integer_value(json_object_get(c->app_versions, app));
  pthread_mutex_unlock(&c->mu);
  return v;
}

static struct timespec deadline(double seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  double whole = (double)(time_t)seconds;
  ts.tv_sec += (time_t)seconds;
  ts.tv_nsec += (long)((seconds - whole) * 1e9);
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  return ts;
}

uint64_t cache_wait(cache *c, uint64_t since, double timeout_s) {
  struct timespec until = deadline(timeout_s > 0 ? timeout_s : 0);
  pthread_mutex_lock(&c->mu);
  while (c->version <= since && !c->stopping && pthread_cond_timedwait(&c->changed, &c->mu, &until) != ETIMEDOUT) {}
  uint64_t v = c->version;
  pthread_mutex_unlock(&c->mu);
  return v;
}

void cache_wake(cache *c) {
  pthread_mutex_lock(&c->mu);
  bump(c, NULL);
  pthread_mutex_unlock(&c->mu);
}

/* ---- one object ------------------------------------------------------------------ */

/* Plumb's own managedFields entries; the others (controllers, kubectl)
 * weigh more than the object and answer no question the runtime asks. */
static void keep_own_fields(json_t *obj) {
  json_t *meta = json_object_get(obj, "metadata"), *kept = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(meta, "managedFields"), i, e) {
    if (same_str(json_string_value(json_object_get(e, "manager")), FIELD_MANAGER)) json_array_append(kept, e);
  }
  if (json_array_size(kept))
    json_object_set(meta, "managedFields", kept);
  else
    json_object_del(meta, "managedFields");
  json_decref(kept);
}

static char *key_of(const json_t *obj) {
  const char *ns = meta_str(obj, "namespace"), *name = meta_str(obj, "name");
  char *key;
  if (asprintf(&key, "%s/%s", ns ? ns : "", name ? name : "") < 0) abort();
  return key;
}

static const char *app_of(const json_t *obj) {
  return json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"),
                                           APPLY_OWNER_LABEL));
}

static const char *entry_text(const json_t *e) { return json_string_value(json_array_get(e, 0)); }
static const char *entry_app(const json_t *e) { return json_string_value(json_array_get(e, 1)); }

/* Under the lock: the entry under key goes; its application hears of it. */
static void forget(watch *w, const char *key) {
  json_t *old = json_object_get(w->objects, key);
  if (!old) return;
  bump(w->owner, entry_app(old));
  json_object_del(w->objects, key);
}

static void store(watch *w, json_t *obj) {
  keep_own_fields(obj);
  char *key = key_of(obj), *text = json_dumps(obj, JSON_COMPACT);
  const char *app = app_of(obj);
  cache *c = w->owner;
  pthread_mutex_lock(&c->mu);
  json_t *old = json_object_get(w->objects, key);
  if (!old || strcmp(entry_text(old), text) != 0) {
    /* A label moved from one application to another: both hear of it. */
    if (old && !same_str(entry_app(old), app)) bump(c, entry_app(old));
    bump(c, app);
    json_object_set_new(w->objects, key, json_pack("[s, s*]", text, app));
  }
  pthread_mutex_unlock(&c->mu);
  free(key);
  free(text);
}

static void drop(watch *w, const json_t *obj) {
  char *key = key_of(obj);
  pthread_mutex_lock(&w->owner->mu);
  forget(w, key);
  pthread_mutex_unlock(&w->owner->mu);
  free(key);
}

/* After a list: what it did not hold was deleted while unseen. */
static void sync_to(watch *w, const json_t *items) {
  json_t *listed = json_object();
  size_t i;
  json_t *item;
  json_array_foreach(items, i, item) {
    char *key = key_of(item);
    json_object_set_new(listed, key, json_true());
    free(key);
  }
  cache *c = w->owner;
  pthread_mutex_lock(&c->mu);
  const char *key;
  void *tmp;
  json_t *e;
  json_object_foreach_safe(w->objects, tmp, key, e) {
    if (!json_object_get(listed, key)) forget(w, key);
  }
  w->synced = true;
  free(w->error);
  w->error = NULL;
  bump(c, NULL);
  pthread_mutex_unlock(&c->mu);
  json_decref(listed);
  /* The list was parsed whole, many times the size of what is kept: give
   * the memory back rather than hold the peak for good. */
  malloc_trim(0);
}

/* ---- the watch thread ---------------------------------------------------------- */

static int on_event(const char *type, json_t *obj, void *ctx) {
  watch *w = ctx;
  const char *rv = meta_str(obj, "resourceVersion");
  if (rv && *rv) {
    free(w->rv);
    w->rv = heap_strdup(rv);
  }
  if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
    store(w, obj);
  } else if (strcmp(type, "DELETED") == 0) {
    drop(w, obj);
  } else if (strcmp(type, "SYNCED") == 0) {
    sync_to(w, json_object_get(obj, "items"));
    w->failures = 0;
  }
  return 0;
}

/* The watch failed: the view may be behind until the next list. */
static void unsync(watch *w, const char *why) {
  cache *c = w->owner;
  pthread_mutex_lock(&c->mu);
  w->synced = false;
  free(w->error);
  w->error = heap_strdup(why);
  bump(c, NULL);
  pthread_mutex_unlock(&c->mu);
  free(w->rv);
  w->rv = NULL;
}

/* Exponential from 200 ms, capped at 5 s, with jitter; false once the cache
 * is stopping. */
static bool back_off(watch *w) {
  int n = w->failures < 5 ? w->failures : 5;
  double cap = 0.2 * (double)(1 << n);
  if (cap > 5) cap = 5;
  w->failures++;
  struct timespec until = deadline(cap * (0.5 + 0.5 * (double)rand() / RAND_MAX));
  cache *c = w->owner;
  pthread_mutex_lock(&c->mu);
  while (!c->stopping && pthread_cond_timedwait(&c->changed, &c->mu, &until) != ETIMEDOUT) {}
  bool go_on = !c->stopping;
  pthread_mutex_unlock(&c->mu);
  return go_on;
}

static void *watch_main(void *arg) {
  watch *w = arg;
  for (;;) {
    kube_watch_opts o = {.label_selector = APPLY_OWNER_LABEL, .resource_version = w->rv, .timeout_s = WATCH_S};
    int rc = kube_watch(w->client, w->api, w->kind, w->ns, &o, on_event, w);
    if (rc == KUBE_ECANCELED) break;
    if (rc == KUBE_OK) continue; /* its time was up: resume where it was */
    unsync(w, kube_last_error(w->client));
    if (!back_off(w)) break;
  }
  return NULL;
}

/* ---- watches ---------------------------------------------------------------------- */

static watch *find(cache *c, const char *api, const char *kind, const char *ns) {
  for (watch *w = c->watches; w; w = w->next)
    if (strcmp(w->api, api) == 0 && strcmp(w->kind, kind) == 0 && same_str(w->ns, ns)) return w;
  return NULL;
}

cache *cache_new(kube_config *cfg) {
  cache *c = calloc(1, sizeof *c);
  if (!c) abort();
  c->cfg = cfg;
  c->app_versions = json_object();
  pthread_mutex_init(&c->mu, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* waits measured as deadline() does */
  pthread_cond_init(&c->changed, &attr);
  pthread_condattr_destroy(&attr);
  return c;
}

static void watch_free(watch *w) {
  kube_client_free(w->client);
  json_decref(w->objects);
  free(w->api);
  free(w->kind);
  free(w->ns);
  free(w->rv);
  free(w->error);
  free(w);
}

int cache_watch(cache *c, const char *api_version, const char *kind, const char *ns, char **err) {
  int rc = KUBE_OK;
  pthread_mutex_lock(&c->mu);
  if (!find(c, api_version, kind, ns)) {
    watch *w = calloc(1, sizeof *w);
    if (!w) abort();
    *w = (watch){.owner = c, .api = heap_strdup(api_version), .kind = heap_strdup(kind), .ns = heap_strdup(ns),
                 .objects = json_object(), .next = c->watches};
    if ((rc = kube_client_new(&w->client, c->cfg, NULL, err)) != KUBE_OK) {
      watch_free(w);
    } else {
      if (pthread_create(&w->thread, NULL, watch_main, w) != 0) abort();
      c->watches = w;
    }
  }
  pthread_mutex_unlock(&c->mu);
  return rc;
}

void cache_free(cache *c) {
  if (!c) return;
  pthread_mutex_lock(&c->mu);
  c->stopping = true;
  pthread_cond_broadcast(&c->changed);
  pthread_mutex_unlock(&c->mu);
  for (watch *w = c->watches; w; w = w->next) kube_client_interrupt(w->client);
  while (c->watches) {
    watch *w = c->watches;
    c->watches = w->next;
    pthread_join(w->thread, NULL);
    watch_free(w);
  }
  json_decref(c->app_versions);
  pthread_cond_destroy(&c->changed);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

/* ---- questions ------------------------------------------------------------------------ */

bool cache_synced(cache *c, const char *api_version, const char *kind, const char *ns) {
  pthread_mutex_lock(&c->mu);
  watch *w = find(c, api_version, kind, ns);
  bool synced = w && w->synced;
  pthread_mutex_unlock(&c->mu);
  return synced;
}

char *cache_error(cache *c, const char *api_version, const char *kind, const char *ns) {
  pthread_mutex_lock(&c->mu);
  watch *w = find(c, api_version, kind, ns);
  char *e = heap_strdup(w ? w->error : NULL);
  pthread_mutex_unlock(&c->mu);
  return e;
}

size_t cache_count(cache *c, const char *api_version, const char *kind, const char *ns) {
  pthread_mutex_lock(&c->mu);
  watch *w = find(c, api_version, kind, ns);
  size_t n = w ? json_object_size(w->objects) : 0;
  pthread_mutex_unlock(&c->mu);
  return n;
}

static json_t *parse(const json_t *entry) { return json_loads(entry_text(entry), 0, NULL); }

bool cache_get(cache *c, const char *api_version, const char *kind, const char *ns, const char *name, json_t **out) {
  char *key;
  if (asprintf(&key, "%s/%s", ns ? ns : "", name) < 0) abort();
  pthread_mutex_lock(&c->mu);
  watch *w = ns ? find(c, api_version, kind, ns) : NULL;
  if (!w || !w->synced) w = find(c, api_version, kind, NULL);
  bool known = w && w->synced;
  json_t *e = known ? json_object_get(w->objects, key) : NULL;
  *out = e ? parse(e) : NULL;
  pthread_mutex_unlock(&c->mu);
  free(key);
  return known;
}

bool cache_list_app(cache *c, const char *api_version, const char *kind, const char *app, json_t **out) {
  bool all_synced = true, any = false;
  *out = json_array();
  pthread_mutex_lock(&c->mu);
  for (watch *w = c->watches; w && all_synced; w = w->next) {
    if (strcmp(w->api, api_version) != 0 || strcmp(w->kind, kind) != 0) continue;
    any = true;
    all_synced = w->synced;
    const char *key;
    json_t *e;
    json_object_foreach(w->objects, key, e) {
      if (same_str(entry_app(e), app)) json_array_append_new(*out, parse(e));
    }
  }
  pthread_mutex_unlock(&c->mu);
  if (!any || !all_synced) json_array_clear(*out);
  return any && all_synced;
}
