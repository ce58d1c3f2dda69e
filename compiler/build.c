/* build.c: compiling an environment into its resources.
 *
 * Stages, in order: load the entry files, bind the env's parameters to the
 * arguments given, run the env block (apps, settings, patches) and those of
 * the envs it builds on, lowest first; then for each of those layers, apply
 * its patches and its transformers (transform.h) to what the layers below
 * built and its own resources; name generated resources; validate
 * (validate.h, then schema.h), reject duplicates, sort into install
 * order. */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "check.h"
#include "eval.h"
#include "kinds.h"
#include "helm.h"
#include "kustomize.h"
#include "merge.h"
#include "parse.h"
#include "layer.h"
#include "patch.h"
#include "sops.h"
#include "plumb/compile.h"
#include "plumb/yaml.h"
#include "schema.h"
#include "suggest.h"
#include "transform.h"
#include "validate.h"
#include "vars.h"
#include "yamldir.h"

/* The layer whose block runs now. */
static layer *running_layer(env_state *e) { return &e->layers[e->current]; }

static compile_result *result_new(void) {
  compile_result *r = heap_calloc(1, sizeof *r);
  r->arena = arena_new();
  diag_init(&r->diags, r->arena);
  return r;
}

void compile_free(compile_result *r) {
  if (!r) return;
  arena_free(r->arena);
  free(r);
}

/* ---- env statements ------------------------------------------------------- */

static bool env_stmt(sink *s, eval *ev, module *m, scope *sc, const node *st) {
  env_state *e = s->ctx;
  arena *a = eval_arena(ev);
  layer *l = running_layer(e);
  if (st->kind == N_PATCH) return patch_list_add(ev, m, sc, st, &l->patches);
  value *v = eval_expr(ev, m, sc, st->a);
  if (!v) return false;
  /* The statement's name, copied out of the syntax trees, which go before
   * the settings are applied (eval_forget_syntax). */
  const char *name = arena_strdup(a, st->name);
  if (st->kind == N_SETTING) {
    if (!transform_check_setting(ev, st->name, st->at, v, st->a->at)) return false;
    if (value_object_get(l->settings, st->name)) {
      eval_fail(ev, st->at, "env setting %s is given twice", st->name);
      return false;
    }
    value_object_set(a, l->settings, name, v);
    return true;
  }
  /* N_APP */
  if (value_object_get(e->apps, st->name)) {
    eval_fail(ev, st->at, "app \"%s\" is declared twice in env %s", st->name, e->name);
    diag_note(eval_diags(ev), value_object_get(e->apps, st->name)->at, "first declared here");
    return false;
  }
  value_object_set(a, e->apps, name, v);
  /* The app's resources go straight to the env, tagged with the app. */
  sink own = {.resources = value_list(a, st->at)};
  if (!eval_emit(ev, &own, v, st->a->at)) return false;
  for (size_t i = 0; i < own.resources->u.list.len; i++) layer_add(l, a, own.resources->u.list.items[i], name);
  return true;
}

/* ---- ordering and duplicates ---------------------------------------------- */

static const char *group_of(const value *r) {
  const char *api = value_get_string(r, "apiVersion");
  const char *slash = api ? strchr(api, '/') : NULL;
  return slash ? api : "";
}

/* Equal kinds and namespaces are mostly the same string, from one literal
 * or setting: comparing pointers first saves most calls. */
static int cmp_str0(const char *x, const char *y) { return x == y ? 0 : strcmp(x ? x : "", y ? y : ""); }

/* What install order sorts by, read once per resource, not per comparison. */
typedef struct {
  int rank;
  const char *kind, *ns, *name, *group;
  compile_resource res;
} sort_key;

static int cmp_key(const void *pa, const void *pb) {
  const sort_key *x = pa, *y = pb;
  int c = x->rank - y->rank;
  if (!c) c = cmp_str0(x->kind, y->kind);
  if (!c) c = cmp_str0(x->ns, y->ns);
  if (!c) c = cmp_str0(x->name, y->name);
  if (!c) c = cmp_str0(x->group, y->group);
  return c;
}

/* The API group only: apps/v1 and apps/v1beta1 name the same object. */
static bool same_group(const char *gx, const char *gy) {
  const char *sx = strchr(gx, '/'), *sy = strchr(gy, '/');
  size_t lx = sx ? (size_t)(sx - gx) : 0, ly = sy ? (size_t)(sy - gy) : 0;
  return lx == ly && strncmp(gx, gy, lx) == 0;
}

static bool same_object(const sort_key *x, const sort_key *y) {
  return !cmp_str0(x->kind, y->kind) && !cmp_str0(x->name, y->name) && !cmp_str0(x->ns, y->ns) &&
         same_group(x->group, y->group);
}

