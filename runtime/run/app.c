/* app.c: one application, one pass; a rollback and the pause of automated
 * sync that follows it (Argo CD's rule: a rollback would be undone by the
 * next automated sync otherwise). */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"
#include "plumb/emit.h"
#include "run/internal.h"

/* r's resources without the runtime's own definitions (caller frees res). */
static compile_result objects_of(const compile_result *r) {
  compile_result out = *r;
  out.res = heap_alloc((r->nres + 1) * sizeof *out.res);
  out.nres = 0;
  for (size_t i = 0; i < r->nres; i++)
    if (!app_is_definition(r->res[i].obj)) out.res[out.nres++] = r->res[i];
  return out;
}

static bool fail(app_state *st, const char *msg) {
  st->status = SYNC_UNKNOWN;
  run_set_error(st, msg);
  return false;
}

/* What a pass syncs: the commit, its objects and where they go. */
typedef struct {
  source_repo *s;
  source_rev rev;
  compile_result all;  /* its objects and its hooks, which a sync runs (apply.h); all.res is the pass's to free */
  compile_result objs; /* its objects alone: what is compared, watched and assessed; objs.res the pass's too */
  run_children kids;   /* the applications it declares, the pass's to free */
  run_dest *dest;
} build;

/* Where app's objects go, or NULL with the reason in *why (caller
 * frees). The project is asked first: it may forbid the destination,
 * which is then never contacted. */
static run_dest *destination(runner *r, const app_def *app, char **why) {
  arena *a = arena_new();
  const char *denied = app_check_source(app_set_project(&r->defs, app->project), app, a);
  *why = denied ? heap_strdup(denied) : NULL;
  arena_free(a);
  return *why ? NULL : run_dest_get(r, app->cluster, why);
}

/* Why res may not be synced to dest (caller frees), else NULL; unusable
 * (consumed) is why there is no dest. The applications res declares are
 * checked as its objects are. */
static char *refusal(runner *r, const app_def *app, const compile_result *res, run_dest *dest, char *unusable) {
  /* An empty build is far more often a mistake than a wish: compare
   * nothing, prune nothing. One that declares applications is no mistake. */
  if (res->nres == 0 && !app->allow_empty) {
    free(unusable);
    return heap_strdup("the build produced no resources; nothing is synced or pruned (allow_empty permits it)");
  }
  if (!dest) return unusable;
  return sync_check_project(dest->c, app, app_set_project(&r->defs, app->project), res);
}

/* What dest refuses of res, in words (caller frees): kinds it does not
 * serve (sync_check_kinds), and what the schemas it serves refuse (its
 * custom resources whose CRD is installed there, not built); NULL when
 * nothing. */
static char *served_refusal(run_dest *dest, const app_def *app, const compile_result *res) {
  char *why = sync_check_kinds(dest->c, app, res);
  if (why) return why;
  arena *a = arena_new();
  diag_list d;
  diag_init(&d, a);
  why = apply_check_served(dest->c, res, &d) ? NULL : run_diagnostics(&d);
  arena_free(a);
  return why;
}

/* Keeps what a build that compiled warned of (text, taken; NULL: nothing)
 * for the status, and logs it when it is news, a line at a time. */
static void keep_warnings(runner *r, const app_def *app, app_state *st, char *text) {
  bool news = text && (!st->warnings || strcmp(text, st->warnings) != 0);
  for (char *line = text, *end; news && *line; line = end + !!*end) {
    end = line + strcspn(line, "\n");
    fprintf(r->o->out, "%s: %.*s\n", app->name, (int)(end - line), line);
  }
  free(st->warnings);
  st->warnings = text;
}

/* Fetches (with fetch), resolves rev, finds the destination, compiles
 * (checked against the destination's Kubernetes version unless the env
 * chooses one, and against the schemas it serves), reads the applications the build declares, checks all
 * against the project, into *b. False with the reason in st when any step
 * fails. */
