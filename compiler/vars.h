/* vars.h: Kustomize's vars, read from kustomizations (kustomize.h).
 *
 * A var names a field of one resource (`objref`, `fieldref.fieldpath`,
 * metadata.name by default); once the whole tree is built, names hashed
 * and references followed, `$(NAME)` in the fields vars may stand in (the
 * var references: args, command, env values and mount paths of every
 * container, labels and annotations, and a few more, as Kustomize's
 * varReference table lists them) is replaced by that field's value.
 * `$$` is a `$`; an unknown `$(NAME)` stays as it is. Plumb's own envs
 * have replacements instead (docs/language.md, section 10.7). */
#ifndef PLUMB_VARS_H
#define PLUMB_VARS_H

#include "eval.h"
#include "nameref.h"
#include "plumb/compile.h"

/* vars: a list of {name, kind, apiVersion, objname, namespace, fieldpath}
 * as the reader makes them, placed where each was declared; refs: more
 * var references, field specs {kind, group, version, path} (fieldspec.h),
 * or NULL. Replaces in res[0..n), past saying who each resource was
 * (nameref.h). Reports a var that matches no resource, or more than one,
 * or whose field is missing. */
void vars_resolve(eval *ev, const value *vars, const value *refs, compile_resource *res, const resource_past *past,
                  size_t n);

#endif