static void report_duplicate(diag_list *d, const sort_key *kx, const sort_key *ky) {
  const value *x = kx->res.obj, *y = ky->res.obj;
  const value *later = x->at.line > y->at.line || (x->at.line == y->at.line && x->at.col > y->at.col) ? x : y;
  const value *first = later == x ? y : x;
  diag_error(d, later->at, "duplicate resource %s \"%s\"%s%s", ky->kind, ky->name, ky->ns ? " in namespace " : "",
             ky->ns ? ky->ns : "");
  diag_note(d, first->at, "first declared here");
}

/* Sorts res into install order; duplicates end up next to each other. */
static void sort_and_dedupe(diag_list *d, compile_resource *res, size_t n) {
  if (n < 2) return; /* qsort may not take the NULL of an empty env */
  sort_key *keys = heap_alloc(n * sizeof *keys);
  for (size_t i = 0; i < n; i++) {
    const value *r = res[i].obj;
    const char *kind = value_get_string(r, "kind");
    keys[i] = (sort_key){kinds_rank(kind ? kind : ""), kind, value_get_string(r, "metadata.namespace"),
                         value_get_string(r, "metadata.name"), group_of(r), res[i]};
  }
  qsort(keys, n, sizeof *keys, cmp_key);
  for (size_t i = 0; i < n; i++) {
    res[i] = keys[i].res;
    if (i > 0 && same_object(&keys[i - 1], &keys[i])) report_duplicate(d, &keys[i - 1], &keys[i]);
  }
  free(keys);
}

/* ---- entry points ---------------------------------------------------------- */

/* path as an absolute path, with "." and ".." folded as written: where the
 * user says it is, through the directories it names. Symlinks in it are
 * not followed here: an entry file must be inside the root, link and
 * target alike, so the root is looked for from where a link is, and the
 * loader refuses a target outside it. NULL when the working directory is
 * unknown. */
static char *as_written(arena *a, const char *path) {
  char cwd[PATH_MAX];
  if (path[0] != '/' && !getcwd(cwd, sizeof cwd)) return NULL;
  char *rel = loader_fold(a, path[0] == '/' ? "" : cwd + 1, path);
  return arena_printf(a, "/%s", rel ? rel : ""); /* ".." above "/" is "/" */
}

static bool has_git(arena *a, const char *dir) { return access(arena_printf(a, "%s/.git", dir), F_OK) == 0; }

/* Whether a directory of path below its ancestor top is a symlink. */
static bool linked_below(const char *top, const char *path) {
  char prefix[PATH_MAX];
  struct stat st;
  for (size_t i = strlen(top) + 1, n = strlen(path); i <= n && i < sizeof prefix; i++)
    if (path[i] == '/' || path[i] == '\0') {
      memcpy(prefix, path, i);
      prefix[i] = '\0';
      if (lstat(prefix, &st) == 0 && S_ISLNK(st.st_mode)) return true;
    }
  return false;
}

/* The directory of entry (itself, if it is one) or the nearest above it
 * that holds .git; that directory itself when none does. A symlink inside
 * a checkout must not make a root of where it points, so a .git reached
 * through one does not count: of the directories holding .git, from the
 * outermost inward, the root is the last one reached without passing a
 * symlink. (A link to a checkout from outside any is fine.) */
static char *find_root(arena *a, const char *entry) {
  struct stat st;
  char *start = arena_strdup(a, entry), *root = NULL;
  if (stat(entry, &st) != 0 || !S_ISDIR(st.st_mode)) *strrchr(start, '/') = '\0';
  if (!*start) start = "/";
  for (char *p = arena_strdup(a, start);;) {
    if (has_git(a, p) && (!root || linked_below(p, root))) root = arena_strdup(a, p);
    char *slash = strrchr(p, '/');
    if (!slash || slash == p) return root ? root : start;
    *slash = '\0';
  }
}

/* entry relative to root, both as written; NULL when it is not inside. */
static const char *relative_to(arena *a, const char *root, const char *entry) {
  size_t n = strlen(root);
  if (strcmp(root, "/") == 0) return arena_strdup(a, entry + 1);
  if (strncmp(entry, root, n) != 0 || (entry[n] && entry[n] != '/')) return NULL;
  return arena_strdup(a, entry[n] ? entry + n + 1 : "");
}

/* The env to build: the only one, or the one --env names. Env names are
 * unique across the entry files. */
