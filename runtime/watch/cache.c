/* cache.c: the live view of Plumb's objects (see cache.h).
 *
 * One thread runs every watch (a kube_watch_set on a client of its own).
 * One lock guards every watch's objects, the versions and the flags; that
 * thread holds it only to store one event, and readers only to copy out.
 * Objects are kept as compact JSON text, a fraction of the memory of a
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


typedef struct watch {
  cache *owner;
  char *api, *kind, *ns; /* ns NULL: every namespace */
  json_t *listed;        /* the watch thread's: keys listed since LISTING */
  /* Under the owner's lock: */
  json_t *objects;       /* "ns/name" -> entry (entry_of) */
  bool synced;
  char *error;
  struct watch *next;
} watch;

struct cache {
  kube_config *cfg;
  kube_client *client;  /* the watch thread's, made with the first watch */
  kube_watch_set *set;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t changed; /* signalled when version grows, and on stop */
  bool stopping;
  uint64_t version;
  json_t *app_versions; /* app -> the version of its last change */
  json_t *kept;         /* app -> true: only their objects are kept (cache_keep); NULL: all */
  /* app -> true: objects of theirs were let go since the last list began;
   * kept again, they are listed anew (cache_keep). */
  json_t *let_go;
  cache *tells; /* woken at each change too (cache_tell) */
  watch *watches;
};

static bool same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* ---- versions ---------------------------------------------------------------- */

/* Under the lock: something changed, of app's objects when app is given. */
static void bump(cache *c, const char *app) {
  c->version++;
  if (app) json_object_set_new(c->app_versions, app, json_integer((json_int_t)c->version));
  pthread_cond_broadcast(&c->changed);
  /* Its lock, then the other's: the other tells no one (cache_tell). */
  if (c->tells) cache_wake(c->tells);
}

