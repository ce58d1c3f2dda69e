/* history.h: what each sync of an application did, kept in the cluster.
 *
 * A ConfigMap plumb-history-APP in the runtime's own namespace holds the
 * commit last applied in full (so a restarted runtime knows a commit it
 * has applied from a new one), the last HISTORY_MAX syncs (id, revision,
 * time, result and each object's outcome, as JSON), a rollback's pause
 * of automated sync, how far a deletion of the application with its
 * objects has gone, the notifications sent and since when it has been
 * OutOfSync, so that a restart keeps them. */
#ifndef PLUMB_HISTORY_H
#define PLUMB_HISTORY_H

#include "plumb/sync.h"

#define HISTORY_MAX 10

typedef struct {
  char applied[41]; /* "" before the first */
  char *entries;    /* JSON text of an array, oldest first: kept as text,
                     * a fraction of the memory of the parsed entries */
  /* After a rollback: the commit rolled back to, and the commit the
   * application's revision pointed at then. Automated sync stays off until
   * the revision moves past paused_at or a sync is asked for. "" when not
   * paused. */
  char rollback[41], paused_at[41];
  /* Automated sync suspended by someone (the UI's Suspend) until they
   * resume it: kept here so that a restart keeps it too. */
  bool suspended;
  /* Removed from the config with cascade_delete: its objects are being
   * deleted with this propagation, from this cluster; "" otherwise. Kept
   * here so that a runtime restarted goes on with it, at the step it had
   * reached (delete_step: "PreDelete wave 0 created", "objects", ...), with
   * the PreDelete and PostDelete hooks it runs around the deletion
   * (delete_hooks: a JSON array of the bodies to create, NULL for none). */
  char deleting[16], cluster[256], delete_step[48];
  char *delete_hooks;
  /* The notifications sent, as a JSON object: each trigger and the state
   * it was sent for ("on-sync-failed": COMMIT), so that a restart or
   * another leader does not send it again; NULL: none. */
  char *notified;
  /* Since when (UTC, 2026-01-02T15:04:05Z) it has been OutOfSync without a
   * pass Synced in between, for on-out-of-sync; "" when it is not, or
   * nobody subscribes. Kept here so that a restart does not start the
   * time again. */
  char out_of_sync[24];
} history;

/* The most delete hooks a history holds, as JSON text: a ConfigMap holds 1
 * MiB, the sync entries most of it. */
#define HISTORY_HOOKS_MAX (128 * 1024)

/* One sync as the history tells it: the commit (its subject and author,
 * for people), the env's parameters it was built with (NAME=VALUE), and
 * who or what started it ("auto", or the user who asked). */
typedef struct {
  const char *commit, *subject, *author, *trigger;
  const char *const *args;
  size_t nargs;
} history_sync;

/* The name of APP's ConfigMap, into buf. */
void history_name(char *buf, size_t len, const char *app);
/* Deletes APP's history, once its application is gone. */
int history_delete(kube_client *c, const char *ns, const char *app);
/* The applications whose histories say their objects are being deleted,
 * as a JSON array of names (caller decrefs); NULL when they cannot be
 * listed. */
json_t *history_deleting(kube_client *c, const char *ns);

/* Reads APP's history; none yet is an empty one, not an error. */
int history_load(kube_client *c, const char *ns, const char *app, history *out);
/* Appends sync s, with rep's result and objects, dropping the oldest past
 * HISTORY_MAX, and writes it back; when rep says Synced, s's commit
 * becomes `applied`. */
int history_record(kube_client *c, const char *ns, const char *app, history *h, const history_sync *s,
                   const sync_report *rep);
/* Writes h back as it is (after a change of the pause). */
int history_save(kube_client *c, const char *ns, const char *app, const history *h);
/* The entry a rollback goes to (borrowed from entries): the one with id,
 * or without one (has_id false) the latest Synced entry of a revision other
 * than applied. NULL when there is none. */
const json_t *history_pick(const json_t *entries, const char *applied, bool has_id, long long id);
/* The args an entry was built with (NAME=VALUE, borrowed from entry) in
 * *args, which the caller frees; their number, 0 for an entry without. */
size_t history_args(const json_t *entry, const char ***args);
void history_free(history *h);

#endif
