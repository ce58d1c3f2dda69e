/* loader.c: root-confined file access (see loader.h). */
#include "loader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const struct { const char *name; const char *text; } stdlib_files[];

typedef struct mem_file {
  const char *name, *text;
  size_t len;
  bool unread;      /* text is still the reader's to give */
  const void *data; /* the reader's, for an unread file */
  struct mem_file *next;
} mem_file;

/* The tree of a remote base, whose files are named KEY//PATH. */
typedef struct mount {
  const char *key;
  loader *tree;
  struct mount *next;
} mount;

struct loader {
  arena *arena;
  char *root; /* real path, no trailing slash; NULL for memory only */
  mem_file *files;
  const compile_reader *reader; /* of the unread files */
  const compile_remote *remote; /* where remote trees come from, or NULL */
  mount *mounts;
};

/* Where the "//" between a remote tree's key and a path is in name, past
 * the key's scheme; NULL for a name of the root, where "//" never stands
 * (loader_fold leaves no empty segment). */
static const char *mount_sep(const char *name) {
  const char *scheme = strstr(name, "://");
  return strstr(scheme ? scheme + 3 : name, "//");
}

/* The path after a mount's separator, without the slashes that lead it. */
static const char *after_sep(const char *sep) {
  sep += 2;
  while (*sep == '/') sep++;
  return sep;
}

/* The tree a name is in, with *inner its name there; NULL for a name of
 * the root, or of a tree never mounted. */
static loader *route(const loader *l, const char *name, const char **inner) {
  const char *sep = mount_sep(name);
  for (mount *m = sep ? l->mounts : NULL; m; m = m->next)
    if (strlen(m->key) == (size_t)(sep - name) && strncmp(m->key, name, (size_t)(sep - name)) == 0) {
      *inner = after_sep(sep);
      return m->tree;
    }
  return NULL;
}

/* A tree's error, said of the tree. */
static int tree_error(loader *l, const char *name, const char **err) {
  *err = arena_printf(l->arena, "%.*s: %s", (int)(mount_sep(name) - name), name, *err);
  return -1;
}

void loader_set_remote(loader *l, const compile_remote *remote) { l->remote = remote; }

int loader_mount(loader *l, const char *key, const char *url, const char *ref, const char **err) {
  for (mount *m = l->mounts; m; m = m->next)
    if (strcmp(m->key, key) == 0) return 0;
  if (!l->remote) {
    *err = arena_printf(l->arena, "%s is a remote base, which this command does not read", key);
    return -1;
  }
  const char *dir = l->remote->dir(l->remote->ctx, l->arena, url, ref, err);
  loader *tree = dir ? loader_new(l->arena, dir, err) : NULL;
  if (!tree) return -1;
  mount *m = arena_alloc(l->arena, sizeof *m);
  *m = (mount){arena_strdup(l->arena, key), tree, l->mounts};
  l->mounts = m;
  return 0;
}

loader *loader_new_memory(arena *a, const compile_reader *reader) {
  loader *l = arena_alloc(a, sizeof *l);
  l->arena = a;
  l->reader = reader;
  return l;
}

static mem_file *add_mem(loader *l, const char *name) {
  mem_file *f = arena_alloc(l->arena, sizeof *f);
  *f = (mem_file){.name = arena_strdup(l->arena, name), .next = l->files};
  l->files = f;
  return f;
}

void loader_add_file(loader *l, const char *name, const char *text, size_t len) {
  mem_file *f = add_mem(l, name);
  f->text = text;
  f->len = len;
}

void loader_add_unread(loader *l, const compile_file *file) {
  mem_file *f = add_mem(l, file->name);
  f->unread = true;
  f->data = file->data;
}

static mem_file *find_mem(const loader *l, const char *name) {
  for (mem_file *f = l->files; f; f = f->next)
    if (strcmp(f->name, name) == 0) return f;
  return NULL;
}

loader *loader_new(arena *a, const char *root, const char **err) {
  char real[PATH_MAX];
  if (!realpath(root, real)) {
    *err = arena_printf(a, "cannot open %s: %s", root, strerror(errno));
    return NULL;
  }
  loader *l = arena_alloc(a, sizeof *l);
  l->arena = a;
  l->root = arena_strdup(a, real);
  return l;
}

