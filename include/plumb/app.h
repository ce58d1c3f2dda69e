/* app.h: the runtime's applications and projects.
 *
 * They are written in Plumb (stdlib/gitops.plumb: templates `application`
 * and `project`) and compiled like any env: every resource of apiVersion
 * plumb.dev/v1 and kind Application or Project is a definition for the
 * runtime, never an object for a cluster. Reading them checks every field,
 * with errors at the file:line:col that set it. A project restricts what
 * its applications may use; a violation is an error on the application, and
 * nothing of it is applied.
 *
 * An application's build may declare applications too (app of apps): the
 * runtime manages them as its children. Projects are the config's alone.
 *
 * The config repository may also give health scripts for kinds (std/gitops'
 * health(): kind Health), Argo CD's health.lua, which the runtime runs for
 * every object of a group and kind they match (plumb/health.h), and the
 * receivers of notifications (notifier(): kind Notifier) applications and
 * projects subscribe to.
 *
 * The same definitions may be objects in the runtime's own cluster
 * (kubectl apply): their JSON, made a value, reads with the same checks
 * (app_read_one), errors at no position. */
#ifndef PLUMB_APP_H
#define PLUMB_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "plumb/compile.h"

#define APP_API_VERSION "plumb.dev/v1"

typedef struct {
  const char *key, *value;
} app_setting;

/* What a comparison ignores and an apply keeps as the cluster has it, of
 * the objects of a kind (and a name, a namespace), as Argo CD's
 * ignoreDifferences: fields by JSON pointer ("/spec/replicas") or jq-like
 * path (".spec.template.spec.containers[].image"), and every field a
 * field manager owns (an autoscaler's). group "" is the core group; name
 * and namespace NULL: any. */
typedef struct {
  const char *group, *kind, *name, *namespace;
  const char **paths, **managers;
  size_t npaths, nmanagers;
} app_ignore;

typedef struct {
  const char *name, *project;
  const char *repo, *revision, *path, *env; /* env "": the only one */
  const char *cluster;                      /* "in-cluster" or a kubeconfig context */
  const char *namespace;                    /* "" : the context's */
  bool automated, prune, self_heal, allow_empty;
  int interval_s;
  /* sync.retry, as Argo CD's: after a pass that failed, the next comes
   * after retry_s, times retry_factor for each further failure, at most
   * retry_max_s (0: the interval); automated syncs of a commit stop after
   * retry_limit failed in a row (-1: never). */
  int retry_limit, retry_s, retry_factor, retry_max_s;
  /* sync.options, as Argo CD's syncPolicy.syncOptions: "Recreate=true",
   * "CreateNamespace=true" (docs/runtime.md, Sync options). */
  const char **sync_options;
  size_t nsync_options;
  /* sync.managedNamespaceMetadata, as Argo CD's: the labels and
   * annotations of the namespace CreateNamespace=true makes (JSON text of
   * { labels, annotations }); NULL: none. */
  const char *namespace_metadata;
  /* sync.fieldManager: the field manager of its server-side applies, as
   * kubectl apply --field-manager; NULL: "plumb". */
  const char *field_manager;
  /* spec.decryption.secretRef.name, as Flux's: the Secret of the runtime's
   * namespace whose keys (*.agekey, *.asc) open its files SOPS encrypted;
   * NULL: its project's, if any. */
  const char *sops_secret;
  /* spec.ignoreDifferences, then the config's rules for every application
   * (app_set.ignore) as the runtime adds them at a pass. */
  const app_ignore *ignore;
  size_t nignore;
  /* spec.cascadeDelete, as Argo CD's resources finalizer: removed from the
   * config, the application's objects are deleted with this propagation
   * ("background", "foreground"); NULL: they stay (orphan). */
  const char *cascade;
  /* spec.subscribe, as Argo CD's subscriptions: "TRIGGER=NOTIFIER" each,
   * ("on-sync-failed=ops-slack"), its project's added by the runtime. */
  const char **subscribe;
  size_t nsubscribe;
  /* spec.outOfSyncFor: how long it stays OutOfSync before on-out-of-sync
   * is told, in seconds; 0: not given (its project's, else 5 minutes). */
  int out_of_sync_s;
  app_setting *credentials; /* token_file, ssh_key_file, secret...: see docs/runtime.md */
  size_t ncredentials;
  const char *const *args; /* the env's parameters, NAME=VALUE (compile_opts.args) */
  size_t nargs;
  /* source.directory, as Argo CD's: how path reads when it is a directory
   * of YAML manifests (compile_opts.yaml_dir); its patterns NULL when
   * not given */
  compile_yaml_dir directory;
  /* source.chart, as Argo CD's Helm source: the chart of that name in the
   * chart repository or OCI registry repo, at the version or semver range
   * revision names ("HEAD": the newest), rendered with values (JSON text,
   * an object; NULL: none) released as release (NULL: name); NULL: repo
   * is a git repository. */
  const char *chart, *values, *release;
  /* spec.dependsOn, as Flux's: the applications that must be Synced and
   * Healthy before an automated sync of this one; depends_at where they
   * were written. */
  const char **depends_on;
  size_t ndepends_on;
  pos depends_at;
  /* Its plumb.dev/sync-wave (or argocd.argoproj.io/sync-wave) annotation:
   * a child of an app of apps waits for its siblings of lower waves. */
  int wave;
  const char *parent; /* the application whose build declares it; NULL: the config */
  const char *object; /* "NAMESPACE/NAME" of the cluster object it was read from; NULL: written in Plumb */
  pos at, project_at;  /* where its name and its project were written */
} app_def;

