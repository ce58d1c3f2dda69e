/* arena.h: bump allocation for data that lives exactly as long as one compile.
 *
 * Every AST node, value and message of a compile comes from one arena and is
 * released at once by arena_free(), so no stage has to track ownership of
 * what it reads from an earlier one. */
#ifndef PLUMB_ARENA_H
#define PLUMB_ARENA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct arena arena;

arena *arena_new(void);            /* caller owns; release with arena_free */
/* An arena whose first chunk holds size bytes of allocations: for data of
 * known size kept for long, which a doubling chunk would leave room after. */
arena *arena_new_sized(size_t size);
void arena_free(arena *a);
/* Frees a, but for its biggest chunks, which heir takes for its next
 * allocations: memory the kernel has already handed over, which costs
 * less to zero again than a fresh page costs to fault in. */
void arena_free_into(arena *a, arena *heir);

void *arena_alloc(arena *a, size_t size);          /* zeroed, max-aligned */
void *arena_grow(arena *a, void *old, size_t old_size, size_t new_size);
/* p, an array of n items of size size that only this call has grown (NULL
 * for none), with room for one more: its room doubles when n reaches a
 * power of two, so that n items cost about n copies in all and no
 * capacity need be kept beside the count. */
void *arena_room_for_one(arena *a, void *p, size_t n, size_t size);
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
/* Outside any arena: malloc and its kin that abort when memory runs out,
 * as arena_alloc does, so no caller checks for NULL. Caller frees. */
void *heap_alloc(size_t size);
void *heap_calloc(size_t n, size_t size); /* zeroed; n == 0 still gives a block */
void *heap_realloc(void *p, size_t size);
/* A copy of s, NULL for NULL; of its first n bytes, NUL-terminated. */
char *heap_strdup(const char *s);
char *heap_strndup(const char *s, size_t n);
/* s as valid UTF-8 of at most max bytes (max >= 4): each byte that starts
 * no UTF-8 sequence becomes '?', and a string too long is cut at a
 * character with "...". For text of any bytes (a file quoted in a message,
 * a commit's subject) on its way to JSON, which wants UTF-8. */
char *heap_utf8(const char *s, size_t max);
/* Formatted into a malloc'd string (caller frees); aborts likewise. */
char *heap_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *heap_vprintf(const char *fmt, va_list ap);
char *arena_printf(arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *arena_vprintf(arena *a, const char *fmt, va_list ap);
/* The n bytes at s, then the strings of a NULL-terminated list, end to end,
 * at a tenth of what arena_printf costs: a build names, retags and tags
 * every resource so. */
char *arena_join(arena *a, const char *s, size_t n, ...) __attribute__((sentinel));

/* Total bytes handed out so far: the compiler's output-size limit reads it. */
size_t arena_used(const arena *a);

/* A growable byte buffer whose storage is malloc'd (not arena) so that large
 * outputs can be built and handed to stdio; buf_free releases it. */
typedef struct {
  char *data;
  size_t len, cap;
} buf;

/* Makes room for n more bytes and the terminating NUL. */
void buf_reserve(buf *b, size_t n);

/* The emitters append a few bytes at a time, millions of times per build:
 * these two are inline so that the common case is a copy, not a call. */
static inline void buf_put(buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) buf_reserve(b, n);
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static inline void buf_putc(buf *b, char c) {
  if (b->len + 2 > b->cap) buf_reserve(b, 1);
  b->data[b->len++] = c;
  b->data[b->len] = '\0';
}

void buf_puts(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* i in decimal, as printf's %lld writes it but without its cost: the
 * emitters write many integers. */
void buf_put_int(buf *b, int64_t i);
void buf_free(buf *b);
/* One read of what fd has (a pipe of another process's), appended to b
 * as long as b holds less than keep bytes, the rest dropped: the bytes
 * read, 0 at its end, or -1 with errno (EINTR, EAGAIN: read again). */
long buf_read_fd(buf *b, int fd, size_t keep);

#endif
