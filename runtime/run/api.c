/* api.c: the HTTP server's callbacks. They run in the server's threads and
 * touch nothing of the loop's but the status store: reads come from what
 * the loop last published, actions go on its queue (status.h). */
#include <stdlib.h>
#include <string.h>

#include "run/internal.h"

/* Each answer is a part of the application's document. */
static const char *const app_keys[] = {"name",     "project",  "parent",    "object",    "repo",    "revision", "path",
                                       "cluster",  "namespace", "commit",   "sync",    "health",   "message",
                                       "lastSync", "autoSync", "applied",   "rollback", "resources", NULL};
static const char *const resource_keys[] = {"name", "sync", "health", "resources", NULL};
static const char *const history_keys[] = {"name", "applied", "rollback", "history", NULL};
static const char *const diff_keys[] = {"name", "commit", "sync", "diff", NULL};

static int part(const serve_call *call, json_t **out, void *store, const char *const *keys) {
  json_t *doc = status_app(store, call->app);
  if (!doc) return 404;
  *out = run_json_only(doc, keys);
  json_decref(doc);
  return 200;
}

/* The summaries the loop published (status.h), as the text they are. */
static int get_apps(const serve_call *call, json_t **out, void *store) {
  char *list = status_list(store);
  *call->text = heap_printf("{\"apps\":%s}", list);
  free(list);
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

int run_api_start(runner *r, serve **out, char **err) { return run_api_serve(r->store, r->metrics, r->o, out, err); }

int run_api_serve(status_store *store, metrics *m, const run_opts *ro, serve **out, char **err) {
  serve_opts o = {
      .address = ro->address,
      .port = ro->port,
      .probes = ro->probes,
      .probe_address = ro->probe_address,
      .probe_port = ro->probe_port,
      .token = ro->token,
      .webhook_secret = ro->webhook_secret,
      .metrics = m,
      .api = {[SERVE_APPS] = get_apps, [SERVE_APP] = get_app, [SERVE_RESOURCES] = get_resources,
              [SERVE_HISTORY] = get_history, [SERVE_DIFF] = get_diff, [SERVE_SYNC] = post_sync,
              [SERVE_ROLLBACK] = post_rollback},
      .push = pushed,
      .ctx = store,
  };
  return serve_start(out, &o, err);
}
