/* nameref.h: references between resources follow their renames.
 *
 * When the env's transformers and generators have renamed resources, or
 * moved them to a namespace, every field of another resource that named one
 * of them by its old name is given the new one. Which fields name which
 * kinds is the table in nameref.c, after Kustomize's nameReference
 * configuration (docs/language.md lists it). */
#ifndef PLUMB_NAMEREF_H
#define PLUMB_NAMEREF_H

#include "plumb/compile.h"

/* Who a resource was before the env transformed it. */
typedef struct {
  const char *kind, *ns, *name;
} resource_id;

/* Rewrites references in res[0..n) from the names in `before` (one per
 * resource) to the names the resources have now; `env` names the env in
 * the `via` of every field it changes. */
void nameref_follow(arena *a, compile_resource *res, size_t n, const resource_id *before, const char *env);

#endif
