/* api.c: the HTTP server's callbacks. They run in the server's threads and
 * touch nothing of the loop's but the status store: reads come from what
 * the loop last published, actions go on its queue (status.h). The tree
 * of an application's live objects is read from its cluster when asked,
 * with a client of the thread's own. */
#include <stdlib.h>
#include <string.h>

#include "run/internal.h"

/* Each answer is a part of the application's document. */
static const char *const app_keys[] = {
    "name",      "project", "parent",    "object",   "repo",     "revision", "path",          "cluster",
    "namespace", "commit",  "commitMessage", "commitAuthor", "sync", "health", "message",     "lastSync",
    "autoSync",  "applied", "rollback",  "automated", "prune",   "self_heal", "env",  "directory", "warnings", "suspended", "resources", "replica", "owned",
    NULL};
static const char *const resource_keys[] = {"name", "sync", "health", "resources", NULL};
static const char *const history_keys[] = {"name", "applied", "rollback", "history", NULL};
static const char *const diff_keys[] = {"name", "commit", "sync", "diff", NULL};

static status_store *store_of(void *ctx) { return ((const run_api *)ctx)->store; }

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
static json_t *app_for(const serve_call *call, json_t **out, status_store *store, auth_action act, int *status) {
  json_t *doc = status_app(store, call->app);
  *status = !doc ? 404 : !(actions_on(call, doc) & act) ? refused(out, call->app, act) : 0;
  if (*status) json_decref(doc);
  return *status ? NULL : doc;
}

/* A part of doc (taken), with what the caller may do with it. */
static int part_of(const serve_call *call, json_t **out, json_t *doc, const char *const *keys) {
  *out = run_json_only(doc, keys);
  json_t *actions = json_array();
  unsigned mask = actions_on(call, doc);
  for (unsigned bit = 1; bit <= AUTH_ALL; bit <<= 1)
    if (mask & bit) json_array_append_new(actions, json_string(auth_action_name(bit)));
  json_object_set_new(*out, "actions", actions);
  json_decref(doc);
  return 200;
}