char *loader_fold(arena *a, const char *dir, const char *path) {
  char *joined = dir && *dir ? arena_printf(a, "%s/%s", dir, path) : arena_strdup(a, path);
  char *out = arena_alloc(a, strlen(joined) + 1);
  size_t n = 0;
  for (char *seg = joined, *next; seg; seg = next) {
    next = strchr(seg, '/');
    if (next) *next++ = '\0';
    if (!*seg || strcmp(seg, ".") == 0) continue;
    if (strcmp(seg, "..") == 0) {
      if (n == 0) return NULL;
      while (n > 0 && out[n - 1] != '/') n--;
      if (n > 0) n--; /* drop the slash too */
      continue;
    }
    if (n) out[n++] = '/';
    memcpy(out + n, seg, strlen(seg));
    n += strlen(seg);
  }
  out[n] = '\0';
  return out;
}

static const char *dir_of(arena *a, const char *file) {
  const char *slash = file ? strrchr(file, '/') : NULL;
  return slash ? arena_strndup(a, file, (size_t)(slash - file)) : "";
}

const char *compile_path_resolve(arena *a, const char *from, const char *path) {
  return path[0] == '/' ? NULL : loader_fold(a, dir_of(a, from), path);
}

/* Where the root is, told from dir (root-relative) so that no path of the
 * machine gets into a message. */
static const char *root_from(arena *a, const char *dir) {
  if (!*dir) return "which is this file's directory";
  int up = 1;
  for (const char *c = dir; *c; c++) up += *c == '/';
  return arena_printf(a, "%d director%s above this file's", up, up == 1 ? "y" : "ies");
}

int loader_resolve(loader *l, const char *from, const char *path, const char **name, const char **err) {
  if (strncmp(path, "std/", 4) == 0) {
    *name = arena_strdup(l->arena, path);
    return 0;
  }
  if (path[0] == '/') {
    *err = arena_printf(l->arena, "absolute path \"%s\" not allowed: paths are relative to the file that names them", path);
    return -1;
  }
  const char *sep = from ? mount_sep(from) : NULL;
  if (sep) {
    const char *rel = loader_fold(l->arena, dir_of(l->arena, after_sep(sep)), path);
    if (!rel) {
      *err = arena_printf(l->arena, "path \"%s\" leaves the repository %.*s", path, (int)(sep - from), from);
      return -1;
    }
    *name = arena_printf(l->arena, "%.*s//%s", (int)(sep - from), from, rel);
    return 0;
  }
  /* Inside the standard library, relative paths name other std files. */
  const char *dir = from && strncmp(from, "std/", 4) == 0 ? "std" : dir_of(l->arena, from);
  char *rel = loader_fold(l->arena, dir, path);
  if (!rel) {
    *err = arena_printf(l->arena, "path \"%s\" leaves the repository root, %s%s", path, root_from(l->arena, dir),
                        " (the root is the nearest directory holding .git, else the one built; see --root)");
    return -1;
  }
  *name = rel;
  return 0;
}

/* Symlinks may point anywhere; only the real path tells whether a file is
 * still inside the root. */
static char *confined_path(loader *l, const char *name, const char **err) {
  if (!l->root) {
    *err = arena_printf(l->arena, "cannot read %s: No such file or directory", name);
    return NULL;
  }
  char *full = *name ? arena_printf(l->arena, "%s/%s", l->root, name) : l->root;
  char real[PATH_MAX];
  if (!realpath(full, real)) {
    *err = arena_printf(l->arena, "cannot read %s: %s", name, strerror(errno));
    return NULL;
  }
  size_t rl = strlen(l->root);
  /* Everything is inside "/", the one root that ends in a slash. */
  if (rl > 1 && (strncmp(real, l->root, rl) != 0 || (real[rl] != '/' && real[rl] != '\0'))) {
    *err = arena_printf(l->arena, "%s is a symlink that leaves the repository root", name);
    return NULL;
  }
  return arena_strdup(l->arena, real);
}

static int read_std(loader *l, const char *name, const char **text, size_t *len, const char **err) {
  const char *base = name + 4;
  size_t bl = strlen(base);
  if (bl > 6 && strcmp(base + bl - 6, ".plumb") == 0) bl -= 6;
  for (int i = 0; stdlib_files[i].name; i++)
    if (strlen(stdlib_files[i].name) == bl && strncmp(stdlib_files[i].name, base, bl) == 0) {
      *text = stdlib_files[i].text;
      *len = strlen(*text);
      return 0;
    }
  *err = arena_printf(l->arena, "the standard library has no module \"%.*s\"", (int)bl, base);
  return -1;
}

const char *compile_file_too_big(arena *a, const char *name, uint64_t size) {
  uint64_t tenths = (size * 10 + (1 << 20) - 1) >> 20; /* rounded up: never "16.0" for a byte too many */
  return arena_printf(a, "%s is %" PRIu64 ".%" PRIu64 " MiB; files may be at most %d MiB", name, tenths / 10,
                      tenths % 10, COMPILE_MAX_FILE >> 20);
}