static const node *find_env(eval *ev, module **mods, int nmods, const char *want, module **owner, const char *path) {
  const node *envs[64];
  module *where[64];
  int n = 0;
  for (int i = 0; i < nmods; i++) {
    const node *f = module_ast(mods[i]);
    for (size_t k = 0; k < f->list.len && n < 64; k++)
      if (f->list.items[k]->kind == N_ENV) where[n] = mods[i], envs[n++] = f->list.items[k];
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(envs[i]->name, envs[j]->name) == 0) {
        eval_fail(ev, envs[i]->at, "env %s is declared twice", envs[i]->name);
        diag_note(eval_diags(ev), envs[j]->at, "first declared here");
        return NULL;
      }
  buf names = {0};
  const node *found = NULL;
  for (int i = 0; i < n; i++) {
    buf_printf(&names, "%s%s", i ? ", " : "", envs[i]->name);
    if (want ? strcmp(want, envs[i]->name) == 0 : n == 1) found = envs[i], *owner = where[i];
  }
  if (!found && n > 1 && !want)
    eval_fail(ev, (pos){path, 0, 0}, "%d envs declared (%s); choose one with --env NAME", n, names.data);
  else if (!found && want)
    eval_fail(ev, (pos){path, 0, 0}, "no env named \"%s\" (found: %s)", want, n ? names.data : "none");
  else if (!found)
    eval_fail(ev, (pos){path, 0, 0}, "no env block found; an env block says what to build");
  buf_free(&names);
  return found;
}

static int load_entries(eval *ev, loader *l, const char *entry, module ***mods) {
  const char **names = &entry, *err;
  int n = 1;
  if (loader_is_dir(l, entry)) {
    n = loader_list(l, entry, &names, &err);
    if (n < 0) {
      eval_fail(ev, (pos){0}, "%s", err);
      return 0;
    }
  }
  *mods = arena_alloc(eval_arena(ev), ((size_t)n + 1) * sizeof **mods);
  int got = 0;
  for (int i = 0; i < n; i++) {
    module *m = eval_load(ev, names[i], NULL);
    if (m) (*mods)[got++] = m;
  }
  return got;
}

/* Values share their parts, so a few lines can stand for gigabytes of
 * manifests: what an env would write is measured before anything writes
 * it, and the resource that takes it past the limit is named. */
static bool output_fits(eval *ev, const char *env, const compile_resource *res, size_t n) {
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    const value *obj = res[i].obj;
    total += obj->size;
    if (total <= EVAL_MAX_OUTPUT) continue;
    eval_fail(ev, obj->at, "env %s would write more than %d MiB of resources (this %s alone is %s)", env,
              EVAL_MAX_OUTPUT >> 20, value_get_string(obj, "kind"), eval_size_words(ev, obj));
    return false;
  }
  return true;
}

/* A resource leaves out the fields whose value is null, as Kubernetes reads
 * null as absent: `args: if len(args) > 0 then args else null` is the
 * idiom for an optional field. v itself when it holds no such field. The
 * `delete` marker, a null too, stays for validation to report. */
static value *without_nulls(arena *a, value *v) {
  if (!v->holds_null) return v;
  value *out = NULL;
  if (v->kind == V_LIST)
    for (size_t i = 0; i < v->u.list.len; i++) {
      value *item = v->u.list.items[i], *now = without_nulls(a, item);
      if (now == item) continue;
      if (!out) out = value_clone(a, v);
      value_list_set(out, i, now);
    }
  if (v->kind == V_OBJECT)
    for (size_t i = 0; i < v->u.obj.len; i++) {
      const field *f = &v->u.obj.fields[i];
      bool absent = f->val->kind == V_NULL && !merge_is_delete(f->val);
      value *now = absent ? NULL : without_nulls(a, f->val);
      if (now == f->val) continue;
      if (!out) out = value_clone(a, v);
      if (absent) value_object_remove(out, f->key);
      else value_object_set(a, out, f->key, now);
    }
  return out ? out : v;
}

/* What the patches and transformers may change in place: the parts of
 * each resource that no other place holds (value_claim). The patches and
 * settings they read are held, so a part shared with one (a `let` of
 * labels given to both) is copied before it changes. */
static void claim_resources(const compile_resource *res, size_t n, const layer *l) {
  value **roots = heap_alloc((n + 1) * sizeof *roots);
  value **held = heap_alloc((2 * l->patches.n + 1) * sizeof *held);
  size_t nheld = 0;
  for (size_t i = 0; i < n; i++) roots[i] = res[i].obj;
  held[nheld++] = l->settings;
  for (size_t i = 0; i < l->patches.n; i++) {
    const patch *p = &l->patches.items[i];
    held[nheld++] = p->body;
    if (p->where) held[nheld++] = p->where;
  }
  value_claim(roots, n, held, nheld);
  free(held);
  free(roots);
}

/* ---- env parameters -------------------------------------------------------
 *
 * Their values come from outside as text (`--arg tag=1.2.3`), as Jsonnet's
 * top-level arguments: the input is in the invocation, not in the
 * environment of the process, so the same command line builds the same. */

/* text as a value of the parameter p, or NULL: a string is the text as it
 * is, anything else the JSON value it spells. It is placed at p's
 * declaration and tagged "--arg NAME", which explain shows. */
