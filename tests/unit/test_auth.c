/* test_auth.c: the auth file (accounts, tokens, roles, grants) and what
 * each person may do per project; its errors with their file:line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plumb/auth.h"

static char path[64];

/* An auth file of text, at path. */
static void write_file(const char *text) {
  strcpy(path, "/tmp/plumb-auth-test-XXXXXX");
  int fd = mkstemp(path);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) fail_msg("cannot write %s", path);
  close(fd);
}

static auth *load(const char *text) {
  write_file(text);
  auth *a = NULL;
  char *err = NULL;
  if (auth_load(&a, path, &err) != 0) fail_msg("%s", err);
  unlink(path);
  return a;
}

/* The error auth_load gives for text, with the file's name as FILE. */
static char *error_of(const char *text) {
  write_file(text);
  auth *a = NULL;
  char *err = NULL;
  assert_int_equal(auth_load(&a, path, &err), -1);
  assert_null(a);
  unlink(path);
  size_t n = strlen(path);
  for (char *at; (at = strstr(err, path));) {
    memcpy(at, "FILE", 4);
    memmove(at + 4, at + n, strlen(at + n) + 1);
  }
  return err;
}

static auth_who *who(const char *user, const char *group) {
  auth_who *w = calloc(1, sizeof *w);
  w->user = strdup(user);
  w->groups = calloc(2, sizeof *w->groups);
  if (group) w->groups[w->ngroups++] = strdup(group);
  return w;
}

static const char *const policy = "roles:\n"
                                  "- name: deployer\n"
                                  "  actions: [get, sync]\n"
                                  "grants:\n"
                                  "- subject: group:devs\n"
                                  "  role: deployer\n"
                                  "  projects: [shop, \"web-*\"]\n"
                                  "- subject: user:carol\n"
                                  "  role: admin\n"
                                  "  projects: [shop]\n"
                                  "- subject: user:olga\n"
                                  "  role: readonly\n";

/* Roles add up per project; wildcards match projects; a grant without
 * projects is for all of them; admin may do everything. */
static void grants_add_up_per_project(void **state) {
  auth *a = load(policy);
  auth_who *dev = who("dan", "devs"), *carol = who("carol", NULL), *olga = who("olga", NULL), *eve = who("eve", NULL),
           *admin = who("admin", NULL);
  assert_int_equal(auth_actions(a, dev, "shop"), AUTH_GET | AUTH_SYNC);
  assert_int_equal(auth_actions(a, dev, "web-eu"), AUTH_GET | AUTH_SYNC);
  assert_int_equal(auth_actions(a, dev, "db"), 0);
  assert_int_equal(auth_actions(a, carol, "shop"), AUTH_ALL);
  assert_int_equal(auth_actions(a, carol, "db"), 0);
  assert_int_equal(auth_actions(a, olga, "anything"), AUTH_GET | AUTH_LOGS); /* readonly */
  assert_int_equal(auth_actions(a, eve, "shop"), 0);
  assert_int_equal(auth_actions(a, admin, "db"), AUTH_ALL);
  assert_true(auth_allows(a, dev, "shop", AUTH_SYNC));
  assert_false(auth_allows(a, dev, "shop", AUTH_ROLLBACK));
  /* Lists: olga sees every project; dan some of them, so his is filtered. */
  assert_false(auth_sees_some(a, olga));
  assert_true(auth_sees_some(a, dev));
  assert_int_equal(auth_actions_somewhere(a, carol), AUTH_ALL);
  /* An SSO user called admin is not the local admin. */
  admin->sso = true;
  assert_int_equal(auth_actions(a, admin, "db"), 0);
  auth_who *all[] = {dev, carol, olga, eve, admin};
  for (size_t i = 0; i < 5; i++) auth_who_free(all[i]);
  auth_free(a);
}

static void single_sign_on_is_configured_by_the_file(void **state) {
  auth *a = load("sso:\n  issuer: https://dex.example.com/dex\n  client_id: plumb\n"
                 "  redirect_uri: https://plumb.example.com/auth/callback\n");
  const char *name;
  const oidc_config *c = auth_sso(a, &name);
  assert_non_null(c);
  assert_string_equal(name, "single sign-on");
  assert_string_equal(c->issuer, "https://dex.example.com/dex");
  assert_null(c->client_secret);
  auth_free(a);
  a = load("default_role: \"\"\n");
  assert_null(auth_sso(a, &name));
  auth_free(a);
}

static void the_default_role_is_everyones(void **state) {
  auth *a = load("default_role: readonly\n");
  auth_who *eve = who("eve", NULL);
  assert_int_equal(auth_actions(a, eve, "any"), AUTH_GET | AUTH_LOGS);
  auth_who_free(eve);
  auth_free(a);
}

/* API tokens: kept as SHA-256, with an expiry; an expired one is refused. */
static void tokens_name_their_account_until_they_expire(void **state) {
  /* sha256("ci-token") and sha256("old-token") */
  auth *a = load("accounts:\n"
                 "- name: ci\n"
                 "  groups: [bots]\n"
                 "  tokens:\n"
                 "  - name: deploy\n"
                 "    sha256: 7b6b41a5c2b1b8e0c4fe21ec4b94fc9a1e6b0ab5ca0b1b3c09de1e4b4d0bc1f8\n"
                 "  - name: old\n"
                 "    sha256: 0d0f4a2b1c3e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8\n"
                 "    expires: 2020-01-01T00:00:00Z\n");
  auth_add_token(a, "ci", "ci-token-2");
  auth_who *w = auth_token_who(a, "ci-token-2");
  assert_non_null(w);
  assert_string_equal(w->user, "ci");
  assert_int_equal(w->ngroups, 1);
  assert_string_equal(w->groups[0], "bots");
  assert_null(w->csrf);
  auth_who_free(w);
  assert_null(auth_token_who(a, "wrong"));
  assert_null(auth_token_who(a, NULL));
  auth_free(a);
}

