/* fetch.c: bringing a remote's branches and tags into the cache.
 *
 * libgit2 asks for credentials and for a verdict on the server's key through
 * callbacks; they note what went wrong, since libgit2's own words for a
 * refused login or key are vaguer than the user needs.
 *
 * A new cache of an http(s) remote starts shallow, as Flux's
 * source-controller clones: every branch and tag at its tip only. Later
 * fetches bring what is new, down to what the cache has; a commit below the
 * cut comes with the rest of the history when it is asked for
 * (source_fetch_history). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "plumb/arena.h"

#include "internal.h"

/* 41 bytes a root: a million branches and tags cut at their tips. */
enum { MAX_SHALLOW_FILE = 41 << 20 };

typedef struct {
  source_repo *s;
  bool secret_sent; /* a password or key went out: being asked again means no */
  bool key_sent;    /* the ssh key was that secret */
  bool auth_refused, no_creds;
  char *hostkey_why;
} fetch_ctx;

static int on_credentials(git_credential **out, const char *url, const char *url_user, unsigned int allowed,
                          void *payload) {
  fetch_ctx *f = payload;
  const source_creds *c = &f->s->creds;
  if (f->secret_sent) {
    f->auth_refused = true;
    return GIT_EAUTH;
  }
  const char *user = url_user ? url_user : c->username ? c->username : "git";
  if ((allowed & GIT_CREDENTIAL_SSH_KEY) && c->ssh_key) {
    f->secret_sent = f->key_sent = true;
    return git_credential_ssh_key_memory_new(out, user, NULL, c->ssh_key, c->ssh_passphrase);
  }
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && (c->password || c->username)) {
    f->secret_sent = true;
    return git_credential_userpass_plaintext_new(out, user, c->password ? c->password : "");
  }
  if (allowed & GIT_CREDENTIAL_USERNAME) return git_credential_username_new(out, user);
  f->no_creds = true;
  return GIT_EAUTH;
}

/* TLS certificates are libgit2's to verify against the system's CAs; ssh
 * host keys are checked here against the caller's known_hosts only. */
static int on_certificate(git_cert *cert, int valid, const char *host, void *payload) {
  fetch_ctx *f = payload;
  if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) return GIT_PASSTHROUGH;
  const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
  const char *known = f->s->creds.known_hosts;
  int rc = SOURCE_EHOSTKEY;
  if (!known) {
    f->hostkey_why = heap_printf("host key for %s not checked: no known_hosts given", host);
  } else if (!(hk->type & GIT_CERT_SSH_RAW)) {
    f->hostkey_why = heap_printf("host key for %s not checked: libgit2 did not show it", host);
  } else {
    rc = source_known_host(known, host, f->s->port, (const unsigned char *)hk->hostkey, hk->hostkey_len,
                           &f->hostkey_why);
  }
  return rc ? GIT_ECERTIFICATE : 0;
}

static int fetch_error(source_repo *s, fetch_ctx *f) {
  const git_error *e = git_error_last();
  int klass = e ? e->klass : GIT_ERROR_NONE;
  if (f->hostkey_why) {
    source_fail(s, "%s", f->hostkey_why);
    return SOURCE_EHOSTKEY;
  }
  if (f->no_creds) {
    source_fail(s, "%s asks for credentials and none were given", s->url);
    return SOURCE_EAUTH;
  }
  if (f->auth_refused) {
    bool rsa = f->key_sent && source_key_is_rsa(s->creds.ssh_key);
    source_fail(s, "authentication failed for %s%s", s->url,
                rsa ? " (an RSA key: libssh2 before 1.11 signs with ssh-rsa, SHA-1, which OpenSSH 8.8 and later"
                      " refuse; an ed25519 or ecdsa key works)"
                    : "");
    return SOURCE_EAUTH;
  }
  if (klass == GIT_ERROR_NET || klass == GIT_ERROR_HTTP || klass == GIT_ERROR_SSH || klass == GIT_ERROR_SSL ||
      klass == GIT_ERROR_OS || klass == GIT_ERROR_REPOSITORY) {
    source_fail(s, "cannot reach %s: %s", s->url, source_git_error());
    return SOURCE_EUNREACHABLE;
  }
  source_fail(s, "cannot fetch %s: %s", s->url, source_git_error());
  return SOURCE_ERROR;
}

/* HEAD of the cache follows the remote's, so that "HEAD" resolves to its
 * default branch. A remote that shows none leaves it as it was. */
static void follow_head(source_repo *s, git_remote *r) {
  git_buf head = {0};
  if (git_remote_default_branch(&head, r) == 0) git_repository_set_head(s->repo, head.ptr);
  git_buf_dispose(&head);
}

/* libgit2 counts the bytes a smart transport receives only for a caller
 * that follows the progress. */
static int on_progress(const git_indexer_progress *p, void *payload) { return 0; }

/* The cache's shallow file: the commits whose parents it lacks. */
static char *shallow_path(const source_repo *s) {
  char *path;
  path = heap_printf("%sshallow", git_repository_path(s->repo));
  return path;
}

