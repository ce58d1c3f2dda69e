/* kustomize.h: kustomization.yaml trees read natively, as layers.
 *
 * A directory holding a kustomization.yaml (or kustomization.yml, or
 * Kustomization) is read the way `kubectl kustomize` (Kustomize v5.5)
 * reads it, into the layers of layer.h, which the build then applies as it
 * applies an env's: no Kustomize runs. Each resource directory is a layer
 * built on its own; the kustomization's own resource files and generated
 * ConfigMaps and Secrets, then its components, then its patches and
 * transformers follow. A field Plumb does not support is an error naming
 * it at its file:line:col, never skipped (docs/kustomize.md). */
#ifndef PLUMB_KUSTOMIZE_H
#define PLUMB_KUSTOMIZE_H

#include "layer.h"
#include "loader.h"

/* The kustomization file of root-relative directory dir, or NULL when it
 * has none. More than one is an error, reported when the tree is read. */
const char *kustomize_file(loader *l, arena *a, const char *dir);

/* A configMapGenerator or secretGenerator entry, as `plumb convert` writes
 * it: config_map(name, spec) or secret(name, spec) (generate.h). */
typedef struct {
  const value *entry, *name;
  value *spec;
  bool secret;
  const char *behavior; /* "create", "merge" or "replace" */
} kustomize_generator;

/* One kustomization of a tree, as `plumb convert` writes it: what the
 * layers do not keep. Lists hold the entries as written (strings); dirs
 * the same resolved, root-relative. */
typedef struct {
  const char *dir, *file;
  const value *doc;
  bool component;
  long layer, tail; /* its layers in the env_state; tail -1 when none */
  value *bases, *files, *components;
  const char **base_dirs, **component_dirs;
  kustomize_generator *gens;
  size_t ngens;
  size_t nmerged; /* the generators merged or replaced: the first patches of its layer */
} kustomize_dir;

typedef struct {
  kustomize_dir *dirs; /* each after the ones it builds on and uses */
  size_t n;
} kustomize_plan;

/* Reads the kustomization tree at root-relative dir, reached from `from`,
 * into layers of e through e->loader, the last of them dir's own (or its
 * tail's). A component (kind: Component) starts at first, where the layer
 * using it starts (layer.h). sort, unless NULL, gets the order the tree's
 * build is written in (its sortOptions, order.h): NULL where the tree is a
 * layer of a Plumb env. plan, unless NULL, gets each kustomization read.
 * False after reporting a mistake. */
bool kustomize_read(eval *ev, env_state *e, const char *dir, pos from, bool component, size_t first, order *sort,
                    kustomize_plan *plan);

#endif