void cache_tell(cache *c, cache *other) {
  pthread_mutex_lock(&c->mu);
  c->tells = other;
  pthread_mutex_unlock(&c->mu);
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

static char *key_of(const json_t *obj) {
  const char *ns = kube_meta_str(obj, "namespace"), *name = kube_meta_str(obj, "name");
  char *key;
  key = heap_printf("%s/%s", ns ? ns : "", name ? name : "");
  return key;
}

static const char *app_of(const json_t *obj) {
  return kube_str(json_object_get(json_object_get(obj, "metadata"), "labels"), APPLY_OWNER_LABEL);
}

/* One string per object, "APP\0TEXT" (a label value holds no NUL), rather
 * than an array of two: a third of the allocations. */
static json_t *entry_of(const char *app, const char *text) {
  size_t n = app ? strlen(app) : 0, len = strlen(text);
  char *both = heap_alloc(n + 1 + len);
  memcpy(both, app ? app : "", n + 1);
  memcpy(both + n + 1, text, len);
  json_t *e = json_stringn_nocheck(both, n + 1 + len);
  free(both);
  return e;
}
static const char *entry_app(const json_t *e) {
  const char *app = json_string_value(e);
  return *app ? app : NULL;
}
static const char *entry_text(const json_t *e) {
  const char *app = json_string_value(e);
  return app + strlen(app) + 1;
}

/* Whether the objects of app are let go: kept (cache_keep) names others. */
static bool dropped(const json_t *kept, const char *app) { return kept && !(app && json_object_get(kept, app)); }

/* Under the lock: an object of app is let go, or was not kept. */
static void let_go(cache *c, const char *app) {
  if (app && !json_object_get(c->let_go, app)) json_object_set_new(c->let_go, app, json_true());
}

/* Under the lock: the entry under key goes; its application hears of it. */
static void forget(watch *w, const char *key) {
  json_t *old = json_object_get(w->objects, key);
  if (!old) return;
  bump(w->owner, entry_app(old));
  json_object_del(w->objects, key);
}

/* Kept as the unchanged check reads it (kube_keep_owned): a fraction of
 * the object. Its resourceVersion stays, so any change is one here too. */
static void store(watch *w, json_t *obj) {
  char *key = key_of(obj), *app = heap_strdup(app_of(obj));
  kube_keep_owned(obj, NULL);
  char *text = json_dumps(obj, JSON_COMPACT);
  if (w->listed) json_object_set_new(w->listed, key, json_true());
  cache *c = w->owner;
  pthread_mutex_lock(&c->mu);
  json_t *old = json_object_get(w->objects, key);
  if (dropped(c->kept, app)) {
    forget(w, key);
    let_go(c, app);
  } else if (!old || strcmp(entry_text(old), text) != 0) {
    /* A label moved from one application to another: both hear of it. */
    if (old && !same_str(entry_app(old), app)) bump(c, entry_app(old));
    bump(c, app);
    json_object_set_new(w->objects, key, entry_of(app, text));
  }
  pthread_mutex_unlock(&c->mu);
  free(key);
  free(app);
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
static void sync_listed(watch *w) {
  cache *c = w->owner;
  pthread_mutex_lock(&c->mu);
  const char *key;
  void *tmp;
  json_t *e;
  json_object_foreach_safe(w->objects, tmp, key, e) {
    if (!json_object_get(w->listed, key)) forget(w, key);
  }
  w->synced = true;
  free(w->error);
  w->error = NULL;
  bump(c, NULL);
  pthread_mutex_unlock(&c->mu);
  json_decref(w->listed);
  w->listed = NULL;
  /* Parsing the pages left holes among what is kept: give back what can be. */
  malloc_trim(0);
}

/* ---- the watch thread ---------------------------------------------------------- */

static int on_event(const char *type, json_t *obj, void *ctx) {
  watch *w = ctx;
  if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
    store(w, obj);
  } else if (strcmp(type, "DELETED") == 0) {
    drop(w, obj);
  } else if (strcmp(type, "LISTING") == 0) {
    json_decref(w->listed);
    w->listed = json_object();
  } else if (strcmp(type, "SYNCED") == 0) {
    sync_listed(w);
  }
  return 0;
}

/* The watch failed: the view may be behind until the next list. */
static void unsync(int rc, const char *why, void *ctx) {
  watch *w = ctx;
  cache *c = w->owner;
  pthread_mutex_lock(&c->mu);
  w->synced = false;
  free(w->error);
  w->error = heap_strdup(why);
  bump(c, NULL);
  pthread_mutex_unlock(&c->mu);
}

static void *run_watches(void *set) {
  kube_watch_set_run(set);
  return NULL;
}

/* ---- watches ---------------------------------------------------------------------- */

static watch *find(cache *c, const char *api, const char *kind, const char *ns) {
  for (watch *w = c->watches; w; w = w->next)
    if (strcmp(w->api, api) == 0 && strcmp(w->kind, kind) == 0 && same_str(w->ns, ns)) return w;
  return NULL;
}

cache *cache_new(kube_config *cfg) {
  cache *c = heap_calloc(1, sizeof *c);
  c->cfg = cfg;
  c->app_versions = json_object();
  c->let_go = json_object();
  pthread_mutex_init(&c->mu, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* waits measured as deadline() does */
  pthread_cond_init(&c->changed, &attr);
  pthread_condattr_destroy(&attr);
  return c;
}

static void watch_free(watch *w) {
  json_decref(w->objects);
  json_decref(w->listed);
  free(w->api);
  free(w->kind);
  free(w->ns);
  free(w->error);
  free(w);
}

/* Under the lock: the watch thread and its client, with the first watch. */
static int start_thread(cache *c, char **err) {
  if (c->set) return KUBE_OK;
  int rc = kube_client_new(&c->client, c->cfg, NULL, err);
  if (rc != KUBE_OK) return rc;
  c->set = kube_watch_set_new(c->client);
  if (pthread_create(&c->thread, NULL, run_watches, c->set) != 0) abort();
  return KUBE_OK;
}

int cache_watch(cache *c, const char *api_version, const char *kind, const char *ns, char **err) {
  int rc = KUBE_OK;
  pthread_mutex_lock(&c->mu);
  if (!find(c, api_version, kind, ns) && (rc = start_thread(c, err)) == KUBE_OK) {
    watch *w = heap_calloc(1, sizeof *w);
    *w = (watch){.owner = c, .api = heap_strdup(api_version), .kind = heap_strdup(kind), .ns = heap_strdup(ns),
                 .objects = json_object(), .next = c->watches};
    c->watches = w;
    kube_watch_set_add(c->set, &(kube_watch_spec){.api_version = api_version, .kind = kind, .ns = ns,
                                                  .label_selector = APPLY_OWNER_LABEL, .fn = on_event,
                                                  .failed = unsync, .ctx = w});
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
  if (c->set) {
    kube_watch_set_stop(c->set);
    pthread_join(c->thread, NULL);
    kube_watch_set_free(c->set);
    kube_client_free(c->client);
  }
  while (c->watches) {
    watch *w = c->watches;
    c->watches = w->next;
    watch_free(w);
  }
  json_decref(c->app_versions);
  json_decref(c->kept);
  json_decref(c->let_go);
  pthread_cond_destroy(&c->changed);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

/* Under the lock: whether any of apps had objects let go. */
static bool any_let_go(const cache *c, const json_t *apps) {
  if (!apps) return json_object_size(c->let_go) > 0;
  const char *app;
  json_t *v;
  json_object_foreach((json_t *)apps, app, v) {
    if (json_object_get(c->let_go, app)) return true;
  }
  return false;
}

void cache_keep(cache *c, json_t *apps) {
  pthread_mutex_lock(&c->mu);
  bool relist = any_let_go(c, apps);
  /* The list brings back what it does not keep again. */
  if (relist) json_object_clear(c->let_go);
  for (watch *w = c->watches; w; w = w->next) {
    const char *key;
    void *tmp;
    json_t *e;
    json_object_foreach_safe(w->objects, tmp, key, e) {
      if (!dropped(apps, entry_app(e))) continue;
      let_go(c, entry_app(e));
      forget(w, key);
    }
    /* Until the list is done, what is missing may be there. */
    if (relist) w->synced = false;
  }
  json_decref(c->kept);
  c->kept = apps;
  pthread_mutex_unlock(&c->mu);
  if (relist && c->set) kube_watch_set_relist(c->set);
  /* What was forgotten leaves holes among what is kept. */
  malloc_trim(0);
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

size_t cache_size(cache *c) {
  size_t n = 0;
  pthread_mutex_lock(&c->mu);
  for (watch *w = c->watches; w; w = w->next) n += json_object_size(w->objects);
  pthread_mutex_unlock(&c->mu);
  return n;
}

static json_t *parse(const json_t *entry) { return json_loads(entry_text(entry), 0, NULL); }

bool cache_get(cache *c, const char *api_version, const char *kind, const char *ns, const char *name, json_t **out) {
  char *key;
  key = heap_printf("%s/%s", ns ? ns : "", name);
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
