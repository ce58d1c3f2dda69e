/* kustomize.c: kustomization.yaml trees read as layers (see kustomize.h).
 *
 * Kustomize builds a kustomization in this order (its kusttarget.go): the
 * resources (each directory built on its own, then appended), the
 * components (each applied to all accumulated so far), the generators,
 * then the transformers: strategic merge patches, patches, namespace,
 * prefix, suffix, labels, annotations, patchesJson6902, replicas, images.
 * A layer applies patches first and settings after, so a kustomization
 * with patchesJson6902 takes two: its own, and a tail layer holding those
 * patches with replicas and images. Names are hashed once, at the top. */
#include "kustomize.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "builtin.h"
#include "generate.h"
#include "merge.h"
#include "openapi.h"
#include "plumb/yaml.h"
#include "remote.h"
#include "replace.h"
#include "sops.h"
#include "suggest.h"

static const char *const file_names[] = {"kustomization.yaml", "kustomization.yml", "Kustomization"};
enum { NFILE_NAMES = sizeof file_names / sizeof *file_names };

/* The tree being read, and the kustomizations being read now, each with
 * the entry that leads to the next: one that comes back is a cycle. */
typedef struct {
  eval *ev;
  arena *a;
  loader *l;
  env_state *e;
  kustomize_plan *plan; /* NULL but for plumb convert */
  order *sort;          /* what the top kustomization's sortOptions ask, or NULL */
  size_t seq;           /* resources read so far: the next one's seq */
  bool openapi_read;    /* a kustomization's openapi field has been taken */
  /* What the top kustomization's buildMetadata asks for: Kustomize gives
   * every kustomization of the tree the top's, whatever theirs say. */
  bool origins, managed, notes;
  const char *top_dir;
  const char *running[LAYER_MAX_DEPTH];
  pos next_at[LAYER_MAX_DEPTH];
  size_t nrunning;
} reader;

/* One kustomization being read. */
typedef struct {
  reader *r;
  const char *dir;  /* root-relative, "" for the root */
  const char *file; /* its kustomization file */
  const value *doc;
  bool component;
  size_t first; /* where its layers start (layer.h) */
  value *own;   /* list: the resources its files and generators add */
  size_t *own_seq; /* their seqs: the order the tree lists them in */
  long layer, tail; /* its layer, and the tail layer or -1 */
  kustomize_dir said; /* what plumb convert needs besides the layers */
} kust;

static bool fail(const kust *k, pos at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(const kust *k, pos at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = arena_vprintf(k->r->a, fmt, ap);
  va_end(ap);
  eval_fail(k->r->ev, at, "%s", msg);
  return false;
}

static layer *own_layer(const kust *k) { return &k->r->e->layers[k->layer]; }

/* ---- finding and reading files -------------------------------------------- */

static bool readable(loader *l, const char *name) {
  const char *text, *err;
  size_t len;
  return !loader_is_dir(l, name) && loader_read(l, name, &text, &len, &err) == 0;
}

/* name in dir; a remote tree's root ends in its "//" (loader.h). */
static const char *in_dir(arena *a, const char *dir, const char *name) {
  size_t n = strlen(dir);
  return !n ? name : dir[n - 1] == '/' ? arena_printf(a, "%s%s", dir, name) : arena_printf(a, "%s/%s", dir, name);
}

/* The kustomization files dir holds, root-relative, into found: how
 * many (more than one is a mistake find_file reports). */
static size_t files_in(loader *l, arena *a, const char *dir, const char *found[NFILE_NAMES]) {
  size_t n = 0;
  for (size_t i = 0; i < NFILE_NAMES; i++) {
    const char *name = in_dir(a, dir, file_names[i]);
    if (readable(l, name)) found[n++] = name;
  }
  return n;
}

const char *kustomize_file(loader *l, arena *a, const char *dir) {
  const char *found[NFILE_NAMES];
  return files_in(l, a, dir, found) ? found[0] : NULL;
}

/* path, as written in k's file, as a root-relative name; NULL after
 * reporting at `at` that it leaves the root. A path is never one of the
 * standard library's, whatever its name. */
static const char *resolve(const kust *k, pos at, const char *path) {
  const char *name, *err;
  if (strncmp(path, "std/", 4) == 0) path = arena_printf(k->r->a, "./%s", path);
  if (loader_resolve(k->r->l, k->file, path, &name, &err) == 0) return name;
  fail(k, at, "%s", err);
  return NULL;
}

/* name, written so in k's file, unless it is outside k's directory:
 * Kustomize reads a kustomization's files only in or below its directory
 * (its load restrictor, kubectl's default); a directory elsewhere is read
 * as a kustomization of its own. NULL after reporting. */
static const char *own_file(const kust *k, pos at, const char *written, const char *name) {
  size_t n = strlen(k->dir);
  if (!name || !n || (strncmp(name, k->dir, n) == 0 && (k->dir[n - 1] == '/' || name[n] == '/'))) return name;
  fail(k, at, "%s is not in or below %s, this kustomization's directory: Kustomize reads no file outside it", written,
       k->dir);
  return NULL;
}

/* A file path as written in k's file, resolved and checked by own_file. */
static const char *resolve_file(const kust *k, pos at, const char *path) {
  return own_file(k, at, path, resolve(k, at, path));
}

/* How a file is read: a kustomization as Kustomize decodes it (YAML 1.1's
 * booleans, through sigs.k8s.io/yaml), resources and patches as kyaml
 * reads them (go-yaml v3: `value: y` is a string). */
typedef int (*yaml_reader)(arena *, diag_list *, const char *, const char *, size_t, value **);

/* The YAML documents of a root-relative file; NULL after reporting. */
static value *read_with(const kust *k, pos at, const char *what, const char *name, yaml_reader read) {
  const char *text, *err;
  size_t len;
  value *docs;
  if (loader_read(k->r->l, name, &text, &len, &err) != 0) return fail(k, at, "%s: %s", what, err), NULL;
  diag_add_source(eval_diags(k->r->ev), name, text, len);
  if (read(k->r->a, eval_diags(k->r->ev), name, text, len, &docs) != 0) return NULL;
  return sops_docs(k->r->ev, name, text, len, docs);
}

static value *read_yaml(const kust *k, pos at, const char *what, const char *name) {
  return read_with(k, at, what, name, yaml_read_v3);
}

/* The directory an entry of resources or components names: root-relative,
 * or, for a remote base, in the tree of its repository (loader.h); NULL
 * after reporting. */
static const char *entry_dir(const kust *k, const value *entry, const char *what) {
  remote_spec spec;
  const char *err, *s = entry->u.str.s;
  int remote = remote_parse(k->r->a, s, &spec, &err);
  if (remote < 0) return fail(k, entry->at, "%s: %s", what, err), NULL;
  if (!remote) return resolve(k, entry->at, s);
  const char *key = remote_key(k->r->a, &spec);
  if (loader_mount(k->r->l, key, spec.url, spec.ref, &err) != 0) return fail(k, entry->at, "%s: %s", what, err), NULL;
  return arena_printf(k->r->a, "%s//%s", key, spec.path);
}

/* ---- checking what a file says -------------------------------------------- */

static bool want_kind(const kust *k, const value *v, value_kind kind, const char *what) {
  if (v->kind == kind) return true;
  return fail(k, v->at, "%s must be %s, got %s", what, value_a(kind), value_a(v->kind));
}

/* The string field key of obj, NULL when absent; *ok false after
 * reporting one that is not a string. */
static const value *opt_string(const kust *k, const value *obj, const char *key, const char *what, bool *ok) {
  const value *v = value_object_get(obj, key);
  if (v && !want_kind(k, v, V_STRING, arena_printf(k->r->a, "%s.%s", what, key))) *ok = false;
  return v && v->kind == V_STRING ? v : NULL;
}

/* The list field key of obj, NULL when absent; *ok false after reporting
 * one that is not a list. */
static const value *opt_list(const kust *k, const value *obj, const char *key, bool *ok) {
  const value *v = value_object_get(obj, key);
  if (v && !want_kind(k, v, V_LIST, key)) *ok = false;
  return v && v->kind == V_LIST ? v : NULL;
}

/* A list of strings, or NULL; *ok false after reporting otherwise. */
static const value *opt_strings(const kust *k, const value *obj, const char *key, bool *ok) {
  const value *v = value_object_get(obj, key);
  if (!v) return NULL;
  if (!want_kind(k, v, V_LIST, key)) return *ok = false, NULL;
  for (size_t i = 0; i < v->u.list.len; i++)
    if (!want_kind(k, v->u.list.items[i], V_STRING, arena_printf(k->r->a, "%s[%zu]", key, i))) return *ok = false, NULL;
  return v;
}

/* A map of strings to strings, as labels and annotations are. */
static bool string_map(const kust *k, const value *v, const char *what) {
  if (!want_kind(k, v, V_OBJECT, what)) return false;
  for (size_t i = 0; i < v->u.obj.len; i++)
    if (!want_kind(k, v->u.obj.fields[i].val, V_STRING, arena_printf(k->r->a, "%s.%s", what, v->u.obj.fields[i].key)))
      return false;
  return true;
}

/* The fields of obj must be among known[0..n); `what` names obj. */
static bool only_fields(const kust *k, const value *obj, const char *what, const char *const *known, size_t n) {
  for (size_t i = 0; i < obj->u.obj.len; i++) {
    const field *f = &obj->u.obj.fields[i];
    size_t j = 0;
    while (j < n && strcmp(known[j], f->key) != 0) j++;
    if (j < n) continue;
    const char *near = nearest_word(f->key, known, n);
    return fail(k, f->val->at, "unknown field \"%s\" in %s%s%s%s", f->key, what, near ? "; did you mean \"" : "",
                near ? near : "", near ? "\"?" : "");
  }
  return true;
}

static const char *const fields[] = {
    "apiVersion", "kind", "metadata", "resources", "bases", "components", "namespace", "namePrefix", "nameSuffix",
    "commonLabels", "labels", "commonAnnotations", "images", "replicas", "patches", "patchesStrategicMerge",
    "patchesJson6902", "configMapGenerator", "secretGenerator", "generatorOptions", "replacements", "configurations",
    "vars", "buildMetadata", "sortOptions", "crds", "openapi",
    /* Kustomize's, not read yet: */ "helmCharts",
    "helmGlobals", "helmChartInflationGenerator", "transformers", "generators", "validators"};
enum { NREAD = 27, NFIELDS = sizeof fields / sizeof *fields };

static bool check_fields(const kust *k) {
  if (!want_kind(k, k->doc, V_OBJECT, k->file) || !only_fields(k, k->doc, k->file, fields, NFIELDS)) return false;
  for (size_t i = NREAD; i < NFIELDS; i++) {
    const value *v = value_object_get(k->doc, fields[i]);
    if (v) return fail(k, v->at, "kustomization field \"%s\" is not supported by plumb yet", fields[i]);
  }
  bool ok = true;
  const value *kind = opt_string(k, k->doc, "kind", k->file, &ok);
  const char *want = k->component ? "Component" : "Kustomization";
  if (kind && strcmp(kind->u.str.s, want) != 0)
    return fail(k, kind->at, "%s is a %s, expected a %s: %s", k->file, kind->u.str.s, want,
                k->component ? "components lists Components" : "resources lists Kustomizations");
  if (!kind && k->component)
    return fail(k, k->doc->at, "a component needs kind: Component (apiVersion: kustomize.config.k8s.io/v1alpha1)");
  return ok;
}

/* ---- resources ------------------------------------------------------------ */

static bool read_dir(reader *r, const char *dir, pos from, bool component, size_t first);

/* A resource of k's own, numbered in the order the tree lists it. */
static void add_own(kust *k, value *res) {
  k->own_seq = arena_room_for_one(k->r->a, k->own_seq, k->own->u.list.len, sizeof *k->own_seq);
  k->own_seq[k->own->u.list.len] = k->r->seq++;
  value_list_push(k->r->a, k->own, res);
}

/* The resources of a file, onto k's own. */
static bool add_file(kust *k, pos at, const char *name) {
  value *docs = read_yaml(k, at, "resources", name), *res = docs ? builtin_resources_of(k->r->ev, "resources", name, docs) : NULL;
  for (size_t i = 0; res && i < res->u.list.len; i++) add_own(k, res->u.list.items[i]);
  return res != NULL;
}

/* Adds entry to list and its directory dir to *dirs, kept as long. */
static void remember_dir(arena *a, value *list, const char ***dirs, const value *entry, const char *dir) {
  size_t n = list->u.list.len;
  *dirs = arena_room_for_one(a, *dirs, n, sizeof **dirs);
  (*dirs)[n] = dir;
  value_list_push(a, list, (value *)entry);
}

/* A directory is built on its own as a layer (or layers) before k's. */
static bool add_resource(kust *k, const value *entry) {
  const char *name = entry_dir(k, entry, "resources");
  if (!name) return false;
  k->r->next_at[k->r->nrunning - 1] = entry->at;
  if (!loader_is_dir(k->r->l, name)) {
    if (!own_file(k, entry->at, entry->u.str.s, name)) return false;
    value_list_push(k->r->a, k->said.files, (value *)entry);
    return add_file(k, entry->at, name);
  }
  remember_dir(k->r->a, k->said.bases, &k->said.base_dirs, entry, name);
  return read_dir(k->r, name, entry->at, false, 0);
}

static bool add_resources(kust *k) {
  bool ok = true;
  static const char *const keys[] = {"resources", "bases"};
  for (int i = 0; i < 2; i++) {
    const value *list = opt_strings(k, k->doc, keys[i], &ok);
    for (size_t j = 0; list && j < list->u.list.len; j++) ok = add_resource(k, list->u.list.items[j]) && ok;
  }
  return ok;
}

static bool add_components(kust *k) {
  bool ok = true;
  const value *list = opt_strings(k, k->doc, "components", &ok);
  for (size_t i = 0; list && i < list->u.list.len; i++) {
    const value *entry = list->u.list.items[i];
    const char *name = entry_dir(k, entry, "components");
    if (!name) return false;
    if (!loader_is_dir(k->r->l, name)) return fail(k, entry->at, "component \"%s\" is not a directory", entry->u.str.s);
    k->r->next_at[k->r->nrunning - 1] = entry->at;
    remember_dir(k->r->a, k->said.components, &k->said.component_dirs, entry, name);
    if (!read_dir(k->r, name, entry->at, true, k->first)) return false;
  }
  return ok;
}

/* ---- generators ----------------------------------------------------------- */

/* KEY=VALUE of a literal source; quotes around the value go, as Kustomize
 * drops them. */
static bool literal(kust *k, const value *src, value *into) {
  const char *s = src->u.str.s, *eq = strchr(s, '=');
  if (!eq || eq == s) return fail(k, src->at, "literal \"%s\" is not KEY=VALUE", s);
  const char *v = eq + 1;
  size_t n = strlen(v);
  if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) v++, n -= 2;
  const char *key = arena_strndup(k->r->a, s, (size_t)(eq - s));
  if (value_object_get(into, key)) return fail(k, src->at, "literal key \"%s\" is given twice", key);
  value_object_set(k->r->a, into, key, value_string(k->r->a, src->at, v, n));
  return true;
}

