/* test_oidc.c: the ID token's verification (runtime/serve/oidc_token.c)
 * with keys made at test time by OpenSSL, signed here as a provider would:
 * what is accepted, and each reason a token is refused; PKCE's challenge
 * against RFC 7636's own example; base64url. The login against a real
 * provider is tests/oidc/flow.sh's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/arena.h"
#include "serve/oidc_internal.h"

#define ISSUER "https://idp.example.com/dex"
#define CLIENT "plumb"
#define NONCE "n-0S6_WzA2Mj"

static EVP_PKEY *rsa, *ec, *other_rsa;

static int keys_make(void **state) {
  rsa = EVP_RSA_gen(2048);
  other_rsa = EVP_RSA_gen(2048);
  ec = EVP_EC_gen("P-256");
  return rsa && other_rsa && ec ? 0 : -1;
}

static int keys_drop(void **state) {
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(other_rsa);
  EVP_PKEY_free(ec);
  return 0;
}

/* ---- a provider's side ---------------------------------------------------- */

static char *b64(const void *data, size_t len) { return oidc_base64url(data, len); }

static json_t *b64_json(const void *data, size_t len) {
  char *s = b64(data, len);
  json_t *j = json_string(s);
  free(s);
  return j;
}

static json_t *bn_json(EVP_PKEY *k, const char *name) {
  BIGNUM *bn = NULL;
  assert_true(EVP_PKEY_get_bn_param(k, name, &bn));
  unsigned char bytes[1024];
  int n = BN_bn2bin(bn, bytes);
  BN_free(bn);
  return b64_json(bytes, (size_t)n);
}

static json_t *rsa_jwk(EVP_PKEY *k, const char *kid) {
  return json_pack("{s:s, s:s, s:s, s:o, s:o}", "kty", "RSA", "kid", kid, "use", "sig", "n",
                   bn_json(k, OSSL_PKEY_PARAM_RSA_N), "e", bn_json(k, OSSL_PKEY_PARAM_RSA_E));
}

static json_t *ec_jwk(EVP_PKEY *k, const char *kid) {
  unsigned char point[65];
  size_t n = 0;
  assert_true(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &n));
  assert_int_equal(n, 65); /* 0x04 || x || y */
  return json_pack("{s:s, s:s, s:s, s:o, s:o}", "kty", "EC", "kid", kid, "crv", "P-256", "x", b64_json(point + 1, 32),
                   "y", b64_json(point + 33, 32));
}

/* The provider's keys: "r1" (RSA), "e1" (P-256). */
static oidc_keys *provider_keys(void) {
  json_t *jwks = json_pack("{s:[o, o]}", "keys", rsa_jwk(rsa, "r1"), ec_jwk(ec, "e1"));
  oidc_keys *k;
  char *err = NULL;
  assert_int_equal(oidc_keys_parse(&k, jwks, &err), 0);
  json_decref(jwks);
  return k;
}

/* The signature of data by key: RS256 for an RSA key, ES256 (r || s) for
 * a P-256 one. */
static char *sign(EVP_PKEY *key, const char *data) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  size_t len = 0;
  assert_true(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) > 0);
  assert_true(EVP_DigestSign(md, NULL, &len, (const unsigned char *)data, strlen(data)) > 0);
  unsigned char *sig = heap_alloc(len);
  assert_true(EVP_DigestSign(md, sig, &len, (const unsigned char *)data, strlen(data)) > 0);
  EVP_MD_CTX_free(md);
  char *out;
  if (EVP_PKEY_is_a(key, "EC")) {
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    unsigned char raw[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
    ECDSA_SIG_free(es);
    out = b64(raw, sizeof raw);
  } else {
    out = b64(sig, len);
  }
  free(sig);
  return out;
}

/* A JWT of header and claims (both consumed), signed by key (NULL: with an
 * empty signature). Caller frees. */
