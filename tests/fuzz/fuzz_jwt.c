/* fuzz_jwt.c: libFuzzer target for what an OpenID Connect provider sends
 * the runtime (oidc_internal.h): a JWK Set and an ID token. The input is
 * the key set's JSON, a NUL, then the token. A provider, or whoever stands
 * between, sends what it likes: any bytes must give a verdict, never a
 * crash, a leak or undefined behaviour; and no token the fuzzer makes may
 * be accepted, as it cannot sign one with a key of the set but by chance. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/oidc_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, 0, size);
  size_t keys_len = nul ? (size_t)(nul - data) : size;
  char *jwt = strndup(nul ? (const char *)nul + 1 : "", nul ? size - keys_len - 1 : 0);
  size_t len;
  free(oidc_base64url_decode(jwt, strlen(jwt), &len));
  json_t *jwks = json_loadb((const char *)data, keys_len, 0, NULL);
  oidc_keys *keys = NULL;
  char *err = NULL;
  if (jwks && oidc_keys_parse(&keys, jwks, &err) == 0) {
    oidc_expect e = {.issuer = "https://issuer.example", .client_id = "plumb", .nonce = "n", .now = 1700000000};
    oidc_identity id;
    char *why = NULL;
    if (oidc_token_verify(jwt, keys, &e, &id, &why) == 0) abort(); /* a forged token passed */
    free(why);
    oidc_keys_free(keys);
  }
  free(err);
  json_decref(jwks);
  free(jwt);
  return 0;
}
