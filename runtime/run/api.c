/* api.c: the HTTP server's callbacks. They run in the server's threads and
 * touch nothing of the loop's but the status store: reads come from what
 * the loop last published, actions go on its queue (status.h). */
#include <stdlib.h>
#include <string.h>

#include "run/internal.h"

/* Each answer is a part of the application's document. */
static const char *const app_keys[] = {"name",     "project",  "parent",   "repo",          "revision",     "path",
                                       "cluster",  "namespace", "commit",  "commitMessage", "commitAuthor", "sync",
                                       "health",   "message",  "lastSync", "autoSync",      "applied",      "rollback",
                                       "resources", NULL};
static const char *const resource_keys[] = {"name", "sync", "health", "resources", NULL};
static const char *const history_keys[] = {"name", "applied", "rollback", "history", NULL};
static const char *const diff_keys[] = {"name", "commit", "sync", "diff", NULL};

/* What the caller may do with the application of doc. */
static unsigned actions_on(const serve_call *call, const json_t *doc) {
  return auth_actions(call->auth, call->who, kube_str(doc, "project"));
}

/* 403, with what was refused, as Argo CD words it. */
static int refused(json_t **out, const char *app, auth_action act) {
  *out = json_pack("{s:s}", "error", "permission denied");
  json_object_set_new(*out, "action", json_string(auth_action_name(act)));
  json_object_set_new(*out, "app", json_string(app));
  return 403;
}

/* The application's document for an action; NULL after setting *status
 * (and *out) when there is none or the caller may not. */
static json_t *app_for(const serve_call *call, json_t **out, void *store, auth_action act, int *status) {
  json_t *doc = status_app(store, call->app);
  *status = !doc ? 404 : !(actions_on(call, doc) & act) ? refused(out, call->app, act) : 0;
  if (*status) json_decref(doc);
  return *status ? NULL : doc;
}

/* A part of the document, with what the caller may do with it. */
static int part(const serve_call *call, json_t **out, void *store, const char *const *keys) {
  int status;
  json_t *doc = app_for(call, out, store, AUTH_GET, &status);
  if (!doc) return status;
  *out = run_json_only(doc, keys);
  json_t *actions = json_array();
  unsigned mask = actions_on(call, doc);
  for (unsigned bit = 1; bit <= AUTH_ALL; bit <<= 1)
    if (mask & bit) json_array_append_new(actions, json_string(auth_action_name(bit)));
  json_object_set_new(*out, "actions", actions);
  json_decref(doc);
  return 200;
}

/* The summaries of the applications the caller may see. */
static char *visible(const serve_call *call, char *list) {
  json_t *all = json_loads(list, 0, NULL), *mine = json_array();
  size_t i;
  json_t *app;
  json_array_foreach(all, i, app) {
    if (actions_on(call, app) & AUTH_GET) json_array_append(mine, app);
  }
  char *text = json_dumps(mine, JSON_COMPACT);
  if (!text) abort();
  json_decref(all);
  json_decref(mine);
  free(list);
  return text;
}

/* The summaries the loop published (status.h), as the text they are,
 * unless the caller may see only some. */
static int get_apps(const serve_call *call, json_t **out, void *store) {
  long long seq;
  char *list = status_list(store, &seq);
  if (auth_sees_some(call->auth, call->who)) list = visible(call, list);
  *call->text = heap_printf("{\"apps\":%s,\"seq\":%lld}", list, seq);
  free(list);
  return 200;
}

/* One event as server-sent events text, if the caller may see its app. */
static void put_event(buf *out, const serve_call *call, const json_t *e) {
  const json_t *app = json_object_get(e, "app");
  if (app && !(actions_on(call, app) & AUTH_GET)) return;
  json_t *data = json_deep_copy(e);
  json_object_del(data, "seq");
  char *text = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
  if (!text) abort();
  char *frame = heap_printf("id: %lld\nevent: %s\ndata: %s\n\n", json_integer_value(json_object_get(e, "seq")),
                            kube_str(e, "type"), text);
  buf_put(out, frame, strlen(frame));
  free(frame);
  free(text);
  json_decref(data);
}

/* The events after *seq the caller may see; a "reset" when the log has
 * lost some of them: the page reads the list again. */
static char *events(const serve_call *call, long long *seq, void *store) {
  if (*seq < 0) {
    *seq = status_seq(store);
    return NULL;
  }
  long long last;
  json_t *list = status_events(store, *seq, &last);
  buf out = {0};
  if (!list) {
    char *reset = heap_printf("id: %lld\nevent: reset\ndata: {}\n\n", last);
    buf_put(&out, reset, strlen(reset));
    free(reset);
  }
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) put_event(&out, call, e);
  json_decref(list);
  *seq = last;
  return out.data;
}

static void notify(void *srv) { serve_notify(srv); }

static int get_app(const serve_call *call, json_t **out, void *store) { return part(call, out, store, app_keys); }

static int get_resources(const serve_call *call, json_t **out, void *store) {
  return part(call, out, store, resource_keys);
}

static int get_history(const serve_call *call, json_t **out, void *store) {
  return part(call, out, store, history_keys);
}

static int get_diff(const serve_call *call, json_t **out, void *store) { return part(call, out, store, diff_keys); }

static int post_sync(const serve_call *call, json_t **out, void *store) {
  int status;
  json_t *doc = app_for(call, out, store, AUTH_SYNC, &status);
  if (!doc) return status;
  json_decref(doc);
  status_ask(store, &(status_request){.kind = STATUS_SYNC, .app = (char *)call->app});
  *out = json_pack("{s:s, s:s}", "name", call->app, "queued", "sync");
  return 202;
}

static int post_rollback(const serve_call *call, json_t **out, void *store) {
  int status;
  json_t *doc = app_for(call, out, store, AUTH_ROLLBACK, &status);
  if (!doc) return status;
  const json_t *e = history_pick(json_object_get(doc, "history"), json_string_value(json_object_get(doc, "applied")),
                                 call->has_id, call->id);
  status = 202;
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
  if (run_accounts_load(r, &r->auth, err) != 0) return -1;
  return run_api_serve(r->store, r->metrics, r->auth, r->o, out, err);
}

int run_api_serve(status_store *store, metrics *m, auth *a, const run_opts *ro, serve **out, char **err) {
  serve_opts o = {
      .auth = a,
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
      .events = events,
      .ctx = store,
  };
  if (serve_start(out, &o, err) != 0) return -1;
  status_on_publish(store, notify, *out);
  return 0;
}
