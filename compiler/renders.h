/* renders.h: helm's renders of charts, kept in plumb's cache.
 *
 * A chart costs two runs of helm (helm.c says why two): a tenth of a
 * second for a small chart, most of a build that holds one. A render that
 * passed is kept under the SHA-256 of all that went into it: helm itself
 * (its path, size, time and inode: another helm is another render), its
 * arguments, and every file of the chart and of the values, by their own
 * SHA-256. The same build again reads it instead of running helm, as a
 * remote base is read from what `plumb fetch` keeps (compile.h): the
 * compile reads nothing but the repository and what its caller names.
 * Nothing is kept of a render that failed or renders otherwise each time. */
#ifndef PLUMB_RENDERS_H
#define PLUMB_RENDERS_H

#include <stdbool.h>
#include <stddef.h>

#include "plumb/arena.h"

/* What goes into a render, piece by piece. */
typedef struct {
  buf text;
} renders_key;

/* Adds a piece: its name and the SHA-256 of its len bytes at data. */
void renders_key_add(renders_key *k, const char *name, const void *data, size_t len);
/* The key, 64 hex digits, in a; k is emptied. */
const char *renders_key_end(arena *a, renders_key *k);

/* The render kept under key in the cache directory dir (plumb's cache;
 * renders are in its helm/), at most max bytes, into a: true with *text
 * and *len; false when there is none. */
bool renders_get(arena *a, const char *dir, const char *key, size_t max, const char **text, size_t *len);
/* Keeps the len bytes at text under key: whole, or not at all. */
void renders_put(const char *dir, const char *key, const char *text, size_t len);

#endif
