/* arena_test.h: the fixture most unit tests share, a fresh arena A for each
 * test (or group) that setup makes and teardown frees. */
#ifndef PLUMB_ARENA_TEST_H
#define PLUMB_ARENA_TEST_H

#include "plumb/arena.h"

static arena *A;

static int setup(void **state) {
  (void)state;
  A = arena_new();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  arena_free(A);
  return 0;
}

#endif
