/* kube.h: a Kubernetes API client on libcurl and jansson.
 *
 * In the style of libgit2: functions return 0 on success and a negative
 * KUBE_E* code on failure, results come back through out-parameters, and the
 * words for the last failure are kube_last_error(client) (or *err for the
 * functions that run before a client exists). Objects are jansson json_t;
 * every json_t a function hands out is the caller's to json_decref. */
#ifndef PLUMB_KUBE_H
#define PLUMB_KUBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum {
  KUBE_OK = 0,
  KUBE_ERROR = -1,     /* anything else: transport, TLS, parse, server */
  KUBE_ENOTFOUND = -2, /* 404, or a kind the server does not serve */
  KUBE_ECONFLICT = -3, /* 409: apply conflict or failed precondition */
  KUBE_EGONE = -4,     /* 410: watch resourceVersion too old */
  KUBE_EAUTH = -5,     /* 401: the credentials were refused */
  KUBE_EFORBIDDEN = -6, /* 403: RBAC said no */
  KUBE_EUNREACHABLE = -7, /* no answer: connection, TLS or timeout */
  KUBE_ECANCELED = -8,    /* not sent: a batch stopped before it (kube_request_many) */
};

/* ---- configuration (runtime/kube/config.c) ------------------------------ */

typedef struct kube_exec {
  char *command;
  char **args;  /* NULL-terminated */
  char **env;   /* NULL-terminated "NAME=value" */
  char *api_version; /* client.authentication.k8s.io/v1 or v1beta1 */
} kube_exec;

typedef struct kube_config {
  char *context, *cluster, *user; /* names from the kubeconfig, or "in-cluster" */
  char *server;                   /* https://host:port, no trailing slash */
  char *namespace;                /* the context's namespace, or NULL */
  /* TLS: a CA as a file or as PEM bytes (the -data forms, decoded). */
  char *ca_file, *ca_pem;
  bool insecure;
  char *tls_server_name;
  /* Credentials, at most one kind in use. */
  char *token, *token_file;
  char *cert_file, *cert_pem, *key_file, *key_pem;
  char *username, *password;
  kube_exec *exec;
  /* Cached exec credential and when it expires (0: no expiry known). */
  char *exec_token;
  long long exec_expiry; /* unix seconds */
  char *exec_cert_pem, *exec_key_pem;
} kube_config;

/* Loads kubeconfig as kubectl does: `path` if given, else every file of
 * $KUBECONFIG (merged, first one wins per map key), else ~/.kube/config;
 * then the named context or current-context. KUBE_ENOTFOUND when there is
 * no kubeconfig at all, or it lacks the context named. */
int kube_config_load(kube_config **out, const char *path, const char *context, char **err);
/* The same from a kubeconfig given as data (a Secret's), called `name` in
 * errors. It must be self-contained: a field naming a file (tokenFile,
 * certificate-authority, client-certificate, client-key), an exec plugin
 * or an auth-provider is refused, as whoever writes the data would read
 * the runtime's files or run commands as it. */
int kube_config_parse(kube_config **out, const char *name, const char *text, size_t len, const char *context,
                      char **err);
/* The service-account files under /var/run/secrets/kubernetes.io/
 * serviceaccount and KUBERNETES_SERVICE_HOST/PORT; `dir` overrides the
 * directory (tests). The token file is re-read when it changes. */
int kube_config_in_cluster(kube_config **out, const char *dir, char **err);
void kube_config_free(kube_config *c);

/* The bearer token to send now, or NULL when the config uses none: reads
 * token_file (rotated tokens), runs the exec plugin when its credential is
 * missing or expired. *token stays owned by c. */
int kube_config_bearer(kube_config *c, const char **token, char **err);

/* Credential files and Secret data, for the kubeconfig and other runtime
 * modules alike. The whole file, NUL-terminated (*len bytes); NULL with
 * errno set (EFBIG past max). A partly read buffer is zeroed before it is
 * freed: it may hold a secret. */
char *kube_read_file(const char *path, size_t max, size_t *len);
/* Standard base64, as Go decodes Secret data and the kubeconfig's -data
 * fields; white space (line-wrapped data) is skipped. NUL-terminated, *len
 * bytes (len may be NULL); NULL when s is not base64. Caller frees. */
char *kube_base64_decode(const char *s, size_t *len);
/* Standard base64 of the len bytes at data, padded, as a Secret's data
 * holds them. Caller frees. */
char *kube_base64_encode(const void *data, size_t len);

