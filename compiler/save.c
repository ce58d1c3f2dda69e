/* save.c: writing files whole or not at all (save.h). */
#include "save.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kinds.h"
#include "plumb/emit.h"

/* In a directory save_dir wrote: the names of the files it wrote there, so
 * that the next build knows it may replace them, and nothing else. */
#define MARKER ".plumb-out"
#define MARKER_HEAD "# Written by plumb build --out-dir, which replaces this directory whole.\n"

enum { MAX_STEM = 200 }; /* a file name's bytes before ".yaml"; NAME_MAX is 255 */

bool save_write(int fd, const char *data, size_t n) {
  while (n) {
    ssize_t w = write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EIO; /* no progress: not a loop forever */
      return false;
    }
    data += w, n -= (size_t)w;
  }
  return true;
}

/* Writes data to fd and closes it: a full disk may only show at close
 * (NFS, quotas). false with errno set when either failed. */
static bool write_close(int fd, const char *data, size_t n) {
  int err = save_write(fd, data, n) ? 0 : errno;
  if (close(fd) != 0 && !err) err = errno;
  errno = err;
  return !err;
}

/* path without its trailing slashes (in a), and where its last part starts. */
static char *split_path(arena *a, const char *path, const char **base) {
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/') n--;
  char *p = arena_strndup(a, path, n), *slash = strrchr(p, '/');
  *base = slash ? slash + 1 : p;
  return p;
}

/* A template for mkstemp or mkdtemp beside path: the hidden name
 * DIR/.BASE.plumb-XXXXXX, on the same file system, so rename can move it. */
static char *temp_beside(arena *a, const char *path) {
  const char *base;
  char *p = split_path(a, path, &base);
  return arena_printf(a, "%.*s.%s.plumb-XXXXXX", (int)(base - p), p, base);
}

int save_file(const char *path, const char *data, size_t n) {
  arena *a = arena_new();
  struct stat st;
  char *real = realpath(path, NULL), *tmp = NULL;
  /* A new file is made where it is named, as the umask says. */
  bool fresh = !real && errno == ENOENT;
  mode_t mask = umask(0);
  umask(mask);
  mode_t mode = fresh ? 0666 & ~mask : 0;
  int fd = -1, rc = 2;
  if (real && stat(real, &st) == 0) mode = st.st_mode & 07777;
  if (real || fresh) {
    tmp = temp_beside(a, real ? real : path);
    fd = mkstemp(tmp);
  }
  if (fd >= 0 && write_close(fd, data, n) && chmod(tmp, mode) == 0 && rename(tmp, real ? real : path) == 0)
    rc = 0;
  else
    fprintf(stderr, "plumb: cannot write %s: %s\n", path, strerror(errno));
  if (rc && fd >= 0) unlink(tmp);
  free(real);
  arena_free(a);
  return rc;
}

/* Appends s lowercased, with every byte but [a-z0-9.-] as '-'. Names are
 * user data: none may put a '/' or a '_' (the separator) in a file name.
 * None can hide it or climb out ('.', '..') either: the rank comes first. */
static void put_part(buf *b, const char *s) {
  for (; *s; s++) {
    char c = (char)tolower((unsigned char)*s);
    buf_putc(b, (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ? c : '-');
  }
}

static uint32_t fnv1a(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

/* RR_kind_[namespace_]name, cut to MAX_STEM bytes with a hash of the whole. */
static void put_stem(buf *b, const value *res) {
  const char *kind = value_get_string(res, "kind"), *ns = value_get_string(res, "metadata.namespace");
  buf_printf(b, "%02d_", kinds_rank(kind ? kind : ""));
  put_part(b, kind ? kind : "");
  if (ns) buf_putc(b, '_'), put_part(b, ns);
  buf_putc(b, '_');
  const char *name = value_get_string(res, "metadata.name");
  put_part(b, name ? name : "");
  if (b->len > MAX_STEM) {
    uint32_t h = fnv1a(b->data, b->len);
    b->len = MAX_STEM - 9;
    buf_printf(b, "_%08x", h);
  }
}

/* save_names, and the same names as the keys of *set. */
static const char **name_files(arena *a, const compile_result *r, value **set) {
  const char **names = arena_alloc(a, (r->nres + 1) * sizeof *names);
  value *yes = value_bool(a, (pos){0}, true);
  buf stem = {0};
  *set = value_object(a, (pos){0});
  for (size_t i = 0; i < r->nres; i++) {
    stem.len = 0;
    put_stem(&stem, r->res[i].obj);
    char *name = arena_printf(a, "%s.yaml", stem.data);
    for (int k = 2; !value_object_add(a, *set, name, yes); k++) name = arena_printf(a, "%s_%d.yaml", stem.data, k);
    names[i] = name;
  }
  buf_free(&stem);
  return names;
}

const char **save_names(arena *a, const compile_result *r) {
  value *set;
  return name_files(a, r, &set);
}

/* The names the marker in dir lists, as the keys of an object; an empty
 * one when dir has no marker. */
static value *read_marker(arena *a, const char *dir) {
  value *set = value_object(a, (pos){0}), *yes = value_bool(a, (pos){0}, true);
  FILE *f = fopen(arena_printf(a, "%s/" MARKER, dir), "r");
  char *line = NULL;
  size_t cap = 0;
  for (ssize_t n; f && (n = getline(&line, &cap, f)) > 0;) {
    if (line[n - 1] == '\n') line[--n] = '\0';
    if (line[0] != '#') value_object_set(a, set, arena_strdup(a, line), yes);
  }
  free(line);
  if (f) fclose(f);
  return set;
}

/* The first entry of dir that is neither the marker nor in set, or NULL;
 * in a. *err is set when dir cannot be listed. */
static const char *first_stranger(arena *a, const char *dir, const value *set, int *err) {
  DIR *d = opendir(dir);
  const char *found = NULL;
  *err = d ? 0 : errno;
  for (struct dirent *e; d && !found && (e = readdir(d));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, MARKER) &&
        !value_object_get(set, e->d_name))
      found = arena_strdup(a, e->d_name);
  if (d) closedir(d);
  return found;
}

/* Removes from dir the marker and the files set names, then dir itself;
 * anything else stays, and dir with it. false when dir is left. */
static bool remove_listed(const char *dir, const value *set) {
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));)
    if (!strcmp(e->d_name, MARKER) || value_object_get(set, e->d_name))
      unlinkat(dirfd(d), e->d_name, 0);
  if (d) closedir(d);
  return rmdir(dir) == 0;
}

