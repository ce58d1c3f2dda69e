/* fmt.c: `plumb fmt`, the canonical layout of .plumb files.
 *
 * The formatter works on the token stream (comments included), not the tree:
 * it keeps the author's line breaks and comments and only normalises what a
 * reviewer should never have to discuss: indentation (two spaces per open
 * bracket), spacing around operators and punctuation, blank lines (at most
 * one), trailing space, and the final newline. Strings are copied verbatim. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fmt.h"
#include "plumb/cli.h"
#include "save.h"
#include "parse.h"
#include "parser.h"
#include "lexer.h"
#include "loader.h"

/* A line is indented one step past the line that opened the innermost open
 * bracket, so "[{" on one line costs one step, not two; a line that starts by
 * closing a bracket lines up with the line that opened it. A line that
 * closes a bracket of an earlier line, as the last line of a wrapped
 * parameter list does, continues that line: brackets it opens after that
 * count from the earlier line's indent, so the body of
 * `template t(a: int,\n  b: int) {` is indented once, not twice. A line
 * that starts with an operator continuing the line before is indented one
 * step more. */
typedef struct {
  buf out;
  int open_indent[256]; /* indent of the line where each open bracket is */
  int nopen;
  int indent;           /* of the current line */
  int base;             /* what a bracket opened now records: see above */
  int prev;      /* previous token, 0 at the start */
  int prev_line; /* line where the previous token ended */
  bool line_start;
  bool prev_unary;
  /* Where in `patch KIND NAME` or `patch KIND where(...)` the tokens are
   * (patch_words): a '[' after the target starts a JSON patch, not an
   * index. */
  int patch_words;
} fmt_state;

static bool opens(int t) { return t == '{' || t == '[' || t == '('; }
static bool closes(int t) { return t == '}' || t == ']' || t == ')'; }

/* Tokens after which a '-' or '!' is a prefix operator. */
static bool expects_operand(int t) {
  return t == 0 || opens(t) || t == ',' || t == ':' || t == COLON_EQ || t == '=' || t == '+' || t == '-' || t == '*' || t == '/' ||
         t == '%' || t == '<' || t == '>' || t == EQ || t == NE || t == LE || t == GE || t == AND || t == OR ||
         t == '!' || t == IF || t == THEN || t == ELSE || t == IN;
}

/* Tokens that, starting a line, continue the line before (the parser's
 * continues_line, less the closers, and less an `else` after a '}', which
 * lines up with its `if`). */
static bool continues(const fmt_state *f, int t) {
  return t == '.' || t == '+' || t == '*' || t == '/' || t == '%' || t == '<' || t == '>' || t == EQ || t == NE ||
         t == LE || t == GE || t == AND || t == OR || t == THEN || (t == ELSE && f->prev != '}');
}

static bool value_end(int t) {
  return t == IDENT || t == KIND || t == INT || t == FLOAT || t == STR_END || t == TSTR_END || t == ')' || t == ']' ||
         t == '}' || t == TRUE || t == FALSE || t == NULL_;
}

static bool space_between(const fmt_state *f, int t) {
  int p = f->prev;
  if (p == '.' || t == '.' || t == ',' || t == ':' || t == ')' || t == ']') return false;
  if (p == '(' || p == '[') return false;
  if (f->prev_unary) return false;
  if ((t == '(' || (t == '[' && f->patch_words != 3)) && value_end(p)) return false; /* call or index */
  if (p == '{' && t == '}') return false;
  return true;
}

/* Follows `patch KIND NAME` and `patch [KIND] where(...)`: 1 after patch,
 * 2 after its kind, 3 once its target is complete (a '[' then starts a
 * JSON patch), 4 after `where`, 5 and up inside its parentheses. */
