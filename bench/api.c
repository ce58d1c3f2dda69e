/* api.c: plumb run's HTTP API under load (bench/README.md, "The API").
 *
 *   make build/bench/api && build/bench/api [APPS] [SECONDS] [CLIENTS]
 *
 * Publishes APPS applications (default 1000, each with 30 resources and
 * 10 history entries, the shape a pass publishes) into a status store,
 * serves them with plumb run's own server (run_api_serve) on 127.0.0.1,
 * and has CLIENTS threads (default 8) GET /api/v1/apps, the list `plumb
 * status` and the UI read, over kept-alive connections for SECONDS
 * (default 10). Prints requests per second and the 50th and 99th
 * percentile latency; then the same again while 2,000 idle connections
 * from another address hold half a request each. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "plumb/arena.h"
#include "plumb/run.h"

#define TOKEN "bench-token"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One application's status document, as run_publish writes it. */
static char *app_doc(int i) {
  buf b = {0};
  buf_printf(&b,
             "{\"name\":\"app-%05d\",\"project\":\"default\",\"repo\":\"https://git.example.com/deploy.git\","
             "\"revision\":\"main\",\"path\":\"apps/app-%05d\",\"commit\":\"%040d\",\"sync\":\"Synced\","
             "\"health\":\"Healthy\",\"message\":\"\",\"lastSync\":\"2026-12-07T03:00:00Z\",\"autoSync\":true,"
             "\"applied\":\"%040d\",\"diff\":\"\",\"cluster\":\"in-cluster\",\"namespace\":\"team-%d\",\"resources\":[",
             i, i, i, i, i % 20);
  for (int r = 0; r < 30; r++)
    buf_printf(&b, "%s{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web-%d\",\"namespace\":\"team-%d\","
                   "\"sync\":\"Synced\",\"health\":\"Healthy\",\"message\":\"\"}",
               r ? "," : "", r, i % 20);
  buf_puts(&b, "],\"history\":[");
  for (int h = 0; h < 10; h++)
    buf_printf(&b, "%s{\"id\":%d,\"revision\":\"%040d\",\"time\":\"2026-12-07T03:00:00Z\",\"result\":\"Synced\","
                   "\"objects\":[]}",
               h ? "," : "", h + 1, h);
  buf_puts(&b, "]}");
  return b.data;
}

/* Its summary, as run_publish makes it. */
static json_t *app_summary(int i) {
  char name[32], commit[41], ns[16];
  snprintf(name, sizeof name, "app-%05d", i);
  snprintf(commit, sizeof commit, "%040d", i);
  snprintf(ns, sizeof ns, "team-%d", i % 20);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "name", name, "project", "default",
                   "cluster", "in-cluster", "revision", "main", "commit", commit, "sync", "Synced", "health",
                   "Healthy", "message", "", "lastSync", "2026-12-07T03:00:00Z", "autoSync", 1);
}

typedef struct {
  unsigned port;
  double until;
  double *lat; /* seconds, one per request */
  size_t n, cap;
  long failures;
} client;

static size_t discard(char *data, size_t size, size_t n, void *ctx) { return size * n; }

static void *run_client(void *arg) {
  client *c = arg;
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/apps", c->port);
  CURL *h = curl_easy_init();
  struct curl_slist *auth = curl_slist_append(NULL, "Authorization: Bearer " TOKEN);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, auth);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  while (now() < c->until) {
    double t0 = now();
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
      c->failures++;
      continue;
    }
    if (c->n == c->cap) c->lat = heap_realloc(c->lat, (c->cap = c->cap ? 2 * c->cap : 1024) * sizeof *c->lat);
    c->lat[c->n++] = now() - t0;
  }
  curl_slist_free_all(auth);
  curl_easy_cleanup(h);
  return NULL;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* CLIENTS threads for seconds: a line of the table. */
