/* internal.h: what the files of `plumb run` share.
 *
 *   loop.c    the loop: the config repository, requests, when each
 *             application's turn comes
 *   set.c     the set of applications: the config's and those their
 *             builds declare (app of apps), regrouped between passes
 *   app.c     one application: a pass (fetch, compile, check, compare,
 *             apply, record), a rollback and its pause of automated sync
 *   report.c  what passes show: health, the status documents, metrics, the
 *             table of --once
 *   dest.c    the clusters applications go to: a client and a live cache
 *             for each, by the name applications give it
 *   view.c    a destination's live cache: what changed, whether prune may
 *             trust it, and comparisons that need no request
 *   objects.c Applications and Projects as objects of the runtime's own
 *             cluster: read beside the config's, and every application's
 *             status written on one
 *   api.c     the HTTP server's callbacks, on the status store
 *   notice.c  what happens to an application, told to the cluster as
 *             events on its Application object */
#ifndef PLUMB_RUN_INTERNAL_H
#define PLUMB_RUN_INTERNAL_H

#include <time.h>

#include "plumb/app.h"
#include "plumb/cache.h"
#include "plumb/events.h"
#include "plumb/health.h"
#include "plumb/history.h"
#include "plumb/notify.h"
#include "plumb/lease.h"
#include "plumb/shard.h"
#include "plumb/metrics.h"
#include "plumb/run.h"
#include "plumb/serve.h"
#include "plumb/source.h"
#include "plumb/status.h"
#include "plumb/sync.h"

/* The applications one build declares, in their own arena (a NULL: none
 * read). */
typedef struct {
  arena *a;
  app_set set;
} run_children;

typedef struct {
  char *name;
  history hist;     /* hist.applied: the commit last applied in full */
  char commit[41];  /* the commit of the last pass */
  char subject[161], author[81]; /* of that commit (source_rev) */
  sync_status status;
  health_code health;
  bool assessed;     /* health has been read once: a change is news */
  char *error;       /* fetch, compile, project or apply failure */
  char *warnings;    /* what the last build that compiled warned of (a chart's hooks left out); NULL: nothing */
  char *waiting;     /* why its automated sync waits for others (run_app_waiting); NULL: it does not */
  char *window;      /* why its project's sync windows stop its syncs now; NULL: they do not */
  char *diff;        /* the last comparison's; NULL before one */
  /* JSON texts as JSON strings, which the published document shares
   * (run_publish): the last pass's objects, their sync and health; what it
   * applies of them, a Secret's values masked. */
  json_t *resources, *manifests;
  time_t passed_at;  /* wall clock of the last pass; 0 before one */
  double due;        /* monotonic seconds of the next pass */
  /* Monotonic seconds when on-out-of-sync falls due, which the next pass
   * must not come later than; 0: none waits (notify.c). */
  double notify_due;
  int failures;      /* passes in a row that ended in an error */
  int sync_failures; /* automated syncs of commit in a row that failed */
  char exhausted[41]; /* the commit whose automated syncs used up the retry limit; "": none */
  uint64_t seen;     /* the cache's version of its objects last looked at */
  /* Due for a change of its objects alone: the pass compares with the
   * commit it has, as Argo CD's self-heal does, without a fetch. */
  bool stay_local;
  /* What a pass may be skipped on: the version of its objects when the
   * last full pass began, and a digest of the objects it built. */
  uint64_t passed_version;
  unsigned char built[32];
  char path_tree[41]; /* the id of its path in the last pass's tree */
  source_builds *builds;
  /* App of apps: what its builds declare. A pass leaves what it read in
   * pending; the loop regroups the set between passes and makes it the
   * children. */
  run_children children, pending;
  char *refused; /* its children the last regrouping refused, and why */
  /* JSON text: the PreDelete and PostDelete hooks of its last build that
   * compiled, as apply_delete_hooks makes them; NULL before one. */
  char *delete_hooks;
  /* This runtime syncs it: it leads, or holds its shard (shard.h). Its
   * history is read when it becomes so (run_app_take). */
  bool owned;
  unsigned term; /* sharded: its shard's shard_term when owned was last set */
  /* What its document shows may have changed since the last publish: a
   * pass, a rollback, a suspension, its shard taken or given up, another
   * replica's status on its object (run_publish). */
  bool dirty;
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
  metrics_family *syncs, *reconcile, *apply, *drift, *fetches, *fetch_failures, *apps, *leader, *events_dropped;
  metrics_family *notifications, *notifications_lost, *cached;
} run_metrics;