/* [KEY=]PATH of a file source: the key is the file's base name unless given. */
static bool file_source(kust *k, const value *src, value *into) {
  const char *s = src->u.str.s, *eq = strchr(s, '='), *path = eq ? eq + 1 : s;
  const char *slash = strrchr(path, '/');
  const char *key = eq ? arena_strndup(k->r->a, s, (size_t)(eq - s)) : slash ? slash + 1 : path;
  if (!*key || !*path) return fail(k, src->at, "file source \"%s\" is not [KEY=]PATH", s);
  if (!resolve_file(k, src->at, path)) return false;
  if (value_object_get(into, key)) return fail(k, src->at, "file key \"%s\" is given twice", key);
  value_object_set(k->r->a, into, key, value_string(k->r->a, src->at, path, strlen(path)));
  return true;
}

static const char *const option_fields[] = {"labels", "annotations", "disableNameSuffixHash", "immutable"};

/* Options of a generator under the kustomization's generatorOptions: a
 * label or annotation of the generator wins; a true of either wins. */
static bool options(kust *k, const value *local, value *spec) {
  arena *a = k->r->a;
  const value *global = value_object_get(k->doc, "generatorOptions");
  const value *both[] = {global, local};
  bool hash = true, immutable = false;
  for (int i = 0; i < 2; i++) {
    const value *o = both[i];
    const char *what = i ? "options" : "generatorOptions";
    if (!o) continue;
    if (!want_kind(k, o, V_OBJECT, what) || !only_fields(k, o, what, option_fields, 4)) return false;
    static const char *const maps[] = {"labels", "annotations"};
    for (int m = 0; m < 2; m++) {
      const value *v = value_object_get(o, maps[m]);
      if (!v) continue;
      if (!string_map(k, v, arena_printf(a, "%s.%s", what, maps[m]))) return false;
      value *now = value_object_get(spec, maps[m]);
      value_object_set(a, spec, maps[m], now ? merge_values(a, now, v, NULL) : (value *)v);
    }
    const value *no_hash = value_object_get(o, "disableNameSuffixHash"), *imm = value_object_get(o, "immutable");
    if (no_hash && !want_kind(k, no_hash, V_BOOL, "disableNameSuffixHash")) return false;
    if (imm && !want_kind(k, imm, V_BOOL, "immutable")) return false;
    hash = hash && !(no_hash && no_hash->u.b);
    immutable = immutable || (imm && imm->u.b);
  }
  if (!hash) value_object_set(a, spec, "hash", value_bool(a, k->doc->at, false));
  if (immutable) value_object_set(a, spec, "immutable", value_bool(a, k->doc->at, true));
  return true;
}

static const char *const generator_fields[] = {"name", "namespace", "behavior", "literals", "files",
                                               "envs", "env",       "options",  "type"};

