/* set.c: the set of applications `plumb run` manages: those of the config
 * repository, and those their builds declare (app of apps), to any depth.
 *
 * A pass reads what its build declares and leaves it pending (passes walk
 * r->apps by index and hold pointers into r->defs, so nothing may move
 * under them); between passes the loop regroups the set: the config's
 * applications first, then breadth first the children of each, a name
 * taken already refused. An application keeps its state by name across
 * regroupings, and its children across failures: only a build that reads
 * replaces them. */
#include <stdlib.h>
#include <string.h>

#include "run/internal.h"

void run_children_free(run_children *kids) {
  arena_free(kids->a);
  *kids = (run_children){0};
}

bool run_children_read(runner *r, const app_def *app, const compile_result *res, run_children *out, char **err) {
  *out = (run_children){.a = arena_new()};
  *err = NULL;
  diag_list d;
  diag_init(&d, out->a);
  d.sources = res->diags.sources; /* to quote the lines */
  if (!app_set_read_children(&out->set, out->a, res, &r->config, app->name, &d)) return true;
  *err = run_diagnostics(&d);
  run_children_free(out);
  return false;
}

static bool children_equal(const run_children *a, const run_children *b) {
  if (a->set.napps != b->set.napps) return false;
  for (size_t i = 0; i < a->set.napps; i++)
    if (!app_def_equal(&a->set.apps[i], &b->set.apps[i])) return false;
  return true;
}

void run_children_offer(app_state *st, run_children *kids) {
  run_children_free(&st->pending);
  if (children_equal(&st->children, kids)) run_children_free(kids);
  else st->pending = *kids;
  *kids = (run_children){0};
}

size_t run_set_index(const runner *r, const char *name) {
  size_t i = 0;
  /* adopt empties the states it moves */
  while (i < r->napps && !(r->apps[i].name && strcmp(r->apps[i].name, name) == 0)) i++;
  return i;
}

static void state_free(app_state *st) {
  free(st->name);
  free(st->error);
  free(st->diff);
  free(st->refused);
  free(st->resources);
  free(st->manifests);
  source_builds_free(st->builds);
  history_free(&st->hist);
  run_children_free(&st->children);
  run_children_free(&st->pending);
}

/* Takes defs (n of them, malloc'd) for the set, keeping the state of the
 * applications that stay; the children they were offered become theirs
 * (regroup read those, not the ones they replace). */
static void adopt(runner *r, app_def *defs, size_t n) {
  app_state *apps = heap_calloc(n + 1, sizeof *apps);
  for (size_t i = 0; i < n; i++) {
    size_t k = run_set_index(r, defs[i].name);
    if (k < r->napps) {
      apps[i] = r->apps[k];
      r->apps[k] = (app_state){0};
      /* A changed definition may change what is built: a full pass. */
      if (!app_def_equal(&r->defs.apps[k], &defs[i])) memset(apps[i].built, 0, sizeof apps[i].built);
      continue;
    }
    apps[i] = (app_state){.name = heap_strdup(defs[i].name), .health = HEALTH_UNKNOWN,
                          /* a new tree makes a new result: the old is not needed */
                          .builds = source_builds_new(1, &r->limits)};
    run_metrics_start_app(r, apps[i].name);
    if (history_load(r->c, r->home, apps[i].name, &apps[i].hist) != KUBE_OK)
      fprintf(r->o->out, "%s: cannot read its history: %s\n", apps[i].name, kube_last_error(r->c));
  }
  for (size_t k = 0; k < r->napps; k++) state_free(&r->apps[k]);
  free(r->apps);
  free(r->defs.apps);
  r->apps = apps;
  r->napps = r->defs.napps = n;
  r->defs.apps = defs;
  for (size_t i = 0; i < n; i++)
    if (apps[i].pending.a) {
      run_children_free(&apps[i].children);
      apps[i].children = apps[i].pending;
      apps[i].pending = (run_children){0};
    }
}

/* ---- regrouping ------------------------------------------------------------ */

/* The set being formed: definitions (copies; their strings stay where they
 * were read) and, for each, why children of it were refused. */
