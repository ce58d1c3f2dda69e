/* auth.c: the auth file, accounts and their tokens, and what roles allow
 * (auth.h). Sessions and passwords are session.c's.
 *
 * The file is YAML, read by the compiler's reader so that every error has
 * its file:line:col; it is read once, at start, and never changed after,
 * so the threads read it without a lock. */
#include <errno.h>
#include <fnmatch.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/kube.h"
#include "plumb/yaml.h"
#include "serve/auth_internal.h"

enum { MAX_FILE = 1 << 20 };

static const char *const action_names[] = {"get", "sync", "rollback", "create", "update", "delete", "logs"};
enum { NACTIONS = sizeof action_names / sizeof *action_names };

const char *auth_action_name(auth_action act) {
  for (size_t i = 0; i < NACTIONS; i++)
    if (act == 1u << i) return action_names[i];
  return NULL;
}

/* The built-in roles, as Argo CD's readonly and admin, with sync between;
 * readonly reads logs, as Argo CD's does since logs became a permission. */
static const struct {
  const char *name;
  unsigned actions;
} builtin_roles[] = {
    {"readonly", AUTH_GET | AUTH_LOGS},
    {"sync", AUTH_GET | AUTH_LOGS | AUTH_SYNC | AUTH_ROLLBACK},
    {"admin", AUTH_ALL},
};

/* ---- reading the file ------------------------------------------------------------ */

typedef struct {
  diag_list *d;
  auth *a;
} reader;

static const char *string_of(reader *r, const value *v, const char *what) {
  if (v && v->kind == V_STRING) return v->u.str.s;
  diag_error(r->d, v->at, "%s must be a string", what);
  return NULL;
}

/* Whether obj is a mapping; an error for each field of it that is not one
 * of keys (NULL-ended), while the others are read on. */
static bool known_fields(reader *r, const value *obj, const char *what, const char *const *keys) {
  if (obj->kind != V_OBJECT) {
    diag_error(r->d, obj->at, "%s must be a mapping", what);
    return false;
  }
  for (uint32_t i = 0; i < obj->u.obj.len; i++) {
    const char *k = obj->u.obj.fields[i].key;
    size_t j = 0;
    while (keys[j] && strcmp(keys[j], k) != 0) j++;
    if (!keys[j]) diag_error(r->d, obj->u.obj.fields[i].val->at, "unknown field \"%s\" in %s", k, what);
  }
  return true;
}

static const value *list_of(reader *r, const value *v, const char *what) {
  if (!v || v->kind == V_LIST) return v;
  diag_error(r->d, v->at, "%s must be a list", what);
  return NULL;
}

/* A list of strings, copied; NULL when absent or wrong. */
static char **strings_of(reader *r, const value *v, const char *what, size_t *n) {
  *n = 0;
  if (!list_of(r, v, what) || !v) return NULL;
  char **out = heap_calloc(v->u.list.len + 1, sizeof *out);
  for (size_t i = 0; i < v->u.list.len; i++) {
    const char *s = string_of(r, v->u.list.items[i], what);
    if (s) out[(*n)++] = heap_strdup(s);
  }
  return out;
}

static unsigned actions_of(reader *r, const value *v) {
  unsigned mask = 0;
  if (!list_of(r, v, "a role's actions") || !v) return 0;
  for (size_t i = 0; i < v->u.list.len; i++) {
    const char *s = string_of(r, v->u.list.items[i], "an action");
    size_t j = 0;
    while (s && j < NACTIONS && strcmp(action_names[j], s) != 0) j++;
    if (s && j == NACTIONS)
      diag_error(r->d, v->u.list.items[i]->at,
                 "unknown action \"%s\"; expected get, sync, rollback, create, update or delete", s);
    else if (s) mask |= 1u << j;
  }
  return mask;
}

/* The actions of the role called name, or -1 after an error at at. */
static long role_actions(reader *r, const char *name, pos at) {
  for (size_t i = 0; i < sizeof builtin_roles / sizeof *builtin_roles; i++)
    if (strcmp(builtin_roles[i].name, name) == 0) return builtin_roles[i].actions;
  for (size_t i = 0; i < r->a->nroles; i++)
    if (strcmp(r->a->roles[i].name, name) == 0) return r->a->roles[i].actions;
  diag_error(r->d, at, "unknown role \"%s\"; the built-in ones are readonly, sync and admin", name);
  return -1;
}