static bool build_at(runner *r, const app_def *app, app_state *st, const char *rev, bool fetch, build *b) {
  char *err;
  const compile_result *res;
  if (run_fetch(r, app, app->repo, rev, fetch, &b->s, &b->rev, &err) != SOURCE_OK) {
    metrics_add(r->fam.fetch_failures, (const char *[]){app->name}, 1);
    fail(st, err);
    free(err);
    return false;
  }
  memcpy(st->commit, b->rev.commit, sizeof st->commit);
  memcpy(st->subject, b->rev.subject, sizeof st->subject);
  memcpy(st->author, b->rev.author, sizeof st->author);
  if (source_path_id(b->s, b->rev.tree, app->path, st->path_tree) != SOURCE_OK) *st->path_tree = '\0';
  char *unusable;
  run_dest *dest = destination(r, app, &unusable);
  compile_opts o = {.path = app->path,
                    .env = *app->env ? app->env : NULL,
                    .args = app->args,
                    .nargs = app->nargs,
                    .kube_version_default = dest ? run_dest_kube_version(r, dest) : NULL,
                    .yaml_dir = app->directory,
                    /* A chart is released as the application, in its namespace, as Argo CD does. */
                    .helm = {.release = app->name, .namespace = app->namespace}};
  /* A kustomization's remote bases are fetched into the runtime's cache
   * as the compile meets them, when the app's tree is first built. */
  compile_remote remote = {source_remote_dir, (void *)r->o->cache_dir};
  o.remote = &remote;
  /* The charts plumb.lock pins are pulled into it the same way, with the
   * credentials of the repository Secrets. */
  source_charts pulling = run_chart_puller(r);
  compile_charts charts = {source_chart_get, &pulling, false, false};
  o.charts = &charts;
  run_keys keys;
  char *no_keys = run_keys_read(r, app, &keys);
  if (no_keys) {
    free(unusable);
    fail(st, no_keys);
    free(no_keys);
    return false;
  }
  o.sops_keys = keys.keys, o.nsops_keys = keys.n;
  int compiled = source_compile(b->s, st->builds, b->rev.tree, &o, &res);
  run_keys_free(&keys);
  if (compiled != SOURCE_OK) {
    free(unusable);
    return fail(st, source_last_error(b->s));
  }
  char *refused = res->diags.errors ? run_diagnostics(&res->diags) : dest ? served_refusal(dest, app, res) : NULL;
  if (!res->diags.errors) keep_warnings(r, app, st, res->diags.first ? run_diagnostics(&res->diags) : NULL);
  if (refused || !run_children_read(r, app, res, &b->kids, &refused)) {
    free(unusable);
    fail(st, refused);
    free(refused);
    return false;
  }
  if (!(refused = refusal(r, app, res, dest, unusable))) {
    b->dest = dest;
    b->all = objects_of(res);
    b->objs = apply_select(&b->all, APPLY_HOOK_NONE);
    run_delete_keep_hooks(dest, app, st, &b->all);
    return true;
  }
  fail(st, refused);
  free(refused);
  run_children_free(&b->kids);
  return false;
}

bool run_app_build_hooks(runner *r, const app_def *app, app_state *st) {
  build b;
  bool own = !st->builds;
  if (own) st->builds = source_builds_new(1, &r->limits);
  bool built = build_at(r, app, st, app->revision, true, &b);
  if (built) {
    run_children_free(&b.kids);
    free(b.objs.res), free(b.all.res);
  } else {
    fprintf(r->o->out, "%s: its objects cannot be deleted yet: %s\n", app->name, st->error);
  }
  if (own) source_builds_free(st->builds), st->builds = NULL;
  else source_builds_release(st->builds);
  free(st->error), free(st->warnings);
  st->error = st->warnings = NULL;
  st->dirty = true;
  return built;
}

/* The refs of rep's objects whose outcome is verb (NULL: any change but
 * "unchanged"), comma-separated (caller frees); NULL when none. */
static char *refs_with(const sync_report *rep, const char *verb) {
  buf b = {0};
  for (size_t i = 0; i < rep->objects.n; i++) {
    const char *v = rep->objects.items[i].verb;
    if (!v || (verb ? strcmp(v, verb) != 0 : strcmp(v, "unchanged") == 0 || strcmp(v, "pruned") == 0)) continue;
    buf_printf(&b, "%s%s", b.len ? ", " : "", rep->objects.items[i].ref);
  }
  return b.data;
}

/* What failed of rep, "REF: ERROR" each, or its error alone (caller frees). */
static char *failures_of(const sync_report *rep) {
  buf b = {0};
  for (size_t i = 0; i < rep->objects.n; i++)
    if (rep->objects.items[i].error)
      buf_printf(&b, "%s%s: %s", b.len ? "; " : "", rep->objects.items[i].ref, rep->objects.items[i].error);
  if (!b.len) buf_puts(&b, rep->error);
  return b.data;
}

