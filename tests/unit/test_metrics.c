/* test_metrics.c: the registry behind /metrics: Prometheus' text format,
 * one order whatever the order of updates, and updates from many threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/metrics.h"

static void assert_text(metrics *m, const char *want) {
  char *text = metrics_text(m);
  if (strcmp(text, want) != 0) fail_msg("got:\n%s\nwant:\n%s", text, want);
  free(text);
}

static void an_empty_registry_is_an_empty_page(void **state) {
  metrics *m = metrics_new();
  assert_text(m, "");
  metrics_free(m);
}

static void families_by_name_and_series_by_labels(void **state) {
  metrics *m = metrics_new();
  metrics_family *syncs = metrics_counter(m, "syncs_total", "Syncs.", (const char *[]){"app", "result", NULL});
  metrics_family *apps = metrics_gauge(m, "apps", "Apps known.", NULL);
  metrics_add(syncs, (const char *[]){"web", "ok"}, 1);
  metrics_add(syncs, (const char *[]){"db", "failed"}, 1);
  metrics_add(syncs, (const char *[]){"web", "failed"}, 2);
  metrics_add(syncs, (const char *[]){"web", "ok"}, 1);
  metrics_add(syncs, (const char *[]){"web", "ok"}, -5); /* counters never go down */
  metrics_set(apps, NULL, 2);
  assert_text(m, "# HELP apps Apps known.\n"
                 "# TYPE apps gauge\n"
                 "apps 2\n"
                 "# HELP syncs_total Syncs.\n"
                 "# TYPE syncs_total counter\n"
                 "syncs_total{app=\"db\",result=\"failed\"} 1\n"
                 "syncs_total{app=\"web\",result=\"failed\"} 2\n"
                 "syncs_total{app=\"web\",result=\"ok\"} 2\n");
  metrics_free(m);
}

static void histograms_count_cumulatively(void **state) {
  metrics *m = metrics_new();
  const double bounds[] = {0.25, 1, 5};
  metrics_family *h = metrics_histogram(m, "apply_seconds", "Apply time.", (const char *[]){"app", NULL}, bounds, 3);
  metrics_observe(h, (const char *[]){"web"}, 0.25); /* on a bound: in that bucket */
  metrics_observe(h, (const char *[]){"web"}, 2);
  metrics_observe(h, (const char *[]){"web"}, 60);
  assert_text(m, "# HELP apply_seconds Apply time.\n"
                 "# TYPE apply_seconds histogram\n"
                 "apply_seconds_bucket{app=\"web\",le=\"0.25\"} 1\n"
                 "apply_seconds_bucket{app=\"web\",le=\"1\"} 1\n"
                 "apply_seconds_bucket{app=\"web\",le=\"5\"} 2\n"
                 "apply_seconds_bucket{app=\"web\",le=\"+Inf\"} 3\n"
                 "apply_seconds_sum{app=\"web\"} 62.25\n"
                 "apply_seconds_count{app=\"web\"} 3\n");
  metrics_free(m);
}

static void values_and_text_are_escaped(void **state) {
  metrics *m = metrics_new();
  metrics_family *g = metrics_gauge(m, "info", "Line one\nback\\slash \"quoted\".", (const char *[]){"v", NULL});
  metrics_set(g, (const char *[]){"a\"b\\c\nd"}, 0.1);
  metrics_set(g, (const char *[]){"huge"}, 1e300);
  metrics_set(g, (const char *[]){"nan"}, NAN);
  metrics_set(g, (const char *[]){"negative"}, -INFINITY);
  assert_text(m, "# HELP info Line one\\nback\\\\slash \"quoted\".\n"
                 "# TYPE info gauge\n"
                 "info{v=\"a\\\"b\\\\c\\nd\"} 0.1\n"
                 "info{v=\"huge\"} 1e+300\n"
                 "info{v=\"nan\"} NaN\n"
                 "info{v=\"negative\"} -Inf\n");
  metrics_free(m);
}

static void declaring_again(void **state) {
  metrics *m = metrics_new();
  const char *labels[] = {"app", NULL};
  metrics_family *f = metrics_counter(m, "syncs_total", "Syncs.", labels);
  assert_ptr_equal(metrics_counter(m, "syncs_total", "Syncs.", labels), f);
  assert_null(metrics_gauge(m, "syncs_total", "Syncs.", labels));
  assert_null(metrics_counter(m, "syncs_total", "Syncs.", NULL));
  metrics_add(NULL, NULL, 1); /* a clash's NULL is safe to use */
  metrics_free(m);
}

static void names_prometheus_refuses(void **state) {
  metrics *m = metrics_new();
  const double bounds[] = {1, 1};
  assert_null(metrics_counter(m, "9lives", "", NULL));
  assert_null(metrics_counter(m, "with-dash", "", NULL));
  assert_null(metrics_counter(m, "", "", NULL));
  assert_null(metrics_gauge(m, "ok", "", (const char *[]){"a:b", NULL}));
  assert_null(metrics_gauge(m, "ok", "", (const char *[]){"__reserved", NULL}));
  assert_null(metrics_histogram(m, "h", "", (const char *[]){"le", NULL}, NULL, 0));
  assert_null(metrics_histogram(m, "h", "", NULL, bounds, 2));
  assert_non_null(metrics_counter(m, "plumb:rule_total", "", NULL));
  metrics_free(m);
}

enum { THREADS = 4, ADDS = 10000 };

static void *add_many(void *f) {
  char name[2] = {0};
  for (int i = 0; i < ADDS; i++) {
    name[0] = (char)('a' + i % 3);
    metrics_add(f, (const char *[]){name}, 1);
  }
  return NULL;
}

static void updates_from_many_threads(void **state) {
  metrics *m = metrics_new();
  metrics_family *f = metrics_counter(m, "n_total", "N.", (const char *[]){"k", NULL});
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, add_many, f);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  assert_text(m, "# HELP n_total N.\n"
                 "# TYPE n_total counter\n"
                 "n_total{k=\"a\"} 13336\n"
                 "n_total{k=\"b\"} 13332\n"
                 "n_total{k=\"c\"} 13332\n");
  metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(an_empty_registry_is_an_empty_page),
      cmocka_unit_test(families_by_name_and_series_by_labels),
      cmocka_unit_test(histograms_count_cumulatively),
      cmocka_unit_test(values_and_text_are_escaped),
      cmocka_unit_test(declaring_again),
      cmocka_unit_test(names_prometheus_refuses),
      cmocka_unit_test(updates_from_many_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
