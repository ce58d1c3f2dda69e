/* test_client.c: the Kubernetes client (include/plumb/kube.h) against a real
 * control plane (tests/cluster), and through a fault-injecting proxy for
 * what a healthy API server never does on cue.
 *
 * Usage: kube_client CLUSTER_DIR (tests/kube/cluster.h). Every test gets a
 * namespace of its own, named after it, and deletes it at the end;
 * cluster-scoped objects (CRDs) carry the process id in their names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"

static char tmp[64];           /* a temp dir for kubeconfigs and certificates */
static char admin_token[256];  /* the admin's bare token */
static kube_config *proxy_cfg; /* http://127.0.0.1:PROXYPORT with the admin token */

static bool has_name(json_t *items, const char *name) {
  size_t i;
  json_t *item;
  json_array_foreach(items, i, item) if (strcmp(str(item, "metadata.name"), name) == 0) return true;
  return false;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* A kubeconfig of one cluster and one user, written to tmp/FILE and loaded. */
static kube_config *config_file(const char *file, const char *server, const char *cluster_extra, const char *user) {
  char path[256], *text;
  snprintf(path, sizeof path, "%s/%s", tmp, file);
  if (asprintf(&text,
               "apiVersion: v1\nkind: Config\n"
               "clusters: [{name: c, cluster: {server: \"%s\"%s}}]\n"
               "users: [{name: u, user: {%s}}]\n"
               "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
               "current-context: x\n",
               server, cluster_extra, user) < 0)
    abort();
  write_file(path, text);
  free(text);
  kube_config *cfg = NULL;
  char *err = NULL;
  if (kube_config_load(&cfg, path, NULL, &err) != KUBE_OK) fail_msg("kube_config_load %s: %s", path, err ? err : "?");
  return cfg;
}

/* ---- CRDs ---------------------------------------------------------------------- */

static bool established(json_t *crd) {
  size_t i;
  json_t *cond;
  json_array_foreach(at(crd, "status.conditions"), i, cond) {
    if (strcmp(str(cond, "type"), "Established") == 0 && strcmp(str(cond, "status"), "True") == 0) return true;
  }
  return false;
}

/* A namespaced CRD GROUP/v1 KIND, plural = lower-case kind + "s"; returns
 * once it is Established (polled with c, through kube_get) and a client
 * that has never done discovery finds the kind. */
static void make_crd(kube_client *c, const char *group, const char *kind) {
  char plural[64], name[192];
  size_t n = strlen(kind);
  for (size_t i = 0; i < n && i < 60; i++) plural[i] = (char)(kind[i] | 0x20);
  strcpy(plural + (n < 60 ? n : 60), "s");
  snprintf(name, sizeof name, "%s.%s", plural, group);
  assert_kube_ok(c, apply(c,
                          jsonf("{'apiVersion':'apiextensions.k8s.io/v1','kind':'CustomResourceDefinition',"
                                "'metadata':{'name':'%s'},"
                                "'spec':{'group':'%s','scope':'Namespaced',"
                                "'names':{'kind':'%s','plural':'%s','singular':'%.*s'},"
                                "'versions':[{'name':'v1','served':true,'storage':true,'schema':{'openAPIV3Schema':"
                                "{'type':'object','x-kubernetes-preserve-unknown-fields':true}}}]}}",
                                name, group, kind, plural, (int)strlen(plural) - 1, plural),
                          NULL, NULL));
  bool ok = false;
  for (double end = now() + 30; !ok && now() < end; sleep_ms(200)) {
    json_t *crd;
    assert_kube_ok(c, kube_get(c, "apiextensions.k8s.io/v1", "CustomResourceDefinition", NULL, name, &crd));
    ok = established(crd);
    json_decref(crd);
  }
  if (!ok) fail_msg("CRD %s not Established after 30 s", name);
  char gv[160];
  snprintf(gv, sizeof gv, "%s/v1", group);
  ok = false;
  for (double end = now() + 30; !ok && now() < end; sleep_ms(200)) {
    kube_client *fresh = client(admin_cfg, NULL);
    const kube_resource *r;
    ok = kube_resource_find(fresh, gv, kind, &r) == KUBE_OK;
    kube_client_free(fresh);
  }
  if (!ok) fail_msg("%s %s not in discovery 30 s after its CRD was Established", gv, kind);
}

static void drop_crd(kube_client *c, const char *group, const char *plural) {
  char name[192];
  snprintf(name, sizeof name, "%s.%s", plural, group);
  int rc = kube_delete(c, "apiextensions.k8s.io/v1", "CustomResourceDefinition", NULL, name, NULL);
  if (rc != KUBE_OK) fprintf(stderr, "deleting CRD %s: %s\n", name, kube_last_error(c));
}

/* ---- a fault-injecting proxy ------------------------------------------------- */

/* Plain HTTP/1.1 towards the client, one connection at a time, each closed
 * after one answer. Each request takes the next step of the plan (PASS once
 * the plan is used up); PASS forwards to the real API server over TLS. */
typedef enum {
  PASS,
  TOO_MANY_429,    /* 429 with Retry-After: 1 */
  FAIL_500,        /* 500 with a body that is not JSON */
  UNAVAILABLE_503, /* 503 with an API Status */
  DROP,            /* close without answering */
  DELAY,           /* wait 2 s (less if the client hangs up), then PASS */
  GONE_410,        /* HTTP 410 with an API Status, as for an expired watch */
  WATCH_ERROR_410, /* 200 and one watch ERROR event with code 410 */
  WATCH_HALF_LINE, /* 200 and half an event, then the connection ends */
  WATCH_MODIFIED,  /* 200 and one whole MODIFIED event of ConfigMap "whole" */
} fault;

static const struct {
  const char *word;
  fault f;
} fault_words[] = {
    {"pass", PASS},   {"429", TOO_MANY_429}, {"500", FAIL_500},          {"503", UNAVAILABLE_503},
    {"drop", DROP},   {"delay", DELAY},      {"410", GONE_410},          {"watch410", WATCH_ERROR_410},
    {"half", WATCH_HALF_LINE},               {"modified", WATCH_MODIFIED},
};

static struct {
  int fd, port;
  pthread_t thread;
  atomic_int stop;
  pthread_mutex_t mu;
  fault plan[64];
  int nplan, next;
  char log[64][256]; /* "METHOD target" of each request served */
  int nlog;
} px = {.fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

/* A plan in words: "429 500 drop pass", "10*500". */
static void proxy_plan(const char *script) {
  pthread_mutex_lock(&px.mu);
  px.nplan = px.next = px.nlog = 0;
  char word[32];
  for (const char *p = script; sscanf(p, "%31s", word) == 1;) {
    p = strstr(p, word) + strlen(word);
    int times = 1;
    char *w = word, *star = strchr(word, '*');
    if (star) times = atoi(word), w = star + 1;
    size_t i = 0;
    while (i < sizeof fault_words / sizeof *fault_words && strcmp(fault_words[i].word, w) != 0) i++;
    if (i == sizeof fault_words / sizeof *fault_words) {
      pthread_mutex_unlock(&px.mu);
      fail_msg("unknown proxy step \"%s\"", w);
    }
    while (times-- > 0 && px.nplan < 64) px.plan[px.nplan++] = fault_words[i].f;
  }
  pthread_mutex_unlock(&px.mu);
}

static int proxy_served(void) {
  pthread_mutex_lock(&px.mu);
  int n = px.nlog;
  pthread_mutex_unlock(&px.mu);
  return n;
}

static const char *proxy_request(int i) { return i < px.nlog ? px.log[i] : ""; }

typedef struct {
  char method[16], target[2048];
  char auth[1024], ctype[256], accept[512]; /* whole header lines, or "" */
  char *body;
  size_t len;
} request;

typedef struct {
  char *data;
  size_t len, cap;
} bytes;

static void bytes_put(bytes *b, const void *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->data = realloc(b->data, b->cap);
    if (!b->data) abort();
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void header_line(const char *line, size_t n, const char *name, char *dst, size_t cap) {
  size_t k = strlen(name);
  if (n > k && strncasecmp(line, name, k) == 0 && line[k] == ':') snprintf(dst, cap, "%.*s", (int)n, line);
}

static bool read_request(int fd, request *r) {
  bytes b = {0};
  char chunk[16384];
  char *end;
  while (!b.data || !(end = memmem(b.data, b.len, "\r\n\r\n", 4))) {
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0 || b.len > (1 << 20)) {
      free(b.data);
      return false;
    }
    bytes_put(&b, chunk, (size_t)n);
  }
  size_t head = (size_t)(end - b.data) + 4, clen = 0;
  memset(r, 0, sizeof *r);
  if (sscanf(b.data, "%15s %2047s", r->method, r->target) != 2) {
    free(b.data);
    return false;
  }
  for (char *line = strstr(b.data, "\r\n") + 2; line < b.data + head - 2;) {
    char *eol = strstr(line, "\r\n");
    size_t n = (size_t)(eol - line);
    header_line(line, n, "Authorization", r->auth, sizeof r->auth);
    header_line(line, n, "Content-Type", r->ctype, sizeof r->ctype);
    header_line(line, n, "Accept", r->accept, sizeof r->accept);
    if (n > 15 && strncasecmp(line, "Content-Length:", 15) == 0) clen = strtoul(line + 15, NULL, 10);
    line = eol + 2;
  }
  while (b.len < head + clen) {
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      free(b.data);
      return false;
    }
    bytes_put(&b, chunk, (size_t)n);
  }
  r->len = clen;
  r->body = malloc(clen + 1);
  if (!r->body) abort();
  memcpy(r->body, b.data + head, clen);
  r->body[clen] = '\0';
  free(b.data);
  return true;
}

static void send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0) return;
    p += k, n -= (size_t)k;
  }
}