/* The spec config_map() or secret() takes (generate.h) for one entry. */
static value *generator_spec(kust *k, const value *g, bool secret) {
  arena *a = k->r->a;
  value *spec = value_object(a, g->at), *lits = value_object(a, g->at), *files = value_object(a, g->at);
  value *envs = value_list(a, g->at);
  bool ok = true;
  const value *l = opt_strings(k, g, "literals", &ok), *f = opt_strings(k, g, "files", &ok);
  const value *e = opt_strings(k, g, "envs", &ok), *env = opt_string(k, g, "env", "env", &ok);
  const value *type = opt_string(k, g, "type", "type", &ok);
  if (!ok) return NULL;
  if (type && !secret) return fail(k, type->at, "configMapGenerator has no field \"type\""), NULL;
  for (size_t i = 0; l && i < l->u.list.len; i++)
    if (!literal(k, l->u.list.items[i], lits)) return NULL;
  for (size_t i = 0; f && i < f->u.list.len; i++)
    if (!file_source(k, f->u.list.items[i], files)) return NULL;
  if (env) value_list_push(a, envs, (value *)env);
  for (size_t i = 0; e && i < e->u.list.len; i++) value_list_push(a, envs, e->u.list.items[i]);
  for (size_t i = 0; i < envs->u.list.len; i++)
    if (!resolve_file(k, envs->u.list.items[i]->at, envs->u.list.items[i]->u.str.s)) return NULL;
  if (lits->u.obj.len) value_object_set(a, spec, "literals", lits);
  if (files->u.obj.len) value_object_set(a, spec, "files", files);
  if (envs->u.list.len) value_object_set(a, spec, "envs", envs);
  if (type) value_object_set(a, spec, "type", (value *)type);
  return options(k, value_object_get(g, "options"), spec) ? spec : NULL;
}

/* A generator with behavior merge or replace changes the resource of that
 * name the layers below made: a patch of its data, first of k's. */
static void generated_patch(kust *k, const value *made, const value *name, bool replace) {
  arena *a = k->r->a;
  value *body = value_object(a, made->at);
  const value *meta = value_object_get(made, "metadata");
  static const char *const meta_keys[] = {"labels", "annotations"};
  value *m = value_object(a, made->at);
  for (int i = 0; i < 2; i++)
    if (value_object_get(meta, meta_keys[i])) value_object_set(a, m, meta_keys[i], value_object_get(meta, meta_keys[i]));
  if (m->u.obj.len) value_object_set(a, body, "metadata", m);
  static const char *const data_keys[] = {"data", "binaryData"};
  for (int i = 0; i < 2; i++) {
    value *d = value_object_get(made, data_keys[i]);
    if (!d) continue;
    if (replace) {
      d = value_clone(a, d);
      d->via = merge_replace_via;
    }
    value_object_set(a, body, data_keys[i], d);
  }
  if (replace && !value_object_get(made, "data")) {
    value *gone = value_null(a, name->at);
    gone->via = merge_delete_via;
    value_object_set(a, body, "data", gone);
  }
  patch *p = patch_list_push(a, &own_layer(k)->patches);
  *p = (patch){.at = name->at, .kind = value_get_string(made, "kind"), .name = (value *)name, .body = body};
}

static bool generate(kust *k, const value *g, bool secret) {
  arena *a = k->r->a;
  const char *what = secret ? "secretGenerator" : "configMapGenerator";
  bool ok = true;
  if (!want_kind(k, g, V_OBJECT, what) || !only_fields(k, g, what, generator_fields, 9)) return false;
  const value *name = opt_string(k, g, "name", "name", &ok), *ns = opt_string(k, g, "namespace", "namespace", &ok);
  const value *behavior = opt_string(k, g, "behavior", "behavior", &ok);
  if (!ok) return false;
  if (!name) return fail(k, g->at, "a %s entry needs a name", what);
  const char *how = behavior ? behavior->u.str.s : "create";
  if (strcmp(how, "create") && strcmp(how, "merge") && strcmp(how, "replace"))
    return fail(k, behavior->at, "behavior must be create, merge or replace, not \"%s\"", how);
  value *spec = generator_spec(k, g, secret);
  if (!spec) return false;
  value *argv[] = {(value *)name, spec};
  value *made = (secret ? generate_secret : generate_config_map)(k->r->ev, g->at, argv, 2);
  if (!made) return false;
  if (ns) {
    value *meta = value_object_get(made, "metadata");
    uint32_t was = meta->size;
    value_object_set(a, meta, "namespace", (value *)ns);
    value_part_changed(made, meta, was); /* made's size follows (value.h) */
  }
  if (strcmp(how, "create") == 0) add_own(k, made);
  else generated_patch(k, made, name, strcmp(how, "replace") == 0);
  kustomize_dir *said = &k->said;
  said->gens = arena_room_for_one(a, said->gens, said->ngens, sizeof *said->gens);
  said->gens[said->ngens++] = (kustomize_generator){g, name, spec, secret, how};
  said->nmerged += strcmp(how, "create") != 0;
  return true;
}

static bool add_generated(kust *k) {
  static const char *const keys[] = {"configMapGenerator", "secretGenerator"};
  for (int i = 0; i < 2; i++) {
    const value *list = value_object_get(k->doc, keys[i]);
    if (!list) continue;
    if (!want_kind(k, list, V_LIST, keys[i])) return false;
    for (size_t j = 0; j < list->u.list.len; j++)
      if (!generate(k, list->u.list.items[j], i == 1)) return false;
  }
  return true;
}

/* ---- patches -------------------------------------------------------------- */

/* The documents of a patch: from its file, or its inline text (whose
 * values are placed at the text, as its lines are not the file's). */
static value *patch_docs(kust *k, const value *path, const value *text) {
  if (path) {
    const char *name = resolve_file(k, path->at, path->u.str.s);
    return name ? read_yaml(k, path->at, "patch", name) : NULL;
  }
  value *docs;
  diag_list quiet;
  diag_init(&quiet, k->r->a);
  if (yaml_read_v3(k->r->a, &quiet, k->file, text->u.str.s, text->u.str.len, &docs) < 0) {
    const diag *g = quiet.first;
    if (!g || !g->at.line) return fail(k, text->at, "this patch is invalid YAML: %s", g ? g->msg : "unreadable"), NULL;
    return fail(k, text->at, "this patch is invalid YAML at its line %d, column %d: %s", g->at.line, g->at.col, g->msg), NULL;
  }
  builtin_stamp(docs, text->at);
  return docs;
}

/* A strategic merge patch names its resource: Kustomize keeps the
 * apiVersion and puts back the kind, name and namespace the resource had
 * (but the kind or name options allow to change), so the body leaves them
 * out. */
static value *smp_body(arena *a, const value *doc, const patch *opts) {
  value *body = value_clone(a, doc), *meta = value_object_get(doc, "metadata");
  value_object_remove(body, "apiVersion");
  if (!opts->may_rekind) value_object_remove(body, "kind");
  if (meta && meta->kind == V_OBJECT) {
    meta = value_clone(a, meta);
    if (!opts->may_rename) value_object_remove(meta, "name");
    value_object_remove(meta, "namespace");
    if (meta->u.obj.len) value_object_set(a, body, "metadata", meta);
    else value_object_remove(body, "metadata");
  }
  return body;
}

static const char *const target_fields[] = {"group", "version", "kind", "name", "namespace", "labelSelector",
                                            "annotationSelector"};
/* Their names in a where() (patch.h). */
static const char *const where_names[] = {"group", "version", "kind", "name", "namespace", "labels", "annotations"};

static value *where_of(kust *k, const value *target) {
  if (!want_kind(k, target, V_OBJECT, "target") || !only_fields(k, target, "target", target_fields, 7)) return NULL;
  value *where = value_object(k->r->a, target->at);
  bool ok = true;
  for (int i = 0; i < 7; i++) {
    const value *v = opt_string(k, target, target_fields[i], "target", &ok);
    if (v) value_object_set(k->r->a, where, where_names[i], (value *)v);
  }
  return ok ? where : NULL;
}

/* One patch onto list: by target, or the resource a strategic merge
 * patch names; opts holds its options (may_rename, may_rekind). */
static bool add_patch(kust *k, patch_list *list, const value *doc, value *where, pos at, const patch *opts) {
  arena *a = k->r->a;
  patch p = *opts;
  p.at = at;
  if (doc->kind == V_LIST) {
    if (!where) return fail(k, at, "a JSON patch needs a target");
    p.where = where, p.body = (value *)doc, p.may_miss = true;
  } else if (!want_kind(k, doc, V_OBJECT, "a patch")) {
    return false;
  } else if (where) {
    p.where = where, p.body = smp_body(a, doc, opts), p.may_miss = true;
  } else {
    p.at = doc->at, p.kind = value_get_string(doc, "kind"), p.name = value_get_path(doc, "metadata.name");
    if (!p.kind || !p.name || p.name->kind != V_STRING)
      return fail(k, doc->at, "a patch without a target needs kind and metadata.name: they name what it patches");
    p.body = smp_body(a, doc, opts);
  }
  *patch_list_push(a, list) = p;
  return true;
}