static void patch_words(fmt_state *f, int t, const char *text, size_t len) {
  int w = f->patch_words;
  bool name = t == IDENT || t == STR_END || t == TSTR_END;
  bool where = t == IDENT && len == 5 && memcmp(text, "where", 5) == 0;
  if (w >= 5) f->patch_words = t == '(' ? w + 1 : t == ')' ? (w == 5 ? 3 : w - 1) : w;
  else if (w == 4) f->patch_words = t == '(' ? 5 : 0;
  else if ((w == 1 || w == 2) && where) f->patch_words = 4;
  else f->patch_words = t == IDENT && len == 5 && memcmp(text, "patch", 5) == 0 ? 1
                        : w == 1 && t == KIND                                  ? 2
                        : w == 2 && name                                       ? 3
                                                                               : 0;
}

static void newline(fmt_state *f, int blank) {
  while (f->out.len && f->out.data[f->out.len - 1] == ' ') f->out.len--;
  buf_putc(&f->out, '\n');
  if (blank) buf_putc(&f->out, '\n');
  f->line_start = true;
}

static void token(fmt_state *f, int t, int line, int end_line, const char *text, size_t len) {
  if (f->prev && line > f->prev_line) newline(f, line > f->prev_line + 1);
  if (f->line_start) {
    int top = f->nopen ? f->open_indent[f->nopen - 1] : -1;
    f->indent = closes(t) ? (top < 0 ? 0 : top) : top + 1 + continues(f, t);
    f->base = f->indent;
    for (int i = 0; i < f->indent; i++) buf_puts(&f->out, "  ");
  } else if (f->prev && space_between(f, t)) {
    buf_putc(&f->out, ' ');
  }
  buf_put(&f->out, text, len);
  f->line_start = false;
  f->prev_unary = (t == '-' || t == '!') && expects_operand(f->prev);
  if (closes(t) && f->nopen && f->open_indent[--f->nopen] < f->base) f->base = f->open_indent[f->nopen];
  if (opens(t) && f->nopen < (int)(sizeof f->open_indent / sizeof f->open_indent[0]))
    f->open_indent[f->nopen++] = f->base;
  f->prev = t;
  f->prev_line = end_line;
  patch_words(f, t, text, len);
}

int fmt_source(const char *name, const char *text, size_t len, buf *out, diag_list *d) {
  parse_state ps = {.arena = d->arena, .diags = d, .file = name, .line = 1, .col = 1, .keep_comments = true};
  int errors_before = d->errors;
  yyscan_t sc;
  yylex_init_extra(&ps, &sc);
  YY_BUFFER_STATE b = yy_scan_bytes(text, (int)len, sc);
  fmt_state f = {0};
  YYSTYPE val;
  YYLTYPE loc;
  int strings = 0, str_start = 0, str_line = 0;
  for (int t; (t = yylex(&val, &loc, sc)) != YYEOF;) {
    if (t == YYerror) break;
    int start = ps.offset - yyget_leng(sc);
    if (t == STR_BEGIN || t == TSTR_BEGIN) {
      if (strings++ == 0) str_start = start, str_line = loc.first_line;
      continue;
    }
    if (strings) {
      if ((t == STR_END || t == TSTR_END) && --strings == 0)
        token(&f, t, str_line, loc.last_line, text + str_start, (size_t)(ps.offset - str_start));
      continue;
    }
    size_t n = (size_t)(ps.offset - start);
    while (n && (text[start + n - 1] == ' ' || text[start + n - 1] == '\t')) n--;
    token(&f, t, loc.first_line, loc.last_line, text + start, n);
  }
  yy_delete_buffer(b, sc);
  yylex_destroy(sc);
  if (d->errors > errors_before) {
    buf_free(&f.out);
    return -1;
  }
  if (f.prev) newline(&f, 0);
  *out = f.out;
  return 0;
}

/* out as its file had it: with the byte order mark and the CRLF line ends
 * that loader_source_text took out (had). */
