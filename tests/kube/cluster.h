/* cluster.h: what the tests against a real control plane (tests/kube/
 * test_*.c) share: the cluster's env, the admin's config, a namespace per
 * test, and small helpers for JSON and time.
 *
 * Each test program takes CLUSTER_DIR (a directory tests/cluster/up.sh
 * started; CLUSTER_DIR/env holds KEY=VALUE lines) and calls cluster_open
 * first. Include it after cmocka.h. */
#ifndef PLUMB_TESTS_KUBE_CLUSTER_H
#define PLUMB_TESTS_KUBE_CLUSTER_H

#include <stdbool.h>

#include "plumb/kube.h"

/* The env's value for key, or NULL. */
const char *env(const char *key);
extern int runid;              /* the process id: names of cluster-scoped objects */
extern kube_config *admin_cfg; /* context "admin" of the cluster's kubeconfig */

/* Loads dir/env and the admin context, starts a 600 s alarm (a hung test
 * kills the run rather than the CI job); -1 with a message on stderr when
 * the cluster cannot be used. cluster_close undoes it. */
int cluster_open(const char *dir, const char *prog);
void cluster_close(void);

double now(void); /* monotonic seconds */
void sleep_ms(long ms);

/* rc must be want; otherwise the failure shows the client's words. */
#define assert_kube(c, want, expr)                                                                                \
  do {                                                                                                            \
    int rc_ = (expr);                                                                                             \
    if (rc_ != (want)) fail_msg("%s returned %d, want %d: %s", #expr, rc_, (int)(want), kube_last_error(c));      \
  } while (0)
#define assert_kube_ok(c, expr) assert_kube(c, KUBE_OK, expr)

#define assert_contains(hay, needle)                                                                              \
  do {                                                                                                            \
    const char *h_ = (hay), *n_ = (needle);                                                                       \
    if (!h_ || !strstr(h_, n_)) fail_msg("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_);              \
  } while (0)

#define assert_between(x, lo, hi)                                                                                 \
  do {                                                                                                            \
    double x_ = (x);                                                                                              \
    if (x_ < (lo) || x_ > (hi)) fail_msg("%s = %.3f, want between %.3f and %.3f", #x, x_, (double)(lo), (double)(hi)); \
  } while (0)

/* JSON written with single quotes, for readability: '...' becomes "...". */
json_t *jsonf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The value at a dotted path: "metadata.name". */
json_t *at(json_t *o, const char *path);
const char *str(json_t *o, const char *path);

json_t *configmap(const char *ns, const char *name, const char *key, const char *value);
/* Applies obj (and drops it); the result in *out when out is given. */
int apply(kube_client *c, json_t *obj, const kube_apply_opts *o, json_t **out);
kube_client *client(kube_config *cfg, const kube_client_opts *o);

/* ---- a namespace per test ---------------------------------------------------- */

typedef struct {
  kube_client *c; /* the admin, with default options */
  char ns[64];
} fixture;

/* The label given with the test names its namespace (LABEL-PID); the
 * namespace is deleted afterwards. */
int with_namespace(void **state);
int without_namespace(void **state);
#define NS(fn, label) cmocka_unit_test_prestate_setup_teardown(fn, with_namespace, without_namespace, (void *)(label))

#endif