static char *jwt(json_t *header, json_t *claims, EVP_PKEY *key) {
  char *h = json_dumps(header, JSON_COMPACT), *c = json_dumps(claims, JSON_COMPACT);
  char *hb = b64(h, strlen(h)), *cb = b64(c, strlen(c));
  char *signed_part = heap_printf("%s.%s", hb, cb);
  char *sig = key ? sign(key, signed_part) : heap_strdup("");
  char *out = heap_printf("%s.%s", signed_part, sig);
  free(h), free(c), free(hb), free(cb), free(signed_part), free(sig);
  json_decref(header);
  json_decref(claims);
  return out;
}

/* Claims a good token of alice's has. */
static json_t *claims(void) {
  time_t now = time(NULL);
  return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:b, s:s, s:[s, s]}", "iss", ISSUER, "sub", "CiQwYjFk", "aud",
                   CLIENT, "exp", (json_int_t)now + 600, "iat", (json_int_t)now - 5, "nonce", NONCE, "email",
                   "alice@example.com", "email_verified", 1, "preferred_username", "alice", "groups", "admins",
                   "authors");
}

static json_t *header(const char *alg, const char *kid) { return json_pack("{s:s, s:s}", "alg", alg, "kid", kid); }

static const oidc_expect expect = {.issuer = ISSUER, .client_id = CLIENT, .nonce = NONCE, .groups_claim = "groups"};

/* verify's code for token (consumed); *err, if any, freed. */
static int verify(char *token, oidc_identity *id) {
  oidc_keys *k = provider_keys();
  oidc_expect e = expect;
  e.now = time(NULL);
  char *err = NULL;
  int rc = oidc_token_verify(token, k, &e, id, &err);
  assert_true(rc == 0 ? err == NULL : err != NULL);
  free(err);
  free(token);
  oidc_keys_free(k);
  return rc;
}

/* claims with name set to value (consumed; NULL deletes it). */
static json_t *with(json_t *c, const char *name, json_t *value) {
  if (value) json_object_set_new(c, name, value);
  else json_object_del(c, name);
  return c;
}

static int verify_claims(json_t *c) {
  oidc_identity id;
  int rc = verify(jwt(header("RS256", "r1"), c, rsa), &id);
  oidc_identity_free(&id);
  return rc;
}

/* ---- accepted --------------------------------------------------------------- */

static void an_rs256_token_gives_the_identity(void **state) {
  oidc_identity id;
  assert_int_equal(verify(jwt(header("RS256", "r1"), claims(), rsa), &id), 0);
  assert_string_equal(id.subject, "CiQwYjFk");
  assert_string_equal(id.email, "alice@example.com");
  assert_true(id.email_verified);
  assert_string_equal(id.name, "alice");
  assert_int_equal(id.ngroups, 2);
  assert_string_equal(id.groups[0], "admins");
  assert_string_equal(id.groups[1], "authors");
  oidc_identity_free(&id);
}

static void an_es256_token_is_accepted(void **state) {
  oidc_identity id;
  assert_int_equal(verify(jwt(header("ES256", "e1"), claims(), ec), &id), 0);
  assert_string_equal(id.subject, "CiQwYjFk");
  oidc_identity_free(&id);
}

/* name falls back to name, then to email; a group may come as one string. */
static void the_name_falls_back_and_one_group_may_be_a_string(void **state) {
  oidc_identity id;
  json_t *c = with(with(claims(), "preferred_username", NULL), "groups", json_string("solo"));
  assert_int_equal(verify(jwt(header("RS256", "r1"), c, rsa), &id), 0);
  assert_string_equal(id.name, "alice@example.com");
  assert_int_equal(id.ngroups, 1);
  assert_string_equal(id.groups[0], "solo");
  oidc_identity_free(&id);
  c = with(with(claims(), "preferred_username", NULL), "name", json_string("Alice A."));
  assert_int_equal(verify(jwt(header("RS256", "r1"), c, rsa), &id), 0);
  assert_string_equal(id.name, "Alice A.");
  oidc_identity_free(&id);
}

