/* test_cache.c: the live cache (include/plumb/cache.h) on a real control
 * plane: what it holds, how fast it sees changes made by others, what it
 * costs in memory, and how it rides out an API server restart.
 *
 * Usage: kube_cache CLUSTER_DIR (tests/kube/cluster.h). The last test
 * restarts the cluster's kube-apiserver (same flags, same port). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "plumb/apply.h"
#include "plumb/cache.h"

#define APP_LABEL "plumb.dev/application"

static json_t *labelled(const char *ns, const char *name, const char *app, const char *value) {
  return jsonf("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'%s','namespace':'%s',"
               "'labels':{'" APP_LABEL "':'%s'}},'data':{'v':'%s'}}",
               name, ns, app, value);
}

/* A cache watching the test's ConfigMaps, synced. */
static cache *synced_cache(const fixture *f) {
  cache *c = cache_new(admin_cfg);
  char *err = NULL;
  if (cache_watch(c, "v1", "ConfigMap", f->ns, &err) != KUBE_OK) fail_msg("cache_watch: %s", err);
  for (double end = now() + 20; !cache_synced(c, "v1", "ConfigMap", f->ns) && now() < end;) cache_wait(c, 0, 0.1);
  if (!cache_synced(c, "v1", "ConfigMap", f->ns)) fail_msg("not synced after 20 s");
  return c;
}

/* Seconds until app's version moves past since; fails after 10 s. */
static double until_app_changes(cache *c, const char *app, uint64_t since) {
  double t0 = now();
  uint64_t v = 0;
  while (cache_app_version(c, app) == since && now() < t0 + 10) v = cache_wait(c, v, 0.05);
  if (cache_app_version(c, app) == since) fail_msg("application %s: no change seen in 10 s", app);
  return now() - t0;
}

/* The data.v of ns/name as the cache has it; NULL when absent. */
static char *cached_value(cache *c, const char *ns, const char *name) {
  json_t *obj;
  assert_true(cache_get(c, "v1", "ConfigMap", ns, name, &obj));
  const char *v = obj ? str(obj, "data.v") : NULL;
  char *copy = v ? strdup(v) : NULL;
  json_decref(obj);
  return copy;
}

/* Labelled ConfigMaps NAME-0 ... NAME-(n-1) of application app, applied
 * together. */
static void apply_many(const fixture *f, const char *name, const char *app, int n) {
  kube_apply_item *items = calloc((size_t)n, sizeof *items);
  assert_non_null(items);
  for (int i = 0; i < n; i++) {
    char each[64];
    snprintf(each, sizeof each, "%s-%04d", name, i);
    items[i].obj = labelled(f->ns, each, app, "some configuration value of a typical length");
  }
  size_t failed = kube_apply_many(f->c, items, (size_t)n, NULL, NULL, NULL);
  for (int i = 0; i < n; i++) {
    json_decref(items[i].obj);
    json_decref(items[i].out);
    free(items[i].error);
  }
  free(items);
  assert_int_equal(failed, 0);
}

/* A number of /proc/self/status: "Threads", "VmRSS" (kB); -1 when absent. */
static long proc_status(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  size_t len = strlen(field);
  long n = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, field, len) == 0 && line[len] == ':' && sscanf(line + len + 1, "%ld", &n) == 1) break;
  if (f) fclose(f);
  return n;
}

/* ---- what it holds --------------------------------------------------------------- */

static void a_synced_cache_holds_the_labelled_objects(void **state) {
  fixture *f = *state;
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "web-1", "web", "1"), NULL, NULL));
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "web-2", "web", "2"), NULL, NULL));
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "db-1", "db", "1"), NULL, NULL));
  assert_kube_ok(f->c, apply(f->c, configmap(f->ns, "by-hand", "v", "1"), NULL, NULL));
  cache *c = synced_cache(f);
  assert_int_equal(cache_count(c, "v1", "ConfigMap", f->ns), 3);
  char *v = cached_value(c, f->ns, "web-2");
  assert_string_equal(v, "2");
  free(v);
  assert_null(cached_value(c, f->ns, "by-hand")); /* no label: not Plumb's */
  assert_null(cached_value(c, f->ns, "nowhere"));
  json_t *web;
  assert_true(cache_list_app(c, "v1", "ConfigMap", "web", &web));
  assert_int_equal(json_array_size(web), 2);
  assert_string_equal(str(json_array_get(web, 0), "kind"), "ConfigMap");
  json_decref(web);
  assert_null(cache_error(c, "v1", "ConfigMap", f->ns));
  /* What it does not watch it cannot answer. */
  json_t *obj = json_true();
  assert_false(cache_get(c, "v1", "Secret", f->ns, "web-1", &obj));
  assert_null(obj);
  assert_false(cache_list_app(c, "v1", "Secret", "web", &web));
  json_decref(web);
  assert_false(cache_synced(c, "v1", "ConfigMap", "default"));
  cache_free(c);
}

