/* archive.c: a chart's archive, looked through (see archive.h).
 *
 * A tar archive is 512-byte blocks: a header (name, size in octal, type)
 * then the entry's data rounded up to a block, until two empty blocks.
 * Long names come in an entry of their own before the one they name: a
 * PAX extended header ('x', whose "path" and "linkpath" records win), or
 * GNU's 'L' and 'K'. Names are checked as helm's loader would read them,
 * with the ustar prefix joined on and "\" taken for "/". */
#include "archive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { BLOCK = 512 };

/* The archive unpacked, at most ARCHIVE_MAX_UNPACKED bytes; false with
 * *why. */
static bool gunzip(arena *a, const char *data, size_t len, buf *out, const char **why) {
  z_stream z = {0};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return *why = "cannot start zlib", false;
  z.next_in = (Bytef *)data;
  z.avail_in = (uInt)(len < UINT32_MAX ? len : UINT32_MAX);
  int rc = Z_OK;
  char chunk[1 << 16];
  while (rc == Z_OK) {
    z.next_out = (Bytef *)chunk;
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    buf_put(out, chunk, sizeof chunk - z.avail_out);
    if (out->len > ARCHIVE_MAX_UNPACKED) rc = Z_MEM_ERROR;
  }
  inflateEnd(&z);
  if (rc == Z_STREAM_END) return true;
  *why = rc == Z_MEM_ERROR ? arena_printf(a, "it unpacks to more than %d MiB", ARCHIVE_MAX_UNPACKED >> 20)
                           : "it is no gzip archive, or a damaged one";
  return false;
}

/* The NUL-padded field of at most n bytes at p, in a. */
static const char *field(arena *a, const char *p, size_t n) { return arena_strndup(a, p, strnlen(p, n)); }

/* An octal size field, or -1. */
static long long octal(const char *p, size_t n) {
  long long v = 0;
  size_t i = 0;
  while (i < n && p[i] == ' ') i++;
  if (i == n || p[i] < '0' || p[i] > '7') return -1;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
    v = v * 8 + (p[i] - '0');
    if (v > ARCHIVE_MAX_UNPACKED) return -1;
  }
  return v;
}

/* The value of key in the PAX records of len bytes at p ("LEN key=value\n"
 * each), or NULL. */
static const char *pax_value(arena *a, const char *p, size_t len, const char *key) {
  size_t k = strlen(key);
  while (len > 0) {
    char *end;
    long n = strtol(p, &end, 10);
    if (n <= 0 || (size_t)n > len || *end != ' ') return NULL;
    const char *rec = end + 1, *stop = p + n - 1;
    if (stop - rec > (long)k && strncmp(rec, key, k) == 0 && rec[k] == '=')
      return arena_strndup(a, rec + k + 1, (size_t)(stop - rec - (long)k - 1));
    p += n, len -= (size_t)n;
  }
  return NULL;
}

/* Whether name (its '\\' read as '/') stays in one top directory: not
 * absolute, no ".." part. top holds the first one's directory. */
static const char *bad_name(arena *a, const char *name, const char **top) {
  char *n = arena_strdup(a, name);
  for (char *p = n; *p; p++)
    if (*p == '\\') *p = '/';
  if (*n == '/' || (n[0] && n[1] == ':')) return "has an absolute path";
  for (const char *p = n; *p; p += strcspn(p, "/"), p += *p == '/') {
    size_t len = strcspn(p, "/");
    if (len == 2 && strncmp(p, "..", 2) == 0) return "climbs out of the chart's directory";
  }
  size_t first = strcspn(n, "/");
  if (!*top) *top = arena_strndup(a, n, first);
  else if (strlen(*top) != first || strncmp(*top, n, first) != 0) return "is outside the chart's directory";
  return NULL;
}

/* One entry of the archive that names a file or directory (long names
 * joined on), with its type and data. */
typedef struct {
  const char *name, *link; /* link: a PAX or GNU link name, else NULL */
  const char *header, *body;
  char type;
  size_t size;
} entry;

