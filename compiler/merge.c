/* merge.c: plain overlays (see merge.h). */
#include "merge.h"

const char merge_delete_via[] = "delete";

/* A value that lands where nothing was before keeps no delete markers: there
 * is nothing under it to delete. */
static value *strip_deletes(arena *a, const value *v) {
  if (v->kind != V_OBJECT) return (value *)v;
  value *out = value_object(a, v->at);
  out->via = v->via;
  out->prev = v->prev;
  for (size_t i = 0; i < v->u.obj.len; i++) {
    const field *f = &v->u.obj.fields[i];
    if (!merge_is_delete(f->val)) value_object_set(a, out, f->key, strip_deletes(a, f->val));
  }
  return out;
}

static value *replaced(arena *a, const value *base, const value *overlay, const char *via) {
  value *v = value_clone(a, strip_deletes(a, overlay));
  v->via = via;
  v->prev = base;
  return v;
}

value *merge_values(arena *a, const value *base, const value *overlay, const char *via) {
  if (base->kind != V_OBJECT || overlay->kind != V_OBJECT) return replaced(a, base, overlay, via);
  value *out = value_clone(a, base);
  for (size_t i = 0; i < overlay->u.obj.len; i++) {
    const field *f = &overlay->u.obj.fields[i];
    value *old = value_object_get(out, f->key);
    if (merge_is_delete(f->val))
      value_object_remove(out, f->key);
    else if (old)
      value_object_set(a, out, f->key, merge_values(a, old, f->val, via));
    else
      value_object_set(a, out, f->key, replaced(a, NULL, f->val, via));
  }
  return out;
}