/* ---- reading objects (runtime/kube/fields.c) ---------------------------- */

/* obj[key] when it is a string, else NULL (obj may be NULL or no object).
 * Borrowed from obj. */
const char *kube_str(const json_t *obj, const char *key);
/* kube_str of obj's metadata: its name, namespace, resourceVersion... */
const char *kube_meta_str(const json_t *obj, const char *key);
/* Whether kube_str(obj, key) is want: a missing string is nothing, not
 * even a NULL want. */
bool kube_str_is(const json_t *obj, const char *key, const char *want);

/* ---- the client (runtime/kube/client.c) -------------------------------- */

typedef struct kube_client kube_client;

typedef struct {
  int max_retries;   /* for safe requests on 429, 5xx, dropped connections; 0: 5, <0: none */
  double qps, burst; /* client-side rate limit; 0: none */
  long timeout_ms;   /* per request; 0: 30 s */
  int parallel;      /* requests in flight at once in the _many calls; 0: 64 */
  /* Its requests are made inside the fork gate (forkgate.h) by a thread
   * other than the one that forks: they step out of it while they wait
   * on the network, and back in before they go on, so that a fork never
   * waits behind a slow server. */
  bool gated;
} kube_client_opts;

/* The client borrows cfg, which must outlive it. A client belongs to one
 * thread; clients in several threads may share cfg (its credentials are
 * read and renewed under a lock). */
int kube_client_new(kube_client **out, kube_config *cfg, const kube_client_opts *opts, char **err);
void kube_client_free(kube_client *c);
const char *kube_last_error(const kube_client *c);
/* HTTP requests sent so far (benchmarks count them). With PLUMB_STATS=1 in
 * the environment, kube_client_free prints "requests: N" to stderr. */
long kube_request_count(const kube_client *c);
/* The namespace for objects that name none: the one set below, else the
 * context's, else "default". */
const char *kube_default_namespace(const kube_client *c);
/* Sets it (a copy; NULL or "": back to the context's), as the runtime does
 * for each application's destination namespace. */
void kube_client_set_namespace(kube_client *c, const char *ns);

/* One request; the body of the answer is parsed when it is JSON. Retries
 * safe requests (GET, apply PATCH, DELETE with preconditions) with backoff
 * and jitter, honouring Retry-After; never repeats a create, nor a request
 * marked `once` (kube_delete marks a DELETE without preconditions). */
int kube_request(kube_client *c, const char *method, const char *path, const char *content_type,
                 const char *body, size_t len, json_t **out);

/* The server's Kubernetes version, /version's gitVersion ("v1.36.3"), as
 * *version (caller frees). */
int kube_server_version(kube_client *c, char **version);

/* The OpenAPI v3 document the server serves for group-version api
 * ("apps/v1", "v1"), as JSON text, borrowed: kept by the client until the
 * server serves another. KUBE_ENOTFOUND when it serves none. */
int kube_openapi_doc(kube_client *c, const char *api, const char **text, size_t *len);

/* Many requests at once: HTTP/2 streams over one connection, at most
 * opts.parallel in flight, started in index order, each retried as
 * kube_request would (a request waiting out its backoff keeps its place).
 * done(i, ctx), if given, runs as request i ends, in any order; a nonzero
 * return starts no more requests (those in flight still end; the others get
 * KUBE_ECANCELED). Returns how many did not succeed. */
typedef struct {
  const char *method, *path, *content_type, *accept; /* accept NULL: JSON */
  const char *body;
  size_t len;
  bool once;   /* never repeat it, though the method is idempotent */
  int rc;      /* out: KUBE_OK or a KUBE_E* code */
  json_t *out; /* out: the parsed answer on success (caller decrefs) */
  char *error; /* out: the words for a failure, NULL on success (caller frees) */
} kube_req;

typedef int (*kube_done_fn)(size_t i, void *ctx);

size_t kube_request_many(kube_client *c, kube_req *reqs, size_t n, kube_done_fn done, void *ctx);

/* ---- discovery ----------------------------------------------------------- */

typedef struct {
  char *group_version; /* "apps/v1" or "v1" */
  char *kind;
  char *resource;      /* "deployments" */
  bool namespaced;
  bool listable;  /* its verbs hold list and delete */
  bool preferred; /* of its group's preferred version */
} kube_resource;

/* Finds the resource for apiVersion + kind; refreshes discovery once when the
 * kind is unknown (a CRD created moments ago). *out stays owned by c. */