static int part(const serve_call *call, json_t **out, status_store *store, const char *const *keys) {
  int status;
  json_t *doc = app_for(call, out, store, AUTH_GET, &status);
  return doc ? part_of(call, out, doc, keys) : status;
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
static int get_apps(const serve_call *call, json_t **out, void *ctx) {
  status_store *store = store_of(ctx);
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
static char *events(const serve_call *call, long long *seq, void *ctx) {
  status_store *store = store_of(ctx);
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

/* Who asked, for the history: whom another replica passed it on for. */
static char *by(const serve_call *call) { return call->on_behalf ? (char *)call->on_behalf : call->who->user; }

/* Sharded, a replica acts only for the applications of its shards: one
 * asked about another's passes the request on to that replica when it
 * knows where it is and the caller gave a bearer token (forward.c), else
 * says which replica to ask (409); it takes doc. The status into *status. */
static bool elsewhere(const run_api *api, const serve_call *call, json_t *doc, json_t **out, int *status) {
  if (!json_is_false(json_object_get(doc, "owned"))) return false;
  const char *replica = json_string_value(json_object_get(doc, "replica"));
  replica = replica ? replica : "";
  bool bearer = call->authorization && strncasecmp(call->authorization, "Bearer ", 7) == 0;
  /* A name that would break the header it goes in is not passed on. */
  bool plain = true;
  for (const char *p = call->who->user; *p; p++) plain = plain && (unsigned char)*p >= 0x20 && *p != 0x7f;
  const char *token = api->o && plain ? api->o->token : NULL;
  char *url = api->shards && (bearer || token) && !call->forwarded && *replica ? shard_url(api->shards, replica) : NULL;
  if (url) {
    *status = run_forward(url, replica, call, bearer ? NULL : token, call->text);
  } else {
    *out = json_pack("{s:s, s:s}", "error", "another replica syncs this application: ask it", "replica", replica);
    *status = 409;
  }
  free(url);
  json_decref(doc);
  return true;
}

/* app_for, for what only the replica that syncs the application knows
 * (its objects, its diff) or does (a sync, a rollback). */
static json_t *synced_here(const serve_call *call, json_t **out, void *ctx, auth_action act, int *status) {
  json_t *doc = app_for(call, out, store_of(ctx), act, status);
  return doc && elsewhere(ctx, call, doc, out, status) ? NULL : doc;
}

static int get_app(const serve_call *call, json_t **out, void *ctx) {
  return part(call, out, store_of(ctx), app_keys);
}

static int get_resources(const serve_call *call, json_t **out, void *ctx) {
  int status;
  json_t *doc = synced_here(call, out, ctx, AUTH_GET, &status);
  return doc ? part_of(call, out, doc, resource_keys) : status;
}

/* A client of the runtime's own cluster, for this thread (kube.h: clients
 * may share their config, not themselves); NULL without one. */
static kube_client *own_cluster(const run_api *api) {
  kube_client *c = NULL;
  char *err = NULL;
  if (!api->o || !api->o->cfg) return NULL;
  if (kube_client_new(&c, api->o->cfg, &(kube_client_opts){.timeout_ms = 10000, .max_retries = -1}, &err) != 0) {
    free(err);
    return NULL;
  }
  return c;
}

/* Sharded, the history of an application another replica syncs is read
 * from the cluster, where that replica writes it: this one keeps none. */
static void history_from_cluster(const run_api *api, json_t *doc) {
  if (!json_is_false(json_object_get(doc, "owned")) || !api->home) return;
  kube_client *c = own_cluster(api);
  history h = {0};
  if (c && history_load(c, api->home, kube_str(doc, "name"), &h) == KUBE_OK) {
    json_t *entries = h.entries ? json_loads(h.entries, 0, NULL) : NULL;
    json_object_set_new(doc, "history", entries ? entries : json_array());
    json_object_set_new(doc, "applied", json_string(h.applied));
    if (*h.rollback) json_object_set_new(doc, "rollback", json_string(h.rollback));
  }
  history_free(&h);
  kube_client_free(c);
}

static int get_history(const serve_call *call, json_t **out, void *ctx) {
  int status;
  json_t *doc = app_for(call, out, store_of(ctx), AUTH_GET, &status);
  if (!doc) return status;
  history_from_cluster(ctx, doc);
  return part_of(call, out, doc, history_keys);
}

static int get_diff(const serve_call *call, json_t **out, void *ctx) {
  int status;
  json_t *doc = synced_here(call, out, ctx, AUTH_GET, &status);
  return doc ? part_of(call, out, doc, diff_keys) : status;
}

/* Queues kind for the application, if the caller may act: 202 with what
 * was queued. */
static int queue(const serve_call *call, json_t **out, void *ctx, auth_action act, status_request *req,
                 const char *what) {
  status_store *store = store_of(ctx);
  int status;
  json_t *doc = synced_here(call, out, ctx, act, &status);
  if (!doc) return status;
  json_decref(doc);
  req->app = (char *)call->app;
  req->by = by(call);
  status_ask(store, req);
  *out = json_pack("{s:s, s:s}", "name", call->app, "queued", what);
  return 202;
}

/* A sync now; the body may choose to prune or not, and a dry run. */
static int post_sync(const serve_call *call, json_t **out, void *ctx) {
  const json_t *prune = json_object_get(call->body, "prune");
  status_request req = {.kind = STATUS_SYNC, .dry_run = json_is_true(json_object_get(call->body, "dryRun")),
                        .prune = !prune ? 0 : json_is_true(prune) ? 1 : -1};
  return queue(call, out, ctx, AUTH_SYNC, &req, req.dry_run ? "dry-run" : "sync");
}

/* Refresh: fetch and compare now, as anyone who sees the application may. */
static int post_refresh(const serve_call *call, json_t **out, void *ctx) {
  return queue(call, out, ctx, AUTH_GET, &(status_request){.kind = STATUS_COMPARE}, "refresh");
}

static int post_suspend(const serve_call *call, json_t **out, void *ctx) {
  return queue(call, out, ctx, AUTH_UPDATE, &(status_request){.kind = STATUS_SUSPEND}, "suspend");
}

static int post_resume(const serve_call *call, json_t **out, void *ctx) {
  return queue(call, out, ctx, AUTH_UPDATE, &(status_request){.kind = STATUS_RESUME}, "resume");
}

static int post_rollback(const serve_call *call, json_t **out, void *ctx) {
  status_store *store = store_of(ctx);
  int status;
  json_t *doc = synced_here(call, out, ctx, AUTH_ROLLBACK, &status);
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
                          .id = json_integer_value(json_object_get(e, "id")), .by = by(call)};
    status_ask(store, &req);
    *out = json_pack("{s:s, s:s, s:I, s:s}", "name", call->app, "queued", "rollback", "id", (json_int_t)req.id,
                     "revision", req.revision);
  }
  json_decref(doc);
  return status;
}

/* ---- the tree of live objects, and one of them ------------------------------------ */

/* own_cluster, unless the application goes to another cluster, whose
 * objects the tree then leaves out. */
static kube_client *cluster_of(const run_api *api, const json_t *doc) {
  return kube_str_is(doc, "cluster", "in-cluster") ? own_cluster(api) : NULL;
}

/* The applications doc's declares (app of apps), as nodes of its tree. */
static void add_children(const run_api *api, const json_t *doc, json_t *nodes) {
  char *text = status_list(api->store, NULL);
  json_t *list = json_loads(text, 0, NULL);
  size_t i;
  const json_t *app;
  json_array_foreach(list, i, app) {
    if (!kube_str_is(app, "parent", kube_str(doc, "name"))) continue;
    char *id = heap_printf("Application//%s", kube_str(app, "name"));
    json_array_append_new(nodes, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:b}", "id", id, "apiVersion",
                                           APP_API_VERSION, "kind", "Application", "name", kube_str(app, "name"),
                                           "sync", kube_str(app, "sync"), "health", kube_str(app, "health"),
                                           "message", kube_str(app, "message"), "managed", 1));
    free(id);
  }
  json_decref(list);
  free(text);
}

