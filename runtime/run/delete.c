/* delete.c: applications removed with cascade_delete, their objects
 * deleted.
 *
 * An application of the config with cascade_delete "background" or
 * "foreground", as Argo CD's resources finalizer, is deleted with its
 * objects when the config no longer declares it. Only the config's own
 * applications do so, when the config compiled, and Application objects
 * deleted while the runtime's finalizer holds them (objects.c), which goes
 * last: a child an app of apps stops declaring leaves its objects, as a
 * refused definition does.
 *
 * A deletion goes in steps, one step of each deletion a round of the
 * loop, so that none holds the loop: its PreDelete hooks, wave by wave,
 * each created then read back at the next rounds until healthy; then, a
 * round at a time, the objects of the highest sync wave left that carry
 * its mark, by their uid, until none is left; then its PostDelete hooks;
 * then the hooks whose policy says HookSucceeded go, and last its
 * history. The hooks are those of its last build that compiled, recorded
 * with the deletion: the source may be gone by then. The history records
 * each step before it is taken (deleting, the cluster, the step, the
 * hooks), so that a runtime killed half way goes on where it was; a hook
 * created again after a restart runs again, never an object deleted before
 * its PreDelete hooks succeeded. A hook that fails holds the deletion where
 * it is, and its wave is tried again later. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A wave of hooks that failed is created anew this long after. */
enum { RETRY_S = 30 };

/* The steps, as the history names them. */
enum { PRE, OBJECTS, POST, CLEANUP, DONE };
static const char *const step_names[] = {"PreDelete", "objects", "PostDelete", "cleanup", "done"};

bool run_delete_pending(const runner *r, const char *name) {
  for (size_t i = 0; i < r->ndeletions; i++)
    if (strcmp(r->deletions[i].name, name) == 0) return true;
  return false;
}

static void free_deletion(run_deletion *d) {
  free(d->name);
  history_free(&d->hist);
  json_decref(d->hooks);
}

/* Takes d (consumed). */
static void add(runner *r, run_deletion *d) {
  r->deletions = heap_realloc(r->deletions, (r->ndeletions + 1) * sizeof *r->deletions);
  r->deletions[r->ndeletions++] = *d;
}

static void drop(runner *r, size_t i) {
  free_deletion(&r->deletions[i]);
  r->deletions[i] = r->deletions[--r->ndeletions];
}

/* d's step as its history says it: "PreDelete", "PreDelete wave 2" (to be
 * created), "PreDelete wave 2 created", "objects", "PostDelete ...",
 * "cleanup", "done". */
static void step_text(const run_deletion *d, char *out, size_t len) {
  if ((d->step != PRE && d->step != POST) || d->run.wave == LONG_MIN)
    snprintf(out, len, "%s", step_names[d->step]);
  else
    snprintf(out, len, "%s wave %ld%s", step_names[d->step], d->run.wave, d->run.created ? " created" : "");
}

/* What step_text wrote; anything else (a history from before the steps)
 * is the first step. */
static void step_read(run_deletion *d, const char *text) {
  char word[16] = "", tail[16] = "";
  long wave = LONG_MIN;
  sscanf(text, "%15s wave %ld %15s", word, &wave, tail);
  d->step = PRE;
  for (int s = PRE; s <= DONE; s++)
    if (strcmp(word, step_names[s]) == 0) d->step = s;
  d->run = (apply_hook_run){.wave = wave, .created = wave != LONG_MIN && strcmp(tail, "created") == 0};
}

/* Whether step s has anything to do for d. */
static bool has_work(const run_deletion *d, int s) {
  long wave;
  switch (s) {
  case PRE: return apply_delete_hooks_wave(d->hooks, APPLY_HOOK_PRE_DELETE, LONG_MIN, &wave);
  case POST: return apply_delete_hooks_wave(d->hooks, APPLY_HOOK_POST_DELETE, LONG_MIN, &wave);
  case CLEANUP: return json_array_size(d->hooks) > 0;
  default: return true;
  }
}

/* Writes d's step to its history; false, said, when it cannot be. */
static bool save(runner *r, run_deletion *d) {
  step_text(d, d->hist.delete_step, sizeof d->hist.delete_step);
  if (history_save(r->c, r->home, d->name, &d->hist) == KUBE_OK) return true;
  fprintf(r->o->out, "%s: cannot record the step of its deletion (%s): %s\n", d->name, d->hist.delete_step,
          kube_last_error(r->c));
  return false;
}

/* Moves d to the first step from s on that has work. */
static void go_to(run_deletion *d, int s) {
  while (s < DONE && !has_work(d, s)) s++;
  d->step = s;
  d->run = (apply_hook_run){.wave = LONG_MIN};
}

