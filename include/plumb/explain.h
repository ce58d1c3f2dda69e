/* explain.h: where every value of a resource came from. */
#ifndef PLUMB_EXPLAIN_H
#define PLUMB_EXPLAIN_H

#include "plumb/arena.h"
#include "plumb/value.h"

/* Writes one line per leaf field under `field` (NULL or "" for all): the
 * path, the value, the file:line:col that set it and how (patch, env
 * setting...), then each value it overrode, most recent first. Returns -1
 * when the field does not exist. */
int explain_resource(buf *out, const value *res, const char *field);

#endif
