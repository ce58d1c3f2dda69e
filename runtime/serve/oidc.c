/* oidc.c: the relying party of OpenID Connect (oidc.h): discovery, the
 * pending logins, the authorization URL and the token endpoint, on libcurl.
 * oidc_token.c judges the ID token that comes back.
 *
 * Pending logins live in a ring in the order they began: the oldest, the
 * first to expire and the first to drop when the ring is full, are always at
 * its head, so keeping the bounds costs nothing; a consumed login leaves a
 * hole there until the head passes it. Finding a state scans the ring:
 * 10,000 comparisons of 43 bytes, a few microseconds, against the round trip
 * to the token endpoint that follows. */
#include "plumb/oidc.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oidc_internal.h"
#include "plumb/arena.h"

enum {
  MAX_PENDING = 10000,
  PENDING_SECONDS = 10 * 60,
  MAX_ANSWER = 1024 * 1024,
  HTTP_SECONDS = 10,
  /* Unknown key ids refetch the keys at most this often: a stream of
   * tokens naming keys that do not exist must not become a stream of
   * requests to the provider. */
  REFETCH_SECONDS = 10,
  /* 32 random bytes, the 256 bits RFC 7636 (7.1) recommends for the
   * verifier, are 43 characters of base64url. */
  RANDOM_BYTES = 32,
  RANDOM_CHARS = 43,
};

typedef struct {
  char state[RANDOM_CHARS + 1]; /* "" once consumed */
  char nonce[RANDOM_CHARS + 1];
  char verifier[RANDOM_CHARS + 1];
  time_t began; /* CLOCK_MONOTONIC seconds */
} pending;

struct oidc_provider {
  char *issuer, *client_id, *client_secret, *redirect_uri, *scopes, *groups_claim, *ca_file;
  char *authorization_endpoint, *token_endpoint, *jwks_uri;
  bool secret_post; /* the provider takes the secret in the form, not basic auth */

  pthread_mutex_t pending_lock;
  pending *ring; /* MAX_PENDING slots */
  size_t head, count;

  pthread_mutex_t keys_lock; /* held across a fetch, so one thread fetches */
  oidc_keys *keys;           /* NULL until the first oidc_finish */
  time_t keys_fetched;       /* CLOCK_MONOTONIC seconds */
};

static time_t monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

/* ---- HTTP ------------------------------------------------------------------ */

typedef struct {
  buf body;
  bool too_big;
} answer;

static size_t answer_write(char *data, size_t size, size_t n, void *ctx) {
  answer *a = ctx;
  if (a->body.len + size * n > MAX_ANSWER) {
    a->too_big = true;
    return 0; /* curl stops with CURLE_WRITE_ERROR */
  }
  buf_put(&a->body, data, size * n);
  return size * n;
}

/* https, or http to the loopback interface. */
static bool url_allowed(const char *url) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL;
  bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            (strcmp(scheme, "https") == 0 ||
             (strcmp(scheme, "http") == 0 &&
              (strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0 || strcmp(host, "localhost") == 0)));
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return ok;
}

/* GET url, or POST form to it (with basic auth as user and password when
 * user is not NULL); its JSON in *out and its status in *status. what names
 * the endpoint in messages. */
static int http_json(const oidc_provider *p, const char *what, const char *url, const char *form, const char *user,
                     const char *password, json_t **out, long *status, char **err) {
  *out = NULL;
  CURL *curl = curl_easy_init();
  if (!curl) abort();
  answer a = {0};
  char why[CURL_ERROR_SIZE] = "";
  struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* other threads: no SIGALRM for DNS timeouts */
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)HTTP_SECONDS);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, answer_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, why);
  if (p->ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, p->ca_file);
  if (form) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
  if (user) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, user);
    curl_easy_setopt(curl, CURLOPT_PASSWORD, password);
  }
  CURLcode rc = curl_easy_perform(curl);
  *status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  int result = OIDC_EUNREACHABLE;
  if (a.too_big) *err = heap_printf("the %s answered more than %d bytes", what, MAX_ANSWER);
  else if (rc != CURLE_OK) *err = heap_printf("cannot reach the %s: %s", what, *why ? why : curl_easy_strerror(rc));
  else if (!(*out = json_loadb(a.body.data ? a.body.data : "", a.body.len, JSON_REJECT_DUPLICATES, NULL)) ||
           !json_is_object(*out))
    *err = heap_printf("the %s answered HTTP %ld, not a JSON object", what, *status);
  else result = 0;
  if (result && *out) {
    json_decref(*out);
    *out = NULL;
  }
  /* A token endpoint's answer holds tokens: leave none in freed memory. */
  if (a.body.data) explicit_bzero(a.body.data, a.body.len);
  buf_free(&a.body);
  return result;
}

