/* run.h: `plumb run`, the operator that keeps clusters equal to git.
 *
 * A config repository declares applications and projects (app.h). Each
 * round fetches it and every application's repository once, compiles what
 * changed (an unchanged tree costs nothing, a build its application last
 * synced and nobody changed since costs no request), and syncs (sync.h): an
 * automated application is applied when its commit changes, and again on
 * drift when it heals itself; the others are compared and reported. A
 * fetch or compile that fails leaves the cluster as it is. */
#ifndef PLUMB_RUN_H
#define PLUMB_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include "plumb/auth.h"
#include "plumb/kube.h"
#include "plumb/metrics.h"
#include "plumb/serve.h"
#include "plumb/source.h"
#include "plumb/status.h"

typedef struct {
  const char *repo;      /* the config repository: a URL or a local path */
  const char *path;      /* inside it, the env of definitions; "." if NULL */
  const char *revision;  /* of it; "HEAD" if NULL */
  const char *cache_dir; /* fetched repositories */
  bool once;             /* one pass, then report and return */
  FILE *out;             /* the report of --once, and the log */
  /* Unless once: the HTTP port (serve.h). address NULL: every address. */
  const char *address;
  unsigned port;
  /* The probe port (serve.h), when probes: probe_address NULL: every address. */
  bool probes;
  const char *probe_address;
  unsigned probe_port;
  const char *token;          /* an API token of admin's (auth.h); may be NULL */
  const char *auth_file;      /* accounts and grants (docs/runtime.md); NULL: admin alone */
  const char *webhook_secret; /* NULL refuses every webhook delivery */
  /* The runtime's own cluster, whose client run_main is given. Unless
   * once, the live cache's watches make clients of their own from cfg, and
   * replicas elect a leader through a Lease of this duration in seconds
   * (0: 15). */
  kube_config *cfg;
  int lease_duration_s;
  /* Where applications' clusters named by a context are looked up: a
   * kubeconfig file, or NULL for $KUBECONFIG or ~/.kube/config. */
  const char *kubeconfig;
  source_limits limits; /* of each compile, which runs in a child process */
  /* Where Application and Project objects are read from, and the config's
   * applications mirrored to; NULL: the runtime's namespace. */
  const char *app_namespace;
  /* Where people reach the web UI (https://plumb.example.com): the
   * notifications link to an application's page there; NULL: no link. */
  const char *public_url;
  /* Unless 0: the applications are split among replicas in this many
   * shards (shard.h), by their cluster's name when shard_by_cluster, else
   * by their own; 0: one leader writes for all. */
  int shards;
  bool shard_by_cluster;
  /* Sharded: where the other replicas reach this one's API, to forward
   * what is asked of its applications; NULL: they answer 409. */
  const char *advertise_url;
} run_opts;

/* What the HTTP server of plumb run answers from, all borrowed for the
 * server's life: the status the loop publishes (status.h), the people who
 * may ask (auth.h; NULL: o->token's alone), the metrics to count into
 * (may be NULL), and o: its ports and token, and o->cfg, the runtime's own
 * cluster, where the objects of an application's tree are read (NULL: the
 * tree is what the application applies). */
typedef struct {
  status_store *store;
  auth *auth;
  metrics *metrics;
  const run_opts *o;
  const char *objects_ns; /* where Application objects are made (the form's); NULL: "default" */
  const char *home;       /* the runtime's namespace, where histories are; NULL: none read */
  struct shard_set *shards; /* sharded: where the replicas are, to pass requests on (forward.c); NULL: not */
} run_api;

/* The HTTP server of plumb run (serve.h), on api->o's ports: what run_main
 * starts, bench/api.c measures and tests/ui/fleet.c shows in a browser. */
int run_api_serve(const run_api *api, serve **out, char **err);

/* Runs until SIGTERM or SIGINT, serving the HTTP port, or one pass with
 * once. Returns 0 when (for once) every application is Synced, 1
 * otherwise; 2 when the port cannot be served. */
int run_main(kube_client *c, const run_opts *o);

/* ---- Application objects, for the API's forms ----------------------------
 *
 * Create, replace or delete the Application object name in namespace ns of
 * cfg's cluster (docs/runtime.md, "Applications as cluster objects"). spec
 * is the JSON text of the object's spec: the fields std/gitops's
 * application writes, by the same names (project; source: repo, revision,
 * path, env, credentials, args; destination: cluster, namespace; sync:
 * automated, prune, selfHeal, allowEmpty, interval). It is read first as
 * the runtime reads an object, with the same checks; the API server then
 * checks it against the CRD's schema (unknown fields refused). Whether its
 * project exists is told by the object's status, as the runtime reads it.
 * Each call makes its own client from cfg (kube_client_new shares cfg
 * between threads), so any thread may call them; one wrapped in
 * forkgate_enter/leave as the server's handlers are. Return 0; RUN_EINVALID
 * when spec does not read, with the reason naming the field in *err;
 * KUBE_ECONFLICT for a create whose name is taken, or an update or delete
 * of an object the runtime mirrors (its application is declared in git:
 * change it there); KUBE_ENOTFOUND for an update or delete of no object;
 * else another KUBE_E* code with the server's words in *err. *err is the
 * caller's to free, NULL on success. */
enum { RUN_EINVALID = -20 };

int run_object_create(kube_config *cfg, const char *ns, const char *name, const char *spec, char **err);
/* Replaces the object's spec with spec; its metadata stays. */
int run_object_update(kube_config *cfg, const char *ns, const char *name, const char *spec, char **err);
/* Deletes the object: the runtime stops managing the application, whose
 * objects stay in their cluster. */
int run_object_delete(kube_config *cfg, const char *ns, const char *name, char **err);

#endif
