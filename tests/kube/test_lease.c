/* test_lease.c: leader election (include/plumb/lease.h) between candidates
 * on a real control plane. Leases last 2 s so that take-overs are quick.
 *
 * Usage: kube_lease CLUSTER_DIR (tests/kube/cluster.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "plumb/lease.h"

typedef struct {
  kube_client *c;
  lease *l;
} candidate;

static candidate candidate_new(const fixture *f, const char *identity) {
  candidate k = {.c = client(admin_cfg, NULL)};
  k.l = lease_new(k.c, &(lease_opts){.ns = f->ns, .name = "plumb-leader", .identity = identity, .duration_s = 2});
  return k;
}

static void candidate_free(candidate k) {
  lease_free(k.l);
  kube_client_free(k.c);
}

static json_t *lease_spec(const fixture *f) {
  json_t *got;
  assert_kube_ok(f->c, kube_get(f->c, "coordination.k8s.io/v1", "Lease", f->ns, "plumb-leader", &got));
  json_t *spec = json_incref(json_object_get(got, "spec"));
  json_decref(got);
  return spec;
}

static void the_first_candidate_leads_and_the_second_waits(void **state) {
  fixture *f = *state;
  candidate a = candidate_new(f, "replica-a"), b = candidate_new(f, "replica-b");
  assert_true(lease_try(a.l));
  assert_false(lease_try(b.l));
  assert_string_equal(lease_holder(b.l), "replica-a");
  json_t *spec = lease_spec(f);
  assert_string_equal(str(spec, "holderIdentity"), "replica-a");
  assert_int_equal(json_integer_value(at(spec, "leaseDurationSeconds")), 2);
  assert_int_equal(json_integer_value(at(spec, "leaseTransitions")), 0);
  assert_non_null(str(spec, "acquireTime"));
  assert_non_null(str(spec, "renewTime"));
  json_decref(spec);
  candidate_free(a);
  candidate_free(b);
}

/* Over three lease durations, a leader that keeps trying keeps leading. */
static void a_leader_that_renews_keeps_the_lease(void **state) {
  fixture *f = *state;
  candidate a = candidate_new(f, "replica-a"), b = candidate_new(f, "replica-b");
  assert_true(lease_try(a.l));
  for (double end = now() + 6; now() < end; sleep_ms(200)) {
    assert_true(lease_try(a.l));
    assert_false(lease_try(b.l));
  }
  candidate_free(a);
  candidate_free(b);
}

static void the_other_takes_over_when_the_leader_stops_renewing(void **state) {
  fixture *f = *state;
  candidate a = candidate_new(f, "replica-a"), b = candidate_new(f, "replica-b");
  assert_true(lease_try(a.l));
  double t0 = now();
  while (!lease_try(b.l) && now() < t0 + 10) sleep_ms(100);
  double took = now() - t0;
  assert_string_equal(lease_holder(b.l), "replica-b");
  assert_between(took, 1.9, 4); /* a whole duration, as b saw it, and not much more */
  json_t *spec = lease_spec(f);
  assert_int_equal(json_integer_value(at(spec, "leaseTransitions")), 1);
  json_decref(spec);
  /* a had stopped calling itself leader before b could take over. */
  assert_false(lease_try(a.l));
  assert_string_equal(lease_holder(a.l), "replica-b");
  candidate_free(a);
  candidate_free(b);
}

static void a_release_lets_the_other_take_over_at_once(void **state) {
  fixture *f = *state;
  candidate a = candidate_new(f, "replica-a"), b = candidate_new(f, "replica-b");
  assert_true(lease_try(a.l));
  assert_false(lease_try(b.l));
  assert_kube_ok(a.c, lease_release(a.l));
  assert_true(lease_try(b.l));
  assert_false(lease_try(a.l));
  json_t *spec = lease_spec(f);
  assert_string_equal(str(spec, "holderIdentity"), "replica-b");
  assert_int_equal(json_integer_value(at(spec, "leaseTransitions")), 1);
  json_decref(spec);
  candidate_free(a);
  candidate_free(b);
}

/* With its own thread renewing, a leader keeps the Lease over three
 * durations in which its caller asks nothing of it (a long compile), and
 * stopping the thread gives the Lease up. */
static void a_leader_renewing_from_its_thread_keeps_the_lease_while_busy(void **state) {
  fixture *f = *state;
  candidate a = candidate_new(f, "replica-a"), b = candidate_new(f, "replica-b");
  assert_int_equal(lease_start(a.l), 0);
  double t0 = now();
  while (!lease_leading(a.l, NULL) && now() < t0 + 5) sleep_ms(50);
  sleep_ms(6000);
  char *holder;
  assert_true(lease_leading(a.l, &holder));
  assert_string_equal(holder, "replica-a");
  free(holder);
  assert_false(lease_try(b.l));
  assert_kube_ok(a.c, lease_stop(a.l));
  assert_false(lease_leading(a.l, NULL));
  assert_true(lease_try(b.l));
  json_t *spec = lease_spec(f);
  assert_int_equal(json_integer_value(at(spec, "leaseTransitions")), 1);
  json_decref(spec);
  candidate_free(a);
  candidate_free(b);
}

typedef struct {
  candidate k;
  pthread_barrier_t *start;
  bool won;
} racer;

static void *race(void *arg) {
  racer *r = arg;
  pthread_barrier_wait(r->start);
  r->won = lease_try(r->k.l);
  return NULL;
}

/* Four candidates try at the same moment: on a missing Lease (creates
 * race), then on an expired one (updates race). */
static void candidates_racing_for_the_lease_elect_exactly_one(void **state) {
  fixture *f = *state;
  enum { N = 4 };
  racer rs[N];
  pthread_barrier_t start;
  for (int round = 0; round < 2; round++) {
    pthread_barrier_init(&start, NULL, N);
    for (int i = 0; i < N; i++) {
      char id[32];
      snprintf(id, sizeof id, "racer-%d-%d", round, i);
      rs[i] = (racer){.k = candidate_new(f, id), .start = &start};
    }
    if (round == 1) /* each must see the old holder's record stand a whole duration */
      for (int i = 0; i < N; i++) assert_false(lease_try(rs[i].k.l));
    if (round == 1) sleep_ms(2200);
    pthread_t t[N];
    for (int i = 0; i < N; i++) assert_int_equal(pthread_create(&t[i], NULL, race, &rs[i]), 0);
    int winners = 0;
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL), winners += rs[i].won;
    assert_int_equal(winners, 1);
    json_t *spec = lease_spec(f);
    for (int i = 0; i < N; i++) {
      if (rs[i].won) assert_string_equal(str(spec, "holderIdentity"), lease_holder(rs[i].k.l));
      candidate_free(rs[i].k);
    }
    json_decref(spec);
    pthread_barrier_destroy(&start);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CLUSTER_DIR\n", argv[0]);
    return 2;
  }
  if (cluster_open(argv[1], "kube_lease") != 0) return 1;
  const struct CMUnitTest tests[] = {
      NS(the_first_candidate_leads_and_the_second_waits, "kl-first"),
      NS(a_leader_that_renews_keeps_the_lease, "kl-renew"),
      NS(the_other_takes_over_when_the_leader_stops_renewing, "kl-takeover"),
      NS(a_release_lets_the_other_take_over_at_once, "kl-release"),
      NS(a_leader_renewing_from_its_thread_keeps_the_lease_while_busy, "kl-thread"),
      NS(candidates_racing_for_the_lease_elect_exactly_one, "kl-race"),
  };
  int failed = cmocka_run_group_tests_name("kube_lease", tests, NULL, NULL);
  cluster_close();
  return failed;
}
