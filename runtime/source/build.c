/* build.c: compiling straight from a git tree, and remembering the result.
 *
 * The compile is given the names of every file of the tree up front (file()
 * may read any file of the root, and a directory lists its files), but a
 * blob is read only when the compile reads that file: an application of a
 * repository that holds many reads its own few. The names are listed once
 * for a tree and kept for the next compile of the same tree: every
 * application of a repository at one commit. Symlinks are resolved
 * inside the tree the way the compiler resolves them on disk. The compile
 * itself runs in a child process, under limits (isolate.c). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "internal.h"

enum {
  MAX_LINK_HOPS = 40,  /* as Linux's ELOOP */
  MAX_LINK_DEPTH = 8,  /* directory symlinks expanded inside each other */
};

/* What a compile_file of the tree stands for. */
typedef struct {
  git_oid blob;
  const char *refused; /* non-NULL: reading fails with these words */
} tree_file;

typedef struct tree_reader {
  char id[41];   /* root's */
  git_tree *root;
  arena *a;      /* names and tree_files */
  compile_file *files;
  size_t n, cap;
} tree_reader;

static void add_file(tree_reader *t, const char *name, const git_oid *blob, const char *refused) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 64;
    t->files = arena_grow(t->a, t->files, t->n * sizeof *t->files, cap * sizeof *t->files);
    t->cap = cap;
  }
  tree_file *f = arena_alloc(t->a, sizeof *f);
  if (blob) git_oid_cpy(&f->blob, blob);
  f->refused = refused;
  t->files[t->n++] = (compile_file){name, f};
}

/* The compile_reader's read: the blob, when the compile reads the file. */
static int read_blob(void *ctx, const compile_file *file, arena *a, const char **text, size_t *len, const char **err) {
  const tree_reader *t = ctx;
  const tree_file *f = file->data;
  if (f->refused) {
    *err = f->refused;
    return -1;
  }
  git_blob *b = NULL;
  if (git_blob_lookup(&b, git_tree_owner(t->root), &f->blob) != 0) {
    *err = arena_printf(a, "cannot read %s: %s", file->name, source_git_error());
    return -1;
  }
  *len = (size_t)git_blob_rawsize(b);
  if (*len > COMPILE_MAX_FILE) {
    *err = compile_file_too_big(a, file->name, *len);
    git_blob_free(b);
    return -1;
  }
  char *copy = arena_alloc(a, *len + 1);
  memcpy(copy, git_blob_rawcontent(b), *len);
  *text = copy;
  git_blob_free(b);
  return 0;
}

static char *join(arena *a, const char *dir, const char *name) {
  return *dir ? arena_printf(a, "%s/%s", dir, name) : arena_strdup(a, name);
}

static int read_tree(tree_reader *t, const git_tree *tree, const char *name, const char *real, int depth);

