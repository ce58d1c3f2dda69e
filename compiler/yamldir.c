/* yamldir.c: directories of YAML manifests (see yamldir.h).
 *
 * Argo CD's rules, which these follow:
 * - Which files: names ending in .yaml, .yml or .json (in that case),
 *   hidden ones too, and .jsonnet, which Argo CD evaluates and plumb
 *   cannot: such a file is an error, unless include or exclude leaves it
 *   out. Exclude is tried first, then include, on the path from the
 *   directory (sub/a.yaml).
 * - A file that holds "+argocd:skip-file-rendering" anywhere is left out.
 * - A JSON file holds one object (Argo CD decodes one and refuses more).
 * - A YAML file that does not decode as resources (not YAML, or its first
 *   document has no kind) is left out unless it holds "apiVersion:",
 *   "kind:" and "metadata:" all three: a values.yaml or a CI file beside
 *   the manifests is no error, a manifest with a mistake is.
 * - Empty documents, and those of comments only, are skipped; a List
 *   stands for its items (builtin_resources_of).
 * Where plumb says more than Argo CD, it says it as an error: a link to
 * nothing, a pattern gobwas/glob refuses (Argo CD matches nothing with
 * it), a resource without metadata.name. */
#include "yamldir.h"

#include <string.h>

#include "glob.h"
#include "sops.h"
#include "plumb/yaml.h"
#include "suggest.h"

#define SKIP_MARKER "+argocd:skip-file-rendering"

/* One reading of a directory. */
typedef struct {
  eval *ev;
  pos at; /* where the directory is named */
  pcre2_code *include, *exclude;
  pcre2_match_data *md;
  value *out;
} reading;

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Argo CD's manifestFile, ^.*\.(yaml|yml|json|jsonnet)$ on the name. */
static bool is_manifest(const char *name) {
  return ends_with(name, ".yaml") || ends_with(name, ".yml") || ends_with(name, ".json") || ends_with(name, ".jsonnet");
}

/* An empty pattern is none, as in Argo CD. */
static bool compile_pattern(reading *r, const char *what, const char *pattern, pcre2_code **out) {
  const char *err;
  if (!pattern || !*pattern) return true;
  *out = glob_compile(eval_arena(r->ev), pattern, &err);
  if (!*out) eval_fail(r->ev, r->at, "yaml_dir: %s: %s", what, err);
  return *out != NULL;
}

/* 1 when path matches re, 0 when not, -1 after reporting. */
static int matches(reading *r, const pcre2_code *re, const char *what, const char *path) {
  const char *subject = glob_subject(eval_arena(r->ev), path);
  int rc = regex_match(r->ev, r->at, re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, r->md);
  if (rc >= 0) return 1;
  if (rc == PCRE2_ERROR_NOMATCH) return 0;
  PCRE2_UCHAR msg[256];
  pcre2_get_error_message(rc, msg, sizeof msg);
  eval_fail(r->ev, r->at, "yaml_dir: %s cannot be matched against %s: %s", what, path, (char *)msg);
  return -1;
}

/* Whether the file at path (from the directory) is read: 1 or 0, -1
 * after reporting. */
static int chosen(reading *r, const char *path) {
  int out = r->exclude ? matches(r, r->exclude, "exclude", path) : 0;
  if (out) return out > 0 ? 0 : -1;
  return r->include ? matches(r, r->include, "include", path) : 1;
}

/* A document Argo CD decodes as an object: a mapping with a kind. */
static bool has_kind(const value *doc) {
  const value *k = doc->kind == V_OBJECT ? value_object_get(doc, "kind") : NULL;
  return k && k->kind == V_STRING && k->u.str.len;
}

/* Argo CD's test of a file it could not decode: does it read like one? */
static bool looks_like_manifest(const char *text, size_t len) {
  return memmem(text, len, "apiVersion:", 11) && memmem(text, len, "kind:", 5) && memmem(text, len, "metadata:", 9);
}

/* The documents of a YAML file; none for one that is not manifests. */
static value *yaml_docs(reading *r, const char *name, const char *text, size_t len) {
  arena *a = eval_arena(r->ev);
  diag_list quiet;
  diag_init(&quiet, a);
  value *docs = NULL;
  bool read = yaml_read(a, &quiet, name, text, len, &docs) == 0;
  if (read && (!docs->u.list.len || has_kind(docs->u.list.items[0]))) return docs;
  if (!looks_like_manifest(text, len)) return value_list(a, r->at);
  /* What is wrong with the first document builtin_resources_of says. */
  return read ? docs : eval_fail(r->ev, quiet.first->at, "%s", quiet.first->msg);
}

/* The one object of a JSON file, as a list of documents. */
static value *json_docs(reading *r, const char *name, const char *text, size_t len) {
  value *docs;
  if (yaml_read_json(eval_arena(r->ev), eval_diags(r->ev), name, text, len, &docs) < 0) return NULL;
  size_t n = docs->u.list.len;
  if (n == 1 && docs->u.list.items[0]->kind == V_OBJECT) return docs;
  const char *got = !n ? "none" : n > 1 ? "more than one value" : value_a(docs->u.list.items[0]->kind);
  pos at = n ? docs->u.list.items[n > 1]->at : (pos){name, 1, 1};
  return eval_fail(r->ev, at, "yaml_dir: %s must hold one JSON object (a List for several resources), not %s", name, got);
}

