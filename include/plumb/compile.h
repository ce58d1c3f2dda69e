/* compile.h: the compiler as a library: Plumb sources in, resources out.
 *
 * This is the door between the compiler and its users (the CLI, the runtime):
 * one call compiles an environment into the resources it declares, each with
 * the provenance of every value. Everything lives in the result's arena. */
#ifndef PLUMB_COMPILE_H
#define PLUMB_COMPILE_H

#include "plumb/diag.h"
#include "plumb/value.h"

/* Where a kustomization's remote bases come from (docs/kustomize.md): the
 * compiler reaches no network, so something fetched each repository at
 * its ref before. dir gives the directory holding that tree (url and ref
 * as remote.h reads them; ref NULL: the remote's HEAD), read as the root
 * is, confined to it; or NULL with *err (in a) saying why not. */
typedef struct {
  const char *(*dir)(void *ctx, arena *a, const char *url, const char *ref, const char **err);
  void *ctx;
} compile_remote;

/* The cache `plumb fetch` fills, a directory: remote/refs/HASH (HASH the
 * SHA-256 of "URL?ref=REF", or of URL without a ref) holds the commit id
 * the ref named when fetched, remote/trees/COMMIT that commit's files.
 * The file that records url at ref, and the directory of a commit's tree,
 * in a. */
const char *compile_remote_ref_file(arena *a, const char *cache, const char *url, const char *ref);
const char *compile_remote_tree_dir(arena *a, const char *cache, const char *commit);
/* A compile_remote.dir that reads the cache whose directory ctx is. */
const char *compile_remote_cached(void *cache, arena *a, const char *url, const char *ref, const char **err);

/* How a directory of YAML manifests is read (docs/language.md 8.4), as
 * Argo CD's directory source reads one (its spec.source.directory): the
 * files directly in it, or with recurse in its subdirectories too; those
 * whose path from it matches include (NULL or "": every one) and not
 * exclude (NULL or "": none), glob patterns (compiler/glob.h). */
typedef struct {
  bool recurse;
  const char *include, *exclude;
} compile_yaml_dir;

/* How helm_chart() renders a chart (docs/language.md, Helm charts): with
 * the helm program, which the compiler, reading no environment, finds in
 * the directories path lists, as PATH does (NULL: nowhere, and a build
 * that renders a chart fails saying so); the chart's files are written
 * into a directory of their own made under tmp (NULL: /tmp) while it
 * renders. A render that passed is kept in cache, plumb's cache
 * directory (under helm/, renders.h), and read from there by the same
 * render again; NULL: none. Nothing is looked for until a build renders
 * a chart. */
typedef struct {
  const char *path, *tmp, *cache;
  /* A chart's directory built as a whole: its release's name and
   * namespace (NULL: the directory's name, and "default"); the runtime
   * gives the application's name and destination namespace, as Argo CD
   * does. */
  const char *release, *namespace;
} compile_helm;

/* The annotation that names the fields of a resource the runtime keeps as
 * the cluster has them: JSON pointers (RFC 6901), separated by commas
 * ("/data/password,/data/tls.crt"). helm_chart()'s random: "keep-live"
 * writes it on a chart's resources where two renders differ (a generated
 * password); before it compares or applies such a resource, the runtime
 * puts there the live object's value, where the live object has one. */
#define COMPILE_KEEP_LIVE "plumb.dev/keep-live"

/* A chart of a chart repository or an OCI registry, as helm_chart()
 * names it and plumb.lock pins it (docs/language.md 8.5). */
typedef struct {
  const char *repo;    /* "https://charts.example.com", "oci://registry.example.com/charts/web" */
  const char *chart;   /* its name: the last segment of an oci:// reference */
  const char *version; /* as asked: "1.2.3", a range ("^1.2", ">=1.0 <2"), or "" for the newest */
  const char *pinned;  /* the version pinned ("1.2.4"); NULL: none yet */
  const char *digest;  /* the SHA-256 of its archive, "sha256:" and 64 hex digits; NULL: none yet */
  const char *lock;    /* the root-relative plumb.lock that pins it, or is to */
  const char *lock_file; /* that file on disk; NULL when the root is no directory (a git tree) */
} compile_chart;

/* Where remote charts come from: the compiler reaches no network, so
 * something fetched each archive before, or fetches it when asked. get
 * gives the archive of c at c->pinned (the compiler checks its SHA-256
 * against c->digest), its bytes in a; or, when c->pinned is NULL (only if
 * resolve), that of the newest version c->version allows, setting
 * c->pinned and c->digest (in a). 0, or -1 with *err (in a). */
typedef struct {
  int (*get)(void *ctx, arena *a, compile_chart *c, const char **data, size_t *len, const char **err);
  void *ctx;
  bool resolve; /* whether a chart plumb.lock does not pin may be pinned now (plumb fetch) */
  bool update;  /* pin every chart anew, whatever plumb.lock says (plumb fetch --update) */
} compile_charts;

