/* status.h: what the reconcile loop and the HTTP server's threads share.
 *
 * The loop is single-threaded and owns every application's state; the
 * server answers from the copy the loop publishes here after each pass, and
 * leaves what it is asked to do (sync, rollback, a webhook's push) on a
 * queue here, which the loop drains at the top of each iteration. Every
 * function may be called from any thread. */
#ifndef PLUMB_STATUS_H
#define PLUMB_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct status_store status_store;

status_store *status_new(void); /* caller owns; release with status_free */
void status_free(status_store *s);

/* Publishes docs and summaries (steals both), objects of application
 * names: to its status document (docs/runtime.md, "Status") as JSON text
 * in three parts, an array of strings (the document without "resources"
 * and "manifests", and those two, which the publisher keeps too and
 * shares: they are most of a document), and to its summary. With whole,
 * they are every application's and the store forgets any other; without,
 * they are those that changed, and the others stay. Text takes a
 * fraction of the memory of the parsed document, and readers are few.
 * The summaries (what `plumb status` and the list of the API show) the
 * store keeps in name order as one text: the list is read often, by every
 * open page, and its readers must not parse every document. A publisher
 * of thousands sends what changed: each publish costs what it sends, and
 * a list made again when a summary changed. */
void status_publish(status_store *s, json_t *docs, json_t *summaries, bool whole);
/* Each publish also logs what changed, for the pages that are open
 * (docs/ui.md): an event per application whose summary is new or changed,
 * {"seq": N, "type": "app", "app": SUMMARY}, and per application gone,
 * {"seq": N, "type": "removed", "name": NAME}, numbered from 1 in the
 * order they happened. The log keeps the last STATUS_EVENTS_KEPT. */
enum { STATUS_EVENTS_KEPT = 4096 };
/* The events after seq, oldest first, as a JSON array the caller decrefs,
 * and the last one's number in *last (seq when there are none). NULL when
 * some of those events are no longer kept: the reader starts again from
 * the list. */
json_t *status_events(status_store *s, long long seq, long long *last);
/* The number of the last event, the one a reader of the list now starts
 * after. */
long long status_seq(status_store *s);
/* changed(ctx) runs in the publishing thread after each publish that
 * logged events, outside the store's lock. Set before the first publish. */
void status_on_publish(status_store *s, void (*changed)(void *ctx), void *ctx);

/* One application's document, parsed (NULL when there is none); the
 * caller decrefs. */
json_t *status_app(status_store *s, const char *name);
/* The summaries in name order, as JSON text; the caller frees. *seq (when
 * not NULL): the number of the last event they include. */
char *status_list(status_store *s, long long *seq);

typedef enum {
  STATUS_SYNC,     /* sync app now, automated or not; ends a rollback's pause */
  STATUS_ROLLBACK, /* apply app's history entry id, at revision */
  STATUS_REFRESH,  /* a push to the repository key (source_url_key) */
  STATUS_COMPARE,  /* fetch app's repository and compare now (the UI's Refresh) */
  STATUS_SUSPEND,  /* no automated sync of app until STATUS_RESUME */
  STATUS_RESUME,
} status_kind;

typedef struct {
  status_kind kind;
  char *app, *revision, *key; /* as kind needs them, else NULL */
  char *by;                   /* who asked; NULL: the runtime (a webhook) */
  long long id;
  bool dry_run; /* a sync: compare only, apply nothing */
  int prune;    /* a sync: 0 as the application says; 1 prune, -1 do not, this time */
} status_request;

/* Queues a copy of r and wakes the loop (status_on_ask). */
void status_ask(status_store *s, const status_request *r);
/* Every request queued, oldest first, in *n; the queue is left empty.
 * Free with status_requests_free. */
status_request *status_take(status_store *s, size_t *n);
void status_requests_free(status_request *r, size_t n);
/* wake(ctx) runs in the asking thread after each request is queued, to
 * wake the loop wherever it sleeps (cache_wait). Set before any request. */
void status_on_ask(status_store *s, void (*wake)(void *ctx), void *ctx);

#endif
