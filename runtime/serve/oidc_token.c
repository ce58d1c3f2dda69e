/* oidc_token.c: the ID token's side of OpenID Connect (oidc_internal.h):
 * the provider's keys from their JWK Set, and a token's signature and claims
 * checked against them, with OpenSSL 3's EVP interfaces; and the base64url
 * and PKCE that go with it. No network here: oidc.c fetches, this judges.
 *
 * The algorithm is the one the keys allow, not the one the token asks for:
 * a token's "alg" must match the kind of key its "kid" names, so a token
 * cannot make an RSA public key into an HMAC secret (the classic JWT
 * confusion), and "none" has no key at all. */
#include "oidc_internal.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"
#include "plumb/kube.h"

/* Bounds on what a provider sends (oidc.h lists them). RSA keys below 2048
 * bits are refused as NIST SP 800-131A does; above 8192 they only cost CPU. */
enum {
  MAX_KEYS = 100,
  MAX_TOKEN = 64 * 1024,
  MAX_CLAIM = 1024,
  MAX_GROUPS = 1024,
  MIN_RSA_BITS = 2048,
  MAX_RSA_BITS = 8192,
  /* Seconds the provider's clock may be ahead of ours, or ours behind. */
  SKEW = 60,
  /* The two halves of an ES256 signature, r then s (RFC 7518, 3.4). */
  P256_BYTES = 32,
};

typedef enum { ALG_RS256, ALG_ES256 } alg;

typedef struct {
  char *kid; /* NULL when the JWK has none */
  alg alg;
  EVP_PKEY *pkey;
} key;

struct oidc_keys {
  key *keys;
  size_t n;
};

/* ---- base64url and PKCE ---------------------------------------------------- */

char *oidc_base64url(const unsigned char *data, size_t len) {
  char *out = heap_alloc(4 * ((len + 2) / 3) + 1);
  int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
  while (n > 0 && out[n - 1] == '=') n--;
  out[n] = '\0';
  for (char *c = out; *c; c++) *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
  return out;
}

unsigned char *oidc_base64url_decode(const char *s, size_t n, size_t *len) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  char *std = heap_strndup(s, n);
  /* Only the URL alphabet: no padding, no white space, which the standard
   * decoder below would let through. */
  if (strspn(std, alphabet) != n) {
    free(std);
    return NULL;
  }
  for (char *c = std; *c; c++) *c = *c == '-' ? '+' : *c == '_' ? '/' : *c;
  unsigned char *out = (unsigned char *)kube_base64_decode(std, len);
  free(std);
  return out;
}

char *oidc_pkce_challenge(const char *verifier) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (!EVP_Digest(verifier, strlen(verifier), md, &n, EVP_sha256(), NULL)) abort();
  return oidc_base64url(md, n);
}

/* ---- the keys -------------------------------------------------------------- */

/* A base64url member of a JWK as a big-endian number, NULL if it is not. */
static BIGNUM *jwk_number(const json_t *jwk, const char *name) {
  const char *s = json_string_value(json_object_get(jwk, name));
  size_t len;
  unsigned char *bytes = s ? oidc_base64url_decode(s, strlen(s), &len) : NULL;
  BIGNUM *bn = bytes && len ? BN_bin2bn(bytes, (int)len, NULL) : NULL;
  free(bytes);
  return bn;
}

/* params' key of the type OpenSSL calls name, or NULL. */
static EVP_PKEY *pkey_from(const char *name, OSSL_PARAM_BLD *bld) {
  OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
  EVP_PKEY *pkey = NULL;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
    pkey = NULL;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return pkey;
}

