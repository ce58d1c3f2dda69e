/* replace.h: the `replacements` setting: a field of one resource copied
 * into fields of others, as Kustomize's replacements copy it.
 *
 *   replacements: [{
 *     source: { kind: "Deployment", name: "web",
 *               field: "spec.template.spec.containers.[name=web].image",
 *               delimiter: ":", index: 1 }
 *     targets: [{ select: { kind: "ConfigMap" }, reject: [{ name: "old" }],
 *                 fields: ["data.version"], create: true }]
 *   }]
 *
 * A source or target is picked by group, version, kind, name and
 * namespace, each equal to what the resource has or had under an earlier
 * name (labels and annotations selectors too, for targets). Fields are
 * paths of keys, `[KEY=VALUE]` picking list items, an index, or `*` for
 * every item (docs/language.md, section 10.7). */
#ifndef PLUMB_REPLACE_H
#define PLUMB_REPLACE_H

#include "eval.h"
#include "nameref.h"
#include "plumb/compile.h"

/* Checks a replacements setting's shape; false after reporting. */
bool replace_check(eval *ev, const value *list);

/* Applies them to res[0..n) in order, each field set tagged with `via`;
 * past says who each resource was (nameref.h). Reports a source that is
 * missing or not one, and a target field that is missing and not made. */
void replace_apply(eval *ev, const char *via, const value *list, compile_resource *res, const resource_past *past,
                   size_t n);

#endif
