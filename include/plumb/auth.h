/* auth.h: who may use plumb run's API and web UI, and what they may do.
 *
 * Someone is an account of the auth file (docs/runtime.md, "Users and
 * permissions"), `admin`, or a user signed in through OpenID Connect. They
 * prove it with a password (which opens a session: a cookie for the
 * browser, a bearer token for `plumb login`), or with an API token of
 * their account. What they may do is the union of what the roles granted
 * to them, to their groups and to everyone signed in allow, per project,
 * as Argo CD's RBAC grants it.
 *
 * Passwords are kept as bcrypt hashes (libcrypt's crypt_r), API tokens as
 * SHA-256 digests, sessions in memory under the SHA-256 of their id: none
 * of what the process holds opens anything if it leaks. Every function may
 * be called from any thread once auth_load has returned. */
#ifndef PLUMB_AUTH_H
#define PLUMB_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "plumb/oidc.h"

typedef struct auth auth;

/* What a role allows, as a set of bits. */
typedef enum {
  AUTH_GET = 1 << 0,      /* see applications, their objects, diffs, history */
  AUTH_SYNC = 1 << 1,     /* sync, refresh, suspend and resume auto-sync */
  AUTH_ROLLBACK = 1 << 2, /* roll back to a history entry */
  AUTH_CREATE = 1 << 3,   /* create applications */
  AUTH_UPDATE = 1 << 4,   /* change applications */
  AUTH_DELETE = 1 << 5,   /* delete applications and live objects */
  AUTH_LOGS = 1 << 6,     /* read Pods' logs, as Argo CD's logs resource */
  AUTH_ALL = (1 << 7) - 1,
} auth_action;

/* Someone signed in, a copy the caller owns (auth_who_free). */
typedef struct {
  char *user;
  char **groups;
  size_t ngroups;
  char *csrf;   /* the session's CSRF token; NULL when not a session */
  bool sso;     /* signed in through OIDC */
  long expires; /* seconds from now until the session or token ends; 0: never */
} auth_who;

/* A session just opened: its id (the cookie's value, or a bearer token)
 * and its CSRF token, 64 hex digits each. */
typedef struct {
  char id[65], csrf[65];
} auth_session;

enum {
  AUTH_EDENIED = -1,    /* wrong user or password */
  AUTH_ETHROTTLED = -2, /* too many failures of late: wait */
  AUTH_EINVALID = -3,
};

/* Reads the auth file at path (NULL: no file, so only admin and the
 * token given by auth_add_token). *err (caller frees) has every error
 * with its file:line:col. */
int auth_load(auth **out, const char *path, char **err);
/* The same, of the file's text (len bytes), named name in the errors. */
int auth_load_text(auth **out, const char *name, const char *text, size_t len, char **err);
void auth_free(auth *a);

/* The single sign-on the file configures (its `sso`): the provider's
 * configuration, and the name its button gives it; NULL when none. */
const oidc_config *auth_sso(const auth *a, const char **name);

/* Whether the file declared admin; if not, the owner gives admin a
 * password (auth_set_admin_password), generated into a Secret. */
bool auth_has_admin(const auth *a);
void auth_set_admin_password(auth *a, const char *password);
/* A bcrypt hash of password (caller frees), as the auth file takes it. */
char *auth_hash_password(const char *password);
/* A random password of 20 characters of [A-Za-z0-9] into out. */
void auth_random_password(char out[21]);
/* token becomes an API token of user's (the --token-file token: admin's). */
void auth_add_token(auth *a, const char *user, const char *token);

/* Checks user's password; from client (an address, for the throttle).
 * On success opens a session into *s. *retry_s, for AUTH_ETHROTTLED, says
 * when to try again. */
int auth_login(auth *a, const char *client, const char *user, const char *password, auth_session *s, long *retry_s);
/* Opens a session for a user the OIDC provider vouched for. */
void auth_login_sso(auth *a, const char *user, const char *const *groups, size_t ngroups, auth_session *s);
void auth_logout(auth *a, const char *session_id);
/* Who holds this session id, or NULL. */
auth_who *auth_session_who(auth *a, const char *session_id);
/* Who holds this bearer token (an API token, or a session id from `plumb
 * login`), or NULL. */
auth_who *auth_token_who(auth *a, const char *token);
void auth_who_free(auth_who *w);

/* What w may do in project (NULL: in every project). */
unsigned auth_actions(const auth *a, const auth_who *w, const char *project);
static inline bool auth_allows(const auth *a, const auth_who *w, const char *project, auth_action act) {
  return (auth_actions(a, w, project) & act) == act;
}
/* What w may do in one project or another (the UI offers "New app" to
 * those who may create one somewhere). */
unsigned auth_actions_somewhere(const auth *a, const auth_who *w);
/* Whether w may see some projects but not all: a list must be filtered. */
bool auth_sees_some(const auth *a, const auth_who *w);
/* The names of actions, for the API: "get", "sync", ... in order. */
const char *auth_action_name(auth_action act);

#endif
