/* diag.c: collecting and printing diagnostics. */
#include "plumb/diag.h"

#include <stdarg.h>
#include <string.h>

#include "plumb/emit.h"

enum {
  DEFAULT_MAX_ERRORS = 50,
  CONTEXT_WIDTH = 100, /* bytes of a long source line shown around the column */
};

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

bool diag_keeps_next(const diag_list *d) { return d->errors < (d->max_errors ? d->max_errors : DEFAULT_MAX_ERRORS); }

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

void diag_warning(diag_list *d, pos at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add(d, DIAG_WARNING, at, fmt, ap);
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

pos diag_pos_of(const char *file, const char *text, size_t offset) {
  const unsigned char *p = (const unsigned char *)text;
  pos at = {file, 1, 1};
  for (size_t i = 0, len; i < offset; i += len) {
    len = emit_utf8_char(text + i, offset - i);
    if (!len) len = 1; /* a byte that is not UTF-8 is a column of its own */
    if (p[i] == '\n') at.line++, at.col = 1;
    else at.col++;
  }
  return at;
}

/* Appends n bytes of s as a terminal shows them harmlessly: source lines and
 * messages (which quote user strings) may hold escape sequences, which would
 * recolour, retitle or rewrite a terminal or a CI log. Control characters
 * but the tab, and bytes that are not UTF-8 (0x9B is a CSI to some
 * terminals), become \xNN; the C1 controls \u0080 to \u009F stay as that
 * text. pad, when given, gets the blanks that line up with what was
 * written: a tab for a tab, one space per character. */
static void put_escaped(buf *b, buf *pad, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    size_t len = emit_utf8_char((const char *)p, (size_t)(end - p)), start = b->len;
    bool control = len == 1 ? (p[0] < 0x20 && p[0] != '\t') || p[0] == 0x7F : len == 2 && p[0] == 0xC2 && p[1] < 0xA0;
    if (len == 0 || (control && len == 1))
      buf_printf(b, "\\x%02x", p[0]);
    else if (control)
      buf_printf(b, "\\u%04x", p[1]);
    else
      buf_put(b, (const char *)p, len);
    if (pad) {
      size_t cols = len && !control ? 1 : b->len - start;
      for (size_t i = 0; i < cols; i++) buf_putc(pad, p[0] == '\t' ? '\t' : ' ');
    }
    p += len ? len : 1;
  }
}

/* The byte offset of 1-based column col in the n bytes of line p, counted
 * as the lexer counts (sources are UTF-8) and diag_pos_of: a column per
 * character, and per byte that is not UTF-8. */
static size_t column_offset(const char *p, size_t n, int col) {
  size_t i = 0;
  for (int c = 1; c < col && i < n; c++) {
    size_t len = emit_utf8_char(p + i, n - i);
    i += len ? len : 1;
  }
  return i;
}

/* Line at.line of s, then a caret under column at.col. A long line (a
 * minified or generated one) is cut to a window around the column, marked
 * by "..." where cut: each diagnostic would echo it whole otherwise. */
static void put_line(buf *b, const source *s, pos at) {
  const char *p = s->text, *end = s->text + s->len;
  for (int line = 1; line < at.line && p < end; line++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return;
    p = nl + 1;
  }
  const char *eol = memchr(p, '\n', (size_t)(end - p));
  size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
  if (n && p[n - 1] == '\r') n--; /* part of a CRLF line end */
  size_t caret = column_offset(p, n, at.col), from = 0, to = n;
  if (n > CONTEXT_WIDTH) {
    from = caret > CONTEXT_WIDTH / 2 ? caret - CONTEXT_WIDTH / 2 : 0;
    if (from > n - CONTEXT_WIDTH) from = n - CONTEXT_WIDTH;
    to = from + CONTEXT_WIDTH;
    while (from < caret && (p[from] & 0xC0) == 0x80) from++;
    while (to < n && (p[to] & 0xC0) == 0x80) to++;
  }
  buf pad = {0};
  buf_puts(b, from ? "  ..." : "  ");
  buf_puts(&pad, from ? "     " : "  ");
  put_escaped(b, &pad, p + from, caret - from);
  put_escaped(b, NULL, p + caret, to - caret);
  buf_puts(b, to < n ? "...\n" : "\n");
  buf_put(b, pad.data, pad.len);
  buf_puts(b, "^\n");
  buf_free(&pad);
}

/* Each diagnostic is written whole, in one write: stderr is unbuffered. */
void diag_print(const diag_list *d, FILE *out) {
  buf b = {0};
  for (const diag *g = d->first; g; g = g->next) {
    b.len = 0;
    if (g->at.file) {
      put_escaped(&b, NULL, g->at.file, strlen(g->at.file));
      if (g->at.line) buf_printf(&b, ":%d:%d", g->at.line, g->at.col);
    } else {
      buf_puts(&b, "plumb");
    }
    static const char *const words[] = {"error", "note", "warning"};
    buf_printf(&b, ": %s: ", words[g->severity]);
    put_escaped(&b, NULL, g->msg, strlen(g->msg));
    buf_putc(&b, '\n');
    const source *s = find_source(d, g->at.file);
    if (s && g->at.line) put_line(&b, s, g->at);
    fwrite(b.data, 1, b.len, out);
  }
  buf_free(&b);
  int max = d->max_errors ? d->max_errors : DEFAULT_MAX_ERRORS;
  if (d->errors > max) fprintf(out, "plumb: %d more errors not shown\n", d->errors - max);
}