static const char *const patch_options[] = {"allowNameChange", "allowKindChange"};

/* A patch's options, as the patch they make. */
static bool patch_opts(kust *k, const value *opts, patch *out) {
  *out = (patch){0};
  if (!opts) return true;
  if (!want_kind(k, opts, V_OBJECT, "options") || !only_fields(k, opts, "options", patch_options, 2)) return false;
  for (size_t i = 0; i < opts->u.obj.len; i++)
    if (!want_kind(k, opts->u.obj.fields[i].val, V_BOOL, opts->u.obj.fields[i].key)) return false;
  const value *name = value_object_get(opts, "allowNameChange"), *kind = value_object_get(opts, "allowKindChange");
  out->may_rename = name && name->u.b;
  out->may_rekind = kind && kind->u.b;
  return true;
}

static const char *const patch_fields[] = {"path", "patch", "target", "options"};

/* An entry of patches or patchesJson6902: {path or patch, target}. */
static bool patch_entry(kust *k, patch_list *list, const value *entry, const char *what) {
  if (!want_kind(k, entry, V_OBJECT, what) || !only_fields(k, entry, what, patch_fields, 4)) return false;
  bool ok = true;
  const value *path = opt_string(k, entry, "path", "path", &ok), *text = opt_string(k, entry, "patch", "patch", &ok);
  const value *target = value_object_get(entry, "target"), *opts = value_object_get(entry, "options");
  patch options;
  if (!ok || !patch_opts(k, opts, &options)) return false;
  if (!path == !text) return fail(k, entry->at, "a %s entry needs either path or patch", what);
  value *where = target ? where_of(k, target) : NULL;
  if (target && !where) return false;
  value *docs = patch_docs(k, path, text);
  if (!docs) return false;
  /* A JSON patch is one list; a file of strategic ones may hold several. */
  if (docs->u.list.len > 1 && where)
    return fail(k, entry->at, "a patch with a target holds one document, this one has %zu", docs->u.list.len);
  for (size_t i = 0; i < docs->u.list.len; i++)
    if (!add_patch(k, list, docs->u.list.items[i], where, (path ? path : text)->at, &options)) return false;
  return true;
}

/* patchesStrategicMerge: paths of files, or patches written inline. */
static bool strategic_entry(kust *k, patch_list *list, const value *entry) {
  const char *s = entry->u.str.s;
  bool inline_text = strchr(s, '\n') || strstr(s, ": ");
  value *docs = patch_docs(k, inline_text ? NULL : entry, inline_text ? entry : NULL);
  if (!docs) return false;
  for (size_t i = 0; i < docs->u.list.len; i++)
    if (!add_patch(k, list, docs->u.list.items[i], NULL, entry->at, &(patch){0})) return false;
  return true;
}

static bool add_patches(kust *k) {
  bool ok = true;
  patch_list *own = &own_layer(k)->patches;
  const value *smp = opt_strings(k, k->doc, "patchesStrategicMerge", &ok);
  for (size_t i = 0; smp && i < smp->u.list.len; i++) ok = ok && strategic_entry(k, own, smp->u.list.items[i]);
  const value *p = value_object_get(k->doc, "patches"), *j = value_object_get(k->doc, "patchesJson6902");
  if (p && !want_kind(k, p, V_LIST, "patches")) return false;
  for (size_t i = 0; ok && p && i < p->u.list.len; i++) ok = patch_entry(k, own, p->u.list.items[i], "patches");
  if (j && !want_kind(k, j, V_LIST, "patchesJson6902")) return false;
  for (size_t i = 0; ok && j && i < j->u.list.len; i++) {
    if (!value_object_get(j->u.list.items[i], "target"))
      return fail(k, j->u.list.items[i]->at, "a patchesJson6902 entry needs a target");
    ok = patch_entry(k, &k->r->e->layers[k->tail].patches, j->u.list.items[i], "patchesJson6902");
  }
  return ok;
}

/* ---- transformers --------------------------------------------------------- */

static void set(const kust *k, long at, const char *setting, value *v) {
  value_object_set(k->r->a, k->r->e->layers[at].settings, setting, v);
}

/* Labels of one kind of reach gathered into one setting: a later pair
 * wins, as when the transformers run in order. */
static void add_labels(const kust *k, const char *setting, const value *pairs) {
  value *now = value_object_get(own_layer(k)->settings, setting);
  set(k, k->layer, setting, now ? merge_values(k->r->a, now, pairs, NULL) : (value *)pairs);
}

static const char *const label_fields[] = {"pairs", "includeSelectors", "includeTemplates", "fields"};

static value *plumb_spec(const kust *k, const value *fs, const char *to);

/* The field specs of category in k's layer (transform.h), made when
 * missing. */
static value *spec_list(const kust *k, const char *category, pos at) {
  arena *a = k->r->a;
  value *settings = own_layer(k)->settings, *specs = value_object_get(settings, "field_specs");
  if (!specs) value_object_set(a, settings, "field_specs", specs = value_object(a, at));
  value *list = value_object_get(specs, category);
  if (!list) value_object_set(a, specs, category, list = value_list(a, at));
  return list;
}

/* The setting a labels entry's pairs join, by how far they reach. */
static const char *label_setting(const value *l) {
  const value *sel = value_object_get(l, "includeSelectors"), *tpl = value_object_get(l, "includeTemplates");
  return sel && sel->kind == V_BOOL && sel->u.b ? "common_labels" : tpl && tpl->kind == V_BOOL && tpl->u.b ? "template_labels" : "labels";
}

/* A labels entry's fields: more places for its pairs, as field specs of
 * their setting, which must be theirs alone: a layer has one label set a
 * reach, and its field specs serve all of it. */
static bool label_fields_of(const kust *k, const value *l, const value *list, const value *common) {
  const value *fs = value_object_get(l, "fields");
  if (!fs) return true;
  if (!want_kind(k, fs, V_LIST, "fields")) return false;
  const char *setting = label_setting(l);
  bool shared = common && strcmp(setting, "common_labels") == 0;
  for (size_t i = 0; !shared && i < list->u.list.len; i++)
    shared = list->u.list.items[i] != l && strcmp(label_setting(list->u.list.items[i]), setting) == 0;
  if (shared)
    return fail(k, fs->at, "labels[].fields on a label set that shares its reach (selectors, templates or metadata) "
                           "with another of this kustomization is not supported by plumb yet");
  value *specs = spec_list(k, setting, fs->at);
  for (size_t i = 0; i < fs->u.list.len; i++) {
    value *spec = plumb_spec(k, fs->u.list.items[i], NULL);
    if (!spec) return false;
    value_list_push(k->r->a, specs, spec);
  }
  return true;
}

static bool labels(const kust *k) {
  const value *common = value_object_get(k->doc, "commonLabels"), *list = value_object_get(k->doc, "labels");
  if (common && !string_map(k, common, "commonLabels")) return false;
  if (common) add_labels(k, "common_labels", common);
  if (list && !want_kind(k, list, V_LIST, "labels")) return false;
  for (size_t i = 0; list && i < list->u.list.len; i++) {
    const value *l = list->u.list.items[i];
    if (!want_kind(k, l, V_OBJECT, "labels[]") || !only_fields(k, l, "labels[]", label_fields, 4)) return false;
    const value *pairs = value_object_get(l, "pairs"), *sel = value_object_get(l, "includeSelectors");
    const value *tpl = value_object_get(l, "includeTemplates");
    if ((sel && !want_kind(k, sel, V_BOOL, "includeSelectors")) || (tpl && !want_kind(k, tpl, V_BOOL, "includeTemplates")))
      return false;
    if (!label_fields_of(k, l, list, common)) return false;
    if (!pairs) continue;
    if (!string_map(k, pairs, "labels[].pairs")) return false;
    add_labels(k, label_setting(l), pairs);
  }
  return true;
}

static const char *const image_fields[] = {"name", "newName", "newTag", "digest"};
/* Their names in the images setting (transform.h). */
static const char *const image_keys[] = {NULL, "name", "tag", "digest"};

static bool images(const kust *k, long at) {
  bool ok = true;
  const value *list = opt_list(k, k->doc, "images", &ok);
  if (!list) return ok;
  value *out = value_object(k->r->a, list->at);
  for (size_t i = 0; i < list->u.list.len; i++) {
    const value *img = list->u.list.items[i];
    if (!want_kind(k, img, V_OBJECT, "images[]") || !only_fields(k, img, "images[]", image_fields, 4)) return false;
    const value *name = opt_string(k, img, "name", "images[]", &ok);
    value *to = value_object(k->r->a, img->at);
    for (int f = 1; f < 4; f++) {
      const value *v = opt_string(k, img, image_fields[f], "images[]", &ok);
      if (v && v->u.str.len) value_object_set(k->r->a, to, image_keys[f], (value *)v); /* "": no change */
    }
    if (!ok) return false;
    if (!name) return fail(k, img->at, "an images entry needs a name");
    if (to->u.obj.len) value_object_set(k->r->a, out, name->u.str.s, to);
  }
  if (out->u.obj.len) set(k, at, "images", out);
  k->r->e->layers[at].images_used = arena_alloc(k->r->a, out->u.obj.len + 1);
  return true;
}

