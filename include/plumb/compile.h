/* compile.h: the compiler as a library: Plumb sources in, resources out.
 *
 * This is the door between the compiler and its users (the CLI, the runtime):
 * one call compiles an environment into the resources it declares, each with
 * the provenance of every value. Everything lives in the result's arena. */
#ifndef PLUMB_COMPILE_H
#define PLUMB_COMPILE_H

#include "plumb/diag.h"
#include "plumb/value.h"

typedef struct {
  const char *path; /* a directory of .plumb files or one file */
  const char *root; /* repository root; NULL: nearest ancestor holding .git,
                       else the directory of path */
  const char *env;  /* which env to build when path declares several */
} compile_opts;

typedef struct {
  value *obj;      /* the resource, in install order within the result */
  const char *app; /* the `app` that produced it; NULL if the env itself did */
} compile_resource;

typedef struct {
  arena *arena;
  diag_list diags; /* errors mean the result is not to be used */
  const char *env; /* the env built */
  compile_resource *res;
  size_t nres;
  value *value; /* compile_eval: the expression's value */
} compile_result;

/* Never NULL; release with compile_free. */
compile_result *compile_build(const compile_opts *o);
/* Compiles one file given as text, with nothing else readable but the
 * standard library (for fuzzing, and sources that are not on disk). */
compile_result *compile_source(const char *file, const char *text, size_t len, const char *env);

/* One file of a root held in memory (a git tree). */
typedef struct {
  const char *name;    /* root-relative, "/"-separated, no "." or ".." */
  const char *text;    /* borrowed: must outlive the result */
  size_t len;
  const char *refused; /* non-NULL: the file exists but reading it fails
                          with these words (a symlink out of the root) */
} compile_file;

/* Compiles path (root-relative: a directory or a file; "" is the root) as
 * compile_build compiles the same files on disk; nothing else is readable
 * but the standard library. */
compile_result *compile_files(const compile_file *files, size_t n, const char *path, const char *env);
/* Evaluates one expression (for `plumb eval` and the language tests). file
 * names it in diagnostics and, relative to root, is where file() starts. */
compile_result *compile_eval(const char *root, const char *file, const char *text, size_t len);
void compile_free(compile_result *r);

#endif