/* The unchanged check reads the managedFields of server-side applies (an
 * application's field manager, plumb or another) and the fields they own
 * from the cached object; the rest (a controller's or a hand's updates)
 * is not kept, and the check answers as it would on the whole object. */
static void cached_objects_keep_what_the_unchanged_check_reads(void **state) {
  fixture *f = *state;
  json_t *want = labelled(f->ns, "shared", "web", "1");
  assert_kube_ok(f->c, kube_apply(f->c, want, NULL, NULL));
  kube_apply_opts team = {.field_manager = "team-shop"};
  assert_kube_ok(f->c, apply(f->c, jsonf("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'shared',"
                                         "'namespace':'%s'},'data':{'team':'t'}}",
                                         f->ns),
                             &team, NULL));
  /* kubectl edit: an update, not an apply. */
  char path[160];
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/shared?fieldManager=kubectl-edit", f->ns);
  const char *patch = "{\"data\":{\"other\":\"x\"}}";
  json_t *edited = NULL;
  assert_kube_ok(f->c, kube_request(f->c, "PATCH", path, "application/merge-patch+json", patch, strlen(patch), &edited));
  json_decref(edited);
  cache *c = synced_cache(f);
  json_t *obj;
  assert_true(cache_get(c, "v1", "ConfigMap", f->ns, "shared", &obj));
  assert_non_null(obj);
  json_t *mf = at(obj, "metadata.managedFields");
  assert_int_equal(json_array_size(mf), 2); /* plumb's and team-shop's, not kubectl-edit's */
  for (size_t i = 0; i < 2; i++) assert_string_equal(str(json_array_get(mf, i), "operation"), "Apply");
  assert_string_equal(str(obj, "data.v"), "1");
  assert_string_equal(str(obj, "data.team"), "t");
  assert_null(at(obj, "data.other"));
  assert_null(at(obj, "metadata.uid"));
  assert_non_null(at(obj, "metadata.resourceVersion"));
  assert_true(kube_apply_unchanged(want, obj, NULL));
  json_t *changed = labelled(f->ns, "shared", "web", "2");
  assert_false(kube_apply_unchanged(changed, obj, NULL));
  json_decref(changed);
  json_decref(obj);
  json_decref(want);
  cache_free(c);
}

/* ---- how fast it sees changes ------------------------------------------------------ */

static void a_change_by_hand_is_seen_within_a_second(void **state) {
  fixture *f = *state;
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "web-1", "web", "1"), NULL, NULL));
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "db-1", "db", "1"), NULL, NULL));
  cache *c = synced_cache(f);
  uint64_t web = cache_app_version(c, "web"), db = cache_app_version(c, "db");
  assert_true(web > 0 && db > 0);
  kube_apply_opts by_hand = {.field_manager = "kubectl-edit", .force = true};
  kube_client *other = client(admin_cfg, NULL);
  assert_kube_ok(other, apply(other, labelled(f->ns, "web-1", "web", "edited"), &by_hand, NULL));
  double took = until_app_changes(c, "web", web);
  assert_between(took, 0, 1.0);
  /* Plumb's apply would change it back: data.v is no longer Plumb's. */
  json_t *obj, *want = labelled(f->ns, "web-1", "web", "1");
  assert_true(cache_get(c, "v1", "ConfigMap", f->ns, "web-1", &obj));
  assert_non_null(obj);
  assert_false(kube_apply_unchanged(want, obj, NULL));
  json_decref(obj);
  json_decref(want);
  assert_int_equal(cache_app_version(c, "db"), db); /* the other application heard nothing */
  kube_client_free(other);
  cache_free(c);
}