/* A sync's end, as events and notifications: its result, and what it
 * pruned. A failure of a commit is news once until a sync succeeds, and a
 * success once until one fails. */
static void tell_sync(runner *r, const app_def *app, app_state *st, const build *b, const sync_report *rep) {
  if (rep->error) {
    char *why = failures_of(rep);
    run_notice(r, app, "Warning", "SyncFailed", "sync of %.7s failed: %s", b->rev.commit, why);
    run_notify_rearm(r, app, st, "on-sync-succeeded");
    run_notify(r, app, st, "on-sync-failed", b->rev.commit, why);
    free(why);
    return;
  }
  char *changed = refs_with(rep, NULL), *pruned = refs_with(rep, "pruned");
  run_notice(r, app, "Normal", "Synced", "synced %.7s%s%s", b->rev.commit, changed ? ": " : " (nothing changed)",
             changed ? changed : "");
  run_notify_rearm(r, app, st, "on-sync-failed");
  run_notify_rearm(r, app, st, "on-sync-running");
  run_notify(r, app, st, "on-sync-succeeded", b->rev.commit, changed);
  if (pruned) run_notice(r, app, "Normal", "Pruned", "pruned %s", pruned);
  free(changed);
  free(pruned);
}

/* Applies objs, logs each object, counts and times it. Prune waits a
 * little for a complete live view, and is left for a later pass without
 * one: a view still listing (after a restart of the runtime or of the API
 * server) would make objects that exist look gone. */
static void apply(runner *r, const app_def *app, app_state *st, const build *b, sync_report *rep) {
  double start = run_now();
  app_def policy = *app;
  /* build_at has refused the empty builds that are mistakes: one left
   * declares applications, or allow_empty permits it. */
  policy.allow_empty = true;
  char *partial = NULL;
  if (policy.prune && !run_view_complete(b->dest, &b->objs, 5, &partial)) policy.prune = false;
  /* Said before the first write: a sync cut short shows where it began. */
  fprintf(r->o->out, "%s: syncing %zu objects at %.7s to %s\n", app->name, b->objs.nres, b->rev.commit, b->dest->name);
  fflush(r->o->out);
  run_notice(r, app, "Normal", "SyncStarted", "syncing %zu objects at %.7s to %s", b->objs.nres, b->rev.commit,
             b->dest->name);
  /* Once per commit until a sync of it succeeds: retries of a failing
   * one are not news. */
  run_notify(r, app, st, "on-sync-running", b->rev.commit, NULL);
  run_view_lister l;
  sync_apply(b->dest->c, &policy, app_set_project(&r->defs, app->project), &b->all,
             run_view_candidates(b->dest, app, &l), rep);
  if (partial) {
    fprintf(r->o->out, "%s: not pruning: %s\n", app->name, partial);
    if (!rep->error) rep->error = heap_printf("not pruned: %s", partial);
    free(partial);
  }
  metrics_observe(r->fam.apply, (const char *[]){app->name}, run_now() - start);
  metrics_add(r->fam.syncs, (const char *[]){app->name, sync_status_name(rep->status)}, 1);
  for (size_t i = 0; i < rep->objects.n; i++) {
    const apply_outcome *oc = &rep->objects.items[i];
    fprintf(r->o->out, "%s: %s %s%s\n", app->name, oc->ref, oc->verb ? oc->verb : "failed: ", oc->error ? oc->error : "");
  }
  tell_sync(r, app, st, b, rep);
}

static void record(runner *r, const app_def *app, app_state *st, const build *b, const char *by,
                   const sync_report *rep) {
  history_sync s = {.commit = b->rev.commit, .subject = b->rev.subject, .author = b->rev.author,
                    .trigger = by ? by : "auto", .args = app->args, .nargs = app->nargs};
  if (history_record(r->c, r->home, app->name, &st->hist, &s, rep) != KUBE_OK)
    fprintf(r->o->out, "%s: cannot write its history: %s\n", app->name, kube_last_error(r->c));
}

/* Whether a rollback's pause still holds at commit; it ends when the
 * revision has moved on or a sync is asked for, and the end is saved. */
static bool paused(runner *r, const app_def *app, app_state *st, const char *commit, bool asked) {
  if (!*st->hist.rollback) return false;
  if (!asked && strcmp(st->hist.paused_at, commit) == 0) return true;
  fprintf(r->o->out, "%s: automated sync resumes after the rollback to %.7s (%s)\n", app->name, st->hist.rollback,
          asked ? "a sync was asked for" : "a new commit");
  *st->hist.rollback = *st->hist.paused_at = '\0';
  if (history_save(r->c, r->home, app->name, &st->hist) != KUBE_OK)
    fprintf(r->o->out, "%s: cannot write its history: %s\n", app->name, kube_last_error(r->c));
  return false;
}

