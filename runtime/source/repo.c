/* repo.c: a source's bare cache repository, and revisions in it. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plumb/arena.h"

#include "internal.h"

void source_fail(source_repo *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->error, sizeof s->error, fmt, ap);
  va_end(ap);
}

const char *source_git_error(void) {
  const git_error *e = git_error_last();
  return e && e->message ? e->message : "unknown error";
}

const char *source_last_error(const source_repo *s) { return s->error; }
const char *source_url(const source_repo *s) { return s->url; }
const char *source_cache_path(const source_repo *s) { return s->cache_path; }

static int open_cache(source_repo *s, const char *cache_dir, char **err) {
  if (mkdir(cache_dir, 0700) != 0 && errno != EEXIST) {
    *err = heap_printf("cannot create the cache %s: %s", cache_dir, strerror(errno));
    return SOURCE_ERROR;
  }
  /* libgit2 1.8's ssh transport reads ~/.ssh/known_hosts to pick the type
   * of host key to ask for, and fails when the home directory does not
   * exist (the image's user has /nonexistent). Its home is the cache, which
   * has no .ssh: libssh2 picks the type, and host keys are checked against
   * the caller's known_hosts only, whatever the machine's. */
  git_libgit2_opts(GIT_OPT_SET_HOMEDIR, cache_dir);
  char hash[65];
  source_sha256_hex(s->url, hash);
  s->cache_path = heap_printf("%s/%s.git", cache_dir, hash);
  int rc = git_repository_open_bare(&s->repo, s->cache_path);
  if (rc == GIT_ENOTFOUND) rc = git_repository_init(&s->repo, s->cache_path, 1);
  if (rc == 0) return 0;
  *err = heap_printf("cannot open the cache %s for %s: %s", s->cache_path, s->url, source_git_error());
  return SOURCE_ERROR;
}

/* libgit2's defaults suit a command that runs once: an object cache of
 * 256 MiB and packfile maps of up to 8 GiB in windows of 1 GiB, all kept
 * while the process lives. A runtime lives long and keeps every repository
 * open, and a compile reads a few objects; these bounds hold the maps and
 * the cache to tens of MiB, whatever the size of the repositories. */
static void bound_libgit2(void) {
  git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)8 << 20);
  git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)32 << 20);
  git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)8 << 20);
}

int source_open(source_repo **out, const source_opts *o, char **err) {
  git_libgit2_init();
  bound_libgit2();
  source_repo *s = heap_calloc(1, sizeof *s);
  s->url = source_scrub_url(o->url);
  source_url_parts parts;
  source_url_split(o->url, &parts);
  s->host = parts.host;
  s->port = parts.port;
  /* The URL's userinfo is dropped from what libgit2 sees, so that it never
   * reaches a message or the cache's config; it fills what creds leave. */
  source_creds from_url = {.username = parts.user, .password = parts.password};
  source_creds_merge(&s->creds, o->creds, &from_url);
  source_creds_clear(&from_url);
  int rc = open_cache(s, o->cache_dir, err);
  if (rc) {
    source_free(s);
    s = NULL;
  }
  *out = s;
  return rc;
}

void source_free(source_repo *s) {
  if (!s) return;
  source_listed_free(s->listed);
  git_repository_free(s->repo);
  source_creds_clear(&s->creds);
  free(s->url);
  free(s->host);
  free(s->cache_path);
  free(s);
  git_libgit2_shutdown();
}

static bool is_hex(const char *s) {
  size_t n = strspn(s, "0123456789abcdefABCDEF");
  return s[n] == '\0' && n >= GIT_OID_MINPREFIXLEN && n <= GIT_OID_SHA1_HEXSIZE;
}

