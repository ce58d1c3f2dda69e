/* set.c: the set of applications `plumb run` manages: those of the config
 * repository, and those their builds declare (app of apps), to any depth;
 * then those of Application objects in the cluster (objects.c), and theirs.
 *
 * A pass reads what its build declares and leaves it pending (passes walk
 * r->apps by index and hold pointers into r->defs, so nothing may move
 * under them); between passes the loop regroups the set: the config's
 * applications first, then breadth first the children of each, then the
 * cluster's objects and theirs in the same way, a name taken already
 * refused: an object can take no name the config's tree holds. An
 * application keeps its state by name across regroupings, and its children
 * across failures: only a build that reads replaces them. */
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
  /* Its projects: the config's and the cluster's. */
  app_set projects = {.projects = r->defs.projects, .nprojects = r->defs.nprojects,
                      .notifiers = r->config.notifiers, .nnotifiers = r->config.nnotifiers};
  int errors = app_set_read_children(&out->set, out->a, res, &projects, app->name, &d);
  /* Those projects go with the config that holds them, which a later
   * commit replaces while the children stay: regroup checks them again. */
  out->set.projects = NULL;
  out->set.nprojects = 0;
  if (!errors) return true;
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
  json_t *at = json_object_get(r->index, name);
  size_t i = at ? (size_t)json_integer_value(at) : r->napps;
  /* adopt empties the states it moves */
  return i < r->napps && r->apps[i].name && strcmp(r->apps[i].name, name) == 0 ? i : r->napps;
}

static void state_free(app_state *st) {
  free(st->name);
  free(st->error);
  free(st->warnings);
  free(st->waiting);
  free(st->window);
  free(st->diff);
  free(st->refused);
  json_decref(st->resources);
  json_decref(st->manifests);
  free(st->delete_hooks);
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
    /* Sharded, its history is read when its shard is taken. */
    if (!r->shards) run_app_take(r, &apps[i]);
  }
  for (size_t k = 0; k < r->napps; k++) state_free(&r->apps[k]);
  free(r->apps);
  free(r->defs.apps);
  r->apps = apps;
  r->napps = r->defs.napps = n;
  r->defs.apps = defs;
  json_decref(r->index);
  r->index = n ? json_object() : NULL;
  for (size_t i = 0; i < n; i++) json_object_set_new(r->index, defs[i].name, json_integer((json_int_t)i));
  r->adopted++;
  r->republish = true;
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
  json_t *index; /* name: i */
} forming;

static void join(forming *f, const app_def *def) {
  if (f->n == f->cap) {
    f->cap = f->cap ? 2 * f->cap : 16;
    f->defs = heap_realloc(f->defs, f->cap * sizeof *f->defs);
    f->refused = heap_realloc(f->refused, f->cap * sizeof *f->refused);
  }
  if (!f->index) f->index = json_object();
  json_object_set_new(f->index, def->name, json_integer((json_int_t)f->n));
  f->defs[f->n] = *def;
  f->refused[f->n++] = NULL;
}

/* The index in f of the application named name, f->n when none. */
static size_t def_named(const forming *f, const char *name) {
  json_t *at = json_object_get(f->index, name);
  return at ? (size_t)json_integer_value(at) : f->n;
}

char *run_declarer(const app_def *d) {
  return d->parent   ? heap_printf("application %s", d->parent)
         : d->object ? heap_printf("the Application object %s", d->object)
                     : heap_strdup("the config repository");
}

/* Who declares owner, and where when it was written in Plumb (caller
 * frees). */
static char *held_by(const app_def *owner) {
  char *by = run_declarer(owner);
  if (owner->object) return by;
  char *at = heap_printf("%s at %s:%d:%d", by, owner->at.file, owner->at.line, owner->at.col);
  free(by);
  return at;
}

/* Adds to *why (a line each) that kid is refused, and the reason (which
 * it frees). */
