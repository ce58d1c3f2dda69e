/* serve.h: plumb run's HTTP ports, on libmicrohttpd.
 *
 * The main port serves the probes (/healthz, /readyz), Prometheus
 * (/metrics), a JSON API under /api/v1/apps and the git webhook
 * (/api/v1/webhook); a probe port, when asked for, serves the probes and
 * /metrics alone. The server parses, routes and authenticates; what the
 * API answers comes from callbacks its owner gives. Callbacks run in a
 * pool of threads, several at once, each thread serving many connections
 * by events: they must be thread-safe, and one that takes long holds up
 * the other connections of its thread (never the probe port's).
 * docs/runtime.md describes the endpoints for users. */
#ifndef PLUMB_SERVE_H
#define PLUMB_SERVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "plumb/auth.h"
#include "plumb/metrics.h"

typedef struct serve serve;

/* The API's routes, each with its own callback. */
typedef enum {
  SERVE_APPS,      /* GET  /api/v1/apps */
  SERVE_APP,       /* GET  /api/v1/apps/NAME */
  SERVE_RESOURCES, /* GET  /api/v1/apps/NAME/resources */
  SERVE_HISTORY,   /* GET  /api/v1/apps/NAME/history */
  SERVE_DIFF,      /* GET  /api/v1/apps/NAME/diff */
  SERVE_TREE,      /* GET  /api/v1/apps/NAME/tree */
  SERVE_OBJECT,    /* GET  /api/v1/apps/NAME/object?kind=K&namespace=NS&name=N */
  SERVE_SYNC,      /* POST /api/v1/apps/NAME/sync, body {"prune": B, "dryRun": B} or none */
  SERVE_ROLLBACK,  /* POST /api/v1/apps/NAME/rollback, body {"id": N} or none */
  SERVE_REFRESH,   /* POST /api/v1/apps/NAME/refresh */
  SERVE_SUSPEND,   /* POST /api/v1/apps/NAME/suspend */
  SERVE_RESUME,    /* POST /api/v1/apps/NAME/resume */
  SERVE_DELETE_OBJECT, /* DELETE /api/v1/apps/NAME/object?kind=K&namespace=NS&name=N */
  SERVE_CREATE,    /* POST   /api/v1/apps, body {"name": NAME, "spec": {...}} */
  SERVE_UPDATE,    /* PUT    /api/v1/apps/NAME, body {"spec": {...}} */
  SERVE_DELETE,    /* DELETE /api/v1/apps/NAME */
  SERVE_LOGS,      /* GET    /api/v1/apps/NAME/logs?namespace=NS&name=POD&container=C&follow=B&tailLines=N */
  SERVE_API_COUNT,
} serve_api;

/* A body written as it comes, from a thread the server starts for it. */
typedef struct serve_feed serve_feed;
/* Runs in that thread: writes the body with serve_feed_write, frees job,
 * and returns when done; the body ends then. */
typedef void (*serve_feed_fn)(serve_feed *f, void *job);

/* Sends len bytes of data (copied); len 0 just asks. Waits while the client
 * is far behind. False once the client has gone or the server stops: the
 * writer should end soon (within a second or so: serve_stop waits). */
bool serve_feed_write(serve_feed *f, const char *data, size_t len);

/* The header of a request one replica passes on to another. */
#define SERVE_FORWARDED "X-Plumb-Forwarded"
#define SERVE_ON_BEHALF "X-Plumb-User"

