/* internal.h: what the files of the HTTP server share. */
#ifndef PLUMB_SERVE_INTERNAL_H
#define PLUMB_SERVE_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "plumb/serve.h"

/* What a daemon's callbacks are given: the server, and which port. */
typedef struct {
  struct serve *s;
  bool probes;
} serve_port_of;

struct serve {
  struct MHD_Daemon *daemon, *probe_daemon; /* probe_daemon NULL: no probe port */
  serve_port_of main_of, probe_of;
  serve_opts opts; /* token and webhook_secret are copies, owned here */
  auth *auth;      /* opts.auth, or one of the server's own (owns_auth) */
  pthread_mutex_t oidc_lock;
  oidc_provider *oidc; /* single sign-on's provider, once discovered (sso.c) */
  bool owns_auth;
  atomic_bool ready;
  /* The open event streams (stream.c), under streams_lock. */
  pthread_mutex_t streams_lock;
  pthread_cond_t streams_wake;
  pthread_t keepalive;
  struct serve_stream *streams;
  size_t nstreams;
  bool closing;
  /* The feeds whose writers run (feed.c), also under streams_lock. */
  struct serve_feed *feeds;
  size_t nfeeds;
  pthread_cond_t feeds_done;
  metrics_family *requests, *durations, *deliveries;
};

/* One request, its body read in full. */
typedef struct {
  struct MHD_Connection *conn;
  const char *method, *url;
  const char *body; /* NUL-terminated */
  size_t len;
} serve_request;

typedef struct serve_stream serve_stream;

/* What to answer. */
typedef struct {
  unsigned status;
  char *body; /* malloc'd, NUL-terminated */
  const char *type;
  const char *allow;     /* the Allow header of a 405 */
  const char *challenge; /* the WWW-Authenticate header of a 401 */
  char *cookie;          /* Set-Cookie headers, one a line, malloc'd; NULL: none */
  char *location;        /* a redirect's Location, malloc'd; NULL: none */
  const char *cache;     /* the Cache-Control header; NULL: no-store */
  const char *etag;
  serve_stream *stream; /* instead of a body: an event stream (stream.c) */
  serve_feed *feed;     /* or a body written as it comes (feed.c) */
} serve_reply;

/* The session cookie's name. */
#define SERVE_COOKIE "plumb_session"

const char *serve_header(const serve_request *r, const char *name);
/* status with json as its body; steals json. */
serve_reply serve_json(unsigned status, json_t *json);
/* status with {"error": message}. */
serve_reply serve_error(unsigned status, const char *message);
serve_reply serve_method_not_allowed(const char *allow);
/* Whether given equals secret, in time that does not depend on where they
 * differ (nor on their lengths). False when either is NULL. */
bool serve_secret_equal(const char *given, const char *secret);

/* The address the request came from, for the login throttle. */
void serve_client_address(const serve_request *r, char out[64]);
/* Who sent r, by bearer token or session cookie; NULL after setting *why
 * (a 401 or 403 reply) when nobody known, or a cookie's state-changing
 * request without its CSRF token. Caller frees with auth_who_free. */
auth_who *serve_who(serve *s, const serve_request *r, serve_reply *why);

/* Who w is and what they may do, as /api/v1/session answers. */
json_t *serve_who_json(const auth *a, const auth_who *w);

/* /api/v1/session (login.c), /api/v1/apps... (api.c), /api/v1/webhook
 * (webhook.c), and the web UI's pages (ui.c). */
serve_reply serve_session_answer(serve *s, const serve_request *r);
serve_reply serve_api_answer(serve *s, const serve_request *r);
serve_reply serve_ui_answer(serve *s, const serve_request *r);
serve_reply serve_stream_answer(serve *s, const serve_request *r);
serve_reply serve_sso_answer(serve *s, const serve_request *r);
serve_reply serve_settings_answer(serve *s, const serve_request *r);

/* The event streams' life beside the daemon's, and the response that
 * sends one (it owns st from then on). */
void serve_streams_start(serve *s);
void serve_streams_stop(serve *s);
void serve_streams_free(serve *s);
struct MHD_Response *serve_stream_response(serve_stream *st);
/* A callback's answer written as it comes by fn(f, job); 503 when too many
 * feeds run already (fn then runs at once, its writes refused, to free job). */
serve_reply serve_feed_answer(serve *s, struct MHD_Connection *conn, serve_feed_fn fn, void *job);
/* The response that sends f: its writer starts now, and the response owns f. */
struct MHD_Response *serve_feed_response(serve_feed *f);
/* Ends every feed and waits for their writers, before the daemon stops. */
void serve_feeds_stop(serve *s);
serve_reply serve_webhook_answer(serve *s, const serve_request *r);

#endif
