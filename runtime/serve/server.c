/* server.c: the daemons, the life of one request, the probes and /metrics.
 *
 * libmicrohttpd calls answer() once when the headers are in, once per
 * piece of the body, and once more to ask for the reply. The body is
 * gathered up to its page's limit (body_limit): a request that declares a longer one gets
 * 413 before it is read; one that sends more than it declared (or declares
 * nothing, chunked) has the rest discarded and gets 413 at the end.
 *
 * The main port is exposed beyond the cluster (the git host's webhooks),
 * so it is served by events, not a thread per connection: a pool of
 * threads, each with an epoll loop, holds thousands of idle connections
 * for the cost of their buffers. A connection has HEADER_TIMEOUT_S of
 * silence to finish its headers, then IDLE_TIMEOUT_S; one address holds
 * at most half of the connections. The probes and /metrics may have a port
 * of their own, a small daemon that nothing on the main port can starve. */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/arena.h"
#include "plumb/forkgate.h"
#include "serve/internal.h"

enum {
  DEFAULT_MAX_BODY = 1 << 20,
  IDLE_TIMEOUT_S = 30,
  HEADER_TIMEOUT_S = 10,
  THREADS = 4,
  MAX_CONNECTIONS = 8192,
  FILES_KEPT = 256,       /* open files left to the runtime beside its connections */
  PROBE_CONNECTIONS = 32, /* kubelet and Prometheus, a few at a time */
  API_MAX_BODY = 64 << 10, /* the API's bodies are a rollback's {"id": N} */
};

/* One request in flight. */
typedef struct {
  buf body;
  bool too_big;
  struct timespec start;
} upload;

typedef serve_reply page_fn(serve *s, const serve_request *r);