static bool replicas(const kust *k, long at) {
  bool ok = true;
  const value *list = opt_list(k, k->doc, "replicas", &ok);
  if (!list) return ok;
  value *out = value_object(k->r->a, list->at);
  static const char *const keys[] = {"name", "count"};
  for (size_t i = 0; i < list->u.list.len; i++) {
    const value *r = list->u.list.items[i];
    if (!want_kind(k, r, V_OBJECT, "replicas[]") || !only_fields(k, r, "replicas[]", keys, 2)) return false;
    const value *name = opt_string(k, r, "name", "replicas[]", &ok), *count = value_object_get(r, "count");
    if (!ok) return false;
    if (!name || !count) return fail(k, r->at, "a replicas entry needs a name and a count");
    if (!want_kind(k, count, V_INT, "replicas[].count")) return false;
    value_object_set(k->r->a, out, name->u.str.s, (value *)count);
  }
  set(k, at, "replicas", out);
  return true;
}

/* ---- replacements ----------------------------------------------------------- */

/* Kustomize's names of a selector's fields, and Plumb's (replace.h). */
static const char *const selector_fields[] = {"group", "version", "kind", "name", "namespace", "labelSelector",
                                              "annotationSelector"};

/* A selector as replace.h takes it; n: 5 for a source (no label or
 * annotation selectors), 7 for a target's. */
static value *replacement_selector(const kust *k, const value *sel, const char *what, size_t n, value *into) {
  if (!want_kind(k, sel, V_OBJECT, what)) return NULL;
  for (size_t i = 0; i < sel->u.obj.len; i++) {
    const field *f = &sel->u.obj.fields[i];
    size_t j = 0;
    while (j < n && strcmp(selector_fields[j], f->key)) j++;
    if (j < n) {
      if (!want_kind(k, f->val, V_STRING, f->key)) return NULL;
      value_object_set(k->r->a, into, where_names[j], f->val);
    }
  }
  return into;
}

static const char *const option_names[] = {"delimiter", "index", "create"};

/* options: {delimiter, index, create} laid flat into out. */
static bool replacement_options(const kust *k, const value *opts, value *out, size_t n) {
  if (!opts) return true;
  if (!want_kind(k, opts, V_OBJECT, "options") || !only_fields(k, opts, "options", option_names, n)) return false;
  for (size_t i = 0; i < opts->u.obj.len; i++) value_object_set(k->r->a, out, opts->u.obj.fields[i].key, opts->u.obj.fields[i].val);
  return true;
}

static value *replacement_source(const kust *k, const value *src) {
  static const char *const known[] = {"group", "version", "kind", "name", "namespace", "fieldPath", "options"};
  if (!want_kind(k, src, V_OBJECT, "source") || !only_fields(k, src, "source", known, 7)) return NULL;
  value *out = replacement_selector(k, src, "source", 5, value_object(k->r->a, src->at));
  if (!out) return NULL;
  const value *fp = value_object_get(src, "fieldPath");
  if (fp) value_object_set(k->r->a, out, "field", (value *)fp);
  return replacement_options(k, value_object_get(src, "options"), out, 2) ? out : NULL;
}

static value *replacement_target(const kust *k, const value *t) {
  static const char *const known[] = {"select", "reject", "fieldPaths", "options"};
  arena *a = k->r->a;
  if (!want_kind(k, t, V_OBJECT, "targets[]") || !only_fields(k, t, "targets[]", known, 4)) return NULL;
  value *out = value_object(a, t->at);
  const value *sel = value_object_get(t, "select"), *rej = value_object_get(t, "reject");
  const value *fps = value_object_get(t, "fieldPaths");
  if (sel) {
    value *s = replacement_selector(k, sel, "select", 7, value_object(a, sel->at));
    if (!s) return NULL;
    value_object_set(a, out, "select", s);
  }
  if (rej) {
    if (!want_kind(k, rej, V_LIST, "reject")) return NULL;
    value *list = value_list(a, rej->at);
    for (size_t i = 0; i < rej->u.list.len; i++) {
      value *r = replacement_selector(k, rej->u.list.items[i], "reject[]", 7, value_object(a, rej->u.list.items[i]->at));
      if (!r) return NULL;
      value_list_push(a, list, r);
    }
    value_object_set(a, out, "reject", list);
  }
  if (fps) value_object_set(a, out, "fields", (value *)fps);
  return replacement_options(k, value_object_get(t, "options"), out, 3) ? out : NULL;
}

static value *replacement(const kust *k, const value *r) {
  static const char *const known[] = {"source", "targets"};
  if (!want_kind(k, r, V_OBJECT, "a replacement") || !only_fields(k, r, "a replacement", known, 2)) return NULL;
  arena *a = k->r->a;
  value *out = value_object(a, r->at);
  const value *src = value_object_get(r, "source"), *targets = value_object_get(r, "targets");
  if (src) {
    value *s = replacement_source(k, src);
    if (!s) return NULL;
    value_object_set(a, out, "source", s);
  }
  if (targets) {
    if (!want_kind(k, targets, V_LIST, "targets")) return NULL;
    value *list = value_list(a, targets->at);
    for (size_t i = 0; i < targets->u.list.len; i++) {
      value *t = replacement_target(k, targets->u.list.items[i]);
      if (!t) return NULL;
      value_list_push(a, list, t);
    }
    value_object_set(a, out, "targets", list);
  }
  return out;
}

/* replacements: each inline, or {path: FILE} of one or more. */
static bool replacements(const kust *k, long at) {
  bool ok = true;
  const value *list = opt_list(k, k->doc, "replacements", &ok);
  if (!list) return ok;
  value *out = value_list(k->r->a, list->at);
  for (size_t i = 0; i < list->u.list.len; i++) {
    const value *entry = list->u.list.items[i], *path = entry->kind == V_OBJECT ? value_object_get(entry, "path") : NULL;
    value *docs = NULL;
    if (path && want_kind(k, path, V_STRING, "path") && entry->u.obj.len == 1) {
      const char *name = resolve_file(k, path->at, path->u.str.s);
      if (!name || !(docs = read_yaml(k, path->at, "replacements", name))) return false;
    } else if (path) {
      return fail(k, entry->at, "a replacements entry is a path alone, or a source and targets");
    }
    /* A file holds one replacement a document, or a list of them. */
    size_t n = docs ? docs->u.list.len : 1;
    for (size_t d = 0; d < n; d++) {
      const value *doc = docs ? docs->u.list.items[d] : entry;
      const value *many = doc->kind == V_LIST ? doc : NULL;
      for (size_t j = 0; j < (many ? many->u.list.len : 1); j++) {
        value *r = replacement(k, many ? many->u.list.items[j] : doc);
        if (!r) return false;
        value_list_push(k->r->a, out, r);
      }
    }
  }
  if (!replace_check(k->r->ev, out)) return false;
  set(k, at, "replacements", out);
  return true;
}

/* ---- configurations ---------------------------------------------------------- */

/* Kustomize's categories of field specs, and Plumb's (transform.h); the
 * others a configurations file may have are not read yet. */
static const char *const config_keys[] = {"commonLabels", "templateLabels", "commonAnnotations",
                                          "images",       "replicas",       "nameReference",
                                          "namePrefix",   "nameSuffix",     "nameSpace"};
static const char *const config_categories[] = {"common_labels", "template_labels", "annotations",
                                                "images",        "replicas",        "references",
                                                "name_prefix",   "name_suffix",     "namespace"};
enum { NCONFIG_KEYS = sizeof config_keys / sizeof *config_keys };
static const char *const fieldspec_keys[] = {"path", "kind", "group", "version", "create"};

/* A field spec as Plumb's field_specs take it: its path with dots for
 * Kustomize's slashes, lists crossed without `[]`; to: the kind a
 * reference names, or NULL. */
static value *plumb_spec(const kust *k, const value *fs, const char *to) {
  arena *a = k->r->a;
  if (!want_kind(k, fs, V_OBJECT, "a field spec") || !only_fields(k, fs, "a field spec", fieldspec_keys, 5)) return NULL;
  bool ok = true;
  const value *path = opt_string(k, fs, "path", "a field spec", &ok);
  if (!ok) return NULL;
  if (!path) return fail(k, fs->at, "a field spec needs a path"), NULL;
  value *out = value_object(a, fs->at);
  for (size_t i = 1; i < 4; i++) {
    const value *v = opt_string(k, fs, fieldspec_keys[i], "a field spec", &ok);
    if (v) value_object_set(a, out, fieldspec_keys[i], (value *)v);
  }
  buf p = {0};
  for (const char *c = path->u.str.s; *c; c++)
    if (*c == '/') buf_putc(&p, '.');
    else if (!(c[0] == '[' && c[1] == ']')) buf_putc(&p, *c);
    else c++;
  value_object_set(a, out, "path", value_string(a, path->at, p.data ? p.data : "", p.len));
  buf_free(&p);
  const value *create = value_object_get(fs, "create");
  if (create && !want_kind(k, create, V_BOOL, "create")) return NULL;
  if (create) value_object_set(a, out, "create", (value *)create);
  if (to) value_object_set(a, out, "to", value_cstring(a, fs->at, to));
  return ok ? out : NULL;
}

