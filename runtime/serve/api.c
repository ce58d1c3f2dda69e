/* api.c: /api/v1/apps and below: who asks (login.c), the routes, the
 * body, then the owner's callback, which checks what they may do. */
#include <string.h>
#include <strings.h>

#include "serve/internal.h"

#define APPS "/api/v1/apps"

/* A path is /api/v1/apps, /api/v1/apps/NAME or /api/v1/apps/NAME/ACTION. */
static const struct {
  const char *method;
  bool named;
  const char *action;
  serve_api api;
} routes[] = {
    {"GET", false, "", SERVE_APPS},
    {"POST", false, "", SERVE_CREATE},
    {"GET", true, "", SERVE_APP},
    {"PUT", true, "", SERVE_UPDATE},
    {"DELETE", true, "", SERVE_DELETE},
    {"GET", true, "resources", SERVE_RESOURCES},
    {"GET", true, "history", SERVE_HISTORY},
    {"GET", true, "diff", SERVE_DIFF},
    {"GET", true, "tree", SERVE_TREE},
    {"GET", true, "object", SERVE_OBJECT},
    {"POST", true, "sync", SERVE_SYNC},
    {"POST", true, "rollback", SERVE_ROLLBACK},
    {"POST", true, "refresh", SERVE_REFRESH},
    {"POST", true, "suspend", SERVE_SUSPEND},
    {"POST", true, "resume", SERVE_RESUME},
    {"DELETE", true, "object", SERVE_DELETE_OBJECT},
    {"GET", true, "logs", SERVE_LOGS},
};

enum { NROUTES = sizeof routes / sizeof *routes, NAME_MAX_LEN = 253 };

/* Splits url into the app's name (into name, "" for none) and the action;
 * false when it is no path of the API. */
static bool split(const char *url, char name[NAME_MAX_LEN + 1], const char **action) {
  *name = '\0';
  *action = "";
  if (strncmp(url, APPS, strlen(APPS)) != 0) return false;
  const char *rest = url + strlen(APPS);
  if (!*rest) return true;
  if (*rest++ != '/') return false;
  size_t n = strcspn(rest, "/");
  if (n == 0 || n > NAME_MAX_LEN) return false;
  memcpy(name, rest, n);
  name[n] = '\0';
  if (!rest[n]) return true;
  *action = rest + n + 1;
  return **action && !strchr(*action, '/');
}

/* The route for the path and method (HEAD as GET); else the path's first
 * route, whatever its method; NROUTES when the path has none. */
static size_t route_of(bool named, const char *action, const char *method) {
  size_t first = NROUTES;
  if (strcmp(method, "HEAD") == 0) method = "GET";
  for (size_t i = 0; i < NROUTES; i++) {
    if (routes[i].named != named || strcmp(routes[i].action, action) != 0) continue;
    if (strcmp(routes[i].method, method) == 0) return i;
    if (first == NROUTES) first = i;
  }
  return first;
}

/* The methods the path takes, for a 405's Allow: the thread's own text,
 * which the reply is sent with before the thread answers another. */
static const char *allowed(bool named, const char *action) {
  static _Thread_local char out[64];
  size_t n = 0;
  for (size_t i = 0; i < NROUTES; i++)
    if (routes[i].named == named && strcmp(routes[i].action, action) == 0)
      n += (size_t)snprintf(out + n, sizeof out - n, "%s%s%s", n ? ", " : "", routes[i].method,
                            strcmp(routes[i].method, "GET") == 0 ? ", HEAD" : "");
  return out;
}

/* The body of a POST: none, or a JSON object; for a rollback its "id" must
 * be an integer, for a sync "prune" and "dryRun" booleans. Returns what is
 * wrong with it, or NULL. */