void run_delete_keep_hooks(run_dest *dest, const app_def *app, app_state *st, const compile_result *all) {
  /* Those naming no namespace go to the application's, as in a sync. */
  kube_client_set_namespace(dest->c, app->namespace);
  json_t *hooks = apply_delete_hooks(dest->c, all, app->name);
  free(st->delete_hooks);
  st->delete_hooks = json_dumps(hooks, JSON_COMPACT);
  json_decref(hooks);
}

/* Why app's deletion cannot begin (caller frees), or NULL. */
static char *unready(const app_state *st) {
  if (!st->delete_hooks)
    return heap_strdup("no build of it has compiled since the runtime started, so its PreDelete and PostDelete "
                       "hooks are not known");
  size_t size = strlen(st->delete_hooks);
  if (size > HISTORY_HOOKS_MAX)
    return heap_printf("its PreDelete and PostDelete hooks take %zu bytes, more than its history holds (%d)", size,
                       HISTORY_HOOKS_MAX);
  return NULL;
}

void run_delete_begin(runner *r, const app_def *app, app_state *st) {
  if (run_delete_pending(r, app->name)) return;
  char *why = unready(st);
  if (why) {
    fprintf(r->o->out, "%s: its objects cannot be deleted: %s; they stay\n", app->name, why);
    free(why);
    return;
  }
  run_deletion d = {.name = heap_strdup(app->name), .hist = st->hist, .hooks = json_loads(st->delete_hooks, 0, NULL)};
  d.hist.entries = heap_strdup(st->hist.entries);
  d.hist.delete_hooks = json_array_size(d.hooks) ? heap_strdup(st->delete_hooks) : NULL;
  snprintf(d.hist.deleting, sizeof d.hist.deleting, "%s", app->cascade);
  snprintf(d.hist.cluster, sizeof d.hist.cluster, "%s", app->cluster);
  go_to(&d, PRE);
  if (!save(r, &d)) {
    /* Not recorded, not begun: the objects stay rather than be deleted by
     * a runtime that could not say so. */
    fprintf(r->o->out, "%s: its objects are not deleted; they stay\n", app->name);
    free_deletion(&d);
    return;
  }
  fprintf(r->o->out, "%s: %s; deleting its objects (cascade_delete: %s)\n", app->name,
          app->object ? "its Application object is being deleted" : "no longer declared by the config repository",
          app->cascade);
  add(r, &d);
}

void run_delete_object(runner *r, const app_def *app) {
  app_state st = {0};
  if (history_load(r->c, r->home, app->name, &st.hist) != KUBE_OK) {
    fprintf(r->o->out, "%s: cannot read its history to delete its objects: %s\n", app->name, kube_last_error(r->c));
    history_free(&st.hist);
    return;
  }
  /* Its hooks, from a build of its own: this runtime has not managed it. */
  if (run_app_build_hooks(r, app, &st)) run_delete_begin(r, app, &st);
  history_free(&st.hist);
  free(st.delete_hooks);
}

void run_delete_resume(runner *r) {
  json_t *names = history_deleting(r->c, r->home);
  /* Read again from the histories: while this runtime stood by, another
   * may have led them on. */
  while (names && r->ndeletions) drop(r, r->ndeletions - 1);
  size_t i;
  json_t *n;
  json_array_foreach(names, i, n) {
    const char *name = json_string_value(n);
    run_deletion d = {0};
    if (run_set_index(r, name) < r->napps || history_load(r->c, r->home, name, &d.hist) != KUBE_OK) {
      history_free(&d.hist);
      continue;
    }
    d.name = heap_strdup(name);
    d.hooks = d.hist.delete_hooks ? json_loads(d.hist.delete_hooks, 0, NULL) : NULL;
    if (!json_is_array(d.hooks)) json_decref(d.hooks), d.hooks = json_array();
    step_read(&d, d.hist.delete_step);
    if (!has_work(&d, d.step)) go_to(&d, d.step);
    char at[48];
    step_text(&d, at, sizeof at);
    fprintf(r->o->out, "%s: going on deleting its objects (cascade_delete: %s), at the step %s\n", name,
            d.hist.deleting, at);
    add(r, &d);
  }
  json_decref(names);
}

/* Declared again: its deletion stops, and its history says so. */
static void stop(runner *r, size_t i, size_t k) {
  history *h = &r->apps[k].hist;
  fprintf(r->o->out, "%s: declared again; the deletion of its objects stops\n", r->deletions[i].name);
  *h->deleting = *h->cluster = *h->delete_step = '\0';
  free(h->delete_hooks);
  h->delete_hooks = NULL;
  history_save(r->c, r->home, r->deletions[i].name, h);
  run_objects_release(r, r->deletions[i].name);
  drop(r, i);
}

