/* build.h: what of build.c the rest of the compiler uses (plumb/compile.h
 * is the door for everyone else). */
#ifndef PLUMB_BUILD_H
#define PLUMB_BUILD_H

#include "layer.h"
#include "loader.h"
#include "plumb/diag.h"

/* The loader of the repository root for path (root_flag, as --root gives
 * it, or NULL to find it as compile_build does) and path's name in it;
 * NULL after adding the reason to d. */
loader *build_open(arena *a, diag_list *d, const char *path, const char *root_flag, const char **entry);

/* Applies the layers of e as a build does, and nothing after: what each
 * patch matched is then known (patch.h). False after reporting, at `at`,
 * more resources than a build may have. */
bool build_apply(eval *ev, env_state *e, pos at);

#endif
