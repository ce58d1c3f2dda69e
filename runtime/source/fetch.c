/* fetch.c: bringing a remote's branches and tags into the cache.
 *
 * libgit2 asks for credentials and for a verdict on the server's key through
 * callbacks; they note what went wrong, since libgit2's own words for a
 * refused login or key are vaguer than the user needs. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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
    if (asprintf(&f->hostkey_why, "host key for %s not checked: no known_hosts given", host) < 0) abort();
  } else if (!(hk->type & GIT_CERT_SSH_RAW)) {
    if (asprintf(&f->hostkey_why, "host key for %s not checked: libgit2 did not show it", host) < 0) abort();
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

int source_fetch(source_repo *s, source_fetch_stats *stats) {
  git_remote *r = NULL;
  git_remote_create_options ro;
  git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
  ro.repository = s->repo;
  /* The URL is fetched as given: a url.*.insteadOf of the machine's git
   * config does not redirect it (and reading those leaks in libgit2 1.5). */
  ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
  if (git_remote_create_with_opts(&r, s->url, &ro) != 0) {
    source_fail(s, "cannot fetch %s: %s", s->url, source_git_error());
    return SOURCE_ERROR;
  }
  fetch_ctx f = {.s = s};
  git_fetch_options o;
  git_fetch_options_init(&o, GIT_FETCH_OPTIONS_VERSION);
  o.callbacks.credentials = on_credentials;
  o.callbacks.certificate_check = on_certificate;
  o.callbacks.payload = &f;
  o.prune = GIT_FETCH_PRUNE;
  o.update_fetchhead = 0;
  o.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE; /* the refspec takes them all */
  char *specs[] = {"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"};
  git_strarray refspecs = {specs, 2};
  int rc = git_remote_fetch(r, &refspecs, &o, NULL);
  if (rc == 0) {
    follow_head(s, r);
    const git_indexer_progress *p = git_remote_stats(r);
    if (stats) *stats = (source_fetch_stats){p->received_objects, p->received_bytes};
  } else {
    rc = fetch_error(s, &f);
  }
  free(f.hostkey_why);
  git_remote_free(r);
  return rc;
}
