/* arena.c: bump allocator and growable buffers. */
#include "plumb/arena.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_POPULATE
#define MAP_POPULATE 0 /* not Linux: pages come in on first touch */
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 0 /* not Linux: a no-op advice (MADV_NORMAL) */
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels refuse it and pages come on first touch */
#endif

/* A chunk's size, its header included, starts at FIRST and doubles with
 * each chunk up to CHUNK: a small compile (one application of the runtime,
 * which keeps many results) holds tens of KiB, not a MiB. CHUNK is HUGE,
 * the size of a transparent huge page on x86-64 and arm64. */
enum { FIRST = 16 << 10, HUGE = 2 << 20, CHUNK = HUGE, MAPPED = 64 << 10, ALIGN = 16 };

typedef struct chunk {
  struct chunk *next;
  size_t used, size;
  _Alignas(ALIGN) unsigned char data[];
} chunk;

struct arena {
  chunk *head;
  chunk *spare; /* huge chunks another arena gave up (arena_free_into) */
  size_t total;
  size_t next; /* the size of the next chunk */
};

static void out_of_memory(void) {
  fputs("plumb: out of memory\n", stderr);
  abort();
}


/* A chunk of HUGE bytes on a HUGE boundary (a page more is mapped, and
 * its ends given back), asked to be one huge page where the kernel has
 * them, then populated: a build of 10,000 apps fills a hundred of these,
 * and with 4 KiB pages its page faults took a fifth of its time. */
static chunk *map_huge(void) {
  size_t len = 2 * (size_t)HUGE;
  unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) out_of_memory();
  size_t head = (HUGE - (uintptr_t)p % HUGE) % HUGE;
  if (head) munmap(p, head);
  munmap(p + head + HUGE, len - head - HUGE);
  madvise(p + head, HUGE, MADV_HUGEPAGE);
  madvise(p + head, HUGE, MADV_POPULATE_WRITE);
  return (chunk *)(p + head);
}

/* Chunks come zeroed, so allocations need no memset of their own. From
 * MAPPED bytes on they are pages of their own, which go back to the kernel
 * when freed, whatever else the heap holds, and they are mapped populated:
 * one system call rather than a page fault for each page, and an arena that
 * has grown this far uses most of what it gets (bench/README.md has the
 * gain). */
static chunk *chunk_new(size_t bytes) {
  chunk *c;
  if (bytes < MAPPED) {
    c = calloc(1, bytes);
    if (!c) out_of_memory();
  } else if (bytes == HUGE) {
    c = map_huge();
  } else {
    c = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (c == MAP_FAILED) out_of_memory();
  }
  c->size = bytes - sizeof *c;
  return c;
}

static void chunk_free(chunk *c) {
  size_t bytes = sizeof *c + c->size;
  if (bytes < MAPPED)
    free(c);
  else
    munmap(c, bytes);
}

arena *arena_new(void) {
  arena *a = heap_alloc(sizeof *a);
  *a = (arena){.next = FIRST};
  return a;
}

arena *arena_new_sized(size_t size) {
  arena *a = arena_new();
  a->head = chunk_new(sizeof(chunk) + size);
  return a;
}

static void chunks_free(chunk *c) {
  for (chunk *next; c; c = next) {
    next = c->next;
    chunk_free(c);
  }
}

void arena_free(arena *a) {
  if (!a) return;
  chunks_free(a->head);
  chunks_free(a->spare);
  free(a);
}

void arena_free_into(arena *a, arena *heir) {
  chunk *rest = NULL;
  for (chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    chunk **to = sizeof *c + c->size == HUGE ? &heir->spare : &rest;
    c->next = *to;
    *to = c;
  }
  a->head = rest;
  arena_free(a);
}

/* A spare chunk, zeroed again: only what was handed out needs it. */
static chunk *take_spare(arena *a) {
  chunk *c = a->spare;
  a->spare = c->next;
  memset(c->data, 0, c->used);
  c->used = 0;
  c->next = NULL;
  return c;
}

/* Makes room for size bytes: a new chunk, at the head unless the block is
 * big enough to have one of its own. Out of line, so that the common case
 * of arena_alloc stays a few instructions. */
static __attribute__((noinline)) chunk *add_chunk(arena *a, size_t size) {
  bool one_off = sizeof(chunk) + size > a->next / 4;
  chunk *c = !one_off && a->spare ? take_spare(a) : chunk_new(one_off ? sizeof *c + size : a->next);
  /* A big one-off block goes behind the current chunk so the rest of the
   * current chunk stays usable. */
  if (one_off && a->head) {
    c->next = a->head->next;
    a->head->next = c;
  } else {
    c->next = a->head;
    a->head = c;
  }
  if (!one_off && a->next < CHUNK) a->next *= 2;
  return c;
}