/* An answer with Content-Length (or without, with len (size_t)-1: the body
 * then ends where the connection does). */
static void respond(int fd, long code, const char *ctype, const char *extra, const char *body, size_t len) {
  char head[512];
  int n = len == (size_t)-1
              ? snprintf(head, sizeof head, "HTTP/1.1 %ld Injected\r\nContent-Type: %s\r\nConnection: close\r\n%s\r\n",
                         code, ctype, extra)
              : snprintf(head, sizeof head,
                         "HTTP/1.1 %ld Injected\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                         code, ctype, len, extra);
  send_all(fd, head, (size_t)n);
  send_all(fd, body, len == (size_t)-1 ? strlen(body) : len);
}

static void respond_status(int fd, long code, const char *reason, const char *message, const char *extra) {
  char body[512];
  int n = snprintf(body, sizeof body,
                   "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                   "\"message\":\"%s\",\"reason\":\"%s\",\"code\":%ld}",
                   message, reason, code);
  respond(fd, code, "application/json", extra, body, (size_t)n);
}

typedef struct {
  char ctype[256], retry_after[64];
} relayed;

static size_t on_fwd_body(char *data, size_t size, size_t n, void *ctx) {
  bytes_put(ctx, data, size * n);
  return size * n;
}

static size_t on_fwd_header(char *data, size_t size, size_t n, void *ctx) {
  relayed *h = ctx;
  size_t len = size * n, k = len;
  while (k > 0 && (data[k - 1] == '\r' || data[k - 1] == '\n')) k--;
  header_line(data, k, "Content-Type", h->ctype, sizeof h->ctype);
  header_line(data, k, "Retry-After", h->retry_after, sizeof h->retry_after);
  return len;
}

/* PASS: the request to the real API server over TLS, its answer back. */
static void forward(int fd, const request *r) {
  CURL *h = curl_easy_init();
  char url[2400], err[CURL_ERROR_SIZE] = "";
  snprintf(url, sizeof url, "%s%s", env("PLUMB_TEST_SERVER"), r->target);
  struct curl_slist *hd = curl_slist_append(NULL, "Expect:");
  if (r->auth[0]) hd = curl_slist_append(hd, r->auth);
  if (r->ctype[0]) hd = curl_slist_append(hd, r->ctype);
  if (r->accept[0]) hd = curl_slist_append(hd, r->accept);
  bytes body = {0};
  relayed got = {"", ""};
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CAINFO, env("PLUMB_TEST_CA"));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
  if (r->len) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_fwd_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_fwd_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &got);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
  CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK) {
    long code = 0;
    char extra[128] = "";
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (got.retry_after[0]) snprintf(extra, sizeof extra, "%s\r\n", got.retry_after);
    const char *ctype = got.ctype[0] ? strchr(got.ctype, ':') + 1 : "application/octet-stream";
    while (*ctype == ' ') ctype++;
    respond(fd, code, ctype, extra, body.data ? body.data : "", body.len);
  } else {
    char msg[CURL_ERROR_SIZE + 32];
    int n = snprintf(msg, sizeof msg, "proxy: %s\n", err[0] ? err : curl_easy_strerror(rc));
    respond(fd, 502, "text/plain", "", msg, (size_t)n);
  }
  free(body.data);
  curl_slist_free_all(hd);
  curl_easy_cleanup(h);
}

static void serve(int fd) {
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  request r;
  if (!read_request(fd, &r)) return;
  pthread_mutex_lock(&px.mu);
  fault f = px.next < px.nplan ? px.plan[px.next++] : PASS;
  if (px.nlog < 64) snprintf(px.log[px.nlog++], sizeof px.log[0], "%.15s %.230s", r.method, r.target);
  pthread_mutex_unlock(&px.mu);
  switch (f) {
  case PASS: forward(fd, &r); break;
  case TOO_MANY_429:
    respond_status(fd, 429, "TooManyRequests", "injected: too many requests, please try again later",
                   "Retry-After: 1\r\n");
    break;
  case FAIL_500: respond(fd, 500, "text/plain", "", "injected fault\n", 15); break;
  case UNAVAILABLE_503: respond_status(fd, 503, "ServiceUnavailable", "injected: the server is unavailable", ""); break;
  case DROP: break;
  case DELAY: {
    struct pollfd p = {fd, POLLRDHUP, 0};
    if (poll(&p, 1, 2000) == 0) forward(fd, &r); /* not if the client hung up meanwhile */
    break;
  }
  case GONE_410: respond_status(fd, 410, "Expired", "too old resource version: 1 (2)", ""); break;
  case WATCH_ERROR_410:
    respond(fd, 200, "application/json", "",
            "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
            "\"status\":\"Failure\",\"message\":\"too old resource version: 1 (2)\",\"reason\":\"Expired\","
            "\"code\":410}}\n",
            (size_t)-1);
    break;
  case WATCH_HALF_LINE:
    respond(fd, 200, "application/json", "",
            "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"ha",
            (size_t)-1);
    break;
  case WATCH_MODIFIED:
    respond(fd, 200, "application/json", "",
            "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\","
            "\"metadata\":{\"name\":\"whole\",\"resourceVersion\":\"7\"},\"data\":{\"v\":\"2\"}}}\n",
            (size_t)-1);
    break;
  }
  free(r.body);
}