static void measure(const char *what, unsigned port, int clients, double seconds) {
  client *cs = heap_calloc((size_t)clients, sizeof *cs);
  pthread_t *ts = heap_calloc((size_t)clients, sizeof *ts);
  double start = now();
  for (int i = 0; i < clients; i++) {
    cs[i] = (client){.port = port, .until = start + seconds};
    pthread_create(&ts[i], NULL, run_client, &cs[i]);
  }
  size_t n = 0;
  long failures = 0;
  for (int i = 0; i < clients; i++) {
    pthread_join(ts[i], NULL);
    n += cs[i].n;
    failures += cs[i].failures;
  }
  double took = now() - start, *all = heap_calloc(n + 1, sizeof *all);
  for (int i = 0, k = 0; i < clients; i++) {
    memcpy(all + k, cs[i].lat, cs[i].n * sizeof *all);
    k += (int)cs[i].n;
    free(cs[i].lat);
  }
  qsort(all, n, sizeof *all, by_value);
  printf("| %-40s | %7zu | %8.0f | %7.1f | %7.1f | %8ld |\n", what, n, (double)n / took,
         n ? all[n / 2] * 1e3 : 0, n ? all[n * 99 / 100] * 1e3 : 0, failures);
  free(all);
  free(cs);
  free(ts);
}

/* idle connections from 127.0.0.2, each with half a request: their fds. */
static int *hold_idle(unsigned port, size_t n) {
  int *fds = heap_calloc(n, sizeof *fds);
  static const char half[] = "GET /api/v1/apps HTTP/1.1\r\nHost: plumb\r\n";
  for (size_t i = 0; i < n; i++) {
    struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.2", &from.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&from, sizeof from) != 0 ||
        connect(fds[i], (struct sockaddr *)&to, sizeof to) != 0 || write(fds[i], half, sizeof half - 1) < 0) {
      perror("idle connection");
      exit(1);
    }
  }
  return fds;
}

int main(int argc, char **argv) {
  int apps = argc > 1 ? atoi(argv[1]) : 1000, clients = argc > 3 ? atoi(argv[3]) : 8;
  double seconds = argc > 2 ? atof(argv[2]) : 10;
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  status_store *store = status_new();
  json_t *docs = json_object(), *list = json_array();
  size_t bytes = 0;
  for (int i = 0; i < apps; i++) {
    char *doc = app_doc(i), name[32];
    snprintf(name, sizeof name, "app-%05d", i);
    bytes += strlen(doc);
    json_object_set_new(docs, name, json_string(doc));
    json_array_append_new(list, app_summary(i));
    free(doc);
  }
  status_publish(store, docs, list);
  run_opts o = {.address = "127.0.0.1", .token = TOKEN};
  run_api api = {.store = store, .o = &o};
  serve *srv;
  char *err;
  if (run_api_serve(&api, &srv, &err) != 0) {
    fprintf(stderr, "api: %s\n", err);
    return 1;
  }
  printf("%d applications (%.1f MiB of status documents), %d clients, %.0f s each\n\n", apps,
         (double)bytes / (1 << 20), clients, seconds);
  printf("| %-40s | %7s | %8s | %7s | %7s | %8s |\n", "GET /api/v1/apps", "answers", "per s", "p50 ms", "p99 ms",
         "failures");
  printf("|%s|--------:|---------:|--------:|--------:|---------:|\n", "------------------------------------------");
  measure("alone", serve_port(srv), clients, seconds);
  size_t idle = lim.rlim_cur > 4400 ? 2000 : (lim.rlim_cur - 400) / 2;
  int *fds = hold_idle(serve_port(srv), idle);
  char beside[64];
  snprintf(beside, sizeof beside, "beside %zu idle connections", idle);
  measure(beside, serve_port(srv), clients, seconds);
  for (size_t i = 0; i < idle; i++) close(fds[i]);
  free(fds);
  serve_stop(srv);
  status_free(store);
  curl_global_cleanup();
  return 0;
}