/* Logs what a step did (res, freed); true when it did anything. */
static bool tell(runner *r, const run_deletion *d, apply_result *res) {
  for (size_t j = 0; j < res->n; j++)
    fprintf(r->o->out, "%s: %s %s%s\n", d->name, res->items[j].ref,
            res->items[j].verb ? res->items[j].verb : "failed: ", res->items[j].error ? res->items[j].error : "");
  bool did = res->n > 0;
  apply_result_free(res);
  return did;
}

/* A hook failed, or could not be cleaned up: said, and tried again later. */
static void held(runner *r, run_deletion *d, const char *why) {
  fprintf(r->o->out, "%s: %s; %s, tried again in %d s\n", d->name, why,
          d->step == PRE ? "its objects stay" : "its deletion waits", RETRY_S);
  d->retry_at = run_now() + RETRY_S;
}

/* A step of the PreDelete or PostDelete hooks. */
static bool run_hooks(runner *r, run_deletion *d, run_dest *dest) {
  apply_result res = {0};
  apply_opts o = {.result = &res};
  char *why, before[48];
  step_text(d, before, sizeof before);
  apply_hook phase = d->step == PRE ? APPLY_HOOK_PRE_DELETE : APPLY_HOOK_POST_DELETE;
  apply_hooks_state s = apply_delete_hooks_step(dest->c, d->hooks, phase, d->name, &d->run, run_now(), &why, &o);
  bool did = tell(r, d, &res);
  if (s == APPLY_HOOKS_FAILED) held(r, d, why);
  free(why);
  if (s == APPLY_HOOKS_DONE) go_to(d, d->step + 1);
  step_text(d, d->hist.delete_step, sizeof d->hist.delete_step);
  if (d->step < DONE && strcmp(before, d->hist.delete_step) != 0) save(r, d);
  return did || s == APPLY_HOOKS_DONE;
}

/* A step of the objects: the highest wave left. */
static bool delete_objects(runner *r, run_deletion *d, run_dest *dest) {
  apply_result res = {0};
  apply_opts o = {.result = &res};
  size_t left = 0;
  const char *propagation = strcmp(d->hist.deleting, "foreground") ? "Background" : "Foreground";
  int failed = apply_delete_owned(dest->c, d->name, propagation, &left, &o);
  bool did = tell(r, d, &res);
  if (left || failed) return did;
  go_to(d, POST);
  if (d->step < DONE) save(r, d);
  return did;
}

/* The hooks whose policy says HookSucceeded go, and are waited for. */
static bool clean_up(runner *r, run_deletion *d, run_dest *dest) {
  apply_result res = {0};
  apply_opts o = {.result = &res};
  char *why;
  apply_hooks_state s = apply_delete_hooks_cleanup(dest->c, d->hooks, d->name, &why, &o);
  bool did = tell(r, d, &res);
  if (s == APPLY_HOOKS_FAILED) held(r, d, why);
  free(why);
  if (s == APPLY_HOOKS_DONE) d->step = DONE;
  return did;
}

/* Its history goes last; true when it went. */
static bool end(runner *r, const run_deletion *d) {
  if (history_delete(r->c, r->home, d->name) != KUBE_OK) {
    fprintf(r->o->out, "%s: its objects are deleted, its history not yet: %s\n", d->name, kube_last_error(r->c));
    return false;
  }
  fprintf(r->o->out, "%s: deleted, with its objects\n", d->name);
  run_objects_release(r, d->name);
  return true;
}

bool run_delete_step(runner *r) {
  bool changed = false;
  for (size_t i = r->ndeletions; i-- > 0;) {
    run_deletion *d = &r->deletions[i];
    size_t k = run_set_index(r, d->name);
    if (k < r->napps) {
      stop(r, i, k);
      continue;
    }
    if (run_now() < d->retry_at || !run_owns_named(r, d->name, d->hist.cluster)) continue;
    char *why = NULL;
    run_dest *dest = run_dest_get(r, d->hist.cluster, &why);
    if (!dest) {
      fprintf(r->o->out, "%s: cannot delete its objects yet: %s\n", d->name, why);
      free(why);
      continue;
    }
    if (d->step == PRE || d->step == POST) changed |= run_hooks(r, d, dest);
    else if (d->step == OBJECTS) changed |= delete_objects(r, d, dest);
    else if (d->step == CLEANUP) changed |= clean_up(r, d, dest);
    if (d->step == DONE && end(r, d)) {
      drop(r, i);
      changed = true;
    }
  }
  return changed;
}

void run_delete_free(runner *r) {
  while (r->ndeletions) drop(r, r->ndeletions - 1);
  free(r->deletions);
}