static value *arg_value(eval *ev, const node *p, const char *text) {
  arena *a = eval_arena(ev);
  value *v;
  if (strcmp(p->type, "string") == 0) {
    v = value_string(a, p->at, text, strlen(text));
  } else {
    diag_list quiet;
    diag_init(&quiet, a);
    value *docs = NULL;
    if (yaml_read_json(a, &quiet, "", text, strlen(text), &docs) < 0 || !docs || docs->u.list.len != 1) return NULL;
    v = docs->u.list.items[0];
    builtin_stamp(v, p->at);
    if (!eval_type_ok(ev, p->type, &v)) return NULL;
  }
  v->via = arena_printf(a, "--arg %s", p->name);
  return v;
}

/* The index of env's parameter called name; after the last when none is. */
static size_t param_index(eval *ev, const node *env, const char *name) {
  size_t n = env->list.len;
  const char **names = arena_alloc(eval_arena(ev), (n + 1) * sizeof *names);
  for (size_t i = 0; i < n; i++) {
    names[i] = env->list.items[i]->name;
    if (strcmp(names[i], name) == 0) return i;
  }
  const char *near = nearest_word(name, names, n);
  if (!n) eval_fail(ev, env->at, "env %s takes no parameters, but was given \"%s\"", env->name, name);
  else if (near) eval_fail(ev, env->at, "env %s has no parameter \"%s\"; did you mean \"%s\"?", env->name, name, near);
  else eval_fail(ev, env->at, "env %s has no parameter \"%s\"", env->name, name);
  return n;
}

/* Binds one NAME=VALUE text into vals, a slot for each of env's parameters. */
static bool bind_arg(eval *ev, const node *env, const char *arg, value **vals) {
  const char *eq = strchr(arg, '=');
  if (!eq) {
    eval_fail(ev, env->at, "argument \"%s\" for env %s is not NAME=VALUE", arg, env->name);
    return false;
  }
  size_t k = param_index(ev, env, arena_strndup(eval_arena(ev), arg, (size_t)(eq - arg)));
  if (k == env->list.len) return false;
  const node *p = env->list.items[k];
  if (vals[k]) {
    eval_fail(ev, p->at, "parameter \"%s\" of env %s is given twice", p->name, env->name);
    return false;
  }
  vals[k] = arg_value(ev, p, eq + 1);
  if (!vals[k])
    eval_fail(ev, p->at, "parameter %s of env %s must be %s, got \"%s\"", p->name, env->name, p->type, eq + 1);
  return vals[k] != NULL;
}

/* The scope env's block runs in: its parameters, bound to o's args or
 * their defaults. False after reporting every argument that does not fit. */
static bool env_params(eval *ev, module *m, const node *env, const compile_opts *o, scope **sc) {
  value **vals = arena_alloc(eval_arena(ev), (env->list.len + 1) * sizeof *vals);
  bool ok = true;
  for (size_t i = 0; i < o->nargs; i++) ok = bind_arg(ev, env, o->args[i], vals) && ok;
  return ok && eval_bind_params(ev, m, env, vals, NULL, sc);
}

/* The version whose schemas the env's resources are checked against:
 * --kube-version's, else the env's kube_version setting v (that of the
 * layer applied last that has one, or NULL), else the
 * caller's default (NULL: the newest). The setting is checked even when
 * the flag wins: it is a mistake of the file either way. False after
 * reporting a setting that names no embedded version. */
static bool kube_version(eval *ev, const compile_opts *o, const value *v, const char **version) {
  const char *set = NULL;
  bool malformed = false;
  if (v && !(set = compile_kube_version(v->u.str.s, &malformed))) {
    if (malformed)
      eval_fail(ev, v->at, "kube_version takes a Kubernetes version such as \"1.35\", not \"%s\"", v->u.str.s);
    else
      eval_fail(ev, v->at, "kube_version \"%s\" is not embedded; plumb has the schemas of Kubernetes %s", v->u.str.s,
                compile_kube_versions_text(eval_arena(ev)));
    return false;
  }
  *version = o->kube_version ? o->kube_version : set ? set : o->kube_version_default;
  return true;
}

/* ---- layers ------------------------------------------------------------------ */

/* The envs and components being run, from the one that `again` is to the
 * last, each at the `from` or `with` that leads on: a cycle. */
static void report_cycle(eval *ev, const env_state *e, const node *again) {
  buf chain = {0};
  size_t i = 0;
  while (e->running[i] != again) i++;
  for (; i < e->nrunning; i++) {
    pos at = e->next_at[i];
    buf_printf(&chain, "%s (%s:%d:%d) -> ", e->running[i]->name, at.file, at.line, at.col);
  }
  buf_puts(&chain, again->name);
  eval_fail(ev, e->next_at[e->nrunning - 1], "%s cycle: %s", again->kind == N_ENV ? "env" : "component", chain.data);
  buf_free(&chain);
}