/* "2027-01-01T00:00:00Z" as seconds since the epoch; -1 when malformed. */
static long long parse_time(const char *s) {
  struct tm tm = {0};
  const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return end && !*end ? (long long)timegm(&tm) : -1;
}

static bool is_sha256_hex(const char *s) { return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64; }

static void read_token(reader *r, auth_account *acc, const value *v) {
  static const char *const keys[] = {"name", "sha256", "expires", NULL};
  if (!known_fields(r, v, "a token", keys)) return;
  const value *digest = value_object_get(v, "sha256"), *expires = value_object_get(v, "expires");
  auth_token t = {.user = acc->name};
  const char *hex = digest ? string_of(r, digest, "sha256") : NULL;
  if (!digest) diag_error(r->d, v->at, "a token needs its sha256, the SHA-256 of the token in hex");
  else if (hex && !is_sha256_hex(hex))
    diag_error(r->d, digest->at, "sha256 must be 64 lower-case hex digits (sha256sum of the token)");
  const char *when = expires ? string_of(r, expires, "expires") : NULL;
  if (when && (t.expires = parse_time(when)) < 0)
    diag_error(r->d, expires->at, "expires must be a UTC time as 2027-01-31T00:00:00Z, not \"%s\"", when);
  if (!hex || !is_sha256_hex(hex) || t.expires < 0) return;
  for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++) sscanf(hex + 2 * i, "%2hhx", &t.digest[i]);
  auth_push_token(r->a, &t);
}

/* bcrypt as crypt(3) writes it: $2a$, $2b$ or $2y$, a cost, 53 more. */
static bool is_bcrypt(const char *s) {
  return strlen(s) == 60 && s[0] == '$' && s[1] == '2' && strchr("aby", s[2]) && s[3] == '$';
}

static void read_account(reader *r, const value *v) {
  static const char *const keys[] = {"name", "password", "groups", "tokens", NULL};
  if (!known_fields(r, v, "an account", keys)) return;
  const value *name = value_object_get(v, "name"), *password = value_object_get(v, "password");
  const char *who = name ? string_of(r, name, "an account's name") : NULL;
  if (!name) diag_error(r->d, v->at, "an account needs a name");
  if (!who) return;
  if (auth_account_find(r->a, who)) {
    diag_error(r->d, name->at, "account \"%s\" is declared twice", who);
    return;
  }
  auth_account *acc = auth_push_account(r->a, who);
  const char *hash = password ? string_of(r, password, "password") : NULL;
  if (hash && !is_bcrypt(hash))
    diag_error(r->d, password->at, "password must be a bcrypt hash ($2b$..., 60 characters), never the password");
  else if (hash) acc->password = heap_strdup(hash);
  acc->groups = strings_of(r, value_object_get(v, "groups"), "groups", &acc->ngroups);
  const value *tokens = list_of(r, value_object_get(v, "tokens"), "tokens");
  for (size_t i = 0; tokens && i < tokens->u.list.len; i++) read_token(r, acc, tokens->u.list.items[i]);
}

static void read_role(reader *r, const value *v) {
  static const char *const keys[] = {"name", "actions", NULL};
  if (!known_fields(r, v, "a role", keys)) return;
  const value *name = value_object_get(v, "name");
  const char *s = name ? string_of(r, name, "a role's name") : NULL;
  if (!name) diag_error(r->d, v->at, "a role needs a name");
  if (!s) return;
  r->a->roles = heap_realloc(r->a->roles, (r->a->nroles + 1) * sizeof *r->a->roles);
  r->a->roles[r->a->nroles++] = (auth_role){heap_strdup(s), actions_of(r, value_object_get(v, "actions"))};
}

