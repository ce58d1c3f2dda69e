/* source.h: configuration repositories, fetched with libgit2 and compiled
 * straight from their trees, without a working checkout.
 *
 * In the style of kube.h: functions return 0 on success and a negative
 * SOURCE_E* code on failure, results come back through out-parameters, and
 * the words for the last failure are source_last_error(s) (or *err for the
 * functions that run before a source exists). No credential ever appears in
 * those words, in a URL this module hands out, or in the cache on disk.
 *
 * Built against libgit2 1.8 (Debian 12's bookworm-backports). Not
 * supported: partial clones and Git LFS. Submodules are not fetched; their
 * entries in a tree are skipped. */
#ifndef PLUMB_SOURCE_H
#define PLUMB_SOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "plumb/compile.h"
#include "plumb/kube.h"

enum {
  SOURCE_OK = 0,
  SOURCE_ERROR = -1,        /* anything else: the cache, a corrupt object */
  SOURCE_ENOTFOUND = -2,    /* no such revision (or tree) in the repository */
  SOURCE_EAUTH = -3,        /* credentials missing or refused */
  SOURCE_EUNREACHABLE = -4, /* no answer, or no repository at the URL */
  SOURCE_EHOSTKEY = -5,     /* an ssh host key not in known_hosts, or different */
  SOURCE_EAMBIGUOUS = -6,   /* an abbreviated commit id names several objects */
};

/* ---- credentials (runtime/source/creds.c) ------------------------------- */

/* Every field may be NULL; source_creds_free zeroes them before freeing. */
typedef struct {
  char *username;       /* https basic (default "git"), or the ssh user when
                           the URL names none */
  char *password;       /* https basic; an access token goes here */
  char *ssh_key;        /* a private key (PEM or OpenSSH text) */
  char *ssh_passphrase; /* of ssh_key, if it has one */
  char *known_hosts;    /* text in OpenSSH's known_hosts format */
} source_creds;

/* Files to read credentials from, each optional. A token file is a password
 * file by another name; trailing white space (a newline) is dropped from the
 * username, password and token. */
typedef struct {
  const char *username_file, *password_file, *token_file;
  const char *ssh_key_file, *ssh_passphrase_file, *known_hosts_file;
} source_cred_files;

int source_creds_from_files(source_creds **out, const source_cred_files *f, char **err);
/* The keys of a Secret's data, as Flux names them: username, password,
 * token (a password by another name), identity (the ssh key), password (its
 * passphrase when identity is given) and known_hosts. */
int source_creds_from_secret(source_creds **out, kube_client *k, const char *ns, const char *name, char **err);
/* The same from a Secret object already read. */
int source_creds_from_secret_object(source_creds **out, const json_t *secret, char **err);
void source_creds_free(source_creds *c);

/* The URL as it may be shown: the userinfo of an http(s) URL is dropped
 * (a token may stand there alone), and of any other when it holds a
 * password. "https://user:tok@host/r.git" -> "https://host/r.git".
 * Caller frees. */
char *source_scrub_url(const char *url);
/* What two URLs of one repository have in common, to match a webhook's
 * URLs with sources: the host in lower case and the path, without scheme,
 * user, port, trailing slashes or ".git". "git@Host:o/r.git" and
 * "https://host/o/r/" both give "host/o/r". Caller frees. */
char *source_url_key(const char *url);

/* Whether an ssh host key is known: 0 when known_hosts lists it for host
 * (port 22) or [host]:port, plain or hashed (|1|...); SOURCE_EHOSTKEY with
 * *why (caller frees) when the host is missing or listed with other keys.
 * @cert-authority lines are not supported; @revoked keys are refused. */
int source_known_host(const char *known_hosts, const char *host, int port, const unsigned char *key, size_t len,
                      char **why);

/* ---- repositories (runtime/source/repo.c) ------------------------------- */

typedef struct source_repo source_repo;

typedef struct {
  const char *url;           /* https://, http://, ssh://, user@host:path,
                                file:// or a local path */
  const char *cache_dir;     /* holds one bare repository per URL; created */
  const source_creds *creds; /* copied; NULL: none but the URL's userinfo */
} source_opts;

/* Opens (or creates) the cache for the URL: cache_dir/HASH.git, HASH a
 * SHA-256 of the scrubbed URL. Does not touch the network. */