static void a_delete_is_seen_within_a_second(void **state) {
  fixture *f = *state;
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "doomed", "web", "1"), NULL, NULL));
  cache *c = synced_cache(f);
  uint64_t web = cache_app_version(c, "web");
  assert_kube_ok(f->c, kube_delete(f->c, "v1", "ConfigMap", f->ns, "doomed", NULL));
  assert_between(until_app_changes(c, "web", web), 0, 1.0);
  assert_null(cached_value(c, f->ns, "doomed"));
  assert_int_equal(cache_count(c, "v1", "ConfigMap", f->ns), 0);
  cache_free(c);
}

/* A label changed by hand: the object leaves one application for another,
 * and both hear of it; without the label it leaves the cache. */
static void a_label_moved_by_hand_tells_both_applications(void **state) {
  fixture *f = *state;
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "moved", "web", "1"), NULL, NULL));
  cache *c = synced_cache(f);
  uint64_t web = cache_app_version(c, "web"), db = cache_app_version(c, "db");
  assert_int_equal(db, 0);
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "moved", "db", "1"), NULL, NULL));
  until_app_changes(c, "db", db);
  assert_true(cache_app_version(c, "web") > web);
  json_t *list;
  assert_true(cache_list_app(c, "v1", "ConfigMap", "web", &list));
  assert_int_equal(json_array_size(list), 0);
  json_decref(list);
  db = cache_app_version(c, "db");
  assert_kube_ok(f->c, apply(f->c, configmap(f->ns, "moved", "v", "1"), NULL, NULL)); /* plumb drops its label */
  until_app_changes(c, "db", db);
  assert_null(cached_value(c, f->ns, "moved"));
  cache_free(c);
}

static void cache_wait_sleeps_while_nothing_changes(void **state) {
  fixture *f = *state;
  cache *c = synced_cache(f);
  uint64_t v = cache_wait(c, 0, 0);
  double t0 = now();
  assert_int_equal(cache_wait(c, v, 0.3), v);
  assert_between(now() - t0, 0.29, 1);
  kube_client *other = client(admin_cfg, NULL);
  assert_kube_ok(other, apply(other, labelled(f->ns, "wake", "web", "1"), NULL, NULL));
  t0 = now();
  assert_true(cache_wait(c, v, 5) > v);
  assert_between(now() - t0, 0, 1.0);
  kube_client_free(other);
  cache_free(c);
}

/* A loop waits on one cache; a change in another cluster's wakes it as
 * soon (cache_tell). */
static void a_change_of_a_cache_wakes_the_one_it_tells(void **state) {
  fixture *f = *state;
  cache *c = synced_cache(f), *loop = cache_new(admin_cfg);
  cache_tell(c, loop);
  uint64_t v = cache_wait(loop, 0, 0);
  assert_int_equal(cache_wait(loop, v, 0.3), v);
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "told", "web", "1"), NULL, NULL));
  double t0 = now();
  assert_true(cache_wait(loop, v, 5) > v);
  assert_between(now() - t0, 0, 1.0);
  cache_free(c);
  cache_free(loop);
}

static void a_kind_the_server_does_not_serve_is_not_synced_and_says_why(void **state) {
  fixture *f = *state;
  cache *c = cache_new(admin_cfg);
  char *err = NULL, *why = NULL;
  assert_int_equal(cache_watch(c, "nothing.plumb.test/v1", "Nothing", f->ns, &err), KUBE_OK);
  for (double end = now() + 10; !why && now() < end; sleep_ms(50)) why = cache_error(c, "nothing.plumb.test/v1", "Nothing", f->ns);
  assert_contains(why, "Nothing");
  assert_false(cache_synced(c, "nothing.plumb.test/v1", "Nothing", f->ns));
  free(why);
  double t0 = now();
  cache_free(c);
  assert_between(now() - t0, 0, 1.5); /* backing off, it still stops at once */
}

/* The process's established TCP connections to the API server: its
 * sockets (/proc/self/fd) that /proc/net/tcp shows connected to that port. */
