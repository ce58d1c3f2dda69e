/* fuzz_compile.c: libFuzzer target for the lexer, parser, checker and
 * evaluator. Any input must give a result or diagnostics, never a crash, a
 * leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "plumb/compile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  compile_result *r = compile_source("fuzz.plumb", (const char *)data, size, NULL);
  /* Printing exercises the caret code on arbitrary lines too. */
  FILE *devnull = fopen("/dev/null", "w");
  if (devnull) {
    diag_print(&r->diags, devnull);
    fclose(devnull);
  }
  compile_free(r);
  return 0;
}
