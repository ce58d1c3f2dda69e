/* view.c: the live caches (cache.h) as the loop uses them, one for each
 * destination (dest.c).
 *
 * After each build, the application's kinds and those prune looks for are
 * watched in every namespace of its destination; from then on a change to
 * one of its objects (a hand edit, a controller's status) makes its pass
 * due at once instead of at its interval. The cache also answers two
 * questions before the server is asked: may prune trust what it would see
 * (only on a complete view, never mid-relist), and is the application as
 * git says (then the comparison needs no request). */
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

#include "compare/live.h"
#include "run/internal.h"

static const char *res_str(const compile_result *objs, size_t i, const char *path) {
  return value_get_path(objs->res[i].obj, path)->u.str.s;
}

/* Calls each(api, kind) for the kinds prune looks for, then objs' own,
 * until it returns false; returns what the last call did. */
static bool each_kind(const compile_result *objs, bool (*each)(const char *api, const char *kind, void *ctx),
                      void *ctx) {
  const char *api, *kind;
  for (size_t i = 0; (kind = apply_prune_kind(i, &api)); i++)
    if (!each(api, kind, ctx)) return false;
  for (size_t i = 0; i < objs->nres; i++)
    if (!each(res_str(objs, i, "apiVersion"), res_str(objs, i, "kind"), ctx)) return false;
  return true;
}

typedef struct {
  run_dest *d;
  FILE *log;
} watching;

static bool watch_kind(const char *api, const char *kind, void *ctx) {
  watching *w = ctx;
  char *err;
  if (cache_watch(w->d->cache, api, kind, NULL, &err) != KUBE_OK) {
    fprintf(w->log, "cluster %s: cannot watch %s %s: %s\n", w->d->name, api, kind, err);
    free(err);
  }
  return true;
}

void run_view_watch(runner *r, run_dest *d, const compile_result *objs) {
  if (d->cache) each_kind(objs, watch_kind, &(watching){d, r->o->out});
}

void run_view_note_changes(runner *r) {
  for (size_t i = 0; i < r->napps; i++) {
    run_dest *d = run_dest_find(r, r->defs.apps[i].cluster);
    if (!d || !d->cache) continue;
    uint64_t v = cache_app_version(d->cache, r->apps[i].name);
    if (v == r->apps[i].seen) continue;
    r->apps[i].seen = v;
    /* Only after a pass has fetched its repository in this process. */
    if (r->apps[i].due > run_now() && r->apps[i].passed_at) r->apps[i].stay_local = true;
    r->apps[i].due = 0;
  }
}

/* ---- a complete view ------------------------------------------------------------ */

typedef struct {
  cache *cache;
  char *why; /* of the first kind not synced */
} completeness;

static bool kind_synced(const char *api, const char *kind, void *ctx) {
  completeness *c = ctx;
  if (cache_synced(c->cache, api, kind, NULL)) return true;
  char *err = cache_error(c->cache, api, kind, NULL);
  c->why =
      heap_printf("the live view of %s %s is %s%s", api, kind, err ? "not synced: " : "still listing", err ? err : "");
  free(err);
  return false;
}

bool run_view_complete(run_dest *d, const compile_result *objs, double timeout_s, char **why) {
  *why = NULL;
  if (!d->cache) return true;
  double until = run_now() + timeout_s;
  for (uint64_t v = cache_wait(d->cache, 0, 0);;) {
    completeness c = {.cache = d->cache};
    if (each_kind(objs, kind_synced, &c)) return true;
    if (run_now() >= until) {
      *why = c.why;
      return false;
    }
    free(c.why);
    v = cache_wait(d->cache, v, until - run_now());
  }
}

/* ---- unchanged, from the cache ----------------------------------------------- */

/* "apiVersion kind namespace/name", one key per object whatever way it
 * was read. */
static char *key_of(const char *api, const char *kind, const char *ns, const char *name) {
  char *key;
  key = heap_printf("%s %s %s/%s", api, kind, ns ? ns : "", name);
  return key;
}

/* The namespace objs[i] lives in: its own, else the application's (the
 * client's default, set for the application by the project check of its
 * build); NULL for cluster-scoped kinds. False when discovery cannot say. */
static bool namespace_of(kube_client *c, const json_t *body, const char **ns) {
  const kube_resource *kr;
  if (kube_resource_find(c, kube_str(body, "apiVersion"), kube_str(body, "kind"), &kr) != KUBE_OK) return false;
  const char *own = kube_meta_str(body, "namespace");
  *ns = !kr->namespaced ? NULL : own ? own : kube_default_namespace(c);
  return true;
}

/* Is the object as the cache holds it what applying body would leave? */
static bool cached_unchanged(run_dest *d, json_t *body, const char *manager, json_t *wanted) {
  const char *ns = NULL, *api = kube_str(body, "apiVersion"), *kind = kube_str(body, "kind");
  json_t *live = NULL;
  bool found = namespace_of(d->c, body, &ns) && cache_get(d->cache, api, kind, ns, kube_meta_str(body, "name"), &live);
  live_keep(body, live, manager); /* as live_read does */
  bool same = found && live_unchanged(&(live_obj){.body = body, .live = live, .manager = manager});
  json_decref(live);
  char *key = key_of(api, kind, ns, kube_meta_str(body, "name"));
  json_object_set_new(wanted, key, json_true());
  free(key);
  return same;
}

typedef struct {
  cache *cache;
  const char *app;
  json_t *wanted; /* key_of each of the build's objects */
} orphan_check;

/* No object of this kind is the application's but those it builds. */
static bool no_orphans(const char *api, const char *kind, void *ctx) {
  orphan_check *o = ctx;
  json_t *items, *item;
  bool none = cache_list_app(o->cache, api, kind, o->app, &items);
  size_t i;
  json_array_foreach(items, i, item) {
    char *key = key_of(api, kind, kube_meta_str(item, "namespace"), kube_meta_str(item, "name"));
    none = none && json_object_get(o->wanted, key);
    free(key);
  }
  json_decref(items);
  return none;
}

bool run_view_unchanged(run_dest *d, const app_def *app, const compile_result *objs) {
  if (!d->cache) return false;
  orphan_check o = {d->cache, app->name, json_object()};
  bool same = true;
  for (size_t i = 0; i < objs->nres && same; i++) {
    json_t *body = apply_body(objs, i, app->name);
    same = cached_unchanged(d, body, app->field_manager, o.wanted);
    json_decref(body);
  }
  same = same && each_kind(objs, no_orphans, &o);
  json_decref(o.wanted);
  return same;
}

/* ---- prune's candidates ------------------------------------------------------- */

static bool list_app(void *ctx, const char *api, const char *kind, json_t **items) {
  const run_view_lister *l = ctx;
  return cache_list_app(l->cache, api, kind, l->app, items);
}

const apply_lister *run_view_candidates(run_dest *d, const app_def *app, run_view_lister *l) {
  if (!d->cache) return NULL;
  *l = (run_view_lister){{list_app, l}, d->cache, app->name};
  return &l->lister;
}
