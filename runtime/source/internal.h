/* internal.h: what the files of the git source share. */
#ifndef PLUMB_SOURCE_INTERNAL_H
#define PLUMB_SOURCE_INTERNAL_H

#include <git2.h>

#include "plumb/source.h"

struct source_repo {
  git_repository *repo; /* the bare cache */
  char *url;            /* scrubbed: what libgit2 is given and what is shown */
  char *host;           /* for known_hosts; NULL for local repositories */
  int port;
  char *cache_path;
  source_creds creds; /* the caller's, else the URL's userinfo */
  char error[1024];
  /* The files of the tree compiled last (build.c): every application of a
   * repository at one commit compiles the same tree, which at thousands
   * of envs is thousands of names to list again for each. */
  struct tree_reader *listed;
};

void source_listed_free(struct tree_reader *t);

void source_fail(source_repo *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* libgit2's last error in words, never NULL. */
const char *source_git_error(void);

/* ---- the cache (remote.c) ---- */

/* Creates dir and those above it that are missing: 0, or -1 with errno. */
int source_make_dirs(const char *dir);

/* ---- fetching (fetch.c) ---- */

/* Fetches the history a shallow cache lacks; the cache is whole after. */
int source_fetch_history(source_repo *s);

/* ---- URLs (url.c) ---- */

/* The parts of url the source keeps apart: user and password come out of
 * the userinfo (NULL when absent); host and port are for known_hosts (host
 * NULL for a local path). Caller frees the strings. */
typedef struct {
  char *user, *password, *host;
  int port;
} source_url_parts;

void source_url_split(const char *url, source_url_parts *out);
/* Lower-case hex SHA-256 of s: 64 digits and a NUL. */
void source_sha256_hex(const char *s, char out[65]);

/* ---- credentials (creds.c) ---- */

/* A copy of c with the blanks filled from fill; free the fields with
 * source_creds_clear. */
void source_creds_merge(source_creds *out, const source_creds *c, const source_creds *fill);
void source_creds_clear(source_creds *c);
/* Whether a private key (PEM or OpenSSH text) is an RSA key: libssh2
 * before 1.11 signs with one as ssh-rsa (SHA-1), which OpenSSH 8.8 and
 * later refuse. */
bool source_key_is_rsa(const char *key);

#endif
