/* arena.c: bump allocator and growable buffers. */
#include "plumb/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chunks come from calloc; at this size that is fresh zeroed pages from the
 * kernel, so allocations need no memset of their own. */
enum { CHUNK = 1024 * 1024, ALIGN = 16 };

typedef struct chunk {
  struct chunk *next;
  size_t used, size;
  _Alignas(ALIGN) unsigned char data[];
} chunk;

struct arena {
  chunk *head;
  size_t total;
};

static void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) {
    fputs("plumb: out of memory\n", stderr);
    abort();
  }
  return p;
}

arena *arena_new(void) {
  arena *a = xmalloc(sizeof *a);
  a->head = NULL;
  a->total = 0;
  return a;
}

void arena_free(arena *a) {
  if (!a) return;
  for (chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(a);
}

void *arena_alloc(arena *a, size_t size) {
  size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
  chunk *c = a->head;
  if (!c || c->size - c->used < size) {
    size_t want = size > CHUNK / 4 ? size : CHUNK;
    c = calloc(1, sizeof *c + want);
    if (!c) {
      fputs("plumb: out of memory\n", stderr);
      abort();
    }
    c->size = want;
    c->used = 0;
    /* A big one-off block goes behind the current chunk so the rest of the
     * current chunk stays usable. */
    if (want != CHUNK && a->head) {
      c->next = a->head->next;
      a->head->next = c;
    } else {
      c->next = a->head;
      a->head = c;
    }
  }
  void *p = c->data + c->used;
  c->used += size;
  a->total += size;
  return p;
}

void *arena_grow(arena *a, void *old, size_t old_size, size_t new_size) {
  void *p = arena_alloc(a, new_size);
  if (old && old_size) memcpy(p, old, old_size < new_size ? old_size : new_size);
  return p;
}

char *arena_strndup(arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *arena_strdup(arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_vprintf(arena *a, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  char *p = arena_alloc(a, (size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  return p;
}

char *arena_printf(arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *p = arena_vprintf(a, fmt, ap);
  va_end(ap);
  return p;
}

size_t arena_used(const arena *a) { return a->total; }

void buf_put(buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
      fputs("plumb: out of memory\n", stderr);
      abort();
    }
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void buf_puts(buf *b, const char *s) { buf_put(b, s, strlen(s)); }
void buf_putc(buf *b, char c) {
  if (b->len + 2 > b->cap) {
    buf_put(b, &c, 1);
    return;
  }
  /* The emitters write many single characters: skip the general path. */
  b->data[b->len++] = c;
  b->data[b->len] = '\0';
}

void buf_printf(buf *b, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if ((size_t)n < sizeof small) {
    buf_put(b, small, (size_t)n);
    return;
  }
  char *big = xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  buf_put(b, big, (size_t)n);
  free(big);
}

void buf_free(buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