/* The tree of doc's application: what it applies, and what controllers made
 * of it where c (cluster_of's, or NULL) can see; the applications it
 * declares too. */
static json_t *tree_of(const run_api *api, const json_t *doc, kube_client *c, char **err) {
  const json_t *resources = json_object_get(doc, "resources");
  json_t *nodes = NULL;
  if (!c) {
    nodes = json_array();
    size_t i;
    const json_t *res;
    json_array_foreach(resources, i, res) json_array_append_new(nodes, run_tree_node(res));
  } else if (run_tree(c, resources, &nodes, err) != 0) {
    nodes = NULL;
  }
  if (nodes) add_children(api, doc, nodes);
  return nodes;
}

static int get_tree(const serve_call *call, json_t **out, void *ctx) {
  int status;
  json_t *doc = synced_here(call, out, ctx, AUTH_GET, &status);
  if (!doc) return status;
  char *err = NULL;
  kube_client *c = cluster_of(ctx, doc);
  json_t *nodes = tree_of(ctx, doc, c, &err);
  kube_client_free(c);
  json_decref(doc);
  if (!nodes) {
    *out = json_pack("{s:s}", "error", err);
    free(err);
    return 502;
  }
  *out = json_pack("{s:s, s:o}", "name", call->app, "nodes", nodes);
  return 200;
}

/* The node of the tree the query names, or NULL: nothing outside the
 * application's tree is read, whatever the query asks. */
static const json_t *node_named(const json_t *nodes, const json_t *query) {
  size_t i;
  const json_t *n;
  const char *ns = kube_str(query, "namespace");
  json_array_foreach(nodes, i, n) {
    bool here = ns ? kube_str_is(n, "namespace", ns) : !kube_str(n, "namespace");
    if (here && kube_str_is(n, "kind", kube_str(query, "kind")) && kube_str_is(n, "name", kube_str(query, "name")))
      return n;
  }
  return NULL;
}

/* What the application applies of node, or NULL: a controller made it. */
static const json_t *desired_of(const json_t *manifests, const json_t *node) {
  size_t i;
  const json_t *m;
  json_array_foreach(manifests, i, m) {
    const json_t *meta = json_object_get(m, "metadata");
    if (kube_str_is(m, "kind", kube_str(node, "kind")) && kube_str_is(meta, "name", kube_str(node, "name")) &&
        (!kube_str(node, "namespace") || kube_str_is(meta, "namespace", kube_str(node, "namespace"))))
      return m;
  }
  return NULL;
}

