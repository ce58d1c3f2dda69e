/* lang_runner.c: runs the language spec files, tests/lang/NAME.test.
 *
 * A case is a Plumb expression on one line and its value as compact JSON on
 * the next; a failing case is "%%FAIL", the expression, then the first line
 * of the diagnostic. Cases are separated by blank lines; '#' starts a
 * comment line. The expression sits alone on line 1 of "test.plumb". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/compile.h"
#include "plumb/emit.h"

static int passed, failed;

static char *first_diag(const compile_result *r) {
  const diag *g = r->diags.first;
  if (!g) return strdup("(no error)");
  char *s;
  if (asprintf(&s, "%s:%d:%d: error: %s", g->at.file, g->at.line, g->at.col, g->msg) < 0) abort();
  return s;
}

static void run_case(const char *file, int line, bool fail, const char *expr, const char *want) {
  compile_result *r = compile_eval(".", "test.plumb", expr, strlen(expr));
  char *got;
  if (fail) {
    got = first_diag(r);
  } else if (r->diags.errors || !r->value) {
    got = first_diag(r);
  } else {
    buf b = {0};
    emit_json(&b, r->value, false, false);
    got = strdup(b.data);
    buf_free(&b);
  }
  if (strcmp(got, want) == 0) {
    passed++;
  } else {
    failed++;
    printf("FAIL %s:%d\n  expr: %s\n  want: %s\n  got:  %s\n", file, line, expr, want, got);
  }
  free(got);
  compile_free(r);
}

static void run_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    printf("FAIL cannot open %s\n", path);
    failed++;
    return;
  }
  char *lines[3] = {0};
  int n = 0, start = 0, lineno = 0;
  char *line = NULL;
  size_t cap = 0;
  for (;;) {
    ssize_t len = getline(&line, &cap, f);
    if (len >= 0) {
      lineno++;
      while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
      if (line[0] == '#') continue;
    }
    if (len < 0 || line[0] == '\0') {
      bool fail = n > 0 && strcmp(lines[0], "%%FAIL") == 0;
      if (n == (fail ? 3 : 2))
        run_case(path, start, fail, lines[fail], lines[fail + 1]);
      else if (n)
        printf("FAIL %s:%d: malformed case (%d lines)\n", path, start, n), failed++;
      for (int i = 0; i < n; i++) free(lines[i]);
      n = 0;
      if (len < 0) break;
      continue;
    }
    if (n == 0) start = lineno;
    if (n < 3) lines[n++] = strdup(line);
  }
  free(line);
  fclose(f);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) run_file(argv[i]);
  printf("lang: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