static bool run_blocks(eval *ev, module *m, const node *d, scope *sc, env_state *e, size_t first);

/* The kustomization in the directory ref names (a string, relative to
 * module m's file), as the layers an env builds on, or a component. */
static bool run_kustomization_layer(eval *ev, module *m, const node *ref, int kind, env_state *e, size_t first) {
  const char *path = eval_plain_string(ev, ref, ref->at, "a kustomization's directory"), *dir, *err;
  if (!path) return false;
  if (loader_resolve(e->loader, module_name(m), path, &dir, &err) != 0) {
    eval_fail(ev, ref->at, "cannot read kustomization \"%s\": %s", path, err);
    return false;
  }
  return kustomize_read(ev, e, dir, ref->at, kind == N_COMPONENT, first, NULL, NULL);
}

/* Runs what ref (an env's `from` or a `with` item) names, of kind, from the
 * running d of module m whose parameters are bound in sc. first: where a
 * component's layer starts (layer.h). */
static bool run_named(eval *ev, module *m, scope *sc, const node *ref, int kind, env_state *e, size_t first) {
  if (ref->kind == E_STRING) return run_kustomization_layer(ev, m, ref, kind, e, first);
  e->next_at[e->nrunning - 1] = (ref->kind == E_CALL ? ref->a : ref)->at;
  if (e->nrunning == LAYER_MAX_DEPTH) {
    eval_fail(ev, e->next_at[e->nrunning - 1], "envs and components built on each other deeper than %d", LAYER_MAX_DEPTH);
    return false;
  }
  module *dm = NULL;
  scope *dsc = NULL;
  const node *d = eval_layer(ev, m, sc, ref, kind, &dm, &dsc);
  if (!d) return false;
  for (size_t i = 0; i < e->nrunning; i++)
    if (e->running[i] == d) {
      report_cycle(ev, e, d);
      return false;
    }
  return run_blocks(ev, dm, d, dsc, e, first);
}

/* Runs the blocks of d (an env or component of module m, its parameters
 * bound in sc): the env it builds on first, then its own into a layer of
 * e, then the components it uses. Every value is made before any layer is
 * applied. An env's layer starts where the env it builds on starts; a
 * component's at first, that of the layer using it. */
static bool run_blocks(eval *ev, module *m, const node *d, scope *sc, env_state *e, size_t first) {
  arena *a = eval_arena(ev);
  e->running[e->nrunning++] = d;
  if (d->kind == N_ENV) first = e->nlayers;
  if (d->a && !run_named(ev, m, sc, d->a, N_ENV, e, 0)) return false;
  const char *label = arena_printf(a, "%s %s", d->kind == N_ENV ? "env" : "component", d->name);
  long at = layer_open(ev, e, label, first, d->at);
  if (at < 0) return false;
  size_t outer = e->current;
  e->current = (size_t)at;
  sink s = {.resources = value_list(a, d->at), .stmt = env_stmt, .ctx = e};
  if (!eval_block(ev, m, sc, d->b, &s)) return false;
  /* What the block emitted itself, outside any `app`, belongs to no app. */
  for (size_t i = 0; i < s.resources->u.list.len; i++) layer_add(&e->layers[at], a, s.resources->u.list.items[i], NULL);
  for (size_t i = 0; d->c && i < d->c->list.len; i++)
    if (!run_named(ev, m, sc, d->c->list.items[i], N_COMPONENT, e, first)) return false;
  e->layers[at].end = e->nlayers;
  e->current = outer;
  e->nrunning--;
  return true;
}

/* The resources of an env as its layers build them, and who each was. */
typedef struct {
  compile_resource *res;
  resource_past *past;
  size_t n;
  size_t *start; /* per layer: n when it began to apply */
  /* The kube_version setting of the last layer applied that has one: its
   * settings apply after those of the layers before it, so it wins. */
  const value *kube_version;
} built;

/* Who res is now, as the last entry of its past (nameref.h). */
static void remember(arena *a, const compile_resource *res, resource_past *past) {
  resource_id now = {value_get_string(res->obj, "kind"), value_get_string(res->obj, "metadata.namespace"),
                     value_get_string(res->obj, "metadata.name")};
  if (past->n) {
    const resource_id *last = past_latest(past);
    if (!cmp_str0(last->kind, now.kind) && !cmp_str0(last->ns, now.ns) && !cmp_str0(last->name, now.name)) return;
  }
  if (past->n == past->cap) {
    size_t cap = past->cap ? 2 * past->cap : 1;
    past->ids = arena_grow(a, past->ids, past->n * sizeof *past->ids, cap * sizeof *past->ids);
    past->cap = cap;
  }
  past->ids[past->n++] = now;
}