int kube_resource_find(kube_client *c, const char *api_version, const char *kind, const kube_resource **out);
/* Forgets what discovery found. */
void kube_discovery_reset(kube_client *c);
/* Every resource the server serves, in no order, through each (true goes
 * on); KUBE_ERROR from a server without aggregated discovery (before
 * Kubernetes 1.26), which names its kinds only per group-version. */
int kube_resource_each(kube_client *c, bool (*each)(const kube_resource *r, void *ctx), void *ctx);

/* ---- verbs --------------------------------------------------------------- */

int kube_get(kube_client *c, const char *api_version, const char *kind, const char *ns, const char *name,
             json_t **out);

typedef struct {
  const char *label_selector, *field_selector;
  int page_size; /* limit per request; 0: 500 */
} kube_list_opts;

/* All pages; *items is a JSON array (NULL on failure); *resource_version
 * is the list's (for a watch to start from), owned by the caller (free). */
int kube_list(kube_client *c, const char *api_version, const char *kind, const char *ns,
              const kube_list_opts *o, json_t **items, char **resource_version);

/* The same list one page at a time: each(item, ctx) sees every item, with
 * its apiVersion and kind set, while only its page is held (the item is
 * the callback's to change, not to keep). A nonzero return stops the list
 * (KUBE_OK, no *resource_version). *resource_version as kube_list's. */
typedef int (*kube_item_fn)(json_t *item, void *ctx);
int kube_list_each(kube_client *c, const char *api_version, const char *kind, const char *ns,
                   const kube_list_opts *o, kube_item_fn each, void *ctx, char **resource_version);
/* The same for the objects of a collection's path (no discovery: the
 * resource's own path), their apiVersion and kind as the server gives
 * them (none, in a list). More than most of them is an error, which may
 * come after each has seen some. */
int kube_list_path(kube_client *c, const char *path, size_t most, kube_item_fn each, void *ctx);

/* Several lists at once; each is paginated as kube_list does. Returns how
 * many failed. */
typedef struct {
  const char *api_version, *kind, *ns; /* ns NULL: every namespace */
  kube_list_opts opts;
  json_t *items;          /* out: a JSON array, also on failure (caller decrefs) */
  char *resource_version; /* out (caller frees) */
  int rc;                 /* out */
  char *error;            /* out: NULL on success (caller frees) */
} kube_list_req;

size_t kube_list_many(kube_client *c, kube_list_req *lists, size_t n);

typedef struct {
  const char *field_manager; /* NULL: "plumb" */
  bool force;
  bool dry_run;
} kube_apply_opts;

/* Server-side apply of obj (apiVersion, kind, metadata.name set). */
int kube_apply(kube_client *c, json_t *obj, const kube_apply_opts *o, json_t **out);

/* Many applies at once, as kube_request_many sends them (done and the
 * return value as there; done also runs for an object that could not be
 * sent, say of a kind the server does not serve). */
typedef struct {
  json_t *obj; /* the object to apply (borrowed) */
  int rc;      /* out */
  json_t *out; /* out: the object after the apply (caller decrefs) */
  char *error; /* out: NULL on success (caller frees) */
} kube_apply_item;

size_t kube_apply_many(kube_client *c, kube_apply_item *items, size_t n, const kube_apply_opts *o, kube_done_fn done,
                       void *ctx);

/* True when a server-side apply of obj by field_manager (NULL: "plumb") is
 * certain to leave live exactly as it is, read from live's managedFields:
 * the manager owns exactly the fields obj sets, and live holds obj's values
 * there. False means it may change something (a value the server would
 * normalise, a field given up, an object never applied): ask the server. */
bool kube_apply_unchanged(const json_t *obj, const json_t *live, const char *field_manager);
/* The fields (FieldsV1) manager's server-side apply in api_version owns in
 * obj; NULL when it has none or not as one plain entry. Borrowed from obj. */
const json_t *kube_owned_fields(const json_t *obj, const char *manager, const char *api_version);
/* Reduces live, in place, to what kube_apply_unchanged reads of it for
 * field_manager (NULL: for every manager whose server-side apply owns
 * fields, as applications may each apply as another), so that it answers
 * the same about the rest: apiVersion, kind, metadata's name, namespace,
 * resourceVersion and deletionTimestamp, those managers' own managedFields
 * entries, and the fields they own there (status, defaults and the fields
 * of updates by controllers go). What a cache of live objects needs to
 * keep. */