static const char *link_target(tree_reader *t, const git_oid *link) {
  git_blob *b = NULL;
  if (git_blob_lookup(&b, git_tree_owner(t->root), link) != 0) return NULL;
  const char *to = arena_strndup(t->a, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
  git_blob_free(b);
  return to;
}

/* The entry a symlink at `real` leads to, through any chain of symlinks;
 * *target is its real name. NULL with *why when it leads nowhere or out. */
static git_tree_entry *follow_link(tree_reader *t, const char *name, const char *real, const char *to,
                                   const char **target, const char **why) {
  const char *from = real;
  for (int hop = 0; hop < MAX_LINK_HOPS; hop++) {
    git_tree_entry *e = NULL;
    if (!(*target = compile_path_resolve(t->a, from, to))) {
      *why = arena_printf(t->a, "%s is a symlink that leaves the repository root", name);
      return NULL;
    }
    if (git_tree_entry_bypath(&e, t->root, *target) != 0) {
      *why = arena_printf(t->a, "cannot read %s: No such file or directory", name);
      return NULL;
    }
    if (git_tree_entry_filemode(e) != GIT_FILEMODE_LINK) return e;
    const char *next = link_target(t, git_tree_entry_id(e));
    if (next) {
      from = *target;
      to = next;
    }
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

static int read_subtree(tree_reader *t, const git_oid *id, const char *name, const char *real, int depth) {
  git_tree *sub = NULL;
  int rc = git_tree_lookup(&sub, git_tree_owner(t->root), id);
  if (rc == 0) rc = read_tree(t, sub, name, real, depth);
  git_tree_free(sub);
  return rc;
}

static int read_link(tree_reader *t, const char *name, const char *real, const git_oid *link, int depth) {
  const char *to = link_target(t, link), *target, *why = NULL;
  if (!to) return -1;
  git_tree_entry *e = follow_link(t, name, real, to, &target, &why);
  if (!e) {
    add_file(t, name, NULL, why);
    return 0;
  }
  int rc = 0;
  if (git_tree_entry_type(e) == GIT_OBJECT_BLOB)
    add_file(t, name, git_tree_entry_id(e), NULL);
  else if (git_tree_entry_type(e) == GIT_OBJECT_TREE && !is_ancestor(target, real) && depth < MAX_LINK_DEPTH)
    rc = read_subtree(t, git_tree_entry_id(e), name, target, depth + 1);
  git_tree_entry_free(e);
  return rc;
}

/* Names only: blobs wait for read_blob. */
static int read_entry(tree_reader *t, const git_tree_entry *e, const char *name, const char *real, int depth) {
  const git_oid *id = git_tree_entry_id(e);
  switch (git_tree_entry_type(e)) {
  case GIT_OBJECT_TREE: return read_subtree(t, id, name, real, depth);
  case GIT_OBJECT_BLOB:
    if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) return read_link(t, name, real, id, depth);
    add_file(t, name, id, NULL);
    return 0;
  default: return 0; /* a submodule: not fetched */
  }
}

/* name: where the tree shows in the compiled root; real: where it is in the
 * git tree (they differ under a directory symlink). */
static int read_tree(tree_reader *t, const git_tree *tree, const char *name, const char *real, int depth) {
  size_t n = git_tree_entrycount(tree);
  for (size_t i = 0; i < n; i++) {
    const git_tree_entry *e = git_tree_entry_byindex(tree, i);
    const char *base = git_tree_entry_name(e), *as = join(t->a, name, base);
    /* Outside a directory symlink the two are one: kept once. */
    int rc = read_entry(t, e, as, real == name ? as : join(t->a, real, base), depth);
    if (rc) return rc;
  }
  return 0;
}

/* ---- the cache of results ------------------------------------------------- */

typedef struct build {
  char tree[41];
  char *path, *env;
  char **args; /* NAME=VALUE, nargs of them: the same tree with other args is another build */
  size_t nargs;
  char *kube_version; /* compile_opts' kube_version_default: another one is another build too */
  compile_yaml_dir dir; /* its strings this entry's: other options are another build */
  char *release, *release_ns; /* a chart's, compile_helm's: another release is another build */
  /* A digest of the SOPS keys it was given: a key added to the Secret, or
   * another, opens what failed before. */
  uint8_t keys[SHA256_DIGEST_SIZE];
  /* A result that compiled is kept as the bytes compile_result_encode
   * writes, some five times smaller than the values they stand for, and
   * read again for each source_compile that finds it: a runtime keeps one
   * per application, and between its passes needs none of them whole. A
   * failed result (its messages alone) is kept as it is, bytes NULL. */
  char *bytes;
  size_t nbytes;
  compile_result *result; /* NULL between source_builds_release and the next lookup */
  struct build *next;
} build;

struct source_builds {
  build *head; /* most recently used first */
  size_t n, max, hits, misses;
  const source_limits *limits;
};

source_builds *source_builds_new(size_t max, const source_limits *limits) {
  source_builds *b = heap_calloc(1, sizeof *b);
  b->max = max ? max : 1;
  b->limits = limits ? limits : &source_default_limits;
  return b;
}

static void build_free(build *e) {
  compile_free(e->result);
  free(e->bytes);
  free(e->path);
  free(e->env);
  free(e->kube_version);
  free((char *)e->dir.include);
  free((char *)e->dir.exclude);
  free(e->release);
  free(e->release_ns);
  for (size_t i = 0; i < e->nargs; i++) free(e->args[i]);
  free(e->args);
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

void source_builds_release(source_builds *b) {
  for (build *e = b->head; e; e = e->next)
    if (e->bytes) compile_free(e->result), e->result = NULL;
}

void source_builds_stats(const source_builds *b, size_t *hits, size_t *misses) {
  *hits = b->hits;
  *misses = b->misses;
}

static bool same_text(const char *x, const char *y) { return x == y || (x && y && strcmp(x, y) == 0); }

static bool same_args(const build *e, const compile_opts *o) {
  if (e->nargs != o->nargs) return false;
  for (size_t i = 0; i < e->nargs; i++)
    if (strcmp(e->args[i], o->args[i]) != 0) return false;
  return true;
}

static bool same_dir(const compile_yaml_dir *x, const compile_yaml_dir *y) {
  return x->recurse == y->recurse && same_text(x->include, y->include) && same_text(x->exclude, y->exclude);
}

/* Finds an entry and moves it to the front. */
/* The digest of o's SOPS keys, each with its kind and length. */
static void keys_digest(const compile_opts *o, uint8_t out[SHA256_DIGEST_SIZE]) {
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  for (size_t i = 0; i < o->nsops_keys; i++) {
    uint64_t head[2] = {o->sops_keys[i].kind, o->sops_keys[i].len};
    sha256_update(&ctx, sizeof head, (const uint8_t *)head);
    sha256_update(&ctx, o->sops_keys[i].len, (const uint8_t *)o->sops_keys[i].data);
  }
  sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

static build *lookup(source_builds *b, const char *tree, const compile_opts *o) {
  uint8_t keys[SHA256_DIGEST_SIZE];
  keys_digest(o, keys);
  for (build **p = &b->head; *p; p = &(*p)->next) {
    build *e = *p;
    if (strcmp(e->tree, tree) || strcmp(e->path, o->path) || !same_text(e->env, o->env) || !same_args(e, o) ||
        !same_text(e->kube_version, o->kube_version_default) || !same_dir(&e->dir, &o->yaml_dir) ||
        !same_text(e->release, o->helm.release) || !same_text(e->release_ns, o->helm.namespace) ||
        memcmp(e->keys, keys, sizeof keys) != 0)
      continue;
    *p = e->next;
    e->next = b->head;
    b->head = e;
    return e;
  }
  return NULL;
}

/* e's result, read from its bytes when it was released; NULL when they
 * do not read back, which only a defect would make so. */
static const compile_result *opened(build *e) {
  const char *why;
  if (!e->result) e->result = compile_result_decode(e->bytes, e->nbytes, &why);
  return e->result;
}

static void insert(source_builds *b, build *e) {
  if (!e->result->diags.errors) {
    buf enc = {0};
    compile_result_encode(e->result, &enc);
    e->bytes = heap_realloc(enc.data, enc.len); /* no room to grow: it never does */
    e->nbytes = enc.len;
  }
  e->next = b->head;
  b->head = e;
  if (++b->n <= b->max) return;
  build **last = &b->head;
  while ((*last)->next) last = &(*last)->next;
  build_free(*last);
  *last = NULL;
  b->n--;
}

/* What the child compiles: the tree's files, read by the parent. */
typedef struct {
  source_repo *s;
  tree_reader *t;
  const build *e;
  const compile_remote *remote; /* the caller's compile_opts' */
  const compile_charts *charts; /* the same */
  const compile_sops_key *sops_keys; /* the same: the child has the parent's memory */
  size_t nsops_keys;
  compile_helm helm;
} tree_compile;

/* The caller's compile_remote and compile_charts, in the child, noting
 * a failure: a remote base or chart that could not be fetched fails the
 * compile for the moment only. */
typedef struct {
  const compile_remote *remote;
  const compile_charts *charts;
  const char *failed; /* why the last fetch failed, or NULL */
} fetch_watch;

static const char *watched_remote(void *ctx, arena *a, const char *url, const char *ref, const char **err) {
  fetch_watch *w = ctx;
  const char *dir = w->remote->dir(w->remote->ctx, a, url, ref, err);
  if (!dir) w->failed = *err;
  return dir;
}

static int watched_chart(void *ctx, arena *a, compile_chart *c, const char **data, size_t *len, const char **err) {
  fetch_watch *w = ctx;
  int rc = w->charts->get(w->charts->ctx, a, c, data, len, err);
  if (rc) w->failed = *err;
  return rc;
}

/* In the child. The repository's credentials go first: the child's copy
 * of them is all it could leak, and it needs none. What compile_keep would
 * drop is not written: the parent keeps what it reads back. A remote base
 * or chart it could not fetch ends it with SOURCE_EXIT_AGAIN (source.h): the result
 * is not kept, and the next pass tries again. */
static compile_result *compile_in_child(void *ctx) {
  tree_compile *c = ctx;
  source_creds_clear(&c->s->creds);
  fetch_watch watch = {c->remote, c->charts, NULL};
  compile_remote watched = {watched_remote, &watch};
  compile_charts charts = c->charts ? *c->charts : (compile_charts){0};
  charts.get = watched_chart, charts.ctx = &watch;
  compile_reader reader = {read_blob, c->t};
  compile_opts o = {.path = c->e->path,
                    .env = c->e->env,
                    .args = (const char *const *)c->e->args,
                    .nargs = c->e->nargs,
                    .kube_version_default = c->e->kube_version,
                    .remote = c->remote ? &watched : NULL,
                    .charts = c->charts ? &charts : NULL,
                    .yaml_dir = c->e->dir,
                    .helm = c->helm,
                    .sops_keys = c->sops_keys,
                    .nsops_keys = c->nsops_keys};
  compile_result *r = compile_files(c->t->files, c->t->n, &reader, &o);
  if (watch.failed) {
    fprintf(stderr, "%s", watch.failed);
    _exit(SOURCE_EXIT_AGAIN);
  }
  return r;
}

/* Where the child writes a chart's files while helm renders it: the
 * directory of the caches, which is writable where the root file system
 * is not (caller frees). */
static char *scratch_dir(const source_repo *s) {
  const char *slash = strrchr(s->cache_path, '/');
  return slash ? heap_strndup(s->cache_path, (size_t)(slash - s->cache_path)) : heap_strdup(".");
}

/* A result whose one error is msg. */
static compile_result *failed(const char *msg) {
  compile_result *r = heap_calloc(1, sizeof *r);
  r->arena = arena_new();
  diag_init(&r->diags, r->arena);
  diag_error(&r->diags, (pos){0}, "%s", msg);
  return r;
}

/* Into e->result, or a failure of the moment in s's words. */
static int compile_isolated(source_repo *s, const source_limits *limits, tree_reader *t, build *e,
                            const compile_opts *o) {
  char *why;
  bool lasting;
  /* helm from the runtime's PATH (the image ships it), read before the
   * child empties its environment; no render is kept apart from the
   * build, which the runtime keeps whole. */
  tree_compile c = {s, t, e, o->remote, o->charts, o->sops_keys, o->nsops_keys,
                    {.path = getenv("PATH"), .tmp = scratch_dir(s), .release = e->release, .namespace = e->release_ns}};
  e->result = source_isolate(limits, s->cache_path, compile_in_child, &c, &why, &lasting);
  free((char *)c.helm.tmp);
  if (e->result) return 0;
  char *msg = heap_printf("the compile of %s at tree %.7s %s", *e->path ? e->path : ".", e->tree, why);
  if (lasting) e->result = failed(msg);
  else source_fail(s, "%s", msg);
  free(msg);
  free(why);
  return e->result ? 0 : SOURCE_ERROR;
}

void source_listed_free(tree_reader *t) {
  if (!t) return;
  git_tree_free(t->root);
  arena_free(t->a);
  free(t);
}

/* The files of root, whose id is e->tree: those listed last when it is the
 * same tree (s->listed), else listed now and kept in their place. */
static tree_reader *files_of(source_repo *s, git_tree *root, const build *e) {
  if (s->listed && strcmp(s->listed->id, e->tree) == 0) return s->listed;
  source_listed_free(s->listed);
  s->listed = NULL;
  tree_reader *t = heap_calloc(1, sizeof *t);
  memcpy(t->id, e->tree, sizeof t->id);
  t->a = arena_new();
  const char *top = "";
  if (git_tree_dup(&t->root, root) != 0 || read_tree(t, root, top, top, 0) != 0) {
    source_fail(s, "cannot read tree %s from %s: %s", e->tree, s->url, source_git_error());
    source_listed_free(t);
    return NULL;
  }
  return s->listed = t;
}

static int compile_tree(source_repo *s, const source_limits *limits, git_tree *root, build *e,
                        const compile_opts *o) {
  tree_reader *t = files_of(s, root, e);
  return t && compile_isolated(s, limits, t, e, o) == 0 ? 0 : SOURCE_ERROR;
}

/* A cache entry for tree and o, holding copies of o's strings. */
static build *build_new(const char *tree, const compile_opts *o) {
  build *e = heap_calloc(1, sizeof *e);
  memcpy(e->tree, tree, 41);
  e->path = heap_strdup(o->path);
  e->env = o->env ? heap_strdup(o->env) : NULL;
  e->kube_version = o->kube_version_default ? heap_strdup(o->kube_version_default) : NULL;
  e->dir = (compile_yaml_dir){o->yaml_dir.recurse, o->yaml_dir.include ? heap_strdup(o->yaml_dir.include) : NULL,
                              o->yaml_dir.exclude ? heap_strdup(o->yaml_dir.exclude) : NULL};
  e->release = o->helm.release ? heap_strdup(o->helm.release) : NULL;
  e->release_ns = o->helm.namespace ? heap_strdup(o->helm.namespace) : NULL;
  keys_digest(o, e->keys);
  e->args = heap_calloc(o->nargs + 1, sizeof *e->args);
  for (e->nargs = 0; e->nargs < o->nargs; e->nargs++) e->args[e->nargs] = heap_strdup(o->args[e->nargs]);
  return e;
}

int source_compile(source_repo *s, source_builds *b, const char *tree, const compile_opts *o,
                   const compile_result **out) {
  build *e = lookup(b, tree, o);
  if (e && (*out = opened(e))) {
    b->hits++;
    return 0;
  }
  if (e) { /* compiled again below, in its place */
    b->head = e->next;
    b->n--;
    build_free(e);
  }
  git_oid id;
  git_tree *root = NULL;
  if (strlen(tree) != GIT_OID_SHA1_HEXSIZE || git_oid_fromstr(&id, tree) != 0 ||
      git_tree_lookup(&root, s->repo, &id) != 0) {
    source_fail(s, "tree %s not found in %s", tree, s->url);
    return SOURCE_ENOTFOUND;
  }
  e = build_new(tree, o);
  int rc = compile_tree(s, b->limits, root, e, o);
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