static EVP_PKEY *rsa_key(const json_t *jwk) {
  BIGNUM *n = jwk_number(jwk, "n"), *e = jwk_number(jwk, "e");
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  EVP_PKEY *pkey = NULL;
  if (n && e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
    pkey = pkey_from("RSA", bld);
  if (pkey && (EVP_PKEY_get_bits(pkey) < MIN_RSA_BITS || EVP_PKEY_get_bits(pkey) > MAX_RSA_BITS)) {
    EVP_PKEY_free(pkey);
    pkey = NULL;
  }
  OSSL_PARAM_BLD_free(bld);
  BN_free(n);
  BN_free(e);
  return pkey;
}

/* A P-256 point from its coordinates x and y: OpenSSL takes it as one
 * uncompressed octet string, 0x04 || x || y (SEC 1, 2.3.3), and refuses a
 * point off the curve. */
static EVP_PKEY *ec_key(const json_t *jwk) {
  const char *crv = json_string_value(json_object_get(jwk, "crv"));
  const char *x = json_string_value(json_object_get(jwk, "x")), *y = json_string_value(json_object_get(jwk, "y"));
  if (!crv || strcmp(crv, "P-256") != 0 || !x || !y) return NULL;
  size_t xlen = 0, ylen = 0;
  unsigned char *xb = oidc_base64url_decode(x, strlen(x), &xlen), *yb = oidc_base64url_decode(y, strlen(y), &ylen);
  EVP_PKEY *pkey = NULL;
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  if (xb && yb && xlen == P256_BYTES && ylen == P256_BYTES && bld) {
    unsigned char point[1 + 2 * P256_BYTES] = {0x04};
    memcpy(point + 1, xb, P256_BYTES);
    memcpy(point + 1 + P256_BYTES, yb, P256_BYTES);
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point))
      pkey = pkey_from("EC", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  free(xb);
  free(yb);
  return pkey;
}

/* One JWK into *k; false for a key this module does not use. */
static bool key_parse(const json_t *jwk, key *k) {
  const char *kty = json_string_value(json_object_get(jwk, "kty"));
  const char *use = json_string_value(json_object_get(jwk, "use"));
  const char *want = json_string_value(json_object_get(jwk, "alg"));
  const json_t *kid = json_object_get(jwk, "kid");
  if (!kty || (use && strcmp(use, "sig") != 0)) return false;
  if (kid && (!json_is_string(kid) || json_string_length(kid) > MAX_CLAIM)) return false;
  if (strcmp(kty, "RSA") == 0 && (!want || strcmp(want, "RS256") == 0)) {
    k->alg = ALG_RS256;
    k->pkey = rsa_key(jwk);
  } else if (strcmp(kty, "EC") == 0 && (!want || strcmp(want, "ES256") == 0)) {
    k->alg = ALG_ES256;
    k->pkey = ec_key(jwk);
  }
  if (!k->pkey) return false;
  k->kid = kid ? heap_strdup(json_string_value(kid)) : NULL;
  return true;
}

int oidc_keys_parse(oidc_keys **out, const json_t *jwks, char **err) {
  *out = NULL;
  const json_t *list = json_object_get(jwks, "keys");
  if (!json_is_array(list)) {
    *err = heap_printf("the JWK Set is not a JSON object with a \"keys\" list");
    return OIDC_EUNREACHABLE;
  }
  if (json_array_size(list) > MAX_KEYS) {
    *err = heap_printf("the JWK Set has %zu keys, more than %d", json_array_size(list), MAX_KEYS);
    return OIDC_EUNREACHABLE;
  }
  oidc_keys *k = heap_calloc(1, sizeof *k);
  k->keys = heap_calloc(json_array_size(list), sizeof *k->keys);
  size_t i;
  const json_t *jwk;
  json_array_foreach(list, i, jwk) if (key_parse(jwk, &k->keys[k->n])) k->n++;
  *out = k;
  return 0;
}

void oidc_keys_free(oidc_keys *k) {
  if (!k) return;
  for (size_t i = 0; i < k->n; i++) {
    free(k->keys[i].kid);
    EVP_PKEY_free(k->keys[i].pkey);
  }
  free(k->keys);
  free(k);
}

/* The key kid names (NULL: the one key of its algorithm, if only one). */
static const key *key_find(const oidc_keys *keys, const char *kid, alg a) {
  const key *found = NULL;
  for (size_t i = 0; i < keys->n; i++) {
    const key *k = &keys->keys[i];
    if (kid ? k->kid && strcmp(k->kid, kid) == 0 : k->alg == a) {
      if (kid) return k;
      if (found) return NULL;
      found = k;
    }
  }
  return found;
}

/* ---- the signature --------------------------------------------------------- */

/* An ES256 signature is r || s; OpenSSL verifies the DER of ECDSA-Sig-Value.
 * Caller frees *der. */
static bool es256_der(const unsigned char *sig, size_t len, unsigned char **der, size_t *derlen) {
  if (len != 2 * P256_BYTES) return false;
  ECDSA_SIG *es = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(sig, P256_BYTES, NULL), *s = BN_bin2bn(sig + P256_BYTES, P256_BYTES, NULL);
  if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return false;
  }
  *der = NULL;
  int n = i2d_ECDSA_SIG(es, der);
  ECDSA_SIG_free(es);
  if (n <= 0) return false;
  *derlen = (size_t)n;
  return true;
}

