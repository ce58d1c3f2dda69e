/* merge.h: overlays onto a base, as environments patch app templates.
 *
 * Two rules. The plain one (merge(), env settings): objects merge key by key,
 * recursively; scalars and lists are replaced. The strategic one (`patch`):
 * the same, except that the lists Kubernetes merges by a key (containers by
 * name, ports by port...) merge element by element, and Kustomize's `$patch`
 * directives are honoured. Both remove a field whose overlay value is the
 * `delete` marker and replace whole what `:=` set. Every value that replaces
 * another keeps it in `prev`, tagged with `via`. */
#ifndef PLUMB_MERGE_H
#define PLUMB_MERGE_H

#include "plumb/value.h"

/* Markers are values whose `via` is one of these very strings, so a marker
 * keeps the position of what the user wrote for error messages. `delete` is a
 * null marked for deletion (a field); `delete {name: "x"}` an object marked
 * so (the list element with that key); `key := v` marks v to be set whole. */
extern const char merge_delete_via[];
extern const char merge_replace_via[];
static inline bool merge_is_delete(const value *v) { return v->via == merge_delete_via; }
static inline bool merge_is_replace(const value *v) { return v->via == merge_replace_via; }

/* A field an overlay deleted leaves a record on the `prev` chain of the
 * object it was in: an object of that one field, holding the value removed,
 * at the place of the `delete` that removed it, tagged with this `via`. So
 * `plumb explain` can say who removed a field; whoever else reads `prev`
 * skips them. */
extern const char merge_removed_via[];
static inline bool merge_is_removal(const value *v) { return v->via == merge_removed_via; }

/* A new value: overlay merged onto base by the plain rule. Neither input is
 * changed. */
value *merge_values(arena *a, const value *base, const value *overlay, const char *via);

/* merge_values for a build's stages (value.h, owned): base and the parts
 * of it the merge changes are changed in place where they are owned, or
 * owned copies; what the overlay brings is copied, owned, but for owned
 * scalars, taken as they are (the overlay is consumed). Returns what
 * stands for base now. */
value *merge_into(arena *a, value *base, value *overlay, const char *via);

/* Merge keys of kinds Plumb does not know, as an OpenAPI document gives
 * them (openapi.h): types of object, each kind's type, and per type the
 * fields that lead to lists merged by key. Made in arena a. */
typedef struct merge_schema merge_schema;
merge_schema *merge_schema_new(arena *a);
/* A new type of object; its number, from 0. */
int merge_schema_type(merge_schema *s);
/* Resources of apiVersion and kind are objects of type. */
void merge_schema_kind(merge_schema *s, const char *api_version, const char *kind, int type);
/* Field `field` of objects of type parent ("*": any field, a map's values)
 * holds objects of type child (-1: none known) or, with key, a list of
 * them merged by key (and loosely by key2, as Kustomize's keyed lists of
 * two keys, or NULL); with set, a list of scalars merged as a set. */
void merge_schema_field(merge_schema *s, int parent, const char *field, int child, const char *key, const char *key2,
                        bool set);
/* Types, kinds and fields in all: what a reader bounds. */
size_t merge_schema_size(const merge_schema *s);

/* Merges a patch body onto the resource res by the strategic rule, which
 * takes the merge keys from res's kind (from custom instead of the
 * built-in table, unless NULL), changing res as merge_into does. Returns
 * false after reporting a malformed overlay to d; *out is then NULL. *out
 * is also NULL, with true, when the overlay deletes the whole resource
 * (`$patch: delete`). */
bool merge_strategic(arena *a, diag_list *d, value *res, const value *overlay, const char *via,
                     const merge_schema *custom, value **out);

#endif