static void as_written(buf *out, int had) {
  if (!had) return;
  buf b = {0};
  if (had & LOADER_HAD_BOM) buf_puts(&b, "\xEF\xBB\xBF");
  for (size_t i = 0; i < out->len; i++) {
    if ((had & LOADER_HAD_CRLF) && out->data[i] == '\n') buf_putc(&b, '\r');
    buf_putc(&b, out->data[i]);
  }
  buf_free(out);
  *out = b;
}

static int fmt_file(const char *path, bool check, diag_list *d) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    fprintf(stderr, "plumb: cannot read %s: %s\n", path, strerror(errno));
    return 2;
  }
  buf in = {0};
  char chunk[65536];
  for (size_t n; (n = fread(chunk, 1, sizeof chunk, fp)) > 0;) buf_put(&in, chunk, n);
  fclose(fp);
  /* The arena copy outlives this call: diagnostics quote from it. */
  size_t len = in.len;
  const char *text = arena_strndup(d->arena, in.data ? in.data : "", len);
  buf_free(&in);
  /* A file with CRLF line ends or a byte order mark (a Windows checkout)
   * is formatted as the compiler reads it, and keeps both when written. */
  const char *plain = text;
  size_t plain_len = len;
  int had = loader_source_text(d->arena, &plain, &plain_len);
  diag_add_source(d, path, plain, plain_len);
  buf out = {0};
  int rc = 1;
  if (fmt_source(path, plain, plain_len, &out, d) == 0) {
    as_written(&out, had);
    rc = 0;
  }
  if (rc == 0 && (out.len != len || memcmp(out.data, text, len) != 0)) {
    if (check) {
      printf("%s\n", path);
      rc = 1;
    } else {
      rc = save_file(path, out.data, out.len);
    }
  }
  buf_free(&out);
  return rc;
}

static int fmt_path(const char *path, bool check, diag_list *d);

static int fmt_dir(const char *path, bool check, diag_list *d) {
  struct dirent **list;
  int n = scandir(path, &list, NULL, alphasort), rc = 0;
  if (n < 0) {
    fprintf(stderr, "plumb: cannot list %s: %s\n", path, strerror(errno));
    return 2;
  }
  for (int i = 0; i < n; i++) {
    const char *e = list[i]->d_name;
    size_t el = strlen(e);
    if (e[0] != '.' && (list[i]->d_type == DT_DIR || (el > 6 && strcmp(e + el - 6, ".plumb") == 0))) {
      char *sub = arena_printf(d->arena, "%s/%s", path, e);
      int r = fmt_path(sub, check, d);
      if (r > rc) rc = r;
    }
    free(list[i]);
  }
  free(list);
  return rc;
}

static int fmt_path(const char *path, bool check, diag_list *d) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "plumb: cannot read %s: %s\n", path, strerror(errno));
    return 2;
  }
  if (S_ISDIR(st.st_mode)) return fmt_dir(path, check, d);
  if (S_ISREG(st.st_mode)) return fmt_file(path, check, d);
  /* Opening a named pipe would wait for a writer forever. */
  fprintf(stderr, "plumb: cannot read %s: not a regular file\n", path);
  return 2;
}

/* plumb fmt [--check] PATH...: with --check, lists files not in canonical
 * layout and exits 1 if there is any, changing nothing. */
int fmt_main(const cli_command *cmd, int argc, char **argv) {
  for (int i = 0; i < argc; i++)
    if (cli_is_help(argv[i])) {
      cli_print_help(stdout, cmd);
      return 0;
    }
  bool check = argc > 0 && strcmp(argv[0], "--check") == 0;
  int bad = cli_want_count(cmd, argc - check, argv + check);
  if (bad) return bad;
  arena *a = arena_new();
  diag_list d;
  diag_init(&d, a);
  int rc = 0;
  for (int i = check; i < argc; i++) {
    int r = fmt_path(argv[i], check, &d);
    if (r > rc) rc = r;
  }
  diag_print(&d, stderr);
  arena_free(a);
  return rc;
}