static void *proxy_main(void *arg) {
  while (!atomic_load(&px.stop)) {
    struct pollfd p = {px.fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int fd = accept(px.fd, NULL, NULL);
    if (fd < 0) continue;
    serve(fd);
    close(fd);
  }
  return NULL;
}

static void proxy_start(void) {
  px.fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(px.fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  assert_int_equal(bind(px.fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(px.fd, 16), 0);
  assert_int_equal(getsockname(px.fd, (struct sockaddr *)&a, &alen), 0);
  px.port = ntohs(a.sin_port);
  atomic_store(&px.stop, 0);
  assert_int_equal(pthread_create(&px.thread, NULL, proxy_main, NULL), 0);
}

static void proxy_stop(void) {
  if (px.fd < 0) return;
  atomic_store(&px.stop, 1);
  pthread_join(px.thread, NULL);
  close(px.fd);
  px.fd = -1;
}

/* ---- 1. get, list, apply, delete ---------------------------------------------- */

static void apply_get_list_delete_a_configmap(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  json_t *out, *got, *items;
  char *rv;

  assert_kube_ok(c, apply(c, configmap(f->ns, "basic", "k", "v"), NULL, &out));
  assert_string_equal(str(out, "kind"), "ConfigMap");
  assert_string_equal(str(out, "metadata.name"), "basic");
  assert_string_equal(str(out, "metadata.namespace"), f->ns);
  assert_string_equal(str(out, "data.k"), "v");
  assert_non_null(str(out, "metadata.creationTimestamp"));
  const char *uid = str(out, "metadata.uid"), *rv1 = str(out, "metadata.resourceVersion");
  assert_true(uid && *uid && rv1 && *rv1);
  json_t *mf = json_array_get(at(out, "metadata.managedFields"), 0);
  assert_string_equal(str(mf, "manager"), "plumb");
  assert_string_equal(str(mf, "operation"), "Apply");

  assert_kube_ok(c, kube_get(c, "v1", "ConfigMap", f->ns, "basic", &got));
  assert_string_equal(str(got, "metadata.uid"), uid);
  assert_string_equal(str(got, "data.k"), "v");
  json_decref(got);

  /* The same apply again changes nothing; a new value does. */
  assert_kube_ok(c, apply(c, configmap(f->ns, "basic", "k", "v"), NULL, &got));
  assert_string_equal(str(got, "metadata.resourceVersion"), rv1);
  json_decref(got);
  assert_kube_ok(c, apply(c, configmap(f->ns, "basic", "k", "w"), NULL, &got));
  assert_string_not_equal(str(got, "metadata.resourceVersion"), rv1);
  assert_string_equal(str(got, "data.k"), "w");
  assert_string_equal(str(got, "metadata.uid"), uid);
  json_decref(got);
  json_decref(out);

  assert_kube_ok(c, kube_list(c, "v1", "ConfigMap", f->ns, NULL, &items, &rv));
  assert_true(has_name(items, "basic"));
  assert_non_null(rv);
  json_decref(items);
  free(rv);

  assert_kube_ok(c, kube_delete(c, "v1", "ConfigMap", f->ns, "basic", NULL));
  assert_kube(c, KUBE_ENOTFOUND, kube_get(c, "v1", "ConfigMap", f->ns, "basic", &got));
  assert_null(got);
  assert_kube(c, KUBE_ENOTFOUND, kube_delete(c, "v1", "ConfigMap", f->ns, "basic", NULL));
}

static void get_of_a_missing_object_is_enotfound(void **state) {
  fixture *f = *state;
  json_t *got = json_true(); /* a singleton: nothing leaks if kube_get drops it */
  assert_kube(f->c, KUBE_ENOTFOUND, kube_get(f->c, "v1", "ConfigMap", f->ns, "nowhere", &got));
  assert_null(got);
  assert_contains(kube_last_error(f->c), "\"nowhere\" not found");
  assert_kube(f->c, KUBE_ENOTFOUND, kube_get(f->c, "v1", "Namespace", NULL, "no-such-namespace-at-all", &got));
  assert_null(got);
}

/* ---- 2. lists ------------------------------------------------------------------- */

static void list_of_25_in_pages_of_10_takes_3_requests(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  char name[32], idx[16];
  for (int i = 0; i < 25; i++) {
    snprintf(name, sizeof name, "cm-%02d", i);
    snprintf(idx, sizeof idx, "%d", i);
    assert_kube_ok(c, apply(c,
                            jsonf("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'%s','namespace':'%s',"
                                  "'labels':{'set':'paged','idx':'%s'}}}",
                                  name, f->ns, idx),
                            NULL, NULL));
  }
  assert_kube_ok(c, apply(c, configmap(f->ns, "unlabelled", "k", "v"), NULL, NULL));

  json_t *items;
  char *rv;
  long before = kube_request_count(c);
  kube_list_opts o = {.label_selector = "set=paged", .page_size = 10};
  assert_kube_ok(c, kube_list(c, "v1", "ConfigMap", f->ns, &o, &items, &rv));
  assert_int_equal(kube_request_count(c) - before, 3);
  assert_int_equal(json_array_size(items), 25);
  for (int i = 0; i < 25; i++) {
    snprintf(name, sizeof name, "cm-%02d", i);
    assert_true(has_name(items, name));
  }
  assert_false(has_name(items, "unlabelled"));
  assert_non_null(rv);
  json_decref(items);
  free(rv);
}

typedef struct {
  int seen, stop_at;
  bool typed; /* every item had its apiVersion and kind */
} each_log;

static int on_item(json_t *item, void *ctx) {
  each_log *l = ctx;
  l->seen++;
  l->typed = l->typed && strcmp(str(item, "apiVersion"), "v1") == 0 && strcmp(str(item, "kind"), "ConfigMap") == 0;
  return l->seen == l->stop_at;
}

/* A page at a time: each item once, with its kind, one request a page; a
 * callback that stops the list ends it there, without a version. */
static void list_each_goes_a_page_at_a_time(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  char name[32];
  for (int i = 0; i < 25; i++) {
    snprintf(name, sizeof name, "cm-%02d", i);
    assert_kube_ok(c, apply(c,
                            jsonf("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'%s','namespace':'%s',"
                                  "'labels':{'set':'each'}}}",
                                  name, f->ns),
                            NULL, NULL));
  }
  kube_list_opts o = {.label_selector = "set=each", .page_size = 10};
  each_log all = {.typed = true};
  char *rv;
  long before = kube_request_count(c);
  assert_kube_ok(c, kube_list_each(c, "v1", "ConfigMap", f->ns, &o, on_item, &all, &rv));
  assert_int_equal(kube_request_count(c) - before, 3);
  assert_int_equal(all.seen, 25);
  assert_true(all.typed);
  assert_non_null(rv);
  free(rv);
  each_log some = {.stop_at = 15};
  before = kube_request_count(c);
  assert_kube_ok(c, kube_list_each(c, "v1", "ConfigMap", f->ns, &o, on_item, &some, &rv));
  assert_int_equal(kube_request_count(c) - before, 2);
  assert_int_equal(some.seen, 15);
  assert_null(rv);
}

static void list_filters_by_label_and_field_selectors(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  static const char *const names[] = {"red", "green", "blue"};
  for (int i = 0; i < 3; i++)
    assert_kube_ok(c, apply(c,
                            jsonf("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'%s','namespace':'%s',"
                                  "'labels':{'colour':'%s','set':'filters'}}}",
                                  names[i], f->ns, names[i]),
                            NULL, NULL));
  json_t *items;

  kube_list_opts by_label = {.label_selector = "set=filters,colour in (red,blue)"};
  assert_kube_ok(c, kube_list(c, "v1", "ConfigMap", f->ns, &by_label, &items, NULL));
  assert_int_equal(json_array_size(items), 2);
  assert_true(has_name(items, "red") && has_name(items, "blue"));
  json_decref(items);

  kube_list_opts by_field = {.field_selector = "metadata.name=green"};
  assert_kube_ok(c, kube_list(c, "v1", "ConfigMap", f->ns, &by_field, &items, NULL));
  assert_int_equal(json_array_size(items), 1);
  assert_string_equal(str(json_array_get(items, 0), "metadata.name"), "green");
  json_decref(items);

  kube_list_opts none = {.label_selector = "colour=purple"};
  assert_kube_ok(c, kube_list(c, "v1", "ConfigMap", f->ns, &none, &items, NULL));
  assert_int_equal(json_array_size(items), 0);
  json_decref(items);
}

/* ---- 3. delete ------------------------------------------------------------------ */

static void delete_with_a_wrong_uid_is_a_conflict_and_keeps_the_object(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  json_t *out, *got;
  assert_kube_ok(c, apply(c, configmap(f->ns, "guarded", "k", "v"), NULL, &out));
  kube_delete_opts wrong = {.uid = "00000000-0000-0000-0000-000000000000"};
  assert_kube(c, KUBE_ECONFLICT, kube_delete(c, "v1", "ConfigMap", f->ns, "guarded", &wrong));
  assert_contains(kube_last_error(c), "the UID in the precondition");
  assert_kube_ok(c, kube_get(c, "v1", "ConfigMap", f->ns, "guarded", &got));
  json_decref(got);

  kube_delete_opts stale = {.resource_version = "1"};
  assert_kube(c, KUBE_ECONFLICT, kube_delete(c, "v1", "ConfigMap", f->ns, "guarded", &stale));
  assert_kube_ok(c, kube_get(c, "v1", "ConfigMap", f->ns, "guarded", &got));
  json_decref(got);

  kube_delete_opts right = {.uid = str(out, "metadata.uid")};
  assert_kube_ok(c, kube_delete(c, "v1", "ConfigMap", f->ns, "guarded", &right));
  assert_kube(c, KUBE_ENOTFOUND, kube_get(c, "v1", "ConfigMap", f->ns, "guarded", &got));
  json_decref(out);
}

static void delete_in_the_foreground_is_accepted(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  json_t *got = NULL;
  assert_kube_ok(c, apply(c, configmap(f->ns, "foreground", "k", "v"), NULL, NULL));
  kube_delete_opts fg = {.propagation = "Foreground"};
  assert_kube_ok(c, kube_delete(c, "v1", "ConfigMap", f->ns, "foreground", &fg));
  /* The controller manager's garbage collector finishes it: gone within
   * seconds, later on a loaded machine. */
  int rc = KUBE_OK;
  for (double end = now() + 60; rc == KUBE_OK && now() < end; sleep_ms(100)) {
    json_decref(got);
    rc = kube_get(c, "v1", "ConfigMap", f->ns, "foreground", &got);
  }
  assert_int_equal(rc, KUBE_ENOTFOUND);

  kube_delete_opts bad = {.propagation = "Sideways"};
  assert_kube_ok(c, apply(c, configmap(f->ns, "sideways", "k", "v"), NULL, NULL));
  assert_kube(c, KUBE_ERROR, kube_delete(c, "v1", "ConfigMap", f->ns, "sideways", &bad));
  assert_contains(kube_last_error(c), "Sideways");
}

/* ---- 4. server-side apply ---------------------------------------------------------- */

static void dry_run_apply_creates_nothing(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  json_t *out, *got;
  kube_apply_opts dry = {.dry_run = true};
  assert_kube_ok(c, apply(c, configmap(f->ns, "dry", "k", "v"), &dry, &out));
  assert_string_equal(str(out, "metadata.name"), "dry");
  assert_string_equal(str(out, "data.k"), "v");
  json_decref(out);
  assert_kube(c, KUBE_ENOTFOUND, kube_get(c, "v1", "ConfigMap", f->ns, "dry", &got));
}

/* Does manager own data.KEY of obj? */
static bool owns(json_t *obj, const char *manager, const char *key) {
  char field[64];
  snprintf(field, sizeof field, "f:%s", key);
  size_t i;
  json_t *m;
  json_array_foreach(at(obj, "metadata.managedFields"), i, m) {
    if (strcmp(str(m, "manager"), manager) == 0 && json_object_get(at(m, "fieldsV1.f:data"), field)) return true;
  }
  return false;
}

static void force_takes_over_a_field_another_manager_owns(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  json_t *out;
  kube_apply_opts other = {.field_manager = "other"}, mine = {0}, force = {.force = true};
  assert_kube_ok(c, apply(c, configmap(f->ns, "contested", "k", "theirs"), &other, &out));
  assert_true(owns(out, "other", "k"));
  json_decref(out);

  assert_kube(c, KUBE_ECONFLICT, apply(c, configmap(f->ns, "contested", "k", "mine"), &mine, &out));
  assert_null(out);
  assert_contains(kube_last_error(c), "conflict with \"other\"");
  assert_contains(kube_last_error(c), ".data.k");

  assert_kube_ok(c, apply(c, configmap(f->ns, "contested", "k", "mine"), &force, &out));
  assert_string_equal(str(out, "data.k"), "mine");
  assert_true(owns(out, "plumb", "k"));
  assert_false(owns(out, "other", "k"));
  json_decref(out);
}

/* ---- 5. watch ------------------------------------------------------------------------ */

typedef struct {
  const char *stop_type, *stop_name; /* the event that ends the watch */
  int calls, added, modified, bookmarks, synced, other;
  int listings;  /* LISTING events */
  bool listing;  /* between LISTING and SYNCED */
  size_t listed; /* objects ADDED by the last list */
  bool seen;
  bool stop_on_first; /* stop at the first event of any kind but LISTING */
} watch_log;

static int on_event(const char *type, json_t *obj, void *ctx) {
  watch_log *w = ctx;
  if (strcmp(type, "LISTING") == 0) {
    w->listings++;
    w->listing = true;
    w->listed = 0;
    return 0;
  }
  w->calls++;
  if (strcmp(type, "BOOKMARK") == 0) {
    w->bookmarks++;
    return 0;
  }
  if (strcmp(type, "SYNCED") == 0) {
    w->synced++;
    w->listing = false;
    w->seen = w->stop_type && strcmp(w->stop_type, "SYNCED") == 0;
    return w->seen;
  }
  w->listed += w->listing && strcmp(type, "ADDED") == 0;
  if (strcmp(type, "ADDED") == 0)
    w->added++;
  else if (strcmp(type, "MODIFIED") == 0)
    w->modified++;
  else
    w->other++;
  if (w->stop_on_first) return 1;
  const char *name = str(obj, "metadata.name");
  if (strcmp(type, w->stop_type) == 0 && name && strcmp(name, w->stop_name) == 0) w->seen = true;
  return w->seen;
}

typedef struct {
  kube_client *c;
  const char *ns;
  int rc;
  char error[1024];
} writer;

static void *apply_v2_later(void *arg) {
  writer *w = arg;
  sleep_ms(500);
  w->rc = apply(w->c, configmap(w->ns, "watched", "v", "2"), NULL, NULL);
  snprintf(w->error, sizeof w->error, "%s", kube_last_error(w->c));
  return NULL;
}

static void watch_sees_a_change_made_while_watching(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  json_t *items;
  char *rv;
  assert_kube_ok(c, apply(c, configmap(f->ns, "watched", "v", "1"), NULL, NULL));
  /* kube-controller-manager puts kube-root-ca.crt in every new namespace
   * when it gets to it: after it, no ADDED can follow the list. */
  json_t *ca = NULL;
  for (int i = 0; i < 100 && kube_get(c, "v1", "ConfigMap", f->ns, "kube-root-ca.crt", &ca) != KUBE_OK; i++) sleep_ms(100);
  assert_non_null(ca);
  json_decref(ca);
  assert_kube_ok(c, kube_list(c, "v1", "ConfigMap", f->ns, NULL, &items, &rv));
  json_decref(items);
  assert_non_null(rv);

  writer w = {.c = client(admin_cfg, NULL), .ns = f->ns};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, apply_v2_later, &w), 0);
  watch_log log = {.stop_type = "MODIFIED", .stop_name = "watched"};
  double t0 = now();
  int rc = kube_watch(c, "v1", "ConfigMap", f->ns, &(kube_watch_opts){.resource_version = rv, .timeout_s = 30}, on_event, &log);
  double took = now() - t0;
  pthread_join(t, NULL);
  kube_client_free(w.c);
  free(rv);
  if (w.rc != KUBE_OK) fail_msg("the second thread's apply: %s", w.error);
  assert_kube_ok(c, rc);
  assert_true(log.seen);
  assert_int_equal(log.added, 0); /* from the list's version: nothing old again */
  assert_int_equal(log.other, 0);
  assert_between(took, 0.3, 15); /* the callback ended it, not the 30 s */
}

static void watch_stops_when_the_callback_says_so(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  for (int i = 0; i < 3; i++) {
    char name[16];
    snprintf(name, sizeof name, "w%d", i);
    assert_kube_ok(c, apply(c, configmap(f->ns, name, "k", "v"), NULL, NULL));
  }
  /* No resourceVersion: list first, the objects come as ADDED. */
  watch_log log = {.stop_on_first = true};
  long before = kube_request_count(c);
  double t0 = now();
  assert_kube_ok(c, kube_watch(c, "v1", "ConfigMap", f->ns, &(kube_watch_opts){.timeout_s = 30}, on_event, &log));
  assert_int_equal(log.calls, 1);
  assert_int_equal(log.added, 1);
  assert_int_equal(kube_request_count(c) - before, 1); /* the list, and no watch after it */
  assert_between(now() - t0, 0, 5);
}

static void watch_ends_when_its_time_is_up(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  json_t *items;
  char *rv;
  assert_kube_ok(c, kube_list(c, "v1", "ConfigMap", f->ns, NULL, &items, &rv));
  json_decref(items);
  watch_log log = {.stop_type = "DELETED", .stop_name = "never"};
  double t0 = now();
  assert_kube_ok(c, kube_watch(c, "v1", "ConfigMap", f->ns, &(kube_watch_opts){.resource_version = rv, .timeout_s = 2}, on_event, &log));
  free(rv);
  assert_between(now() - t0, 1.0, 10);
  assert_false(log.seen);
}

/* Only objects the selector picks: in the list and in the stream. */
static void watch_with_a_label_selector_sees_only_what_it_selects(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  assert_kube_ok(c, apply(c, configmap(f->ns, "plain", "k", "v"), NULL, NULL));
  assert_kube_ok(c, apply(c,
                          jsonf("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'picked','namespace':'%s',"
                                "'labels':{'pick':'me'}}}",
                                f->ns),
                          NULL, NULL));
  watch_log log = {.stop_type = "SYNCED"};
  kube_watch_opts o = {.label_selector = "pick", .timeout_s = 10};
  assert_kube_ok(c, kube_watch(c, "v1", "ConfigMap", f->ns, &o, on_event, &log));
  assert_int_equal(log.added, 1);
  assert_int_equal(log.listed, 1);
}

/* A watch's list goes a page (25 objects) at a time, between LISTING and
 * SYNCED. */
static void watch_lists_a_page_at_a_time(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  enum { N = 60 };
  kube_apply_item items[N] = {0};
  for (int i = 0; i < N; i++)
    items[i].obj = jsonf("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'cm-%03d','namespace':'%s',"
                         "'labels':{'set':'pages'}}}",
                         i, f->ns);
  size_t failed = kube_apply_many(c, items, N, NULL, NULL, NULL);
  for (int i = 0; i < N; i++) {
    json_decref(items[i].obj);
    json_decref(items[i].out);
    free(items[i].error);
  }
  assert_int_equal(failed, 0);
  watch_log log = {.stop_type = "SYNCED"};
  long before = kube_request_count(c);
  assert_kube_ok(c, kube_watch(c, "v1", "ConfigMap", f->ns, &(kube_watch_opts){.label_selector = "set=pages", .timeout_s = 30},
                               on_event, &log));
  assert_int_equal(kube_request_count(c) - before, 3); /* three pages, and no stream after SYNCED */
  assert_int_equal(log.listings, 1);
  assert_int_equal(log.listed, N);
  assert_int_equal(log.synced, 1);
}

/* ---- 6. watch: 410 Gone --------------------------------------------------------------- */

/* A custom resource's watch cache begins when its CRD does, so version "1"
 * is older than anything it holds: this server answers with a watch ERROR
 * event, code 410 (HTTP 200), and ends the stream. (Built-in kinds on a
 * fresh cluster still serve "1": their caches start with etcd, until ~100
 * changes have pushed the oldest out.) The watch goes through the proxy,
 * forwarding all, so the requests can be seen. */
static void watch_from_a_version_too_old_relists_as_added(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  char group[64], gv[96];
  snprintf(group, sizeof group, "gone%d.plumb.test", runid);
  snprintf(gv, sizeof gv, "%s/v1", group);
  make_crd(c, group, "Gadget");
  assert_kube_ok(c, apply(c, jsonf("{'apiVersion':'%s','kind':'Gadget','metadata':{'name':'g1','namespace':'%s'},"
                                   "'spec':{'size':1}}",
                                   gv, f->ns),
                          NULL, NULL));
  kube_client *pc = client(proxy_cfg, NULL);
  const kube_resource *r;
  proxy_plan("");
  assert_kube_ok(pc, kube_resource_find(pc, gv, "Gadget", &r));
  proxy_plan("");
  watch_log log = {.stop_type = "ADDED", .stop_name = "g1"};
  double t0 = now();
  int rc = kube_watch(pc, gv, "Gadget", f->ns, &(kube_watch_opts){.resource_version = "1", .timeout_s = 20}, on_event, &log);
  double took = now() - t0;
  char error[1024];
  snprintf(error, sizeof error, "%s", kube_last_error(pc));
  kube_client_free(pc);
  drop_crd(c, group, "gadgets");
  if (rc != KUBE_OK) fail_msg("kube_watch: %d: %s", rc, error);
  assert_true(log.seen);
  assert_between(took, 0, 15);
  /* The watch from "1" (repeated if the new cache said 429 while it
   * started), then one list, which found g1. */
  int n = proxy_served();
  assert_true(n >= 2);
  for (int i = 0; i < n - 1; i++) {
    assert_contains(proxy_request(i), "watch=1");
    assert_contains(proxy_request(i), "resourceVersion=1");
  }
  assert_null(strstr(proxy_request(n - 1), "watch="));
  assert_contains(proxy_request(n - 1), "/gadgets?limit=");
}

/* The same through the proxy, both ways a server says 410. */
static void watch_relists_after_a_410(const char *plan, fixture *f) {
  kube_client *c = f->c, *pc = client(proxy_cfg, NULL);
  json_t *items;
  char *rv;
  assert_kube_ok(c, apply(c, configmap(f->ns, "survivor", "k", "v"), NULL, NULL));
  proxy_plan("");
  assert_kube_ok(pc, kube_list(pc, "v1", "ConfigMap", f->ns, NULL, &items, &rv)); /* discovery too */
  json_decref(items);
  proxy_plan(plan);
  watch_log log = {.stop_type = "SYNCED"};
  long before = kube_request_count(pc);
  assert_kube_ok(pc, kube_watch(pc, "v1", "ConfigMap", f->ns, &(kube_watch_opts){.resource_version = rv, .timeout_s = 20}, on_event, &log));
  free(rv);
  /* The relisted objects, then the list they came in. */
  assert_true(log.seen);
  assert_int_equal(log.synced, 1);
  assert_true(log.added >= 1);
  assert_int_equal(log.listed, (size_t)log.added);
  assert_int_equal(kube_request_count(pc) - before, 2);
  assert_int_equal(proxy_served(), 2);
  assert_contains(proxy_request(0), "watch=1");
  assert_contains(proxy_request(1), "limit=");
  assert_null(strstr(proxy_request(1), "watch="));
  kube_client_free(pc);
}

static void watch_relists_after_a_410_error_event(void **state) { watch_relists_after_a_410("watch410 pass", *state); }

static void watch_relists_after_an_http_410(void **state) { watch_relists_after_a_410("410 pass", *state); }

/* A stream cut in the middle of an event, then resumed: the half event is
 * lost, the next whole one is not. */
static void watch_resumed_after_a_cut_keeps_the_next_event(void **state) {
  fixture *f = *state;
  kube_client *pc = client(proxy_cfg, NULL);
  json_t *items;
  char *rv;
  proxy_plan("");
  assert_kube_ok(pc, kube_list(pc, "v1", "ConfigMap", f->ns, NULL, &items, &rv));
  json_decref(items);
  proxy_plan("half modified");
  watch_log log = {.stop_type = "MODIFIED", .stop_name = "whole"};
  double t0 = now();
  assert_kube_ok(pc, kube_watch(pc, "v1", "ConfigMap", f->ns, &(kube_watch_opts){.resource_version = rv, .timeout_s = 3}, on_event, &log));
  free(rv);
  assert_true(log.seen);
  assert_int_equal(proxy_served(), 2);
  assert_between(now() - t0, 0, 2.5);
  kube_client_free(pc);
}

/* ---- 7. discovery ------------------------------------------------------------------------ */

static void a_kind_from_a_new_crd_is_found_without_a_discovery_reset(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  char group[64], gv[96];
  snprintf(group, sizeof group, "fresh%d.plumb.test", runid);
  snprintf(gv, sizeof gv, "%s/v1", group);
  /* c knows the server's kinds from before the CRD. */
  json_t *out;
  assert_kube_ok(c, kube_get(c, "v1", "Namespace", NULL, f->ns, &out));
  json_decref(out);
  kube_client *early = client(admin_cfg, NULL);
  assert_kube_ok(early, kube_get(early, "v1", "Namespace", NULL, f->ns, &out));
  json_decref(out);

  make_crd(c, group, "Widget");
  long before = kube_request_count(early);
  int rc = apply(early, jsonf("{'apiVersion':'%s','kind':'Widget','metadata':{'name':'w1','namespace':'%s'},"
                              "'spec':{'size':3}}",
                              gv, f->ns),
                 NULL, &out);
  char error[1024];
  snprintf(error, sizeof error, "%s", kube_last_error(early));
  long requests = kube_request_count(early) - before;
  kube_client_free(early);
  if (rc == KUBE_OK) {
    assert_int_equal(requests, 3); /* one refresh (/api, /apis), then the apply */
    assert_string_equal(str(out, "kind"), "Widget");
    assert_int_equal(json_integer_value(at(out, "spec.size")), 3);
  }
  json_decref(out);
  drop_crd(c, group, "widgets");
  if (rc != KUBE_OK) fail_msg("apply of the custom resource: %d: %s", rc, error);
}

static void an_unknown_kind_is_enotfound_and_named(void **state) {
  fixture *f = *state;
  kube_client *c = f->c;
  json_t *out;
  assert_kube_ok(c, kube_get(c, "v1", "Namespace", NULL, f->ns, &out));
  json_decref(out);
  long before = kube_request_count(c);
  assert_kube(c, KUBE_ENOTFOUND,
              apply(c, jsonf("{'apiVersion':'nowhere.plumb.test/v1','kind':'NoSuchKind','metadata':{'name':'x',"
                             "'namespace':'%s'}}",
                             f->ns),
                    NULL, &out));
  assert_null(out);
  assert_contains(kube_last_error(c), "NoSuchKind");
  assert_contains(kube_last_error(c), "nowhere.plumb.test/v1");
  /* One refresh of discovery (/api and /apis), not more. */
  assert_int_equal(kube_request_count(c) - before, 2);
  assert_kube(c, KUBE_ENOTFOUND, kube_get(c, "v1", "NoSuchKind", f->ns, "x", &out));
  assert_contains(kube_last_error(c), "NoSuchKind");
}

/* ---- 8. errors in words -------------------------------------------------------------------- */

static void a_rejected_token_is_eauth(void **state) {
  char extra[512];
  snprintf(extra, sizeof extra, ", certificate-authority: \"%s\"", env("PLUMB_TEST_CA"));
  kube_config *cfg = config_file("badtoken.kubeconfig", env("PLUMB_TEST_SERVER"), extra, "token: not-a-valid-token");
  kube_client *c = client(cfg, NULL);
  json_t *out;
  assert_kube(c, KUBE_EAUTH, kube_get(c, "v1", "Namespace", NULL, "default", &out));
  assert_contains(kube_last_error(c), "token rejected (401)");
  assert_null(strstr(kube_last_error(c), "not-a-valid-token"));
  kube_client_free(c);
  kube_config_free(cfg);
}

static void the_ci_user_may_not_patch_deployments(void **state) {
  kube_config *cfg = NULL;
  char *err = NULL;
  if (kube_config_load(&cfg, env("KUBECONFIG"), "ci", &err) != KUBE_OK) fail_msg("context ci: %s", err);
  kube_client *c = client(cfg, NULL);
  json_t *out;
  /* ci may read deployments in shop ... */
  assert_kube(c, KUBE_ENOTFOUND, kube_get(c, "apps/v1", "Deployment", "shop", "plumb-no-such-deployment", &out));
  /* ... but not change them. */
  assert_kube(c, KUBE_EFORBIDDEN,
              apply(c,
                    jsonf("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'shop'},"
                          "'spec':{'replicas':1}}"),
                    NULL, &out));
  assert_null(out);
  const char *msg = kube_last_error(c);
  if (strncmp(msg, "forbidden:", 10) != 0) fail_msg("\"%s\" does not start with \"forbidden:\"", msg);
  assert_contains(msg, "User \"ci\" cannot patch");
  kube_client_free(c);
  kube_config_free(cfg);
}

static int never_called(const char *type, json_t *obj, void *ctx) {
  fail_msg("no event expected, got %s", type);
  return 1;
}

/* RBAC's no is final: the watch says so at once instead of retrying. */
static void a_forbidden_watch_fails_at_once(void **state) {
  kube_config *cfg = NULL;
  char *err = NULL;
  if (kube_config_load(&cfg, env("KUBECONFIG"), "ci", &err) != KUBE_OK) fail_msg("context ci: %s", err);
  kube_client *c = client(cfg, NULL);
  assert_kube(c, KUBE_EFORBIDDEN, kube_watch(c, "v1", "ConfigMap", "shop", &(kube_watch_opts){.resource_version = "1", .timeout_s = 30}, never_called, NULL));
  assert_contains(kube_last_error(c), "forbidden: watch");
  assert_contains(kube_last_error(c), "User \"ci\" cannot");
  assert_true(kube_request_count(c) <= 3); /* discovery, one watch */
  kube_client_free(c);
  kube_config_free(cfg);
}

static void a_wrong_ca_is_eunreachable_and_named(void **state) {
  char cmd[1024], extra[512], user[512], want[512];
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other-ca -days 1 "
           "-keyout %s/other-ca.key -out %s/other-ca.crt 2>/dev/null",
           tmp, tmp);
  assert_int_equal(system(cmd), 0);
  snprintf(extra, sizeof extra, ", certificate-authority: \"%s/other-ca.crt\"", tmp);
  snprintf(user, sizeof user, "tokenFile: \"%s\"", env("PLUMB_TEST_ADMIN_TOKEN_FILE"));
  kube_config *cfg = config_file("wrongca.kubeconfig", env("PLUMB_TEST_SERVER"), extra, user);
  kube_client_opts o = {.max_retries = 3};
  kube_client *c = client(cfg, &o);
  json_t *out;
  long before = kube_request_count(c);
  assert_kube(c, KUBE_EUNREACHABLE, kube_get(c, "v1", "Namespace", NULL, "default", &out));
  snprintf(want, sizeof want, "certificate verify failed for %s: unknown authority", env("PLUMB_TEST_SERVER"));
  assert_contains(kube_last_error(c), want);
  assert_int_equal(kube_request_count(c) - before, 1); /* no retry can fix a certificate */
  kube_client_free(c);
  kube_config_free(cfg);
}

