/* fieldspec.c: applying a change along a field path (see fieldspec.h). */
#include "fieldspec.h"

#include <string.h>

typedef struct {
  bool create;
  fieldspec_fn fn;
  void *ctx;
} spec;

static value *walk(arena *a, value *v, const char *path, const spec *s);

static value *each_item(arena *a, value *list, const char *path, const spec *s) {
  value *out = NULL;
  for (size_t i = 0; i < list->u.list.len; i++) {
    value *item = walk(a, list->u.list.items[i], path, s);
    if (item == list->u.list.items[i]) continue;
    if (!out) out = value_clone(a, list);
    value_list_set(out, i, item);
  }
  return out ? out : list;
}

static value *walk(arena *a, value *v, const char *path, const spec *s) {
  if (v->kind == V_LIST) return each_item(a, v, path, s);
  if (v->kind != V_OBJECT) return v;
  /* The key is looked up where it stands in path, and copied only when a
   * change has to store it. */
  size_t n = strcspn(path, ".");
  bool last = path[n] == '\0';
  value *old = value_object_getn(v, path, n), *new;
  if (!old && !s->create) return v;
  if (!last) {
    value *base = old ? old : value_object(a, v->at);
    new = walk(a, base, path + n + 1, s);
    if (new == base) return v;
  } else {
    new = s->fn(a, old, s->ctx);
    if (!new || new == old) return v;
  }
  value *out = value_clone(a, v);
  value_object_set(a, out, last ? path : arena_strndup(a, path, n), new);
  return out;
}

value *fieldspec_apply(arena *a, value *v, const char *path, bool create, fieldspec_fn fn, void *ctx) {
  spec s = {create, fn, ctx};
  return walk(a, v, path, &s);
}