typedef struct {
  const char *cluster, *namespace;
} app_destination;

/* A cron schedule: minute, hour, day of month, month, day of week. */
typedef struct {
  uint64_t bits[5];        /* bit v of field i: the schedule names value v */
  bool any_day, both_free; /* day of month or of week unrestricted; both */
} app_cron;

/* A sync window of a project (runtime/source/window.c), as Argo CD's. */
typedef struct {
  bool deny;            /* kind: deny, else allow */
  const char *schedule; /* as written */
  app_cron cron;
  int duration_s;
  const char **applications, **namespaces, **clusters; /* wildcards; all three empty: every application */
  size_t napplications, nnamespaces, nclusters;
  bool manual_sync; /* syncs asked for go through it */
} app_window;

typedef struct {
  const char *name;
  const char **repos; /* shell wildcards, as all patterns here */
  size_t nrepos;
  app_destination *destinations;
  size_t ndestinations;
  const char **cluster_kinds, **kinds, **denied_kinds; /* "Kind" or "group/Kind" */
  size_t ncluster_kinds, nkinds, ndenied_kinds;
  app_window *windows; /* spec.syncWindows */
  size_t nwindows;
  const char *sops_secret; /* spec.decryption.secretRef.name, its applications' unless they name one; NULL: none */
  const char **subscribe; /* for each of its applications, as app_def's */
  size_t nsubscribe;
  int out_of_sync_s; /* spec.outOfSyncFor, of its applications that give none; 0: not given */
  pos at; /* where its name was written */
} app_project;

/* A receiver of notifications (plumb/notify.h): type "webhook", "slack",
 * "teams", "github", "gitlab" or "gitea"; the Secret of the runtime's
 * namespace that holds its url, token and hmac_key (NULL: none); url when
 * the Secret has none; a webhook's headers ("Name: value") and body
 * template (NULL: the default). The config's alone. */
typedef struct {
  const char *name, *type, *secret, *url, *body;
  const char **headers;
  size_t nheaders;
  pos at; /* where its name was written */
} app_notifier;

/* A health script for the kinds group and kind match (shell wildcards; ""
 * the core group). Its text compiles (checked as it is read). */
typedef struct {
  const char *name, *group, *kind;
  const char *lua; /* the script's text, lua_len bytes */
  size_t lua_len;
  pos at; /* where its name was written */
} app_health;

typedef struct {
  app_def *apps;
  size_t napps;
  app_project *projects; /* the built-in "default" included */
  size_t nprojects;
  /* IgnoreDifferences definitions: rules for every application, as Argo
   * CD's resource.customizations.ignoreDifferences (the config's alone). */
  app_ignore *ignore;
  size_t nignore;
  app_health *healths; /* the config's alone */
  size_t nhealths;
  app_notifier *notifiers; /* the config's alone */
  size_t nnotifiers;
} app_set;

/* Is this compiled resource a definition for the runtime: an Application,
 * a Project, an IgnoreDifferences, a Health or a Notifier? */
bool app_is_definition(const value *res);

/* Reads the definitions among r's resources into *s, allocated in a (which
 * must outlive s; strings are copied, so r may go). Errors go to d, at the
 * positions the values came from. Returns the number of errors. */
int app_set_read(app_set *s, arena *a, const compile_result *r, diag_list *d);

/* As app_set_read, for the build of the application parent: the
 * applications it declares, each with that parent. Their projects are
 * config's, which s shares; a project in the build is an error. */
int app_set_read_children(app_set *s, arena *a, const compile_result *r, const app_set *config, const char *parent,
                          diag_list *d);

/* Reads one definition res (app_is_definition: an Application or a
 * Project) into *app or *project, as its kind says, allocated in a; the
 * other is left alone. Its name is metadata.name. Errors go to d, at the
 * positions res's values have (none for a cluster object's). Returns the
 * number of errors. Whether its project exists is the caller's to check. */
int app_read_one(const value *res, arena *a, app_def *app, app_project *project, diag_list *d);

const app_project *app_set_project(const app_set *s, const char *name);

/* Whether a and b define the same application, written at the same places. */
bool app_def_equal(const app_def *a, const app_def *b);

/* NULL when project p lets app use its repository and destination; else
 * the reason, allocated in a. */
const char *app_check_source(const app_project *p, const app_def *app, arena *a);

/* NULL when p lets app apply an object of this kind to this namespace (NULL
 * for a cluster-scoped object); else the reason, allocated in a. */
const char *app_check_object(const app_project *p, const app_def *app, const char *api_version, const char *kind,
                             const char *ns, arena *a);

/* "90s", "3m", "1h30m" in seconds; -1 when malformed or not positive. */
int app_parse_interval(const char *s);

/* Whether app's sync options hold option ("Recreate=true"). */
bool app_sync_option(const app_def *app, const char *option);

/* Reads a cron schedule ("0 22 * * 1-5", "@daily"): numbers, names of
 * months and days, *, ranges, steps and lists; false when it is none. */
bool app_cron_parse(const char *text, app_cron *out);
/* The latest time the schedule names in [earliest, now], to the minute,
 * in UTC; -1 when none. */
time_t app_cron_last(const app_cron *c, time_t now, time_t earliest);
/* Why p's sync windows stop app's sync at now (a sync asked for when
 * manual), in a; NULL when they do not. */
const char *app_window_blocks(const app_project *p, const app_def *app, time_t now, bool manual, arena *a);

#endif
