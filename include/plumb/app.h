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
 * every object of a group and kind they match (plumb/health.h).
 *
 * The same definitions may be objects in the runtime's own cluster
 * (kubectl apply): their JSON, made a value, reads with the same checks
 * (app_read_one), errors at no position. */
#ifndef PLUMB_APP_H
#define PLUMB_APP_H

#include <stdbool.h>

#include "plumb/compile.h"

#define APP_API_VERSION "plumb.dev/v1"

typedef struct {
  const char *key, *value;
} app_setting;

typedef struct {
  const char *name, *project;
  const char *repo, *revision, *path, *env; /* env "": the only one */
  const char *cluster;                      /* "in-cluster" or a kubeconfig context */
  const char *namespace;                    /* "" : the context's */
  bool automated, prune, self_heal, allow_empty;
  int interval_s;
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
  const char *parent; /* the application whose build declares it; NULL: the config */
  const char *object; /* "NAMESPACE/NAME" of the cluster object it was read from; NULL: written in Plumb */
  pos at, project_at;  /* where its name and its project were written */
} app_def;

typedef struct {
  const char *cluster, *namespace;
} app_destination;

typedef struct {
  const char *name;
  const char **repos; /* shell wildcards, as all patterns here */
  size_t nrepos;
  app_destination *destinations;
  size_t ndestinations;
  const char **cluster_kinds, **kinds, **denied_kinds; /* "Kind" or "group/Kind" */
  size_t ncluster_kinds, nkinds, ndenied_kinds;
  pos at; /* where its name was written */
} app_project;

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
  app_health *healths; /* the config's alone */
  size_t nhealths;
} app_set;

/* Is this compiled resource a definition for the runtime: an Application,
 * a Project or a Health? */
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

#endif
