/* parse.h: source text to syntax tree (flex scanner + bison parser). */
#ifndef PLUMB_PARSE_H
#define PLUMB_PARSE_H

#include <stdbool.h>

#include "ast.h"

/* Shared by scanner and parser for one file. */
typedef struct {
  arena *arena;
  diag_list *diags;
  const char *file;
  node *root;
  int line, col;       /* where the next token starts */
  int interp[64];      /* brace depth inside each open ${...} */
  int ninterp;
  int start;           /* a token to return first, then 0 */
  int offset;          /* byte offset just past the last token */
  bool keep_comments;  /* return COMMENT tokens (for fmt) */
} parse_state;

/* Parses one file. Always returns a tree (possibly partial); syntax errors
 * go to d, several per file when the parser can recover. */
node *parse_file(arena *a, diag_list *d, const char *file, const char *text, size_t len);

/* Parses text that must be one expression (for `plumb eval` and tests). */
node *parse_expr(arena *a, diag_list *d, const char *file, const char *text, size_t len);

#endif
