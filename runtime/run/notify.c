/* notify.c: which notifications an application's news makes (notify.h
 * sends them).
 *
 * At most once: the state a trigger is told for is written to the
 * application's history before the notification is queued, so that a
 * runtime killed and restarted, or another that leads next, finds it told
 * and does not tell it again. A notification queued and not yet sent when
 * the runtime dies is lost, never sent twice: a receiver that pages
 * someone is better told once than twice, and the loss is rarer than the
 * duplicate would be (a restart is every upgrade).
 *
 * on-out-of-sync is a state that lasts, not an event: each pass looks at
 * how long the application has been OutOfSync, from a time kept in its
 * history so that a restart does not start it again, and the loop brings
 * the pass when the time is up (st->notify_due). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/arena.h"

#include "run/internal.h"

void run_notify_start(runner *r) {
  r->notifier = notify_new(&(notify_opts){.log = r->o->out, .sent = r->fam.notifications,
                                          .lost = r->fam.notifications_lost});
}

void run_notify_stop(runner *r) {
  notify_free(r->notifier);
  r->notifier = NULL;
}

/* The notifiers subscribed to trigger by app and its project, each once,
 * in names (caller frees the array); their number. */
static size_t subscribers(runner *r, const app_def *app, const char *trigger, const char ***names) {
  const app_project *p = app_set_project(&r->defs, app->project);
  size_t n = 0, len = strlen(trigger), all = app->nsubscribe + (p ? p->nsubscribe : 0);
  *names = heap_calloc(all + 1, sizeof **names);
  for (size_t i = 0; i < all; i++) {
    const char *sub = i < app->nsubscribe ? app->subscribe[i] : p->subscribe[i - app->nsubscribe];
    if (strncmp(sub, trigger, len) != 0 || sub[len] != '=') continue;
    size_t k = 0;
    while (k < n && strcmp((*names)[k], sub + len + 1) != 0) k++;
    if (k == n) (*names)[n++] = sub + len + 1;
  }
  return n;
}

/* Queues what ev tells to notifier n, its credentials read from its Secret
 * now, so that a rotated one is used at once. Failures are said without
 * the credentials. */
static void tell(runner *r, const app_notifier *n, const notify_event *ev) {
  notify_target t = {.name = n->name, .url = n->url, .template = n->body, .headers = n->headers,
                     .nheaders = n->nheaders};
  notify_type_parse(n->type, &t.type);
  json_t *secret = NULL;
  char *url = NULL, *token = NULL, *key = NULL;
  if (n->secret && kube_get(r->c, "v1", "Secret", r->home, n->secret, &secret) != KUBE_OK) {
    fprintf(r->o->out, "%s: not notifying %s: cannot read Secret %s: %s\n", ev->app, n->name, n->secret,
            kube_last_error(r->c));
    return;
  }
  if (secret) {
    url = run_secret_datum(secret, "url"), token = run_secret_datum(secret, "token");
    key = run_secret_datum(secret, "hmac_key");
    if (url) t.url = url;
    t.token = token, t.hmac_key = key;
  }
  notify_request req;
  const char *why = t.url && *t.url ? notify_render(&t, ev, &req) : "no url, in its Secret or its definition";
  if (why) {
    fprintf(r->o->out, "%s: not notifying %s: %s\n", ev->app, n->name, why);
  } else {
    fprintf(r->o->out, "%s: notifying %s: %s\n", ev->app, n->name, ev->trigger);
    notify_queue(r->notifier, n->name, ev->app, &req);
  }
  json_decref(secret);
  free(url), free(token), free(key);
}

/* Whether trigger was told for key already; else it is marked told, in
 * memory (saved by the caller). */
static bool told(app_state *st, const char *trigger, const char *key) {
  json_t *all = st->hist.notified ? json_loads(st->hist.notified, 0, NULL) : NULL;
  if (!json_is_object(all)) json_decref(all), all = json_object();
  bool same = kube_str_is(all, trigger, key);
  if (!same) {
    json_object_set_new(all, trigger, json_string(key));
    free(st->hist.notified);
    st->hist.notified = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
  }
  json_decref(all);
  return same;
}

