/* ptrmap.h: addresses to pointers, for the copies of a compile's result.
 *
 * A compile shares one string among many places (a file name, an app name,
 * an object key) and one value too (a literal is built once, wherever it
 * is used): what copies a result (keep.c, wire.c) finds by address what it
 * has copied already, so the copy shares the same way. */
#ifndef PLUMB_PTRMAP_H
#define PLUMB_PTRMAP_H

#include <stddef.h>

typedef struct ptrmap_slot ptrmap_slot;

typedef struct {
  ptrmap_slot *table;
  size_t n, cap; /* cap: a power of two */
} ptrmap;

/* What from was mapped to; NULL when it was not. */
void *ptrmap_get(const ptrmap *m, const void *from);
/* Maps from (not NULL, not mapped yet) to `to`. */
void ptrmap_put(ptrmap *m, const void *from, void *to);
void ptrmap_free(ptrmap *m);

#endif
