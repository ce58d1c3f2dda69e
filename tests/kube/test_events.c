/* test_events.c: Kubernetes events (include/plumb/events.h) on a real
 * control plane: written on their object, an equal one counted up, an
 * object's budget of 25, and a server that does not answer never making
 * events_emit wait, nor a fork through the fork gate (forkgate.h).
 *
 * Usage: kube_events CLUSTER_DIR (tests/kube/cluster.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster.h"
#include "plumb/events.h"
#include "plumb/forkgate.h"

/* A ConfigMap of the test's namespace to write events on, its uid in uid. */
static events_object target(fixture *f, char uid[64]) {
  json_t *cm = NULL;
  assert_kube_ok(f->c, apply(f->c, configmap(f->ns, "target", "k", "v"), NULL, &cm));
  snprintf(uid, 64, "%s", str(cm, "metadata.uid"));
  json_decref(cm);
  return (events_object){"v1", "ConfigMap", f->ns, "target", uid};
}

/* The events of the test's namespace, oldest first (caller decrefs). */
static json_t *events_of(fixture *f) {
  json_t *items = NULL;
  assert_kube_ok(f->c, kube_list(f->c, "v1", "Event", f->ns, NULL, &items, NULL));
  return items;
}

static events_writer *writer(kube_config *cfg, metrics_family *dropped) {
  events_writer *e = NULL;
  char *err = NULL;
  if (events_new(cfg, "test-instance", dropped, &e, &err) != 0) fail_msg("events_new: %s", err);
  return e;
}

static void an_event_is_written_on_its_object(void **state) {
  fixture *f = *state;
  char uid[64];
  events_object obj = target(f, uid);
  events_writer *e = writer(admin_cfg, NULL);
  events_emit(e, &obj, "Warning", "SyncFailed", "sync of %s failed: %s", "abc1234", "a \xff byte");
  events_free(e); /* sends what is queued */
  json_t *items = events_of(f), *ev = json_array_get(items, 0);
  assert_int_equal(json_array_size(items), 1);
  assert_string_equal(str(ev, "involvedObject.uid"), uid);
  assert_string_equal(str(ev, "involvedObject.kind"), "ConfigMap");
  assert_string_equal(str(ev, "involvedObject.name"), "target");
  assert_string_equal(str(ev, "type"), "Warning");
  assert_string_equal(str(ev, "reason"), "SyncFailed");
  assert_string_equal(str(ev, "message"), "sync of abc1234 failed: a ? byte"); /* UTF-8, for the server */
  assert_int_equal(json_integer_value(at(ev, "count")), 1);
  assert_string_equal(str(ev, "source.component"), "plumb");
  assert_string_equal(str(ev, "reportingInstance"), "test-instance");
  assert_non_null(str(ev, "firstTimestamp"));
  json_decref(items);
}

static void the_same_event_again_raises_its_count(void **state) {
  fixture *f = *state;
  char uid[64];
  events_object obj = target(f, uid);
  events_writer *e = writer(admin_cfg, NULL);
  for (int i = 0; i < 3; i++) events_emit(e, &obj, "Normal", "Synced", "synced abc1234");
  events_emit(e, &obj, "Normal", "Synced", "synced def5678");
  events_free(e);
  json_t *items = events_of(f), *ev;
  size_t i;
  long abc = 0, def = 0;
  assert_int_equal(json_array_size(items), 2);
  json_array_foreach(items, i, ev) {
    if (strcmp(str(ev, "message"), "synced abc1234") == 0) abc = json_integer_value(at(ev, "count"));
    if (strcmp(str(ev, "message"), "synced def5678") == 0) def = json_integer_value(at(ev, "count"));
  }
  assert_int_equal(abc, 3);
  assert_int_equal(def, 1);
  json_decref(items);
}

/* A flapping application: 40 different events at once, 25 written. */
static void an_objects_budget_is_25_events(void **state) {
  fixture *f = *state;
  char uid[64];
  events_object obj = target(f, uid), other = obj;
  other.name = "other", other.uid = NULL;
  metrics *m = metrics_new();
  metrics_family *dropped = metrics_counter(m, "dropped", "test", (const char *[]){"reason", NULL});
  events_writer *e = writer(admin_cfg, dropped);
  for (int i = 0; i < 40; i++) events_emit(e, &obj, "Warning", "HealthChanged", "flap %d", i);
  events_emit(e, &other, "Normal", "Synced", "another object has a budget of its own");
  events_free(e);
  json_t *items = events_of(f);
  assert_int_equal(json_array_size(items), 26);
  char *text = metrics_text(m);
  assert_contains(text, "dropped{reason=\"rate\"} 15");
  free(text);
  metrics_free(m);
  json_decref(items);
}

/* A listener that takes connections and never answers. */
static int silent_server(int *port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(s, 64), 0);
  assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return s;
}

static kube_config *config_of(const char *path, int port) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"http://127.0.0.1:%d\"}}]\n"
             "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
             "current-context: x\n", port);
  assert_int_equal(fclose(f), 0);
  kube_config *cfg = NULL;
  char *err = NULL;
  if (kube_config_load(&cfg, path, NULL, &err) != KUBE_OK) fail_msg("kube_config_load: %s", err);
  return cfg;
}

static void a_server_that_does_not_answer_never_makes_emit_wait(void **state) {
  int port, s = silent_server(&port);
  char path[] = "/tmp/kube-events-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  kube_config *cfg = config_of(path, port);
  metrics *m = metrics_new();
  metrics_family *dropped = metrics_counter(m, "dropped", "test", (const char *[]){"reason", NULL});
  events_writer *e = writer(cfg, dropped);
  double start = now();
  for (int i = 0; i < 2000; i++) {
    char name[32];
    snprintf(name, sizeof name, "app-%d", i / 20);
    events_emit(e, &(events_object){"v1", "ConfigMap", "default", name, NULL}, "Normal", "Synced", "synced %d", i);
  }
  assert_between(now() - start, 0, 1.0);
  /* The writer waits on the server inside the fork gate, stepped out of
   * it: a compile's fork does not wait for the request's 5 s timeout. */
  usleep(300 * 1000);
  start = now();
  pid_t child = forkgate_fork();
  if (child == 0) _exit(0);
  assert_true(child > 0);
  assert_between(now() - start, 0, 1.0);
  waitpid(child, NULL, 0);
  start = now();
  events_free(e); /* the drain gives up; the request under way times out */
  assert_between(now() - start, 0, 10.0);
  char *text = metrics_text(m);
  assert_contains(text, "dropped{reason=\"queue\"}");
  free(text);
  metrics_free(m);
  kube_config_free(cfg);
  unlink(path);
  close(s);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CLUSTER_DIR\n", argv[0]);
    return 2;
  }
  if (cluster_open(argv[1], "kube_events") != 0) return 1;
  const struct CMUnitTest tests[] = {
      NS(an_event_is_written_on_its_object, "ke-write"),
      NS(the_same_event_again_raises_its_count, "ke-count"),
      NS(an_objects_budget_is_25_events, "ke-budget"),
      cmocka_unit_test(a_server_that_does_not_answer_never_makes_emit_wait),
  };
  int failed = cmocka_run_group_tests_name("kube_events", tests, NULL, NULL);
  cluster_close();
  return failed;
}
