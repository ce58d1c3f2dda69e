/* forkgate.h: forks that find no lock held.
 *
 * The runtime forks a child for every compile (source.h, source_isolate)
 * while its other threads work: the watches, the HTTP handlers. A lock
 * one of them holds at the fork (the allocator's under ASan, OpenSSL's in
 * a TLS read) stays held in the child, whose compile then hangs until the
 * wall clock ends it. So those threads mark each piece of their work, and
 * a fork waits until none is inside one. A piece is short (a handler, the
 * events a watch read), and the wait ends it; a waiting fork goes before
 * new pieces, so it never waits behind a stream of them. */
#ifndef PLUMB_FORKGATE_H
#define PLUMB_FORKGATE_H

#include <curl/curl.h>
#include <stdbool.h>
#include <sys/types.h>

/* Around a piece of work of a thread that is not the one that forks. Not
 * nested. */
void forkgate_enter(void);
void forkgate_leave(void);

/* Runs h, a libcurl easy handle, to its end inside the gate, stepping
 * out while it waits on the network, so that a slow peer holds no fork
 * off; ends it early once stop(ctx) is true (stop NULL: never), with
 * CURLE_FAILED_INIT. Returns libcurl's result. */
CURLcode forkgate_perform(CURL *h, bool (*stop)(void *ctx), void *ctx);

/* fork(), once no thread is between forkgate_enter and forkgate_leave. */
pid_t forkgate_fork(void);

#endif
