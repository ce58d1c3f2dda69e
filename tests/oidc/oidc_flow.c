/* oidc_flow.c: the whole login of oidc.h against a real provider, the Dex
 * tests/oidc/up.sh starts: oidc_begin, the browser's part played by
 * tests/oidc/login.sh (curl), then oidc_finish, for users with groups; and
 * what must be refused: a replayed state, a tampered code, a code redeemed
 * under another login's state (PKCE), a wrong client secret, an issuer that
 * differs by a slash, a provider whose certificate is not trusted; and
 * the bound on pending logins. With OIDC_RESTART, a command that restarts
 * Dex with new keys, the keys are fetched again when they change.
 *
 * Usage: oidc_flow LOGIN_SH, with OIDC_ISSUER, OIDC_CA, OIDC_CLIENT_ID,
 * OIDC_CLIENT_SECRET and OIDC_REDIRECT_URI set (up.sh's DIR/env), and
 * OIDC_RESTART (flow.sh's). Prints "ok NAME" or "FAIL NAME: why" a check,
 * then "N passed, N failed". */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/arena.h"
#include "plumb/oidc.h"

static int passed, failed;
static const char *login_sh;
/* When oidc_finish first fetched the provider's keys (CLOCK_MONOTONIC). */
static struct timespec keys_fetched;

