/* merge.h: overlays onto a base, as environments patch app templates.
 *
 * Objects merge key by key, recursively; scalars and lists are replaced; a
 * field whose overlay value is the `delete` marker is removed. Every value
 * that replaces another keeps it in `prev`, tagged with `via`. */
#ifndef PLUMB_MERGE_H
#define PLUMB_MERGE_H

#include "plumb/value.h"

/* `delete` evaluates to a null whose `via` is this very string, so the marker
 * keeps the position of the keyword for error messages. */
extern const char merge_delete_via[];
static inline bool merge_is_delete(const value *v) {
  return v->kind == V_NULL && v->via == merge_delete_via;
}

/* A new value: overlay merged onto base. Neither input is changed. */
value *merge_values(arena *a, const value *base, const value *overlay, const char *via);

#endif