/* A cluster applications are applied to. */
typedef struct {
  char *name;           /* as applications name it; "in-cluster" for the runtime's own */
  kube_config *cfg;
  kube_client *c;       /* its default namespace is the application's during a pass */
  cache *cache;         /* unless --once: the live view of its objects */
  char *secret_version; /* the resourceVersion of the Secret it came from; NULL from a kubeconfig */
  bool own;             /* the runtime's cluster: cfg, c and cache are the runner's */
  /* The embedded schemas its applications are checked against, nearest
   * its /version (NULL: the newest); read once, when version_read. */
  const char *kube_version;
  bool version_read;
} run_dest;

typedef struct {
  kube_client *c; /* the runtime's own cluster: histories, Secrets */
  const run_opts *o;
  char *home;          /* the runtime's namespace: histories live there */
  auth *auth;          /* who may use the API and UI (accounts.c) */
  run_api api;         /* what the server answers from */
  arena *config_arena; /* the config's definitions; replaced with them */
  app_set config;
  app_set defs;        /* the config's applications and their children (defs.apps malloc'd); its projects */
  app_state *apps;     /* apps[i] follows defs.apps[i] */
  size_t napps;
  json_t *index;       /* name: i, of defs.apps (run_set_index) */
  /* What every document shows changed (the set was made again, the
   * shards' holders moved, a deletion went on): all go out at the next
   * publish, and those gone go. An application's own changes mark it
   * dirty instead. */
  bool republish;
  repo_entry *repos;
  size_t nrepos;
  unsigned long round; /* of the loop: a repository is fetched once in each */
  char config_tree[41]; /* the config's tree the definitions come from */
  source_limits limits; /* o->limits */
  source_builds *config_builds;
  status_store *store;
  metrics *metrics;
  run_metrics fam;
  /* Unless --once: the live view, and the Lease that makes this runtime
   * the one that writes, renewed by a thread of its own with lease_c. */
  cache *cache;
  lease *lease;
  kube_client *lease_c;
  shard_set *shards; /* instead of lease, with o->shards: this replica's shards */
  char *shards_held; /* which it held at the last look, as the log said it */
  unsigned long shards_version; /* shard_version at the last look */
  /* Sharded: the applications held (name: true), the only ones the caches
   * keep; made of the set adopted at held_at. */
  json_t *held;
  unsigned long adopted, held_at;
  run_dest **dests; /* dests[0]: the runtime's own cluster */
  size_t ndests;
  /* Applications and Projects as cluster objects (objects.c), in the
   * namespace objects_ns: those that read, in objects_arena; why regroup
   * refused each application (parallel to objects.apps, NULL: taken in). */
  const char *objects_ns;
  arena *objects_arena;
  app_set objects;
  char **objects_refused;
  app_project *projects; /* defs.projects: the config's, then the cluster's (malloc'd) */
  json_t *listed;          /* the Application objects of the last read, trimmed (objects.c) */
  json_t *listed_by_name;  /* the same, by name */
  json_t *listed_projects; /* its Project objects */
  bool objects_fresh;      /* what that read shows is not all written yet */
  /* Objects written since that read ("Application/NAME": the round's
   * count): a write in a later round would start from what was read,
   * older than what was written. */
  json_t *objects_written;
  unsigned long objects_rounds;
  json_t *problems;      /* name of an object that does not read: its condition */
  json_t *project_problems;
  double objects_due;    /* monotonic seconds of the next read */
  double objects_read_at; /* and of the last */
  double objects_read_took; /* seconds the last read took */
  struct run_objects_watch *objects_watch; /* unless --once: says when they change */
  unsigned long objects_seen;              /* its count of changes at the last read */
  char *objects_error;   /* why the last read failed, said once */
  kube_client *objects_c; /* the objects' reads and writes (objects.c's client) */
  /* The repository Secrets' credentials (repos.c), read in round
   * chart_creds_round - 1. */
  source_chart_creds *chart_creds;
  size_t nchart_creds;
  unsigned long chart_creds_round;
  /* Applications whose source is a chart: the round each was pinned in. */
  struct run_chart_app {
    char *name;
    unsigned long round;
  } *chart_apps;
  size_t nchart_apps;
  events_writer *events; /* what happens to applications, told to the cluster (notice.c); NULL: nothing */
  notify_sender *notifier; /* and to the notifiers applications subscribe to (notify.c) */
  struct run_keyring *keyrings; /* the SOPS keys of each Secret named, decoded (keys.c) */
  size_t nkeyrings;
  /* Applications removed with cascade_delete whose objects are being
   * deleted (delete.c): each with its history as recorded (deleting,
   * cluster, delete_step), its delete hooks, and the step it is at. */
  struct run_deletion {
    char *name;
    history hist;
    json_t *hooks;
    int step;
    apply_hook_run run;
    double retry_at; /* after a hook failed: when to try again (monotonic seconds) */
  } *deletions;
  size_t ndeletions;
} runner;

