/* yamldir.h: a directory of plain YAML manifests, read as Argo CD reads a
 * directory source (reposerver/repository/repository.go, findManifests).
 *
 * `plumb build DIR` on a directory with no .plumb files and no
 * kustomization, and the built-in yaml_dir(), read one the same way: the
 * *.yaml, *.yml and *.json files in it (with recurse, in its
 * subdirectories too), in filepath.Walk's order, those whose path from DIR
 * matches the include pattern and not the exclude one (glob.h). Each
 * document becomes a resource whose values keep their file:line:col, as
 * yaml_resources() reads a file. */
#ifndef PLUMB_YAMLDIR_H
#define PLUMB_YAMLDIR_H

#include "eval.h"

/* The resources of the manifests of the root-relative directory dir, read
 * as o says; NULL after reporting at `at` (or in the file at fault).
 * *found: the manifest files met, before include and exclude choose among
 * them. */
value *yamldir_read(eval *ev, pos at, const char *dir, const compile_yaml_dir *o, size_t *found);

/* The built-in yaml_dir(path, options): the resources of the directory
 * path names (relative to the calling file, as file() resolves a path),
 * with options { recurse: bool, include: string, exclude: string }. */
value *yamldir_builtin(eval *ev, pos at, value **argv, int argc);

#endif
