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
 * any other candidate may take over. */
#ifndef PLUMB_LEASE_H
#define PLUMB_LEASE_H

#include <stdbool.h>

#include "plumb/kube.h"

typedef struct lease lease;

typedef struct {
  const char *ns, *name; /* the Lease: in the runtime's namespace */
  const char *identity;  /* this candidate, unique among them (pod name) */
  int duration_s;        /* leaseDurationSeconds; 0: 15 */
} lease_opts;

/* Borrows c (used only inside lease_try and lease_release) and copies o. */
lease *lease_new(kube_client *c, const lease_opts *o);
/* Frees l; it does not release the Lease (lease_release does). */
void lease_free(lease *l);

/* Acquires or renews the Lease when due: true while this candidate leads.
 * Cheap while a renewal is not due (no request). Call it before every
 * write to the cluster, at least every duration/3. */
bool lease_try(lease *l);
/* Gives the Lease up at once, if held, so another candidate takes it
 * without waiting for it to expire. */
int lease_release(lease *l);
/* The holder the last read or write found ("" when none), for the status. */
const char *lease_holder(const lease *l);

#endif