/* The most a chart's archive, or its files, may hold: Helm's own bound. */
enum { COMPILE_MAX_CHART = 100 << 20 };
/* The file of the archive whose digest is given, in the cache `plumb
 * fetch` fills: charts/sha256-HEX.tgz, in a. */
const char *compile_chart_file(arena *a, const char *cache, const char *digest);
/* A compile_charts.get that reads the cache whose directory ctx is: an
 * archive it lacks is an error that says to run plumb fetch. */
int compile_charts_cached(void *cache, arena *a, compile_chart *c, const char **data, size_t *len, const char **err);
/* The text of a plumb.lock holding the entries of old (len bytes; NULL:
 * none) and the n pins (which replace those of the same repository, chart
 * and version), in a; NULL with *err when old is no plumb.lock. */
const char *compile_lock_text(arena *a, const char *old, size_t len, const compile_chart *pins, size_t n,
                              const char **err);

/* A key that opens files SOPS encrypted (docs/language.md, Secrets
 * encrypted with SOPS), as bytes: the text of an age identity file
 * (AGE-SECRET-KEY-1... lines, '#' comments) or an OpenPGP secret key,
 * armored or not. The CLI reads them from the files its flags and the
 * environment name; the runtime would read them from a Secret. `from`
 * names where it was read, for messages (never its bytes):
 * "--sops-age-key-file keys.txt", "SOPS_AGE_KEY". A key of a cloud KMS
 * would be asked of the caller through a callback, as compile_remote is
 * asked for trees; none is yet. */
typedef enum { COMPILE_SOPS_AGE, COMPILE_SOPS_PGP } compile_sops_kind;
typedef struct {
  compile_sops_kind kind;
  const char *from;
  const char *data;
  size_t len;
} compile_sops_key;

typedef struct {
  const char *path; /* a directory of .plumb files or one file */
  const char *root; /* repository root; NULL: nearest ancestor holding .git,
                       else the directory of path */
  const char *env;  /* which env to build when path declares several */
  /* "NAME=VALUE" texts, the values of the env's parameters, each read by
   * its parameter's type (docs/language.md 8): the one way an input from
   * outside the repository reaches a build */
  const char *const *args;
  size_t nargs;
  /* The Kubernetes version whose schemas resources are checked against
   * (docs/language.md 11), each as compile_kube_version gives it:
   * kube_version (--kube-version) wins over the env's kube_version
   * setting, which wins over kube_version_default (the runtime's: the
   * destination cluster's); none of them: the newest embedded. */
  const char *kube_version, *kube_version_default;
  const compile_remote *remote; /* NULL: a remote base is an error */
  /* path's reading when it is a directory of YAML manifests; any of them
   * set for another path is an error */
  compile_yaml_dir yaml_dir;
  compile_helm helm;
  const compile_charts *charts; /* NULL: a chart of a repository is an error */
  /* The keys that open files SOPS encrypted, tried in order (age ones
   * first, as sops tries them); none: such a file is an error that names
   * its recipients. OpenPGP keys are imported into a GnuPG home of the
   * compile's own, made under helm.tmp and removed at its end. */
  const compile_sops_key *sops_keys;
  size_t nsops_keys;
} compile_opts;

/* The Kubernetes versions whose schemas are compiled in, oldest first
 * ("v1.34.4", ...), n of them; static. */
const char *const *compile_kube_versions(size_t *n);
/* The embedded version that text ("1.35", "v1.35", "v1.35.2": any patch
 * release of a minor line) names, as listed; NULL when none is embedded
 * for its minor line, *malformed when text is no such version. */
const char *compile_kube_version(const char *text, bool *malformed);
/* The embedded version of text's minor line (*exact), else the oldest
 * embedded one newer than it, else the newest: what a cluster of version
 * text ("v1.30.2", its /version) is checked against. NULL when text is no
 * version. */
const char *compile_kube_version_nearest(const char *text, bool *exact);
/* The embedded minor lines, for a message: "1.34, 1.35 or 1.36", in a. */
const char *compile_kube_versions_text(arena *a);

typedef struct {
  value *obj;      /* the resource, in install order within the result */
  const char *app; /* the `app` that produced it; NULL if the env itself did */
  /* Its plumb.dev/validate annotation (left out of obj) said "false": no
   * schema checks it, the cluster's neither (compile_check_served). */
  bool unchecked;
  /* Its place in the order the sources list it (a kustomization's fifo
   * order, order.h); 0 in a Plumb env. */
  size_t seq;
} compile_resource;

typedef struct {
  arena *arena;
  diag_list diags; /* errors mean the result is not to be used */
  const char *env; /* the env built */
  compile_resource *res;
  size_t nres;
  value *value; /* compile_eval: the expression's value */
  /* The charts the build rendered, from which plumb explain tells the
   * values that fed a field (compiler/helmvalues.h); NULL when none, and
   * in what compile_keep keeps. */
  struct helm_seen *charts;
} compile_result;

