/* apply.h: compiled resources onto a cluster, and what would change.
 *
 * Every object Plumb applies carries its ownership mark: the label
 * plumb.dev/env (the env's name) and the annotation plumb.dev/app (the app
 * that produced it, or "-"); the runtime adds the label
 * plumb.dev/application naming its application. Pruning deletes only
 * objects so marked that the new output no longer contains. */
#ifndef PLUMB_APPLY_H
#define PLUMB_APPLY_H

#include <stdio.h>

#include "plumb/app.h"
#include "plumb/compile.h"
#include "plumb/kube.h"

#define APPLY_ENV_LABEL "plumb.dev/env"
#define APPLY_APP_ANNOTATION "plumb.dev/app"
#define APPLY_OWNER_LABEL "plumb.dev/application"
/* An object's sync options, "Key=Value" separated by commas, as Argo CD's
 * argocd.argoproj.io/sync-options (docs/runtime.md, Sync options). */
#define APPLY_OPTIONS_ANNOTATION "plumb.dev/sync-options"

/* How one object went. */
typedef struct {
  char *ref;   /* "deployment.apps/web", as kubectl names objects */
  char *ns;    /* NULL for cluster-scoped objects */
  char *verb;  /* created, configured, unchanged, pruned; NULL when it failed */
  char *error; /* why it failed, NULL otherwise */
} apply_outcome;

typedef struct {
  apply_outcome *items;
  size_t n, cap;
  char *halt; /* why a sync wave stopped the sync ("wave 1: ..."), or NULL */
} apply_result;

void apply_result_free(apply_result *r);

/* Where prune finds an owner's objects of one kind without asking the
 * server: list returns true with them (a JSON array, caller decrefs), or
 * false when it cannot say (*items NULL or the caller's to decref), and
 * the server is listed. The runtime's live
 * view (cache.h) is one: at thousands of applications a list of the server
 * reads every object of the kind in the cluster, twice each sync. An
 * object such a list gives that prune would delete is read from the server
 * again first, and deleted only as the server shows it: the view may be a
 * moment behind. */
typedef struct {
  bool (*list)(void *ctx, const char *api, const char *kind, json_t **items);
  void *ctx;
} apply_lister;

typedef struct {
  bool dry_run;  /* server-side dry run: nothing changes */
  bool force;    /* take over fields another manager owns */
  bool prune;
  bool allow_empty; /* prune everything when the env produced nothing */
  FILE *out;     /* one line per object: created, configured, unchanged,
                    pruned, and errors on stderr; NULL: none, the caller
                    reads result */
  /* The runtime's application: objects get the label plumb.dev/application
   * = owner, prune selects by it, and an object that exists without this
   * mark (made by hand, or another application's) is refused, not taken. */
  const char *owner;
  /* The field manager of its server-side applies (an application's
   * field_manager); NULL: "plumb". */
  const char *field_manager;
  apply_result *result; /* if given, gets one outcome per object */
  /* Sync waves always go in order (waves.h). With wave_timeout_s > 0, the
   * objects of each wave but the last must also become healthy, within
   * that many seconds, before the next wave starts; wait_last waits for
   * the last wave too. Dry runs do not wait. */
  double wave_timeout_s;
  bool wait_last;
  /* An object the server refuses for a field that cannot change is
   * deleted and created anew (the sync option Recreate=true of the whole
   * application; an object's own says so for it alone). */
  bool recreate;
  /* What the comparison ignores and the apply keeps as the cluster has
   * it (app.h): added to each matching object's keep-live annotations
   * (runtime/compare/live.c). */
  const app_ignore *ignore;
  size_t nignore;
  const apply_lister *view; /* prune's candidates; NULL: the server's list (owner only) */
} apply_opts;

/* Whether obj's sync options (its annotation plumb.dev/sync-options, and
 * with argo Argo CD's argocd.argoproj.io/sync-options, where the option
 * means the same there) hold option, "Key=Value". */
bool apply_object_option(const json_t *obj, const char *option, bool argo);

/* Applies r's resources in sync order (their hooks in their phases,
 * above), waiting for each CRD to be
 * Established before what follows it. A wave where an object failed, or
 * that went Degraded or did not become healthy in time, stops the sync:
 * later waves are not applied and prune does not run (result->halt, and
 * stderr, say why). Returns 0, or the number of objects that failed (each
 * printed to stderr), at least 1 when a wave stopped the sync; prune runs
 * only when nothing failed and refuses an empty result unless
 * allow_empty. */
int apply_resources(kube_client *c, const compile_result *r, const apply_opts *o);

/* ---- hooks (runtime/apply/hooks.c) ----
 *
 * apply_resources runs the sync phases of r's hooks, resources annotated
 * plumb.dev/hook (or argocd.argoproj.io/hook): PreSync first, then the
 * objects and Sync hooks, then PostSync, and SyncFail when any failed,
 * each hook waited for until healthy (docs/runtime.md, Hooks). */
typedef enum {
  APPLY_HOOK_NONE,      /* no hook: an object of the application */
  APPLY_HOOK_PRE_SYNC,
  APPLY_HOOK_SYNC,
  APPLY_HOOK_POST_SYNC,
  APPLY_HOOK_SYNC_FAIL,
  APPLY_HOOK_SKIP,      /* Skip, and an unknown phase: never applied */
  APPLY_HOOK_PRE_DELETE,  /* around an application's deletion (below), never in a sync */
  APPLY_HOOK_POST_DELETE,
} apply_hook;