static int rev_error(source_repo *s, const char *rev, int rc) {
  if (rc == GIT_ENOTFOUND && is_hex(rev)) {
    source_fail(s, "revision \"%s\" not found in %s: no branch or tag has it, nor a commit in their history", rev,
                s->url);
    return SOURCE_ENOTFOUND;
  }
  if (rc == GIT_EAMBIGUOUS) {
    source_fail(s, "revision \"%s\" is ambiguous in %s: give more digits", rev, s->url);
    return SOURCE_EAMBIGUOUS;
  }
  if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC) {
    source_fail(s, "revision \"%s\" not found in %s", rev, s->url);
    return SOURCE_ENOTFOUND;
  }
  source_fail(s, "cannot resolve revision \"%s\" in %s: %s", rev, s->url, source_git_error());
  return SOURCE_ERROR;
}

/* By name as git reads one, then as a commit id. Not git_revparse_single:
 * it reads revision syntax (main~1) too. */
static int lookup_rev(source_repo *s, const char *rev, git_object **out) {
  git_reference *ref = NULL;
  int rc = git_reference_dwim(&ref, s->repo, rev);
  if (rc == 0) {
    rc = git_reference_peel(out, ref, GIT_OBJECT_ANY);
    git_reference_free(ref);
    return rc;
  }
  if (!is_hex(rev)) return rc;
  git_oid id;
  rc = git_oid_fromstrn(&id, rev, strlen(rev));
  return rc ? rc : git_object_lookup_prefix(out, s->repo, &id, strlen(rev), GIT_OBJECT_ANY);
}

/* s into out, as valid UTF-8 cut to fit (heap_utf8). */
static void source_cut(char *out, size_t size, const char *s) {
  char *t = heap_utf8(s, size - 1);
  memcpy(out, t, strlen(t) + 1);
  free(t);
}

int source_resolve(source_repo *s, const char *rev, source_rev *out) {
  git_object *obj = NULL, *commit = NULL;
  int rc = lookup_rev(s, rev, &obj);
  /* A commit below the cut of a shallow cache: the history comes, once,
   * since the cache is whole after. Every branch and tag is there anyway. */
  if (rc == GIT_ENOTFOUND && is_hex(rev) && git_repository_is_shallow(s->repo) == 1) {
    int fetched = source_fetch_history(s);
    if (fetched != SOURCE_OK) return fetched;
    rc = lookup_rev(s, rev, &obj);
  }
  if (rc) return rev_error(s, rev, rc);
  rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
  git_object_free(obj);
  if (rc) {
    source_fail(s, "revision \"%s\" in %s is not a commit", rev, s->url);
    return SOURCE_ENOTFOUND;
  }
  git_oid_tostr(out->commit, sizeof out->commit, git_object_id(commit));
  git_oid_tostr(out->tree, sizeof out->tree, git_commit_tree_id((git_commit *)commit));
  const char *subject = git_commit_summary((git_commit *)commit);
  const git_signature *author = git_commit_author((git_commit *)commit);
  source_cut(out->subject, sizeof out->subject, subject ? subject : "");
  source_cut(out->author, sizeof out->author, author && author->name ? author->name : "");
  git_object_free(commit);
  return 0;
}

int source_path_id(source_repo *s, const char *tree, const char *path, char out[41]) {
  git_oid id;
  git_tree *t = NULL;
  git_tree_entry *e = NULL;
  while (strncmp(path, "./", 2) == 0) path += 2;
  bool root = strcmp(path, ".") == 0 || !*path;
  int rc = git_oid_fromstr(&id, tree);
  if (rc == 0) rc = git_tree_lookup(&t, s->repo, &id);
  if (rc == 0 && !root) rc = git_tree_entry_bypath(&e, t, path);
  if (rc == 0) git_oid_tostr(out, 41, root ? &id : git_tree_entry_id(e));
  else source_fail(s, "no %s in tree %s of %s", path, tree, s->url);
  git_tree_entry_free(e);
  git_tree_free(t);
  return rc ? SOURCE_ENOTFOUND : SOURCE_OK;
}