static void refuse(char **why, const app_def *kid, char *reason) {
  char *more = heap_printf("%s%s%s:%d:%d: error: application %s is refused: %s", *why ? *why : "", *why ? "\n" : "",
                           kid->at.file, kid->at.line, kid->at.col, kid->name, reason);
  free(reason);
  free(*why);
  *why = more;
}

/* Why kid may not join the set being formed (caller frees), or NULL: an
 * application of f has its name, or its project is gone from the config
 * since its parent's build was read (the config's commit came later). */
static char *kid_refused(runner *r, const forming *f, const app_def *kid) {
  size_t taken = def_named(f, kid->name);
  if (taken < f->n) {
    char *by = held_by(&f->defs[taken]);
    char *why = heap_printf("an application of that name is declared by %s", by);
    free(by);
    return why;
  }
  if (!app_set_project(&r->defs, kid->project)) return heap_printf("project \"%s\" is not defined", kid->project);
  return NULL;
}

/* Logs who joins the set by a build or an object, and who leaves it;
 * true when any joins. */
static bool note_changes(runner *r, const forming *f) {
  bool joined = false;
  for (size_t i = 0; i < f->n; i++) {
    if (run_set_index(r, f->defs[i].name) < r->napps) continue;
    joined = true;
    if (!f->defs[i].parent && !f->defs[i].object) continue;
    char *by = run_declarer(&f->defs[i]);
    fprintf(r->o->out, "%s: declared by %s; managed from now on\n", f->defs[i].name, by);
    free(by);
  }
  for (size_t k = 0; k < r->napps; k++) {
    const app_def *gone = &r->defs.apps[k];
    if (def_named(f, r->apps[k].name) < f->n) continue;
    /* Only the config's own, removed from a config that compiled, and
     * objects deleted while the runtime's finalizer holds them. */
    if (gone->cascade && !gone->parent && (!gone->object || run_object_finalizing(r, gone->name))) {
      /* Sharded, the replica that holds its shard begins it. */
      if (r->apps[k].owned) run_delete_begin(r, gone, &r->apps[k]);
      continue;
    }
    char *by = run_declarer(gone);
    fprintf(r->o->out, "%s: no longer declared by %s; not managed any more, its objects stay in the cluster\n",
            r->apps[k].name, by);
    free(by);
  }
  return joined;
}

/* Why object, a cluster's Application, is refused (caller frees): owner
 * has its name, or its project is not defined. */
static char *refuse_object(const app_def *object, const app_def *owner) {
  if (!owner) return heap_printf("application %s: project \"%s\" is not defined", object->name, object->project);
  char *by = held_by(owner);
  char *why = heap_printf("application %s is refused: an application of that name is declared by %s", object->name, by);
  free(by);
  return why;
}

static bool regroup(runner *r) {
  forming f = {0};
  for (size_t i = 0; i < r->config.napps; i++) join(&f, &r->config.apps[i]);
  for (size_t i = 0, phase = 0; phase < 2; phase++) {
    /* The cluster's objects after the whole tree of the config's. */
    for (size_t j = 0; phase == 1 && j < r->objects.napps; j++) {
      const app_def *obj = &r->objects.apps[j];
      size_t taken = def_named(&f, obj->name);
      char *was = r->objects_refused[j];
      r->objects_refused[j] = NULL;
      if (taken < f.n) r->objects_refused[j] = refuse_object(obj, &f.defs[taken]);
      else if (!app_set_project(&r->defs, obj->project)) r->objects_refused[j] = refuse_object(obj, NULL);
      else join(&f, obj);
      /* Said once, as the object's status keeps saying it. */
      if (r->objects_refused[j] && (!was || strcmp(was, r->objects_refused[j]) != 0))
        fprintf(r->o->out, "%s: %s\n", obj->object, r->objects_refused[j]);
      free(was);
    }
    for (; i < f.n; i++) {
      size_t k = run_set_index(r, f.defs[i].name);
      if (k == r->napps) continue; /* new: no build read yet */
      const run_children *kids = r->apps[k].pending.a ? &r->apps[k].pending : &r->apps[k].children;
      for (size_t j = 0; j < kids->set.napps; j++) {
        const app_def *kid = &kids->set.apps[j];
        char *why = kid_refused(r, &f, kid);
        if (why) refuse(&f.refused[i], kid, why);
        else join(&f, kid);
      }
    }
  }
  bool joined = note_changes(r, &f);
  adopt(r, f.defs, f.n);
  for (size_t i = 0; i < f.n; i++) {
    free(r->apps[i].refused);
    r->apps[i].refused = f.refused[i];
  }
  free(f.refused);
  json_decref(f.index);
  return joined;
}