int source_open(source_repo **out, const source_opts *o, char **err);
void source_free(source_repo *s);
const char *source_last_error(const source_repo *s);
const char *source_url(const source_repo *s); /* scrubbed; owned by s */
const char *source_cache_path(const source_repo *s);

typedef struct {
  size_t objects; /* objects received from the remote this fetch */
  size_t bytes;   /* bytes received */
} source_fetch_stats;

/* Brings every branch and tag of the remote into the cache, pruning those
 * gone from it, and the remote's HEAD; only objects the cache lacks are
 * sent. The first fetch over http(s) is shallow: each branch and tag
 * without its history, which source_resolve fetches when it needs it.
 * stats may be NULL. */
int source_fetch(source_repo *s, source_fetch_stats *stats);

typedef struct {
  char commit[41], tree[41]; /* hex object ids */
  /* The commit's subject (its message's first paragraph on one line) and
   * its author's name, cut to fit, for people to read (status, UI). */
  char subject[161], author[81];
} source_rev;

/* A name as git reads one: a full ref name, HEAD, a tag (annotated or
 * lightweight), a branch, in that order (a tag wins over a branch of the
 * same name, as in git); else a full or abbreviated (4 or more digits)
 * commit id. No revision syntax (main~1, v1^{}). A commit id that a
 * shallow cache lacks fetches the rest of the history first, once: the
 * cache is whole after. */
int source_resolve(source_repo *s, const char *rev, source_rev *out);
/* The id of the object at path (a directory or file, relative to the root;
 * "." the root itself) in tree: what changes when a commit touches path. */
int source_path_id(source_repo *s, const char *tree, const char *path, char out[41]);

/* ---- compiling in a child process (runtime/source/isolate.c) ------------ */

/* What a compile may use; a 0 leaves that one unlimited. */
typedef struct {
  size_t memory_mib; /* memory it allocates, on top of what the runtime had */
  int cpu_s;         /* CPU time */
  int wall_s;        /* time the runtime waits for it */
  int files;         /* files open at once */
} source_limits;

/* 1536 MiB (the compiler stops itself at 1 GiB of values with an error of
 * its own; this is for what that does not count), 60 s of CPU, 90 s, 64
 * files. */
extern const source_limits source_default_limits;

/* Sets the limits text names ("memory=512Mi,cpu=30s,wall=1m,files=64",
 * any of them) in l: 0, or -1 with *err (caller frees). */
int source_limits_parse(source_limits *l, const char *text, char **err);

/* Runs compile(ctx) in a child process under l and returns its result,
 * read back (compile_keep's copy), or NULL with *why (caller frees) saying
 * what the compile did instead, in words that follow "the compile":
 * "exceeded its CPU time limit of 60 s". *lasting when the same compile
 * would do it again (a limit it exceeds, a crash), not when it was the
 * moment's (the wall clock on a loaded machine, a kill from outside). The
 * child keeps open only the files under keep_dir (may be NULL), and none
 * of the runtime's connections. */
/* The status a child's compile exits with, having written why to standard
 * error, when it failed for the moment (a remote base it could not
 * fetch): not lasting, and the words are the child's. */
enum { SOURCE_EXIT_AGAIN = 75 };
compile_result *source_isolate(const source_limits *l, const char *keep_dir, compile_result *(*compile)(void *ctx),
                               void *ctx, char **why, bool *lasting);

/* ---- compiling from a tree (runtime/source/build.c) --------------------- */

/* Compile results by (tree, path, env, args): a tree id names its content,
 * so an unchanged tree is never read or compiled twice with the same args. Keeps the `max` most
 * recently used results. Compiles run in a child process under limits
 * (borrowed; NULL: source_default_limits). */
typedef struct source_builds source_builds;

source_builds *source_builds_new(size_t max, const source_limits *limits);
void source_builds_free(source_builds *b);
/* Lets go of the results the last compiles returned: each is read again
 * from its compact form when a source_compile finds it next. */
void source_builds_release(source_builds *b);
/* Lookups answered from the cache, and those that compiled. */
void source_builds_stats(const source_builds *b, size_t *hits, size_t *misses);