/* The entries of one category of a configurations file onto list. */
static bool add_specs(const kust *k, const value *entries, const char *key, value *list) {
  bool refs = strcmp(key, "nameReference") == 0;
  if (!want_kind(k, entries, V_LIST, key)) return false;
  for (size_t i = 0; i < entries->u.list.len; i++) {
    const value *e = entries->u.list.items[i], *fs = e;
    const char *to = NULL;
    if (refs) {
      static const char *const ref_keys[] = {"kind", "group", "version", "fieldSpecs"};
      if (!want_kind(k, e, V_OBJECT, key) || !only_fields(k, e, key, ref_keys, 4)) return false;
      to = value_get_string(e, "kind");
      fs = value_object_get(e, "fieldSpecs");
      if (!to || !fs || !want_kind(k, fs, V_LIST, "fieldSpecs"))
        return to && fs ? false : fail(k, e->at, "a nameReference entry needs a kind and fieldSpecs");
    }
    for (size_t j = 0; j < (refs ? fs->u.list.len : 1); j++) {
      value *spec = plumb_spec(k, refs ? fs->u.list.items[j] : fs, to);
      if (!spec) return false;
      value_list_push(k->r->a, list, spec);
    }
  }
  return true;
}

/* configurations: files of field specs for custom kinds, Plumb's
 * field_specs setting of k's layer. */
static bool configurations(const kust *k) {
  bool ok = true;
  const value *files = opt_strings(k, k->doc, "configurations", &ok);
  if (!files) return ok;
  arena *a = k->r->a;
  for (size_t i = 0; i < files->u.list.len; i++) {
    const value *entry = files->u.list.items[i];
    const char *name = resolve_file(k, entry->at, entry->u.str.s);
    value *docs = name ? read_with(k, entry->at, "configurations", name, yaml_read) : NULL;
    if (!docs) return false;
    for (size_t d = 0; d < docs->u.list.len; d++) {
      const value *doc = docs->u.list.items[d];
      if (!want_kind(k, doc, V_OBJECT, name)) return false;
      for (size_t f = 0; f < doc->u.obj.len; f++) {
        const field *fl = &doc->u.obj.fields[f];
        size_t c = 0;
        while (c < NCONFIG_KEYS && strcmp(config_keys[c], fl->key)) c++;
        if (c == NCONFIG_KEYS && strcmp(fl->key, "varReference") == 0) {
          env_state *e = k->r->e;
          if (!e->var_refs) e->var_refs = value_list(a, fl->val->at);
          if (!add_specs(k, fl->val, fl->key, e->var_refs)) return false;
          continue;
        }
        if (c == NCONFIG_KEYS)
          return fail(k, fl->val->at, "configurations: \"%s\" field specs are not supported by plumb yet", fl->key);
        if (!add_specs(k, fl->val, fl->key, spec_list(k, config_categories[c], fl->val->at))) return false;
      }
    }
  }
  return true;
}

/* ---- crds ---------------------------------------------------------------------- */

/* crds: files of OpenAPI definitions of custom kinds (Go type name ->
 * {Schema, Dependencies}), whose properties' x-kubernetes-* extensions say
 * where Kustomize's transformers reach, as configurations do: its
 * loadconfigfromcrds.go. A definition whose properties include kind,
 * apiVersion and metadata is a kind, named by the type name's last
 * dot-separated part; a property's $ref leads to the definition of its
 * type, whose properties are read on under the property's path. */

/* Definitions nested by $ref at most this deep, and at most this many
 * properties read in all: a type that holds itself would lead on forever,
 * one that holds itself twice would double the work at every step. */
enum { CRD_MAX_DEPTH = 32, CRD_MAX_PROPERTIES = 100000 };

/* The field of obj named key in any case, as Go's encoding/json matches a
 * field; NULL when none. */
static const value *field_anycase(const value *obj, const char *key) {
  for (size_t i = 0; obj && obj->kind == V_OBJECT && i < obj->u.obj.len; i++)
    if (strcasecmp(obj->u.obj.fields[i].key, key) == 0) return obj->u.obj.fields[i].val;
  return NULL;
}

/* An extension of a schema: a string, as Kustomize reads only those. */
static const char *extension(const value *schema, const char *key) {
  const value *v = field_anycase(schema, key);
  return v && v->kind == V_STRING ? v->u.str.s : NULL;
}

static const value *crd_properties(const value *defs, const char *type) {
  const value *props = field_anycase(field_anycase(value_object_get(defs, type), "schema"), "properties");
  return props && props->kind == V_OBJECT ? props : NULL;
}

/* A field spec for kind at path, onto category of k's layer; to: the kind
 * a reference names, or NULL. */
static void kind_spec(const kust *k, const char *category, const char *kind, const char *path, const char *to, pos at) {
  arena *a = k->r->a;
  value *spec = value_object(a, at);
  value_object_set(a, spec, "kind", value_cstring(a, at, kind));
  value_object_set(a, spec, "path", value_cstring(a, at, path));
  if (to) value_object_set(a, spec, "to", value_cstring(a, at, to));
  value_list_push(a, spec_list(k, category, at), spec);
}

/* The definitions of a crds file, the kind being read, and the
 * properties read so far. */
typedef struct {
  const value *defs;
  const char *kind;
  size_t read;
} crd_walk_state;

static bool crd_walk(const kust *k, crd_walk_state *w, const char *type, const char *path, int depth) {
  const value *props = crd_properties(w->defs, type);
  if (!props) return true;
  if (depth > CRD_MAX_DEPTH || (w->read += props->u.obj.len) > CRD_MAX_PROPERTIES)
    return fail(k, props->at, "crds: the definitions of %s lead on, by $ref, deeper than %d or past %d properties (at %s)",
                w->kind, CRD_MAX_DEPTH, CRD_MAX_PROPERTIES, path);
  arena *a = k->r->a;
  const char *kind = w->kind;
  for (size_t i = 0; i < props->u.obj.len; i++) {
    const field *p = &props->u.obj.fields[i];
    const char *at = *path ? arena_printf(a, "%s.%s", path, p->key) : p->key;
    if (extension(p->val, "x-kubernetes-annotation")) kind_spec(k, "annotations", kind, at, NULL, p->val->at);
    if (extension(p->val, "x-kubernetes-label-selector")) kind_spec(k, "common_labels", kind, at, NULL, p->val->at);
    if (extension(p->val, "x-kubernetes-identity")) kind_spec(k, "name_prefix", kind, at, NULL, p->val->at);
    const char *to = extension(p->val, "x-kubernetes-object-ref-kind"), *key = extension(p->val, "x-kubernetes-object-ref-name-key");
    if (extension(p->val, "x-kubernetes-object-ref-api-version") && to)
      kind_spec(k, "references", kind, arena_printf(a, "%s.%s", at, key ? key : "name"), to, p->val->at);
    const value *ref = value_object_get(p->val, "$ref");
    if (ref && ref->kind == V_STRING && !crd_walk(k, w, ref->u.str.s, at, depth + 1)) return false;
  }
  return true;
}

static bool crds(const kust *k) {
  bool ok = true;
  const value *files = opt_strings(k, k->doc, "crds", &ok);
  for (size_t i = 0; ok && files && i < files->u.list.len; i++) {
    const value *entry = files->u.list.items[i];
    const char *name = resolve_file(k, entry->at, entry->u.str.s);
    value *docs = name ? read_with(k, entry->at, "crds", name, yaml_read) : NULL;
    if (!docs) return false;
    if (docs->u.list.len != 1 || docs->u.list.items[0]->kind != V_OBJECT)
      return fail(k, entry->at, "crds: %s must hold one object of OpenAPI definitions by type name", name);
    const value *defs = docs->u.list.items[0];
    for (size_t d = 0; ok && d < defs->u.obj.len; d++) {
      const value *props = crd_properties(defs, defs->u.obj.fields[d].key);
      if (!props || !value_object_get(props, "kind") || !value_object_get(props, "apiVersion") ||
          !value_object_get(props, "metadata"))
        continue;
      const char *type = defs->u.obj.fields[d].key, *dot = strrchr(type, '.');
      crd_walk_state w = {defs, dot ? dot + 1 : type, 0};
      ok = crd_walk(k, &w, type, "", 0);
    }
  }
  return ok;
}

/* ---- openapi ------------------------------------------------------------------- */

/* The only Kubernetes schema Kustomize v5.5 has built in. */
static const char builtin_openapi[] = "v1.21.2";

/* openapi: {path: FILE}, an OpenAPI document whose merge keys replace the
 * built-in ones for the whole build (openapi.h), or {version}, the
 * built-in schema. Kustomize sets its schema once: from the top
 * kustomization, else from the first that has one, in the order read. */
