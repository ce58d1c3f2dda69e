/* remote.c: remote kustomization bases fetched into the cache.
 *
 * The compiler reads a remote base from the cache (compile.h,
 * compile_remote_cached): remote/refs/HASH names the commit a URL's ref
 * was at, remote/trees/COMMIT holds that commit's files. This fills it:
 * the repository is fetched as any source is (a bare repository in the
 * same cache), the ref resolved, and the commit's tree written out once,
 * into a directory of its own that only appears whole. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plumb/arena.h"

#include "internal.h"

/* What a tree written out may hold at most: a hostile repository is
 * bounded as a hostile file is. */
enum { TREE_MAX_ENTRIES = 100000 };
static const uint64_t TREE_MAX_BYTES = (uint64_t)1 << 30;

typedef struct {
  source_repo *s;
  const char *dir; /* where the tree is written */
  size_t entries;
  uint64_t bytes;
  int rc;
} tree_writer;

static int fail_write(tree_writer *w, const char *path, const char *why) {
  source_fail(w->s, "cannot write %s of %s into the cache: %s", path, w->s->url, why);
  w->rc = SOURCE_ERROR;
  return -1;
}

static int write_blob(tree_writer *w, const char *path, const git_tree_entry *e) {
  git_blob *blob = NULL;
  if (git_blob_lookup(&blob, w->s->repo, git_tree_entry_id(e)) != 0) return fail_write(w, path, source_git_error());
  size_t size = (size_t)git_blob_rawsize(blob);
  const void *data = git_blob_rawcontent(blob);
  int rc = 0;
  if ((w->bytes += size) > TREE_MAX_BYTES) {
    rc = fail_write(w, path, "the tree holds more than 1 GiB");
  } else if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
    char *target = heap_strndup(data, size);
    if (symlink(target, path) != 0) rc = fail_write(w, path, strerror(errno));
    free(target);
  } else {
    mode_t mode = git_tree_entry_filemode(e) == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    size_t done = 0;
    for (ssize_t n = 0; fd >= 0 && done < size; done += (size_t)n)
      if ((n = write(fd, (const char *)data + done, size - done)) <= 0) break;
    if (fd < 0 || done < size || close(fd) != 0) rc = fail_write(w, path, strerror(errno));
  }
  git_blob_free(blob);
  return rc;
}

/* git_treewalk_cb: each entry of the tree under w->dir. A submodule's
 * entry is left out, as a source's compile leaves it out. */
static int write_entry(const char *root, const git_tree_entry *e, void *payload) {
  tree_writer *w = payload;
  const char *name = git_tree_entry_name(e);
  /* libgit2 refuses such names in a tree it reads; a written path must
   * never climb out of the directory whatever the tree says. */
  if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") || !strcasecmp(name, ".git")) return 1;
  if (++w->entries > TREE_MAX_ENTRIES) return fail_write(w, name, "the tree holds more than 100,000 entries");
  char *path = heap_printf("%s/%s%s", w->dir, root, name);
  int rc = 0;
  switch (git_tree_entry_type(e)) {
  case GIT_OBJECT_TREE:
    if (mkdir(path, 0755) != 0) rc = fail_write(w, path, strerror(errno));
    break;
  case GIT_OBJECT_BLOB:
    rc = write_blob(w, path, e);
    break;
  default:
    break;
  }
  free(path);
  return rc;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  return remove(path) == 0 ? 0 : -1;
}

/* Removes a directory written in part, not following its links. */
static void remove_tree(const char *dir) { nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS); }

/* Writes tree (hex) of s into dir, which must not exist: into a directory
 * beside it first, renamed to dir once whole. Another process that wrote
 * the same tree first wins; its copy is the same. */
static int write_tree(source_repo *s, const char *tree, const char *dir) {
  git_oid id;
  git_tree *t = NULL;
  if (git_oid_fromstr(&id, tree) != 0 || git_tree_lookup(&t, s->repo, &id) != 0) {
    source_fail(s, "tree %s not found in %s", tree, s->url);
    return SOURCE_ENOTFOUND;
  }
  char *tmp = heap_printf("%s.%ld.tmp", dir, (long)getpid());
  remove_tree(tmp);
  tree_writer w = {s, tmp, 0, 0, 0};
  if (mkdir(tmp, 0755) != 0) fail_write(&w, tmp, strerror(errno));
  else if (git_tree_walk(t, GIT_TREEWALK_PRE, write_entry, &w) != 0 && !w.rc) fail_write(&w, tmp, source_git_error());
  if (!w.rc && rename(tmp, dir) != 0 && errno != EEXIST && errno != ENOTEMPTY) fail_write(&w, dir, strerror(errno));
  remove_tree(tmp);
  free(tmp);
  git_tree_free(t);
  return w.rc;
}

int source_make_dirs(const char *dir) {
  char *d = heap_strdup(dir);
  int rc = 0;
  for (char *p = d + 1; !rc && (p = strchr(p, '/')); p++) {
    *p = '\0';
    if (mkdir(d, 0755) != 0 && errno != EEXIST) rc = -1;
    *p = '/';
  }
  if (!rc && mkdir(d, 0755) != 0 && errno != EEXIST) rc = -1;
  int saved = errno;
  free(d);
  errno = saved;
  return rc;
}

static int make_dirs(source_repo *s, const char *dir) {
  if (source_make_dirs(dir) == 0) return 0;
  source_fail(s, "cannot create %s: %s", dir, strerror(errno));
  return SOURCE_ERROR;
}

/* Records that url's ref names commit, replacing the record whole. */
static int write_ref(source_repo *s, const char *file, const char *commit) {
  char *tmp = heap_printf("%s.%ld.tmp", file, (long)getpid());
  FILE *f = fopen(tmp, "w");
  bool ok = f && fprintf(f, "%s\n", commit) > 0;
  ok = f && fclose(f) == 0 && ok && rename(tmp, file) == 0;
  if (!ok) source_fail(s, "cannot write %s: %s", file, strerror(errno));
  unlink(tmp);
  free(tmp);
  return ok ? 0 : SOURCE_ERROR;
}

int source_remote_fetch(const char *cache, const char *url, const char *ref, source_rev *out, char **err) {
  source_repo *s = NULL;
  source_opts o = {.url = url, .cache_dir = cache};
  if (source_open(&s, &o, err) != 0) return SOURCE_ERROR;
  arena *a = arena_new();
  const char *file = compile_remote_ref_file(a, cache, url, ref);
  const char *trees = compile_remote_tree_dir(a, cache, "");
  int rc = source_fetch(s, NULL);
  if (!rc) rc = source_resolve(s, ref ? ref : "HEAD", out);
  const char *dir = rc ? NULL : compile_remote_tree_dir(a, cache, out->commit);
  struct stat st;
  if (!rc) rc = make_dirs(s, trees);
  if (!rc && stat(dir, &st) != 0) rc = write_tree(s, out->tree, dir);
  if (!rc) rc = make_dirs(s, arena_strndup(a, file, (size_t)(strrchr(file, '/') - file)));
  if (!rc) rc = write_ref(s, file, out->commit);
  if (rc) *err = heap_strdup(source_last_error(s));
  arena_free(a);
  source_free(s);
  return rc;
}

const char *source_remote_dir(void *cache, arena *a, const char *url, const char *ref, const char **err) {
  source_rev rev;
  char *why = NULL;
  if (source_remote_fetch(cache, url, ref, &rev, &why) != 0) {
    *err = arena_strdup(a, why);
    free(why);
    return NULL;
  }
  return compile_remote_tree_dir(a, cache, rev.commit);
}
