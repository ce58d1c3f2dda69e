/* delete.c: applications removed with cascade_delete, their objects
 * deleted.
 *
 * An application of the config with cascade_delete "background" or
 * "foreground", as Argo CD's resources finalizer, is deleted with its
 * objects when the config no longer declares it: its history says so
 * first (deleting, and the cluster), so that a runtime killed half way
 * goes on after a restart; then a step each round deletes the objects of
 * the highest sync wave left that carry its mark, by their uid, until
 * none is left; then its history goes. Only the config's own applications
 * do so, when the config compiled, and Application objects deleted while
 * the runtime's finalizer holds them (objects.c), which goes last: a
 * child an app of apps stops declaring leaves its objects, as a refused
 * definition does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool run_delete_pending(const runner *r, const char *name) {
  for (size_t i = 0; i < r->ndeletions; i++)
    if (strcmp(r->deletions[i].name, name) == 0) return true;
  return false;
}

static void add(runner *r, const char *name, const char *cluster, const char *propagation) {
  if (run_delete_pending(r, name)) return;
  r->deletions = heap_realloc(r->deletions, (r->ndeletions + 1) * sizeof *r->deletions);
  r->deletions[r->ndeletions++] = (run_deletion){heap_strdup(name), heap_strdup(cluster), heap_strdup(propagation)};
}

static void drop(runner *r, size_t i) {
  free(r->deletions[i].name), free(r->deletions[i].cluster), free(r->deletions[i].propagation);
  r->deletions[i] = r->deletions[--r->ndeletions];
}

/* Records that app's objects are to be deleted in its history h, then
 * adds the deletion. */
static void begin(runner *r, const app_def *app, history *h) {
  snprintf(h->deleting, sizeof h->deleting, "%s", app->cascade);
  snprintf(h->cluster, sizeof h->cluster, "%s", app->cluster);
  if (history_save(r->c, r->home, app->name, h) != KUBE_OK) {
    /* Not recorded, not begun: the objects stay rather than be deleted by
     * a runtime that could not say so. */
    fprintf(r->o->out, "%s: cannot record that its objects are to be deleted: %s; they stay\n", app->name,
            kube_last_error(r->c));
    return;
  }
  fprintf(r->o->out, "%s: %s; deleting its objects (cascade_delete: %s)\n", app->name,
          app->object ? "its Application object is being deleted" : "no longer declared by the config repository",
          app->cascade);
  add(r, app->name, app->cluster, app->cascade);
}

void run_delete_begin(runner *r, const app_def *app, app_state *st) { begin(r, app, &st->hist); }

void run_delete_object(runner *r, const app_def *app) {
  history h;
  if (history_load(r->c, r->home, app->name, &h) != KUBE_OK) {
    fprintf(r->o->out, "%s: cannot read its history to delete its objects: %s\n", app->name, kube_last_error(r->c));
    return;
  }
  begin(r, app, &h);
  history_free(&h);
}

void run_delete_resume(runner *r) {
  json_t *names = history_deleting(r->c, r->home);
  size_t i;
  json_t *n;
  json_array_foreach(names, i, n) {
    const char *name = json_string_value(n);
    history h;
    if (run_set_index(r, name) < r->napps || history_load(r->c, r->home, name, &h) != KUBE_OK) continue;
    fprintf(r->o->out, "%s: going on deleting its objects (cascade_delete: %s)\n", name, h.deleting);
    add(r, name, h.cluster, h.deleting);
    history_free(&h);
  }
  json_decref(names);
}

/* Declared again: its deletion stops, and its history says so. */
static void stop(runner *r, size_t i, size_t k) {
  fprintf(r->o->out, "%s: declared again; the deletion of its objects stops\n", r->deletions[i].name);
  *r->apps[k].hist.deleting = *r->apps[k].hist.cluster = '\0';
  history_save(r->c, r->home, r->deletions[i].name, &r->apps[k].hist);
  run_objects_release(r, r->deletions[i].name);
  drop(r, i);
}

bool run_delete_step(runner *r) {
  bool changed = false;
  for (size_t i = r->ndeletions; i-- > 0;) {
    run_deletion *d = &r->deletions[i];
    size_t k = run_set_index(r, d->name), left = 0;
    if (k < r->napps) {
      stop(r, i, k);
      continue;
    }
    char *why = NULL;
    run_dest *dest = run_dest_get(r, d->cluster, &why);
    if (!dest) {
      fprintf(r->o->out, "%s: cannot delete its objects yet: %s\n", d->name, why);
      free(why);
      continue;
    }
    apply_result res = {0};
    apply_opts o = {.result = &res};
    int failed = apply_delete_owned(dest->c, d->name, strcmp(d->propagation, "foreground") ? "Background" : "Foreground",
                                    &left, &o);
    for (size_t j = 0; j < res.n; j++)
      fprintf(r->o->out, "%s: %s %s%s\n", d->name, res.items[j].ref, res.items[j].verb ? res.items[j].verb : "failed: ",
              res.items[j].error ? res.items[j].error : "");
    changed |= res.n > 0;
    apply_result_free(&res);
    if (left || failed) continue;
    if (history_delete(r->c, r->home, d->name) != KUBE_OK) {
      fprintf(r->o->out, "%s: its objects are deleted, its history not yet: %s\n", d->name, kube_last_error(r->c));
      continue;
    }
    fprintf(r->o->out, "%s: deleted, with its objects\n", d->name);
    run_objects_release(r, d->name);
    drop(r, i);
    changed = true;
  }
  return changed;
}

void run_delete_free(runner *r) {
  while (r->ndeletions) drop(r, r->ndeletions - 1);
  free(r->deletions);
}
