/* builtin.h: functions written in C that every Plumb file can call.
 *
 * A built-in receives already-evaluated arguments, checks their kinds itself
 * and reports a mistake with eval_fail(), which names the call site. */
#ifndef PLUMB_BUILTIN_H
#define PLUMB_BUILTIN_H

#include "plumb/value.h"

typedef struct eval eval;

typedef value *(*builtin_impl)(eval *ev, pos at, value **argv, int argc);

typedef struct {
  const char *name;
  int min_args, max_args; /* max_args -1: variadic */
  builtin_impl impl;
} builtin;

/* NULL when no built-in has that name. */
const builtin *builtin_find(const char *name);
/* The position of b in the table, from 0; below 64. */
int builtin_index(const builtin *b);

/* Appends the standard base64 form of s, padded (as base64_encode). */
void builtin_base64(buf *out, const char *s, size_t n);

/* Services the evaluator gives built-ins (defined in eval.c). */
arena *eval_arena(eval *ev);
/* Records an error at `at` and returns NULL, so `return eval_fail(...)`. */
value *eval_fail(eval *ev, pos at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reads PATH, relative to the directory of the file that holds `at`, as a
 * string value; fails, naming the built-in `fn`, for any file outside the
 * compiled root. */
value *eval_read_file(eval *ev, pos at, const char *fn, const char *path);
/* The same file as text and its root-relative name; false after reporting
 * "FN: why" at `at`. */
bool eval_read_source(eval *ev, pos at, const char *fn, const char *path, const char **name, const char **text,
                      size_t *len);
/* The diagnostics of this compile (from_yaml reports into them). */
diag_list *eval_diags(eval *ev);

#endif
