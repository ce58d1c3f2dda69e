/* fieldspec.c: applying a change along a field path (see fieldspec.h). */
#include "fieldspec.h"

#include <string.h>

typedef struct {
  bool create;
  fieldspec_fn fn;
  void *ctx;
} spec;

/* Below, NULL means nothing changed; anything else stands for the value
 * walked, owned. */
static value *walk(arena *a, value *v, const char *path, const spec *s);

static value *each_item(arena *a, value *list, const char *path, const spec *s) {
  value *out = NULL;
  for (size_t i = 0; i < list->u.list.len; i++) {
    value *old = list->u.list.items[i];
    uint32_t was = old->size;
    value *item = walk(a, old, path, s);
    if (!item) continue;
    if (!out) out = value_own(a, list);
    if (item == old)
      value_part_changed(out, item, was);
    else
      value_list_set(out, i, item);
  }
  return out;
}

static value *walk(arena *a, value *v, const char *path, const spec *s) {
  if (v->kind == V_LIST) return each_item(a, v, path, s);
  if (v->kind != V_OBJECT) return NULL;
  /* The key is looked up where it stands in path, and copied only when a
   * change has to store it. */
  size_t n = (size_t)(strchrnul(path, '.') - path);
  bool last = path[n] == '\0';
  field *at = value_object_fieldn(v, path, n);
  value *old = at ? at->val : NULL, *new;
  if (!old && !s->create) return NULL;
  uint32_t was = old ? old->size : 0;
  if (!last) {
    value *made = old ? NULL : value_object(a, v->at);
    if (made) made->owned = true;
    new = walk(a, old ? old : made, path + n + 1, s);
  } else {
    new = s->fn(a, old, s->ctx);
  }
  if (!new) return NULL;
  value *out = value_own(a, v);
  /* A copy of v has its fields where v has them. */
  field *f = at ? &out->u.obj.fields[at - v->u.obj.fields] : NULL;
  if (!f)
    value_object_push(a, out, last ? path : arena_strndup(a, path, n), new);
  else if (f->val != new)
    value_field_set(out, f, new);
  else
    value_part_changed(out, new, was);
  return out;
}

value *fieldspec_apply(arena *a, value *v, const char *path, bool create, fieldspec_fn fn, void *ctx) {
  spec s = {create, fn, ctx};
  value *out = walk(a, v, path, &s);
  return out ? out : v;
}

bool fieldspec_matches(const value *spec, const char *kind, const value *res) {
  const char *want = value_get_string(spec, "kind");
  return (!want || (kind && strcmp(want, kind) == 0)) && fieldspec_api_matches(spec, res);
}

value *fieldspec_apply_matching(arena *a, value *v, const char *kind, const value *specs, bool create,
                                const char *skip, fieldspec_fn fn, void *ctx) {
  for (size_t i = 0; specs && i < specs->u.list.len; i++) {
    const value *spec = specs->u.list.items[i], *made = value_object_get(spec, "create");
    const char *path = value_get_string(spec, "path");
    if ((!skip || strcmp(path, skip) != 0) && fieldspec_matches(spec, kind, v))
      v = fieldspec_apply(a, v, path, create && made && made->u.b, fn, ctx);
  }
  return v;
}

bool fieldspec_api_matches(const value *spec, const value *res) {
  const char *group = value_get_string(spec, "group"), *version = value_get_string(spec, "version");
  if (!group && !version) return true;
  const char *api = value_get_string(res, "apiVersion"), *slash = api ? strrchr(api, '/') : NULL;
  size_t glen = slash ? (size_t)(slash - api) : 0;
  const char *v = slash ? slash + 1 : api;
  return (!group || (strlen(group) == glen && strncmp(group, api, glen) == 0)) && (!version || (v && strcmp(version, v) == 0));
}