static int api_connections(void) {
  unsigned port = (unsigned)atoi(env("PLUMB_TEST_API_PORT")), rport, state;
  unsigned long inode;
  char line[512], link[64], path[300];
  int n = 0;
  FILE *tcp = fopen("/proc/self/net/tcp", "r");
  assert_non_null(tcp);
  while (fgets(line, sizeof line, tcp)) {
    if (sscanf(line, " %*d: %*x:%*x %*x:%x %x %*s %*s %*s %*s %*s %lu", &rport, &state, &inode) != 3) continue;
    if (rport != port || state != 1 /* ESTABLISHED */) continue;
    snprintf(link, sizeof link, "socket:[%lu]", inode);
    for (int fd = 0; fd < 1024; fd++) {
      char target[64];
      snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
      ssize_t len = readlink(path, target, sizeof target - 1);
      if (len < 0) continue;
      target[len] = '\0';
      if (strcmp(target, link) == 0) n++;
    }
  }
  fclose(tcp);
  return n;
}

/* Every watch runs in one thread of the cache's, their streams on one
 * connection, however many kinds. */
static void one_thread_and_one_connection_run_every_watch(void **state) {
  fixture *f = *state;
  long before = proc_status("Threads");
  int conns = api_connections();
  cache *c = synced_cache(f);
  static const char *const kinds[] = {"Secret", "ServiceAccount", "Service"};
  char *err = NULL;
  for (size_t i = 0; i < 3; i++) assert_int_equal(cache_watch(c, "v1", kinds[i], f->ns, &err), KUBE_OK);
  for (size_t i = 0; i < 3; i++)
    for (double end = now() + 20; !cache_synced(c, "v1", kinds[i], f->ns) && now() < end;) sleep_ms(20);
  for (size_t i = 0; i < 3; i++) assert_true(cache_synced(c, "v1", kinds[i], f->ns));
  assert_int_equal(proc_status("Threads"), before + 1);
  assert_int_equal(api_connections(), conns + 1);
  cache_free(c);
  assert_int_equal(proc_status("Threads"), before);
}

static void stopping_ends_every_watch_within_a_second_or_so(void **state) {
  fixture *f = *state;
  cache *c = synced_cache(f);
  char *err = NULL;
  assert_int_equal(cache_watch(c, "v1", "Secret", f->ns, &err), KUBE_OK);
  assert_int_equal(cache_watch(c, "v1", "Secret", f->ns, &err), KUBE_OK); /* the same watch */
  for (double end = now() + 20; !cache_synced(c, "v1", "Secret", f->ns) && now() < end;) sleep_ms(20);
  assert_true(cache_synced(c, "v1", "Secret", f->ns));
  sleep_ms(300); /* both streams open and idle */
  double t0 = now();
  cache_free(c);
  assert_between(now() - t0, 0, 2.5);
}

/* ---- memory ------------------------------------------------------------------------------ */

/* What the process holds, in kB. In a release build its resident memory,
 * once malloc has given back what it can, so that holes left by parsing
 * count. Under AddressSanitizer resident memory counts the quarantine of
 * what was freed lately (up to 256 MB): there, the bytes allocated. */
#ifdef __SANITIZE_ADDRESS__
size_t __sanitizer_get_current_allocated_bytes(void);
static long memory_kb(void) { return (long)(__sanitizer_get_current_allocated_bytes() >> 10); }
#else
static long memory_kb(void) {
  malloc_trim(0);
  return proc_status("VmRSS");
}
#endif

/* The scale, 100 applications of 30 objects each: the whole
 * runtime is to stay under 30 MB, the cache's share a few of them
 * (measured: 2.5 MB in a release build). */
static void three_thousand_objects_take_a_few_megabytes(void **state) {
  fixture *f = *state;
  enum { APPS = 100, EACH = 30, N = APPS * EACH };
  for (int a = 0; a < APPS; a++) {
    char app[16];
    snprintf(app, sizeof app, "app-%02d", a);
    apply_many(f, app, app, EACH);
  }

  long before = memory_kb();
  double t0 = now();
  cache *c = synced_cache(f);
  double took = now() - t0;
  long after = memory_kb();
  assert_int_equal(cache_count(c, "v1", "ConfigMap", f->ns), N);
  json_t *one;
  assert_true(cache_list_app(c, "v1", "ConfigMap", "app-42", &one));
  assert_int_equal(json_array_size(one), EACH);
  json_decref(one);
  print_message("cache: %d objects synced in %.1f s; memory %ld kB before, %ld kB after (+%ld kB)\n", N, took, before,
                after, after - before);
  assert_true(after - before < 6 * 1024);
  cache_free(c);
}

