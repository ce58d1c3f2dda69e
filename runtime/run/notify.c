/* notify.c: which notifications an application's news makes (notify.h
 * sends them).
 *
 * At most once: the state a trigger is told for is written to the
 * application's history before the notification is queued, so that a
 * runtime killed and restarted, or another that leads next, finds it told
 * and does not tell it again. A notification queued and not yet sent when
 * the runtime dies is lost, never sent twice: a receiver that pages
 * someone is better told once than twice, and the loss is rarer than the
 * duplicate would be (a restart is every upgrade). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* data[key] of a Secret, decoded (caller frees); NULL when it has none. */
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
  notify_event ev = {trigger, app->name, app->project, app->repo, st->commit, health_name(st->health), message, NULL};
  for (size_t i = 0; i < n; i++) {
    const app_notifier *nf = NULL;
    for (size_t k = 0; k < r->config.nnotifiers && !nf; k++)
      if (strcmp(r->config.notifiers[k].name, names[i]) == 0) nf = &r->config.notifiers[k];
    if (nf) tell(r, nf, &ev);
    else fprintf(r->o->out, "%s: not notifying %s: no notifier of that name in the config\n", app->name, names[i]);
  }
  free(names);
}

void run_notify_rearm(runner *r, const app_def *app, app_state *st, const char *trigger) {
  json_t *all = st->hist.notified ? json_loads(st->hist.notified, 0, NULL) : NULL;
  if (json_object_del(all, trigger) == 0 && run_holds(r, app, st)) {
    free(st->hist.notified);
    st->hist.notified = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    if (history_save(r->c, r->home, app->name, &st->hist) != KUBE_OK)
      fprintf(r->o->out, "%s: cannot write its history: %s\n", app->name, kube_last_error(r->c));
  }
  json_decref(all);
}
