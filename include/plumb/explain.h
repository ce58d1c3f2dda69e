/* explain.h: where every value of a resource came from. */
#ifndef PLUMB_EXPLAIN_H
#define PLUMB_EXPLAIN_H

#include "plumb/arena.h"
#include "plumb/compile.h"
#include "plumb/value.h"

/* Writes one line per leaf field under `field` (NULL or "" for all): the
 * path, the value, the file:line:col that set it and how (patch, env
 * setting...), the value of a chart's values that fed it where r's charts
 * tell it, then each value it overrode, most recent first. res is one of
 * r's resources (r may be NULL: no values are told). `field` is a path of
 * keys and [N] indexes, with ["key"] for a key holding dots. Returns -1
 * when the field does not exist, having written to out why, ": deleted by
 * FILE:LINE:COL, ...", when a `delete` removed it. */
int explain_resource(buf *out, const compile_result *r, const value *res, const char *field);

/* Appends key to a path of that form: `.key`, or `["key"]` when it holds
 * what would read as path syntax (the dots of app.kubernetes.io/name). */
void explain_path_key(buf *path, const char *key);

#endif
