/* settle.h: between sync waves, waiting until the objects of a wave are
 * healthy, read back from the cluster.
 *
 * As in Argo CD: an object is done when Healthy (by its kind's rule, the
 * config's health script for it, or the API's conventions, health.h); the
 * first Degraded one fails the wait; anything else (Progressing,
 * Suspended, Missing, Unknown) is waited for. */
#ifndef PLUMB_SETTLE_H
#define PLUMB_SETTLE_H

#include "plumb/health.h"
#include "plumb/kube.h"

/* Why a wave did not settle. */
typedef struct {
  size_t index;         /* the object that did not */
  health_status health; /* its health when the wait ended */
  bool timed_out;       /* false: it is Degraded */
} settle_failure;

typedef enum { SETTLE_HEALTHY, SETTLE_WAITING, SETTLE_DEGRADED } settle_state;

/* Reads bodies[0..n) back once: all healthy, or one Degraded (*why names
 * it), or some still to wait for (*why names the first). */
settle_state settle_look(kube_client *c, json_t *const *bodies, size_t n, settle_failure *why);

/* Reads bodies[0..n) back until each is healthy: true. False, with *why,
 * as soon as one is Degraded or when timeout_s has passed. */
bool settle_wave(kube_client *c, json_t *const *bodies, size_t n, double timeout_s, settle_failure *why);

#endif
