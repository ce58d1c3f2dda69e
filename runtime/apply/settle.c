/* settle.c: waiting for a wave's objects to be healthy (settle.h). */
#include "settle.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "plumb/arena.h"

#include "compare/live.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void nap(double s) {
  struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&t, NULL);
}

/* An object that cannot be read has no health anyone knows. */
static health_status health_of(const live_obj *o) {
  if (o->rc == KUBE_OK) return health_assess(o->live);
  health_status h = {HEALTH_UNKNOWN, ""};
  snprintf(h.message, sizeof h.message, "%s", o->error);
  return h;
}

settle_state settle_look(kube_client *c, json_t *const *bodies, size_t n, settle_failure *why) {
  live_obj *probe = heap_calloc(n ? n : 1, sizeof *probe);
  for (size_t i = 0; i < n; i++) probe[i].body = json_incref(bodies[i]);
  live_read(c, probe, n);
  settle_state result = SETTLE_HEALTHY;
  for (size_t i = 0; i < n && result != SETTLE_DEGRADED; i++) {
    health_status h = health_of(&probe[i]);
    if (h.code == HEALTH_HEALTHY || (result == SETTLE_WAITING && h.code != HEALTH_DEGRADED)) continue;
    result = h.code == HEALTH_DEGRADED ? SETTLE_DEGRADED : SETTLE_WAITING;
    *why = (settle_failure){i, h, false};
  }
  live_free(probe, n);
  return result;
}

bool settle_wave(kube_client *c, json_t *const *bodies, size_t n, double timeout_s, settle_failure *why) {
  double deadline = now() + timeout_s, pause = 0.1;
  for (;;) {
    settle_state r = settle_look(c, bodies, n, why);
    if (r != SETTLE_WAITING) return r == SETTLE_HEALTHY;
    double left = deadline - now();
    if (left <= 0) {
      why->timed_out = true;
      return false;
    }
    nap(pause < left ? pause : left);
    pause = pause * 2 < 1 ? pause * 2 : 1;
  }
}
