/* jsonpatch.h: JSON patch (RFC 6902) operations on values.
 *
 * For what a merge cannot say: insert at a list position, move or copy a
 * value, check one before changing it. Paths are JSON pointers (RFC 6901):
 * `/spec/containers/0/args/-`, with `~1` for '/' and `~0` for '~' in a
 * key, and `-` for the end of a list (add only). */
#ifndef PLUMB_JSONPATCH_H
#define PLUMB_JSONPATCH_H

#include "plumb/value.h"

/* Applies one operation, an object {op, path, value or from}, to doc and
 * returns the result; doc is not changed. Values it sets are tagged `via`,
 * with what they replaced in `prev`. NULL after reporting to d, at the
 * operation, why it failed (a malformed operation, a path that does not
 * exist, a failed test). */
value *jsonpatch_apply(arena *a, diag_list *d, const value *doc, const value *op, const char *via);

#endif
