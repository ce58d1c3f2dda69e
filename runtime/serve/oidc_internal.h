/* oidc_internal.h: what oidc.c, oidc_token.c and their unit test share:
 * base64url, PKCE, the signing keys and the verification of an ID token,
 * none of which touches the network. */
#ifndef PLUMB_OIDC_INTERNAL_H
#define PLUMB_OIDC_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "plumb/oidc.h"

/* A key id the keys lack: oidc.c fetches them again, once. */
#define OIDC_EKID (-100)

/* Unpadded base64url (RFC 7515, section 2). Caller frees. */
char *oidc_base64url(const unsigned char *data, size_t len);
/* The bytes of n characters of unpadded base64url, NUL-terminated after
 * *len bytes; NULL when they are anything else. Caller frees. */
unsigned char *oidc_base64url_decode(const char *s, size_t n, size_t *len);
/* BASE64URL(SHA256(verifier)), the S256 code challenge (RFC 7636, 4.2). */
char *oidc_pkce_challenge(const char *verifier);

/* A JWK Set: the provider's public keys, by key id. */
typedef struct oidc_keys oidc_keys;

/* Keys of kinds this module cannot use (or use "enc") are skipped, not
 * refused: a provider may publish more than its ID tokens need. Caller owns
 * *out. */
int oidc_keys_parse(oidc_keys **out, const json_t *jwks, char **err);
void oidc_keys_free(oidc_keys *k);

/* What a token must say to be accepted. */
typedef struct {
  const char *issuer, *client_id, *nonce, *groups_claim;
  time_t now;
} oidc_expect;

/* Verifies the ID token jwt against keys and e, and fills *out (zeroed
 * first; oidc_identity_free releases it). OIDC_EKID when its key id is not
 * among keys, OIDC_EINVALID for any other reason. */
int oidc_token_verify(const char *jwt, const oidc_keys *keys, const oidc_expect *e, oidc_identity *out, char **err);

#endif