/* ---- 9. through the fault-injecting proxy ---------------------------------------------------- */

/* A client of the proxy that has done discovery (through PASS). */
static kube_client *proxy_client(const kube_client_opts *o) {
  kube_client *pc = client(proxy_cfg, o);
  json_t *out;
  proxy_plan("");
  assert_kube_ok(pc, kube_get(pc, "v1", "Namespace", NULL, "default", &out));
  json_decref(out);
  return pc;
}

static void retries_ride_out_429_500_and_a_dropped_connection(void **state) {
  kube_client_opts o = {.max_retries = 5};
  kube_client *pc = proxy_client(&o);
  json_t *out;
  proxy_plan("429 500 drop pass");
  long before = kube_request_count(pc);
  double t0 = now();
  assert_kube_ok(pc, kube_get(pc, "v1", "Namespace", NULL, "default", &out));
  double took = now() - t0;
  assert_string_equal(str(out, "metadata.name"), "default");
  json_decref(out);
  assert_int_equal(kube_request_count(pc) - before, 4);
  assert_int_equal(proxy_served(), 4);
  for (int i = 0; i < 4; i++) assert_string_equal(proxy_request(i), "GET /api/v1/namespaces/default");
  assert_between(took, 0.95, 10); /* Retry-After: 1 */
  kube_client_free(pc);
}

