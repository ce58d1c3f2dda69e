/* diag.h: one diagnostic type shared by every stage of the compiler.
 *
 * A position names a file relative to the compiled root, so messages read the
 * same on every machine. diag_print shows the source line and a caret under
 * the column, as a user expects from a compiler. */
#ifndef PLUMB_DIAG_H
#define PLUMB_DIAG_H

#include <stdbool.h>
#include <stdio.h>

#include "plumb/arena.h"

typedef struct {
  const char *file; /* root-relative path, or "<stdlib>/NAME", or NULL */
  int line, col;    /* 1-based; 0 when unknown */
} pos;

/* A warning says what a build left out or could not do as asked, and
 * does not fail it (a chart's hooks, which no sync phase runs yet). */
typedef enum { DIAG_ERROR, DIAG_NOTE, DIAG_WARNING } diag_severity;

typedef struct diag {
  diag_severity severity;
  pos at;
  const char *msg;
  struct diag *next;
} diag;

/* Source texts by file name, so diagnostics can quote the offending line. */
typedef struct source {
  const char *name;
  const char *text;
  size_t len;
  struct source *next;
} source;

typedef struct {
  arena *arena;
  diag *first, *last;
  int errors;
  int max_errors; /* stop recording past this many; 0 means the default */
  source *sources;
} diag_list;

void diag_init(diag_list *d, arena *a);
void diag_error(diag_list *d, pos at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_note(diag_list *d, pos at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_warning(diag_list *d, pos at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether the next error would be kept (not only counted): a costly hint
 * is worked out only for a message that will be read. */
bool diag_keeps_next(const diag_list *d);
void diag_add_source(diag_list *d, const char *name, const char *text, size_t len);
/* Where byte offset of text is: lines and columns counted as the lexer
 * counts them, a column per UTF-8 character, and per byte that is not
 * UTF-8. offset must be at most text's length. */
pos diag_pos_of(const char *file, const char *text, size_t offset);

/* Prints every diagnostic: "file:line:col: error: msg", the line, a caret. */
void diag_print(const diag_list *d, FILE *out);

#endif