void *arena_alloc(arena *a, size_t size) {
  size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
  chunk *c = a->head;
  if (!c || c->size - c->used < size) c = add_chunk(a, size);
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

void *arena_room_for_one(arena *a, void *p, size_t n, size_t size) {
  return n & (n - 1) ? p : arena_grow(a, p, n * size, (n ? 2 * n : 1) * size);
}

char *arena_strndup(arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *arena_strdup(arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

void *heap_alloc(size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p) out_of_memory();
  return p;
}

void *heap_calloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) out_of_memory();
  return p;
}

void *heap_realloc(void *p, size_t size) {
  p = realloc(p, size ? size : 1);
  if (!p) out_of_memory();
  return p;
}

char *heap_strdup(const char *s) { return s ? heap_strndup(s, strlen(s)) : NULL; }

char *heap_strndup(const char *s, size_t n) {
  char *d = strndup(s, n);
  if (!d) out_of_memory();
  return d;
}

/* The length of the UTF-8 sequence at s (1 to 4), or 0 when none starts
 * there. Overlong forms and surrogates pass: JSON takes them. */
static size_t utf8_length(const unsigned char *s) {
  size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  return n;
}

char *heap_utf8(const char *s, size_t max) {
  size_t total = strlen(s), o = 0;
  char *out = heap_alloc((total < max ? total : max) + 1);
  for (size_t i = 0; s[i];) {
    size_t n = utf8_length((const unsigned char *)s + i), step = n ? n : 1;
    /* Room for this character, and for "..." unless it is the last. */
    if (o + step + (i + step == total ? 0 : 3) > max) {
      memcpy(out + o, "...", 3);
      o += 3;
      break;
    }
    if (n) memcpy(out + o, s + i, n);
    else out[o] = '?';
    o += step;
    i += step;
  }
  out[o] = '\0';
  return out;
}

char *heap_vprintf(const char *fmt, va_list ap) {
  char *s;
  if (vasprintf(&s, fmt, ap) < 0) out_of_memory();
  return s;
}

char *heap_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = heap_vprintf(fmt, ap);
  va_end(ap);
  return s;
}

/* Formats straight into the free end of the current chunk: one formatting
 * pass instead of a measuring pass and a writing one. */
char *arena_vprintf(arena *a, const char *fmt, va_list ap) {
  chunk *c = a->head;
  size_t room = c ? c->size - c->used : 0;
  char *p = room ? (char *)c->data + c->used : NULL;
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(p, room, fmt, ap2);
  va_end(ap2);
  /* room is a multiple of ALIGN, so this claims exactly the bytes written. */
  if ((size_t)n < room) return arena_alloc(a, (size_t)n + 1);
  /* Too long: what was written there must be zero again, as arena memory
   * is handed out zeroed. */
  if (p) memset(p, 0, room);
  p = arena_alloc(a, (size_t)n + 1);
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

char *arena_join(arena *a, const char *s, size_t n, ...) {
  va_list ap;
  size_t len = n;
  va_start(ap, n);
  for (const char *p; (p = va_arg(ap, const char *));) len += strlen(p);
  va_end(ap);
  char *out = arena_alloc(a, len + 1), *end = out + n;
  memcpy(out, s, n);
  va_start(ap, n);
  for (const char *p; (p = va_arg(ap, const char *)); end += strlen(p)) memcpy(end, p, strlen(p));
  va_end(ap);
  return out;
}

size_t arena_used(const arena *a) { return a->total; }

void buf_reserve(buf *b, size_t n) {
  if (b->len + n + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n + 1) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) out_of_memory();
  b->data = p;
  b->cap = cap;
}

void buf_puts(buf *b, const char *s) { buf_put(b, s, strlen(s)); }

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
  char *big = heap_alloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  buf_put(b, big, (size_t)n);
  free(big);
}

void buf_put_int(buf *b, int64_t i) {
  char digits[24], *p = digits + sizeof digits;
  uint64_t u = i < 0 ? -(uint64_t)i : (uint64_t)i; /* INT64_MIN too */
  do *--p = (char)('0' + u % 10);
  while (u /= 10);
  if (i < 0) *--p = '-';
  buf_put(b, p, (size_t)(digits + sizeof digits - p));
}

long buf_read_fd(buf *b, int fd, size_t keep) {
  char chunk[65536];
  ssize_t n = read(fd, chunk, sizeof chunk);
  if (n > 0 && b->len < keep) buf_put(b, chunk, (size_t)n < keep - b->len ? (size_t)n : keep - b->len);
  return (long)n;
}

void buf_free(buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