/* A token within the clocks' 60 seconds of skew, either way. */
static void a_minute_of_clock_skew_is_allowed(void **state) {
  time_t now = time(NULL);
  assert_int_equal(verify_claims(with(claims(), "exp", json_integer(now - 30))), 0);
  assert_int_equal(verify_claims(with(claims(), "iat", json_integer(now + 30))), 0);
}

static void several_audiences_need_azp(void **state) {
  json_t *aud = json_pack("[s, s]", "other", CLIENT);
  assert_int_equal(verify_claims(with(with(claims(), "aud", aud), "azp", json_string(CLIENT))), 0);
  aud = json_pack("[s, s]", "other", CLIENT);
  assert_int_equal(verify_claims(with(claims(), "aud", aud)), OIDC_EINVALID);
  aud = json_pack("[s, s]", "other", CLIENT);
  assert_int_equal(verify_claims(with(with(claims(), "aud", aud), "azp", json_string("other"))), OIDC_EINVALID);
}

/* ---- refused ---------------------------------------------------------------- */

static void a_bad_signature_is_refused(void **state) {
  oidc_identity id;
  /* Signed by another key under the provider's kid. */
  assert_int_equal(verify(jwt(header("RS256", "r1"), claims(), other_rsa), &id), OIDC_EINVALID);
  /* Claims of another token under this one's signature. */
  char *good = jwt(header("RS256", "r1"), claims(), rsa);
  char *forged = jwt(header("RS256", "r1"), with(claims(), "sub", json_string("mallory")), NULL);
  char *token = heap_printf("%.*s%s", (int)(strrchr(forged, '.') - forged), forged, strrchr(good, '.'));
  free(good), free(forged);
  assert_int_equal(verify(token, &id), OIDC_EINVALID);
  assert_null(id.subject);
  /* A signature truncated. */
  token = jwt(header("ES256", "e1"), claims(), ec);
  token[strlen(token) - 4] = '\0';
  assert_int_equal(verify(token, &id), OIDC_EINVALID);
}

static void the_wrong_issuer_is_refused(void **state) {
  assert_int_equal(verify_claims(with(claims(), "iss", json_string(ISSUER "/"))), OIDC_EINVALID);
  assert_int_equal(verify_claims(with(claims(), "iss", NULL)), OIDC_EINVALID);
}

static void the_wrong_audience_is_refused(void **state) {
  assert_int_equal(verify_claims(with(claims(), "aud", json_string("someone-else"))), OIDC_EINVALID);
  assert_int_equal(verify_claims(with(claims(), "aud", json_pack("[s]", "someone-else"))), OIDC_EINVALID);
  assert_int_equal(verify_claims(with(claims(), "aud", NULL)), OIDC_EINVALID);
}

static void an_expired_token_is_refused(void **state) {
  time_t now = time(NULL);
  assert_int_equal(verify_claims(with(claims(), "exp", json_integer(now - 3600))), OIDC_EINVALID);
  assert_int_equal(verify_claims(with(claims(), "exp", NULL)), OIDC_EINVALID);
  assert_int_equal(verify_claims(with(claims(), "iat", json_integer(now + 3600))), OIDC_EINVALID);
}

static void the_wrong_nonce_is_refused(void **state) {
  assert_int_equal(verify_claims(with(claims(), "nonce", json_string("another-login"))), OIDC_EINVALID);
  assert_int_equal(verify_claims(with(claims(), "nonce", NULL)), OIDC_EINVALID);
}

