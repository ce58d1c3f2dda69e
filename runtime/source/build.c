/* build.c: compiling straight from a git tree, and remembering the result.
 *
 * Every blob of the tree is read into memory and handed to compile_files:
 * file() may read any file of the root, so there is no telling beforehand
 * which ones a compile needs. Symlinks are resolved inside the tree the way
 * the compiler resolves them on disk. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "loader.h"

enum {
  MAX_FILE = 16 << 20, /* as the compiler reads from disk */
  MAX_LINK_HOPS = 40,  /* as Linux's ELOOP */
  MAX_LINK_DEPTH = 8,  /* directory symlinks expanded inside each other */
};

typedef struct {
  git_tree *root;
  arena *a;      /* names and texts; lives as long as the compile result */
  loader *paths; /* only for resolving symlink targets */
  compile_file *files;
  size_t n, cap;
} tree_reader;

static void add_file(tree_reader *t, const char *name, const char *text, size_t len, const char *refused) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 64;
    t->files = arena_grow(t->a, t->files, t->n * sizeof *t->files, cap * sizeof *t->files);
    t->cap = cap;
  }
  t->files[t->n++] = (compile_file){name, text, len, refused};
}

static void add_blob(tree_reader *t, const char *name, const git_blob *b) {
  size_t len = (size_t)git_blob_rawsize(b);
  if (len > MAX_FILE) {
    add_file(t, name, NULL, 0, arena_printf(t->a, "%s is not a regular file of at most 16 MiB", name));
    return;
  }
  char *text = arena_alloc(t->a, len + 1);
  memcpy(text, git_blob_rawcontent(b), len);
  add_file(t, name, text, len, NULL);
}

static char *join(arena *a, const char *dir, const char *name) {
  return *dir ? arena_printf(a, "%s/%s", dir, name) : arena_strdup(a, name);
}

static int read_tree(tree_reader *t, const git_tree *tree, const char *name, const char *real, int depth);

/* The entry a symlink at `real` leads to, through any chain of symlinks;
 * *target is its real name. NULL with *why when it leads nowhere or out. */
static git_tree_entry *follow_link(tree_reader *t, const char *name, const char *real, const git_blob *link,
                                   const char **target, const char **why) {
  const char *from = real, *to = arena_strndup(t->a, git_blob_rawcontent(link), (size_t)git_blob_rawsize(link));
  for (int hop = 0; hop < MAX_LINK_HOPS; hop++) {
    const char *err;
    git_tree_entry *e = NULL;
    if (to[0] == '/' || loader_resolve(t->paths, from, to, target, &err) != 0) {
      *why = arena_printf(t->a, "%s is a symlink that leaves the repository root", name);
      return NULL;
    }
    if (git_tree_entry_bypath(&e, t->root, *target) != 0) {
      *why = arena_printf(t->a, "cannot read %s: No such file or directory", name);
      return NULL;
    }
    if (git_tree_entry_filemode(e) != GIT_FILEMODE_LINK) return e;
    git_blob *next = NULL;
    if (git_blob_lookup(&next, git_tree_owner(t->root), git_tree_entry_id(e)) == 0) {
      from = *target;
      to = arena_strndup(t->a, git_blob_rawcontent(next), (size_t)git_blob_rawsize(next));
    }
    git_blob_free(next);
    git_tree_entry_free(e);
  }
  *why = arena_printf(t->a, "cannot read %s: Too many levels of symbolic links", name);
  return NULL;
}

/* A symlink to a directory above itself would expand forever; on disk it
 * is harmless until read, so it is left out. */
static bool is_ancestor(const char *dir, const char *path) {
  size_t n = strlen(dir);
  return n == 0 || (strncmp(path, dir, n) == 0 && path[n] == '/');
}

static int read_link(tree_reader *t, const char *name, const char *real, const git_blob *link, int depth) {
  const char *target, *why = NULL;
  git_tree_entry *e = follow_link(t, name, real, link, &target, &why);
  if (!e) {
    add_file(t, name, NULL, 0, why);
    return 0;
  }
  git_object *o = NULL;
  int rc = git_tree_entry_to_object(&o, git_tree_owner(t->root), e);
  if (rc == 0 && git_object_type(o) == GIT_OBJECT_BLOB)
    add_blob(t, name, (git_blob *)o);
  else if (rc == 0 && git_object_type(o) == GIT_OBJECT_TREE && !is_ancestor(target, real) && depth < MAX_LINK_DEPTH)
    rc = read_tree(t, (git_tree *)o, name, target, depth + 1);
  git_object_free(o);
  git_tree_entry_free(e);
  return rc;
}