typedef struct {
  /* Who asks (never NULL: the server refuses those it does not know), and
   * what they may do is auth_actions(auth, who, project): the owner knows
   * each application's project, so it checks. */
  const auth_who *who;
  const auth *auth;
  const char *app;    /* NAME from the path; NULL for SERVE_APPS */
  const json_t *query; /* the query string's arguments, an object of strings */
  const json_t *body; /* a POST's JSON body; NULL when it had none */
  /* As asked, for a request passed on to another replica: the method, the
   * path (no query), the Authorization header (NULL: none, a session's),
   * and whether another replica passed it on already (SERVE_FORWARDED). */
  const char *method, *path, *authorization;
  bool forwarded;
  /* Whom another replica passed it on for, with admin's token, when they
   * signed in by a session there (SERVE_ON_BEHALF); NULL otherwise. Only
   * admin's word is taken for it: for the history's "by". */
  const char *on_behalf;
  bool has_id;        /* rollback: the body gave an "id" */
  long long id;
  /* A callback may answer with JSON text it has already (malloc'd, the
   * server frees it) in *text instead of a value in *out: a large answer
   * is then not parsed to be written again. */
  char **text;
  /* Or, answering 200, a body written as it comes (text/plain; a Pod's log
   * followed): the callback sets *feed to the function the server runs in
   * a thread of its own, given *feed_job. */
  serve_feed_fn *feed;
  void **feed_job;
} serve_call;

/* Returns the HTTP status (404 for an app it does not know) and sets *out
 * to the body, which the server sends and decrefs. NULL: {} for a success,
 * {"error": "<reason phrase>"} for a failure. */
typedef int (*serve_api_fn)(const serve_call *call, json_t **out, void *ctx);

/* A push the webhook received and verified. Everything is borrowed for the
 * length of the call. */
typedef struct {
  const char *provider;    /* "github", "gitlab" or "gitea" */
  const char *ref;         /* "refs/heads/main" */
  const char *after;       /* the commit pushed, NULL when not given */
  const char *const *urls; /* every URL the payload gives the repository by */
  size_t nurls;
} serve_push;

typedef void (*serve_push_fn)(const serve_push *push, void *ctx);

/* The events for call->who after *seq, as server-sent events text
 * ("id: N\nevent: app\ndata: {...}\n\n"...), malloc'd, or NULL when none;
 * *seq becomes the last event's number. *seq -1: none yet, start from now. */
typedef char *(*serve_events_fn)(const serve_call *call, long long *seq, void *ctx);

typedef struct {
  const char *address; /* an IPv4 or IPv6 address; NULL: every address */
  unsigned port;       /* 0: any free port (serve_port says which) */
  /* Who may use the API and the UI (auth.h), borrowed; NULL: the server
   * makes one with no accounts. token, when given, becomes an API token of
   * admin's in it (plumb run's --token-file); with neither a token nor an
   * account, every call is refused. */
  auth *auth;
  const char *token;
  /* The webhook's shared secret; NULL refuses every delivery. */
  const char *webhook_secret;
  /* Bytes a webhook delivery's body may have; 0: 1 MiB. An API call's
   * may have 64 KiB at most (less when this is less), the probes' and
   * /metrics' none. */
  size_t max_body;
  /* Seconds of silence a connection may keep before its headers are in;
   * 0: 10. */
  unsigned header_timeout_s;
  /* A port for the probes and /metrics alone, so that however busy (or
   * abused) the main port is, kubelet and Prometheus get answers. */
  bool probes;
  const char *probe_address; /* NULL: every address */
  unsigned probe_port;       /* 0: any free port (serve_probe_port says which) */
  metrics *metrics; /* what /metrics shows, and where the server counts its requests; may be NULL */
  serve_api_fn api[SERVE_API_COUNT]; /* NULL: that route answers 404 */
  serve_push_fn push;
  serve_events_fn events; /* GET /api/v1/stream; NULL: 404 */
  void *ctx; /* given to every callback */
} serve_opts;

/* Starts serving in threads of its own; *err (caller frees) says why not.
 * The strings of o are copied. */
int serve_start(serve **out, const serve_opts *o, char **err);
/* The port it listens on; the probe port, 0 when it has none. */
unsigned serve_port(const serve *s);
unsigned serve_probe_port(const serve *s);
/* /readyz answers 200 once the owner says it is ready, 503 before (and
 * after it says it is not any more). */
void serve_set_ready(serve *s, bool ready);
/* The owner has news: every open event stream asks opts.events for it.
 * Any thread. */
void serve_notify(serve *s);
/* Stops listening, waits for the requests in flight, frees s. */
void serve_stop(serve *s);

#endif