/* ---- an API server restart ------------------------------------------------------------------ */

static size_t into_answer(char *data, size_t size, size_t n, void *ctx) {
  size_t len = strlen(ctx), room = 1023 - len, k = size * n < room ? size * n : room;
  memcpy((char *)ctx + len, data, k);
  ((char *)ctx)[len + k] = '\0';
  return size * n;
}

/* Deletes ns/name straight from etcd (its JSON gateway): no API server is
 * told, so no watch event will ever say so. */
static void delete_behind_the_servers_back(const char *ns, const char *name) {
  char key[256], key64[512], url[128], body[600], answer[1024] = "";
  int n = snprintf(key, sizeof key, "/registry/configmaps/%s/%s", ns, name);
  EVP_EncodeBlock((unsigned char *)key64, (const unsigned char *)key, n);
  snprintf(body, sizeof body, "{\"key\":\"%s\"}", key64);
  snprintf(url, sizeof url, "http://127.0.0.1:%s/v3/kv/deleterange", env("PLUMB_TEST_ETCD_PORT"));
  CURL *h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, into_answer);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)answer);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_cleanup(h);
  assert_int_equal(rc, CURLE_OK);
  assert_contains(answer, "\"deleted\":\"1\"");
}

/* The kube-apiserver's command line, from /proc: to start it again. */
typedef struct {
  char text[65536];
  char *argv[256];
} command;

static char *cluster_file(const char *name) {
  char *path;
  if (asprintf(&path, "%s/%s", env("PLUMB_TEST_DIR"), name) < 0) abort();
  return path;
}

static pid_t apiserver_pid(void) {
  char *path = cluster_file("kube-apiserver.pid");
  FILE *f = fopen(path, "r");
  long pid = -1;
  if (f && fscanf(f, "%ld", &pid) != 1) pid = -1;
  if (f) fclose(f);
  free(path);
  if (pid <= 0) fail_msg("no kube-apiserver.pid in the cluster's directory");
  return (pid_t)pid;
}

static void read_command(pid_t pid, command *cmd) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t len = fread(cmd->text, 1, sizeof cmd->text - 1, f), argc = 0;
  fclose(f);
  cmd->text[len] = '\0';
  for (size_t i = 0; i < len && argc < 255; i += strlen(cmd->text + i) + 1) cmd->argv[argc++] = cmd->text + i;
  cmd->argv[argc] = NULL;
  assert_true(argc > 1 && cmd->argv[0][0] == '/');
}

/* Gone, or a zombie its parent has yet to reap. */
static bool exited(pid_t pid) {
  char path[64], state = 'Z';
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return true;
  if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1) state = 'Z';
  fclose(f);
  return state == 'Z';
}

static void stop_apiserver(pid_t pid) {
  kill(pid, SIGTERM);
  for (double end = now() + 15; !exited(pid) && now() < end;) sleep_ms(50);
  if (!exited(pid)) kill(pid, SIGKILL);
  while (!exited(pid)) sleep_ms(50);
}

/* As up.sh starts it; down.sh finds it by the pid file. */
static void start_apiserver(command *cmd) {
  char *log = cluster_file("kube-apiserver.log"), *pidfile = cluster_file("kube-apiserver.pid");
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setsid();
    int in = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
    dup2(in, 0), dup2(out, 1), dup2(out, 2);
    execv(cmd->argv[0], cmd->argv);
    _exit(127);
  }
  FILE *f = fopen(pidfile, "w");
  assert_non_null(f);
  fprintf(f, "%d\n", (int)pid);
  fclose(f);
  free(log);
  free(pidfile);
  bool ready = false;
  for (double end = now() + 60; !ready && now() < end; sleep_ms(200)) {
    kube_client *k = client(admin_cfg, &(kube_client_opts){.max_retries = -1, .timeout_ms = 2000});
    json_t *ns;
    ready = kube_get(k, "v1", "Namespace", NULL, "default", &ns) == KUBE_OK;
    json_decref(ns);
    kube_client_free(k);
  }
  if (!ready) fail_msg("kube-apiserver not ready 60 s after its restart");
}