static void read_grant(reader *r, const value *v) {
  static const char *const keys[] = {"subject", "role", "projects", NULL};
  if (!known_fields(r, v, "a grant", keys)) return;
  const value *subject = value_object_get(v, "subject"), *role = value_object_get(v, "role");
  const char *who = subject ? string_of(r, subject, "subject") : NULL;
  const char *what = role ? string_of(r, role, "role") : NULL;
  if (!subject || !role) diag_error(r->d, v->at, "a grant needs a subject and a role");
  if (who && strncmp(who, "user:", 5) != 0 && strncmp(who, "group:", 6) != 0)
    diag_error(r->d, subject->at, "subject must be user:NAME or group:NAME, not \"%s\"", who);
  long actions = what ? role_actions(r, what, role->at) : -1;
  if (!who || actions < 0 || (strncmp(who, "user:", 5) != 0 && strncmp(who, "group:", 6) != 0)) return;
  auth_grant g = {.subject = heap_strdup(who), .actions = (unsigned)actions};
  g.projects = strings_of(r, value_object_get(v, "projects"), "projects", &g.nprojects);
  if (!g.projects) {
    g.projects = heap_calloc(2, sizeof *g.projects);
    g.projects[g.nprojects++] = heap_strdup("*");
  }
  r->a->grants = heap_realloc(r->a->grants, (r->a->ngrants + 1) * sizeof *r->a->grants);
  r->a->grants[r->a->ngrants++] = g;
}

/* The client secret from its file, without the newline editors end it with. */
static char *read_client_secret(reader *r, const value *v) {
  const char *path = string_of(r, v, "client_secret_file");
  size_t len = 0;
  char *s = path ? kube_read_file(path, 4096, &len) : NULL;
  if (path && !s) diag_error(r->d, v->at, "cannot read %s: %s", path, strerror(errno));
  while (s && len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r')) s[--len] = '\0';
  return s;
}

static char *optional(reader *r, const value *obj, const char *key) {
  const value *v = value_object_get(obj, key);
  const char *s = v ? string_of(r, v, key) : NULL;
  return s ? heap_strdup(s) : NULL;
}

static void read_sso(reader *r, const value *v) {
  static const char *const keys[] = {
      "name", "issuer", "client_id", "client_secret_file", "redirect_uri", "groups_claim", "scopes", "ca_file", NULL};
  if (!known_fields(r, v, "sso", keys)) return;
  static const char *const required[] = {"issuer", "client_id", "redirect_uri"};
  for (size_t i = 0; i < 3; i++)
    if (!value_object_get(v, required[i])) diag_error(r->d, v->at, "sso needs %s", required[i]);
  auth *a = r->a;
  a->has_sso = true;
  a->sso_name = optional(r, v, "name");
  a->sso = (oidc_config){.issuer = optional(r, v, "issuer"),
                         .client_id = optional(r, v, "client_id"),
                         .redirect_uri = optional(r, v, "redirect_uri"),
                         .groups_claim = optional(r, v, "groups_claim"),
                         .scopes = optional(r, v, "scopes"),
                         .ca_file = optional(r, v, "ca_file")};
  const value *secret = value_object_get(v, "client_secret_file");
  if (secret) a->sso.client_secret = read_client_secret(r, secret);
}

const oidc_config *auth_sso(const auth *a, const char **name) {
  if (name) *name = a->sso_name ? a->sso_name : "single sign-on";
  return a->has_sso ? &a->sso : NULL;
}

static void read_file(reader *r, const value *doc) {
  static const char *const keys[] = {"accounts", "roles", "grants", "default_role", "sso", NULL};
  if (!known_fields(r, doc, "the auth file", keys)) return;
  const value *accounts = list_of(r, value_object_get(doc, "accounts"), "accounts");
  const value *roles = list_of(r, value_object_get(doc, "roles"), "roles");
  const value *grants = list_of(r, value_object_get(doc, "grants"), "grants");
  const value *def = value_object_get(doc, "default_role"), *sso = value_object_get(doc, "sso");
  if (sso) read_sso(r, sso);
  for (size_t i = 0; accounts && i < accounts->u.list.len; i++) read_account(r, accounts->u.list.items[i]);
  /* Roles before grants: a grant names a role the file may define after it. */
  for (size_t i = 0; roles && i < roles->u.list.len; i++) read_role(r, roles->u.list.items[i]);
  for (size_t i = 0; grants && i < grants->u.list.len; i++) read_grant(r, grants->u.list.items[i]);
  const char *name = def ? string_of(r, def, "default_role") : NULL;
  long actions = name && *name ? role_actions(r, name, def->at) : 0;
  r->a->default_actions = actions > 0 ? (unsigned)actions : 0;
}

/* The diagnostics as text, "file:line:col: error: ..." with their lines. */
static char *diag_text(const diag_list *d) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) abort();
  diag_print(d, f);
  if (fclose(f) != 0) abort();
  while (len > 0 && text[len - 1] == '\n') text[--len] = '\0';
  return text;
}

