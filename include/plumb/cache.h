/* cache.h: a live view of the objects Plumb manages, kept by watches.
 *
 * Each watched apiVersion + kind (in one namespace or all) is listed, a
 * page at a time, then watched; one thread with one client runs every
 * watch, their streams sharing one connection (kube_watch_set). Only
 * objects carrying the label plumb.dev/application are kept, each as
 * compact JSON of what the unchanged check (kube_apply_unchanged) reads of
 * it: its names, resourceVersion, Plumb's managedFields entry and the
 * fields it owns (kube_keep_owned; no status, no other manager's fields). A
 * dropped watch resumes; a watch that fails (API server restart, network)
 * waits, backing off, and lists again; a relist (also after 410 Gone) drops
 * what was deleted while away.
 *
 * Made for a single-threaded loop: every function here may be called from
 * any thread but cache_free, and none blocks on the network. The loop asks
 * cheap questions: has anything of application A changed since I last
 * looked (cache_app_version), wait until something changes (cache_wait),
 * may I trust the view of this kind for prune (cache_synced). */
#ifndef PLUMB_CACHE_H
#define PLUMB_CACHE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "plumb/kube.h"

typedef struct cache cache;

/* An empty cache; cfg is borrowed and must outlive it. */
cache *cache_new(kube_config *cfg);
/* Stops every watch (its thread ends within about a second) and frees all. */
void cache_free(cache *c);

/* Keeps apiVersion + kind in ns (NULL: every namespace) live from now on;
 * watching it again does nothing. KUBE_ERROR with *err (caller frees) when
 * no client can be made; a kind the server does not serve, or may not be
 * watched, is retried in the background (cache_error says why). */
int cache_watch(cache *c, const char *api_version, const char *kind, const char *ns, char **err);

/* From now on only the objects of the applications named in apps (name:
 * true; stolen; NULL: all) are kept, and only their changes told:
 * sharded, other replicas sync the rest, and memory follows the
 * applications this one holds, not the fleet. When an application in apps
 * had objects let go before (another replica's, or one the config left and
 * named again), every watch lists again, and is not synced until it has:
 * nothing of those objects may have changed, so no event would bring
 * them. One whose objects were never seen has none to bring. */
void cache_keep(cache *c, json_t *apps);

/* True when that watch has listed everything and not failed since: only
 * then is an object missing from the cache missing from the cluster, and
 * only then may prune trust cache_list_app. */
bool cache_synced(cache *c, const char *api_version, const char *kind, const char *ns);
/* Why that watch is not synced (caller frees), NULL when nothing failed. */
char *cache_error(cache *c, const char *api_version, const char *kind, const char *ns);
/* How many objects that watch holds. */
size_t cache_count(cache *c, const char *api_version, const char *kind, const char *ns);
/* How many objects every watch holds together. */
size_t cache_size(cache *c);

/* The object ns/name (ns NULL for cluster-scoped kinds) as a synced watch
 * of its namespace, or of every namespace, keeps it (see above): *out a
 * copy (caller decrefs), NULL when there is no such labelled object. False
 * when no synced watch covers it: ask the server. */
bool cache_get(cache *c, const char *api_version, const char *kind, const char *ns, const char *name, json_t **out);
/* Every object of apiVersion + kind labelled with application app, from
 * every watch of that kind, as a JSON array (caller decrefs). False, and an
 * empty array, unless every such watch is synced. */
bool cache_list_app(cache *c, const char *api_version, const char *kind, const char *app, json_t **out);

/* Grows whenever an object labelled app is added, changed or deleted, or
 * its label moves to or from app: the loop keeps the last value it saw per
 * application and looks again when it differs. 0 until the first. */
uint64_t cache_app_version(cache *c, const char *app);
/* Waits until anything changes after version since (labelled objects, a
 * watch synced or failed), at most timeout_s; returns the version now,
 * for the next call. cache_wait(c, 0, 0) returns at once. */
uint64_t cache_wait(cache *c, uint64_t since, double timeout_s);
/* Wakes cache_wait as a change would, for a loop that has other reasons
 * to wake than the cache (requests from another thread). */
void cache_wake(cache *c);
/* From now on a change of c wakes cache_wait on other too: one loop waits
 * on the caches of several clusters. other must tell no one itself. */
void cache_tell(cache *c, cache *other);

#endif