static void check(const char *name, bool good, const char *fmt, ...) {
  if (good) {
    printf("ok %s\n", name);
    passed++;
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  printf("FAIL %s: ", name);
  vprintf(fmt, ap);
  putchar('\n');
  va_end(ap);
  failed++;
}

static oidc_config config(void) {
  return (oidc_config){.issuer = getenv("OIDC_ISSUER"),
                       .client_id = getenv("OIDC_CLIENT_ID"),
                       .client_secret = getenv("OIDC_CLIENT_SECRET"),
                       .redirect_uri = getenv("OIDC_REDIRECT_URI"),
                       .ca_file = getenv("OIDC_CA")};
}

/* The value of name in the query of url, decoded; NULL if absent. Caller
 * frees. */
static char *query_value(const char *url, const char *name) {
  const char *q = strchr(url, '?');
  size_t n = strlen(name);
  for (const char *p = q; p; p = strchr(p + 1, '&'))
    if (strncmp(p + 1, name, n) == 0 && p[1 + n] == '=') {
      const char *v = p + 2 + n;
      int len = 0;
      char *raw = curl_easy_unescape(NULL, v, (int)strcspn(v, "&#"), &len);
      char *out = heap_strndup(raw, (size_t)len);
      curl_free(raw);
      return out;
    }
  return NULL;
}

/* One login: oidc_begin's URL and state, then what Dex redirected back
 * with, when login.sh got that far. */
typedef struct {
  char *url, *state, *code, *back;
} login;

/* Begins a login and plays the browser in it as email: false when
 * login.sh failed (its words, but when quiet, on stderr). */
static bool login_as(oidc_provider *p, const char *email, const char *password, bool quiet, login *l) {
  *l = (login){0};
  oidc_begin(p, &l->url, &l->state);
  setenv("LOGIN_URL", l->url, 1);
  setenv("LOGIN_EMAIL", email, 1);
  setenv("LOGIN_PASSWORD", password, 1);
  char *cmd = heap_printf("sh %s%s", login_sh, quiet ? " 2>/dev/null" : ""), line[8192] = "";
  FILE *f = popen(cmd, "r");
  bool got = f && fgets(line, sizeof line, f);
  bool good = (f ? pclose(f) : -1) == 0 && got;
  free(cmd);
  line[strcspn(line, "\n")] = '\0';
  l->code = good ? query_value(line, "code") : NULL;
  l->back = good ? query_value(line, "state") : NULL;
  return l->code && l->back;
}

static void login_free(login *l) {
  free(l->url);
  free(l->state);
  free(l->code);
  free(l->back);
}

/* oidc_finish's code; its words, if any, in err (caller frees). */
static int finish(oidc_provider *p, const char *state, const char *code, oidc_identity *id, char **err) {
  *err = NULL;
  return oidc_finish(p, state, code, id, err);
}

/* A whole login as email, begun and finished: oidc_finish's code, its
 * identity in *id and its words in *err (caller frees both); LOGIN_FAILED
 * when login.sh got no code. */
enum { LOGIN_FAILED = 1 };
static int log_in(oidc_provider *p, const char *email, const char *password, oidc_identity *id, char **err) {
  login l;
  int rc = LOGIN_FAILED;
  *id = (oidc_identity){0};
  *err = heap_strdup("login.sh failed");
  if (login_as(p, email, password, false, &l)) {
    free(*err);
    rc = finish(p, l.back, l.code, id, err);
  }
  login_free(&l);
  return rc;
}

static bool has_group(const oidc_identity *id, const char *group) {
  for (size_t i = 0; i < id->ngroups; i++)
    if (strcmp(id->groups[i], group) == 0) return true;
  return false;
}

/* Alice logs in; her state and code then do not work a second time. */
static void alice(oidc_provider *p) {
  login l;
  bool logged_in = login_as(p, "alice@example.com", "alice-password", false, &l);
  check("alice logs in at dex", logged_in, "login.sh failed");
  if (!logged_in) {
    login_free(&l);
    return;
  }
  check("dex returns the state", strcmp(l.back, l.state) == 0, "sent %s, got %s", l.state, l.back);
  oidc_identity id;
  char *err;
  int rc = finish(p, l.back, l.code, &id, &err);
  check("alice's code is redeemed", rc == 0, "%d: %s", rc, err ? err : "");
  clock_gettime(CLOCK_MONOTONIC, &keys_fetched);
  if (rc == 0) {
    check("alice's subject", id.subject && *id.subject, "empty");
    check("alice's email", id.email && strcmp(id.email, "alice@example.com") == 0 && id.email_verified, "%s",
          id.email ? id.email : "(none)");
    check("alice's name", id.name && strcmp(id.name, "alice") == 0, "%s", id.name ? id.name : "(none)");
    check("alice's groups", id.ngroups == 2 && has_group(&id, "admins") && has_group(&id, "authors"), "%zu groups",
          id.ngroups);
  }
  oidc_identity_free(&id);
  free(err);
  rc = finish(p, l.back, l.code, &id, &err);
  check("a replayed state is refused", rc == OIDC_ESTATE, "%d: %s", rc, err ? err : "");
  free(err);
  login_free(&l);
}

/* Bob's code, one letter changed, is refused by the provider; the state it
 * was tried with is spent, and the words of the refusal do not quote it. */
static void tampered(oidc_provider *p) {
  login l;
  if (!login_as(p, "bob@example.com", "bob-password", false, &l)) {
    check("a tampered code is refused", false, "login.sh failed");
    login_free(&l);
    return;
  }
  char *bad = heap_strdup(l.code), *err;
  bad[0] = bad[0] == 'a' ? 'b' : 'a';
  oidc_identity id;
  int rc = finish(p, l.back, bad, &id, &err);
  check("a tampered code is refused", rc == OIDC_EREFUSED, "%d: %s", rc, err ? err : "");
  check("the refusal does not quote the code", err && !strstr(err, bad) && !strstr(err, l.code), "%s", err ? err : "");
  free(err);
  rc = finish(p, l.back, l.code, &id, &err);
  check("a refused login's state is spent", rc == OIDC_ESTATE, "%d: %s", rc, err ? err : "");
  oidc_identity_free(&id);
  free(err);
  free(bad);
  login_free(&l);
}

/* A code taken under one login and brought back with another's state: the
 * verifier sent is not the one the code's challenge was made from. */
static void swapped(oidc_provider *p) {
  const char *name = "a code under another login's state is refused (PKCE)";
  login l, other;
  if (login_as(p, "bob@example.com", "bob-password", false, &l)) {
    oidc_begin(p, &other.url, &other.state);
    oidc_identity id;
    char *err;
    int rc = finish(p, other.state, l.code, &id, &err);
    check(name, rc == OIDC_EREFUSED, "%d: %s", rc, err ? err : "");
    oidc_identity_free(&id);
    free(err);
    free(other.url);
    free(other.state);
  } else {
    check(name, false, "login.sh failed");
  }
  login_free(&l);
}

/* Dex restarted (OIDC_RESTART) signs with a new key. A token under its kid
 * within 10 seconds of the keys' fetch is refused without asking Dex again
 * (the bound on refetches); after them, the keys are fetched again and bob
 * gets in. The checks between the two halves fill the wait. */
static bool rotate(oidc_provider *p) {
  const char *restart = getenv("OIDC_RESTART");
  if (!restart) {
    printf("note: OIDC_RESTART is not set: key rotation not tested\n");
    return false;
  }
  check("dex restarts with new keys", system(restart) == 0, "%s failed", restart);
  oidc_identity id;
  char *err;
  int rc = log_in(p, "bob@example.com", "bob-password", &id, &err);
  check("a new key within 10 s of the fetch is refused", rc == OIDC_EINVALID && err && strstr(err, "no key"), "%d: %s",
        rc, err ? err : "");
  oidc_identity_free(&id);
  free(err);
  return true;
}

static void bob_after_rotation(oidc_provider *p) {
  /* REFETCH_SECONDS in oidc.c, and a little more. */
  struct timespec until = {keys_fetched.tv_sec + 10, keys_fetched.tv_nsec + 500000000};
  if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) != 0) continue;
  oidc_identity id;
  char *err;
  int rc = log_in(p, "bob@example.com", "bob-password", &id, &err);
  check("bob logs in with the new keys, in group readers",
        rc == 0 && id.email && strcmp(id.email, "bob@example.com") == 0 && id.ngroups == 1 && has_group(&id, "readers"),
        "%d: %s", rc, err ? err : "");
  oidc_identity_free(&id);
  free(err);
}

