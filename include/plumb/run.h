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
  const char *token;          /* the API's bearer token; NULL refuses the API */
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
} run_opts;

/* The HTTP server of plumb run (serve.h) on o's ports and token,
 * answering from store (status.h), counting into m (may be NULL): what
 * run_main starts, and bench/api.c measures. */
int run_api_serve(status_store *store, metrics *m, const run_opts *o, serve **out, char **err);

/* Runs until SIGTERM or SIGINT, serving the HTTP port, or one pass with
 * once. Returns 0 when (for once) every application is Synced, 1
 * otherwise; 2 when the port cannot be served. */
int run_main(kube_client *c, const run_opts *o);

#endif