static void apply_is_retried_after_503(void **state) {
  fixture *f = *state;
  kube_client_opts o = {.max_retries = 3};
  kube_client *pc = proxy_client(&o);
  json_t *out;
  proxy_plan("503 pass");
  long before = kube_request_count(pc);
  assert_kube_ok(pc, apply(pc, configmap(f->ns, "through-503", "k", "v"), NULL, &out));
  assert_string_equal(str(out, "data.k"), "v");
  json_decref(out);
  assert_int_equal(kube_request_count(pc) - before, 2);
  assert_int_equal(proxy_served(), 2);
  assert_contains(proxy_request(0), "PATCH /api/v1/namespaces/");
  assert_contains(proxy_request(1), "PATCH /api/v1/namespaces/");
  kube_client_free(pc);
}

static void a_create_is_never_repeated(void **state) {
  fixture *f = *state;
  kube_client_opts o = {.max_retries = 3};
  kube_client *pc = proxy_client(&o);
  char path[256], *body;
  json_t *cm = configmap(f->ns, "created-once", "k", "v"), *out;
  body = json_dumps(cm, JSON_COMPACT);
  json_decref(cm);
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", f->ns);
  proxy_plan("503 pass");
  long before = kube_request_count(pc);
  assert_kube(pc, KUBE_ERROR, kube_request(pc, "POST", path, "application/json", body, strlen(body), &out));
  assert_int_equal(kube_request_count(pc) - before, 1);
  assert_contains(kube_last_error(pc), "503");
  /* Nothing reached the server; a create through PASS does. */
  assert_kube_ok(pc, kube_request(pc, "POST", path, "application/json", body, strlen(body), &out));
  assert_string_equal(str(out, "metadata.name"), "created-once");
  json_decref(out);
  free(body);
  kube_client_free(pc);
}