const char *serve_header(const serve_request *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

serve_reply serve_json(unsigned status, json_t *json) {
  char *text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(json);
  if (!text) abort();
  return (serve_reply){.status = status, .body = text, .type = "application/json"};
}

serve_reply serve_error(unsigned status, const char *message) {
  return serve_json(status, json_pack("{ss}", "error", message));
}

serve_reply serve_method_not_allowed(const char *allow) {
  serve_reply r = serve_error(MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
  r.allow = allow;
  return r;
}

/* Digests first: CRYPTO_memcmp wants equal lengths, and comparing the
 * lengths themselves would tell an attacker how long the secret is. */
bool serve_secret_equal(const char *given, const char *secret) {
  if (!given || !secret) return false;
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256((const unsigned char *)given, strlen(given), a);
  SHA256((const unsigned char *)secret, strlen(secret), b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

static serve_reply text(unsigned status, const char *body) {
  char *copy = heap_strdup(body);
  return (serve_reply){.status = status, .body = copy, .type = "text/plain; charset=utf-8"};
}

static bool is_get(const serve_request *r) {
  return strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
}

static serve_reply healthz(serve *s, const serve_request *r) {
  if (!is_get(r)) return serve_method_not_allowed("GET, HEAD");
  return text(MHD_HTTP_OK, "ok\n");
}

static serve_reply readyz(serve *s, const serve_request *r) {
  if (!is_get(r)) return serve_method_not_allowed("GET, HEAD");
  if (!atomic_load(&s->ready)) return text(MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
  return text(MHD_HTTP_OK, "ok\n");
}

static serve_reply metrics_page(serve *s, const serve_request *r) {
  if (!is_get(r)) return serve_method_not_allowed("GET, HEAD");
  char *body = s->opts.metrics ? metrics_text(s->opts.metrics) : heap_strdup("");
  return (serve_reply){.status = MHD_HTTP_OK, .body = body, .type = "text/plain; version=0.0.4; charset=utf-8"};
}

/* How much body a page reads: none for the probes and /metrics, a git
 * host's push for the webhook (opts.max_body), a small JSON for the API. */
typedef enum { BODY_NONE, BODY_WEBHOOK, BODY_API } body_kind;

/* The handler label of the request metrics names the page, not the path:
 * paths carry app names without bound. The webhook comes before the rest
 * of /api/: it authenticates by signature, not by bearer token. */
static const struct {
  const char *path, *handler;
  bool prefix;
  page_fn *answer;
  body_kind body;
} pages[] = {
    {"/healthz", "healthz", false, healthz, BODY_NONE},
    {"/readyz", "readyz", false, readyz, BODY_NONE},
    {"/metrics", "metrics", false, metrics_page, BODY_NONE},
    {"/api/v1/webhook", "webhook", false, serve_webhook_answer, BODY_WEBHOOK},
    {"/api/v1/session", "session", false, serve_session_answer, BODY_API},
    {"/api/v1/stream", "stream", false, serve_stream_answer, BODY_NONE},
    {"/api/v1/settings", "settings", false, serve_settings_answer, BODY_NONE},
    {"/api/", "api", true, serve_api_answer, BODY_API},
    {"/auth/", "sso", true, serve_sso_answer, BODY_NONE},
    {"/", "ui", true, serve_ui_answer, BODY_NONE},
};

enum { NPAGES = sizeof pages / sizeof *pages };

/* The pages the probe port serves: the first NPROBE_PAGES. */
enum { NPROBE_PAGES = 3 };

/* The page for url; NPAGES when there is none (on the probe port, none
 * but the probes' and /metrics). */
static size_t page_of(const char *url, bool probe_port) {
  size_t i = 0;
  for (; i < (probe_port ? NPROBE_PAGES : NPAGES); i++)
    if (pages[i].prefix ? strncmp(url, pages[i].path, strlen(pages[i].path)) == 0 : strcmp(url, pages[i].path) == 0)
      return i;
  return NPAGES;
}

static double seconds_since(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void count(serve *s, const char *handler, unsigned status, const upload *u) {
  char code[8];
  snprintf(code, sizeof code, "%u", status);
  metrics_add(s->requests, (const char *[]){handler, code}, 1);
  metrics_observe(s->durations, (const char *[]){handler}, seconds_since(&u->start));
}

/* Every answer forbids other sites to frame it or browsers to guess its
 * type, and runs no script or style but the UI's own files: names, labels
 * and commit messages come from users, and must never run. */
static const char *const security_headers[][2] = {
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
     "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
};

static enum MHD_Result send_reply(serve *s, struct MHD_Connection *c, size_t page, serve_reply *r, const upload *u) {
  count(s, page < NPAGES ? pages[page].handler : "other", r->status, u);
  struct MHD_Response *res =
      r->stream ? serve_stream_response(r->stream)
      : r->feed ? serve_feed_response(r->feed)
                : MHD_create_response_from_buffer(strlen(r->body), r->body, MHD_RESPMEM_MUST_FREE);
  if (r->type) MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
  MHD_add_response_header(res, MHD_HTTP_HEADER_CACHE_CONTROL, r->cache ? r->cache : "no-store");
  for (size_t i = 0; i < sizeof security_headers / sizeof *security_headers; i++)
    MHD_add_response_header(res, security_headers[i][0], security_headers[i][1]);
  if (r->allow) MHD_add_response_header(res, MHD_HTTP_HEADER_ALLOW, r->allow);
  if (r->challenge) MHD_add_response_header(res, MHD_HTTP_HEADER_WWW_AUTHENTICATE, r->challenge);
  for (char *c = r->cookie, *end; c && *c; c = end + !!*end) {
    end = c + strcspn(c, "\n");
    char saved = *end;
    *end = '\0';
    MHD_add_response_header(res, MHD_HTTP_HEADER_SET_COOKIE, c);
    *end = saved;
  }
  if (r->location) MHD_add_response_header(res, MHD_HTTP_HEADER_LOCATION, r->location);
  if (r->etag) MHD_add_response_header(res, MHD_HTTP_HEADER_ETAG, r->etag);
  free(r->cookie);
  free(r->location);
  enum MHD_Result ok = MHD_queue_response(c, r->status, res);
  MHD_destroy_response(res);
  return ok;
}

static serve_reply too_large(void) { return serve_error(MHD_HTTP_CONTENT_TOO_LARGE, "the body is too large"); }

/* The bytes of body page may have (a page not found, none). */
static size_t body_limit(const serve *s, size_t page) {
  body_kind k = page < NPAGES ? pages[page].body : BODY_NONE;
  return k == BODY_WEBHOOK ? s->opts.max_body
         : k == BODY_API   ? (s->opts.max_body < API_MAX_BODY ? s->opts.max_body : API_MAX_BODY)
                           : 0;
}

static bool declares_too_much(serve *s, struct MHD_Connection *c, size_t page) {
  const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  return length && strtoull(length, NULL, 10) > body_limit(s, page);
}

static void take(serve *s, upload *u, size_t page, const char *data, size_t n) {
  if (u->too_big || u->body.len + n > body_limit(s, page)) u->too_big = true;
  else buf_put(&u->body, data, n);
}

static enum MHD_Result answer_request(serve *s, bool probe_port, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *data, size_t *size, void **state) {
  upload *u = *state;
  size_t page = page_of(url, probe_port);
  if (!u) {
    *state = u = calloc(1, sizeof *u);
    if (!u) return MHD_NO;
    clock_gettime(CLOCK_MONOTONIC, &u->start);
    /* The headers are in: the body and the reply get the idle timeout. */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S);
    if (page == NPAGES || !declares_too_much(s, c, page)) return MHD_YES;
    serve_reply r = too_large();
    return send_reply(s, c, page, &r, u);
  }
  if (*size) {
    take(s, u, page, data, *size);
    *size = 0;
    return MHD_YES;
  }
  serve_request req = {c, method, url, u->body.data ? u->body.data : "", u->body.len};
  /* A path that is no page is not found, whatever body came (unread). */
  serve_reply r = page == NPAGES ? text(MHD_HTTP_NOT_FOUND, "not found\n")
                  : u->too_big   ? too_large()
                                 : pages[page].answer(s, &req);
  return send_reply(s, c, page, &r, u);
}

/* Each call is a piece of work the runtime's forks wait for (forkgate.h). */
static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *data, size_t *size, void **state) {
  const serve_port_of *port = cls;
  forkgate_enter();
  enum MHD_Result rc = answer_request(port->s, port->probes, c, url, method, data, size, state);
  forkgate_leave();
  return rc;
}

/* A new connection has the header timeout until its headers are in. */
static void connected(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode why) {
  const serve_port_of *port = cls;
  if (why == MHD_CONNECTION_NOTIFY_STARTED)
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, port->s->opts.header_timeout_s);
}

static void finished(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why) {
  upload *u = *state;
  if (!u) return;
  buf_free(&u->body);
  free(u);
  *state = NULL;
}

static void declare_metrics(serve *s) {
  static const double latency[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  metrics *m = s->opts.metrics;
  if (!m) return;
  s->requests = metrics_counter(m, "plumb_http_requests_total", "HTTP requests answered, by handler and status code.",
                                (const char *[]){"handler", "code", NULL});
  s->durations = metrics_histogram(m, "plumb_http_request_duration_seconds",
                                   "Time from a request's headers to its reply, by handler.",
                                   (const char *[]){"handler", NULL}, latency, sizeof latency / sizeof *latency);
  s->deliveries = metrics_counter(m, "plumb_webhook_deliveries_total",
                                  "Webhook deliveries, by provider and what became of them.",
                                  (const char *[]){"provider", "result", NULL});
}

/* Says why in *err (caller frees); -1. */
static int fail(serve *s, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(serve *s, char **err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  *err = heap_vprintf(fmt, ap);
  va_end(ap);
  return -1;
}

/* The address to listen on, or *flags for every address when there is
 * none; false when it is not an IP address. */
static bool listen_address(const char *address, unsigned port, struct sockaddr_storage *sa, unsigned *flags) {
  memset(sa, 0, sizeof *sa);
  struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
  if (!address) {
    *flags |= MHD_USE_DUAL_STACK;
    return true;
  }
  if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    return true;
  }
  if (inet_pton(AF_INET6, address, &v6->sin6_addr) != 1) return false;
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons((uint16_t)port);
  *flags |= MHD_USE_IPv6;
  return true;
}

/* The main port's connections: as many as the process may open, less a
 * reserve for the runtime's own files, at most MAX_CONNECTIONS. */
static unsigned connection_limit(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return MAX_CONNECTIONS;
  rlim_t n = r.rlim_cur > 2 * FILES_KEPT ? r.rlim_cur - FILES_KEPT : r.rlim_cur / 2;
  return n < MAX_CONNECTIONS ? (unsigned)n : MAX_CONNECTIONS;
}

/* A daemon on address and port: the main one (all pages), or the probes'. */
static struct MHD_Daemon *start_daemon(serve *s, const char *address, unsigned port, bool probes, char **err) {
  serve_port_of *of = probes ? &s->probe_of : &s->main_of;
  *of = (serve_port_of){s, probes};
  struct sockaddr_storage sa;
  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME, limit = probes ? PROBE_CONNECTIONS : connection_limit();
  if (port > 65535) return fail(s, err, "port %u is out of range", port), NULL;
  if (!listen_address(address, port, &sa, &flags)) return fail(s, err, "not an IP address: %s", address), NULL;
  struct MHD_Daemon *d = MHD_start_daemon(
      flags, (uint16_t)port, NULL, NULL, answer, of, MHD_OPTION_SOCK_ADDR,
      address ? (struct sockaddr *)&sa : NULL, MHD_OPTION_NOTIFY_COMPLETED, finished, NULL,
      MHD_OPTION_NOTIFY_CONNECTION, connected, of, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(probes ? 1 : THREADS),
      MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT, probes ? limit : limit / 2,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_END);
  if (!d) fail(s, err, "cannot listen on port %u: %s", port, strerror(errno));
  return d;
}


int serve_start(serve **out, const serve_opts *o, char **err) {
  *out = NULL;
  serve *s = heap_calloc(1, sizeof *s);
  s->opts = *o;
  s->opts.token = heap_strdup(o->token);
  s->auth = o->auth;
  if (!s->auth && auth_load(&s->auth, NULL, err) != 0) abort();
  s->owns_auth = !o->auth;
  if (o->token) auth_add_token(s->auth, "admin", o->token);
  s->opts.webhook_secret = heap_strdup(o->webhook_secret);
  if (!s->opts.max_body) s->opts.max_body = DEFAULT_MAX_BODY;
  if (!s->opts.header_timeout_s) s->opts.header_timeout_s = HEADER_TIMEOUT_S;
  declare_metrics(s);
  pthread_mutex_init(&s->oidc_lock, NULL);
  serve_streams_start(s);
  s->daemon = start_daemon(s, o->address, o->port, false, err);
  if (s->daemon && o->probes) s->probe_daemon = start_daemon(s, o->probe_address, o->probe_port, true, err);
  if (!s->daemon || (o->probes && !s->probe_daemon)) {
    serve_stop(s);
    return -1;
  }
  *out = s;
  return 0;
}

static unsigned port_of(struct MHD_Daemon *d) {
  const union MHD_DaemonInfo *info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
  return info ? info->port : 0;
}

unsigned serve_port(const serve *s) { return port_of(s->daemon); }
unsigned serve_probe_port(const serve *s) { return port_of(s->probe_daemon); }

void serve_set_ready(serve *s, bool ready) { atomic_store(&s->ready, ready); }

void serve_stop(serve *s) {
  if (!s) return;
  serve_streams_stop(s);
  serve_feeds_stop(s);
  if (s->daemon) MHD_stop_daemon(s->daemon);
  if (s->probe_daemon) MHD_stop_daemon(s->probe_daemon);
  free((char *)s->opts.token);
  free((char *)s->opts.webhook_secret);
  if (s->owns_auth) auth_free(s->auth);
  oidc_provider_free(s->oidc);
  pthread_mutex_destroy(&s->oidc_lock);
  serve_streams_free(s);
  free(s);
}