typedef struct run_chart_app run_chart_app;
typedef struct run_deletion run_deletion;

double run_now(void); /* monotonic seconds */
void run_set_error(app_state *st, const char *msg);

/* loop.c: fetches url (with fetch), unless done this round, and resolves
 * rev; the words for a failure in *err (caller frees). app gives the
 * credentials; NULL for none. */
int run_fetch(runner *r, const app_def *app, const char *url, const char *rev, bool fetch, source_repo **s,
              source_rev *out, char **err);
/* Errors as the user sees them: file:line:col, the line, a caret. */
char *run_diagnostics(const diag_list *d);

/* set.c: the set changes only between passes (passes hold pointers into
 * r->apps and r->defs). */
/* Takes the config's definitions, in a (freed with them), and regroups. */
void run_set_config(runner *r, arena *a, const app_set *config);
/* Takes into the set the children passes left pending; true when an
 * application joined it. Refused children are errors on their parent;
 * those no longer declared leave it, their objects staying in the cluster. */
bool run_set_regroup(runner *r);
/* Takes the cluster's definitions that read, in a (freed with them), and
 * regroups. */
void run_set_objects(runner *r, arena *a, const app_set *objects);
/* Forgets every application, the config's definitions and the cluster's. */
void run_set_forget(runner *r);
/* st becomes this runtime's to sync: its history is read (again: another
 * replica may have written it since), and its next pass is due now, a
 * full one. */
void run_app_take(runner *r, app_state *st);
/* Who declares d, in words: "the config repository", "application P", "the
 * Application object NS/NAME" (caller frees). */
char *run_declarer(const app_def *d);
/* The index in r->apps of the application called name; r->napps if none. */
size_t run_set_index(const runner *r, const char *name);
/* The applications res, app's build, declares in *out (caller frees with
 * run_children_free); false with the errors in *err (caller frees) when
 * they do not read. */
bool run_children_read(runner *r, const app_def *app, const compile_result *res, run_children *out, char **err);
/* Leaves kids (taken) pending for st, unless they are its children already. */
void run_children_offer(app_state *st, run_children *kids);
void run_children_free(run_children *kids);

/* app.c: one pass of app; asked (POST sync) applies whatever the policy
 * and ends a rollback's pause. */
/* What a pass is for. The zero value is the pass an application's interval
 * or a change in its cluster brings. */
typedef struct {
  bool asked;     /* someone asked for a sync: apply, whatever the policy */
  bool fetch;     /* fetch and compare now, even if nothing seems changed (Refresh) */
  bool dry_run;   /* with asked: compare only; apply, record and unpause nothing */
  int prune;      /* with asked: 0 as the application says; 1 prune, -1 do not */
  const char *by; /* who asked, for the history; NULL: "auto" */
} run_pass;

