/* layer.h: the layers an env is built in.
 *
 * An env, the env it builds on, a component it uses, and each directory of
 * a kustomization tree are layers: the resources a layer adds, and the
 * patches and settings it applies to them and to what the layers it builds
 * on made. The env's block (build.c) and a kustomization.yaml
 * (kustomize.c) are read into layers; build.c then applies them in order.
 *
 * What a layer applies to: the resources added from the start of its
 * `first` layer on. An env built on another starts where that one starts.
 * A kustomization's resource directories are built each on its own, as
 * Kustomize builds them, so each starts anew; a component applies to what
 * the layer using it has so far, and shares its start. */
#ifndef PLUMB_LAYER_H
#define PLUMB_LAYER_H

#include "eval.h"
#include "loader.h"
#include "merge.h"
#include "order.h"
#include "patch.h"

typedef struct {
  const char *label; /* "env prod", "component tls", "kustomization base" */
  value *settings;   /* object: setting name -> value, checked by transform.h */
  patch_list patches;
  compile_resource *res;
  size_t nres;
  /* Its components are the layers after it, up to end (each followed by
   * its own); they apply after its resources are added, before its
   * patches and settings, as a kustomization's components do. */
  size_t end;
  size_t first; /* see the file comment */
  /* Read from a kustomization, where an images entry that matches no
   * container is no error (as in Kustomize): one flag per entry of its
   * images setting, which the build sets for those that matched (plumb
   * convert leaves out the others). NULL: such an entry is an error. */
  bool *images_used;
  /* Kustomize's transformerAnnotations: YAML list items naming the
   * transformers the layer's kustomization ran, which every resource it
   * applied to gets at the end of its
   * alpha.config.kubernetes.io/transformations annotation; or NULL. */
  const char *notes;
} layer;

/* Envs and components built on each other, and kustomizations listing
 * each other, at most this deep; a tree at most this many layers in all. */
enum { LAYER_MAX_DEPTH = 64, LAYER_MAX = 4096 };

/* The env built: its layers, each after the ones it builds on, the env
 * itself first of the last run. */
typedef struct {
  const char *name;
  loader *loader; /* what kustomizations are read through */
  /* Kustomize's vars of the kustomizations read, and more fields they may
   * stand in (vars.h); NULL when there are none. */
  value *vars, *var_refs;
  value *apps;    /* object: app name -> its statement's value, of every layer */
  order sort;     /* install order, but for a kustomization tree's build */
  /* A kustomization tree's openapi schema's merge keys, which replace the
   * built-in ones (openapi.h); NULL when it has none. */
  const merge_schema *merge_keys;
  layer *layers;
  size_t nlayers, current; /* current: the layer whose block runs */
  /* The envs and components whose blocks are being run, each with the
   * `from` or `with` that leads to the next: a chain that comes back to
   * one of them is a cycle. */
  const node *running[LAYER_MAX_DEPTH];
  pos next_at[LAYER_MAX_DEPTH];
  size_t nrunning;
} env_state;

/* A new layer at the end of e, applying to what layers from `first` on add
 * (first == e->nlayers: from itself). Its index, or -1 after reporting at
 * `at` that the tree has too many layers. Indexes, not pointers, name
 * layers: the array moves as it grows. */
long layer_open(eval *ev, env_state *e, const char *label, size_t first, pos at);

/* Appends l's notes to res[0..n)'s transformations annotation, once l
 * has applied to them. */
void layer_note(arena *a, const layer *l, compile_resource *res, size_t n);

/* Adds a resource to layer l; app: the app statement that made it, or
 * NULL. Its entry, which the caller may give a seq. */
compile_resource *layer_add(layer *l, arena *a, value *obj, const char *app);

#endif
