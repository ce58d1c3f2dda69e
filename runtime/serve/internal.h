/* internal.h: what the files of the HTTP server share. */
#ifndef PLUMB_SERVE_INTERNAL_H
#define PLUMB_SERVE_INTERNAL_H

#include <microhttpd.h>
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
  atomic_bool ready;
  metrics_family *requests, *durations, *deliveries;
};

/* One request, its body read in full. */
typedef struct {
  struct MHD_Connection *conn;
  const char *method, *url;
  const char *body; /* NUL-terminated */
  size_t len;
} serve_request;

/* What to answer. */
typedef struct {
  unsigned status;
  char *body; /* malloc'd, NUL-terminated */
  const char *type;
  const char *allow;     /* the Allow header of a 405 */
  const char *challenge; /* the WWW-Authenticate header of a 401 */
} serve_reply;

const char *serve_header(const serve_request *r, const char *name);
/* status with json as its body; steals json. */
serve_reply serve_json(unsigned status, json_t *json);
/* status with {"error": message}. */
serve_reply serve_error(unsigned status, const char *message);
serve_reply serve_method_not_allowed(const char *allow);
/* Whether given equals secret, in time that does not depend on where they
 * differ (nor on their lengths). False when either is NULL. */
bool serve_secret_equal(const char *given, const char *secret);

/* /api/v1/apps... (api.c) and /api/v1/webhook (webhook.c). */
serve_reply serve_api_answer(serve *s, const serve_request *r);
serve_reply serve_webhook_answer(serve *s, const serve_request *r);

#endif
