/* session.c: passwords, sessions and the login throttle (auth.h).
 *
 * A session lives in memory for SESSION_TTL_S, as Argo CD's tokens live a
 * day; a restart of the runtime signs everyone out. The table is bounded:
 * past MAX_SESSIONS the oldest session goes. A password is checked with
 * bcrypt, which takes a quarter of a second on purpose; five failures in a
 * row for one user or from one address lock logins for LOCK_S. */
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/auth_internal.h"

enum {
  SESSION_TTL_S = 24 * 3600,
  MAX_SESSIONS = 10000,
  MAX_FAILURES = 10000, /* keys the throttle remembers */
  FAILURES_ALLOWED = 5,
  LOCK_S = 30,
  BCRYPT_COST = 12,
};

static long long now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec;
}

static void random_hex(char out[65]) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) abort();
  for (size_t i = 0; i < sizeof bytes; i++) snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

/* The key a session is kept under: its id's digest, in hex. */
static void session_key(const char *id, char out[65]) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256((const unsigned char *)id, strlen(id), d);
  for (size_t i = 0; i < sizeof d; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

char *auth_hash_password(const char *password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  struct crypt_data *data = heap_calloc(1, sizeof *data);
  if (!crypt_gensalt_rn("$2b$", BCRYPT_COST, NULL, 0, salt, sizeof salt)) abort();
  const char *h = crypt_r(password, salt, data);
  if (!h || *h == '*') abort();
  char *copy = heap_strdup(h);
  free(data);
  return copy;
}

static bool password_matches(const char *password, const char *hash) {
  struct crypt_data *data = heap_calloc(1, sizeof *data);
  const char *h = crypt_r(password, hash, data);
  bool ok = h && strlen(h) == strlen(hash) && CRYPTO_memcmp(h, hash, strlen(hash)) == 0;
  explicit_bzero(data, sizeof *data);
  free(data);
  return ok;
}

auth *auth_new(void) {
  auth *a = heap_calloc(1, sizeof *a);
  pthread_mutex_init(&a->lock, NULL);
  a->sessions = json_object();
  a->failures = json_object();
  return a;
}

static void free_strings(char **s, size_t n) {
  for (size_t i = 0; i < n; i++) free(s[i]);
  free(s);
}

void auth_free(auth *a) {
  if (!a) return;
  for (size_t i = 0; i < a->naccounts; i++) {
    free(a->accounts[i].name);
    free(a->accounts[i].password);
    free_strings(a->accounts[i].groups, a->accounts[i].ngroups);
  }
  for (size_t i = 0; i < a->nroles; i++) free(a->roles[i].name);
  for (size_t i = 0; i < a->ngrants; i++) {
    free(a->grants[i].subject);
    free_strings(a->grants[i].projects, a->grants[i].nprojects);
  }
  free(a->accounts);
  free(a->tokens);
  free(a->roles);
  free(a->grants);
  free(a->dummy_hash);
  free(a->sso_name);
  free((char *)a->sso.issuer);
  free((char *)a->sso.client_id);
  free((char *)a->sso.redirect_uri);
  free((char *)a->sso.groups_claim);
  free((char *)a->sso.scopes);
  free((char *)a->sso.ca_file);
  if (a->sso.client_secret) explicit_bzero((char *)a->sso.client_secret, strlen(a->sso.client_secret));
  free((char *)a->sso.client_secret);
  json_decref(a->sessions);
  json_decref(a->failures);
  pthread_mutex_destroy(&a->lock);
  free(a);
}

auth_account *auth_account_find(auth *a, const char *name) {
  for (size_t i = 0; i < a->naccounts; i++)
    if (strcmp(a->accounts[i].name, name) == 0) return &a->accounts[i];
  return NULL;
}

/* Token users point at account names, which stay where they are when the
 * array moves. */
auth_account *auth_push_account(auth *a, const char *name) {
  a->accounts = heap_realloc(a->accounts, (a->naccounts + 1) * sizeof *a->accounts);
  a->accounts[a->naccounts] = (auth_account){.name = heap_strdup(name)};
  return &a->accounts[a->naccounts++];
}

void auth_push_token(auth *a, const auth_token *t) {
  a->tokens = heap_realloc(a->tokens, (a->ntokens + 1) * sizeof *a->tokens);
  a->tokens[a->ntokens++] = *t;
}

const auth_token *auth_token_find(const auth *a, const unsigned char digest[SHA256_DIGEST_LENGTH], long long now) {
  for (size_t i = 0; i < a->ntokens; i++)
    if (CRYPTO_memcmp(a->tokens[i].digest, digest, SHA256_DIGEST_LENGTH) == 0 &&
        (!a->tokens[i].expires || a->tokens[i].expires > now))
      return &a->tokens[i];
  return NULL;
}

void auth_set_admin_password(auth *a, const char *password) {
  auth_account *admin = auth_account_find(a, "admin");
  if (!admin) admin = auth_push_account(a, "admin");
  free(admin->password);
  admin->password = auth_hash_password(password);
}

void auth_random_password(char out[21]) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[20];
  /* 248 = 4 * 62: bytes at or past it are drawn again, so that every
   * character is as likely as the others. */
  for (size_t i = 0; i < 20;) {
    if (RAND_bytes(bytes, sizeof bytes) != 1) abort();
    for (size_t j = 0; j < sizeof bytes && i < 20; j++)
      if (bytes[j] < 248) out[i++] = alphabet[bytes[j] % 62];
  }
  out[20] = '\0';
}

