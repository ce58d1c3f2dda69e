/* history.h: what each sync of an application did, kept in the cluster.
 *
 * A ConfigMap plumb-history-APP in the runtime's own namespace holds the
 * commit last applied in full (so a restarted runtime knows a commit it
 * has applied from a new one) and the last HISTORY_MAX syncs: id,
 * revision, time, result and each object's outcome, as JSON. */
#ifndef PLUMB_HISTORY_H
#define PLUMB_HISTORY_H

#include "plumb/sync.h"

#define HISTORY_MAX 10

typedef struct {
  char applied[41]; /* "" before the first */
  json_t *entries;  /* array, oldest first */
} history;

/* Reads APP's history; none yet is an empty one, not an error. */
int history_load(kube_client *c, const char *ns, const char *app, history *out);
/* Appends a sync of commit (dropping the oldest past HISTORY_MAX) and
 * writes it back; when rep says Synced, commit becomes `applied`. */
int history_record(kube_client *c, const char *ns, const char *app, history *h, const char *commit,
                   const sync_report *rep);
void history_free(history *h);

#endif
