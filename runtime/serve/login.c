/* login.c: who sends a request, and /api/v1/session, where a password
 * opens a session.
 *
 * A browser holds its session in a cookie (HttpOnly, so no script reads
 * it; Secure; SameSite=Strict, so no other site's page sends it), and
 * sends the session's CSRF token in X-CSRF-Token with every request that
 * changes something: a page of another origin can make the browser send
 * the cookie, never read the token. `plumb login` asks for the session id
 * itself and sends it as a bearer token, as API tokens are sent, which no
 * browser sends on its own: those requests need no CSRF token. */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "plumb/arena.h"
#include "serve/internal.h"

#define CSRF_HEADER "X-CSRF-Token"

void serve_client_address(const serve_request *r, char out[64]) {
  const union MHD_ConnectionInfo *info = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  const struct sockaddr *sa = info ? info->client_addr : NULL;
  strcpy(out, "?");
  if (sa && sa->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, 64);
  if (sa && sa->sa_family == AF_INET6) inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, 64);
}

static bool changes_state(const serve_request *r) {
  return strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
}

static serve_reply unauthorized(const char *why) {
  serve_reply r = serve_error(MHD_HTTP_UNAUTHORIZED, why);
  r.challenge = "Bearer";
  return r;
}

auth_who *serve_who(serve *s, const serve_request *r, serve_reply *why) {
  const char *bearer = serve_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
  if (bearer && strncasecmp(bearer, "Bearer ", 7) == 0) {
    auth_who *w = auth_token_who(s->auth, bearer + 7);
    if (!w) *why = unauthorized("a valid bearer token is required");
    return w;
  }
  const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, SERVE_COOKIE);
  auth_who *w = cookie ? auth_session_who(s->auth, cookie) : NULL;
  if (!w) {
    *why = unauthorized(cookie ? "the session has ended: sign in again" : "a valid bearer token is required");
    return NULL;
  }
  if (changes_state(r) && !serve_secret_equal(serve_header(r, CSRF_HEADER), w->csrf)) {
    *why = serve_error(MHD_HTTP_FORBIDDEN, "missing or wrong CSRF token");
    auth_who_free(w);
    return NULL;
  }
  return w;
}

static json_t *strings(char *const *s, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(s[i]));
  return a;
}

/* What the UI needs of who is signed in: the name, the groups, the CSRF
 * token, and what they may do in some project (to offer "New app"). */
json_t *serve_who_json(const auth *a, const auth_who *w) {
  json_t *actions = json_array();
  unsigned mask = auth_actions_somewhere(a, w);
  for (unsigned bit = 1; bit <= AUTH_ALL; bit <<= 1)
    if (mask & bit) json_array_append_new(actions, json_string(auth_action_name(bit)));
  json_t *j = json_pack("{s:s, s:o, s:b, s:o}", "user", w->user, "groups", strings(w->groups, w->ngroups), "sso",
                        w->sso, "actions", actions);
  if (w->csrf) json_object_set_new(j, "csrf", json_string(w->csrf));
  return j;
}

static serve_reply signed_in(serve *s, const auth_session *session, bool as_token, const char *user) {
  auth_who *w = auth_session_who(s->auth, session->id);
  json_t *body = serve_who_json(s->auth, w);
  auth_who_free(w);
  if (as_token) json_object_set_new(body, "token", json_string(session->id));
  serve_reply r = serve_json(MHD_HTTP_OK, body);
  if (!as_token)
    r.cookie = heap_printf(SERVE_COOKIE "=%s; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=86400", session->id);
  return r;
}

/* POST {"username", "password"} (and "token": true for the CLI). */
static serve_reply login(serve *s, const serve_request *r) {
  json_t *body = json_loadb(r->body, r->len, 0, NULL);
  const char *user = json_string_value(json_object_get(body, "username"));
  const char *password = json_string_value(json_object_get(body, "password"));
  bool as_token = json_is_true(json_object_get(body, "token"));
  serve_reply reply;
  if (!user || !password) {
    reply = serve_error(MHD_HTTP_BAD_REQUEST, "the body must be {\"username\": ..., \"password\": ...}");
  } else {
    char client[64];
    serve_client_address(r, client);
    auth_session session;
    long retry = 0;
    int rc = auth_login(s->auth, client, user, password, &session, &retry);
    if (rc == 0) reply = signed_in(s, &session, as_token, user);
    else if (rc == AUTH_ETHROTTLED)
      reply = serve_json(MHD_HTTP_TOO_MANY_REQUESTS,
                         json_pack("{s:s, s:I}", "error", "too many failed logins: wait before trying again",
                                   "retryAfter", (json_int_t)retry));
    else reply = serve_error(MHD_HTTP_UNAUTHORIZED, "wrong user name or password");
  }
  json_decref(body);
  return reply;
}

static serve_reply logout(serve *s, const serve_request *r) {
  serve_reply why;
  auth_who *w = serve_who(s, r, &why);
  if (!w) return why;
  auth_who_free(w);
  const char *bearer = serve_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
  const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, SERVE_COOKIE);
  auth_logout(s->auth, bearer && strncasecmp(bearer, "Bearer ", 7) == 0 ? bearer + 7 : cookie);
  serve_reply reply = serve_json(MHD_HTTP_OK, json_object());
  reply.cookie = heap_strdup(SERVE_COOKIE "=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
  return reply;
}

serve_reply serve_session_answer(serve *s, const serve_request *r) {
  if (strcmp(r->method, "POST") == 0) return login(s, r);
  if (strcmp(r->method, "DELETE") == 0) return logout(s, r);
  if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
    return serve_method_not_allowed("GET, HEAD, POST, DELETE");
  serve_reply why;
  auth_who *w = serve_who(s, r, &why);
  if (!w) return why;
  serve_reply reply = serve_json(MHD_HTTP_OK, serve_who_json(s->auth, w));
  auth_who_free(w);
  return reply;
}
