/* lang_runner.c: runs the language spec files, tests/lang/NAME.test.
 *
 * A case is a Plumb expression on one line and its value as compact JSON on
 * the next; a failing case is "%%FAIL", the expression, then the first line
 * of the diagnostic. The expression sits alone on line 1 of "test.plumb".
 *
 * A build case is "%%BUILD", the lines of main.plumb, optionally "%%FILE
 * NAME" and the lines of another file beside it (NAME may name
 * directories: sub/a.yaml), then "%%OUT" and what
 * `plumb build` prints: the YAML stream, or the first diagnostic.
 *
 * Cases are separated by blank lines; '#' starts a comment line. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void check(const char *file, int line, const char *what, const char *want, char *got) {
  if (strcmp(got, want) == 0) {
    passed++;
  } else {
    failed++;
    printf("FAIL %s:%d\n  case: %s\n  want: %s\n  got:  %s\n", file, line, what, want, got);
  }
  free(got);
}

static void run_expr(const char *file, int line, bool fail, const char *expr, const char *want) {
  compile_result *r = compile_eval(".", "test.plumb", expr, strlen(expr));
  char *got;
  if (fail || r->diags.errors || !r->value) {
    got = first_diag(r);
  } else {
    buf b = {0};
    emit_json(&b, r->value, false, false);
    got = strdup(b.data);
    buf_free(&b);
  }
  check(file, line, expr, want, got);
  compile_free(r);
}

/* Lines [from, to) into one text, each line ending in a newline. */
static char *joined(char **lines, int from, int to) {
  buf b = {0};
  for (int i = from; i < to; i++) buf_printf(&b, "%s\n", lines[i]);
  char *s = strdup(b.data ? b.data : "");
  buf_free(&b);
  return s;
}

/* Writes dir/name, making the directories name has (sub/a.yaml). */
static bool write_file(const char *dir, const char *name, const char *text) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  for (char *slash = path + strlen(dir) + 1; (slash = strchr(slash, '/')); *slash++ = '/') {
    *slash = '\0';
    mkdir(path, 0777);
  }
  FILE *f = fopen(path, "w");
  if (!f) return false;
  fputs(text, f);
  return fclose(f) == 0;
}

static char *build_output(const char *dir) {
  char main_path[4096];
  snprintf(main_path, sizeof main_path, "%s/main.plumb", dir);
  compile_result *r = compile_build(&(compile_opts){.path = main_path, .root = dir});
  char *got;
  if (r->diags.errors) {
    char *d = first_diag(r);
    if (asprintf(&got, "%s\n", d) < 0) abort();
    free(d);
  } else {
    buf b = {0};
    emit_memo *memo = emit_memo_new();
    for (size_t i = 0; i < r->nres; i++) {
      if (i) buf_puts(&b, "---\n");
      emit_yaml_resource(&b, r->res[i].obj, memo);
    }
    emit_memo_free(memo);
    got = strdup(b.data ? b.data : "");
    buf_free(&b);
  }
  compile_free(r);
  return got;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) { return remove(path); }

/* Writes the case's files to a fresh directory and builds its main.plumb. */
static void run_build(const char *file, int line, char **lines, int n) {
  int out = 1;
  while (out < n && strcmp(lines[out], "%%OUT") != 0) out++;
  if (out == n) {
    printf("FAIL %s:%d: a build case needs %%%%OUT\n", file, line);
    failed++;
    return;
  }
  char dir[] = "/tmp/plumb-lang-XXXXXX", names[16][256];
  int nfiles = 0;
  if (!mkdtemp(dir)) abort();
  for (int start = 1; start < out && nfiles < 16;) {
    int end = start;
    while (end < out && strncmp(lines[end], "%%FILE ", 7) != 0) end++;
    snprintf(names[nfiles], sizeof names[nfiles], "%s", start == 1 ? "main.plumb" : lines[start - 1] + 7);
    char *text = joined(lines, start, end);
    if (!write_file(dir, names[nfiles++], text)) abort();
    free(text);
    start = end + 1;
  }
  char *want = joined(lines, out + 1, n);
  check(file, line, "build", want, build_output(dir));
  free(want);
  nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void run_case(const char *file, int line, char **lines, int n) {
  bool fail = strcmp(lines[0], "%%FAIL") == 0;
  if (strcmp(lines[0], "%%BUILD") == 0) {
    run_build(file, line, lines, n);
  } else if (n == (fail ? 3 : 2)) {
    run_expr(file, line, fail, lines[fail], lines[fail + 1]);
  } else {
    printf("FAIL %s:%d: malformed case (%d lines)\n", file, line, n);
    failed++;
  }
}

static void run_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    printf("FAIL cannot open %s\n", path);
    failed++;
    return;
  }
  char **lines = NULL;
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
      if (n) run_case(path, start, lines, n);
      for (int i = 0; i < n; i++) free(lines[i]);
      n = 0;
      if (len < 0) break;
      continue;
    }
    if (n == 0) start = lineno;
    lines = realloc(lines, (size_t)(n + 1) * sizeof *lines);
    if (!lines) abort();
    lines[n++] = strdup(line);
  }
  free(lines);
  free(line);
  fclose(f);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) run_file(argv[i]);
  printf("lang: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