static void wrong_password(oidc_provider *p) {
  login l;
  check("a wrong password gets no code", !login_as(p, "bob@example.com", "alice-password", true, &l),
        "login.sh succeeded");
  login_free(&l);
}

/* At most 10,000 logins wait; one more drops the oldest. A state still
 * waiting gets as far as the token endpoint, which refuses a made-up code. */
static void pending_logins_are_bounded(oidc_provider *p) {
  char *url, *oldest, *second, *err;
  oidc_begin(p, &url, &oldest);
  free(url);
  oidc_begin(p, &url, &second);
  free(url);
  for (int i = 0; i < 9999; i++) {
    char *state;
    oidc_begin(p, &url, &state);
    free(url);
    free(state);
  }
  oidc_identity id;
  int rc = finish(p, oldest, "made-up", &id, &err);
  check("the oldest of 10,001 pending logins is dropped", rc == OIDC_ESTATE, "%d: %s", rc, err ? err : "");
  free(err);
  rc = finish(p, second, "made-up", &id, &err);
  check("the second oldest still waits", rc == OIDC_EREFUSED, "%d: %s", rc, err ? err : "");
  free(err);
  free(oldest);
  free(second);
}

/* The right code with the wrong client secret. */
static void wrong_secret(void) {
  const char *name = "a wrong client secret is refused";
  oidc_config c = config();
  c.client_secret = "not-the-secret";
  oidc_provider *p;
  char *err;
  int rc = oidc_provider_new(&p, &c, &err);
  if (rc) {
    check(name, false, "%s", err);
    free(err);
    return;
  }
  oidc_identity id;
  rc = log_in(p, "alice@example.com", "alice-password", &id, &err);
  check(name, rc == OIDC_EREFUSED, "%d: %s", rc, err ? err : "");
  check("the refusal does not quote the secret", err && !strstr(err, c.client_secret), "%s", err ? err : "");
  oidc_identity_free(&id);
  free(err);
  oidc_provider_free(p);
}

static void refused_at_start(const char *name, oidc_config c) {
  oidc_provider *p = NULL;
  char *err = NULL;
  int rc = oidc_provider_new(&p, &c, &err);
  check(name, rc == OIDC_EUNREACHABLE && !p, "%d: %s", rc, err ? err : "");
  free(err);
  oidc_provider_free(p);
}

int main(int argc, char **argv) {
  if (argc != 2 || !getenv("OIDC_ISSUER")) {
    fprintf(stderr, "usage: OIDC_ISSUER=... oidc_flow LOGIN_SH (see tests/oidc/flow.sh)\n");
    return 2;
  }
  login_sh = argv[1];
  curl_global_init(CURL_GLOBAL_DEFAULT);
  oidc_config c = config();
  oidc_provider *p;
  char *err = NULL;
  int rc = oidc_provider_new(&p, &c, &err);
  check("discovery", rc == 0, "%d: %s", rc, err ? err : "");
  free(err);
  if (rc == 0) {
    alice(p);
    bool rotated = rotate(p);
    tampered(p);
    swapped(p);
    wrong_password(p);
    pending_logins_are_bounded(p);
    char *e = NULL;
    oidc_identity id;
    rc = oidc_finish(p, "never-begun-never-begun-never-begun-never-b", "code", &id, &e);
    check("an unknown state is refused", rc == OIDC_ESTATE, "%d", rc);
    free(e);
    if (rotated) bob_after_rotation(p);
    oidc_provider_free(p);
  }
  wrong_secret();
  char *slashed = heap_printf("%s/", c.issuer);
  oidc_config other = c;
  other.issuer = slashed;
  refused_at_start("an issuer that differs by a slash is refused", other);
  other = c;
  other.ca_file = NULL;
  refused_at_start("an untrusted certificate is refused", other);
  free(slashed);
  curl_global_cleanup();
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