/* text, the auth file called name, into a. */
static int read_text(auth *a, const char *name, const char *text, size_t len, char **err) {
  arena *ar = arena_new();
  diag_list d;
  diag_init(&d, ar);
  diag_add_source(&d, name, text, len);
  value *docs = NULL;
  if (yaml_read(ar, &d, name, text, len, &docs) == 0) {
    reader r = {&d, a};
    if (docs->u.list.len != 1) diag_error(&d, docs->at, "the auth file must hold one YAML document");
    else read_file(&r, docs->u.list.items[0]);
  }
  int rc = d.errors ? -1 : 0;
  if (rc) *err = diag_text(&d);
  arena_free(ar);
  return rc;
}

static int load_file(auth *a, const char *path, char **err) {
  size_t len = 0;
  char *text = kube_read_file(path, MAX_FILE, &len);
  if (!text) {
    *err = heap_printf("cannot read %s: %s", path, errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
    return -1;
  }
  int rc = read_text(a, path, text, len, err);
  free(text);
  return rc;
}

int auth_load_text(auth **out, const char *name, const char *text, size_t len, char **err) {
  auth *a = auth_new();
  if (read_text(a, name, text, len, err) != 0) {
    auth_free(a);
    return -1;
  }
  *out = a;
  return 0;
}

int auth_load(auth **out, const char *path, char **err) {
  auth *a = auth_new();
  if (path && load_file(a, path, err) != 0) {
    auth_free(a);
    return -1;
  }
  *out = a;
  return 0;
}

bool auth_has_admin(const auth *a) { return auth_account_find((auth *)a, "admin") != NULL; }

/* ---- tokens ------------------------------------------------------------------------ */

void auth_add_token(auth *a, const char *user, const char *token) {
  if (!auth_account_find(a, user)) auth_push_account(a, user);
  auth_token t = {.user = auth_account_find(a, user)->name};
  SHA256((const unsigned char *)token, strlen(token), t.digest);
  auth_push_token(a, &t);
}

auth_who *auth_token_who(auth *a, const char *token) {
  if (!token) return NULL;
  auth_who *w = auth_session_who(a, token);
  if (w) return w;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256((const unsigned char *)token, strlen(token), digest);
  long long now = (long long)time(NULL);
  const auth_token *t = auth_token_find(a, digest, now);
  if (!t) return NULL;
  const auth_account *acc = auth_account_find(a, t->user);
  w = auth_who_new(acc->name, (const char *const *)acc->groups, acc->ngroups);
  w->expires = t->expires ? (long)(t->expires - now) : 0;
  return w;
}

/* ---- what roles allow ---------------------------------------------------------- */

static bool is_subject(const auth_who *w, const char *subject) {
  if (strncmp(subject, "user:", 5) == 0) return strcmp(subject + 5, w->user) == 0;
  for (size_t i = 0; i < w->ngroups; i++)
    if (strcmp(subject + 6, w->groups[i]) == 0) return true;
  return false;
}

static bool covers(const auth_grant *g, const char *project) {
  for (size_t i = 0; i < g->nprojects; i++)
    if (project ? fnmatch(g->projects[i], project, 0) == 0 : strcmp(g->projects[i], "*") == 0) return true;
  return false;
}

/* A file's accounts are who they say; admin (the file's or the generated
 * one) may do everything, as Argo CD's admin. */
unsigned auth_actions(const auth *a, const auth_who *w, const char *project) {
  if (!w) return 0;
  if (!w->sso && strcmp(w->user, "admin") == 0) return AUTH_ALL;
  unsigned mask = a->default_actions;
  for (size_t i = 0; i < a->ngrants; i++)
    if (is_subject(w, a->grants[i].subject) && covers(&a->grants[i], project)) mask |= a->grants[i].actions;
  return mask;
}

unsigned auth_actions_somewhere(const auth *a, const auth_who *w) {
  if (!w) return 0;
  unsigned mask = auth_actions(a, w, NULL);
  for (size_t i = 0; i < a->ngrants; i++)
    if (is_subject(w, a->grants[i].subject)) mask |= a->grants[i].actions;
  return mask;
}

bool auth_sees_some(const auth *a, const auth_who *w) { return !(auth_actions(a, w, NULL) & AUTH_GET); }