static bool renames(const patch_list *l) {
  for (size_t i = 0; i < l->n; i++)
    if (l->items[i].may_rename || l->items[i].may_rekind) return true;
  return false;
}

/* Applies layer i and its components to what the layers from its first on
 * built: its resources are added, its components applied, then its
 * patches and settings (transform.h). last: nothing is applied after it.
 * The index after its components. */
static size_t apply_layer(eval *ev, arena *a, const env_state *e, size_t i, built *b, bool last) {
  const layer *l = &e->layers[i];
  b->start[i] = b->n;
  if (l->nres) memcpy(b->res + b->n, l->res, l->nres * sizeof *l->res);
  /* A patch before may have deleted resources: what the slots held is gone. */
  memset(b->past + b->n, 0, l->nres * sizeof *b->past);
  b->n += l->nres;
  size_t next = i + 1;
  while (next < l->end) next = apply_layer(ev, a, e, next, b, false);
  size_t from = b->start[l->first], n = b->n - from;
  compile_resource *res = b->res + from;
  resource_past *past = b->past + from;
  /* A patch that may rename: references follow from the name before it. */
  bool rename = renames(&l->patches);
  for (size_t k = 0; rename && k < n; k++)
    if (!past[k].n) remember(a, &res[k], &past[k]);
  claim_resources(res, n, l);
  patch_apply(ev, l->label, &l->patches, e->merge_keys, res, past, &n);
  b->n = from + n;
  for (size_t k = 0; k < n; k++) {
    res[k].obj = without_nulls(a, res[k].obj);
    remember(a, &res[k], &past[k]);
  }
  transform_env(ev, l, transform_field_specs(a, e->layers, l->first, i), res, past, n, last);
  if (l->notes) layer_note(a, l, res, n);
  const value *version = value_object_get(l->settings, "kube_version");
  if (version) b->kube_version = version;
  return next;
}

/* Applies the layers of e; false after reporting too many resources. */
static bool apply_layers(eval *ev, env_state *e, pos at, built *b) {
  arena *a = eval_arena(ev);
  size_t total = 0;
  for (size_t i = 0; i < e->nlayers; i++) total += e->layers[i].nres;
  if (total > EVAL_MAX_RESOURCES) {
    eval_fail(ev, at, "env %s produces %zu resources; at most %d are allowed", e->name, total, EVAL_MAX_RESOURCES);
    return false;
  }
  /* Every value is made: the patches, the transformers and all after them
   * read values only, and the memory of the syntax trees serves them. */
  eval_forget_syntax(ev);
  *b = (built){arena_alloc(a, (total + 1) * sizeof *b->res), arena_alloc(a, (total + 1) * sizeof *b->past), 0,
               arena_alloc(a, (e->nlayers + 1) * sizeof *b->start), NULL};
  for (size_t i = 0; i < e->nlayers;) i = apply_layer(ev, a, e, i, b, e->layers[i].end == e->nlayers);
  return true;
}

bool build_apply(eval *ev, env_state *e, pos at) {
  built b;
  return apply_layers(ev, e, at, &b);
}

/* Kustomize leaves out an empty metadata.annotations (its own internal
 * annotations come and go through it); a build does too, for the same
 * output. */
static value *without_empty_annotations(arena *a, value *res) {
  value *meta = value_object_get(res, "metadata"), *notes = meta ? value_object_get(meta, "annotations") : NULL;
  if (!notes || notes->kind != V_OBJECT || notes->u.obj.len) return res;
  value *m = value_clone(a, meta), *out = value_clone(a, res);
  value_object_remove(m, "annotations");
  value_object_set(a, out, "metadata", m);
  return out;
}

/* Checks, validates and sorts what the layers of e built into r. */
static void finish(compile_result *r, eval *ev, env_state *e, pos at, const compile_opts *o) {
  arena *a = r->arena;
  built b;
  if (!apply_layers(ev, e, at, &b)) return;
  if (e->vars) vars_resolve(ev, e->vars, e->var_refs, b.res, b.past, b.n);
  for (size_t i = 0; i < b.n; i++) b.res[i].obj = without_empty_annotations(a, b.res[i].obj);
  const char *version = NULL;
  if (!kube_version(ev, o, b.kube_version, &version) || r->diags.errors || !output_fits(ev, e->name, b.res, b.n)) return;
  schema_build *sb = schema_build_new(ev, version);
  for (size_t i = 0; i < b.n; i++) schema_add_crd(sb, b.res[i].obj);
  for (size_t i = 0; i < b.n; i++) {
    /* The schema walk assumes what validate_resource checks (no function, no delete). */
    if (validate_resource(&r->diags, b.res[i].obj)) schema_check(&r->diags, sb, b.res[i].obj);
    b.res[i].unchecked = schema_unchecked(b.res[i].obj);
    b.res[i].obj = schema_strip(a, b.res[i].obj);
  }
  sort_and_dedupe(&r->diags, b.res, b.n);
  order_sort(&e->sort, b.res, b.n);
  r->res = b.res;
  r->nres = b.n;
}