void run_app_pass(runner *r, const app_def *app, app_state *st, const run_pass *p);
/* Applies app at commit (history entry id) and pauses automated sync. */
void run_app_rollback(runner *r, const app_def *app, app_state *st, const char *commit, long long id,
                      const char *by);
/* Suspends (or resumes) app's automated sync, and saves it in its history. */
void run_app_suspend(runner *r, const app_def *app, app_state *st, bool suspend, const char *by);

/* objects.c: source.directory as std/gitops's template writes it, what was
 * given (an object, empty when nothing was). */
json_t *run_directory_json(const compile_yaml_dir *d);

/* loop.c: true when this runtime may write to the cluster now (it leads,
 * or runs --once); cheap, to be asked before each write. */
bool run_may_write(runner *r);
/* Sharded: the shard of app (that of the application at the root of the
 * tree that declares it, which alone builds it), and whether this replica
 * holds it; unsharded, whether it leads. run_owns_named says it of a name
 * that may no longer be an application (a mirror, a deletion), with the
 * cluster it went to (NULL: not known). */
int run_shard(runner *r, const app_def *app);
bool run_owns(runner *r, const app_def *app);
bool run_owns_named(runner *r, const char *name, const char *cluster);
/* run_owns, and st was taken in the shard's present term (run_app_take):
 * what it knows is not of a time the shard was another's. */
bool run_holds(runner *r, const app_def *app, const app_state *st);

/* dest.c: the runtime's own cluster becomes dests[0], "in-cluster". */
void run_dest_init(runner *r);
/* The destination named cluster, made on first use; NULL with the reason
 * in *err (caller frees) when it cannot be. */
run_dest *run_dest_get(runner *r, const char *cluster, char **err);
/* The embedded Kubernetes version d's applications are checked against
 * unless their env chooses one: its own, else the nearest (said in the
 * log), else NULL for the newest when its /version cannot be read (tried
 * again on the next pass). */
const char *run_dest_kube_version(runner *r, run_dest *d);
/* The destination named cluster if it is made, else NULL. */
run_dest *run_dest_find(runner *r, const char *cluster);
/* After the definitions are read: drops the destinations no application
 * names, and those whose Secret changed or went, to be made again on their
 * next use. */
void run_dest_refresh(runner *r);
void run_dest_free_all(runner *r);
/* Whether s is a name as Kubernetes allows it (a DNS subdomain): anything
 * else names no object (a Secret, an Application), and must not reach a
 * URL. */
bool run_dns_name(const char *s);

/* view.c: without a cache (--once) every answer sends the caller to the
 * server: nothing watched, no change seen, the view complete (prune lists
 * for itself), nothing proved unchanged. */
/* Watches objs' kinds and those prune looks for, in every namespace of d. */
void run_view_watch(runner *r, run_dest *d, const compile_result *objs);
/* Makes due at once each application whose objects changed since it last
 * looked. */
void run_view_note_changes(runner *r);
/* True when d's cache has listed every kind prune would look at for objs;
 * it waits up to timeout_s for that. Otherwise *why says what is missing
 * (caller frees). */
bool run_view_complete(run_dest *d, const compile_result *objs, double timeout_s, char **why);
/* True when d's cache proves it holds app's objects as objs would apply
 * them, and none other of app's: Synced without a request. */
bool run_view_unchanged(run_dest *d, const app_def *app, const compile_result *objs);
/* Where prune finds app's objects of a kind: d's cache, for each kind it
 * has listed whole (apply_lister), else the server; NULL without a cache. */
typedef struct {
  apply_lister lister;
  cache *cache;
  const char *app;
} run_view_lister;
const apply_lister *run_view_candidates(run_dest *d, const app_def *app, run_view_lister *l);

/* report.c */
void run_metrics_declare(runner *r);
/* Shows app's counters at 0 before anything happens to it, as Prometheus
 * wants of counters it will compute rates of. */
void run_metrics_start_app(runner *r, const char *app);
/* plumb_cache_objects of each cluster, as its live view holds now. */
void run_metrics_cached(runner *r);