static bool read_file(reading *r, const char *name) {
  eval *ev = r->ev;
  const char *text, *err;
  size_t len;
  if (loader_read(eval_loader(ev), name, &text, &len, &err) != 0) return eval_fail(ev, r->at, "yaml_dir: %s", err), false;
  if (!eval_charge(ev, r->at, len / SCAN_BYTES + 1)) return false;
  if (memmem(text, len, SKIP_MARKER, strlen(SKIP_MARKER))) return true;
  if (ends_with(name, ".jsonnet")) {
    eval_fail(ev, r->at, "yaml_dir: %s is Jsonnet, which plumb does not evaluate; leave it out (exclude: \"*.jsonnet\")",
              name);
    return false;
  }
  diag_add_source(eval_diags(ev), name, text, len);
  value *docs = ends_with(name, ".json") ? json_docs(r, name, text, len) : yaml_docs(r, name, text, len);
  if (docs) docs = sops_docs(ev, name, text, len, docs);
  value *res = docs ? builtin_resources_of(ev, "yaml_dir", name, docs) : NULL;
  for (size_t i = 0; res && i < res->u.list.len; i++) value_list_push(eval_arena(ev), r->out, res->u.list.items[i]);
  return res != NULL;
}

/* The files of names (from dir's walk) that are chosen, read in turn. */
static bool read_chosen(reading *r, const char *dir, const char **names, int n, size_t *found) {
  size_t skip = *dir ? strlen(dir) + 1 : 0;
  for (int i = 0; i < n; i++) {
    if (!is_manifest(names[i])) continue;
    ++*found;
    int pick = chosen(r, names[i] + skip);
    if (pick < 0 || (pick && !read_file(r, names[i]))) return false;
  }
  return true;
}

value *yamldir_read(eval *ev, pos at, const char *dir, const compile_yaml_dir *o, size_t *found) {
  reading r = {ev, at, NULL, NULL, NULL, value_list(eval_arena(ev), at)};
  const char **names, *err;
  *found = 0;
  int n = loader_walk(eval_loader(ev), dir, o->recurse, &names, &err);
  if (n < 0) return eval_fail(ev, at, "yaml_dir: %s", err);
  bool ok = compile_pattern(&r, "include", o->include, &r.include) &&
            compile_pattern(&r, "exclude", o->exclude, &r.exclude);
  if (ok) {
    r.md = pcre2_match_data_create(1, NULL);
    ok = read_chosen(&r, dir, names, n, found);
  }
  pcre2_match_data_free(r.md);
  pcre2_code_free(r.include);
  pcre2_code_free(r.exclude);
  return ok ? r.out : NULL;
}

/* ---- the built-in ---- */

static bool option_kind(eval *ev, const field *f, value_kind want) {
  if (f->val->kind == want) return true;
  eval_fail(ev, f->val->at, "yaml_dir: %s must be %s, got %s", f->key, value_a(want), value_kind_name(f->val->kind));
  return false;
}

/* { recurse: bool, include: string, exclude: string }, as Argo CD's
 * spec.source.directory names them. */
static bool read_options(eval *ev, pos at, const value *v, compile_yaml_dir *o) {
  static const char *const names[] = {"recurse", "include", "exclude"};
  if (v->kind != V_OBJECT)
    return eval_fail(ev, at, "yaml_dir: argument 2 must be an object, got %s", value_kind_name(v->kind)), false;
  for (size_t i = 0; i < v->u.obj.len; i++) {
    const field *f = &v->u.obj.fields[i];
    if (strcmp(f->key, "recurse") == 0) {
      if (!option_kind(ev, f, V_BOOL)) return false;
      o->recurse = f->val->u.b;
    } else if (strcmp(f->key, "include") == 0 || strcmp(f->key, "exclude") == 0) {
      if (!option_kind(ev, f, V_STRING)) return false;
      *(*f->key == 'i' ? &o->include : &o->exclude) = f->val->u.str.s;
    } else {
      const char *near = nearest_word(f->key, names, 3);
      eval_fail(ev, f->val->at, "yaml_dir: unknown option \"%s\"; %s%s%s", f->key, near ? "did you mean \"" : "",
                near ? near : "expected recurse, include or exclude", near ? "\"?" : "");
      return false;
    }
  }
  return true;
}

value *yamldir_builtin(eval *ev, pos at, value **argv, int argc) {
  const value *p = argv[0];
  compile_yaml_dir o = {0};
  if (p->kind != V_STRING) return eval_fail(ev, at, "yaml_dir: argument 1 must be a string, got %s", value_kind_name(p->kind));
  if (memchr(p->u.str.s, '\0', p->u.str.len)) return eval_fail(ev, at, "yaml_dir: the path contains a NUL byte");
  if (argc > 1 && !read_options(ev, at, argv[1], &o)) return NULL;
  /* A directory of the repository, whatever its name: std/ is no module. */
  const char *path = strncmp(p->u.str.s, "std/", 4) ? p->u.str.s : arena_printf(eval_arena(ev), "./%s", p->u.str.s);
  const char *dir, *err;
  size_t found;
  if (loader_resolve(eval_loader(ev), at.file, path, &dir, &err) != 0) return eval_fail(ev, at, "yaml_dir: %s", err);
  return yamldir_read(ev, at, dir, &o, &found);
}