/* Why a file of mode st cannot be read, or NULL when it can. */
static const char *refusal(arena *a, const char *name, const struct stat *st) {
  if (S_ISREG(st->st_mode))
    return (uint64_t)st->st_size > COMPILE_MAX_FILE ? compile_file_too_big(a, name, (uint64_t)st->st_size) : NULL;
  const char *what = S_ISDIR(st->st_mode)    ? "a directory"
                     : S_ISFIFO(st->st_mode) ? "a named pipe"
                     : S_ISSOCK(st->st_mode) ? "a socket"
                     : S_ISCHR(st->st_mode)  ? "a character device"
                     : S_ISBLK(st->st_mode)  ? "a block device"
                                             : "an unknown kind of file";
  return arena_printf(a, "%s is %s, not a file", name, what);
}

static const char *os_error(loader *l, const char *name) {
  return arena_printf(l->arena, "cannot read %s: %s", name, strerror(errno));
}

static int read_fd(loader *l, const char *name, int fd, const char **text, size_t *len, const char **err) {
  struct stat st;
  if (fstat(fd, &st) != 0) return *err = os_error(l, name), -1;
  if ((*err = refusal(l->arena, name, &st))) return -1;
  char *buf = arena_alloc(l->arena, (size_t)st.st_size + 1);
  size_t n = 0;
  for (ssize_t got; n < (size_t)st.st_size; n += (size_t)got)
    if ((got = read(fd, buf + n, (size_t)st.st_size - n)) <= 0) {
      if (got < 0) return *err = os_error(l, name), -1;
      break; /* the file shrank meanwhile */
    }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return 0;
}

/* Reads the file at its real path. Its type is checked before it is opened,
 * since opening a named pipe blocks until something writes to it (and a
 * device may act on being opened); the open does not block either, in case
 * the file was swapped for a pipe meanwhile. */
static int read_disk(loader *l, const char *name, const char *path, const char **text, size_t *len, const char **err) {
  struct stat st;
  if (stat(path, &st) != 0) return *err = os_error(l, name), -1;
  if ((*err = refusal(l->arena, name, &st))) return -1;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return *err = os_error(l, name), -1;
  int rc = read_fd(l, name, fd, text, len, err);
  close(fd);
  return rc;
}

int loader_read(loader *l, const char *name, const char **text, size_t *len, const char **err) {
  if (strncmp(name, "std/", 4) == 0) return read_std(l, name, text, len, err);
  const char *inner;
  loader *tree = route(l, name, &inner);
  if (tree) return loader_read(tree, inner, text, len, err) == 0 ? 0 : tree_error(l, name, err);
  mem_file *mf = find_mem(l, name);
  if (mf && mf->unread) {
    compile_file f = {mf->name, mf->data};
    if (l->reader->read(l->reader->ctx, &f, l->arena, &mf->text, &mf->len, err) != 0) return -1;
    mf->unread = false;
  }
  if (mf) {
    *text = mf->text;
    *len = mf->len;
    return 0;
  }
  char *path = confined_path(l, name, err);
  return path ? read_disk(l, name, path, text, len, err) : -1;
}

/* The mark some Windows editors put first in a UTF-8 file (U+FEFF). */
#define UTF8_BOM "\xEF\xBB\xBF"

int loader_source_text(arena *a, const char **text, size_t *len) {
  int had = 0;
  if (*len >= 3 && memcmp(*text, UTF8_BOM, 3) == 0) {
    *text += 3;
    *len -= 3;
    had |= LOADER_HAD_BOM;
  }
  const char *s = *text;
  if (!memmem(s, *len, "\r\n", 2)) return had;
  char *out = arena_alloc(a, *len + 1);
  size_t n = 0;
  for (size_t i = 0; i < *len; i++)
    if (s[i] != '\r' || i + 1 == *len || s[i + 1] != '\n') out[n++] = s[i];
  out[n] = '\0';
  *text = out;
  *len = n;
  return had | LOADER_HAD_CRLF;
}

int loader_read_source(loader *l, const char *name, const char **text, size_t *len, const char **err) {
  if (loader_read(l, name, text, len, err) != 0) return -1;
  loader_source_text(l->arena, text, len);
  return 0;
}

/* A directory of a memory loader is any prefix of a file's name. */
static bool mem_is_dir(const loader *l, const char *name) {
  size_t n = strlen(name);
  if (n == 0) return true;
  for (const mem_file *f = l->files; f; f = f->next)
    if (strncmp(f->name, name, n) == 0 && f->name[n] == '/') return true;
  return false;
}