auth_who *auth_who_new(const char *user, const char *const *groups, size_t ngroups) {
  auth_who *w = heap_calloc(1, sizeof *w);
  w->user = heap_strdup(user);
  w->groups = heap_calloc(ngroups + 1, sizeof *w->groups);
  for (size_t i = 0; i < ngroups; i++) w->groups[i] = heap_strdup(groups[i]);
  w->ngroups = ngroups;
  return w;
}

void auth_who_free(auth_who *w) {
  if (!w) return;
  free(w->user);
  free_strings(w->groups, w->ngroups);
  free(w->csrf);
  free(w);
}

/* ---- the throttle (under a->lock) ------------------------------------------------ */

/* Seconds until key may try again; 0: now. */
static long locked_for(auth *a, const char *key) {
  json_t *f = json_object_get(a->failures, key);
  long long n = json_integer_value(json_object_get(f, "n")), last = json_integer_value(json_object_get(f, "last"));
  long long left = last + LOCK_S - now_s();
  return n >= FAILURES_ALLOWED && left > 0 ? (long)left : 0;
}

/* Forgets the keys that no longer lock anything, when the table is full. */
static void forget_old_failures(auth *a) {
  const char *key;
  json_t *f, *tmp;
  long long now = now_s();
  json_object_foreach_safe(a->failures, tmp, key, f) {
    if (json_integer_value(json_object_get(f, "last")) + LOCK_S <= now) json_object_del(a->failures, key);
  }
}

static void count_failure(auth *a, const char *key) {
  json_t *f = json_object_get(a->failures, key);
  if (!f && json_object_size(a->failures) >= MAX_FAILURES) forget_old_failures(a);
  if (!f && json_object_size(a->failures) >= MAX_FAILURES) return;
  long long n = json_integer_value(json_object_get(f, "n"));
  json_object_set_new(a->failures, key, json_pack("{s:I, s:I}", "n", (json_int_t)(n + 1), "last", (json_int_t)now_s()));
}

/* ---- sessions (under a->lock) ------------------------------------------------------ */

static void drop_oldest_session(auth *a) {
  const char *key, *oldest = NULL;
  json_t *s;
  long long first = 0;
  json_object_foreach(a->sessions, key, s) {
    long long e = json_integer_value(json_object_get(s, "expires"));
    if (!oldest || e < first) oldest = key, first = e;
  }
  if (oldest) json_object_del(a->sessions, oldest);
}

