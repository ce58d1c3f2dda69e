/* report.c: what the passes show: each resource's health, the status
 * documents the API answers from, the metrics, the table of --once. */
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

#include "compare/live.h"
#include "run/internal.h"

void run_metrics_declare(runner *r) {
  static const double seconds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
  const size_t nseconds = sizeof seconds / sizeof *seconds;
  metrics *m = r->metrics;
  const char *app[] = {"app", NULL};
  r->fam = (run_metrics){
      .syncs = metrics_counter(m, "plumb_syncs_total", "Syncs (applies) of an application, by their result.",
                               (const char *[]){"app", "result", NULL}),
      .reconcile = metrics_histogram(m, "plumb_reconcile_duration_seconds",
                                     "Time of one pass of an application: fetch, compile, compare, apply.", app, seconds,
                                     nseconds),
      .apply = metrics_histogram(m, "plumb_apply_duration_seconds", "Time of applying (and pruning) an application.",
                                 app, seconds, nseconds),
      .drift = metrics_counter(m, "plumb_drift_events_total",
                               "Times a Synced application was found to differ from its commit.", app),
      .fetches = metrics_counter(m, "plumb_git_fetches_total", "Fetches of a repository, whatever their result.",
                                 (const char *[]){"repo", NULL}),
      .fetch_failures = metrics_counter(m, "plumb_git_fetch_failures_total",
                                        "Fetches of an application's repository that failed.", app),
      .apps = metrics_gauge(m, "plumb_apps", "Applications, by sync status and health.",
                            (const char *[]){"sync_status", "health", NULL}),
      .leader = metrics_gauge(m, "plumb_leader", "1 while this runtime holds the Lease and syncs, 0 while it stands by.",
                              NULL),
      .events_dropped = metrics_counter(m, "plumb_events_dropped_total",
                                        "Kubernetes events not written: past an object's budget (rate), the queue "
                                        "full (queue), or refused by the API server (error).",
                                        (const char *[]){"reason", NULL}),
      .notifications = metrics_counter(m, "plumb_notifications_total",
                                       "Notifications by notifier: sent, or failed and to be retried (retried).",
                                       (const char *[]){"notifier", "result", NULL}),
      .notifications_lost = metrics_counter(m, "plumb_notifications_lost_total",
                                            "Notifications never sent, by notifier: every attempt failed (attempts), "
                                            "or the queue was full (queue).",
                                            (const char *[]){"notifier", "reason", NULL}),
      .cached = metrics_gauge(m, "plumb_cache_objects",
                              "Objects the live view of a cluster keeps: sharded, only those of the applications "
                              "this replica syncs.",
                              (const char *[]){"cluster", NULL}),
  };
}

void run_metrics_start_app(runner *r, const char *app) {
  metrics_add(r->fam.drift, (const char *[]){app}, 0);
  metrics_add(r->fam.fetch_failures, (const char *[]){app}, 0);
}


/* Synced when the application is, or when Plumb's fields on the live object
 * prove applying it would change nothing. */
static const char *resource_sync(const app_state *st, const live_obj *o) {
  return st->status == SYNC_SYNCED || live_unchanged(o) ? "Synced" : "OutOfSync";
}

static json_t *resource(const json_t *body, const health_status *h, const char *sync) {
  const json_t *meta = json_object_get(body, "metadata");
  json_t *res = json_pack("{s:s?, s:s?, s:s?, s:s, s:s, s:s}", "apiVersion", kube_str(body, "apiVersion"), "kind",
                          kube_str(body, "kind"), "name", kube_str(meta, "name"), "sync", sync, "health",
                          health_name(h->code), "message", h->message);
  if (kube_str(meta, "namespace")) json_object_set_new(res, "namespace", json_string(kube_str(meta, "namespace")));
  return res;
}

json_t *run_json_text(const json_t *v, size_t flags) {
  char *text = json_dumps(v, flags);
  if (!text) abort();
  json_t *s = json_string_nocheck(text);
  free(text);
  return s;
}

