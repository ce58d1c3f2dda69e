/* fuzz_wire.c: libFuzzer target for reading a compile result from another
 * process (compile_result_decode). Any bytes must give a result or a
 * refusal, never a crash, a leak or undefined behaviour; a result read
 * must write and read back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "plumb/compile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *why;
  compile_result *r = compile_result_decode(data, size, &why);
  if (!r) return 0;
  buf b = {0};
  compile_result_encode(r, &b);
  compile_result *again = compile_result_decode(b.data, b.len, &why);
  if (!again) abort();
  compile_free(again);
  buf_free(&b);
  compile_free(r);
  return 0;
}
