/* events.h: Kubernetes events about applications, as client-go's recorder
 * writes them, so that `kubectl get events` and `kubectl describe` show
 * what the runtime did.
 *
 * events_emit only queues: a writer thread of its own, with a client of
 * its own, sends them, so a slow or refusing API server never delays a
 * sync. As client-go's correlator does, an event equal to one sent in the
 * last 10 minutes (same object, type, reason and message) raises that
 * one's count instead of making another, and each object has a budget of
 * 25 events that refills one every 5 minutes, so that a flapping
 * application cannot flood the API server. What the queue, the budget or
 * the server drops is counted. */
#ifndef PLUMB_EVENTS_H
#define PLUMB_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "plumb/kube.h"
#include "plumb/metrics.h"

typedef struct events_writer events_writer;

/* The object an event is about; uid may be NULL (kubectl describe then
 * does not find it, kubectl get events does). The event goes to its
 * namespace. */
typedef struct {
  const char *api_version, *kind, *namespace, *name, *uid;
} events_object;

/* Starts the writer, with a client of its own on cfg (borrowed; it must
 * outlive the writer). instance names this runtime (reportingInstance);
 * dropped, if given, counts what is dropped by reason: "queue", "rate" or
 * "error". 0, or KUBE_ERROR with *err (caller frees). */
int events_new(kube_config *cfg, const char *instance, metrics_family *dropped, events_writer **out, char **err);
/* Queues an event: type "Normal" or "Warning", reason in CamelCase, the
 * message from fmt (as UTF-8, cut to 1024 bytes). Never
 * blocks on the API server. e NULL: nothing. */
void events_emit(events_writer *e, const events_object *obj, const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Sends what is queued (for at most 2 seconds), then stops the writer. */
void events_free(events_writer *e);

#endif