static void open_session(auth *a, const char *user, const char *const *groups, size_t ngroups, bool sso,
                         auth_session *out) {
  random_hex(out->id);
  random_hex(out->csrf);
  char key[65];
  session_key(out->id, key);
  json_t *g = json_array();
  for (size_t i = 0; i < ngroups; i++) json_array_append_new(g, json_string(groups[i]));
  json_t *s = json_pack("{s:s, s:o, s:s, s:b, s:I}", "user", user, "groups", g, "csrf", out->csrf, "sso", sso,
                        "expires", (json_int_t)(now_s() + SESSION_TTL_S));
  if (!s) abort();
  pthread_mutex_lock(&a->lock);
  if (json_object_size(a->sessions) >= MAX_SESSIONS) drop_oldest_session(a);
  json_object_set_new(a->sessions, key, s);
  pthread_mutex_unlock(&a->lock);
}

/* A hash of no one's password, made at the first login of an unknown
 * user (a quarter of a second, which loading the file need not cost). */
static const char *dummy_hash(auth *a) {
  pthread_mutex_lock(&a->lock);
  const char *h = a->dummy_hash;
  pthread_mutex_unlock(&a->lock);
  if (h) return h;
  /* Made outside the lock, which sessions are looked up under. */
  char pw[21];
  auth_random_password(pw);
  char *made = auth_hash_password(pw);
  pthread_mutex_lock(&a->lock);
  if (!a->dummy_hash) a->dummy_hash = made, made = NULL;
  h = a->dummy_hash;
  pthread_mutex_unlock(&a->lock);
  free(made);
  return h;
}

int auth_login(auth *a, const char *client, const char *user, const char *password, auth_session *s, long *retry_s) {
  char *by_addr = heap_printf("addr:%s", client ? client : "?"), *by_user = heap_printf("user:%s", user);
  pthread_mutex_lock(&a->lock);
  long wait = locked_for(a, by_addr), wait_user = locked_for(a, by_user);
  pthread_mutex_unlock(&a->lock);
  *retry_s = wait > wait_user ? wait : wait_user;
  int rc = AUTH_ETHROTTLED;
  if (!*retry_s) {
    const auth_account *acc = auth_account_find(a, user);
    const char *hash = acc && acc->password ? acc->password : dummy_hash(a);
    rc = password_matches(password, hash) && acc && acc->password ? 0 : AUTH_EDENIED;
    pthread_mutex_lock(&a->lock);
    if (rc == 0) json_object_del(a->failures, by_user), json_object_del(a->failures, by_addr);
    else count_failure(a, by_addr), count_failure(a, by_user);
    pthread_mutex_unlock(&a->lock);
    if (rc == 0) open_session(a, acc->name, (const char *const *)acc->groups, acc->ngroups, false, s);
  }
  free(by_addr);
  free(by_user);
  return rc;
}

void auth_login_sso(auth *a, const char *user, const char *const *groups, size_t ngroups, auth_session *s) {
  open_session(a, user, groups, ngroups, true, s);
}

void auth_logout(auth *a, const char *session_id) {
  char key[65];
  session_key(session_id, key);
  pthread_mutex_lock(&a->lock);
  json_object_del(a->sessions, key);
  pthread_mutex_unlock(&a->lock);
}

static auth_who *who_of(const json_t *s, long long now) {
  json_t *g = json_object_get(s, "groups");
  size_t n = json_array_size(g);
  const char **groups = heap_calloc(n + 1, sizeof *groups);
  for (size_t i = 0; i < n; i++) groups[i] = json_string_value(json_array_get(g, i));
  auth_who *w = auth_who_new(json_string_value(json_object_get(s, "user")), groups, n);
  free(groups);
  w->csrf = heap_strdup(json_string_value(json_object_get(s, "csrf")));
  w->sso = json_is_true(json_object_get(s, "sso"));
  w->expires = (long)(json_integer_value(json_object_get(s, "expires")) - now);
  return w;
}

auth_who *auth_session_who(auth *a, const char *session_id) {
  if (!session_id || strlen(session_id) != 64) return NULL;
  char key[65];
  session_key(session_id, key);
  long long now = now_s();
  auth_who *w = NULL;
  pthread_mutex_lock(&a->lock);
  json_t *s = json_object_get(a->sessions, key);
  if (s && json_integer_value(json_object_get(s, "expires")) <= now) json_object_del(a->sessions, key);
  else if (s) w = who_of(s, now);
  pthread_mutex_unlock(&a->lock);
  return w;
}
