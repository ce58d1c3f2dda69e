/* selector.h: Kubernetes label selectors, written as kubectl takes them:
 * `tier=backend,env!=dev,zone in (a,b),release notin (x),canary,!legacy`.
 * `==` is `=`. Patches select resources by labels and annotations with
 * them. */
#ifndef PLUMB_SELECTOR_H
#define PLUMB_SELECTOR_H

#include <stdbool.h>

#include "plumb/value.h"

typedef struct selector selector;

/* NULL, with *err (in the arena) saying what is wrong and where, for a
 * malformed selector. The empty selector matches everything. */
selector *selector_parse(arena *a, const char *text, const char **err);

/* Whether the object `labels` (NULL when there is none) satisfies sel. */
bool selector_match(const selector *sel, const value *labels);

#endif