/* Repeated, a DELETE by name alone could remove an object recreated under
 * that name in between; with a uid precondition it cannot. */
static void a_delete_is_repeated_only_with_preconditions(void **state) {
  fixture *f = *state;
  kube_client_opts o = {.max_retries = 3};
  kube_client *pc = proxy_client(&o);
  json_t *out;
  assert_kube_ok(pc, apply(pc, configmap(f->ns, "deleted-once", "k", "v"), NULL, &out));
  char *uid = strdup(str(out, "metadata.uid"));
  json_decref(out);
  proxy_plan("503 pass");
  assert_kube(pc, KUBE_ERROR, kube_delete(pc, "v1", "ConfigMap", f->ns, "deleted-once", NULL));
  assert_int_equal(proxy_served(), 1);
  assert_contains(kube_last_error(pc), "503");
  proxy_plan("503 pass");
  kube_delete_opts pre = {.uid = uid};
  assert_kube_ok(pc, kube_delete(pc, "v1", "ConfigMap", f->ns, "deleted-once", &pre));
  assert_int_equal(proxy_served(), 2);
  assert_contains(proxy_request(1), "DELETE /api/v1/namespaces/");
  free(uid);
  kube_client_free(pc);
}

static void retries_stop_after_max_retries(void **state) {
  kube_client_opts o = {.max_retries = 2};
  kube_client *pc = proxy_client(&o);
  json_t *out;
  proxy_plan("10*500");
  long before = kube_request_count(pc);
  double t0 = now();
  assert_kube(pc, KUBE_ERROR, kube_get(pc, "v1", "Namespace", NULL, "default", &out));
  assert_null(out);
  assert_int_equal(kube_request_count(pc) - before, 3);
  assert_int_equal(proxy_served(), 3);
  assert_contains(kube_last_error(pc), "500");
  assert_between(now() - t0, 0, 5);
  kube_client_free(pc);
}

