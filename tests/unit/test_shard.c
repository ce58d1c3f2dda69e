/* test_shard.c: how shards are assigned to replicas (shard_assign in
 * runtime/run/shard.c) and applications to shards, without a cluster:
 * what every replica computes alike from the Leases it read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "plumb/shard.h"

#define SHARDS 32

static const char *const five[] = {"plumb-0_1", "plumb-1_1", "plumb-2_1", "plumb-3_1", "plumb-4_1"};

static void count(const int *to, int shards, size_t n, int *load) {
  memset(load, 0, n * sizeof *load);
  for (int k = 0; k < shards; k++) {
    assert_true(to[k] >= 0 && (size_t)to[k] < n);
    load[to[k]]++;
  }
}

static void nothing_held_splits_evenly(void **state) {
  int held[SHARDS], to[SHARDS], load[5];
  for (size_t n = 1; n <= 5; n++) {
    for (int k = 0; k < SHARDS; k++) held[k] = -1;
    shard_assign(five, n, SHARDS, held, to);
    count(to, SHARDS, n, load);
    for (size_t m = 0; m < n; m++) assert_in_range(load[m], SHARDS / (int)n, (SHARDS + (int)n - 1) / (int)n);
  }
}

/* What a replica computes from what is held is what is held: no churn. */
static void an_assignment_held_stays(void **state) {
  int held[SHARDS], to[SHARDS], again[SHARDS];
  for (int k = 0; k < SHARDS; k++) held[k] = -1;
  shard_assign(five, 3, SHARDS, held, to);
  shard_assign(five, 3, SHARDS, to, again);
  assert_memory_equal(to, again, sizeof to);
}

/* A replica that joins takes shards from the others only, and no shard
 * moves between those that were there. */
static void a_replica_joining_takes_only_its_share(void **state) {
  int held[SHARDS], before[SHARDS], after[SHARDS], load[5];
  for (size_t n = 1; n < 5; n++) {
    for (int k = 0; k < SHARDS; k++) held[k] = -1;
    shard_assign(five, n, SHARDS, held, before);
    shard_assign(five, n + 1, SHARDS, before, after);
    for (int k = 0; k < SHARDS; k++)
      if (after[k] != before[k]) assert_int_equal(after[k], (int)n);
    count(after, SHARDS, n + 1, load);
    for (size_t m = 0; m <= n; m++)
      assert_in_range(load[m], SHARDS / (int)(n + 1), (SHARDS + (int)n) / (int)(n + 1));
  }
}

/* One that leaves (its Lease expired: what it held counts as held by
 * nobody) leaves only its own shards to move, spread over the others. */
static void a_replica_leaving_moves_only_its_own(void **state) {
  int held[SHARDS], before[SHARDS], after[SHARDS], load[4];
  const char *const rest[] = {"plumb-0_1", "plumb-1_1", "plumb-3_1", "plumb-4_1"};
  for (int k = 0; k < SHARDS; k++) held[k] = -1;
  shard_assign(five, 5, SHARDS, held, before);
  /* The members are renumbered without plumb-2_1. */
  for (int k = 0; k < SHARDS; k++) held[k] = before[k] == 2 ? -1 : before[k] > 2 ? before[k] - 1 : before[k];
  shard_assign(rest, 4, SHARDS, held, after);
  for (int k = 0; k < SHARDS; k++)
    if (before[k] != 2) assert_int_equal(after[k], held[k]);
  count(after, SHARDS, 4, load);
  for (size_t m = 0; m < 4; m++) assert_in_range(load[m], SHARDS / 4, SHARDS / 4 + 1);
}

/* Applications spread over the shards, and one's shard is the same in
 * every replica (a hash of its name alone). */
static void applications_spread_over_shards(void **state) {
  shard_set *a = shard_set_new(NULL, &(shard_opts){.ns = "plumb", .identity = "a", .shards = SHARDS});
  shard_set *b = shard_set_new(NULL, &(shard_opts){.ns = "plumb", .identity = "b", .shards = SHARDS});
  int per[SHARDS] = {0};
  char name[32];
  for (int i = 0; i < 10000; i++) {
    snprintf(name, sizeof name, "app-%05d", i);
    int k = shard_of(a, name);
    assert_int_equal(k, shard_of(b, name));
    per[k]++;
  }
  /* 312.5 each on average: every shard within a fifth of it. */
  for (int k = 0; k < SHARDS; k++) assert_in_range(per[k], 250, 375);
  assert_int_equal(shard_of(a, "web"), shard_of(a, "web"));
  shard_set_free(a);
  shard_set_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(nothing_held_splits_evenly),
      cmocka_unit_test(an_assignment_held_stays),
      cmocka_unit_test(a_replica_joining_takes_only_its_share),
      cmocka_unit_test(a_replica_leaving_moves_only_its_own),
      cmocka_unit_test(applications_spread_over_shards),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
