/* transform.h: what an env's settings do to its resources.
 *
 * After the patches, the settings are applied in Kustomize's order:
 * namespace, name_prefix and name_suffix, the labels and annotations,
 * replicas, images. Then resources a generator made get the hash of their
 * content in their names, and references follow every rename
 * (docs/language.md, sections 8, 10 and 11). Every field a transformer sets
 * carries a `via` naming it, for `plumb explain`. */
#ifndef PLUMB_TRANSFORM_H
#define PLUMB_TRANSFORM_H

#include "eval.h"
#include "layer.h"
#include "nameref.h"
#include "plumb/compile.h"

/* Checks one env setting: that `name` is a setting and `v` fits it. Reports
 * an unknown name at name_at, a wrong value at value_at or inside it. */
bool transform_check_setting(eval *ev, const char *name, pos name_at, const value *v, pos value_at);

/* Applies the settings of layer l (an object of checked settings), with
 * specs (transform_field_specs) for custom kinds, to res[0..n), naming the
 * layer ("env prod", "component tls") in the `via`
 * of what it sets and in messages; past says who each resource was
 * (nameref.h), its last entry who it is before this layer. The last layer
 * also names generated resources by their content, once everything that
 * changes them is done. */
void transform_env(eval *ev, const layer *l, const value *specs, compile_resource *res, const resource_past *past,
                   size_t n, bool last);

/* The field_specs settings of layers[from..to] in one object, each
 * category's entries in layer order (specs, above); NULL when none has
 * any. A field spec declared in a layer serves the layers above it too,
 * as Kustomize's configurations do. */
value *transform_field_specs(arena *a, const layer *layers, size_t from, size_t to);

#endif