/* Whether dir may be replaced: it does not exist (*old NULL), or it is a
 * directory (not a link to one) holding nothing but what its marker lists
 * (*old: those names). 0, or 2 after saying why. */
static int check_target(arena *a, const char *dir, value **old, mode_t *mode) {
  struct stat st;
  *old = NULL;
  if (lstat(dir, &st) != 0) {
    if (errno == ENOENT) return 0;
    fprintf(stderr, "plumb: cannot open %s: %s\n", dir, strerror(errno));
    return 2;
  }
  if (!S_ISDIR(st.st_mode)) {
    fprintf(stderr, "plumb: %s is not a directory%s\n", dir, S_ISLNK(st.st_mode) ? " but a symbolic link" : "");
    return 2;
  }
  *mode = st.st_mode & 07777;
  *old = read_marker(a, dir);
  int err;
  const char *stranger = first_stranger(a, dir, *old, &err);
  if (err) fprintf(stderr, "plumb: cannot list %s: %s\n", dir, strerror(err));
  if (stranger)
    fprintf(stderr,
            "plumb: %s holds %s, which plumb did not write: --out-dir replaces its directory whole, so it must be "
            "new, empty, or written by plumb\n",
            dir, stranger);
  return err || stranger ? 2 : 0;
}

/* Writes every resource and then the marker into tmp; false with errno set
 * when one cannot be written, *failed naming it. */
static bool write_files(arena *a, const char *tmp, const compile_result *r, const char **names, const char **failed) {
  buf b = {0}, list = {0};
  emit_memo *memo = emit_memo_new();
  bool ok = true;
  buf_puts(&list, MARKER_HEAD);
  for (size_t i = 0; ok && i < r->nres; i++) {
    b.len = 0;
    emit_yaml_resource(&b, r->res[i].obj, memo);
    int fd = open(arena_printf(a, "%s/%s", tmp, names[i]), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    ok = fd >= 0 && write_close(fd, b.data, b.len);
    *failed = names[i];
    buf_printf(&list, "%s\n", names[i]);
  }
  if (ok) {
    int fd = open(arena_printf(a, "%s/" MARKER, tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    ok = fd >= 0 && write_close(fd, list.data, list.len);
    *failed = MARKER;
  }
  int err = errno;
  emit_memo_free(memo);
  buf_free(&b);
  buf_free(&list);
  errno = err;
  return ok;
}

/* Puts the directory tmp in dir's place. With an old dir, the two swap at
 * once where the file system can (*old_at is then tmp), else the old one
 * is moved aside first (*old_at: where to). false with errno set. */
static bool swap_in(arena *a, char *tmp, const char *dir, bool exists, char **old_at) {
  *old_at = NULL;
  if (!exists) return rename(tmp, dir) == 0;
  if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) {
    *old_at = tmp;
    return true;
  }
  if (errno != EINVAL && errno != ENOSYS) return false;
  char *aside = mkdtemp(temp_beside(a, dir));
  if (!aside) return false;
  if (rename(dir, aside) == 0) {
    if (rename(tmp, dir) == 0) {
      *old_at = aside;
      return true;
    }
    int err = errno;
    rename(aside, dir);
    errno = err;
  }
  int err = errno;
  rmdir(aside);
  errno = err;
  return false;
}

int save_dir(const char *dir_arg, const compile_result *r) {
  arena *a = r->arena;
  const char *base;
  const char *dir = split_path(a, dir_arg, &base);
  if (!strcmp(base, ".") || !strcmp(base, "..") || !strcmp(dir, "/")) {
    fprintf(stderr, "plumb: --out-dir takes a directory it can replace, not %s\n", dir_arg);
    return 2;
  }
  mode_t mask = umask(0), mode = 0777 & ~mask;
  umask(mask);
  value *old;
  int rc = check_target(a, dir, &old, &mode);
  if (rc) return rc;
  char *tmp = mkdtemp(temp_beside(a, dir)), *old_at;
  value *new_set;
  const char **names = name_files(a, r, &new_set), *failed = NULL;
  if (!tmp) {
    fprintf(stderr, "plumb: cannot create a directory beside %s: %s\n", dir, strerror(errno));
    return 2;
  }
  bool ok = chmod(tmp, mode) == 0 && write_files(a, tmp, r, names, &failed);
  if (ok) failed = NULL, ok = swap_in(a, tmp, dir, old != NULL, &old_at);
  if (!ok) {
    fprintf(stderr, "plumb: cannot write %s%s%s: %s\n", dir, failed ? "/" : "", failed ? failed : "",
            strerror(errno));
    remove_listed(tmp, new_set);
    return 2;
  }
  if (old_at && !remove_listed(old_at, old))
    fprintf(stderr, "plumb: the previous %s is left in %s: %s\n", dir, old_at, strerror(errno));
  return 0;
}