void run_assess(run_dest *d, const app_def *app, app_state *st, const compile_result *objs) {
  size_t n = objs->nres;
  live_obj *live = live_new(objs, app->name, app->field_manager, app->ignore, app->nignore);
  live_read(d->c, live, n);
  health_item *items = heap_calloc(n + 1, sizeof *items);
  for (size_t i = 0; i < n; i++)
    items[i] = (health_item){.api_version = kube_str(live[i].body, "apiVersion"),
                             .kind = kube_str(live[i].body, "kind"),
                             .live = live[i].live};
  st->health = health_app(items, n);
  json_t *resources = json_array(), *manifests = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *desired = json_deep_copy(live[i].body);
    run_mask_live(desired);
    json_array_append_new(manifests, desired);
    if (live[i].rc != KUBE_OK) { /* unread: no verdict hides */
      items[i].health.code = st->health = HEALTH_UNKNOWN;
      snprintf(items[i].health.message, sizeof items[i].health.message, "%s", live[i].error);
    }
    json_array_append_new(resources, resource(live[i].body, &items[i].health, resource_sync(st, &live[i])));
  }
  json_decref(st->resources);
  json_decref(st->manifests);
  st->resources = run_json_text(resources, JSON_COMPACT);
  st->manifests = run_json_text(manifests, JSON_COMPACT);
  json_decref(resources);
  json_decref(manifests);
  free(items);
  live_free(live, n);
}

/* ---- status documents ------------------------------------------------------ */

static void iso_time(char out[32], time_t t) { strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t)); }

/* The error and the children refused, else what a rollback's pause or a
 * suspension means, else "". */
char *run_message(const app_state *st) {
  char *m;
  if (*st->exhausted)
    return heap_printf("automated sync of %.7s stopped: it failed as many times in a row as its retry limit allows; "
                       "a new commit or plumb sync tries again%s%s",
                       st->exhausted, st->error ? "\n" : "", st->error ? st->error : "");
  if (st->error || st->refused) {
    m = heap_printf("%s%s%s", st->error ? st->error : "", st->error && st->refused ? "\n" : "",
                    st->refused ? st->refused : "");
    return m;
  }
  if (*st->hist.rollback) return heap_printf("auto-sync paused after rollback to %.7s", st->hist.rollback);
  if (st->window) return heap_strdup(st->window);
  if (st->waiting && !st->hist.suspended) return heap_strdup(st->waiting);
  return heap_strdup(st->hist.suspended ? "auto-sync suspended" : "");
}

/* An application's summary: what `plumb status` and the API's list show. */
static const char *const summary_keys[] = {"name",   "project", "parent",  "cluster",  "namespace",
                                           "revision", "commit", "commitMessage", "commitAuthor", "sync",
                                           "health", "message", "lastSync", "autoSync", "suspended", "replica", NULL};

json_t *run_json_only(const json_t *doc, const char *const *keys) {
  json_t *part = json_object();
  for (size_t i = 0; keys[i]; i++) {
    json_t *v = json_object_get(doc, keys[i]);
    if (v) json_object_set(part, keys[i], v);
  }
  return part;
}

enum { MESSAGE_TEXT_MAX = 64 << 10 };

/* Sharded, an application another replica syncs shows what that replica
 * last wrote on its Application object (objects.c): this one's own state
 * of it is not kept. */
static void from_cluster(runner *r, const app_def *app, bool owned, json_t *doc) {
  char *holder = shard_holder(r->shards, run_shard(r, app));
  json_object_set_new(doc, "replica", json_string(holder));
  free(holder);
  json_t *s = owned ? NULL : run_object_status(r, app);
  if (!s) return;
  const json_t *sync = json_object_get(s, "sync"), *health = json_object_get(s, "health");
  if (kube_str(sync, "status")) json_object_set_new(doc, "sync", json_string(kube_str(sync, "status")));
  if (kube_str(sync, "revision")) json_object_set_new(doc, "commit", json_string(kube_str(sync, "revision")));
  if (kube_str(health, "status")) json_object_set_new(doc, "health", json_string(kube_str(health, "status")));
  if (kube_str(s, "message")) json_object_set_new(doc, "message", json_string(kube_str(s, "message")));
  const char *at = kube_str(json_object_get(s, "lastSync"), "time");
  if (at) json_object_set_new(doc, "lastSync", json_string(at));
  json_decref(s);
}

/* As status_publish takes it: its fields as JSON text, the history, a
 * text already, among them, then the resources and manifests, which st
 * keeps as texts and the store shares. Its summary into *sum. */