static void a_slow_answer_times_out_as_unreachable(void **state) {
  kube_client_opts o = {.timeout_ms = 500, .max_retries = -1};
  kube_client *pc = client(proxy_cfg, &o);
  json_t *out;
  char want[128];
  proxy_plan("delay");
  double t0 = now();
  /* The first request is discovery's; it is the one that waits. */
  assert_kube(pc, KUBE_EUNREACHABLE, kube_get(pc, "v1", "Namespace", NULL, "default", &out));
  assert_between(now() - t0, 0.4, 1.5);
  assert_int_equal(kube_request_count(pc), 1);
  snprintf(want, sizeof want, "cannot reach http://127.0.0.1:%d: ", px.port);
  assert_contains(kube_last_error(pc), want);
  assert_contains(kube_last_error(pc), "timed out");
  kube_client_free(pc);
}

static void a_slow_answer_within_the_timeout_is_fine(void **state) {
  kube_client *pc = proxy_client(NULL);
  json_t *out;
  proxy_plan("delay");
  double t0 = now();
  assert_kube_ok(pc, kube_get(pc, "v1", "Namespace", NULL, "default", &out));
  json_decref(out);
  assert_between(now() - t0, 1.9, 10);
  assert_int_equal(proxy_served(), 1);
  kube_client_free(pc);
}

