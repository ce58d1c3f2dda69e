/* fuzz_served.c: libFuzzer target for reading a cluster's OpenAPI v3
 * document (compile_check_served): its schemas, their $refs and value
 * validations, then a custom resource checked against them. A cluster
 * answers what it likes; any bytes must give a verdict or a refusal,
 * never a crash, a leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/compile.h"

/* A resource of each shape a schema may refuse: nested objects, a list,
 * numbers, strings, a null. */
static const char env[] =
    "env e {\n"
    "  Widget \"w\" {\n"
    "    apiVersion: \"example.com/v1\"\n"
    "    metadata: { namespace: \"default\", labels: { a: \"b\" } }\n"
    "    spec: { size: 3, ratio: 0.5, name: \"x-1\", tags: [\"a\", \"a\"], parts: [{ id: 1 }, { id: 1 }], none: null }\n"
    "  }\n"
    "}\n";

typedef struct {
  const uint8_t *data;
  size_t size;
} input;

static int read_doc(void *ctx, const char *api, arena *a, const char **text, size_t *len, const char **err) {
  const input *in = ctx;
  (void)api, (void)a, (void)err;
  *text = (const char *)in->data;
  *len = in->size;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static compile_result *r;
  if (!r && (r = compile_source("w.plumb", env, strlen(env), NULL))->diags.errors) abort();
  input in = {data, size};
  arena *a = arena_new();
  diag_list d;
  diag_init(&d, a);
  compile_check_served(r, &d, &(compile_served){read_doc, &in});
  arena_free(a);
  return 0;
}