/* The events of one object, oldest first, as kubectl describe lists them. */
static json_t *events_of(kube_client *c, const json_t *node) {
  char *selector = heap_printf("involvedObject.kind=%s,involvedObject.name=%s", kube_str(node, "kind"),
                               kube_str(node, "name"));
  json_t *items = NULL, *events = json_array();
  const char *ns = kube_str(node, "namespace");
  if (kube_list(c, "v1", "Event", ns ? ns : "default", &(kube_list_opts){.field_selector = selector}, &items, NULL) ==
      KUBE_OK) {
    size_t i;
    json_t *e;
    json_array_foreach(items, i, e) {
      json_array_append_new(events, json_pack("{s:s?, s:s?, s:s?, s:I, s:s?}", "type", kube_str(e, "type"), "reason",
                                              kube_str(e, "reason"), "message", kube_str(e, "message"), "count",
                                              json_integer_value(json_object_get(e, "count")), "lastTimestamp",
                                              kube_str(e, "lastTimestamp")));
    }
  }
  json_decref(items);
  free(selector);
  return events;
}

/* One object of an application's tree, as the query names it, for an
 * action: the application's document, the tree, the node, and a client of
 * its cluster. */
typedef struct {
  json_t *doc, *nodes;
  const json_t *node;
  kube_client *c;
} tree_object;

/* 0 with *t filled, or the HTTP status with *out said: the caller may not,
 * there is no such application or object, or its cluster is not the
 * runtime's own. Release with object_free either way. */
static int object_of(const serve_call *call, json_t **out, void *ctx, auth_action act, tree_object *t) {
  int status;
  *t = (tree_object){.doc = synced_here(call, out, ctx, act, &status)};
  if (!t->doc) return status;
  char *err = NULL;
  t->c = cluster_of(ctx, t->doc);
  t->nodes = tree_of(ctx, t->doc, t->c, &err);
  t->node = t->nodes ? node_named(t->nodes, call->query) : NULL;
  status = !t->nodes ? 502 : !t->node ? 404 : !t->c ? 501 : 0;
  if (status)
    *out = json_pack("{s:s}", "error", !t->nodes ? err : !t->node ? "no such object in the application's tree"
                                                                  : "the application's cluster is not the runtime's own");
  free(err);
  return status;
}

static void object_free(tree_object *t) {
  kube_client_free(t->c);
  json_decref(t->nodes);
  json_decref(t->doc);
}

/* One object of the tree as it is live, without what the server keeps for
 * itself, a Secret's values masked; and its events. */
static int get_object(const serve_call *call, json_t **out, void *ctx) {
  tree_object t;
  int status = object_of(call, out, ctx, AUTH_GET, &t);
  if (!status) {
    const json_t *n = t.node;
    json_t *live = NULL;
    if (kube_get(t.c, kube_str(n, "apiVersion"), kube_str(n, "kind"), kube_str(n, "namespace"), kube_str(n, "name"),
                 &live) != KUBE_OK)
      live = json_null();
    if (json_is_object(live)) run_mask_live(live);
    *out = json_pack("{s:O, s:o, s:O?, s:o}", "node", n, "live", live, "desired",
                     desired_of(json_object_get(t.doc, "manifests"), n), "events", events_of(t.c, n));
    status = 200;
  }
  object_free(&t);
  return status;
}

/* Deletes one object of the tree, as kubectl delete does (its dependents
 * in the background): a Pod to have it made anew, say. An object the
 * application applies comes back at its next sync. */
static int delete_object(const serve_call *call, json_t **out, void *ctx) {
  tree_object t;
  int status = object_of(call, out, ctx, AUTH_DELETE, &t);
  if (!status) {
    const json_t *n = t.node;
    int rc = kube_delete(t.c, kube_str(n, "apiVersion"), kube_str(n, "kind"), kube_str(n, "namespace"),
                         kube_str(n, "name"), NULL);
    status = rc == KUBE_OK || rc == KUBE_ENOTFOUND ? 200 : 502;
    *out = status == 200 ? json_pack("{s:s, s:s, s:s}", "name", call->app, "deleted", kube_str(n, "kind"), "object",
                                     kube_str(n, "name"))
                         : json_pack("{s:s}", "error", kube_last_error(t.c));
  }
  object_free(&t);
  return status;
}

