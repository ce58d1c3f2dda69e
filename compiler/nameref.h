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

/* Who a resource is: its kind, namespace (NULL: none) and name. */
typedef struct {
  const char *kind, *ns, *name;
} resource_id;

/* Who a resource was in the layers of its env so far (build.c), oldest
 * first: as declared, then as each later layer found it when it differed.
 * A patch may name it as declared; a reference by any of them follows it. */
typedef struct {
  resource_id *ids;
  size_t n, cap;
} resource_past;

/* Who a resource was as declared, and as the layer now applied found it:
 * the first and last of its past (never empty once a layer applies). */
static inline const resource_id *past_declared(const resource_past *p) { return &p->ids[0]; }
static inline const resource_id *past_latest(const resource_past *p) { return &p->ids[p->n - 1]; }

/* Rewrites references in res[0..n) that name a resource by a name it had
 * (past, one per resource, last its name before this layer's transformers)
 * to the name it has now; `env` names the layer ("env prod") in the `via`
 * of every field it changes. custom (NULL, or a list of field specs {kind,
 * group, version, path, to}) adds fields of custom kinds that name a
 * resource of kind `to`. */
void nameref_follow(arena *a, compile_resource *res, size_t n, const resource_past *past, const char *env,
                    const value *custom);

#endif