static bool openapi(const kust *k) {
  static const char *const known[] = {"path", "version"};
  const value *o = value_object_get(k->doc, "openapi");
  if (!o) return true;
  if (!want_kind(k, o, V_OBJECT, "openapi") || !only_fields(k, o, "openapi", known, 2)) return false;
  bool ok = true;
  const value *path = opt_string(k, o, "path", "openapi", &ok), *version = opt_string(k, o, "version", "openapi", &ok);
  if (!ok) return false;
  if (path && version) return fail(k, o->at, "openapi: a built-in version and a schema file cannot both be given");
  if (version && strcmp(version->u.str.s, builtin_openapi) != 0)
    return fail(k, version->at, "openapi: version %s is not built in; Kustomize v5.5 has %s", version->u.str.s, builtin_openapi);
  if (path && !k->r->sort)
    return fail(k, path->at, "openapi: a Plumb env merges its patches by Kubernetes' merge keys; a kustomization it "
                             "builds on cannot give others (build the kustomization itself)");
  if (k->r->openapi_read) return true;
  k->r->openapi_read = true;
  if (!path) return true;
  const char *name = resolve_file(k, path->at, path->u.str.s);
  value *docs = name ? read_with(k, path->at, "openapi", name, yaml_read) : NULL;
  if (!docs) return false;
  if (docs->u.list.len != 1) return fail(k, path->at, "openapi: %s must hold one document", name);
  k->r->e->merge_keys = openapi_merge_keys(k->r->ev, docs->u.list.items[0]);
  return k->r->e->merge_keys != NULL;
}

/* ---- vars ---------------------------------------------------------------------- */

/* vars: each {name, objref: {kind, name, apiVersion, namespace},
 * fieldref: {fieldpath}}, onto the env's (vars.h). */
static bool vars(const kust *k) {
  static const char *const var_keys[] = {"name", "objref", "fieldref"};
  static const char *const ref_keys[] = {"kind", "name", "apiVersion", "namespace", "group", "version"};
  static const char *const flat[] = {"kind", "objname", "apiVersion", "namespace"};
  bool ok = true;
  const value *list = opt_list(k, k->doc, "vars", &ok);
  arena *a = k->r->a;
  env_state *e = k->r->e;
  for (size_t i = 0; ok && list && i < list->u.list.len; i++) {
    const value *v = list->u.list.items[i];
    if (!want_kind(k, v, V_OBJECT, "vars[]") || !only_fields(k, v, "vars[]", var_keys, 3)) return false;
    const value *name = opt_string(k, v, "name", "vars[]", &ok), *ref = value_object_get(v, "objref");
    const value *field = value_object_get(v, "fieldref");
    if (!ok) return false;
    if (!name || !ref) return fail(k, v->at, "a var needs a name and an objref");
    if (!want_kind(k, ref, V_OBJECT, "objref") || !only_fields(k, ref, "objref", ref_keys, 6)) return false;
    value *out = value_object(a, v->at);
    value_object_set(a, out, "name", (value *)name);
    for (int f = 0; f < 4; f++) {
      const value *s = opt_string(k, ref, ref_keys[f], "objref", &ok);
      if (s) value_object_set(a, out, flat[f], (value *)s);
    }
    if (field) {
      static const char *const field_keys[] = {"fieldpath"};
      if (!want_kind(k, field, V_OBJECT, "fieldref") || !only_fields(k, field, "fieldref", field_keys, 1)) return false;
      const value *fp = opt_string(k, field, "fieldpath", "fieldref", &ok);
      if (fp) value_object_set(a, out, "fieldpath", (value *)fp);
    }
    for (size_t j = 0; ok && e->vars && j < e->vars->u.list.len; j++)
      if (strcmp(value_get_string(e->vars->u.list.items[j], "name"), name->u.str.s) == 0)
        return fail(k, name->at, "var %s is declared twice", name->u.str.s);
    if (!e->vars) e->vars = value_list(a, list->at);
    value_list_push(a, e->vars, out);
  }
  return ok;
}

/* The settings of layer.h that the transformer fields of k make. */
static bool settings(const kust *k) {
  static const struct { const char *field, *setting; } strings[] = {
      {"namespace", "namespace"}, {"namePrefix", "name_prefix"}, {"nameSuffix", "name_suffix"}};
  bool ok = true;
  for (int i = 0; i < 3; i++) {
    const value *v = opt_string(k, k->doc, strings[i].field, strings[i].field, &ok);
    if (v && v->u.str.len) set(k, k->layer, strings[i].setting, (value *)v);
    /* Kustomize's namespace transformer names a Namespace after it too. */
    if (v && v->u.str.len && i == 0) kind_spec(k, "namespace", "Namespace", "metadata.name", NULL, v->at);
  }
  const value *notes = value_object_get(k->doc, "commonAnnotations");
  if (notes && !string_map(k, notes, "commonAnnotations")) return false;
  if (notes) set(k, k->layer, "annotations", (value *)notes);
  long late = k->tail >= 0 ? k->tail : k->layer;
  return ok && labels(k) && images(k, late) && replicas(k, late) && replacements(k, late) && configurations(k) && crds(k) &&
         vars(k);
}

/* ---- build metadata and order ------------------------------------------------ */

/* path (root-relative) as written from directory dir: past the
 * directories both are in, a ../ for each of dir's others. */
static const char *relative(arena *a, const char *dir, const char *path) {
  while (*dir) {
    size_t n = strcspn(dir, "/");
    if (strncmp(dir, path, n) != 0 || path[n] != '/') break;
    path += n + 1;
    dir += n + (dir[n] == '/');
  }
  size_t ups = *dir ? 1 : 0;
  for (const char *c = dir; *c; c++) ups += *c == '/';
  buf b = {0};
  while (ups--) buf_puts(&b, "../");
  buf_puts(&b, path);
  const char *out = arena_strdup(a, b.data ? b.data : "");
  buf_free(&b);
  return out;
}

static bool generated_from(const value *r) {
  const char *f = r->at.file, *slash = f ? strrchr(f, '/') : NULL, *base = slash ? slash + 1 : f;
  for (size_t i = 0; base && i < NFILE_NAMES; i++)
    if (strcmp(base, file_names[i]) == 0) return true;
  return false;
}

/* The config.kubernetes.io/origin annotation of r as seen from dir. */
static value *origin(const kust *k, const value *r) {
  arena *a = k->r->a;
  const char *from = relative(a, k->dir, r->at.file), *kind = value_get_string(r, "kind");
  const char *text = generated_from(r) ? arena_printf(a,
                                                      "configuredIn: %s\nconfiguredBy:\n  apiVersion: builtin\n  kind: %s\n",
                                                      from, kind && strcmp(kind, "Secret") == 0 ? "SecretGenerator"
                                                                                                 : "ConfigMapGenerator")
                                       : arena_printf(a, "path: %s\n", from);
  return value_cstring(a, r->at, text);
}

/* Sets key to v in map field `which` of r's metadata, unless there; the
 * sizes of the containers on the way follow (value.h). */
static void stamp(arena *a, value *r, const char *which, const char *key, value *v) {
  value *meta = value_object_get(r, "metadata"), *map = meta ? value_object_get(meta, which) : NULL;
  if (!meta || meta->kind != V_OBJECT) return;
  uint32_t meta_was = meta->size;
  if (map && map->kind == V_OBJECT) {
    uint32_t was = map->size;
    if (!value_object_add(a, map, key, v)) return;
    value_part_changed(meta, map, was);
  } else {
    map = value_object(a, r->at);
    value_object_push(a, map, key, v);
    value_object_set(a, meta, which, map);
  }
  value_part_changed(r, meta, meta_was);
}

/* buildMetadata: its options, checked in every kustomization, taken from
 * the top one only (the reader's), as Kustomize takes them. */
static bool build_metadata_options(const kust *k, bool top) {
  static const char *const known[] = {"originAnnotations", "managedByLabel", "transformerAnnotations"};
  bool ok = true;
  const value *list = opt_strings(k, k->doc, "buildMetadata", &ok);
  for (size_t i = 0; list && i < list->u.list.len; i++) {
    const value *o = list->u.list.items[i];
    size_t j = 0;
    while (j < 3 && strcmp(known[j], o->u.str.s)) j++;
    if (j == 3) return fail(k, o->at, "buildMetadata takes originAnnotations, managedByLabel or transformerAnnotations, not \"%s\"", o->u.str.s);
    bool *flag = j == 0 ? &k->r->origins : j == 1 ? &k->r->managed : &k->r->notes;
    if (top) *flag = true;
  }
  return ok;
}

/* originAnnotations and managedByLabel on every resource of the top
 * kustomization's layers, as read. */
static void build_metadata(const kust *k) {
  arena *a = k->r->a;
  bool origins = k->r->origins, managed = k->r->managed;
  /* What Kustomize v5.5, whose output plumb matches, writes. */
  value *by = managed ? value_cstring(a, k->doc->at, "kustomize-v5.5.0") : NULL;
  for (size_t l = k->first; (origins || managed) && l < k->r->e->nlayers; l++) {
    const layer *ly = &k->r->e->layers[l];
    for (size_t i = 0; i < ly->nres; i++) {
      if (origins) stamp(a, ly->res[i].obj, "annotations", "config.kubernetes.io/origin", origin(k, ly->res[i].obj));
      if (managed) stamp(a, ly->res[i].obj, "labels", "app.kubernetes.io/managed-by", by);
    }
  }
}