/* forward.c */
/* Passes call on to the replica at url (named replica, for the words of a
 * failure), marked SERVE_FORWARDED, with the caller's bearer token, or,
 * when token is given (the caller signed in by a session), with admin's
 * and whom for: its status (502 when it did not answer in 10 s), and its
 * body into *text (JSON, caller frees). */
int run_forward(const char *url, const char *replica, const serve_call *call, const char *token, char **text);
/* After a pass: st's resources with their sync and health from the live
 * objects of objs in d, and the application's health. */
void run_assess(run_dest *d, const app_def *app, app_state *st, const compile_result *objs);
/* Publishes the status documents of the applications marked dirty, or
 * with r->republish every application's, and the plumb_apps gauge; true
 * when it published. */
bool run_publish(runner *r);
/* The fields of doc that keys (NULL-terminated) name, as a new object:
 * the parts of a status document the API and the list show. */
json_t *run_json_only(const json_t *doc, const char *const *keys);
/* v's JSON text (json_dumps's flags) as a JSON string, which a status
 * document's parts and a kept object's fields are: a fraction of the
 * memory of the parsed value. */
json_t *run_json_text(const json_t *v, size_t flags);
/* The error and the children refused, else what a rollback's pause
 * means, else "" (caller frees). */
char *run_message(const app_state *st);
/* The table `plumb run --once` ends with. */
void run_print_table(runner *r, FILE *out);

/* tree.c: the tree of the live objects of an application whose status
 * lists resources, read with c (run_tree: *out, an array of nodes, each
 * with an id and its parent's; *err, caller frees, when a list failed);
 * one node of resources as it is (run_tree_node); a live object as the UI
 * shows it, without managedFields and a Secret's values (run_mask_live). */
int run_tree(kube_client *c, const json_t *resources, json_t **out, char **err);
json_t *run_tree_node(const json_t *resource);
void run_mask_live(json_t *live);

/* accounts.c: who may use the API and UI: the auth file, and admin's
 * password, from the Secret it is kept in (made when there is none). */
int run_accounts_load(runner *r, auth **out, char **err);
/* objects.c: reads the Application and Project objects of r->objects_ns
 * now, or when the watch saw one change, or when a while has passed since
 * the last read (30 s; 2 s without a watch), and takes those that read
 * into the set. */
void run_objects_read(runner *r, bool now);
/* Watches them (in a thread of its own, waking r->cache's waiters), so that
 * a change is read at once. */
void run_objects_start_watch(runner *r);
/* After a read: writes what changed of each application's status to its
 * object, mirrors the config's applications as objects and deletes the
 * mirrors of those gone, at most budget writes; the next call goes on
 * with the objects not yet written, until the next read. Only while this
 * runtime may write. Returns the writes. */
size_t run_objects_write(runner *r, size_t budget);
#define RUN_OBJECT_WRITES 20 /* a round's budget */
/* Stops the watch and frees what the reads kept. */
void run_objects_free(runner *r);
/* Whether the last read saw application name's object being deleted,
 * held by the runtime's finalizer (its objects are to go first). */
bool run_object_finalizing(const runner *r, const char *name);
/* Takes the runtime's finalizer off application name's object when it is
 * being deleted: its objects are gone, or stay. */
void run_objects_release(runner *r, const char *name);
/* The status on app's Application object (its mirror for one of the
 * config's) as last read (caller decrefs); NULL when there is none. */
json_t *run_object_status(const runner *r, const app_def *app);

/* api.c: serves o's port with answers from r->store, for the people of
 * r->auth (which it loads); *err when it cannot. */
int run_api_start(runner *r, serve **out, char **err);

/* ---- applications removed with cascade_delete (delete.c) ---- */

/* app, whose state is st, left the config: its history records that its
 * objects are to be deleted, then the deletion is pending. */
void run_delete_begin(runner *r, const app_def *app, app_state *st);
/* The same for an application the runtime did not manage: its object
 * was being deleted when the runtime started. Its hooks come from a build
 * of its own (app.c, run_app_build_hooks). */
void run_delete_object(runner *r, const app_def *app);
/* app.c: fetches and builds app, which the runtime does not manage, for
 * its delete hooks only, into st (a state of the caller's, its builds
 * NULL); false, said, when it cannot be built. */