static const char *read_body(const serve_request *r, serve_call *call, json_t **body) {
  *body = NULL;
  if (r->len == 0) return NULL;
  json_t *json = json_loadb(r->body, r->len, 0, NULL);
  const json_t *id = json_object_get(json, "id"), *prune = json_object_get(json, "prune");
  const json_t *dry = json_object_get(json, "dryRun");
  const char *wrong = !json_is_object(json)                 ? "the body is not a JSON object"
                      : id && !json_is_integer(id)           ? "id is not an integer"
                      : (prune && !json_is_boolean(prune)) || (dry && !json_is_boolean(dry))
                          ? "prune and dryRun are true or false"
                          : NULL;
  if (wrong) {
    json_decref(json);
    return wrong;
  }
  call->has_id = id != NULL;
  call->id = json_integer_value(id);
  *body = json;
  return NULL;
}

/* The callback's status and body; its defaults when it gives no body. */
static serve_reply call_owner(serve *s, const serve_request *r, serve_api api, serve_call *call) {
  json_t *out = NULL;
  char *text = NULL;
  serve_feed_fn feed = NULL;
  void *job = NULL;
  call->text = &text;
  call->feed = &feed;
  call->feed_job = &job;
  int status = s->opts.api[api](call, &out, s->opts.ctx);
  if (feed && status == 200) {
    json_decref(out);
    free(text);
    return serve_feed_answer(s, r->conn, feed, job);
  }
  if (status < 100 || status > 599) {
    json_decref(out);
    free(text);
    return serve_error(MHD_HTTP_INTERNAL_SERVER_ERROR, "the handler gave no valid status");
  }
  if (text) {
    json_decref(out);
    return (serve_reply){.status = (unsigned)status, .body = text, .type = "application/json"};
  }
  if (out) return serve_json((unsigned)status, out);
  if (status >= 400) return serve_error((unsigned)status, MHD_get_reason_phrase_for((unsigned)status));
  return serve_json((unsigned)status, json_object());
}

static enum MHD_Result add_arg(void *query, enum MHD_ValueKind kind, const char *key, const char *value) {
  if (value && json_object_size(query) < 16) json_object_set_new(query, key, json_string(value));
  return MHD_YES;
}

/* The route for r's path and method, its body, then the owner's answer. */
static serve_reply answer(serve *s, const serve_request *r, const auth_who *who) {
  char name[NAME_MAX_LEN + 1];
  const char *action;
  size_t i = split(r->url, name, &action) ? route_of(*name != '\0', action, r->method) : NROUTES;
  if (i == NROUTES || !s->opts.api[routes[i].api]) return serve_error(MHD_HTTP_NOT_FOUND, "no such route");
  bool head = strcmp(r->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0;
  if (strcmp(r->method, routes[i].method) != 0 && !head)
    return serve_method_not_allowed(allowed(*name != '\0', action));
  json_t *query = json_object();
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg, query);
  serve_call call = {.who = who, .auth = s->auth, .app = *name ? name : NULL, .query = query,
                     .method = r->method, .path = r->url,
                     .authorization = serve_header(r, MHD_HTTP_HEADER_AUTHORIZATION),
                     .forwarded = serve_header(r, SERVE_FORWARDED) != NULL};
  if (call.forwarded && strcmp(who->user, "admin") == 0) call.on_behalf = serve_header(r, SERVE_ON_BEHALF);
  json_t *body = NULL;
  bool has_body = strcmp(routes[i].method, "POST") == 0 || strcmp(routes[i].method, "PUT") == 0;
  const char *bad = has_body ? read_body(r, &call, &body) : NULL;
  call.body = body;
  serve_reply reply = bad ? serve_error(MHD_HTTP_BAD_REQUEST, bad) : call_owner(s, r, routes[i].api, &call);
  json_decref(body);
  json_decref(query);
  return reply;
}

serve_reply serve_api_answer(serve *s, const serve_request *r) {
  serve_reply why;
  auth_who *who = serve_who(s, r, &why);
  if (!who) return why;
  serve_reply reply = answer(s, r, who);
  auth_who_free(who);
  return reply;
}
