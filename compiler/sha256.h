/* sha256.h: SHA-256, for the content hashes of generated names and the
 * language's sha256().
 *
 * Nettle's rather than OpenSSL's: OpenSSL 3 sets up its providers on the
 * first digest, which costs more than compiling an env of ten apps, and
 * linking libcrypto costs its relocations at every start of `plumb`.
 * Nettle's digest needs no set-up. */
#ifndef PLUMB_SHA256_H
#define PLUMB_SHA256_H

#include <stddef.h>

enum { SHA256_BYTES = 32 };

/* The digest of data[0..len) into out. */
void sha256(const void *data, size_t len, unsigned char out[SHA256_BYTES]);

#endif