int loader_is_dir(loader *l, const char *name) {
  const char *inner;
  loader *tree = route(l, name, &inner);
  if (tree) return loader_is_dir(tree, inner);
  if (mount_sep(name)) return 0;
  if (!l->root) return mem_is_dir(l, name);
  const char *err;
  char *path = confined_path(l, name, &err);
  struct stat st;
  return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct {
  const char **names;
  size_t n, cap;
} name_list;

static bool is_plumb(const char *name) {
  size_t n = strlen(name);
  return n > 6 && strcmp(name + n - 6, ".plumb") == 0;
}

static void push_name(loader *l, name_list *nl, const char *name) {
  if (nl->n == nl->cap) {
    size_t cap = nl->cap ? 2 * nl->cap : 16;
    nl->names = arena_grow(l->arena, nl->names, nl->n * sizeof *nl->names, cap * sizeof *nl->names);
    nl->cap = cap;
  }
  nl->names[nl->n++] = name;
}

static int sorted(name_list *nl, const char ***names) {
  if (nl->n) qsort(nl->names, nl->n, sizeof *nl->names, cmp_str);
  *names = nl->names;
  return (int)nl->n;
}

static int list_mem(loader *l, const char *dir, const char ***names) {
  name_list nl = {0};
  size_t dl = strlen(dir);
  for (const mem_file *f = l->files; f; f = f->next) {
    const char *base = dl ? f->name + dl + 1 : f->name;
    bool in_dir = !dl || (strncmp(f->name, dir, dl) == 0 && f->name[dl] == '/');
    /* A replaced file is still on the list behind its replacement. */
    if (in_dir && !strchr(base, '/') && is_plumb(base) && find_mem(l, f->name) == f) push_name(l, &nl, f->name);
  }
  return sorted(&nl, names);
}

int loader_list(loader *l, const char *dir, const char ***names, const char **err) {
  const char *inner;
  loader *tree = route(l, dir, &inner);
  if (tree) {
    int n = loader_list(tree, inner, names, err);
    for (int i = 0; i < n; i++)
      (*names)[i] = arena_printf(l->arena, "%.*s//%s", (int)(mount_sep(dir) - dir), dir, (*names)[i]);
    return n < 0 ? tree_error(l, dir, err) : n;
  }
  if (!l->root) return list_mem(l, dir, names);
  char *path = confined_path(l, dir, err);
  if (!path) return -1;
  DIR *d = opendir(path);
  if (!d) {
    *err = arena_printf(l->arena, "cannot list %s: %s", *dir ? dir : ".", strerror(errno));
    return -1;
  }
  name_list nl = {0};
  for (struct dirent *e; (e = readdir(d));)
    if (is_plumb(e->d_name))
      push_name(l, &nl, *dir ? arena_printf(l->arena, "%s/%s", dir, e->d_name) : arena_strdup(l->arena, e->d_name));
  closedir(d);
  return sorted(&nl, names);
}

/* ---- walking a directory ---- */

typedef struct {
  loader *l;
  const char *top; /* the directory walked, for messages */
  bool recurse;
  size_t seen; /* files and directories met */
  name_list files;
  const char **err;
} walk;

static int walk_fail(walk *w, const char *why) {
  *w->err = arena_printf(w->l->arena, "%s %s", *w->top ? w->top : ".", why);
  return -1;
}

static int walk_meet(walk *w) {
  if (++w->seen <= LOADER_MAX_WALK) return 0;
  return walk_fail(w, arena_printf(w->l->arena, "holds more than %d files and directories", LOADER_MAX_WALK));
}

static int walk_deeper(walk *w, int depth) {
  if (depth <= LOADER_MAX_WALK_DEPTH) return 0;
  return walk_fail(w, arena_printf(w->l->arena, "has directories nested deeper than %d levels", LOADER_MAX_WALK_DEPTH));
}

/* Filesystem order, as filepath.Walk's: byte by byte, and a path's '/'
 * before any other byte, so that a directory's files come at its name's
 * place among its siblings ("a/x" before "a-b", as "a" sorts before "a-b"). */
static int cmp_walk(const void *pa, const void *pb) {
  const unsigned char *x = *(const unsigned char *const *)pa, *y = *(const unsigned char *const *)pb;
  for (;; x++, y++) {
    int cx = *x == '/' ? 1 : *x ? *x + 1 : 0, cy = *y == '/' ? 1 : *y ? *y + 1 : 0;
    if (cx != cy || !cx) return cx - cy;
  }
}

/* Whether dir is path or a directory above it. */
static bool is_above(const char *dir, const char *path) {
  size_t n = strlen(dir);
  return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' || (n == 1 && *dir == '/'));
}

static int walk_disk(walk *w, const char *dir, const char *real, int depth);

/* The entry name of dir (real on disk): a file, or a directory walked in
 * its turn when the walk recurses. */
static int walk_entry(walk *w, const char *dir, const char *real, const char *name, int depth) {
  loader *l = w->l;
  const char *rel = *dir ? arena_printf(l->arena, "%s/%s", dir, name) : name;
  struct stat st;
  if (stat(arena_printf(l->arena, "%s/%s", real, name), &st) != 0 || !S_ISDIR(st.st_mode)) {
    push_name(l, &w->files, rel);
    return 0;
  }
  if (!w->recurse) return 0;
  char *sub = confined_path(l, rel, w->err);
  if (!sub) return -1;
  if (is_above(sub, real)) return 0;
  return walk_deeper(w, depth + 1) ? -1 : walk_disk(w, rel, sub, depth + 1);
}

/* Each directory's entries are read whole, then visited by name. */
static int walk_disk(walk *w, const char *dir, const char *real, int depth) {
  loader *l = w->l;
  DIR *d = opendir(real);
  if (!d) {
    *w->err = arena_printf(l->arena, "cannot list %s: %s", *dir ? dir : ".", strerror(errno));
    return -1;
  }
  name_list entries = {0};
  int rc = 0;
  for (struct dirent *e; !rc && (e = readdir(d));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, ".git") && !(rc = walk_meet(w)))
      push_name(l, &entries, arena_strdup(l->arena, e->d_name));
  closedir(d);
  const char **names;
  int n = sorted(&entries, &names);
  for (int i = 0; !rc && i < n; i++) rc = walk_entry(w, dir, real, names[i], depth);
  return rc;
}

