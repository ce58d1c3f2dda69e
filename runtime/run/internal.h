/* internal.h: what the files of `plumb run` share.
 *
 *   loop.c    the loop: the config repository, requests, when each
 *             application's turn comes
 *   app.c     one application: a pass (fetch, compile, check, compare,
 *             apply, record), a rollback and its pause of automated sync
 *   report.c  what passes show: health, the status documents, metrics, the
 *             table of --once
 *   view.c    the live cache: what changed, whether prune may trust it,
 *             and comparisons that need no request
 *   api.c     the HTTP server's callbacks, on the status store */
#ifndef PLUMB_RUN_INTERNAL_H
#define PLUMB_RUN_INTERNAL_H

#include <time.h>

#include "plumb/app.h"
#include "plumb/cache.h"
#include "plumb/health.h"
#include "plumb/history.h"
#include "plumb/lease.h"
#include "plumb/metrics.h"
#include "plumb/run.h"
#include "plumb/serve.h"
#include "plumb/source.h"
#include "plumb/status.h"
#include "plumb/sync.h"

typedef struct {
  char *name;
  history hist;     /* hist.applied: the commit last applied in full */
  char commit[41];  /* the commit of the last pass */
  sync_status status;
  health_code health;
  char *error;       /* fetch, compile, project or apply failure */
  char *diff;        /* the last comparison's; NULL before one */
  char *resources;   /* JSON text: the last pass's objects, their sync and health */
  time_t passed_at;  /* wall clock of the last pass; 0 before one */
  double due;        /* monotonic seconds of the next pass */
  int failures;      /* passes in a row that ended in an error */
  uint64_t seen;     /* the cache's version of its objects last looked at */
  /* What a pass may be skipped on: the version of its objects when the
   * last full pass began, and a digest of the objects it built. */
  uint64_t passed_version;
  unsigned char built[32];
  char path_tree[41]; /* the id of its path in the last pass's tree */
  source_builds *builds;
} app_state;

/* A repository and its last fetch: one per URL and round, however many
 * applications it holds. */
typedef struct {
  char *url;
  source_repo *repo;
  unsigned long fetched; /* the round of the last fetch */
  int rc;
  char *error; /* the failure of the last fetch */
} repo_entry;

typedef struct {
  metrics_family *syncs, *reconcile, *apply, *drift, *fetch_failures, *apps, *leader;
} run_metrics;

typedef struct {
  kube_client *c;
  const run_opts *o;
  char *home;          /* the runtime's namespace: histories live there */
  arena *defs_arena;   /* the app set's strings; replaced with the set */
  app_set defs;
  app_state *apps;     /* apps[i] follows defs.apps[i] */
  size_t napps;
  repo_entry *repos;
  size_t nrepos;
  unsigned long round; /* of the loop: a repository is fetched once in each */
  char config_tree[41]; /* the config's tree the definitions come from */
  source_builds *config_builds;
  status_store *store;
  metrics *metrics;
  run_metrics fam;
  /* Unless --once: the live view, and the Lease that makes this runtime
   * the one that writes. */
  cache *cache;
  lease *lease;
} runner;

double run_now(void); /* monotonic seconds */
void run_set_error(app_state *st, const char *msg);

/* loop.c: fetches url, unless done this round, and resolves rev; the
 * words for a failure in *err (caller frees). app gives the credentials;
 * NULL for none. */
int run_fetch(runner *r, const app_def *app, const char *url, const char *rev, source_repo **s, source_rev *out,
              char **err);
/* Errors as the user sees them: file:line:col, the line, a caret. */
char *run_diagnostics(const diag_list *d);

/* app.c: one pass of app; asked (POST sync) applies whatever the policy
 * and ends a rollback's pause. */
void run_app_pass(runner *r, const app_def *app, app_state *st, bool asked);
/* Applies app at commit (history entry id) and pauses automated sync. */
void run_app_rollback(runner *r, const app_def *app, app_state *st, const char *commit, long long id);

/* loop.c: true when this runtime may write to the cluster now (it leads,
 * or runs --once). */
bool run_may_write(runner *r);

/* view.c: without a cache (--once) every answer sends the caller to the
 * server: nothing watched, no change seen, the view complete (prune lists
 * for itself), nothing proved unchanged. */
/* Watches objs' kinds and those prune looks for, in every namespace. */
void run_view_watch(runner *r, const compile_result *objs);
/* Makes due at once each application whose objects changed since it last
 * looked. */
void run_view_note_changes(runner *r);
/* True when the cache has listed every kind prune would look at for objs;
 * it waits up to timeout_s for that. Otherwise *why says what is missing
 * (caller frees). */
bool run_view_complete(runner *r, const compile_result *objs, double timeout_s, char **why);
/* True when the cache proves the cluster holds app's objects as objs would
 * apply them, and none other of app's: Synced without a request. */
bool run_view_unchanged(runner *r, const app_def *app, const compile_result *objs);

/* report.c */
void run_metrics_declare(runner *r);
/* Shows app's counters at 0 before anything happens to it, as Prometheus
 * wants of counters it will compute rates of. */
void run_metrics_start_app(runner *r, const char *app);
/* After a pass: st's resources with their sync and health from the live
 * objects of objs, and the application's health. */
void run_assess(runner *r, const app_def *app, app_state *st, const compile_result *objs);
/* Publishes every application's status document, and the plumb_apps gauge. */
void run_publish(runner *r);
/* The table `plumb run --once` ends with. */
void run_print_table(runner *r, FILE *out);

/* api.c: serves o's port with answers from r->store; *err when it cannot. */
int run_api_start(runner *r, serve **out, char **err);

#endif