/* Compiles o->path (a directory or file, relative to the tree's root) with
 * o->env (NULL: the only one), o->args and o->yaml_dir from the tree, as
 * `plumb build` compiles a checkout of it (o->root is not read), reading
 * only the blobs of the files it imports or reads. Symlinks
 * are followed inside the tree; reading one that leaves it fails as on
 * disk. *out has the compile's own diagnostics; without any, it is what
 * compile_keep keeps (no explain history). A compile that exceeds a limit
 * or crashes has that as its one error ("the compile of envs/dev at tree
 * 1a2b3c4 exceeded its CPU time limit of 60 s"), kept as a result is; one
 * stopped by the wall clock fails with SOURCE_ERROR, to be tried again. It is owned by b and lives until
 * the next source_compile with b, source_builds_release or source_builds_free. */
/* o->remote serves a kustomization's remote bases (source_remote_dir
 * fetches them, in the child, as the compile meets them); it is not part
 * of what keys a result, which a tree's first build makes. */
int source_compile(source_repo *s, source_builds *b, const char *tree, const compile_opts *o,
                   const compile_result **out);

/* ---- remote kustomization bases (runtime/source/remote.c) -------------- */

/* Fetches the repository at url into cache (as source_open keeps it; no
 * credentials: public repositories, and local ones), resolves ref (NULL:
 * the remote's HEAD) into *out, writes the commit's tree out once under
 * cache/remote/trees and records the ref under cache/remote/refs, where
 * compile_remote_cached reads them (compile.h). 0, or a SOURCE_E* code
 * with *err (caller frees). */
int source_remote_fetch(const char *cache, const char *url, const char *ref, source_rev *out, char **err);
/* A compile_remote.dir that fetches with source_remote_fetch into the
 * cache whose directory ctx is, then gives the tree's directory. */
const char *source_remote_dir(void *cache, arena *a, const char *url, const char *ref, const char **err);

/* ---- charts of repositories (runtime/source/chart.c) -------------------- */

/* The credentials of chart repositories and OCI registries whose URLs
 * start with url ("https://charts.example.com", "oci://registry.example.com/charts"):
 * the longest such prefix of a chart's repository wins. */
typedef struct {
  const char *url;
  const char *username, *password; /* NULL: none */
  const char *ca;                  /* PEM of the CA its certificate is signed by; NULL: the system's */
} source_chart_creds;

/* How charts are fetched into the cache with helm pull. */
typedef struct {
  const char *cache;      /* plumb's cache, whose charts/ they go in */
  const char *path, *tmp; /* where helm is (as PATH), where its scratch directory goes (NULL: /tmp) */
  /* helm's environment: NULL, nothing of the machine's (the runtime);
   * or the user's (plumb fetch), for their own registry logins */
  char *const *env;
  const source_chart_creds *creds;
  size_t ncreds;
  /* Told of each chart fetched, with its pin; may be NULL. */
  void (*pinned)(void *ctx, const compile_chart *c);
  void *ctx;
} source_charts;

/* The credentials of the chart repositories helm's repositories.yaml at
 * path lists (helm repo add --username ...), in a: 0 with *out and *n
 * (none when there is no such file), or -1 with *err when it is no YAML. */
int source_chart_creds_from_helm(arena *a, const char *path, source_chart_creds **out, size_t *n, const char **err);

/* A compile_charts.get (compile.h) whose ctx is a source_charts: the
 * archive from the cache, else pulled by helm (the version pinned, else
 * the newest c's range allows, then pinned), checked against the digest
 * pinned and kept in the cache. */
int source_chart_get(void *charts, arena *a, compile_chart *c, const char **data, size_t *len, const char **err);

/* An application whose source is a chart (app.h), as a repository of its
 * own (runtime/source/chartapp.c). */
typedef struct {
  const char *repo, *chart; /* the chart repository or OCI registry, the chart in it */
  const char *version;      /* a version, a semver range, or "" for the newest */
  const char *values;       /* JSON text of an object, or NULL */
  const char *release, *namespace; /* namespace "": helm_chart()'s default */
} source_chart_app;

/* Resolves app's chart with charts (source_chart_get: pulled into the
 * cache, pinned to the newest version app's allows) and commits an env
 * rendering it at that pin as the head of the bare repository at dir,
 * made on first use; the same pin makes the same commit. 0, or -1 with
 * *err (caller frees). */
int source_chart_app_pin(const source_charts *charts, const char *dir, const source_chart_app *app, char **err);

#endif
