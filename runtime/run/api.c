/* api.c: the HTTP server's callbacks. They run in the server's threads and
 * touch nothing of the loop's but the status store: reads come from what
 * the loop last published, actions go on its queue (status.h). */
#include <stdlib.h>
#include <string.h>

#include "run/internal.h"

/* Each answer is a part of the application's document. */
static const char *const app_keys[] = {"name",     "project",  "parent",    "repo",    "revision", "path",
                                       "cluster",  "namespace", "commit",   "sync",    "health",   "message",
                                       "lastSync", "autoSync", "applied",   "rollback", "resources", NULL};
static const char *const resource_keys[] = {"name", "sync", "health", "resources", NULL};
static const char *const history_keys[] = {"name", "applied", "rollback", "history", NULL};
static const char *const diff_keys[] = {"name", "commit", "sync", "diff", NULL};
/* The list: what `plumb status` shows. */
static const char *const list_keys[] = {"name", "project", "parent", "cluster", "revision", "commit", "sync",
                                        "health", "message", "lastSync", "autoSync", NULL};

static json_t *only(json_t *doc, const char *const *keys) {
  json_t *part = json_object();
  for (size_t i = 0; keys[i]; i++) {
    json_t *v = json_object_get(doc, keys[i]);
    if (v) json_object_set(part, keys[i], v);
  }
  json_decref(doc);
  return part;
}

static int part(const serve_call *call, json_t **out, void *store, const char *const *keys) {
  json_t *doc = status_app(store, call->app);
  if (!doc) return 404;
  *out = only(doc, keys);
  return 200;
}

static int get_apps(const serve_call *call, json_t **out, void *store) {
  json_t *apps = status_apps(store), *list = json_array(), *doc;
  size_t i;
  json_array_foreach(apps, i, doc) json_array_append_new(list, only(json_incref(doc), list_keys));
  json_decref(apps);
  *out = json_pack("{s:o}", "apps", list);
  return 200;
}

static int get_app(const serve_call *call, json_t **out, void *store) { return part(call, out, store, app_keys); }

static int get_resources(const serve_call *call, json_t **out, void *store) {
  return part(call, out, store, resource_keys);
}

static int get_history(const serve_call *call, json_t **out, void *store) {
  return part(call, out, store, history_keys);
}

static int get_diff(const serve_call *call, json_t **out, void *store) { return part(call, out, store, diff_keys); }

static int post_sync(const serve_call *call, json_t **out, void *store) {
  json_t *doc = status_app(store, call->app);
  if (!doc) return 404;
  json_decref(doc);
  status_ask(store, &(status_request){.kind = STATUS_SYNC, .app = (char *)call->app});
  *out = json_pack("{s:s, s:s}", "name", call->app, "queued", "sync");
  return 202;
}

static int post_rollback(const serve_call *call, json_t **out, void *store) {
  json_t *doc = status_app(store, call->app);
  if (!doc) return 404;
  const json_t *e = history_pick(json_object_get(doc, "history"), json_string_value(json_object_get(doc, "applied")),
                                 call->has_id, call->id);
  int status = 202;
  if (!e) {
    status = call->has_id ? 404 : 409;
    *out = json_pack("{s:s}", "error", call->has_id ? "no history entry with that id"
                                                    : "no earlier successful sync to roll back to");
  } else {
    status_request req = {.kind = STATUS_ROLLBACK, .app = (char *)call->app,
                          .revision = (char *)json_string_value(json_object_get(e, "revision")),
                          .id = json_integer_value(json_object_get(e, "id"))};
    status_ask(store, &req);
    *out = json_pack("{s:s, s:s, s:I, s:s}", "name", call->app, "queued", "rollback", "id", (json_int_t)req.id,
                     "revision", req.revision);
  }
  json_decref(doc);
  return status;
}

/* Every source of the repository pushed to is fetched at once. */
static void pushed(const serve_push *push, void *store) {
  for (size_t i = 0; i < push->nurls; i++) {
    char *key = source_url_key(push->urls[i]);
    status_ask(store, &(status_request){.kind = STATUS_REFRESH, .key = key});
    free(key);
  }
}

int run_api_start(runner *r, serve **out, char **err) {
  serve_opts o = {
      .address = r->o->address,
      .port = r->o->port,
      .probes = r->o->probes,
      .probe_address = r->o->probe_address,
      .probe_port = r->o->probe_port,
      .token = r->o->token,
      .webhook_secret = r->o->webhook_secret,
      .metrics = r->metrics,
      .api = {[SERVE_APPS] = get_apps, [SERVE_APP] = get_app, [SERVE_RESOURCES] = get_resources,
              [SERVE_HISTORY] = get_history, [SERVE_DIFF] = get_diff, [SERVE_SYNC] = post_sync,
              [SERVE_ROLLBACK] = post_rollback},
      .push = pushed,
      .ctx = r->store,
  };
  return serve_start(out, &o, err);
}