/* Synced without a request when the live cache proves it; else the
 * server's dry runs say what differs. */
static void compare(const app_def *app, const build *b, sync_report *rep) {
  if (!run_view_unchanged(b->dest, app, &b->objs)) {
    run_view_lister l;
    sync_compare(b->dest->c, app, &b->objs, run_view_candidates(b->dest, app, &l), rep);
    return;
  }
  *rep = (sync_report){.status = SYNC_SYNCED, .diff = heap_strdup("")};
}

/* Health as notifications: Degraded is news once per commit until it is
 * Healthy again; deployed (Argo CD's on-deployed) is a commit applied in
 * full, then Synced and Healthy, once per commit. */
static void tell_health(runner *r, const app_def *app, app_state *st) {
  if (st->health == HEALTH_DEGRADED) run_notify(r, app, st, "on-health-degraded", st->commit, NULL);
  if (st->health != HEALTH_HEALTHY) return;
  run_notify_rearm(r, app, st, "on-health-degraded");
  if (st->status == SYNC_SYNCED && *st->hist.applied && strcmp(st->hist.applied, st->commit) == 0)
    run_notify(r, app, st, "on-deployed", st->commit, NULL);
}

/* The status after a pass, with the diff it found ("" once applied); a
 * change of health is told. */
static void settle(runner *r, const app_def *app, app_state *st, sync_report *rep, const build *b) {
  health_code was = st->health;
  st->status = rep->status;
  run_set_error(st, rep->error);
  free(st->diff);
  st->diff = heap_strdup(rep->diff ? rep->diff : "");
  run_assess(b->dest, app, st, &b->objs);
  if (st->assessed && st->health != was)
    run_notice(r, app, st->health == HEALTH_DEGRADED || st->health == HEALTH_MISSING ? "Warning" : "Normal",
               "HealthChanged", "health %s -> %s", health_name(was), health_name(st->health));
  st->assessed = true;
  tell_health(r, app, st);
}

/* SHA-256 of objs as JSON, each with its `app`: equal digests, equal
 * objects to apply. */
static void digest(const compile_result *objs, unsigned char out[32]) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  buf b = {0};
  if (!ctx) abort();
  EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  for (size_t i = 0; i < objs->nres; i++) {
    b.len = 0;
    buf_puts(&b, objs->res[i].app ? objs->res[i].app : "");
    buf_putc(&b, '\n');
    emit_json(&b, objs->res[i].obj, false, false);
    EVP_DigestUpdate(ctx, b.data, b.len + 1); /* the NUL ends each object */
  }
  EVP_DigestFinal_ex(ctx, out, NULL);
  EVP_MD_CTX_free(ctx);
  buf_free(&b);
}

/* Whether a pass would only repeat the last one: it built these objects,
 * ended without an error, and since it began the live view (complete for
 * their kinds) saw none of the application's objects change. Whatever
 * else the commit changed, there is nothing to compare, apply or record.
 * Not so for an automated application left OutOfSync, which a new commit
 * applies, nor during a rollback's pause, which a new commit ends. */
static bool repeats_last(const app_def *app, const app_state *st, const build *b, uint64_t version,
                         const unsigned char built[32]) {
  char *why;
  if (!b->dest->cache || st->error || st->status == SYNC_UNKNOWN || *st->hist.rollback ||
      (app->automated && st->status != SYNC_SYNCED) ||
      version != st->passed_version || memcmp(built, st->built, sizeof st->built) != 0)
    return false;
  bool complete = run_view_complete(b->dest, &b->objs, 0, &why);
  free(why);
  return complete;
}

/* Why app waits for b: b is not Synced and Healthy, or not there. */
static void note_unready(buf *why, const runner *r, const char *name) {
  size_t j = run_set_index(r, name);
  const app_state *st = j < r->napps ? &r->apps[j] : NULL;
  if (st && st->status == SYNC_SYNCED && st->health == HEALTH_HEALTHY && !st->error) return;
  buf_puts(why, why->len ? ", " : "waiting for ");
  if (!st) buf_printf(why, "%s (no such application)", name);
  else buf_printf(why, "%s (%s, %s)", name, sync_status_name(st->status), health_name(st->health));
}

