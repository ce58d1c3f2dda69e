/* ptrmap.c: open addressing, at most half full. */
#include "ptrmap.h"

#include <stdint.h>
#include <stdlib.h>

#include "plumb/arena.h"

struct ptrmap_slot {
  const void *from;
  void *to;
};

static size_t slot(const ptrmap *m, const void *from) {
  size_t i = (size_t)(((uintptr_t)from >> 4) * 0x9E3779B97F4A7C15u) & (m->cap - 1);
  while (m->table[i].from && m->table[i].from != from) i = (i + 1) & (m->cap - 1);
  return i;
}

void *ptrmap_get(const ptrmap *m, const void *from) { return m->cap ? m->table[slot(m, from)].to : NULL; }

void ptrmap_put(ptrmap *m, const void *from, void *to) {
  if (2 * (m->n + 1) > m->cap) {
    ptrmap bigger = {.cap = m->cap ? 2 * m->cap : 256};
    bigger.table = heap_calloc(bigger.cap, sizeof *bigger.table);
    for (size_t i = 0; i < m->cap; i++)
      if (m->table[i].from) bigger.table[slot(&bigger, m->table[i].from)] = m->table[i];
    free(m->table);
    m->table = bigger.table;
    m->cap = bigger.cap;
  }
  m->table[slot(m, from)] = (ptrmap_slot){from, to};
  m->n++;
}

void ptrmap_free(ptrmap *m) {
  free(m->table);
  *m = (ptrmap){0};
}