static void an_expired_token_is_refused(void **state) {
  /* printf 'old-token' | sha256sum */
  char text[512];
  FILE *p = popen("printf old-token | sha256sum", "r");
  char digest[65] = "";
  if (!p || !fgets(digest, sizeof digest, p)) fail_msg("sha256sum");
  pclose(p);
  snprintf(text, sizeof text,
           "accounts:\n- name: ci\n  tokens:\n  - name: old\n    sha256: %s\n    expires: 2020-01-01T00:00:00Z\n"
           "  - name: new\n    sha256: %s\n    expires: 2999-01-01T00:00:00Z\n",
           digest, digest);
  auth *a = load(text);
  auth_who *w = auth_token_who(a, "old-token");
  /* The first entry has expired; the second, the same token, has not. */
  assert_non_null(w);
  assert_true(w->expires > 0);
  auth_who_free(w);
  auth_free(a);
  snprintf(text, sizeof text, "accounts:\n- name: ci\n  tokens:\n  - sha256: %s\n    expires: 2020-01-01T00:00:00Z\n",
           digest);
  a = load(text);
  assert_null(auth_token_who(a, "old-token"));
  auth_free(a);
}

/* Passwords open sessions; the session names its person and CSRF token. */
static void a_password_opens_a_session(void **state) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE], text[256];
  struct crypt_data data = {0};
  crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof salt);
  snprintf(text, sizeof text, "accounts:\n- name: alice\n  password: \"%s\"\n  groups: [devs]\n",
           crypt_r("s3cret", salt, &data));
  auth *a = load(text);
  auth_session s;
  long retry;
  assert_int_equal(auth_login(a, "10.0.0.1", "alice", "wrong", &s, &retry), AUTH_EDENIED);
  assert_int_equal(auth_login(a, "10.0.0.1", "alice", "s3cret", &s, &retry), 0);
  auth_who *w = auth_session_who(a, s.id);
  assert_string_equal(w->user, "alice");
  assert_string_equal(w->csrf, s.csrf);
  assert_string_equal(w->groups[0], "devs");
  assert_true(w->expires > 23 * 3600);
  auth_who_free(w);
  w = auth_token_who(a, s.id);
  assert_non_null(w);
  auth_who_free(w);
  auth_logout(a, s.id);
  assert_null(auth_session_who(a, s.id));
  /* Admin has no password until the owner gives one. */
  assert_false(auth_has_admin(a));
  auth_set_admin_password(a, "adm1n");
  assert_int_equal(auth_login(a, "10.0.0.1", "admin", "adm1n", &s, &retry), 0);
  auth_free(a);
}

/* Auth files and the errors (some of) they must give. */
static const struct {
  const char *text;
  const char *errors[3];
} bad_files[] = {
    {"accounts:\n- name: alice\n  password: hunter2\n  shell: bash\n",
     {"FILE:3:13: error: password must be a bcrypt hash ($2b$..., 60 characters), never the password",
      "FILE:4:10: error: unknown field \"shell\" in an account"}},
    {"grants:\n- subject: alice\n  role: owner\n",
     {"FILE:2:12: error: subject must be user:NAME or group:NAME, not \"alice\"",
      "FILE:3:9: error: unknown role \"owner\"; the built-in ones are readonly, sync and admin"}},
    {"roles:\n- name: r\n  actions: [get, fly]\n",
     {"FILE:3:18: error: unknown action \"fly\"; expected get, sync, rollback, create, update or delete"}},
    {"accounts:\n- name: ci\n  tokens:\n  - sha256: abc\n    expires: tomorrow\n",
     {"FILE:4:13: error: sha256 must be 64 lower-case hex digits (sha256sum of the token)",
      "FILE:5:14: error: expires must be a UTC time as 2027-01-31T00:00:00Z, not \"tomorrow\""}},
    {"accounts: [\n", {"FILE:2:1: error: "}},
    {"accounts:\n- name: a\n- name: a\n", {"FILE:3:9: error: account \"a\" is declared twice"}},
    {"sso:\n  name: Dex\n  client_secret_file: /nonexistent/secret\n  tenant: x\n",
     {"FILE:2:3: error: sso needs issuer",
      "FILE:3:23: error: cannot read /nonexistent/secret: No such file or directory",
      "FILE:4:11: error: unknown field \"tenant\" in sso"}},
};

static void file_errors_say_where(void **state) {
  for (size_t i = 0; i < sizeof bad_files / sizeof *bad_files; i++) {
    char *e = error_of(bad_files[i].text);
    for (size_t j = 0; j < 3 && bad_files[i].errors[j]; j++)
      if (!strstr(e, bad_files[i].errors[j])) fail_msg("missing: %s\n--- in:\n%s", bad_files[i].errors[j], e);
    free(e);
  }
  auth *a = NULL;
  char *err = NULL;
  assert_int_equal(auth_load(&a, "/nonexistent/auth.yaml", &err), -1);
  assert_string_equal(err, "cannot read /nonexistent/auth.yaml: No such file or directory");
  free(err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(grants_add_up_per_project),
      cmocka_unit_test(the_default_role_is_everyones),
      cmocka_unit_test(single_sign_on_is_configured_by_the_file),
      cmocka_unit_test(tokens_name_their_account_until_they_expire),
      cmocka_unit_test(an_expired_token_is_refused),
      cmocka_unit_test(a_password_opens_a_session),
      cmocka_unit_test(file_errors_say_where),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
