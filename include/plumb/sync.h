/* sync.h: one application against its cluster, one pass.
 *
 * The runtime's loop (fetch, compile, then this) decides when; this decides
 * what may happen and does it: the project's rules are checked for every
 * object before anything is sent, so a violation applies nothing; objects
 * carry the application's mark; prune follows the sync policy and never
 * runs on a failed or partial apply. */
#ifndef PLUMB_SYNC_H
#define PLUMB_SYNC_H

#include "plumb/app.h"
#include "plumb/apply.h"

typedef enum { SYNC_UNKNOWN, SYNC_SYNCED, SYNC_OUT_OF_SYNC } sync_status;

const char *sync_status_name(sync_status s); /* "Synced", "OutOfSync", "Unknown" */

typedef struct {
  sync_status status;
  char *error;          /* why it could not sync, or NULL */
  char *diff;           /* sync_compare: the unified diff, "" when none */
  apply_result objects; /* sync_apply: one outcome per object */
} sync_report;

void sync_report_free(sync_report *r);

/* NULL when project p permits every resource of r for app; else the first
 * reason (caller frees). Namespaced-ness comes from discovery; a kind the
 * server does not know yet (a CRD in the same build) counts as namespaced,
 * as do the applications r declares (app.h: kind plumb.dev/Application). */
char *sync_check_project(kube_client *c, const app_def *app, const app_project *p, const compile_result *r);

/* NULL when c's server serves the kind of every resource of r, or r builds
 * its CRD; else which do not, a line each (caller frees), as Argo CD's dry
 * run refuses a sync before anything is applied. The sync option
 * SkipDryRunOnMissingResource=true, of app or of a resource, lets them
 * through: such a resource fails alone if its kind is still missing when
 * its wave comes. */
char *sync_check_kinds(kube_client *c, const app_def *app, const compile_result *r);

/* Compares the cluster with r: Synced, OutOfSync with the diff, or Unknown
 * with the error. Changes nothing. The application's objects that r no
 * longer builds are found in view when it can say (apply_lister; NULL: the
 * server is listed). */
void sync_compare(kube_client *c, const app_def *app, const compile_result *r, const apply_lister *view,
                  sync_report *out);

/* How long a sync waits for a wave's objects to become healthy before the
 * next wave. */
#define SYNC_WAVE_TIMEOUT_S 300

/* Applies r (and prunes when app->prune, what to prune found as
 * sync_compare finds it), after the project check, wave by wave, each but
 * the last healthy before the next starts. Synced when every object
 * applied; a wave that stops the sync says why in error. */
void sync_apply(kube_client *c, const app_def *app, const app_project *p, const compile_result *r,
                const apply_lister *view, sync_report *out);

#endif
