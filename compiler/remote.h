/* remote.h: remote kustomization bases: where they are.
 *
 * A kustomization may list a directory of another git repository among its
 * resources or components, in the forms Kustomize's repospec.go reads:
 *
 *   https://github.com/org/repo//deploy/base?ref=v1.2.0
 *   github.com/org/repo/deploy/base?ref=main        (org/repo: 2 segments)
 *   git@github.com:org/repo.git/deploy/base?ref=v1
 *   ssh://git@host/org/repo//base  file:///srv/repo.git//base?version=v1
 *
 * The compiler never reaches the network: `plumb fetch` (or the runtime)
 * fetches each repository at its ref into a cache, and a build reads the
 * tree it recorded (compile.h, compile_remote). */
#ifndef PLUMB_REMOTE_H
#define PLUMB_REMOTE_H

#include "plumb/arena.h"

typedef struct {
  const char *url;  /* what git fetches: https://github.com/org/repo */
  const char *ref;  /* ?ref= (or ?version=): a branch, tag or commit; NULL: the remote's HEAD */
  const char *path; /* the directory in the repository, "" for its root */
} remote_spec;

/* 1 and *out when s is a remote base, 0 when it names a local path, -1
 * with *err (in a) when it looks remote but cannot be read as one. A URL
 * of a single file over http(s) (ending in .yaml, .yml or .json) is an
 * error: Plumb does not download files. */
int remote_parse(arena *a, const char *s, remote_spec *out, const char **err);

/* The name the tree of spec's repository at its ref is known by, in
 * messages and as the part of a file name before "//" (loader.h): the URL
 * with ?ref=REF when it has a ref. */
const char *remote_key(arena *a, const remote_spec *spec);

#endif
