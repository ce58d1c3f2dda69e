/* layer.c: growing the layers of an env (see layer.h). */
#include "layer.h"

#include "merge.h"

long layer_open(eval *ev, env_state *e, const char *label, size_t first, pos at) {
  arena *a = eval_arena(ev);
  if (e->nlayers == LAYER_MAX) {
    eval_fail(ev, at, "more than %d envs, components and kustomizations in one build", LAYER_MAX);
    return -1;
  }
  e->layers = arena_room_for_one(a, e->layers, e->nlayers, sizeof *e->layers);
  e->layers[e->nlayers] = (layer){.label = label, .settings = value_object(a, at), .first = first};
  return (long)e->nlayers++;
}

compile_resource *layer_add(layer *l, arena *a, value *obj, const char *app) {
  l->res = arena_room_for_one(a, l->res, l->nres, sizeof *l->res);
  l->res[l->nres] = (compile_resource){.obj = obj, .app = app};
  return &l->res[l->nres++];
}

void layer_note(arena *a, const layer *l, compile_resource *res, size_t n) {
  static const char key[] = "alpha.config.kubernetes.io/transformations";
  for (size_t i = 0; i < n; i++) {
    const value *notes = value_object_get(value_object_get(res[i].obj, "metadata"), "annotations");
    const value *was = value_object_get(notes, key); /* not by path: the key has dots */
    const char *had = was && was->kind == V_STRING ? was->u.str.s : NULL;
    value *meta = value_object(a, res[i].obj->at), *annotations = value_object(a, res[i].obj->at);
    value_object_set(a, annotations, key, value_cstring(a, res[i].obj->at, had ? arena_printf(a, "%s%s", had, l->notes) : l->notes));
    value_object_set(a, meta, "annotations", annotations);
    value *overlay = value_object(a, res[i].obj->at);
    value_object_set(a, overlay, "metadata", meta);
    res[i].obj = merge_into(a, res[i].obj, overlay, l->label);
  }
}
