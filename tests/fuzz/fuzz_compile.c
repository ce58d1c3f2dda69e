/* fuzz_compile.c: libFuzzer target for the lexer, parser, checker and
 * evaluator. Any input must give a result or diagnostics, never a crash, a
 * leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "plumb/compile.h"

static void build(const uint8_t *data, size_t size, const char *env) {
  compile_result *r = compile_source("fuzz.plumb", (const char *)data, size, env);
  /* Printing exercises the caret code on arbitrary lines too. */
  FILE *devnull = fopen("/dev/null", "w");
  if (devnull) {
    diag_print(&r->diags, devnull);
    fclose(devnull);
  }
  compile_free(r);
}

/* The only env, then the env "prod": a file of several envs, each built on
 * another, builds too. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  build(data, size, NULL);
  build(data, size, "prod");
  return 0;
}