/* The shallow file's text in *roots; NULL for a whole cache. */
static int shallow_roots(source_repo *s, char **roots) {
  *roots = NULL;
  if (git_repository_is_shallow(s->repo) != 1) return SOURCE_OK;
  char *path = shallow_path(s);
  size_t len;
  *roots = kube_read_file(path, MAX_SHALLOW_FILE, &len);
  if (!*roots) source_fail(s, "cannot read the shallow roots of the cache %s: %s", s->cache_path, strerror(errno));
  free(path);
  return *roots ? SOURCE_OK : SOURCE_ERROR;
}

/* The shallow file at path replaced with roots, through git's lock file. */
static int write_shallow_roots(source_repo *s, const char *path, const char *roots) {
  char *lock;
  lock = heap_printf("%s.lock", path);
  FILE *f = fopen(lock, "wx");
  bool ok = f && fputs(roots, f) >= 0;
  if (f && fclose(f) != 0) ok = false;
  if (ok && rename(lock, path) != 0) ok = false;
  if (!ok) source_fail(s, "cannot keep the shallow roots of the cache %s: %s", s->cache_path, strerror(errno));
  if (!ok && f) unlink(lock);
  free(lock);
  return ok ? SOURCE_OK : SOURCE_ERROR;
}

/* libgit2 1.8 forgets the roots it sent when it writes the shallow file
 * after a fetch that does not deepen (libgit2#6846, fixed in 1.9): the cut
 * commits would look whole and the next fetch fail on their missing
 * parents. Such a fetch leaves the cut where it was: the roots go back as
 * they were, unless the file still says so (nothing new came). */
static int keep_shallow_roots(source_repo *s, const char *roots) {
  char *path = shallow_path(s);
  size_t len;
  char *now = kube_read_file(path, MAX_SHALLOW_FILE, &len);
  bool same = now && strcmp(now, roots) == 0;
  free(now);
  int rc = same ? SOURCE_OK : write_shallow_roots(s, path, roots);
  free(path);
  return rc;
}

static int remote_fetch(git_remote *r, fetch_ctx *f, int depth) {
  source_repo *s = f->s;
  git_fetch_options o;
  git_fetch_options_init(&o, GIT_FETCH_OPTIONS_VERSION);
  o.callbacks.credentials = on_credentials;
  o.callbacks.certificate_check = on_certificate;
  o.callbacks.transfer_progress = on_progress;
  o.callbacks.payload = f;
  o.prune = GIT_FETCH_PRUNE;
  o.update_fetchhead = 0;
  o.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE; /* the refspec takes them all */
  o.depth = depth;
  char *specs[] = {"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"};
  git_strarray refspecs = {specs, 2};
  char *roots = NULL;
  if (depth == GIT_FETCH_DEPTH_FULL && shallow_roots(s, &roots) != SOURCE_OK) return SOURCE_ERROR;
  int rc = git_remote_fetch(r, &refspecs, &o, NULL);
  if (rc == 0) rc = roots ? keep_shallow_roots(s, roots) : SOURCE_OK;
  else rc = fetch_error(s, f);
  free(roots);
  return rc;
}

/* Every branch and tag, depth commits deep (GIT_FETCH_DEPTH_FULL: down to
 * what the cache has). */
static int fetch_to_depth(source_repo *s, int depth, source_fetch_stats *stats) {
  git_remote *r = NULL;
  git_remote_create_options ro;
  git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
  ro.repository = s->repo;
  /* The URL is fetched as given: a url.*.insteadOf of the machine's git
   * config does not redirect it. */
  ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
  if (git_remote_create_with_opts(&r, s->url, &ro) != 0) {
    source_fail(s, "cannot fetch %s: %s", s->url, source_git_error());
    return SOURCE_ERROR;
  }
  fetch_ctx f = {.s = s};
  int rc = remote_fetch(r, &f, depth);
  if (rc == 0) {
    follow_head(s, r);
    const git_indexer_progress *p = git_remote_stats(r);
    if (stats) *stats = (source_fetch_stats){p->received_objects, p->received_bytes};
  }
  free(f.hostkey_why);
  git_remote_free(r);
  return rc;
}

/* Whether libgit2 1.8 cuts history over the URL's transport: over smart
 * HTTP only. Its local transport cannot (libgit2#6634), and over ssh it
 * sends its wants twice when it asks for a depth, which the server refuses
 * (libgit2#6889, fixed in 1.9). Those caches are whole from the first
 * fetch. */
static bool cuts_history(const source_repo *s) {
  return strncasecmp(s->url, "https://", 8) == 0 || strncasecmp(s->url, "http://", 7) == 0;
}

int source_fetch(source_repo *s, source_fetch_stats *stats) {
  bool first = git_repository_is_empty(s->repo) == 1;
  return fetch_to_depth(s, first && cuts_history(s) ? 1 : GIT_FETCH_DEPTH_FULL, stats);
}

int source_fetch_history(source_repo *s) { return fetch_to_depth(s, GIT_FETCH_DEPTH_UNSHALLOW, NULL); }