/* ---- 10. rate limit ---------------------------------------------------------------------------- */

static void qps_5_burst_1_spaces_six_gets_over_a_second(void **state) {
  fixture *f = *state;
  kube_client_opts o = {.qps = 5, .burst = 1, .max_retries = 3};
  kube_client *c = client(admin_cfg, &o);
  json_t *out;
  assert_kube_ok(c, kube_get(c, "v1", "Namespace", NULL, f->ns, &out)); /* discovery first */
  json_decref(out);
  double t0 = now();
  for (int i = 0; i < 6; i++) {
    assert_kube_ok(c, kube_get(c, "v1", "Namespace", NULL, f->ns, &out));
    json_decref(out);
  }
  assert_between(now() - t0, 0.9, 10);
  kube_client_free(c);
}

/* ---- main ---------------------------------------------------------------------------------------- */

static int setup(void **state) {
  strcpy(tmp, "/tmp/plumb-kube-client-XXXXXX");
  assert_non_null(mkdtemp(tmp));
  FILE *t = fopen(env("PLUMB_TEST_ADMIN_TOKEN_FILE"), "r");
  assert_non_null(t);
  assert_non_null(fgets(admin_token, sizeof admin_token, t));
  fclose(t);
  admin_token[strcspn(admin_token, "\r\n")] = '\0';
  proxy_start();
  char server[64], user[320];
  snprintf(server, sizeof server, "http://127.0.0.1:%d", px.port);
  snprintf(user, sizeof user, "token: \"%s\"", admin_token);
  proxy_cfg = config_file("proxy.kubeconfig", server, "", user);
  return 0;
}

static int teardown(void **state) {
  proxy_stop();
  kube_config_free(proxy_cfg);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmp);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CLUSTER_DIR\n", argv[0]);
    return 2;
  }
  if (cluster_open(argv[1], "kube_client") != 0) return 1;
  const struct CMUnitTest tests[] = {
      NS(apply_get_list_delete_a_configmap, "kc-basics"),
      NS(get_of_a_missing_object_is_enotfound, "kc-missing"),
      NS(list_of_25_in_pages_of_10_takes_3_requests, "kc-pages"),
      NS(list_each_goes_a_page_at_a_time, "kc-each"),
      NS(list_filters_by_label_and_field_selectors, "kc-filters"),
      NS(delete_with_a_wrong_uid_is_a_conflict_and_keeps_the_object, "kc-preconditions"),
      NS(delete_in_the_foreground_is_accepted, "kc-foreground"),
      NS(dry_run_apply_creates_nothing, "kc-dry-run"),
      NS(force_takes_over_a_field_another_manager_owns, "kc-force"),
      NS(watch_sees_a_change_made_while_watching, "kc-watch"),
      NS(watch_stops_when_the_callback_says_so, "kc-watch-stop"),
      NS(watch_ends_when_its_time_is_up, "kc-watch-timeout"),
      NS(watch_with_a_label_selector_sees_only_what_it_selects, "kc-watch-selector"),
      NS(watch_lists_a_page_at_a_time, "kc-watch-pages"),
      NS(watch_from_a_version_too_old_relists_as_added, "kc-watch-gone"),
      NS(watch_relists_after_a_410_error_event, "kc-watch-410-event"),
      NS(watch_relists_after_an_http_410, "kc-watch-410-http"),
      NS(watch_resumed_after_a_cut_keeps_the_next_event, "kc-watch-cut"),
      NS(a_kind_from_a_new_crd_is_found_without_a_discovery_reset, "kc-crd"),
      NS(an_unknown_kind_is_enotfound_and_named, "kc-unknown-kind"),
      cmocka_unit_test(a_rejected_token_is_eauth),
      cmocka_unit_test(the_ci_user_may_not_patch_deployments),
      cmocka_unit_test(a_forbidden_watch_fails_at_once),
      cmocka_unit_test(a_wrong_ca_is_eunreachable_and_named),
      cmocka_unit_test(retries_ride_out_429_500_and_a_dropped_connection),
      NS(apply_is_retried_after_503, "kc-proxy-503"),
      NS(a_create_is_never_repeated, "kc-proxy-create"),
      NS(a_delete_is_repeated_only_with_preconditions, "kc-proxy-delete"),
      cmocka_unit_test(retries_stop_after_max_retries),
      cmocka_unit_test(a_slow_answer_times_out_as_unreachable),
      cmocka_unit_test(a_slow_answer_within_the_timeout_is_fine),
      NS(qps_5_burst_1_spaces_six_gets_over_a_second, "kc-rate"),
  };
  int failed = cmocka_run_group_tests_name("kube_client", tests, setup, teardown);
  cluster_close();
  return failed;
}
