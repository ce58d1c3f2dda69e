/* apply.h: compiled resources onto a cluster, and what would change.
 *
 * Every object Plumb applies carries its ownership mark: the label
 * plumb.dev/env (the env's name) and the annotation plumb.dev/app (the app
 * that produced it, or "-"). Pruning deletes only objects with the env's
 * label that the new output no longer contains. */
#ifndef PLUMB_APPLY_H
#define PLUMB_APPLY_H

#include <stdio.h>

#include "plumb/compile.h"
#include "plumb/kube.h"

#define APPLY_ENV_LABEL "plumb.dev/env"
#define APPLY_APP_ANNOTATION "plumb.dev/app"

typedef struct {
  bool dry_run; /* server-side dry run: nothing changes */
  bool force;   /* take over fields another manager owns */
  bool prune;
  FILE *out;    /* one line per object: created, configured, unchanged, pruned */
} apply_opts;

/* Applies r's resources in order, waiting for each CRD to be Established
 * before what follows it. Returns 0, or the number of objects that failed
 * (each failure printed to stderr); prune runs only when nothing failed and
 * refuses an empty result. */
int apply_resources(kube_client *c, const compile_result *r, const apply_opts *o);

/* Prints a unified diff per resource between the live object and the
 * server's dry run of applying it. Returns 0 when equal, 1 when anything
 * differs, 2 on error. */
int diff_resources(kube_client *c, const compile_result *r, FILE *out);

/* The marked JSON body for one compiled resource (caller decrefs). */
json_t *apply_body(const compile_result *r, size_t i);

#endif