bool run_set_regroup(runner *r) {
  for (size_t i = 0; i < r->napps; i++)
    if (r->apps[i].pending.a) return regroup(r);
  return false;
}

/* r->defs.projects: the config's, then the cluster's (objects.c has
 * refused those of a name the config has). */
static void gather_projects(runner *r) {
  size_t n = r->config.nprojects + r->objects.nprojects;
  r->projects = heap_realloc(r->projects, (n + 1) * sizeof *r->projects);
  if (r->config.nprojects) memcpy(r->projects, r->config.projects, r->config.nprojects * sizeof *r->projects);
  if (r->objects.nprojects)
    memcpy(r->projects + r->config.nprojects, r->objects.projects, r->objects.nprojects * sizeof *r->projects);
  r->defs.projects = r->projects;
  r->defs.nprojects = n;
}

/* The config's health scripts become the runtime's, which health_assess
 * runs wherever it is asked (waves, the status, the UI). */
static void install_healths(const app_set *config) {
  health_lua_rule *rules = heap_calloc(config->nhealths + 1, sizeof *rules);
  size_t n = 0;
  for (size_t i = 0; i < config->nhealths; i++) {
    const app_health *h = &config->healths[i];
    char *key = *h->group ? heap_printf("%s/%s", h->group, h->kind) : heap_strdup(h->kind), *err;
    if (health_lua_new(key, h->lua, h->lua_len, &rules[n].script, &err) == 0) {
      rules[n].group = h->group;
      rules[n++].kind = h->kind;
    } else {
      free(err); /* it compiled as it was read */
    }
    free(key);
  }
  health_lua_install(rules, n);
  free(rules);
}

void run_set_config(runner *r, arena *a, const app_set *config) {
  install_healths(config);
  arena *old = r->config_arena;
  r->config = *config;
  r->config_arena = a;
  gather_projects(r);
  regroup(r);
  arena_free(old);
}

void run_set_objects(runner *r, arena *a, const app_set *objects) {
  arena *old = r->objects_arena;
  for (size_t j = 0; j < r->objects.napps; j++) free(r->objects_refused[j]);
  r->objects = *objects;
  r->objects_arena = a;
  r->objects_refused = heap_realloc(r->objects_refused, (objects->napps + 1) * sizeof *r->objects_refused);
  memset(r->objects_refused, 0, (objects->napps + 1) * sizeof *r->objects_refused);
  gather_projects(r);
  regroup(r);
  arena_free(old);
}

void run_app_take(runner *r, app_state *st) {
  history_free(&st->hist);
  st->hist = (history){0};
  if (history_load(r->c, r->home, st->name, &st->hist) != KUBE_OK)
    fprintf(r->o->out, "%s: cannot read its history: %s\n", st->name, kube_last_error(r->c));
  memset(st->built, 0, sizeof st->built);
  st->passed_version = 0;
  st->due = 0;
  st->failures = st->sync_failures = 0;
  st->owned = true;
  st->dirty = true;
}

void run_set_forget(runner *r) {
  adopt(r, NULL, 0);
  run_keys_forget(r);
  health_lua_install(NULL, 0);
  for (size_t j = 0; j < r->objects.napps; j++) free(r->objects_refused[j]);
  free(r->objects_refused);
  free(r->projects);
  arena_free(r->config_arena);
  arena_free(r->objects_arena);
  r->config_arena = r->objects_arena = NULL;
  r->objects_refused = NULL;
  r->projects = NULL;
  r->config = r->defs = r->objects = (app_set){0};
}