/* ---- discovery ------------------------------------------------------------- */

/* The endpoint name of the discovery document d, copied into *out. */
static bool endpoint(const json_t *d, const char *name, char **out, char **err) {
  const char *url = json_string_value(json_object_get(d, name));
  if (!url || !url_allowed(url)) {
    *err = heap_printf("the discovery document's \"%s\" is not an https URL", name);
    return false;
  }
  *out = heap_strdup(url);
  return true;
}

static bool list_has(const json_t *list, const char *s) {
  size_t i;
  const json_t *one;
  json_array_foreach(list, i, one) if (json_is_string(one) && strcmp(json_string_value(one), s) == 0) return true;
  return false;
}

static int discover(oidc_provider *p, char **err) {
  size_t len = strlen(p->issuer);
  while (len && p->issuer[len - 1] == '/') len--;
  char *url = heap_printf("%.*s/.well-known/openid-configuration", (int)len, p->issuer);
  json_t *d;
  long status;
  int rc = http_json(p, "discovery document", url, NULL, NULL, NULL, &d, &status, err);
  free(url);
  if (rc) return rc;
  const char *issuer = json_string_value(json_object_get(d, "issuer"));
  const json_t *auth = json_object_get(d, "token_endpoint_auth_methods_supported");
  const json_t *pkce = json_object_get(d, "code_challenge_methods_supported");
  rc = OIDC_EUNREACHABLE;
  if (status != 200) {
    *err = heap_printf("the discovery document answered HTTP %ld", status);
  } else if (!issuer || strcmp(issuer, p->issuer) != 0) {
    /* Discovery 1.0, 4.3: anything else could be another provider's keys. */
    *err = heap_printf("the discovery document names issuer \"%.256s\", not \"%s\"", issuer ? issuer : "", p->issuer);
  } else if (json_is_array(pkce) && !list_has(pkce, "S256")) {
    *err = heap_printf("the provider does not support PKCE with S256");
  } else if (endpoint(d, "authorization_endpoint", &p->authorization_endpoint, err) &&
             endpoint(d, "token_endpoint", &p->token_endpoint, err) && endpoint(d, "jwks_uri", &p->jwks_uri, err)) {
    /* client_secret_basic is the default (Discovery 1.0, section 3). */
    p->secret_post =
        json_is_array(auth) && !list_has(auth, "client_secret_basic") && list_has(auth, "client_secret_post");
    rc = 0;
  }
  json_decref(d);
  return rc;
}

int oidc_provider_new(oidc_provider **out, const oidc_config *c, char **err) {
  *out = NULL;
  if (!c->issuer || !c->client_id || !*c->client_id || !c->redirect_uri || !*c->redirect_uri) {
    *err = heap_printf("OIDC needs an issuer, a client id and a redirect URI");
    return OIDC_ERROR;
  }
  if (!url_allowed(c->issuer)) {
    *err = heap_printf("the OIDC issuer \"%s\" is not an https URL", c->issuer);
    return OIDC_ERROR;
  }
  oidc_provider *p = heap_calloc(1, sizeof *p);
  p->issuer = heap_strdup(c->issuer);
  p->client_id = heap_strdup(c->client_id);
  p->client_secret = heap_strdup(c->client_secret);
  p->redirect_uri = heap_strdup(c->redirect_uri);
  p->scopes = heap_strdup(c->scopes ? c->scopes : "openid profile email groups");
  p->groups_claim = heap_strdup(c->groups_claim ? c->groups_claim : "groups");
  p->ca_file = heap_strdup(c->ca_file);
  p->ring = heap_calloc(MAX_PENDING, sizeof *p->ring);
  pthread_mutex_init(&p->pending_lock, NULL);
  pthread_mutex_init(&p->keys_lock, NULL);
  int rc = discover(p, err);
  if (rc) oidc_provider_free(p);
  else *out = p;
  return rc;
}