/* The transformers Kustomize makes of k's fields, in the order it runs
 * them (its kusttarget_configplugin.go), each once per entry where it
 * makes one an entry: what transformerAnnotations records. */
static void note_transformers(const kust *k, buf *b) {
  static const struct {
    const char *field, *kind;
    bool each; /* one per entry of the list */
  } made[] = {
      {"patchesStrategicMerge", "PatchStrategicMergeTransformer", false}, {"patches", "PatchTransformer", true},
      {"namespace", "NamespaceTransformer", false},      {"namePrefix", "PrefixTransformer", false},
      {"nameSuffix", "SuffixTransformer", false},        {"labels", "LabelTransformer", true},
      {"commonAnnotations", "AnnotationsTransformer", false}, {"patchesJson6902", "PatchJson6902Transformer", true},
      {"replicas", "ReplicaCountTransformer", true},     {"images", "ImageTagTransformer", true},
      {"replacements", "ReplacementTransformer", false},
  };
  const char *in = relative(k->r->a, k->r->top_dir, k->file);
  for (size_t i = 0; i < sizeof made / sizeof *made; i++) {
    const value *v = value_object_get(k->doc, made[i].field);
    size_t n = !v ? 0 : v->kind == V_LIST ? v->u.list.len : v->kind == V_OBJECT ? v->u.obj.len : v->u.str.len;
    if (!strcmp(made[i].field, "labels")) {
      /* One a labels entry, and one for commonLabels, empty or not. */
      const value *common = value_object_get(k->doc, "commonLabels");
      n = n || (common && common->u.obj.len) ? n + 1 : 0;
    } else if (!made[i].each) {
      n = n > 0;
    }
    for (size_t j = 0; j < n; j++)
      buf_printf(b, "- configuredIn: %s\n  configuredBy:\n    apiVersion: builtin\n    kind: %s\n", in, made[i].kind);
  }
}

/* sortOptions: {order: legacy or fifo, legacySortOptions: {orderFirst,
 * orderLast}}, into *sort. Kustomize sorts once, by the top
 * kustomization's: other kustomizations' are checked, not used. */
static bool sort_options(const kust *k, order *sort) {
  static const char *const known[] = {"order", "legacySortOptions"}, *const lists[] = {"orderFirst", "orderLast"};
  const value *o = value_object_get(k->doc, "sortOptions");
  if (!o) return true;
  if (!want_kind(k, o, V_OBJECT, "sortOptions") || !only_fields(k, o, "sortOptions", known, 2)) return false;
  bool ok = true;
  const value *how = opt_string(k, o, "order", "sortOptions", &ok), *custom = value_object_get(o, "legacySortOptions");
  if (!ok) return false;
  bool fifo = how && strcmp(how->u.str.s, "fifo") == 0;
  if (!how || (!fifo && strcmp(how->u.str.s, "legacy") != 0))
    return fail(k, how ? how->at : o->at, "sortOptions.order must be legacy or fifo%s%s%s", how ? ", not \"" : "",
                how ? how->u.str.s : "", how ? "\"" : "");
  if (custom && fifo) return fail(k, custom->at, "sortOptions.legacySortOptions is set but the order is fifo, not legacy");
  if (custom && (!want_kind(k, custom, V_OBJECT, "legacySortOptions") ||
                 !only_fields(k, custom, "legacySortOptions", lists, 2)))
    return false;
  const value *first = custom ? opt_strings(k, custom, lists[0], &ok) : NULL;
  const value *last = custom ? opt_strings(k, custom, lists[1], &ok) : NULL;
  /* Kustomize takes legacySortOptions as given: an empty pair of lists
   * puts no kind first or last. */
  if (ok && sort) *sort = (order){fifo ? ORDER_FIFO : ORDER_LEGACY, custom ? (first ? first : value_list(k->r->a, custom->at)) : NULL, last};
  return ok;
}

/* ---- a kustomization ------------------------------------------------------ */

/* The kustomizations being read, from the one that dir is to the last,
 * each at the entry that leads on: a cycle. */
static void report_cycle(const kust *k, size_t again) {
  reader *r = k->r;
  buf chain = {0};
  for (size_t i = again; i < r->nrunning; i++)
    buf_printf(&chain, "%s (%s:%d:%d) -> ", *r->running[i] ? r->running[i] : ".", r->next_at[i].file,
               r->next_at[i].line, r->next_at[i].col);
  buf_puts(&chain, *k->dir ? k->dir : ".");
  fail(k, r->next_at[r->nrunning - 1], "kustomization cycle: %s", chain.data);
  buf_free(&chain);
}

static bool find_file(kust *k, pos from) {
  reader *r = k->r;
  const char *found[NFILE_NAMES];
  size_t n = files_in(r->l, r->a, k->dir, found);
  if (n > 1) return fail(k, from, "%s holds both %s and %s: keep one", *k->dir ? k->dir : ".", found[0], found[1]);
  if (!n)
    return fail(k, from, "%s holds no kustomization.yaml%s", *k->dir ? k->dir : ".",
                r->nrunning && !k->component ? " (a directory in resources is a kustomization)" : "");
  k->file = found[0];
  return true;
}

static void record(arena *a, kustomize_plan *plan, const kust *k) {
  plan->dirs = arena_room_for_one(a, plan->dirs, plan->n, sizeof *plan->dirs);
  kustomize_dir *d = &plan->dirs[plan->n++];
  *d = k->said;
  d->file = k->file;
  d->doc = k->doc;
  d->layer = k->layer;
  d->tail = k->tail;
}

/* Reads the kustomization in dir, reached from `from`: its resource
 * directories as layers of their own, then its own layer, its
 * components' layers, and its tail layer. A component's layers start at
 * first, where those of the kustomization using it start. */
static bool read_dir(reader *r, const char *dir, pos from, bool component, size_t first) {
  bool top = r->nrunning == 0;
  kust k = {.r = r, .dir = dir, .component = component, .own = value_list(r->a, from), .tail = -1};
  k.said = (kustomize_dir){.dir = dir, .component = component, .bases = value_list(r->a, from),
                           .files = value_list(r->a, from), .components = value_list(r->a, from)};
  if (!find_file(&k, from)) return false;
  for (size_t i = 0; i < r->nrunning; i++)
    if (strcmp(r->running[i], dir) == 0) {
      report_cycle(&k, i);
      return false;
    }
  if (r->nrunning == LAYER_MAX_DEPTH) return fail(&k, from, "kustomizations built on each other deeper than %d", LAYER_MAX_DEPTH);
  value *docs = read_with(&k, from, "kustomization", k.file, yaml_read);
  if (!docs) return false;
  if (docs->u.list.len != 1) return fail(&k, from, "%s must hold one YAML document, not %zu", k.file, docs->u.list.len);
  k.doc = docs->u.list.items[0];
  if (!check_fields(&k) || !openapi(&k) || !build_metadata_options(&k, top)) return false;
  if (top) r->top_dir = dir;
  r->running[r->nrunning] = dir;
  r->next_at[r->nrunning++] = from;
  k.first = component ? first : r->e->nlayers;
  const char *label = arena_printf(r->a, "%s %s", component ? "component" : "kustomization", *dir ? dir : ".");
  if (!add_resources(&k)) return false;
  k.layer = layer_open(r->ev, r->e, label, k.first, k.doc->at);
  if (k.layer < 0 || !add_generated(&k)) return false;
  for (size_t i = 0; i < k.own->u.list.len; i++) layer_add(own_layer(&k), r->a, k.own->u.list.items[i], NULL)->seq = k.own_seq[i];
  if (!add_components(&k)) return false;
  r->e->layers[k.layer].end = r->e->nlayers;
  if (value_object_get(k.doc, "patchesJson6902")) {
    k.tail = layer_open(r->ev, r->e, label, k.first, k.doc->at);
    if (k.tail < 0) return false;
    r->e->layers[k.tail].end = r->e->nlayers;
  }
  if (!add_patches(&k) || !settings(&k) || !sort_options(&k, top ? r->sort : NULL)) return false;
  if (r->notes) {
    buf b = {0};
    note_transformers(&k, &b);
    r->e->layers[k.tail >= 0 ? k.tail : k.layer].notes = b.len ? arena_strdup(r->a, b.data) : NULL;
    buf_free(&b);
  }
  if (top) build_metadata(&k);
  r->nrunning--;
  if (r->plan) record(r->a, r->plan, &k);
  return true;
}

bool kustomize_read(eval *ev, env_state *e, const char *dir, pos from, bool component, size_t first, order *sort,
                    kustomize_plan *plan) {
  reader r = {.ev = ev, .a = eval_arena(ev), .l = e->loader, .e = e, .plan = plan, .sort = sort};
  if (sort) *sort = (order){ORDER_LEGACY, NULL, NULL};
  return read_dir(&r, dir, from, component, first);
}