static json_t *document(runner *r, const app_def *app, const app_state *st, json_t **sum) {
  char when[32] = "";
  if (st->passed_at) iso_time(when, st->passed_at);
  char *repo = source_scrub_url(app->repo), *raw = run_message(st);
  /* A compile error quotes the line it is at, whatever its bytes. */
  char *msg = heap_utf8(raw, MESSAGE_TEXT_MAX);
  free(raw);
  json_t *doc = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "name", app->name, "project",
      app->project, "repo", repo, "revision", app->revision, "path", app->path, "commit", st->commit, "sync",
      sync_status_name(st->status), "health", health_name(st->health), "message", msg, "lastSync", when, "autoSync",
      app->automated && !*st->hist.rollback && !st->hist.suspended, "applied", st->hist.applied, "diff",
      st->diff ? st->diff : "");
  if (*st->hist.rollback) json_object_set_new(doc, "rollback", json_string(st->hist.rollback));
  if (app->parent) json_object_set_new(doc, "parent", json_string(app->parent));
  if (app->object) json_object_set_new(doc, "object", json_string(app->object));
  json_object_set_new(doc, "cluster", json_string(app->cluster));
  json_object_set_new(doc, "namespace", json_string(app->namespace));
  json_object_set_new(doc, "commitMessage", json_string(st->subject));
  json_object_set_new(doc, "commitAuthor", json_string(st->author));
  json_object_set_new(doc, "automated", json_boolean(app->automated));
  json_object_set_new(doc, "prune", json_boolean(app->prune));
  json_object_set_new(doc, "self_heal", json_boolean(app->self_heal));
  json_object_set_new(doc, "env", json_string(app->env));
  json_object_set_new(doc, "directory", run_directory_json(&app->directory));
  json_object_set_new(doc, "warnings", json_string(st->warnings ? st->warnings : ""));
  json_object_set_new(doc, "suspended", json_boolean(st->hist.suspended));
  if (r->shards) {
    json_object_set_new(doc, "owned", json_boolean(st->owned));
    from_cluster(r, app, st->owned, doc);
  }
  *sum = run_json_only(doc, summary_keys);
  char *fields = json_dumps(doc, JSON_COMPACT),
       *text = heap_printf("%.*s,\"history\":%s}", (int)strlen(fields) - 1, fields,
                           st->hist.entries ? st->hist.entries : "[]");
  json_t *parts = json_array();
  json_array_append_new(parts, json_string_nocheck(text));
  json_array_append_new(parts, st->resources ? json_incref(st->resources) : json_string("[]"));
  json_array_append_new(parts, st->manifests ? json_incref(st->manifests) : json_string("[]"));
  json_decref(doc);
  free(text);
  free(fields);
  free(repo);
  free(msg);
  return parts;
}


void run_metrics_cached(runner *r) {
  for (size_t i = 0; i < r->ndests; i++)
    if (r->dests[i]->cache)
      metrics_set(r->fam.cached, (const char *[]){r->dests[i]->name}, (double)cache_size(r->dests[i]->cache));
}

/* Every combination, so that a count that drops to 0 shows 0. */
static void count_apps(runner *r) {
  static const sync_status syncs[] = {SYNC_SYNCED, SYNC_OUT_OF_SYNC, SYNC_UNKNOWN};
  for (size_t s = 0; s < 3; s++)
    for (health_code h = HEALTH_HEALTHY; h <= HEALTH_UNKNOWN; h++) {
      double n = 0;
      for (size_t i = 0; i < r->napps; i++) n += r->apps[i].status == syncs[s] && r->apps[i].health == h;
      metrics_set(r->fam.apps, (const char *[]){sync_status_name(syncs[s]), health_name(h)}, n);
    }
}

bool run_publish(runner *r) {
  bool all = r->republish;
  r->republish = false;
  json_t *docs = json_object(), *sums = json_object(), *sum;
  for (size_t i = 0; i < r->napps; i++) {
    if (!all && !r->apps[i].dirty) continue;
    r->apps[i].dirty = false;
    json_object_set_new(docs, r->apps[i].name, document(r, &r->defs.apps[i], &r->apps[i], &sum));
    json_object_set_new(sums, r->apps[i].name, sum);
  }
  bool any = all || json_object_size(docs);
  if (any) {
    status_publish(r->store, docs, sums, all);
    count_apps(r);
  } else {
    json_decref(docs);
    json_decref(sums);
  }
  return any;
}

void run_print_table(runner *r, FILE *out) {
  fprintf(out, "%-24s %-10s %-8s %s\n", "APP", "SYNC", "COMMIT", "MESSAGE");
  for (size_t i = 0; i < r->napps; i++) {
    app_state *st = &r->apps[i];
    char *msg = run_message(st);
    fprintf(out, "%-24s %-10s %-8.7s %s\n", st->name, sync_status_name(st->status), *st->commit ? st->commit : "-", msg);
    free(msg);
  }
}