/* A memory loader's files: those whose names start with dir/, in one pass
 * over them. */
static int walk_mem(walk *w, const char *dir) {
  loader *l = w->l;
  size_t dl = strlen(dir);
  if (find_mem(l, dir)) return walk_fail(w, "is a file, not a directory");
  if (!mem_is_dir(l, dir)) {
    *w->err = arena_printf(l->arena, "cannot read %s: No such file or directory", dir);
    return -1;
  }
  for (const mem_file *f = l->files; f; f = f->next) {
    if (dl && (strncmp(f->name, dir, dl) != 0 || f->name[dl] != '/')) continue;
    int depth = 0;
    for (const char *c = f->name + (dl ? dl + 1 : 0); *c; c++) depth += *c == '/';
    if (depth && !w->recurse) continue;
    if (walk_meet(w) || walk_deeper(w, depth)) return -1;
    push_name(l, &w->files, f->name);
  }
  return 0;
}

/* A replaced file of a memory loader is still on its list. */
static int unique(name_list *nl) {
  size_t kept = 0;
  for (size_t i = 0; i < nl->n; i++)
    if (!kept || strcmp(nl->names[kept - 1], nl->names[i])) nl->names[kept++] = nl->names[i];
  return (int)(nl->n = kept);
}

int loader_walk(loader *l, const char *dir, bool recurse, const char ***names, const char **err) {
  const char *inner;
  loader *tree = route(l, dir, &inner);
  if (tree) {
    int n = loader_walk(tree, inner, recurse, names, err);
    for (int i = 0; i < n; i++)
      (*names)[i] = arena_printf(l->arena, "%.*s//%s", (int)(mount_sep(dir) - dir), dir, (*names)[i]);
    return n < 0 ? tree_error(l, dir, err) : n;
  }
  walk w = {.l = l, .top = dir, .recurse = recurse, .err = err};
  int rc;
  if (!l->root) {
    rc = walk_mem(&w, dir);
  } else {
    char *real = confined_path(l, dir, err);
    struct stat st;
    rc = !real ? -1 : stat(real, &st) != 0 || !S_ISDIR(st.st_mode) ? walk_fail(&w, "is not a directory") : walk_disk(&w, dir, real, 0);
  }
  if (rc) return -1;
  if (w.files.n) qsort(w.files.names, w.files.n, sizeof *w.files.names, cmp_walk);
  *names = w.files.names;
  return unique(&w.files);
}

const char *loader_disk_path(loader *l, const char *name) {
  const char *inner;
  loader *tree = route(l, name, &inner);
  if (tree) return loader_disk_path(tree, inner);
  return l->root ? arena_printf(l->arena, "%s/%s", l->root, name) : NULL;
}