bool run_app_build_hooks(runner *r, const app_def *app, app_state *st);
/* Whether the deletion of name's objects is under way. */
bool run_delete_pending(const runner *r, const char *name);
/* Keeps in st the PreDelete and PostDelete hooks of all, app's build that
 * compiled for dest, for a deletion to come. */
void run_delete_keep_hooks(run_dest *dest, const app_def *app, app_state *st, const compile_result *all);
/* The deletions the histories say are under way, as far as they went (a
 * runtime before this one began them, or another led them on while this
 * one stood by). */
void run_delete_resume(runner *r);
/* One step of each pending deletion (an application declared again stops
 * its own); true when anything was deleted or ended. */
bool run_delete_step(runner *r);
void run_delete_free(runner *r);

/* repos.c: the decoded value of key in a Secret's data (caller frees);
 * NULL when it has none. */
char *run_secret_datum(const json_t *secret, const char *key);

/* ---- the keys of files SOPS encrypted (keys.c) ---- */

typedef struct {
  compile_sops_key *keys;
  size_t n;
} run_keys;

/* A Secret's keys as last read: its resourceVersion (NULL before a read),
 * its keys or why it holds none, and when it was read (monotonic). */
typedef struct run_keyring {
  char *name, *version, *why;
  run_keys keys;
  double checked;
} run_keyring;

/* The keys of the Secret app's spec.decryption names, else its project's,
 * into *out (none when neither names one); NULL, or why they cannot be
 * read (caller frees). run_keys_free wipes them. */
char *run_keys_read(runner *r, const app_def *app, run_keys *out);
void run_keys_free(run_keys *k);
/* Wipes and forgets the keys kept (set.c, as it forgets the applications). */
void run_keys_forget(runner *r);

/* ---- what happens to applications (notice.c) ---- */

/* An event about app, on its Application object (the config's mirror or
 * the user's), else on its history's ConfigMap; only from the runtime that
 * writes, so that a standby does not tell it twice. */
void run_notice(runner *r, const app_def *app, const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- notifications (notify.c) ---- */

/* What happened to app, told to the notifiers it and its project subscribe
 * to for trigger, at most once per state: key (the commit) is kept in its
 * history, saved before the notification is queued, and the same key for
 * the same trigger is not told again until run_notify_rearm. Only from the
 * runtime that writes. message may be NULL. */
void run_notify(runner *r, const app_def *app, app_state *st, const char *trigger, const char *key,
                const char *message);
/* The state trigger was told for has ended (a sync succeeded after one
 * failed, health came back): the next is news again. */
void run_notify_rearm(runner *r, const app_def *app, app_state *st, const char *trigger);
/* on-out-of-sync, after each pass: since when app has been OutOfSync is
 * kept in its history (hist.out_of_sync), and told once it has been so
 * for its outOfSyncFor; a pass Synced ends it. Until it is due,
 * st->notify_due says when. */
void run_notify_out_of_sync(runner *r, const app_def *app, app_state *st);
/* Starts and stops the sender (loop.c). */
void run_notify_start(runner *r);
void run_notify_stop(runner *r);

/* ---- dependencies (app.c) ---- */

/* Why app's automated sync waits, in words (caller frees): the
 * applications it depends on, and for a child of an app of apps its
 * siblings of lower waves, that are not yet Synced and Healthy; NULL when
 * none. */
char *run_app_waiting(const runner *r, const app_def *app);

/* ---- repository Secrets (repos.c) ---- */

/* Reads the credentials of chart repositories from the repository
 * Secrets, once a round; a read that fails keeps those known. */
void run_chart_creds_read(runner *r);
void run_chart_creds_free(runner *r);
/* How charts are pulled into the runtime's cache, with those credentials. */
source_charts run_chart_puller(runner *r);
/* The repository of the pins of app, whose source is a chart
 * (source_chart_app_pin), pinned anew once a round when fetch; a pin that
 * fails keeps the last one. NULL with *err when there is none yet. Caller
 * frees both. */
char *run_chart_app_repo(runner *r, const app_def *app, bool fetch, char **err);

#endif
