/* lease.h: leader election through a coordination.k8s.io/v1 Lease, as
 * client-go's leaderelection does it, so two replicas of the runtime never
 * both apply.
 *
 * The Lease names its holder and how long a renewal holds
 * (leaseDurationSeconds). A candidate takes it when it is free (no Lease,
 * or no holder: released) or expired: unchanged for a whole duration as
 * this candidate saw it, on its own monotonic clock, so clocks that
 * disagree do not matter. Every write is a create or an update with the
 * resourceVersion read, so of two candidates at once one wins and the
 * other gets a conflict. A leader renews when a third of the duration has
 * passed, and stops calling itself leader two thirds after its last
 * renewal even when it could not renew (the API server unreachable): before
 * any other candidate may take over.
 *
 * A runtime renews from a thread of its own (lease_start), as client-go's
 * elector runs in a goroutine of its own: work of the loop's, however long
 * (a compile up to its CPU limit, a round of writes to an API server just
 * back), then never costs the Lease. The loop asks lease_leading before
 * every write, which is fenced by the same deadline: a thread that could
 * not renew in time makes it false before another candidate may lead. */
#ifndef PLUMB_LEASE_H
#define PLUMB_LEASE_H

#include <stdbool.h>

#include "plumb/kube.h"

typedef struct lease lease;

typedef struct {
  const char *ns, *name; /* the Lease: in the runtime's namespace */
  const char *identity;  /* this candidate, unique among them (pod name) */
  int duration_s;        /* leaseDurationSeconds; 0: 15 */
  const char *url;       /* written as the annotation LEASE_URL (a replica's API); NULL: none */
} lease_opts;

#define LEASE_URL "plumb.dev/url"

/* Borrows c (used only inside lease_try, lease_release and the thread of
 * lease_start) and copies o. */
lease *lease_new(kube_client *c, const lease_opts *o);
/* Frees l; it does not release the Lease (lease_release does). */
void lease_free(lease *l);

/* Acquires or renews the Lease when due: true while this candidate leads.
 * Cheap while a renewal is not due (no request). Call it before every
 * write to the cluster, at least every duration/3. */
bool lease_try(lease *l);
/* Takes in a reading of the Lease made elsewhere (a list of Leases), as
 * if lease_try had read it: its expiry clock runs from the first reading
 * of the holder's last renewal, so a candidate that reads it this way
 * before wanting it may take it as soon as it expires. Borrows record.
 * Not while lease_start's thread runs. */
void lease_observe(lease *l, json_t *record);
/* Gives the Lease up at once, if held, so another candidate takes it
 * without waiting for it to expire. */
int lease_release(lease *l);
/* The holder the last read or write found ("" when none), for the status.
 * Not while lease_start's thread runs (lease_leading says it then). */
const char *lease_holder(const lease *l);

/* Starts the thread that calls lease_try from now on: every second while
 * another candidate leads, every third of the duration while this one
 * does. c then belongs to that thread. 0, or -1 when no thread can start. */
int lease_start(lease *l);
/* Whether this candidate leads now, from any thread: the last renewal
 * succeeded less than two thirds of the duration ago. With holder non-NULL
 * also a copy of the holder last seen (caller frees). */
bool lease_leading(lease *l, char **holder);
/* Ends lease_start's thread, if any, then releases the Lease (as
 * lease_release); c is the caller's again. */
int lease_stop(lease *l);

#endif