char *run_app_waiting(const runner *r, const app_def *app) {
  buf why = {0};
  for (size_t i = 0; i < app->ndepends_on; i++) note_unready(&why, r, app->depends_on[i]);
  for (size_t i = 0; app->parent && i < r->napps; i++) {
    const app_def *sib = &r->defs.apps[i];
    if (sib->parent && strcmp(sib->parent, app->parent) == 0 && sib->wave < app->wave) note_unready(&why, r, sib->name);
  }
  return why.data;
}

/* An automated sync of commit that failed or not: past the retry limit
 * of failures in a row, the commit is left alone until another comes or
 * a sync is asked for (Argo CD's retry.limit). */
static void count_sync(const app_def *app, app_state *st, const char *commit, bool failed) {
  st->sync_failures = failed ? st->sync_failures + 1 : 0;
  if (app->retry_limit >= 0 && st->sync_failures > app->retry_limit) {
    snprintf(st->exhausted, sizeof st->exhausted, "%s", commit);
    st->sync_failures = 0;
  }
}

/* app with the config's ignore rules after its own (*merged, which the
 * caller frees, holds them). */
static app_def with_ignores(const runner *r, const app_def *app, app_ignore **merged) {
  app_def with = *app;
  size_t n = app->nignore + r->config.nignore;
  *merged = heap_alloc((n + 1) * sizeof **merged);
  if (app->nignore) memcpy(*merged, app->ignore, app->nignore * sizeof **merged);
  if (r->config.nignore) memcpy(*merged + app->nignore, r->config.ignore, r->config.nignore * sizeof **merged);
  with.ignore = *merged, with.nignore = n;
  return with;
}

static void pass(runner *r, const app_def *app, app_state *st, const run_pass *p);

void run_app_pass(runner *r, const app_def *app, app_state *st, const run_pass *p) {
  app_ignore *merged;
  app_def with = with_ignores(r, app, &merged);
  pass(r, &with, st, p);
  st->dirty = true;
  /* Its build waits for the next pass in compact form (source.h). */
  source_builds_release(st->builds);
  run_notify_out_of_sync(r, app, st);
  free(merged);
}

static void pass(runner *r, const app_def *app, app_state *st, const run_pass *p) {
  double start = run_now();
  build b;
  unsigned char built[32];
  bool asked = p->asked && !p->dry_run, fetch = p->asked || p->fetch || !st->stay_local;
  st->stay_local = false;
  st->passed_at = time(NULL);
  if (!build_at(r, app, st, app->revision, fetch, &b)) {
    metrics_observe(r->fam.reconcile, (const char *[]){app->name}, run_now() - start);
    return;
  }
  run_children_offer(st, &b.kids);
  /* Taken before anything is read from the cluster: a change after this
   * brings another pass. */
  uint64_t version = b.dest->cache ? cache_app_version(b.dest->cache, app->name) : 0;
  run_view_watch(r, b.dest, &b.objs);
  digest(&b.all, built);
  if (!p->asked && !p->fetch && repeats_last(app, st, &b, version, built)) {
    free(b.objs.res), free(b.all.res);
    metrics_observe(r->fam.reconcile, (const char *[]){app->name}, run_now() - start);
    return;
  }
  st->passed_version = version;
  memcpy(st->built, built, sizeof st->built);
  free(st->waiting);
  st->waiting = app->automated ? run_app_waiting(r, app) : NULL;
  /* A sync window that is shut stops a sync asked for too, unless it
   * lets manual syncs through. */
  arena *wa = arena_new();
  const char *shut = app_window_blocks(app_set_project(&r->defs, app->project), app, time(NULL), asked, wa);
  free(st->window);
  st->window = shut ? heap_strdup(shut) : NULL;
  arena_free(wa);
  if (st->window) asked = false;
  if (strcmp(st->exhausted, b.rev.commit) != 0 || asked) *st->exhausted = '\0';
  bool automated = app->automated && !st->waiting && !st->window && !*st->exhausted && !st->hist.suspended &&
                   !p->dry_run &&
                   !paused(r, app, st, b.rev.commit, asked);
  /* Never applied: the first sync goes ahead without a dry run, which
   * would fail anyway for objects of a namespace not yet made. */
  sync_report rep = {.status = SYNC_OUT_OF_SYNC};
  if (!asked && (*st->hist.applied || !automated)) compare(app, &b, &rep);
  bool new_commit = strcmp(st->hist.applied, b.rev.commit) != 0;
  /* Drift: the cluster left the commit it was synced to. */
  if (rep.status == SYNC_OUT_OF_SYNC && !new_commit && st->status == SYNC_SYNCED)
    metrics_add(r->fam.drift, (const char *[]){app->name}, 1);
  /* The lease again: it may have been lost while the build and the
   * comparison ran. */
  bool writer = run_holds(r, app, st);
  bool record_it = writer && new_commit && rep.status == SYNC_SYNCED;
  if (writer && (asked || (automated && rep.status != SYNC_SYNCED &&
                           (new_commit || app->self_heal || rep.status == SYNC_UNKNOWN)))) {
    app_def chosen = *app;
    if (asked && p->prune) chosen.prune = p->prune > 0;
    sync_report_free(&rep);
    apply(r, &chosen, st, &b, &rep);
    record_it = true;
    /* Nothing new to apply, yet objects changed: self-heal undid drift. */
    char *undone = !asked && !new_commit && !rep.error ? refs_with(&rep, NULL) : NULL;
    if (undone) {
      run_notice(r, app, "Normal", "DriftReverted", "undid changes made in the cluster to %s", undone);
      /* Each undoing is news: the time tells one from the next. */
      char *key = heap_printf("%s@%lld", b.rev.commit, (long long)time(NULL));
      run_notify(r, app, st, "on-drift-reverted", key, undone);
      free(key);
    }
    free(undone);
    if (!asked) count_sync(app, st, b.rev.commit, rep.error != NULL);
  }
  if (record_it && !p->dry_run) record(r, app, st, &b, asked ? p->by : NULL, &rep);
  settle(r, app, st, &rep, &b);
  sync_report_free(&rep);
  free(b.objs.res), free(b.all.res);
  metrics_observe(r->fam.reconcile, (const char *[]){app->name}, run_now() - start);
}

