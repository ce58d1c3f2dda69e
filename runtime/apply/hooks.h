/* hooks.h: what apply.c and hooks.c share (see hooks.c). */
#ifndef PLUMB_APPLY_HOOKS_H
#define PLUMB_APPLY_HOOKS_H

#include "plumb/apply.h"

/* How long a hook may take to become healthy when the caller gives no
 * wave timeout (plumb apply without --wait). */
enum { APPLY_HOOK_TIMEOUT_S = 300 };

/* apply_resources of objects that are no hooks (apply.c). */
int apply_objects(kube_client *c, const compile_result *r, const apply_opts *o);

/* apply_resources of r holding hooks: its phases in turn (hooks.c). */
int apply_with_hooks(kube_client *c, const compile_result *r, const apply_opts *o);

/* apply.c's, for hooks.c too: an object named as kubectl names it (caller
 * frees); its outcome, told as o says; its sync wave, 0 when its
 * annotation is no integer. */
char *ref_of(const json_t *obj);
void outcome(const apply_opts *o, const json_t *obj, const char *verb, const char *error, const char *hint);
long wave_of(const json_t *live);

#endif
