/* builtin.h: functions written in C that every Plumb file can call.
 *
 * A built-in receives already-evaluated arguments, checks their kinds itself
 * and reports a mistake with eval_fail(), which names the call site. */
#ifndef PLUMB_BUILTIN_H
#define PLUMB_BUILTIN_H

#include "plumb/value.h"

typedef struct eval eval;

/* Steps of work a compile may do: some 20 seconds of evaluation, where
 * an env of 10,000 apps takes under a million. Steps are counted, not
 * seconds, so that whether a compile is over its budget is the same on
 * every machine. */
#define EVAL_MAX_WORK ((uint64_t)1 << 28)

typedef value *(*builtin_impl)(eval *ev, pos at, value **argv, int argc);

typedef struct {
  const char *name;
  int min_args, max_args; /* max_args -1: variadic */
  builtin_impl impl;
  /* Goes through its arguments whole, so that a call costs as much work
   * as their size (eval_charge), not one step. */
  bool scans;
} builtin;

/* Bytes a built-in goes through in one step of work. */
enum { SCAN_BYTES = 64 };

/* NULL when no built-in has that name. */
const builtin *builtin_find(const char *name);
/* The position of b in the table, from 0; below 64. */
int builtin_index(const builtin *b);

/* Gives v and everything in it the position at: values read from text
 * (from_json, an env's --arg) are where that text was given. */
void builtin_stamp(value *v, pos at);

/* The resources of the YAML documents docs of file name, a List (`kind:
 * List`, ConfigMapList, ...) standing for its items (as kubectl and
 * Kustomize read one); NULL after reporting, in fn's name, a document
 * without kind and metadata.name. */
value *builtin_resources_of(eval *ev, const char *fn, const char *name, const value *docs);
/* v as compact JSON text, as to_json() writes it: NULL after reporting,
 * in fn's name, a value that has none (a function, a string that is not
 * UTF-8, text longer than a string may be). */
value *builtin_to_json(eval *ev, pos at, const char *fn, value *v);
/* Appends the standard base64 form of s, padded (as base64_encode). */
void builtin_base64(buf *out, const char *s, size_t n);
/* Appends the bytes of standard base64 s[0..len), padded, line breaks
 * skipped, as base64_decode reads it: false when it is not base64, with
 * *bad the offset of the first character that is not (SIZE_MAX when the
 * length is what is wrong). Padding leaves the unused bits zero: each
 * text has one form. */
bool builtin_base64_decode(buf *out, const char *s, size_t len, size_t *bad);

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
/* Counts n steps of work done at `at` (an evaluated expression is one; a
 * built-in that scans its arguments counts their size). False, reported
 * once, when the compile has done more than EVAL_MAX_WORK steps or uses
 * more than its memory: the compile is then over, and every evaluation
 * after it fails quietly. */
bool eval_charge(eval *ev, pos at, uint64_t n);
/* v's size as text, for messages: "about 12 MiB", or "more than 4 GiB"
 * past what value.size counts. */
const char *eval_size_words(eval *ev, const value *v);
/* The diagnostics of this compile (from_yaml reports into them). */
diag_list *eval_diags(eval *ev);

#endif
