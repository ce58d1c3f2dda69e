/* auth_internal.h: what auth.c (the file, tokens, roles) and session.c
 * (passwords, sessions, the login throttle) share. */
#ifndef PLUMB_SERVE_AUTH_INTERNAL_H
#define PLUMB_SERVE_AUTH_INTERNAL_H

#include <jansson.h>
#include <openssl/sha.h>
#include <pthread.h>

#include "plumb/arena.h"
#include "plumb/auth.h"

typedef struct {
  char *name;
  char *password; /* a bcrypt hash; NULL: no password login */
  char **groups;
  size_t ngroups;
} auth_account;

typedef struct {
  const char *user; /* its account's name */
  unsigned char digest[SHA256_DIGEST_LENGTH];
  long long expires; /* seconds since the epoch; 0: never */
} auth_token;

typedef struct {
  char *name;
  unsigned actions;
} auth_role;

typedef struct {
  char *subject; /* "user:NAME" or "group:NAME" */
  unsigned actions;
  char **projects; /* shell wildcards */
  size_t nprojects;
} auth_grant;

struct auth {
  /* Set by auth_load (and the owner before serving), read-only after. */
  auth_account *accounts;
  size_t naccounts;
  auth_token *tokens;
  size_t ntokens;
  auth_role *roles;
  size_t nroles;
  auth_grant *grants;
  size_t ngrants;
  unsigned default_actions;
  bool has_sso;
  oidc_config sso; /* its strings owned here */
  char *sso_name;
  char *dummy_hash; /* checked for an unknown user, to take as long as a known one */
  /* Changed by logins, under lock. */
  pthread_mutex_t lock;
  json_t *sessions; /* hex SHA-256 of the id: {user, groups, csrf, sso, expires} */
  json_t *failures; /* "addr:..." or "user:...": {n, last} */
};

auth *auth_new(void);
auth_account *auth_account_find(auth *a, const char *name);
auth_account *auth_push_account(auth *a, const char *name);
void auth_push_token(auth *a, const auth_token *t);
/* The first token of digest that has not expired by now, or NULL. */
const auth_token *auth_token_find(const auth *a, const unsigned char digest[SHA256_DIGEST_LENGTH], long long now);
auth_who *auth_who_new(const char *user, const char *const *groups, size_t ngroups);

#endif
