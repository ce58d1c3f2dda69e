/* fuzz_archive.c: libFuzzer target for the look through a chart's archive
 * (archive.h).
 *
 * The input is the tar archive itself, gzipped here: fuzzing the gzip
 * layer would spend the runs on checksums zlib already checks. Any input
 * must be taken or refused with words, within the bounds, and an archive
 * that is taken must have survived the same look again (the check keeps
 * no state between calls).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "archive.h"

/* data gzipped into out (which must be large enough); its length. */
static size_t gzip(const uint8_t *data, size_t size, uint8_t *out, size_t room) {
  z_stream z = {0};
  if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
  z.next_in = (Bytef *)data, z.avail_in = (uInt)size;
  z.next_out = out, z.avail_out = (uInt)room;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
  size_t n = room - z.avail_out;
  deflateEnd(&z);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 20) return 0;
  size_t room = compressBound((uLong)size) + 64;
  uint8_t *gz = malloc(room);
  size_t n = gzip(data, size, gz, room);
  arena *a = arena_new();
  const char *why = NULL;
  bool ok = archive_check(a, (const char *)gz, n, &why);
  if (!ok && (!why || !*why)) abort(); /* refused without words */
  if (ok != archive_check(a, (const char *)gz, n, &why)) abort();
  arena_free(a);
  free(gz);
  return 0;
}