void oidc_provider_free(oidc_provider *p) {
  if (!p) return;
  if (p->client_secret) explicit_bzero(p->client_secret, strlen(p->client_secret));
  explicit_bzero(p->ring, MAX_PENDING * sizeof *p->ring);
  free(p->issuer);
  free(p->client_id);
  free(p->client_secret);
  free(p->redirect_uri);
  free(p->scopes);
  free(p->groups_claim);
  free(p->ca_file);
  free(p->authorization_endpoint);
  free(p->token_endpoint);
  free(p->jwks_uri);
  free(p->ring);
  oidc_keys_free(p->keys);
  pthread_mutex_destroy(&p->pending_lock);
  pthread_mutex_destroy(&p->keys_lock);
  free(p);
}

/* ---- pending logins -------------------------------------------------------- */

/* Forgets the login at the head, the oldest. Locked. */
static void pending_drop_oldest(oidc_provider *p) {
  explicit_bzero(&p->ring[p->head], sizeof *p->ring);
  p->head = (p->head + 1) % MAX_PENDING;
  p->count--;
}

/* Drops the logins at the head that are consumed or expired. Locked. */
static void pending_trim(oidc_provider *p, time_t now) {
  while (p->count && (!*p->ring[p->head].state || now - p->ring[p->head].began >= PENDING_SECONDS))
    pending_drop_oldest(p);
}

static void pending_add(oidc_provider *p, const pending *n) {
  pthread_mutex_lock(&p->pending_lock);
  pending_trim(p, n->began);
  if (p->count == MAX_PENDING) pending_drop_oldest(p);
  p->ring[(p->head + p->count++) % MAX_PENDING] = *n;
  pthread_mutex_unlock(&p->pending_lock);
}

/* Finds the login of state, moves it into *out and forgets it. */
static bool pending_take(oidc_provider *p, const char *state, pending *out) {
  time_t now = monotonic();
  bool found = false;
  if (strlen(state) != RANDOM_CHARS) return false;
  pthread_mutex_lock(&p->pending_lock);
  pending_trim(p, now);
  for (size_t i = 0; i < p->count && !found; i++) {
    pending *n = &p->ring[(p->head + i) % MAX_PENDING];
    if (*n->state && now - n->began < PENDING_SECONDS && CRYPTO_memcmp(n->state, state, RANDOM_CHARS) == 0) {
      *out = *n;
      explicit_bzero(n, sizeof *n);
      found = true;
    }
  }
  pthread_mutex_unlock(&p->pending_lock);
  return found;
}

/* ---- the login ------------------------------------------------------------- */

static void random_string(char out[RANDOM_CHARS + 1]) {
  unsigned char bytes[RANDOM_BYTES];
  if (RAND_bytes(bytes, sizeof bytes) != 1) abort();
  char *s = oidc_base64url(bytes, sizeof bytes);
  memcpy(out, s, RANDOM_CHARS + 1);
  explicit_bzero(bytes, sizeof bytes);
  free(s);
}

/* &name=value, value percent-encoded (all but RFC 3986's unreserved). */
static void param(buf *b, const char *name, const char *value) {
  char *v = curl_easy_escape(NULL, value, 0);
  if (!v) abort();
  buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, v);
  curl_free(v);
}

void oidc_begin(oidc_provider *p, char **url, char **state) {
  pending n = {.began = monotonic()};
  random_string(n.state);
  random_string(n.nonce);
  random_string(n.verifier);
  char *challenge = oidc_pkce_challenge(n.verifier);
  buf q = {0};
  param(&q, "response_type", "code");
  param(&q, "client_id", p->client_id);
  param(&q, "redirect_uri", p->redirect_uri);
  param(&q, "scope", p->scopes);
  param(&q, "state", n.state);
  param(&q, "nonce", n.nonce);
  param(&q, "code_challenge", challenge);
  param(&q, "code_challenge_method", "S256");
  *url = heap_printf("%s%c%s", p->authorization_endpoint, strchr(p->authorization_endpoint, '?') ? '&' : '?', q.data);
  *state = heap_strdup(n.state);
  pending_add(p, &n);
  explicit_bzero(&n, sizeof n);
  buf_free(&q);
  free(challenge);
}

/* The OAuth error code of a refusal, if it is one (RFC 6749, 5.2: a word of
 * printable ASCII); its description is left out, as it could quote the code. */
static const char *oauth_error(const json_t *answer) {
  const char *e = json_string_value(json_object_get(answer, "error"));
  return e && *e && strlen(e) <= 64 && strspn(e, "abcdefghijklmnopqrstuvwxyz_") == strlen(e) ? e : NULL;
}

