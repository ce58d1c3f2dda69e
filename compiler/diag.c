/* diag.c: collecting and printing diagnostics. */
#include "plumb/diag.h"

#include <stdarg.h>
#include <string.h>

enum { DEFAULT_MAX_ERRORS = 50 };

void diag_init(diag_list *d, arena *a) {
  memset(d, 0, sizeof *d);
  d->arena = a;
}

static void add(diag_list *d, diag_severity sev, pos at, const char *fmt, va_list ap) {
  int max = d->max_errors ? d->max_errors : DEFAULT_MAX_ERRORS;
  if (sev == DIAG_ERROR && d->errors++ >= max) return;
  /* A note belongs to the error before it; drop it when that was dropped. */
  if (sev == DIAG_NOTE && d->errors > max) return;
  diag *g = arena_alloc(d->arena, sizeof *g);
  g->severity = sev;
  g->at = at;
  g->msg = arena_vprintf(d->arena, fmt, ap);
  if (d->last)
    d->last->next = g;
  else
    d->first = g;
  d->last = g;
}

void diag_error(diag_list *d, pos at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add(d, DIAG_ERROR, at, fmt, ap);
  va_end(ap);
}

void diag_note(diag_list *d, pos at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add(d, DIAG_NOTE, at, fmt, ap);
  va_end(ap);
}

void diag_add_source(diag_list *d, const char *name, const char *text, size_t len) {
  source *s = arena_alloc(d->arena, sizeof *s);
  *s = (source){name, text, len, d->sources};
  d->sources = s;
}

static const source *find_source(const diag_list *d, const char *name) {
  for (const source *s = d->sources; s; s = s->next)
    if (name && strcmp(s->name, name) == 0) return s;
  return NULL;
}

/* The line is printed as it is; the caret line copies its tabs so the caret
 * lands under the column whatever the terminal's tab width. */
static void print_line(FILE *out, const source *s, pos at) {
  const char *p = s->text, *end = s->text + s->len;
  for (int line = 1; line < at.line && p < end; line++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return;
    p = nl + 1;
  }
  const char *eol = memchr(p, '\n', (size_t)(end - p));
  size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
  fprintf(out, "  %.*s\n  ", (int)n, p);
  for (int i = 1; i < at.col && (size_t)(i - 1) < n; i++) fputc(p[i - 1] == '\t' ? '\t' : ' ', out);
  fputs("^\n", out);
}

void diag_print(const diag_list *d, FILE *out) {
  for (const diag *g = d->first; g; g = g->next) {
    const char *sev = g->severity == DIAG_ERROR ? "error" : "note";
    if (g->at.file && g->at.line)
      fprintf(out, "%s:%d:%d: %s: %s\n", g->at.file, g->at.line, g->at.col, sev, g->msg);
    else if (g->at.file)
      fprintf(out, "%s: %s: %s\n", g->at.file, sev, g->msg);
    else
      fprintf(out, "plumb: %s: %s\n", sev, g->msg);
    const source *s = find_source(d, g->at.file);
    if (s && g->at.line) print_line(out, s, g->at);
  }
  int max = d->max_errors ? d->max_errors : DEFAULT_MAX_ERRORS;
  if (d->errors > max) fprintf(out, "plumb: %d more errors not shown\n", d->errors - max);
}
