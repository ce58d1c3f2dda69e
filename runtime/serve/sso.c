/* sso.c: single sign-on through OpenID Connect (oidc.h), and
 * /api/v1/settings, which tells the login page whether there is one.
 *
 *   GET /auth/login     redirects the browser to the provider, with the
 *                       login's state in a cookie of its own
 *   GET /auth/callback  where the provider sends it back: the state must be
 *                       the cookie's (so that nobody can sign a browser in
 *                       as themselves by sending it a link), the code is
 *                       redeemed and the ID token checked, and a session
 *                       opens as for a password, for the token's user and
 *                       groups; then on to the applications
 *
 * The state's cookie is SameSite=Lax: the provider's redirect is a
 * navigation from another site, which a Strict cookie would not follow.
 * The provider's discovery happens at the first login, and again at the
 * next one after it failed, so that a provider down when plumb run starts
 * costs its logins, not the runtime. A failure goes back to the login page
 * with its reason. */
#include <curl/curl.h>
#include <string.h>

#include "plumb/arena.h"
#include "serve/internal.h"

#define STATE_COOKIE "plumb_sso_state"

static serve_reply redirect(const char *location, char *cookie) {
  return (serve_reply){.status = MHD_HTTP_FOUND,
                       .body = heap_strdup(""),
                       .type = "text/plain; charset=utf-8",
                       .location = heap_strdup(location),
                       .cookie = cookie};
}

/* Back to the login page, which shows why. */
static serve_reply failed(const char *why) {
  char *q = curl_easy_escape(NULL, why, 0);
  char *to = heap_printf("/login?error=%s", q ? q : "");
  curl_free(q);
  serve_reply r = redirect(to, heap_strdup(STATE_COOKIE "=; Path=/auth; HttpOnly; Secure; SameSite=Lax; Max-Age=0"));
  free(to);
  return r;
}

/* The provider, discovered once it answers; NULL with *err when it does not. */
static oidc_provider *provider(serve *s, char **err) {
  pthread_mutex_lock(&s->oidc_lock);
  if (!s->oidc && oidc_provider_new(&s->oidc, auth_sso(s->auth, NULL), err) != 0) s->oidc = NULL;
  oidc_provider *p = s->oidc;
  pthread_mutex_unlock(&s->oidc_lock);
  return p;
}

static serve_reply begin(serve *s) {
  char *err = NULL;
  oidc_provider *p = provider(s, &err);
  if (!p) {
    char *why = heap_printf("single sign-on is unavailable: %s", err);
    serve_reply r = failed(why);
    free(why);
    free(err);
    return r;
  }
  char *url, *state;
  oidc_begin(p, &url, &state);
  serve_reply r =
      redirect(url, heap_printf(STATE_COOKIE "=%s; Path=/auth; HttpOnly; Secure; SameSite=Lax; Max-Age=600", state));
  free(url);
  free(state);
  return r;
}

static const char *arg(const serve_request *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Who the ID token names: its email, else its name, else its subject. */
static const char *user_of(const oidc_identity *id) {
  return id->email ? id->email : id->name ? id->name : id->subject;
}

static serve_reply finish(serve *s, const serve_request *r) {
  const char *state = arg(r, "state"), *code = arg(r, "code"), *refused = arg(r, "error");
  const char *mine = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, STATE_COOKIE);
  if (!state || !serve_secret_equal(state, mine)) return failed("this sign-in was not started here: start again");
  char *err = NULL;
  oidc_provider *p = provider(s, &err);
  if (!p) {
    free(err);
    return failed("single sign-on is unavailable");
  }
  oidc_identity id;
  if (oidc_finish(p, state, refused ? NULL : code, &id, &err) != 0) {
    char *why = heap_printf("single sign-on failed: %s", refused ? refused : err);
    serve_reply reply = failed(why);
    free(why);
    free(err);
    return reply;
  }
  auth_session session;
  auth_login_sso(s->auth, user_of(&id), (const char *const *)id.groups, id.ngroups, &session);
  oidc_identity_free(&id);
  return redirect("/apps", heap_printf(SERVE_COOKIE
                                       "=%s; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=86400\n" STATE_COOKIE
                                       "=; Path=/auth; HttpOnly; Secure; SameSite=Lax; Max-Age=0",
                                       session.id));
}

serve_reply serve_sso_answer(serve *s, const serve_request *r) {
  if (strcmp(r->method, "GET") != 0) return serve_method_not_allowed("GET");
  bool login = strcmp(r->url, "/auth/login") == 0, callback = strcmp(r->url, "/auth/callback") == 0;
  if (!auth_sso(s->auth, NULL) || (!login && !callback)) return serve_error(MHD_HTTP_NOT_FOUND, "no such route");
  return login ? begin(s) : finish(s, r);
}

/* What the login page offers, to anyone. */
serve_reply serve_settings_answer(serve *s, const serve_request *r) {
  if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) return serve_method_not_allowed("GET, HEAD");
  const char *name;
  json_t *j = json_object();
  if (auth_sso(s->auth, &name)) json_object_set_new(j, "sso", json_pack("{s:s}", "name", name));
  return serve_json(MHD_HTTP_OK, j);
}