/* ---- a Pod's log ---------------------------------------------------------------------- */

/* Lines from the end a log starts with unless asked (as Argo CD's viewer),
 * and at most; a log followed ends after FOLLOW_S (the page reconnects),
 * one read at once after READ_S; at most MAX_BYTES of either. */
enum { LOG_TAIL = 1000, LOG_TAIL_MAX = 100000, FOLLOW_S = 3600, READ_S = 60, MAX_BYTES = 64 << 20 };

typedef struct {
  kube_client *c; /* the request's, now the feed's thread's alone */
  char *path;
  int timeout_s;
} log_job;

static int feed_piece(const char *data, size_t len, void *feed) { return !serve_feed_write(feed, data, len); }

/* In the feed's thread: the log as the API server streams it; a failure
 * is the body's last line, the status having gone out already. */
static void feed_log(serve_feed *f, void *arg) {
  log_job *j = arg;
  if (serve_feed_write(f, NULL, 0) && kube_stream(j->c, j->path, j->timeout_s, feed_piece, f) != KUBE_OK) {
    char *line = heap_printf("plumb: cannot read the log: %s\n", kube_last_error(j->c));
    serve_feed_write(f, line, strlen(line));
    free(line);
  }
  kube_client_free(j->c);
  free(j->path);
  free(j);
}

/* A query's true or false; def when absent; -1 for anything else. */
static int flag(const json_t *query, const char *key, int def) {
  const char *v = kube_str(query, key);
  return !v ? def : strcmp(v, "true") == 0 ? 1 : strcmp(v, "false") == 0 ? 0 : -1;
}

/* The container asked for, or the Pod's first; NULL when the Pod has no
 * such container (or none can be read). */
static const char *container_of(const json_t *pod, const char *asked) {
  const json_t *spec = json_object_get(pod, "spec");
  const char *lists[] = {"containers", "initContainers"};
  for (size_t l = 0; l < 2; l++) {
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(spec, lists[l]), i, c) {
      if (!asked || kube_str_is(c, "name", asked)) return kube_str(c, "name");
    }
  }
  return NULL;
}

/* Why the container has no log to read yet, in the API server's words
 * (which it would otherwise send once the answer has begun), or NULL. */
static char *no_log_yet(const json_t *pod, const char *container, bool previous) {
  if (!kube_str(json_object_get(pod, "spec"), "nodeName"))
    return heap_printf("pod %s does not have a host assigned", kube_meta_str(pod, "name"));
  const char *lists[] = {"containerStatuses", "initContainerStatuses"};
  for (size_t l = 0; l < 2; l++) {
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), lists[l]), i, c) {
      const json_t *waiting = json_object_get(json_object_get(c, "state"), "waiting");
      if (kube_str_is(c, "name", container) && waiting && !previous)
        return heap_printf("container \"%s\" in pod \"%s\" is waiting to start: %s", container,
                           kube_meta_str(pod, "name"), kube_str(waiting, "reason") ? kube_str(waiting, "reason") : "");
    }
  }
  return NULL;
}

/* The API server's path for the log the query asks for, or NULL after
 * saying in *why what is wrong with the query (caller frees). */
static char *log_path(kube_client *c, const json_t *node, const json_t *query, char **why) {
  const char *tail = kube_str(query, "tailLines");
  char *end;
  long lines = tail ? strtol(tail, &end, 10) : LOG_TAIL;
  int follow = flag(query, "follow", 0), previous = flag(query, "previous", 0), stamps = flag(query, "timestamps", 0);
  const char *wrong = tail && (*end || lines < 1 || lines > LOG_TAIL_MAX) ? "tailLines is a number from 1 to 100000"
                      : follow < 0 || previous < 0 || stamps < 0 ? "follow, previous and timestamps are true or false"
                                                                 : NULL;
  *why = wrong ? heap_strdup(wrong) : NULL;
  if (*why) return NULL;
  json_t *pod = NULL;
  const char *ns = kube_str(node, "namespace"), *name = kube_str(node, "name");
  kube_get(c, "v1", "Pod", ns, name, &pod);
  const char *container = container_of(pod, kube_str(query, "container"));
  *why = !container ? heap_strdup("the Pod has no such container") : no_log_yet(pod, container, previous);
  char *path = !*why ? heap_printf("/api/v1/namespaces/%s/pods/%s/log?container=%s&tailLines=%ld&follow=%s"
                                   "&previous=%s&timestamps=%s&limitBytes=%d",
                                   ns, name, container, lines, follow ? "true" : "false", previous ? "true" : "false",
                                   stamps ? "true" : "false", MAX_BYTES)
                     : NULL;
  json_decref(pod);
  return path;
}

