/* fieldspec.h: changing a resource wherever a field path reaches.
 *
 * A path is field names joined by '.'. A list met on the way is crossed: the
 * rest of the path applies to each of its items, as in Kustomize's field
 * specs, so "spec.containers.image" reaches the image of every container.
 * The containers along the way are changed in place where the build owns
 * them, or replaced by owned copies (value.h), and only where something
 * changed. */
#ifndef PLUMB_FIELDSPEC_H
#define PLUMB_FIELDSPEC_H

#include "plumb/value.h"

/* The new value of the field the path ends at; `old` is NULL where the field
 * is missing and the path creates it. NULL leaves the field as it is;
 * anything else is put there, old itself included (changed in place). */
typedef value *(*fieldspec_fn)(arena *a, value *old, void *ctx);

/* What stands for v once fn is applied at every place path reaches: v
 * itself when nothing changed (or v was owned), else an owned copy. With
 * create, missing objects along the path, and the last field, are made. */
value *fieldspec_apply(arena *a, value *v, const char *path, bool create, fieldspec_fn fn, void *ctx);

/* Whether a field spec of a custom kind, an object {kind, group, version,
 * path, ...} (each but path optional), is for resource res, of kind. */
bool fieldspec_matches(const value *spec, const char *kind, const value *res);
/* fieldspec_apply of fn at the path of each field spec of specs (a list,
 * or NULL) that is for v, of kind, but for one at skip (a path the caller
 * reaches itself, or NULL); with create, a spec's own create says whether
 * what is missing is made. */
value *fieldspec_apply_matching(arena *a, value *v, const char *kind, const value *specs, bool create,
                                const char *skip, fieldspec_fn fn, void *ctx);
/* The same for the spec's group and version alone: those of res's
 * apiVersion ("" and "v1" of v1). */
bool fieldspec_api_matches(const value *spec, const value *res);

#endif