static void alg_none_and_hmac_are_refused(void **state) {
  oidc_identity id;
  assert_int_equal(verify(jwt(header("none", "r1"), claims(), NULL), &id), OIDC_EINVALID);
  assert_int_equal(verify(jwt(json_pack("{s:s}", "alg", "none"), claims(), NULL), &id), OIDC_EINVALID);
  /* HS256 keyed with what a verifier might mistake for a secret. */
  char *token = jwt(header("HS256", "r1"), claims(), NULL);
  char *signed_part = heap_strndup(token, strlen(token) - 1);
  unsigned char mac[32];
  unsigned n = 0;
  HMAC(EVP_sha256(), CLIENT, (int)strlen(CLIENT), (const unsigned char *)signed_part, strlen(signed_part), mac, &n);
  char *sig = b64(mac, n);
  char *hs = heap_printf("%s.%s", signed_part, sig);
  assert_int_equal(verify(hs, &id), OIDC_EINVALID);
  free(token), free(signed_part), free(sig);
}

/* A token cannot choose the algorithm its key is used with. */
static void the_alg_must_fit_the_key(void **state) {
  oidc_identity id;
  assert_int_equal(verify(jwt(header("ES256", "r1"), claims(), rsa), &id), OIDC_EINVALID);
  assert_int_equal(verify(jwt(header("RS256", "e1"), claims(), ec), &id), OIDC_EINVALID);
}

/* An unknown kid is its own code: the caller fetches the keys again. */
static void an_unknown_kid_asks_for_the_keys_again(void **state) {
  oidc_identity id;
  assert_int_equal(verify(jwt(header("RS256", "r2"), claims(), other_rsa), &id), OIDC_EKID);
}

static void a_token_without_kid_uses_the_only_key_of_its_alg(void **state) {
  oidc_identity id;
  assert_int_equal(verify(jwt(json_pack("{s:s}", "alg", "ES256"), claims(), ec), &id), 0);
  oidc_identity_free(&id);
}