static void rollback(runner *r, const app_def *app, app_state *st, const char *commit, long long id,
                     const char *by) {
  build b;
  source_rev head;
  st->passed_at = time(NULL);
  if (!build_at(r, app, st, commit, true, &b)) return;
  /* What it declares follows the revision, not the rollback. */
  run_children_free(&b.kids);
  if (source_resolve(b.s, app->revision, &head) != SOURCE_OK) {
    fail(st, source_last_error(b.s));
    free(b.objs.res), free(b.all.res);
    return;
  }
  fprintf(r->o->out, "%s: rolling back to history entry %lld, %.7s\n", app->name, id, b.rev.commit);
  sync_report rep;
  apply(r, app, st, &b, &rep);
  if (!rep.error) run_notice(r, app, "Normal", "RolledBack", "rolled back to history entry %lld, %.7s", id, b.rev.commit);
  /* Paused before it is recorded: one write keeps both. */
  memcpy(st->hist.rollback, b.rev.commit, sizeof st->hist.rollback);
  memcpy(st->hist.paused_at, head.commit, sizeof st->hist.paused_at);
  record(r, app, st, &b, by, &rep);
  settle(r, app, st, &rep, &b);
  sync_report_free(&rep);
  free(b.objs.res), free(b.all.res);
}

/* A rollback builds what history entry id was built from: its revision and
 * its args, not the application's args of now. */
void run_app_rollback(runner *r, const app_def *app, app_state *st, const char *commit, long long id,
                      const char *by) {
  json_t *entries = json_loads(st->hist.entries, 0, NULL);
  const json_t *e = history_pick(entries, st->hist.applied, true, id);
  app_def then = *app;
  const char **args = NULL;
  if (e) {
    then.nargs = history_args(e, &args);
    then.args = args;
  }
  app_ignore *merged;
  app_def with = with_ignores(r, &then, &merged);
  rollback(r, &with, st, commit, id, by);
  st->dirty = true;
  source_builds_release(st->builds);
  free(merged);
  free(args);
  json_decref(entries);
}

void run_app_suspend(runner *r, const app_def *app, app_state *st, bool suspend, const char *by) {
  if (st->hist.suspended == suspend) return;
  st->hist.suspended = suspend;
  st->dirty = true;
  fprintf(r->o->out, "%s: automated sync %s by %s\n", app->name, suspend ? "suspended" : "resumed", by ? by : "?");
  if (history_save(r->c, r->home, app->name, &st->hist) != KUBE_OK)
    fprintf(r->o->out, "%s: cannot write its history: %s\n", app->name, kube_last_error(r->c));
}