static void run_env(compile_result *r, eval *ev, loader *l, module *m, const node *env, const compile_opts *o) {
  arena *a = r->arena;
  env_state e = {.name = arena_strdup(a, env->name), .loader = l, .apps = value_object(a, env->at)};
  r->env = e.name;
  scope *sc = NULL;
  if (env_params(ev, m, env, o, &sc) && run_blocks(ev, m, env, sc, &e, 0)) finish(r, ev, &e, env->at, o);
}

/* A directory with no .plumb files: a kustomization's (kustomize.h), a
 * Helm chart (helm.h), or one of YAML manifests (yamldir.h). */
static bool plain_dir(loader *l, const char *entry) {
  const char **names, *err;
  return loader_is_dir(l, entry) && loader_list(l, entry, &names, &err) == 0;
}

/* The env name a directory builds as: its name, made a valid label value
 * (the runtime labels what it applies with it); dflt for the root. */
static const char *directory_env(arena *a, const char *dir, const char *dflt) {
  const char *slash = strrchr(dir, '/');
  char *name = arena_strndup(a, slash ? slash + 1 : dir, 63);
  for (char *p = name; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("-_.", *p)) *p = '-';
  while (*name && !isalnum((unsigned char)*name)) name++;
  for (size_t n = strlen(name); n && !isalnum((unsigned char)name[n - 1]); n--) name[n - 1] = '\0';
  return *name ? name : dflt;
}

/* Where a message about the directory dir stands: its name. */
static pos dir_pos(const char *dir) { return (pos){*dir ? dir : ".", 0, 0}; }

/* The env a directory builds as, named after it; dflt for the root. */
static env_state directory_state(compile_result *r, loader *l, const char *dir, const char *dflt) {
  env_state e = {.name = directory_env(r->arena, dir, dflt), .loader = l, .apps = value_object(r->arena, dir_pos(dir))};
  r->env = e.name;
  return e;
}

/* --env and --arg are an env's; a directory's build has none. */
static bool without_env_flags(eval *ev, pos at, const compile_opts *o, const char *what) {
  if (!o->env && !o->nargs) return true;
  eval_fail(ev, at, "%s is %s: it has no envs nor env parameters (--env, --arg)", at.file, what);
  return false;
}

/* The options of a directory of YAML manifests, given for what is not one. */
static bool without_dir_flags(eval *ev, const char *entry, const compile_opts *o, const char *what) {
  const compile_yaml_dir *d = &o->yaml_dir;
  pos at = dir_pos(entry);
  if (!d->recurse && !(d->include && *d->include) && !(d->exclude && *d->exclude)) return true;
  eval_fail(ev, at, "%s is %s: recurse, include and exclude are for a directory of YAML manifests", at.file, what);
  return false;
}

static void run_kustomization(compile_result *r, eval *ev, loader *l, const char *dir, const compile_opts *o) {
  pos at = dir_pos(dir);
  env_state e = directory_state(r, l, dir, "kustomization");
  if (without_env_flags(ev, at, o, "a kustomization") && without_dir_flags(ev, dir, o, "a kustomization") &&
      kustomize_read(ev, &e, dir, at, false, 0, &e.sort, NULL))
    finish(r, ev, &e, at, o);
}

/* res, what a directory holds, built as the one layer of e. */
static void build_layer(compile_result *r, eval *ev, env_state *e, pos at, const char *label, const value *res,
                        const compile_opts *o) {
  long i = layer_open(ev, e, label, 0, at);
  if (i < 0) return;
  for (size_t k = 0; k < res->u.list.len; k++) layer_add(&e->layers[i], r->arena, res->u.list.items[k], NULL);
  e->layers[i].end = e->nlayers;
  finish(r, ev, e, at, o);
}

/* The resources of a chart's directory, rendered by helm as Argo CD
 * renders one (helm.h), in one layer: the release and the env named after
 * the directory. */
static void run_chart(compile_result *r, eval *ev, loader *l, const char *dir, const compile_opts *o) {
  arena *a = r->arena;
  pos at = dir_pos(dir);
  env_state e = directory_state(r, l, dir, "chart");
  if (!without_env_flags(ev, at, o, "a Helm chart") || !without_dir_flags(ev, dir, o, "a Helm chart")) return;
  value *res = helm_render_dir(ev, at, dir, o->helm.release, o->helm.namespace);
  if (res) build_layer(r, ev, &e, at, arena_printf(a, "chart %s", at.file), res, o);
}

/* The resources of a directory of YAML manifests, in one layer, built as
 * Argo CD builds a directory source (yamldir.h). One that holds none is a
 * mistake, as a directory with nothing for plumb is; one whose include
 * and exclude leave out every file builds nothing, as in Argo CD. */