static bool wait_synced(cache *c, const char *ns, bool want, double seconds) {
  for (double end = now() + seconds; cache_synced(c, "v1", "ConfigMap", ns) != want && now() < end;) sleep_ms(20);
  return cache_synced(c, "v1", "ConfigMap", ns) == want;
}

/* While the API server is down the view may be behind: not synced. Once it
 * is back the cache lists again, and what was deleted meanwhile, which no
 * watch event will ever tell, is gone. */
static void an_api_server_restart_is_ridden_out(void **state) {
  fixture *f = *state;
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "kept", "web", "1"), NULL, NULL));
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "lost", "web", "1"), NULL, NULL));
  apply_many(f, "more", "other", 250); /* the relist takes several pages */
  cache *c = synced_cache(f);
  command cmd;
  pid_t pid = apiserver_pid();
  read_command(pid, &cmd);
  stop_apiserver(pid);
  if (!wait_synced(c, f->ns, false, 30)) fail_msg("still synced 30 s after the API server stopped");
  char *why = cache_error(c, "v1", "ConfigMap", f->ns);
  assert_non_null(why);
  free(why);
  delete_behind_the_servers_back(f->ns, "lost");
  start_apiserver(&cmd);
  double t0 = now();
  if (!wait_synced(c, f->ns, true, 30)) fail_msg("not synced 30 s after the API server came back");
  print_message("cache: synced again %.1f s after the API server was ready\n", now() - t0);
  assert_null(cached_value(c, f->ns, "lost"));
  assert_int_equal(cache_count(c, "v1", "ConfigMap", f->ns), 251);
  char *v = cached_value(c, f->ns, "kept");
  assert_string_equal(v, "1");
  free(v);
  /* Watching again, not only listed. */
  uint64_t web = cache_app_version(c, "web");
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "kept", "web", "2"), NULL, NULL));
  assert_between(until_app_changes(c, "web", web), 0, 1.0);
  cache_free(c);
}

/* Sharded, only the applications held are kept, and only their changes
 * told; others taken are listed again though nothing of them changed, and
 * the view is not synced until then. */
static void only_the_applications_kept_are_and_a_relist_brings_the_others(void **state) {
  fixture *f = *state;
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "web-1", "web", "1"), NULL, NULL));
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "db-1", "db", "1"), NULL, NULL));
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "db-2", "db", "2"), NULL, NULL));
  cache *c = synced_cache(f);
  assert_int_equal(cache_size(c), 3);
  cache_keep(c, jsonf("{'web':true}"));
  assert_int_equal(cache_size(c), 1);
  assert_true(cache_synced(c, "v1", "ConfigMap", f->ns)); /* nothing came back: no list */
  /* An application never seen has nothing to bring back: no list. */
  cache_keep(c, jsonf("{'web':true, 'fresh':true}"));
  assert_true(cache_synced(c, "v1", "ConfigMap", f->ns));
  assert_null(cached_value(c, f->ns, "db-1"));
  uint64_t db = cache_app_version(c, "db"), web = cache_app_version(c, "web");
  /* A change of an application not kept is not kept, nor told. */
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "db-3", "db", "3"), NULL, NULL));
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "web-2", "web", "2"), NULL, NULL));
  until_app_changes(c, "web", web);
  assert_int_equal(cache_app_version(c, "db"), db);
  assert_int_equal(cache_size(c), 2);
  /* Taken back: listed again, all three of db's, the one never kept too. */
  cache_keep(c, jsonf("{'web':true, 'db':true}"));
  assert_false(cache_synced(c, "v1", "ConfigMap", f->ns));
  for (double end = now() + 20; !cache_synced(c, "v1", "ConfigMap", f->ns) && now() < end;) cache_wait(c, 0, 0.1);
  assert_true(cache_synced(c, "v1", "ConfigMap", f->ns));
  assert_int_equal(cache_size(c), 5);
  char *v = cached_value(c, f->ns, "db-1");
  assert_string_equal(v, "1");
  free(v);
  assert_true(cache_app_version(c, "db") > db);
  cache_free(c);
}

