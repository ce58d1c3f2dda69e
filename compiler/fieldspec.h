/* fieldspec.h: changing a resource wherever a field path reaches.
 *
 * A path is field names joined by '.'. A list met on the way is crossed: the
 * rest of the path applies to each of its items, as in Kustomize's field
 * specs, so "spec.containers.image" reaches the image of every container.
 * Values are immutable: the result is a new value that shares whatever did
 * not change, or the input itself when nothing did. */
#ifndef PLUMB_FIELDSPEC_H
#define PLUMB_FIELDSPEC_H

#include "plumb/value.h"

/* The new value of the field the path ends at; `old` is NULL where the field
 * is missing and the path creates it. NULL leaves the field as it is. */
typedef value *(*fieldspec_fn)(arena *a, const value *old, void *ctx);

/* v with fn applied at every place path reaches. With create, missing
 * objects along the path, and the last field, are made. */
value *fieldspec_apply(arena *a, value *v, const char *path, bool create, fieldspec_fn fn, void *ctx);

#endif