static bool signature_good(const key *k, const char *signed_part, size_t len, const unsigned char *sig, size_t siglen) {
  unsigned char *der = NULL;
  if (k->alg == ALG_ES256) {
    if (!es256_der(sig, siglen, &der, &siglen)) return false;
    sig = der;
  }
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  bool good = md && EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, k->pkey, NULL) > 0 &&
              EVP_DigestVerify(md, sig, siglen, (const unsigned char *)signed_part, len) == 1;
  EVP_MD_CTX_free(md);
  OPENSSL_free(der);
  return good;
}

/* ---- the claims ------------------------------------------------------------ */

/* A JSON object from n characters of base64url, or NULL. */
static json_t *segment_json(const char *s, size_t n) {
  size_t len;
  unsigned char *bytes = oidc_base64url_decode(s, n, &len);
  json_t *j = bytes ? json_loadb((const char *)bytes, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
  free(bytes);
  if (j && !json_is_object(j)) {
    json_decref(j);
    j = NULL;
  }
  return j;
}

static bool equal(const char *a, const char *b) {
  return a && b && strlen(a) == strlen(b) && CRYPTO_memcmp(a, b, strlen(a)) == 0;
}

/* The string claim name of claims, copied into *out; NULL when absent.
 * False, with *err set, when it is not a string or is too long. */
static bool claim_string(const json_t *claims, const char *name, char **out, char **err) {
  const json_t *v = json_object_get(claims, name);
  *out = NULL;
  if (!v || json_is_null(v)) return true;
  if (!json_is_string(v) || json_string_length(v) > MAX_CLAIM) {
    *err = heap_printf("the ID token's \"%s\" is not a string of at most %d bytes", name, MAX_CLAIM);
    return false;
  }
  *out = heap_strndup(json_string_value(v), json_string_length(v));
  return true;
}

/* aud holds client_id; with other audiences beside it, azp must name it
 * (OpenID Connect Core 1.0, 3.1.3.7, items 3 to 5). */
static bool audience_good(const json_t *claims, const char *client_id, char **err) {
  const json_t *aud = json_object_get(claims, "aud");
  const char *azp = json_string_value(json_object_get(claims, "azp"));
  bool found = json_is_string(aud) && equal(json_string_value(aud), client_id);
  size_t i;
  const json_t *one;
  if (json_is_array(aud)) json_array_foreach(aud, i, one) found = found || equal(json_string_value(one), client_id);
  if (!found) {
    *err = heap_printf("the ID token is not for this client (its \"aud\" does not hold \"%s\")", client_id);
    return false;
  }
  bool several = json_is_array(aud) && json_array_size(aud) > 1;
  if ((several || json_object_get(claims, "azp")) && !equal(azp, client_id)) {
    *err = heap_printf("the ID token's \"azp\" is not \"%s\"", client_id);
    return false;
  }
  return true;
}

static bool times_good(const json_t *claims, time_t now, char **err) {
  const json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
  if (!json_is_number(exp) || !json_is_number(iat)) {
    *err = heap_printf("the ID token lacks a numeric \"exp\" or \"iat\"");
    return false;
  }
  if (json_number_value(exp) + SKEW <= (double)now) {
    *err = heap_printf("the ID token has expired");
    return false;
  }
  if (json_number_value(iat) > (double)now + SKEW) {
    *err = heap_printf("the ID token was issued in the future (check the clocks)");
    return false;
  }
  return true;
}

/* The groups claim: a list of strings, or one string. */
static bool groups_read(const json_t *claims, const char *name, oidc_identity *id, char **err) {
  const json_t *v = json_object_get(claims, name);
  if (!v || json_is_null(v)) return true;
  if (json_is_string(v)) v = json_pack("[O]", v);
  else json_incref((json_t *)v);
  bool good = json_is_array(v) && json_array_size(v) <= MAX_GROUPS;
  size_t i;
  const json_t *g;
  if (good) json_array_foreach(v, i, g) good = good && json_is_string(g) && json_string_length(g) <= MAX_CLAIM;
  if (good && json_array_size(v)) {
    id->groups = heap_calloc(json_array_size(v), sizeof *id->groups);
    json_array_foreach(v, i, g) id->groups[id->ngroups++] = heap_strdup(json_string_value(g));
  }
  if (!good)
    *err = heap_printf("the ID token's \"%s\" is not a list of at most %d strings of at most %d bytes", name,
                       MAX_GROUPS, MAX_CLAIM);
  json_decref((json_t *)v);
  return good;
}

static bool identity_read(const json_t *claims, const char *groups_claim, oidc_identity *id, char **err) {
  char *preferred = NULL, *full = NULL;
  bool good = claim_string(claims, "sub", &id->subject, err) && claim_string(claims, "email", &id->email, err) &&
              claim_string(claims, "preferred_username", &preferred, err) && claim_string(claims, "name", &full, err) &&
              groups_read(claims, groups_claim, id, err);
  if (good && (!id->subject || !*id->subject)) {
    *err = heap_printf("the ID token has no \"sub\"");
    good = false;
  }
  id->email_verified = json_is_true(json_object_get(claims, "email_verified"));
  id->name = heap_strdup(preferred && *preferred ? preferred : full && *full ? full : id->email);
  free(preferred);
  free(full);
  return good;
}

static bool claims_good(const json_t *claims, const oidc_expect *e, char **err) {
  const char *iss = json_string_value(json_object_get(claims, "iss"));
  if (!equal(iss, e->issuer)) {
    *err = heap_printf("the ID token's issuer is not \"%s\"", e->issuer);
    return false;
  }
  if (!audience_good(claims, e->client_id, err) || !times_good(claims, e->now, err)) return false;
  /* The nonce ties the token to the login this client began (Core 3.1.2.1):
   * without it a token captured elsewhere could be replayed here. */
  if (!equal(json_string_value(json_object_get(claims, "nonce")), e->nonce)) {
    *err = heap_printf("the ID token's nonce is not the one this login sent");
    return false;
  }
  return true;
}

/* ---- the token ------------------------------------------------------------- */

/* The key the header names, by the algorithm it claims. */
static int header_key(const json_t *header, const oidc_keys *keys, const key **out, char **err) {
  const char *name = json_string_value(json_object_get(header, "alg"));
  const json_t *kid = json_object_get(header, "kid");
  alg a;
  if (name && strcmp(name, "RS256") == 0) a = ALG_RS256;
  else if (name && strcmp(name, "ES256") == 0) a = ALG_ES256;
  else {
    *err = heap_printf("the ID token is signed with \"%.32s\", not RS256 or ES256", name ? name : "");
    return OIDC_EINVALID;
  }
  /* Extensions the signer marked critical must be understood (RFC 7515,
   * 4.1.11); this module understands none. */
  if (json_object_get(header, "crit")) {
    *err = heap_printf("the ID token's header has critical extensions");
    return OIDC_EINVALID;
  }
  if (kid && (!json_is_string(kid) || json_string_length(kid) > MAX_CLAIM)) {
    *err = heap_printf("the ID token's \"kid\" is not a string of at most %d bytes", MAX_CLAIM);
    return OIDC_EINVALID;
  }
  *out = key_find(keys, json_string_value(kid), a);
  if (!*out) {
    *err = kid ? heap_printf("the provider has no key \"%.64s\"", json_string_value(kid))
               : heap_printf("the ID token names no key, and the provider has not one %s key", name);
    return OIDC_EKID;
  }
  if ((*out)->alg != a) {
    *err = heap_printf("the ID token claims %s, but key \"%.64s\" is not for it", name, json_string_value(kid));
    return OIDC_EINVALID;
  }
  return 0;
}

int oidc_token_verify(const char *jwt, const oidc_keys *keys, const oidc_expect *e, oidc_identity *out, char **err) {
  *out = (oidc_identity){0};
  size_t len = strnlen(jwt, MAX_TOKEN + 1);
  const char *dot1 = memchr(jwt, '.', len), *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - jwt)) : NULL;
  if (len > MAX_TOKEN || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - jwt))) {
    *err = heap_printf("the ID token is not a signed JWT of at most %d bytes", MAX_TOKEN);
    return OIDC_EINVALID;
  }
  json_t *header = segment_json(jwt, (size_t)(dot1 - jwt));
  json_t *claims = segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
  size_t siglen = 0;
  unsigned char *sig = oidc_base64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - jwt), &siglen);
  const key *k = NULL;
  int rc = OIDC_EINVALID;
  if (!header || !claims || !sig) {
    *err = heap_printf("the ID token is not a JWT: a part is not base64url JSON");
  } else if ((rc = header_key(header, keys, &k, err)) == 0) {
    rc = OIDC_EINVALID;
    /* Claims are read only once the signature holds. */
    if (!signature_good(k, jwt, (size_t)(dot2 - jwt), sig, siglen))
      *err = heap_printf("the ID token's signature does not verify");
    else if (claims_good(claims, e, err) && identity_read(claims, e->groups_claim, out, err)) rc = 0;
  }
  if (rc) oidc_identity_free(out);
  free(sig);
  json_decref(header);
  json_decref(claims);
  return rc;
}

void oidc_identity_free(oidc_identity *id) {
  free(id->subject);
  free(id->email);
  free(id->name);
  for (size_t i = 0; i < id->ngroups; i++) free(id->groups[i]);
  free(id->groups);
  *id = (oidc_identity){0};
}
