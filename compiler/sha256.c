/* sha256.c: SHA-256 through Nettle (sha256.h says why Nettle). */
#include "sha256.h"

#include <nettle/sha2.h>

void sha256(const void *data, size_t len, unsigned char out[SHA256_BYTES]) {
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, len, data);
  sha256_digest(&ctx, SHA256_BYTES, out);
}
