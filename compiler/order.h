/* order.h: the order a kustomization tree's build is written in.
 *
 * A Plumb env is written in install order (build.c). A kustomization tree
 * is written as `kubectl kustomize` writes it, which its sortOptions
 * choose: legacy (the default) sorts by kind, with lists of kinds to put
 * first and last, then by group, version and kind, then by namespace and
 * name, exactly as Kustomize compares them; fifo keeps the order in which
 * the tree lists its resources (compile_resource.seq). */
#ifndef PLUMB_ORDER_H
#define PLUMB_ORDER_H

#include "plumb/compile.h"

typedef enum { ORDER_INSTALL, ORDER_LEGACY, ORDER_FIFO } order_how;

typedef struct {
  order_how how;
  /* legacy: lists of kinds (strings) to put first and last, or NULL for
   * Kustomize's own lists (kinds.c). */
  const value *first, *last;
} order;

/* Sorts res[0..n) by o, unless o is the install order, which the build
 * has sorted by already. */
void order_sort(const order *o, compile_resource *res, size_t n);

#endif
