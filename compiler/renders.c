/* renders.c: helm's renders of charts, kept in plumb's cache (see
 * renders.h). Each is a file helm/KEY.yaml of the cache directory,
 * written under another name and renamed into place, so that a reader
 * finds a whole render or none. */
#include "renders.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"

static void put_hex(buf *b, const unsigned char *d, size_t n) {
  for (size_t i = 0; i < n; i++) buf_printf(b, "%02x", d[i]);
}

void renders_key_add(renders_key *k, const char *name, const void *data, size_t len) {
  unsigned char d[SHA256_BYTES];
  sha256(data, len, d);
  buf_puts(&k->text, name);
  buf_putc(&k->text, '\0');
  put_hex(&k->text, d, sizeof d);
  buf_putc(&k->text, '\n');
}

const char *renders_key_end(arena *a, renders_key *k) {
  unsigned char d[SHA256_BYTES];
  buf hex = {0};
  sha256(k->text.data ? k->text.data : "", k->text.len, d);
  put_hex(&hex, d, sizeof d);
  const char *key = arena_strdup(a, hex.data);
  buf_free(&hex);
  buf_free(&k->text);
  return key;
}

static char *file_of(const char *dir, const char *key) { return heap_printf("%s/helm/%s.yaml", dir, key); }

bool renders_get(arena *a, const char *dir, const char *key, size_t max, const char **text, size_t *len) {
  char *path = file_of(dir, key);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  free(path);
  struct stat st;
  bool ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= max;
  char *out = ok ? arena_alloc(a, (size_t)st.st_size + 1) : NULL;
  size_t n = 0;
  while (ok && n < (size_t)st.st_size) {
    ssize_t got = read(fd, out + n, (size_t)st.st_size - n);
    if (got > 0) n += (size_t)got;
    else if (!(got < 0 && errno == EINTR)) ok = false; /* it shrank meanwhile, or cannot be read */
  }
  if (fd >= 0) close(fd);
  if (!ok) return false;
  *text = out;
  *len = n;
  return true;
}

/* Writes all of text to fd: false when any of it could not be. */
static bool write_all(int fd, const char *text, size_t len) {
  for (size_t done = 0; done < len;) {
    ssize_t n = write(fd, text + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += (size_t)n;
  }
  return true;
}

/* A cache that cannot be written (a full disk, a directory of another
 * user's) costs the next build a render, and nothing else: every failure
 * here is passed by, what was half written removed. */
void renders_put(const char *dir, const char *key, const char *text, size_t len) {
  char *sub = heap_printf("%s/helm", dir), *tmp = heap_printf("%s/.%s.XXXXXX", sub, key), *path = file_of(dir, key);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) goto done;
  if (mkdir(sub, 0700) != 0 && errno != EEXIST) goto done;
  int fd = mkstemp(tmp);
  if (fd < 0) goto done;
  bool ok = write_all(fd, text, len);
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) unlink(tmp);
done:
  free(sub), free(tmp), free(path);
}