/* The log of one Pod of the application's tree, streamed as text. */
static int get_logs(const serve_call *call, json_t **out, void *ctx) {
  json_t *query = json_deep_copy(call->query);
  json_object_set_new(query, "kind", json_string("Pod"));
  serve_call pod_call = *call;
  pod_call.query = query;
  pod_call.authorization = NULL; /* a log streams: it is not passed on (forward.c) */
  tree_object t;
  int status = object_of(&pod_call, out, ctx, AUTH_LOGS, &t);
  if (!status) {
    char *why;
    char *path = log_path(t.c, t.node, query, &why);
    if (path) {
      log_job *j = heap_calloc(1, sizeof *j);
      *j = (log_job){.c = t.c, .path = path, .timeout_s = flag(query, "follow", 0) ? FOLLOW_S : READ_S};
      t.c = NULL;
      *call->feed = feed_log;
      *call->feed_job = j;
      status = 200;
    } else {
      *out = json_pack("{s:s}", "error", why);
      free(why);
      status = 400;
    }
  }
  object_free(&t);
  json_decref(query);
  return status;
}

/* ---- applications as cluster objects: the UI's form ---------------------------------- */

/* The HTTP status of a run_object_* code, and its words as the answer. */
static int object_answer(int rc, char *err, json_t **out, const char *name, const char *done) {
  int status = rc == 0                ? (strcmp(done, "created") == 0 ? 201 : 200)
               : rc == RUN_EINVALID   ? 400
               : rc == KUBE_ECONFLICT ? 409
               : rc == KUBE_ENOTFOUND ? 404
                                      : 502;
  *out = rc == 0 ? json_pack("{s:s, s:s}", "name", name, "result", done) : json_pack("{s:s}", "error", err);
  free(err);
  return status;
}

/* The spec of the body as JSON text, and its project ("default" unless
 * it names one); NULL when the body has no spec object. */
static char *spec_of(const serve_call *call, const char **project) {
  const json_t *spec = json_object_get(call->body, "spec");
  *project = kube_str(spec, "project") ? kube_str(spec, "project") : "default";
  return json_is_object(spec) ? json_dumps(spec, JSON_COMPACT) : NULL;
}

static const char *objects_ns(const run_api *api) { return api->objects_ns ? api->objects_ns : "default"; }

/* POST /api/v1/apps: a new Application object, if the caller may create in
 * its project. */
static int post_app(const serve_call *call, json_t **out, void *ctx) {
  const run_api *api = ctx;
  const char *name = json_string_value(json_object_get(call->body, "name")), *project;
  char *spec = spec_of(call, &project), *err = NULL;
  int status;
  if (!name || !spec) {
    *out = json_pack("{s:s}", "error", "the body must be {\"name\": ..., \"spec\": {...}}");
    status = 400;
  } else if (!auth_allows(call->auth, call->who, project, AUTH_CREATE)) {
    status = refused(out, name, AUTH_CREATE);
  } else if (!api->o || !api->o->cfg) {
    *out = json_pack("{s:s}", "error", "this runtime keeps no Application objects");
    status = 501;
  } else {
    int rc = run_object_create(api->o->cfg, objects_ns(api), name, spec, &err);
    status = object_answer(rc, err, out, name, "created");
  }
  free(spec);
  return status;
}

/* The document of an application declared by a cluster object, if the
 * caller may act on it; else NULL, *status and *out set. Those git declares
 * are changed in git. */