void run_notify(runner *r, const app_def *app, app_state *st, const char *trigger, const char *key,
                const char *message) {
  if (!r->notifier || !run_holds(r, app, st)) return;
  const char **names;
  size_t n = subscribers(r, app, trigger, &names);
  if (!n || told(st, trigger, key)) {
    free(names);
    return;
  }
  if (history_save(r->c, r->home, app->name, &st->hist) != KUBE_OK) {
    fprintf(r->o->out, "%s: not notifying of %s: cannot write its history: %s\n", app->name, trigger,
            kube_last_error(r->c));
    free(names);
    return;
  }
  char *link = notify_app_link(r->o->public_url, app->name);
  notify_event ev = {trigger, app->name, app->project, app->repo, st->commit, health_name(st->health), message, link};
  for (size_t i = 0; i < n; i++) {
    const app_notifier *nf = NULL;
    for (size_t k = 0; k < r->config.nnotifiers && !nf; k++)
      if (strcmp(r->config.notifiers[k].name, names[i]) == 0) nf = &r->config.notifiers[k];
    if (nf) tell(r, nf, &ev);
    else fprintf(r->o->out, "%s: not notifying %s: no notifier of that name in the config\n", app->name, names[i]);
  }
  free(names);
  free(link);
}

/* Forgets, in memory, what trigger was told for; whether it was told. */
static bool untold(app_state *st, const char *trigger) {
  json_t *all = st->hist.notified ? json_loads(st->hist.notified, 0, NULL) : NULL;
  bool was = json_object_del(all, trigger) == 0;
  if (was) {
    free(st->hist.notified);
    st->hist.notified = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
  }
  json_decref(all);
  return was;
}

static void save(runner *r, const app_def *app, app_state *st) {
  if (history_save(r->c, r->home, app->name, &st->hist) != KUBE_OK)
    fprintf(r->o->out, "%s: cannot write its history: %s\n", app->name, kube_last_error(r->c));
}

void run_notify_rearm(runner *r, const app_def *app, app_state *st, const char *trigger) {
  if (run_holds(r, app, st) && untold(st, trigger)) save(r, app, st);
}

/* How long app waits OutOfSync before on-out-of-sync: its own
 * outOfSyncFor, else its project's, else 5 minutes. */
static int out_of_sync_for(runner *r, const app_def *app) {
  const app_project *p = app_set_project(&r->defs, app->project);
  return app->out_of_sync_s ? app->out_of_sync_s : p && p->out_of_sync_s ? p->out_of_sync_s : 300;
}

/* The time OutOfSync began is wall-clock time, in the history: a runtime
 * restarted, or another that leads next, goes on counting from it. Only
 * an application someone subscribes to costs the writes. Unknown (a fetch
 * or a compile that failed) neither starts nor ends the time: it says
 * nothing of the cluster. */
void run_notify_out_of_sync(runner *r, const app_def *app, app_state *st) {
  st->notify_due = 0;
  if (!r->notifier || !run_holds(r, app, st)) return;
  if (st->status == SYNC_SYNCED) {
    /* The time ends, and the trigger is armed again: one write. */
    if (!*st->hist.out_of_sync) return;
    *st->hist.out_of_sync = '\0';
    untold(st, "on-out-of-sync");
    save(r, app, st);
    return;
  }
  if (st->status != SYNC_OUT_OF_SYNC) return;
  const char **names;
  size_t n = subscribers(r, app, "on-out-of-sync", &names);
  free(names);
  if (!n) return;
  time_t now = time(NULL);
  struct tm tm = {0};
  if (!*st->hist.out_of_sync || !strptime(st->hist.out_of_sync, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
    strftime(st->hist.out_of_sync, sizeof st->hist.out_of_sync, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    save(r, app, st);
    gmtime_r(&now, &tm);
  }
  int after = out_of_sync_for(r, app);
  long left = (long)(timegm(&tm) + after - now);
  if (left > 0) {
    st->notify_due = run_now() + (double)left;
    return;
  }
  char *message = after % 3600 == 0 ? heap_printf("OutOfSync since %s, for %dh", st->hist.out_of_sync, after / 3600)
                  : after % 60 == 0  ? heap_printf("OutOfSync since %s, for %dm", st->hist.out_of_sync, after / 60)
                                     : heap_printf("OutOfSync since %s, for %ds", st->hist.out_of_sync, after);
  /* Once per time OutOfSync: its beginning is the key. */
  run_notify(r, app, st, "on-out-of-sync", st->hist.out_of_sync, message);
  free(message);
}
