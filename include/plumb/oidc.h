/* oidc.h: the relying party of OpenID Connect, for single sign-on to the
 * runtime's web UI: the authorization code flow with PKCE (S256).
 *
 * A login has two halves. oidc_begin gives the URL to send the browser to
 * and the state that comes back with it; oidc_finish, given that state and
 * the code the provider redirected with, redeems the code at the token
 * endpoint, verifies the ID token and returns who logged in.
 *
 * - Discovery happens once, in oidc_provider_new: the document at
 *   ISSUER/.well-known/openid-configuration must name the configured issuer
 *   exactly (OpenID Connect Discovery 1.0, section 4.3), so a provider that is
 *   down or misconfigured fails at start-up, not at a user's first login.
 *   The caller retries oidc_provider_new if it wants to wait for it.
 * - The signing keys (the JWKS) are fetched at the first oidc_finish and
 *   kept; a token signed with a key id they lack fetches them once more
 *   (the provider rotated its keys), at most every 10 seconds.
 * - ID tokens are accepted signed with RS256 or ES256 only: "none" and the
 *   HS* algorithms (which would make the client secret a signing key) are
 *   refused, whatever the token's header says.
 * - The endpoints must be https, but for a provider on the loopback interface
 *   (a provider on the same machine, or a test's).
 * - Pending logins are kept in memory, thread-safe: at most 10,000, each for
 *   10 minutes, the oldest dropped first when more begin. A state is good
 *   for one oidc_finish, successful or not. Several replicas of the runtime
 *   behind one address need the browser to come back to the one it left
 *   (sticky sessions).
 * - Everything read from the network is bounded: 1 MiB and 10 seconds an
 *   answer, 100 keys, 64 KiB an ID token, 1,024 groups, 1,024 bytes a claim.
 *
 * Functions return 0 or a negative OIDC_E* code with the reason in *err
 * (caller frees). The reason never holds the code, a token or the client
 * secret. */
#ifndef PLUMB_OIDC_H
#define PLUMB_OIDC_H

#include <stdbool.h>
#include <stddef.h>

enum {
  OIDC_OK = 0,
  OIDC_ERROR = -1,        /* a bad configuration, or anything else */
  OIDC_EUNREACHABLE = -2, /* the provider did not answer, or not as OIDC says */
  OIDC_ESTATE = -3,       /* unknown, used or expired state: begin again */
  OIDC_EREFUSED = -4,     /* the token endpoint refused the code */
  OIDC_EINVALID = -5,     /* the ID token failed verification */
};

typedef struct {
  const char *issuer;        /* required; compared exactly, trailing slash and all */
  const char *client_id;     /* required */
  const char *client_secret; /* NULL for a public client: PKCE alone */
  const char *redirect_uri;  /* required; where the provider sends the browser back */
  const char *scopes;        /* space-separated; NULL: "openid profile email groups" */
  const char *groups_claim;  /* NULL: "groups" */
  const char *ca_file;       /* PEM file to trust for the provider; NULL: the system's */
} oidc_config;

/* Who logged in, from the verified ID token. Strings NULL when the token
 * lacks them, but subject, which every ID token has. */
typedef struct {
  char *subject;
  char *email;
  bool email_verified;
  char *name;    /* preferred_username, else name, else email */
  char **groups; /* the groups claim; NULL when ngroups is 0 */
  size_t ngroups;
} oidc_identity;

typedef struct oidc_provider oidc_provider;

/* Reads the provider's discovery document; c's strings are copied. Caller
 * owns *out. */
int oidc_provider_new(oidc_provider **out, const oidc_config *c, char **err);
void oidc_provider_free(oidc_provider *p);

/* A new login: *url, the authorization URL to redirect the browser to, and
 * *state, the value the provider will send back (to key a cookie on, say).
 * Caller frees both. Cannot fail but for want of randomness, which aborts. */
void oidc_begin(oidc_provider *p, char **url, char **state);

/* Ends the login state began: redeems code and verifies the ID token.
 * code NULL (the provider redirected with an error instead) ends it too.
 * *out is zeroed first; release it with oidc_identity_free. */
int oidc_finish(oidc_provider *p, const char *state, const char *code, oidc_identity *out, char **err);
void oidc_identity_free(oidc_identity *id);

#endif
