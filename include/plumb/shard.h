/* shard.h: the applications split among replicas of the runtime, on
 * Leases alone (lease.h), with no coordinator.
 *
 * Applications fall into a fixed number of shards by a hash of a key (the
 * application's name, or its destination cluster's). Each shard is a
 * Lease, plumb-shard-K, and only its holder syncs that shard's
 * applications; each replica announces itself with a Lease of its own,
 * plumb-member-IDENTITY. Every replica reads all of these Leases each
 * second and computes the same assignment from what it read
 * (shard_assign): a shard stays with its holder while that holder is live
 * and has no more than its share; the others go one by one to the live
 * replica holding fewest. A replica that joins therefore takes shards only
 * from those above the new share, and one that dies leaves only its own
 * to move. Each replica then takes the shards assigned to it, once they
 * are free (released, or expired as lease.h says), and releases those
 * assigned to another.
 *
 * Two replicas never write for one shard at once: the Lease of a shard
 * gives it to one holder (writes carry the resourceVersion read), and a
 * holder stops writing two thirds of the duration after its last renewal,
 * before any other replica may see the Lease expire. shard_held is that
 * fence, asked before every write; a replica paused past its Lease finds
 * it false when it wakes. */
#ifndef PLUMB_SHARD_H
#define PLUMB_SHARD_H

#include <stdbool.h>
#include <stddef.h>

#include "plumb/kube.h"

typedef struct shard_set shard_set;

typedef struct {
  const char *ns;       /* the Leases' namespace: the runtime's */
  const char *identity; /* this replica, unique among them */
  int duration_s;       /* of every Lease; 0: 15 */
  int shards;           /* how many; at least 1 */
  const char *url;      /* where the others reach this replica's API (on its member Lease); NULL: unknown */
} shard_opts;

/* Borrows c (used by the thread of shard_set_start alone, once started)
 * and copies o. */
shard_set *shard_set_new(kube_client *c, const shard_opts *o);
/* Starts the thread that renews, reads and takes Leases, once a second. 0,
 * or -1 when no thread can start. */
int shard_set_start(shard_set *s);
/* Ends the thread, releases the shards held and this replica's member
 * Lease, so that the others take them at once; c is the caller's again. */
int shard_set_stop(shard_set *s);
void shard_set_free(shard_set *s);

/* The shard of key (an application's name or its cluster's). */
int shard_of(const shard_set *s, const char *key);
/* Whether this replica holds shard k now, from any thread: its last
 * renewal succeeded less than two thirds of the duration ago. */
bool shard_held(shard_set *s, int k);
/* How many times this replica has taken shard k: a holder that finds it
 * changed lost the shard in between, and what it knew of the shard's
 * applications may be old. */
unsigned shard_term(shard_set *s, int k);
/* The holder of shard k as last read ("" when none); caller frees. */
char *shard_holder(shard_set *s, int k);
/* Where replica's API is reached, as its member Lease says; NULL when it
 * does not say, or no such replica is live. Caller frees. */
char *shard_url(shard_set *s, const char *replica);
/* Counts the changes of holders and members read: what shows them is
 * out of date when it changed. */
unsigned long shard_version(shard_set *s);
/* The live replicas as last read, this one included, sorted, as one
 * comma-separated string; caller frees. */
char *shard_members(shard_set *s);

/* The assignment every replica computes alike: members (n, sorted, unique)
 * are the live replicas; held[k] the index of the member holding shard k,
 * -1 for none (or one not live). out[k] gets the member shard k goes to. */
void shard_assign(const char *const *members, size_t n, int shards, const int *held, int *out);

#endif
