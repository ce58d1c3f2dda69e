/* fuzz_kustomize.c: libFuzzer target for kustomization trees read natively
 * (compiler/kustomize.c). The input is a tree of files: the text up to the
 * first line "#file NAME" is kustomization.yaml, and each such line starts
 * the file NAME (a base's kustomization, a resource, a patch). Any input
 * must give resources or diagnostics, never a crash, a leak or undefined
 * behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "plumb/compile.h"

enum { MAX_FILES = 16 };

typedef struct {
  const char *text;
  size_t len;
} span;

static int read_span(void *ctx, const compile_file *f, arena *a, const char **text, size_t *len, const char **err) {
  const span *s = f->data;
  *text = arena_strndup(a, s->text, s->len);
  *len = s->len;
  return 0;
}

/* Splits data at its "#file NAME" lines into files and names. */
static size_t split(const char *data, size_t size, compile_file *files, span *spans, char names[][64]) {
  size_t n = 0, start = 0;
  strcpy(names[0], "kustomization.yaml");
  for (size_t i = 0; i <= size && n < MAX_FILES; i++) {
    bool marker = i + 6 <= size && (i == 0 || data[i - 1] == '\n') && memcmp(data + i, "#file ", 6) == 0;
    if (!marker && i < size) continue;
    spans[n] = (span){data + start, i - start};
    files[n] = (compile_file){names[n], &spans[n]};
    n++;
    if (i == size || n == MAX_FILES) break;
    const char *nl = memchr(data + i, '\n', size - i);
    size_t end = nl ? (size_t)(nl - data) : size, len = end - i - 6;
    snprintf(names[n], sizeof names[n], "%.*s", (int)(len < 63 ? len : 63), data + i + 6);
    if (!names[n][0]) strcpy(names[n], "x");
    start = i = end;
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  compile_file files[MAX_FILES];
  span spans[MAX_FILES];
  char names[MAX_FILES][64];
  size_t n = split((const char *)data, size, files, spans, names);
  compile_reader reader = {read_span, NULL};
  compile_result *r = compile_files(files, n, &reader, &(compile_opts){.path = "."});
  FILE *devnull = fopen("/dev/null", "w");
  if (devnull) {
    diag_print(&r->diags, devnull);
    fclose(devnull);
  }
  compile_free(r);
  return 0;
}