apply_hook apply_hook_of(const value *obj);
const char *apply_hook_name(apply_hook h); /* "PreSync", ... */
/* Whether a live object is a hook. */
bool apply_is_hook_json(const json_t *obj);
bool apply_has_hooks(const compile_result *r);
/* r's resources of phase, in a copy of r whose res the caller frees;
 * APPLY_HOOK_NONE: the objects of the application, no hook. */
compile_result apply_select(const compile_result *r, apply_hook phase);

/* ---- hooks around an application's deletion (runtime/apply/hooks.c) ----
 *
 * When the runtime deletes an application with its objects, its PreDelete
 * hooks run first, and must succeed before any object is deleted; its
 * PostDelete hooks run once the objects are gone (docs/runtime.md,
 * Deleting an application). The runtime keeps them as the bodies to
 * create, recorded when the deletion begins, and runs them a step at a
 * time, one step each round of its loop, never waiting in between. */

/* r's hooks of the phases PreDelete and PostDelete (a hook may list
 * several: "PostSync,PostDelete"), as the JSON bodies to create: marked as
 * owner's, in c's default namespace when a namespaced kind names none. A
 * JSON array (caller decrefs). */
json_t *apply_delete_hooks(kube_client *c, const compile_result *r, const char *owner);
/* Whether hooks (apply_delete_hooks's) hold one of phase in a wave from
 * `from` on; the least such wave in *wave. */
bool apply_delete_hooks_wave(const json_t *hooks, apply_hook phase, long from, long *wave);

/* Where a phase of delete hooks stands: the hooks of wave are created and
 * waited for, or (created false) those of the least wave from wave on are
 * to be created next. */
typedef struct {
  long wave;
  bool created;
  double since; /* monotonic seconds since when they are waited for; 0: not known */
} apply_hook_run;

typedef enum { APPLY_HOOKS_DONE, APPLY_HOOKS_WAITING, APPLY_HOOKS_FAILED } apply_hooks_state;

/* One step of phase's hooks (apply_delete_hooks's), as *run says, which
 * it moves on; now: monotonic seconds. The next wave's hooks are created
 * once their live namesakes, owner's, are deleted and gone (those of an
 * earlier attempt: a delete hook runs anew each time); the created ones
 * are read back at each step until healthy, then the next wave goes.
 * WAITING until the last wave is healthy, then DONE. FAILED, with why
 * (caller frees), when a hook is Degraded, is not healthy after 5 minutes,
 * cannot be created, or has a namesake without owner's mark (never
 * touched); the failed wave's hooks whose policy says HookFailed are
 * deleted, the others stay, and the next step creates the wave anew.
 * Outcomes (created, deleted) go to o->result. */
apply_hooks_state apply_delete_hooks_step(kube_client *c, const json_t *hooks, apply_hook phase, const char *owner,
                                          apply_hook_run *run, double now, char **why, const apply_opts *o);
/* Deletes, by their uid, those of hooks still there that carry owner's
 * mark and whose delete policy says HookSucceeded. DONE once none is
 * left; FAILED with why (caller frees) when one cannot be read or
 * deleted. Outcomes (deleted) go to o->result. */
apply_hooks_state apply_delete_hooks_cleanup(kube_client *c, const json_t *hooks, const char *owner, char **why,
                                             const apply_opts *o);

/* Deletes the marked objects r no longer contains (env's, or o->owner's);
 * with o->dry_run only reports them. Returns how many failed. */
int apply_prune(kube_client *c, const compile_result *r, const apply_opts *o);

/* One step of deleting every object marked as owner's (of every kind the
 * server lists, custom resources included, but those whose sync options
 * say Delete=false), hooks included, in reverse wave order: the objects of
 * the highest wave left are deleted, by their uid, with propagation
 * ("Background", "Foreground"); a lower wave waits until that one is gone.
 * *left: how many objects are left, this step's and terminating ones
 * included; 0 when the application has none. Outcomes "deleted" as
 * o->out and o->result take them. Returns how many failed. */
int apply_delete_owned(kube_client *c, const char *owner, const char *propagation, size_t *left, const apply_opts *o);

/* The i-th of the usual kinds prune looks for besides the env's own, with
 * its apiVersion in *api; NULL past the last. */
const char *apply_prune_kind(size_t i, const char **api);

/* Checks r against the schemas k's cluster serves (compile_check_served:
 * custom resources whose CRD is installed there, not built with them)
 * into d, which gets r's sources to quote. False when any is refused, or
 * the cluster's schemas cannot be read. */
bool apply_check_served(kube_client *k, const compile_result *r, diag_list *d);

/* Prints a unified diff per resource between the live object and the
 * server's dry run of applying it (with owner's mark, by field manager
 * manager, as in apply_opts).
 * Returns 0 when equal, 1 when anything differs, 2 on error. */
int diff_resources(kube_client *c, const compile_result *r, const char *owner, const char *manager,
                   const app_ignore *ignore, size_t nignore, FILE *out);

/* The marked JSON body for one compiled resource (caller decrefs); owner
 * as in apply_opts, or NULL. */
json_t *apply_body(const compile_result *r, size_t i, const char *owner);

#endif