/* Calls each on every entry of the archive, in order, until it returns
 * false (then false, its *why set); false with *why when the archive
 * cannot be read. */
static bool walk(arena *a, const char *data, size_t len, bool (*each)(void *ctx, const entry *e, const char **why),
                 void *ctx, const char **why) {
  buf tar = {0};
  bool ok = gunzip(a, data, len, &tar, why);
  const char *long_name = NULL, *link_name = NULL;
  size_t entries = 0;
  for (size_t at = 0; ok; entries++) {
    if (at + BLOCK > tar.len) {
      ok = false, *why = "it ends in the middle of an entry";
      break;
    }
    const char *h = tar.data + at;
    if (!h[0] && !memcmp(h, h + 1, BLOCK - 1)) break; /* the end: an empty block */
    long long size = octal(h + 124, 12);
    char type = h[156];
    if (size < 0 || at + BLOCK + (size_t)size > tar.len || entries >= ARCHIVE_MAX_ENTRIES) {
      ok = false;
      *why = entries >= ARCHIVE_MAX_ENTRIES ? arena_printf(a, "it holds more than %d entries", ARCHIVE_MAX_ENTRIES)
                                            : "an entry's size is damaged";
      break;
    }
    const char *body = h + BLOCK;
    if (type == 'x' || type == 'L' || type == 'K') {
      if (type == 'L') long_name = field(a, body, (size_t)size);
      else if (type == 'K') link_name = field(a, body, (size_t)size);
      else {
        long_name = pax_value(a, body, (size_t)size, "path");
        link_name = pax_value(a, body, (size_t)size, "linkpath");
      }
    } else if (type != 'g') {
      const char *name = long_name;
      if (!name) {
        const char *prefix = !memcmp(h + 257, "ustar", 5) ? field(a, h + 345, 155) : "";
        name = arena_printf(a, "%s%s%s", prefix, *prefix ? "/" : "", field(a, h, 100));
      }
      ok = each(ctx, &(entry){name, link_name, h, body, type, (size_t)size}, why);
      long_name = link_name = NULL;
    }
    at += BLOCK + ((size_t)size + BLOCK - 1) / BLOCK * BLOCK;
  }
  buf_free(&tar);
  return ok;
}

typedef struct {
  arena *a;
  const char *top;
} checking;

static bool check_entry(void *ctx, const entry *e, const char **why) {
  checking *k = ctx;
  const char *problem = bad_name(k->a, e->name, &k->top);
  char type = e->type;
  if (!problem && type != '0' && type != '\0' && type != '5' && type != '7')
    problem = type == '2'
                  ? arena_printf(k->a, "is a symlink (to %s)", e->link ? e->link : field(k->a, e->header + 157, 100))
              : type == '1' ? "is a hard link"
                            : arena_printf(k->a, "is no plain file or directory (type '%c')", type);
  if (problem) *why = arena_printf(k->a, "its entry \"%s\" %s", e->name, problem);
  return !problem;
}

bool archive_check(arena *a, const char *data, size_t len, const char **why) {
  checking k = {a, NULL};
  bool ok = walk(a, data, len, check_entry, &k, why);
  if (ok && !k.top) ok = false, *why = "it holds no files";
  return ok;
}

typedef struct {
  arena *a;
  archive_file *files;
  size_t n;
} listing;

static bool list_entry(void *ctx, const entry *e, const char **why) {
  listing *l = ctx;
  const char *slash = strchr(e->name, '/');
  if ((e->type != '0' && e->type != '\0' && e->type != '7') || !slash || !slash[1]) return true;
  l->files = arena_room_for_one(l->a, l->files, l->n, sizeof *l->files);
  l->files[l->n++] = (archive_file){arena_strdup(l->a, slash + 1), arena_strndup(l->a, e->body, e->size), e->size};
  return true;
}

bool archive_files(arena *a, const char *data, size_t len, archive_file **files, size_t *n) {
  listing l = {a, NULL, 0};
  const char *why;
  bool ok = walk(a, data, len, list_entry, &l, &why);
  *files = l.files;
  *n = l.n;
  return ok;
}