/* ---- prune's candidates from a view ------------------------------------------- */

/* A view that says what it was given for ConfigMaps, none of any other
 * kind; or cannot say, when it was given NULL. */
static bool listed(void *ctx, const char *api, const char *kind, json_t **items) {
  json_t *said = ctx;
  if (!said) return false;
  *items = strcmp(kind, "ConfigMap") == 0 ? json_deep_copy(said) : json_array();
  return true;
}

static bool on_server(const fixture *f, const char *name) {
  json_t *obj = NULL;
  int rc = kube_get(f->c, "v1", "ConfigMap", f->ns, name, &obj);
  bool there = rc == KUBE_OK && !json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp");
  json_decref(obj);
  return there;
}

/* Prune deletes what a view lists only as the server shows it: a view a
 * moment behind names an object relabelled since, and one gone. A view
 * that cannot say sends prune to the server's list. */
static void prune_finds_candidates_in_a_view_and_deletes_as_the_server_says(void **state) {
  fixture *f = *state;
  const char *app = f->ns; /* prune looks through the whole cluster: an application of this test's own */
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "old", app, "1"), NULL, NULL));
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "relabelled", "another", "1"), NULL, NULL));
  assert_kube_ok(f->c, apply(f->c, labelled(f->ns, "unseen", app, "1"), NULL, NULL));
  json_t *view = json_pack("[o,o,o]", labelled(f->ns, "old", app, "1"), labelled(f->ns, "relabelled", app, "1"),
                           labelled(f->ns, "gone", app, "1"));
  compile_result nothing = {.env = "test"};
  apply_result res = {0};
  apply_lister l = {listed, view};
  apply_opts o = {.owner = app, .result = &res, .view = &l};
  assert_int_equal(apply_prune(f->c, &nothing, &o), 0);
  assert_false(on_server(f, "old"));
  assert_true(on_server(f, "relabelled"));
  assert_true(on_server(f, "unseen")); /* not in the view: left for its next look */
  assert_int_equal(res.n, 1);
  assert_string_equal(res.items[0].verb, "pruned");
  apply_result_free(&res);
  /* A view that cannot say: the server's list, which has it. */
  l.ctx = NULL;
  res = (apply_result){0};
  assert_int_equal(apply_prune(f->c, &nothing, &o), 0);
  assert_false(on_server(f, "unseen"));
  assert_true(on_server(f, "relabelled"));
  assert_int_equal(res.n, 1);
  apply_result_free(&res);
  json_decref(view);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CLUSTER_DIR\n", argv[0]);
    return 2;
  }
  if (cluster_open(argv[1], "kube_cache") != 0) return 1;
  const struct CMUnitTest tests[] = {
      NS(a_synced_cache_holds_the_labelled_objects, "kx-holds"),
      NS(cached_objects_keep_what_the_unchanged_check_reads, "kx-fields"),
      NS(a_change_by_hand_is_seen_within_a_second, "kx-change"),
      NS(a_delete_is_seen_within_a_second, "kx-delete"),
      NS(a_label_moved_by_hand_tells_both_applications, "kx-label"),
      NS(only_the_applications_kept_are_and_a_relist_brings_the_others, "kx-keep"),
      NS(prune_finds_candidates_in_a_view_and_deletes_as_the_server_says, "kx-prune"),
      NS(cache_wait_sleeps_while_nothing_changes, "kx-wait"),
      NS(a_change_of_a_cache_wakes_the_one_it_tells, "kx-tell"),
      NS(a_kind_the_server_does_not_serve_is_not_synced_and_says_why, "kx-unserved"),
      NS(one_thread_and_one_connection_run_every_watch, "kx-thread"),
      NS(stopping_ends_every_watch_within_a_second_or_so, "kx-stop"),
      NS(three_thousand_objects_take_a_few_megabytes, "kx-memory"),
      NS(an_api_server_restart_is_ridden_out, "kx-restart"),
  };
  int failed = cmocka_run_group_tests_name("kube_cache", tests, NULL, NULL);
  cluster_close();
  return failed;
}