void kube_keep_owned(json_t *live, const char *field_manager);

typedef struct {
  const char *propagation; /* "Background", "Foreground", "Orphan" or NULL */
  const char *uid;         /* precondition, or NULL */
  const char *resource_version;
} kube_delete_opts;

int kube_delete(kube_client *c, const char *api_version, const char *kind, const char *ns, const char *name,
                const kube_delete_opts *o);

/* A watch event: type is ADDED, MODIFIED, DELETED or BOOKMARK, or, around
 * every list (the first, and each relist), LISTING (an empty object) before
 * it and SYNCED after it, {"metadata": {"resourceVersion"}}. The listed
 * objects come between them as ADDED, a page at a time (kube_list_each): the
 * whole of what is there now, so an object not ADDED since LISTING was
 * deleted while unseen. The object is the callback's to change, not to keep
 * (json_incref it). Return nonzero from the callback to stop watching. */
typedef int (*kube_watch_fn)(const char *type, json_t *object, void *ctx);

typedef struct {
  const char *label_selector;   /* only objects it selects; NULL: all */
  const char *resource_version; /* where to start; NULL: list first */
  int timeout_s;                /* how long to watch in all */
} kube_watch_opts;

/* Watches from o->resource_version, with bookmarks, until the callback stops
 * it or the time is up; on 410 Gone it relists and calls back with the
 * relisted objects as ADDED, then SYNCED. KUBE_ECANCELED once interrupted;
 * any other failure ends it with its code (a watch set retries instead). */
int kube_watch(kube_client *c, const char *api_version, const char *kind, const char *ns, const kube_watch_opts *o,
               kube_watch_fn fn, void *ctx);

/* ---- streams -------------------------------------------------------------- */

/* A piece of a streamed answer; len 0 (data NULL): nothing came for about
 * a second. Return nonzero to end the stream. */
typedef int (*kube_stream_fn)(const char *data, size_t len, void *ctx);

/* GETs path (with its query) and hands the answer to fn as it comes, as a
 * Pod's log with follow=true comes, until the server ends it, timeout_s
 * pass or fn ends it: KUBE_OK for any of those. A failed answer is an error
 * as kube_request's are, fn never hearing of it. Not retried. */
int kube_stream(kube_client *c, const char *path, int timeout_s, kube_stream_fn fn, void *ctx);

/* ---- many watches, one thread, one connection ---------------------------- */

/* A set of watches that one thread keeps running: their streams are HTTP/2
 * streams of one connection, their lists go a page at a time. Each watch
 * lists, then watches from the list's version, as kube_watch does; a watch
 * that fails (refused, unreachable, a kind not served) is told so through
 * failed, backs off (200 ms doubling to 5 s, with jitter) and lists again,
 * while the others go on. */
typedef struct kube_watch_set kube_watch_set;

/* Why a watch failed, in the words of kube_last_error. */
typedef void (*kube_fail_fn)(int rc, const char *why, void *ctx);

typedef struct {
  const char *api_version, *kind, *ns; /* ns NULL: every namespace */
  const char *label_selector;          /* NULL: every object */
  kube_watch_fn fn;                    /* its events, as kube_watch's */
  kube_fail_fn failed;                 /* may be NULL */
  void *ctx;                           /* for both */
} kube_watch_spec;

/* A set on c, which it borrows: from kube_watch_set_run on, c belongs to
 * the thread that runs the set. */
kube_watch_set *kube_watch_set_new(kube_client *c);
/* Adds a watch (the strings are copied); from any thread, running or not.
 * It starts at once. */
void kube_watch_set_add(kube_watch_set *s, const kube_watch_spec *w);
/* Has every watch list again, from any thread: what was dropped from a
 * view kept by the events comes back. */
void kube_watch_set_relist(kube_watch_set *s);
/* Runs every watch until kube_watch_set_stop: KUBE_ECANCELED. */
int kube_watch_set_run(kube_watch_set *s);
/* From any thread: the run ends within about a second, and c is then good
 * only for kube_client_free. */
void kube_watch_set_stop(kube_watch_set *s);
/* Once it no longer runs. */
void kube_watch_set_free(kube_watch_set *s);

/* Ends c's requests and watches in progress soon (within about a second)
 * with KUBE_ECANCELED, and any later ones at once: how another thread stops
 * one that owns c. The one function that may be called on c from another
 * thread; c is then good only for kube_client_free. */
void kube_client_interrupt(kube_client *c);

#endif