static void claims_are_bounded(void **state) {
  char big[2000];
  memset(big, 'g', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(verify_claims(with(claims(), "groups", json_pack("[s]", big))), OIDC_EINVALID);
  assert_int_equal(verify_claims(with(claims(), "email", json_string(big))), OIDC_EINVALID);
  json_t *many = json_array();
  for (int i = 0; i < 1025; i++) json_array_append_new(many, json_string("g"));
  assert_int_equal(verify_claims(with(claims(), "groups", many)), OIDC_EINVALID);
  assert_int_equal(verify_claims(with(claims(), "groups", json_pack("[i]", 7))), OIDC_EINVALID);
  assert_int_equal(verify_claims(with(claims(), "sub", NULL)), OIDC_EINVALID);
}

static void a_malformed_token_is_refused(void **state) {
  oidc_identity id;
  assert_int_equal(verify(heap_strdup("not-a-jwt"), &id), OIDC_EINVALID);
  assert_int_equal(verify(heap_strdup("a.b.c.d"), &id), OIDC_EINVALID);
  assert_int_equal(verify(heap_strdup("e30.e30."), &id), OIDC_EINVALID); /* {} . {} . nothing */
  char *token = jwt(header("RS256", "r1"), claims(), rsa);
  char *padded = heap_printf("%s=", token);
  free(token);
  assert_int_equal(verify(padded, &id), OIDC_EINVALID);
}

/* ---- keys --------------------------------------------------------------------- */

/* Keys of kinds not used here are skipped; a short RSA key is not a key. */
static void unusable_keys_are_skipped(void **state) {
  EVP_PKEY *weak = EVP_RSA_gen(1024);
  json_t *jwks = json_pack("{s:[o, {s:s, s:s}, {s:s, s:s, s:s}, o]}", "keys", rsa_jwk(weak, "weak"), "kty", "oct", "k",
                           "c2VjcmV0", "kty", "RSA", "use", "enc", "kid", "x", rsa_jwk(rsa, "r1"));
  oidc_keys *k;
  char *err = NULL;
  assert_int_equal(oidc_keys_parse(&k, jwks, &err), 0);
  oidc_expect e = expect;
  e.now = time(NULL);
  oidc_identity id;
  char *token = jwt(header("RS256", "weak"), claims(), weak);
  assert_int_equal(oidc_token_verify(token, k, &e, &id, &err), OIDC_EKID);
  free(err);
  free(token);
  token = jwt(header("RS256", "r1"), claims(), rsa);
  err = NULL;
  assert_int_equal(oidc_token_verify(token, k, &e, &id, &err), 0);
  oidc_identity_free(&id);
  free(token);
  oidc_keys_free(k);
  json_decref(jwks);
  EVP_PKEY_free(weak);
}

static void a_jwks_of_too_many_keys_is_refused(void **state) {
  json_t *list = json_array();
  for (int i = 0; i < 101; i++) json_array_append_new(list, json_pack("{s:s}", "kty", "oct"));
  json_t *jwks = json_pack("{s:o}", "keys", list);
  oidc_keys *k;
  char *err = NULL;
  assert_int_not_equal(oidc_keys_parse(&k, jwks, &err), 0);
  assert_null(k);
  free(err);
  json_decref(jwks);
}

/* ---- PKCE and base64url ------------------------------------------------------- */

/* RFC 7636, Appendix B: its 32 octets, their verifier, its challenge. */
static void the_pkce_challenge_is_rfc_7636s(void **state) {
  const unsigned char octets[] = {116, 24,  223, 180, 151, 153, 224, 37,  79, 250, 96, 125, 216, 173, 187, 186,
                                  22,  212, 37,  77,  105, 214, 191, 240, 91, 88,  5,  88,  83,  132, 141, 121};
  char *v = oidc_base64url(octets, sizeof octets);
  assert_string_equal(v, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  char *c = oidc_pkce_challenge(v);
  assert_string_equal(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  free(c);
  free(v);
}

static void base64url_has_no_padding_and_the_url_alphabet(void **state) {
  const unsigned char bytes[] = {0xfb, 0xff, 0xfe, 0x01};
  char *s = oidc_base64url(bytes, sizeof bytes);
  assert_string_equal(s, "-__-AQ");
  size_t len;
  unsigned char *back = oidc_base64url_decode(s, strlen(s), &len);
  assert_int_equal(len, sizeof bytes);
  assert_memory_equal(back, bytes, sizeof bytes);
  free(back);
  free(s);
  assert_null(oidc_base64url_decode("+//+AQ", 6, &len));
  assert_null(oidc_base64url_decode("-__-AQ==", 8, &len));
  assert_null(oidc_base64url_decode("-__ -AQ", 7, &len));
  assert_null(oidc_base64url_decode("A", 1, &len));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(an_rs256_token_gives_the_identity),
      cmocka_unit_test(an_es256_token_is_accepted),
      cmocka_unit_test(the_name_falls_back_and_one_group_may_be_a_string),
      cmocka_unit_test(a_minute_of_clock_skew_is_allowed),
      cmocka_unit_test(several_audiences_need_azp),
      cmocka_unit_test(a_bad_signature_is_refused),
      cmocka_unit_test(the_wrong_issuer_is_refused),
      cmocka_unit_test(the_wrong_audience_is_refused),
      cmocka_unit_test(an_expired_token_is_refused),
      cmocka_unit_test(the_wrong_nonce_is_refused),
      cmocka_unit_test(alg_none_and_hmac_are_refused),
      cmocka_unit_test(the_alg_must_fit_the_key),
      cmocka_unit_test(an_unknown_kid_asks_for_the_keys_again),
      cmocka_unit_test(a_token_without_kid_uses_the_only_key_of_its_alg),
      cmocka_unit_test(claims_are_bounded),
      cmocka_unit_test(a_malformed_token_is_refused),
      cmocka_unit_test(unusable_keys_are_skipped),
      cmocka_unit_test(a_jwks_of_too_many_keys_is_refused),
      cmocka_unit_test(the_pkce_challenge_is_rfc_7636s),
      cmocka_unit_test(base64url_has_no_padding_and_the_url_alphabet),
  };
  return cmocka_run_group_tests(tests, keys_make, keys_drop);
}