/* Trades code for the ID token (RFC 6749, 4.1.3; RFC 7636, 4.5). */
static int redeem(oidc_provider *p, const char *code, const char *verifier, char **id_token, char **err) {
  buf form = {0};
  param(&form, "grant_type", "authorization_code");
  param(&form, "code", code);
  param(&form, "redirect_uri", p->redirect_uri);
  param(&form, "code_verifier", verifier);
  /* Basic auth form-encodes the id and secret first (RFC 6749, 2.3.1). */
  char *user = NULL, *password = NULL;
  if (!p->client_secret || p->secret_post) param(&form, "client_id", p->client_id);
  if (p->client_secret && p->secret_post) param(&form, "client_secret", p->client_secret);
  if (p->client_secret && !p->secret_post) {
    user = curl_easy_escape(NULL, p->client_id, 0);
    password = curl_easy_escape(NULL, p->client_secret, 0);
    if (!user || !password) abort();
  }
  json_t *a;
  long status;
  int rc = http_json(p, "token endpoint", p->token_endpoint, form.data, user, password, &a, &status, err);
  explicit_bzero(form.data, form.len);
  buf_free(&form);
  if (password) explicit_bzero(password, strlen(password));
  curl_free(user);
  curl_free(password);
  if (rc) return rc;
  const json_t *token = json_object_get(a, "id_token");
  if (status == 200 && json_is_string(token)) {
    *id_token = heap_strdup(json_string_value(token));
  } else if (oauth_error(a)) {
    *err = heap_printf("the token endpoint refused the code: %s", oauth_error(a));
    rc = OIDC_EREFUSED;
  } else {
    *err = heap_printf("the token endpoint answered HTTP %ld without an ID token", status);
    rc = OIDC_EUNREACHABLE;
  }
  json_decref(a);
  return rc;
}

/* The provider's keys, into p->keys. keys_lock held. */
static int keys_fetch(oidc_provider *p, char **err) {
  json_t *jwks;
  long status;
  int rc = http_json(p, "JWK Set", p->jwks_uri, NULL, NULL, NULL, &jwks, &status, err);
  if (rc) return rc;
  oidc_keys *keys = NULL;
  if (status != 200) {
    *err = heap_printf("the JWK Set answered HTTP %ld", status);
    rc = OIDC_EUNREACHABLE;
  } else if ((rc = oidc_keys_parse(&keys, jwks, err)) == 0) {
    oidc_keys_free(p->keys);
    p->keys = keys;
    p->keys_fetched = monotonic();
  }
  json_decref(jwks);
  return rc;
}

static int verify(oidc_provider *p, const char *id_token, const char *nonce, oidc_identity *out, char **err) {
  oidc_expect e = {.issuer = p->issuer, .client_id = p->client_id, .nonce = nonce, .groups_claim = p->groups_claim};
  pthread_mutex_lock(&p->keys_lock);
  int rc = p->keys ? 0 : keys_fetch(p, err);
  if (!rc) {
    e.now = time(NULL);
    rc = oidc_token_verify(id_token, p->keys, &e, out, err);
  }
  /* The provider may have rotated its keys since they were fetched. */
  if (rc == OIDC_EKID && monotonic() - p->keys_fetched >= REFETCH_SECONDS) {
    free(*err);
    *err = NULL;
    rc = keys_fetch(p, err);
    if (!rc) rc = oidc_token_verify(id_token, p->keys, &e, out, err);
  }
  pthread_mutex_unlock(&p->keys_lock);
  return rc == OIDC_EKID ? OIDC_EINVALID : rc;
}

int oidc_finish(oidc_provider *p, const char *state, const char *code, oidc_identity *out, char **err) {
  *out = (oidc_identity){0};
  pending n;
  if (!state || !pending_take(p, state, &n)) {
    *err = heap_printf("no login is waiting for this state (it expired, was used, or was never begun)");
    return OIDC_ESTATE;
  }
  char *id_token = NULL;
  int rc = OIDC_EREFUSED;
  /* A provider that refuses the login redirects with an error, no code. */
  if (!code || !*code) *err = heap_printf("the provider sent no code");
  else rc = redeem(p, code, n.verifier, &id_token, err);
  if (!rc) rc = verify(p, id_token, n.nonce, out, err);
  if (id_token) explicit_bzero(id_token, strlen(id_token));
  free(id_token);
  explicit_bzero(&n, sizeof n);
  return rc;
}