static void run_yaml_dir(compile_result *r, eval *ev, loader *l, const char *dir, const compile_opts *o) {
  arena *a = r->arena;
  pos at = dir_pos(dir);
  env_state e = directory_state(r, l, dir, "manifests");
  if (!without_env_flags(ev, at, o, "a directory of YAML manifests")) return;
  size_t found;
  value *res = yamldir_read(ev, at, dir, &o->yaml_dir, &found);
  if (res && !found)
    eval_fail(ev, at, "no .plumb files, kustomization or YAML manifests in this directory%s",
              o->yaml_dir.recurse ? "" : "; --recurse would read those of its subdirectories");
  if (res && found) build_layer(r, ev, &e, at, arena_printf(a, "directory %s", at.file), res, o);
}

static void run_plumb(compile_result *r, eval *ev, loader *l, const char *entry, const compile_opts *o) {
  module **mods = NULL;
  int n = load_entries(ev, l, entry, &mods);
  if (r->diags.errors || !check_modules(ev) || !without_dir_flags(ev, entry, o, "Plumb source")) return;
  module *owner = NULL;
  const node *env = find_env(ev, mods, n, o->env, &owner, dir_pos(entry).file);
  if (env) run_env(r, ev, l, owner, env, o);
}

static void build_entry(compile_result *r, loader *l, const char *entry, const compile_opts *o) {
  loader_set_remote(l, o->remote);
  eval *ev = eval_new(r->arena, &r->diags, l);
  eval_set_opts(ev, o);
  if (!plain_dir(l, entry)) run_plumb(r, ev, l, entry, o);
  else if (kustomize_file(l, r->arena, entry)) run_kustomization(r, ev, l, entry, o);
  else if (helm_is_chart(l, entry)) run_chart(r, ev, l, entry, o);
  else run_yaml_dir(r, ev, l, entry, o);
  r->charts = *eval_charts_seen(ev);
  sops_end(ev);
  eval_forget_syntax(ev);
  if (r->diags.errors) r->nres = 0;
}

loader *build_open(arena *a, diag_list *d, const char *path, const char *root_flag, const char **entry) {
  const char *at = as_written(a, path), *err;
  const char *root = root_flag ? as_written(a, root_flag) : at ? find_root(a, at) : NULL;
  loader *l = root ? loader_new(a, root, &err) : NULL;
  if (!root) err = arena_printf(a, "cannot open %s", path);
  if (!l) {
    diag_error(d, (pos){0}, "%s", err);
    return NULL;
  }
  *entry = at ? relative_to(a, root, at) : NULL;
  if (!*entry) {
    diag_error(d, (pos){0}, "%s is not inside the root %s", path, root_flag ? root_flag : root);
    return NULL;
  }
  return l;
}

compile_result *compile_build(const compile_opts *o) {
  compile_result *r = result_new();
  const char *entry;
  loader *l = build_open(r->arena, &r->diags, o->path, o->root, &entry);
  if (l) build_entry(r, l, entry, o);
  return r;
}

compile_result *compile_source(const char *file, const char *text, size_t len, const char *env) {
  compile_result *r = result_new();
  loader *l = loader_new_memory(r->arena, NULL);
  loader_add_file(l, file, text, len);
  build_entry(r, l, file, &(compile_opts){.env = env});
  return r;
}

compile_result *compile_eval(const char *root, const char *file, const char *text, size_t len) {
  compile_result *r = result_new();
  const char *err;
  loader *l = loader_new(r->arena, root, &err);
  if (!l) {
    diag_error(&r->diags, (pos){0}, "%s", err);
    return r;
  }
  loader_source_text(r->arena, &text, &len);
  diag_add_source(&r->diags, file, text, len);
  node *e = parse_expr(r->arena, &r->diags, file, text, len);
  if (r->diags.errors) return r;
  eval *ev = eval_new(r->arena, &r->diags, l);
  /* An empty module gives the expression the built-ins and nothing else. */
  r->value = eval_expr(ev, eval_empty_module(ev, file), NULL, e);
  eval_forget_syntax(ev);
  if (r->value && !validate_text(&r->diags, r->value)) r->value = NULL;
  return r;
}

compile_result *compile_files(const compile_file *files, size_t n, const compile_reader *reader,
                              const compile_opts *o) {
  compile_result *r = result_new();
  loader *l = loader_new_memory(r->arena, reader);
  for (size_t i = 0; i < n; i++) loader_add_unread(l, &files[i]);
  const char *entry, *err;
  if (loader_resolve(l, NULL, o->path, &entry, &err) != 0) {
    diag_error(&r->diags, (pos){0}, "%s", err);
    return r;
  }
  build_entry(r, l, entry, o);
  return r;
}