typedef struct {
  app_def *defs;
  char **refused;
  size_t n, cap;
} forming;

static void join(forming *f, const app_def *def) {
  if (f->n == f->cap) {
    f->cap = f->cap ? 2 * f->cap : 16;
    f->defs = heap_realloc(f->defs, f->cap * sizeof *f->defs);
    f->refused = heap_realloc(f->refused, f->cap * sizeof *f->refused);
  }
  f->defs[f->n] = *def;
  f->refused[f->n++] = NULL;
}

static size_t def_named(const app_def *defs, size_t n, const char *name) {
  size_t i = 0;
  while (i < n && strcmp(defs[i].name, name) != 0) i++;
  return i;
}

/* "the config repository" or "application P" (caller frees). */
static char *declarer(const app_def *d) {
  return d->parent ? heap_printf("application %s", d->parent) : heap_strdup("the config repository");
}

/* Adds to *why (a line each) that kid is refused: owner has its name. */
static void refuse(char **why, const app_def *kid, const app_def *owner) {
  char *by = declarer(owner);
  char *more = heap_printf("%s%s%s:%d:%d: error: application %s is refused: an application of that name is declared by "
                           "%s at %s:%d:%d",
                           *why ? *why : "", *why ? "\n" : "", kid->at.file, kid->at.line, kid->at.col, kid->name, by,
                           owner->at.file, owner->at.line, owner->at.col);
  free(by);
  free(*why);
  *why = more;
}

/* Logs who joins the set by a build, and who leaves it; true when any
 * joins. */
static bool note_changes(runner *r, const forming *f) {
  bool joined = false;
  for (size_t i = 0; i < f->n; i++) {
    if (run_set_index(r, f->defs[i].name) < r->napps) continue;
    joined = true;
    if (!f->defs[i].parent) continue;
    char *by = declarer(&f->defs[i]);
    fprintf(r->o->out, "%s: declared by %s; managed from now on\n", f->defs[i].name, by);
    free(by);
  }
  for (size_t k = 0; k < r->napps; k++) {
    if (def_named(f->defs, f->n, r->apps[k].name) < f->n) continue;
    char *by = declarer(&r->defs.apps[k]);
    fprintf(r->o->out, "%s: no longer declared by %s; not managed any more, its objects stay in the cluster\n",
            r->apps[k].name, by);
    free(by);
  }
  return joined;
}

static bool regroup(runner *r) {
  forming f = {0};
  for (size_t i = 0; i < r->config.napps; i++) join(&f, &r->config.apps[i]);
  for (size_t i = 0; i < f.n; i++) {
    size_t k = run_set_index(r, f.defs[i].name);
    if (k == r->napps) continue; /* new: no build read yet */
    const run_children *kids = r->apps[k].pending.a ? &r->apps[k].pending : &r->apps[k].children;
    for (size_t j = 0; j < kids->set.napps; j++) {
      const app_def *kid = &kids->set.apps[j];
      size_t taken = def_named(f.defs, f.n, kid->name);
      if (taken < f.n) refuse(&f.refused[i], kid, &f.defs[taken]);
      else join(&f, kid);
    }
  }
  bool joined = note_changes(r, &f);
  adopt(r, f.defs, f.n);
  for (size_t i = 0; i < f.n; i++) {
    free(r->apps[i].refused);
    r->apps[i].refused = f.refused[i];
  }
  free(f.refused);
  return joined;
}

bool run_set_regroup(runner *r) {
  for (size_t i = 0; i < r->napps; i++)
    if (r->apps[i].pending.a) return regroup(r);
  return false;
}

void run_set_config(runner *r, arena *a, const app_set *config) {
  arena *old = r->config_arena;
  r->config = *config;
  r->config_arena = a;
  r->defs.projects = config->projects;
  r->defs.nprojects = config->nprojects;
  regroup(r);
  arena_free(old);
}

void run_set_forget(runner *r) {
  adopt(r, NULL, 0);
  arena_free(r->config_arena);
  r->config_arena = NULL;
  r->config = r->defs = (app_set){0};
}