/* Never NULL; release with compile_free. */
compile_result *compile_build(const compile_opts *o);
/* Compiles one file given as text, with nothing else readable but the
 * standard library (for fuzzing, and sources that are not on disk). */
compile_result *compile_source(const char *file, const char *text, size_t len, const char *env);

/* One file of a root held elsewhere (a git tree): its name is known up
 * front, its text is read only if the compile reads the file. */
typedef struct {
  const char *name; /* root-relative, "/"-separated, no "." or ".." */
  const void *data; /* the reader's own, to find the text by */
} compile_file;

typedef struct {
  /* Copies f's text into a, NUL-terminated, and returns 0; or returns -1
   * with *err (in a, or living as long as the compile) in the words a read
   * on disk would fail with (a symlink that leaves the root, a huge file). */
  int (*read)(void *ctx, const compile_file *f, arena *a, const char **text, size_t *len, const char **err);
  void *ctx;
} compile_reader;

/* The most a file may hold, read from disk or a git tree. */
enum { COMPILE_MAX_FILE = 16 << 20 };
/* The words for a file of size bytes, more than COMPILE_MAX_FILE, in a. */
const char *compile_file_too_big(arena *a, const char *name, uint64_t size);
/* Where path, as written in the root-relative file `from`, leads: a
 * root-relative name with "." and ".." folded as written, following no
 * symlink (in a). NULL when path is absolute or climbs above the root.
 * A reader of a git tree resolves its symlinks with it, as the compiler
 * resolves them on disk. */
const char *compile_path_resolve(arena *a, const char *from, const char *path);

/* Compiles o->path (root-relative: a directory or a file; "" is the root)
 * with o's env and args as compile_build compiles the same files on disk
 * (o->root is not read: the files are the root); nothing else is readable
 * but the standard library. The result holds the texts it read, and
 * nothing of files, reader, o or what they point to: those need only last
 * as long as the call. */
compile_result *compile_files(const compile_file *files, size_t n, const compile_reader *reader, const compile_opts *o);
/* What of r a caller keeps for long, in an arena of its own: the env, the
 * resources (their values without the history `plumb explain` reads: via
 * and prev are NULL), its warnings and the sources, in a fraction of the
 * memory; r is consumed. A result with errors (or a value) comes back as
 * it is, for its messages to quote their lines. */
compile_result *compile_keep(compile_result *r);
/* Evaluates one expression (for `plumb eval` and the language tests). file
 * names it in diagnostics and, relative to root, is where file() starts. */
compile_result *compile_eval(const char *root, const char *file, const char *text, size_t len);
void compile_free(compile_result *r);

/* The OpenAPI v3 documents a cluster serves, one per group-version, as
 * /openapi/v3/apis/GROUP/VERSION (or api/v1) gives them. */
typedef struct {
  /* The document of api ("example.com/v1", "v1"): 0 with its text (in a,
   * or lasting as long as ctx); -1 when the cluster serves no such
   * group-version; -2 with *err (in a) when it cannot be read. */
  int (*read)(void *ctx, const char *api, arena *a, const char **text, size_t *len, const char **err);
  void *ctx;
} compile_served;

/* Checks r's resources against the schemas the cluster serves, as the
 * build checks the others (docs/cli.md, --validate): those of a kind no
 * embedded version has and no CRD of the build defines (a custom resource
 * whose CRD is installed otherwise), and that the annotation does not
 * leave unchecked. Documents are read once, for the group-versions of
 * such resources only; one larger than COMPILE_MAX_FILE is refused.
 * Errors go to d (whose arena holds what the check reads; give d r's
 * sources to quote their lines). False when there is any. */
bool compile_check_served(const compile_result *r, diag_list *d, const compile_served *s);

/* ---- a result across a process boundary (compiler/wire.c) ----
 *
 * The runtime compiles in a child process and reads the result back: what
 * compile_keep keeps (the env, the resources with their apps and every
 * value with its position) and the diagnostics with the sources they
 * quote, so that both read as in the compiling process. Strings and values
 * the result shares are written once and shared again when read. */

enum { COMPILE_WIRE_MAX_DEPTH = 10000 }; /* values nested deeper are refused */

/* r's bytes, appended to out. A function (of compile_eval's value) is
 * written as a kind only, which compile_result_decode refuses. */
void compile_result_encode(const compile_result *r, buf *out);
/* Writes r's bytes to fd, all of them: 0, or -1 with errno. */
int compile_result_write(int fd, const compile_result *r);
/* The result len bytes of another process stand for, or NULL with *why
 * (static words) when they are not one: truncated, garbled, nested too
 * deeply, a resource that is no object. The bytes are not trusted: what
 * is read is bounded by len, and every count and reference checked. */
compile_result *compile_result_decode(const void *data, size_t len, const char **why);

#endif