static int read_entry(tree_reader *t, const git_tree_entry *e, const char *name, const char *real, int depth) {
  if (git_tree_entry_type(e) == GIT_OBJECT_COMMIT) return 0; /* a submodule: not fetched */
  git_object *o = NULL;
  int rc = git_tree_entry_to_object(&o, git_tree_owner(t->root), e);
  if (rc) return rc;
  if (git_object_type(o) == GIT_OBJECT_TREE)
    rc = read_tree(t, (git_tree *)o, name, real, depth);
  else if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK)
    rc = read_link(t, name, real, (git_blob *)o, depth);
  else
    add_blob(t, name, (git_blob *)o);
  git_object_free(o);
  return rc;
}

/* name: where the tree shows in the compiled root; real: where it is in the
 * git tree (they differ under a directory symlink). */
static int read_tree(tree_reader *t, const git_tree *tree, const char *name, const char *real, int depth) {
  size_t n = git_tree_entrycount(tree);
  for (size_t i = 0; i < n; i++) {
    const git_tree_entry *e = git_tree_entry_byindex(tree, i);
    const char *base = git_tree_entry_name(e);
    int rc = read_entry(t, e, join(t->a, name, base), join(t->a, real, base), depth);
    if (rc) return rc;
  }
  return 0;
}

/* ---- the cache of results ------------------------------------------------- */

typedef struct build {
  char tree[41];
  char *path, *env;
  compile_result *result;
  arena *files; /* the texts result points into */
  struct build *next;
} build;

struct source_builds {
  build *head; /* most recently used first */
  size_t n, max, hits, misses;
};

source_builds *source_builds_new(size_t max) {
  source_builds *b = calloc(1, sizeof *b);
  if (!b) abort();
  b->max = max ? max : 1;
  return b;
}

static void build_free(build *e) {
  compile_free(e->result);
  arena_free(e->files);
  free(e->path);
  free(e->env);
  free(e);
}

void source_builds_free(source_builds *b) {
  if (!b) return;
  for (build *e = b->head, *next; e; e = next) {
    next = e->next;
    build_free(e);
  }
  free(b);
}

void source_builds_stats(const source_builds *b, size_t *hits, size_t *misses) {
  *hits = b->hits;
  *misses = b->misses;
}

static bool same_env(const char *x, const char *y) { return x == y || (x && y && strcmp(x, y) == 0); }

/* Finds an entry and moves it to the front. */
static build *lookup(source_builds *b, const char *tree, const char *path, const char *env) {
  for (build **p = &b->head; *p; p = &(*p)->next) {
    build *e = *p;
    if (strcmp(e->tree, tree) || strcmp(e->path, path) || !same_env(e->env, env)) continue;
    *p = e->next;
    e->next = b->head;
    b->head = e;
    return e;
  }
  return NULL;
}

static void insert(source_builds *b, build *e) {
  e->next = b->head;
  b->head = e;
  if (++b->n <= b->max) return;
  build **last = &b->head;
  while ((*last)->next) last = &(*last)->next;
  build_free(*last);
  *last = NULL;
  b->n--;
}

static int compile_tree(source_repo *s, git_tree *root, build *e) {
  e->files = arena_new();
  tree_reader t = {.root = root, .a = e->files, .paths = loader_new_memory(e->files)};
  if (read_tree(&t, root, "", "", 0) != 0) {
    source_fail(s, "cannot read tree %s from %s: %s", e->tree, s->url, source_git_error());
    return SOURCE_ERROR;
  }
  e->result = compile_files(t.files, t.n, e->path, e->env);
  return 0;
}

int source_compile(source_repo *s, source_builds *b, const char *tree, const char *path, const char *env,
                   const compile_result **out) {
  build *e = lookup(b, tree, path, env);
  if (e) {
    b->hits++;
    *out = e->result;
    return 0;
  }
  git_oid id;
  git_tree *root = NULL;
  if (strlen(tree) != GIT_OID_HEXSZ || git_oid_fromstr(&id, tree) != 0 || git_tree_lookup(&root, s->repo, &id) != 0) {
    source_fail(s, "tree %s not found in %s", tree, s->url);
    return SOURCE_ENOTFOUND;
  }
  e = calloc(1, sizeof *e);
  if (!e) abort();
  memcpy(e->tree, tree, 41);
  e->path = strdup(path);
  e->env = env ? strdup(env) : NULL;
  int rc = compile_tree(s, root, e);
  git_tree_free(root);
  if (rc) {
    build_free(e);
    return rc;
  }
  b->misses++;
  insert(b, e);
  *out = e->result;
  return 0;
}