static json_t *object_app(const serve_call *call, json_t **out, void *ctx, auth_action act, int *status) {
  const run_api *api = ctx;
  json_t *doc = app_for(call, out, api->store, act, status);
  if (doc && !kube_str(doc, "object")) {
    *out = json_pack("{s:s}", "error", "declared in git by the config repository: change it there");
    *status = 409;
  } else if (doc && (!api->o || !api->o->cfg)) {
    *status = 501;
  }
  if (doc && *status) json_decref(doc);
  return doc && !*status ? doc : NULL;
}

/* PUT /api/v1/apps/NAME: its object's spec replaced, if the caller may
 * update in its project and in the one it moves to. */
static int put_app(const serve_call *call, json_t **out, void *ctx) {
  const run_api *api = ctx;
  int status;
  json_t *doc = object_app(call, out, ctx, AUTH_UPDATE, &status);
  if (!doc) return status;
  const char *project;
  char *spec = spec_of(call, &project), *err = NULL;
  if (!spec) {
    *out = json_pack("{s:s}", "error", "the body must be {\"spec\": {...}}");
    status = 400;
  } else if (!auth_allows(call->auth, call->who, project, AUTH_UPDATE)) {
    status = refused(out, call->app, AUTH_UPDATE);
  } else {
    int rc = run_object_update(api->o->cfg, objects_ns(api), call->app, spec, &err);
    status = object_answer(rc, err, out, call->app, "updated");
  }
  free(spec);
  json_decref(doc);
  return status;
}

/* DELETE /api/v1/apps/NAME: its object deleted; its objects stay. */
static int delete_app(const serve_call *call, json_t **out, void *ctx) {
  const run_api *api = ctx;
  int status;
  json_t *doc = object_app(call, out, ctx, AUTH_DELETE, &status);
  if (!doc) return status;
  char *err = NULL;
  int rc = run_object_delete(api->o->cfg, objects_ns(api), call->app, &err);
  status = object_answer(rc, err, out, call->app, "deleted");
  json_decref(doc);
  return status;
}

/* Every source of the repository pushed to is fetched at once. */
static void pushed(const serve_push *push, void *ctx) {
  status_store *store = store_of(ctx);
  for (size_t i = 0; i < push->nurls; i++) {
    char *key = source_url_key(push->urls[i]);
    status_ask(store, &(status_request){.kind = STATUS_REFRESH, .key = key});
    free(key);
  }
}

int run_api_start(runner *r, serve **out, char **err) {
  if (run_accounts_load(r, &r->auth, err) != 0) return -1;
  r->api = (run_api){.store = r->store, .auth = r->auth, .metrics = r->metrics, .o = r->o, .objects_ns = r->objects_ns,
                     .home = r->home, .shards = r->shards};
  return run_api_serve(&r->api, out, err);
}

int run_api_serve(const run_api *api, serve **out, char **err) {
  const run_opts *ro = api->o;
  serve_opts o = {
      .auth = api->auth,
      .address = ro->address,
      .port = ro->port,
      .probes = ro->probes,
      .probe_address = ro->probe_address,
      .probe_port = ro->probe_port,
      .token = ro->token,
      .webhook_secret = ro->webhook_secret,
      .metrics = api->metrics,
      .api = {[SERVE_APPS] = get_apps, [SERVE_APP] = get_app, [SERVE_RESOURCES] = get_resources,
              [SERVE_HISTORY] = get_history, [SERVE_DIFF] = get_diff, [SERVE_SYNC] = post_sync,
              [SERVE_ROLLBACK] = post_rollback, [SERVE_TREE] = get_tree, [SERVE_OBJECT] = get_object,
              [SERVE_REFRESH] = post_refresh, [SERVE_SUSPEND] = post_suspend, [SERVE_RESUME] = post_resume,
              [SERVE_DELETE_OBJECT] = delete_object, [SERVE_LOGS] = get_logs, [SERVE_CREATE] = post_app, [SERVE_UPDATE] = put_app,
              [SERVE_DELETE] = delete_app},
      .push = pushed,
      .events = events,
      .ctx = (void *)api,
  };
  if (serve_start(out, &o, err) != 0) return -1;
  status_on_publish(api->store, notify, *out);
  return 0;
}
