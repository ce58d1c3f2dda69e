/* convert.c: `plumb convert DIR`, the Plumb equivalent of a kustomization
 * tree (docs/kustomize.md).
 *
 * The tree is read as `plumb build` reads it (kustomize.h), into layers
 * whose settings and patches are already Plumb's; what the layers do not
 * keep (which files and directories, which generators) comes from the
 * plan the reader records. Each kustomization becomes a main.plumb beside
 * it: an env (a component for a Component) built on the env of its
 * resource directory, using its components' components, with its
 * settings, its resource files through yaml_resources(), its generators
 * as config_map() and secret(), and its patches. The YAML stays where it
 * is. Everything is written only once every file is made, each by a
 * rename, and a directory already holding other .plumb files is refused. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "fmt.h"
#include "kustomize.h"
#include "merge.h"
#include "plumb/cli.h"
#include "save.h"

/* ---- values as Plumb source ------------------------------------------------ */

static bool bare_key(const char *k) {
  if (!isalpha((unsigned char)*k) && *k != '_') return false;
  for (; *k; k++)
    if (!isalnum((unsigned char)*k) && *k != '_') return false;
  return true;
}

static void put_string(buf *b, const char *s, size_t n) {
  buf_putc(b, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"' || ch == '\\' || ch == '$') buf_printf(b, "\\%c", ch);
    else if (ch == '\n') buf_puts(b, "\\n");
    else if (ch == '\t') buf_puts(b, "\\t");
    else if (ch == '\r') buf_puts(b, "\\r");
    else if (ch < 0x20 || ch == 0x7f) buf_printf(b, "\\u{%x}", ch);
    else buf_putc(b, (char)ch);
  }
  buf_putc(b, '"');
}

static void put_value(buf *b, const value *v);

static void put_float(buf *b, double f) {
  size_t start = b->len;
  value_put_float(b, f);
  if (!memchr(b->data + start, '.', b->len - start) && !memchr(b->data + start, 'e', b->len - start))
    buf_puts(b, ".0"); /* still a float when read back */
}

static void put_key(buf *b, const char *k) {
  if (bare_key(k)) buf_puts(b, k);
  else put_string(b, k, strlen(k));
}

/* A short list or object of scalars on one line: `{ env: "prod" }`. */
static bool put_inline(buf *b, const value *v) {
  enum { WIDTH = 72 };
  bool obj = v->kind == V_OBJECT;
  size_t n = obj ? v->u.obj.len : v->u.list.len, start = b->len;
  if (!n) return false;
  buf_puts(b, obj ? "{ " : "[");
  for (size_t i = 0; i < n; i++) {
    const value *part = obj ? v->u.obj.fields[i].val : v->u.list.items[i];
    if (part->kind == V_LIST || part->kind == V_OBJECT || merge_is_replace(part) || b->len - start > WIDTH) {
      b->len = start;
      return false;
    }
    if (i) buf_puts(b, ", ");
    if (obj) {
      put_key(b, v->u.obj.fields[i].key);
      buf_puts(b, ": ");
    }
    put_value(b, part);
  }
  buf_puts(b, obj ? " }" : "]");
  if (b->len - start <= WIDTH) return true;
  b->len = start;
  return false;
}

/* Lists and objects one item a line, but short ones of scalars: fmt
 * indents them. */
static void put_value(buf *b, const value *v) {
  if ((v->kind == V_LIST || v->kind == V_OBJECT) && put_inline(b, v)) return;
  if (merge_is_delete(v)) {
    buf_puts(b, "delete");
    return;
  }
  switch (v->kind) {
  case V_NULL: buf_puts(b, "null"); break;
  case V_BOOL: buf_puts(b, v->u.b ? "true" : "false"); break;
  case V_INT: buf_printf(b, "%" PRId64, v->u.i); break;
  case V_FLOAT: put_float(b, v->u.f); break;
  case V_STRING: put_string(b, v->u.str.s, v->u.str.len); break;
  case V_LIST:
    buf_puts(b, v->u.list.len ? "[\n" : "[]");
    for (size_t i = 0; i < v->u.list.len; i++) {
      put_value(b, v->u.list.items[i]);
      buf_puts(b, ",\n");
    }
    if (v->u.list.len) buf_putc(b, ']');
    break;
  case V_OBJECT:
    buf_puts(b, v->u.obj.len ? "{\n" : "{}");
    for (size_t i = 0; i < v->u.obj.len; i++) {
      const field *f = &v->u.obj.fields[i];
      put_key(b, f->key);
      buf_puts(b, merge_is_replace(f->val) ? " := " : ": ");
      put_value(b, f->val);
      buf_putc(b, '\n');
    }
    if (v->u.obj.len) buf_putc(b, '}');
    break;
  case V_FUNC: buf_puts(b, "null"); break; /* a YAML file holds none */
  }
}

/* ---- names ------------------------------------------------------------------- */

/* The env or component name of a kustomization directory: its last
 * component as an identifier, clear of the words the grammar gives a
 * meaning. */
static const char *env_name(arena *a, const char *dir) {
  static const char *const taken[] = {"import", "as",   "let",   "template", "fn",        "for",  "in",   "if",
                                      "then",   "else", "true",  "false",    "null",      "delete", "env", "component",
                                      "from",   "with", "app",   "patch",    "where"};
  const char *slash = strrchr(dir, '/');
  buf b = {0};
  for (const char *p = slash ? slash + 1 : dir; *p; p++)
    buf_putc(&b, isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_');
  const char *name = b.data && isalpha((unsigned char)b.data[0]) ? arena_strdup(a, b.data)
                     : b.data                                    ? arena_printf(a, "k_%s", b.data)
                                                                 : "kustomization";
  buf_free(&b);
  for (size_t i = 0; i < sizeof taken / sizeof *taken; i++)
    if (strcmp(name, taken[i]) == 0) return arena_printf(a, "%s_env", name);
  return name;
}

/* ---- one kustomization -------------------------------------------------------- */

typedef struct {
  eval *ev;
  arena *a;
  const env_state *e;
  const kustomize_plan *plan;
} converter;

static bool refuse(const converter *c, pos at, const char *why) {
  eval_fail(c->ev, at, "plumb convert: %s", why);
  return false;
}

/* The settings a layer of a Kustomization sets besides replicas, images
 * and replacements: those patchesJson6902 come after. */
static const value *early_setting(const value *settings) {
  static const char *const early[] = {"namespace", "name_prefix", "name_suffix", "labels", "template_labels",
                                      "common_labels", "annotations"};
  for (size_t i = 0; i < sizeof early / sizeof *early; i++)
    if (value_object_get(settings, early[i])) return value_object_get(settings, early[i]);
  return NULL;
}

static bool convertible(const converter *c, const kustomize_dir *d) {
  if (d->bases->u.list.len > 1)
    return refuse(c, d->bases->u.list.items[1]->at,
                  "a Plumb env builds on one env; this kustomization's resources list a second directory");
  if (d->component && d->bases->u.list.len)
    return refuse(c, d->bases->u.list.items[0]->at, "a Plumb component builds on no env; this one lists a directory");
  const value *vars = value_object_get(d->doc, "vars"), *meta = value_object_get(d->doc, "buildMetadata");
  if (vars) return refuse(c, vars->at, "Plumb has no vars; say the same with replacements (docs/language.md, 10.7)");
  if (meta) return refuse(c, meta->at, "Plumb writes no build metadata (buildMetadata)");
  const value *schema = value_get_path(d->doc, "openapi.path");
  if (schema) return refuse(c, schema->at, "a Plumb env merges by Kubernetes' merge keys (openapi: path)");
  const order *sort = &c->e->sort;
  bool top = d == &c->plan->dirs[c->plan->n - 1];
  if (top && (sort->how == ORDER_FIFO || sort->first || sort->last))
    return refuse(c, value_object_get(d->doc, "sortOptions")->at,
                  "a Plumb env is written in install order (sortOptions: fifo or legacySortOptions)");
  const patch_list *pl = &c->e->layers[d->layer].patches;
  for (size_t i = 0; i < pl->n; i++)
    if (pl->items[i].may_rename || pl->items[i].may_rekind)
      return refuse(c, pl->items[i].at, "a Plumb patch names the resource it patches and cannot rename it "
                                        "(allowNameChange, allowKindChange)");
  const value *early = d->tail >= 0 ? early_setting(c->e->layers[d->layer].settings) : NULL;
  if (early)
    return refuse(c, value_object_get(d->doc, "patchesJson6902")->at,
                  "patchesJson6902 apply after the namespace, prefix, suffix, labels and annotations this "
                  "kustomization sets, and a Plumb env's patches before them; move them to patches");
  return true;
}

/* An import of dir's main.plumb, as written from k (a path relative to
 * it); its env or component's name, aliased when it is one the file
 * already uses. Returns how the file names it. */
static const char *import(const converter *c, buf *out, const char *written, const char *dir, const char **used,
                          size_t *nused) {
  const char *name = env_name(c->a, dir), *as = NULL;
  for (size_t i = 0; i < *nused; i++)
    if (strcmp(used[i], name) == 0) as = arena_printf(c->a, "l%zu", *nused);
  buf_printf(out, "import \"%s/main.plumb\"%s%s\n", written, as ? " as " : "", as ? as : "");
  used[(*nused)++] = as ? as : name;
  return as ? arena_printf(c->a, "%s.%s", as, name) : name;
}

static void put_where(buf *out, const value *where) {
  static const char *const keys[] = {"kind", "group", "version", "name", "namespace", "labels", "annotations"};
  buf_puts(out, "where(");
  bool first = true;
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    const value *v = value_object_get(where, keys[i]);
    if (!v) continue;
    buf_printf(out, "%s%s: ", first ? "" : ", ", keys[i]);
    put_string(out, v->u.str.s, v->u.str.len);
    first = false;
  }
  buf_putc(out, ')');
}

/* A patch that matched nothing, which Kustomize passes over and a Plumb
 * patch would report, is left out, said in a comment. */
static void put_patches(buf *out, const patch_list *l, size_t from) {
  for (size_t i = from; i < l->n; i++) {
    const patch *p = &l->items[i];
    if (p->missed) {
      buf_puts(out, "// Left out: a patch that matches nothing, ");
      put_where(out, p->where);
      buf_puts(out, "\n");
      continue;
    }
    buf_puts(out, "patch ");
    if (p->name) {
      buf_printf(out, "%s ", p->kind);
      put_string(out, p->name->u.str.s, p->name->u.str.len);
    } else {
      put_where(out, p->where);
    }
    buf_putc(out, ' ');
    put_value(out, p->body);
    buf_putc(out, '\n');
  }
}

static void put_generator(buf *out, const kustomize_generator *g) {
  const char *fn = g->secret ? "secret" : "config_map";
  bool merge = strcmp(g->behavior, "merge") == 0, create = strcmp(g->behavior, "create") == 0;
  if (!create) {
    buf_printf(out, "patch %s ", g->secret ? "Secret" : "ConfigMap");
    put_string(out, g->name->u.str.s, g->name->u.str.len);
    buf_puts(out, " {\n");
    const value *labels = value_object_get(g->spec, "labels"), *notes = value_object_get(g->spec, "annotations");
    if (labels || notes) {
      buf_puts(out, "metadata: {\n");
      if (labels) buf_puts(out, "labels: "), put_value(out, labels), buf_putc(out, '\n');
      if (notes) buf_puts(out, "annotations: "), put_value(out, notes), buf_putc(out, '\n');
      buf_puts(out, "}\n");
    }
    buf_printf(out, "data%s", merge ? ": " : " := ");
  }
  /* A namespace of its own: the generator's resource merged into one. */
  const value *ns = create ? value_object_get(g->entry, "namespace") : NULL;
  if (ns) buf_puts(out, "merge(");
  buf_printf(out, "%s(", fn);
  put_string(out, g->name->u.str.s, g->name->u.str.len);
  if (g->spec->u.obj.len) {
    buf_puts(out, ", ");
    put_value(out, g->spec);
  }
  buf_putc(out, ')');
  if (ns) {
    buf_puts(out, ", { metadata: { namespace: ");
    put_string(out, ns->u.str.s, ns->u.str.len);
    buf_puts(out, " } })");
  }
  buf_puts(out, create ? "\n" : ".data\n}\n");
}

/* The images entries that matched a container; those that did not (which
 * Kustomize passes over and a Plumb env reports) are said in a comment. */
static void put_images(buf *out, arena *a, const value *images, const bool *used) {
  value *kept = value_object(a, images->at);
  for (size_t i = 0; i < images->u.obj.len; i++) {
    const field *f = &images->u.obj.fields[i];
    if (used[i]) value_object_push(a, kept, f->key, f->val);
    else buf_printf(out, "// Left out: images entry \"%s\", which matches no container\n", f->key);
  }
  if (!kept->u.obj.len) return;
  buf_puts(out, "images: ");
  put_value(out, kept);
  buf_putc(out, '\n');
}

static void put_settings(buf *out, arena *a, const layer *l) {
  for (size_t i = 0; i < l->settings->u.obj.len; i++) {
    const field *f = &l->settings->u.obj.fields[i];
    if (strcmp(f->key, "images") == 0 && l->images_used) {
      put_images(out, a, f->val, l->images_used);
      continue;
    }
    buf_printf(out, "%s: ", f->key);
    put_value(out, f->val);
    buf_putc(out, '\n');
  }
}

/* The text of d's main.plumb, before fmt lays it out. */
static bool convert_dir(const converter *c, const kustomize_dir *d, buf *out) {
  if (!convertible(c, d)) return false;
  const layer *own = &c->e->layers[d->layer], *tail = d->tail >= 0 ? &c->e->layers[d->tail] : NULL;
  const char *self = env_name(c->a, d->dir);
  size_t n = d->bases->u.list.len + d->components->u.list.len, nused = 1;
  const char **used = arena_alloc(c->a, (n + 2) * sizeof *used), **refs = arena_alloc(c->a, (n + 1) * sizeof *refs);
  used[0] = self;
  const char *slash = strrchr(d->file, '/');
  buf_printf(out, "// Converted from %s by plumb convert.\n", slash ? slash + 1 : d->file);
  for (size_t i = 0; i < d->bases->u.list.len; i++)
    refs[i] = import(c, out, d->bases->u.list.items[i]->u.str.s, d->base_dirs[i], used, &nused);
  for (size_t i = 0; i < d->components->u.list.len; i++)
    refs[d->bases->u.list.len + i] = import(c, out, d->components->u.list.items[i]->u.str.s, d->component_dirs[i], used, &nused);
  buf_printf(out, "\n%s %s", d->component ? "component" : "env", self);
  if (d->bases->u.list.len) buf_printf(out, " from %s", refs[0]);
  for (size_t i = 0; i < d->components->u.list.len; i++)
    buf_printf(out, "%s%s", i ? ", " : " with ", refs[d->bases->u.list.len + i]);
  buf_puts(out, " {\n");
  put_settings(out, c->a, own);
  if (tail) put_settings(out, c->a, tail);
  for (size_t i = 0; i < d->files->u.list.len; i++) {
    buf_puts(out, "yaml_resources(");
    put_string(out, d->files->u.list.items[i]->u.str.s, d->files->u.list.items[i]->u.str.len);
    buf_puts(out, ")\n");
  }
  for (size_t i = 0; i < d->ngens; i++) put_generator(out, &d->gens[i]);
  put_patches(out, &own->patches, d->nmerged);
  if (tail) put_patches(out, &tail->patches, 0);
  buf_puts(out, "}\n");
  return true;
}

/* ---- writing -------------------------------------------------------------------- */

typedef struct {
  const char *path; /* root-relative */
  buf text;
} output;

/* Whether dir may take main.plumb with text: it holds no .plumb file, or
 * only a main.plumb that says the same (a base two overlays share). */
static bool may_write(const converter *c, loader *l, const char *dir, const output *o, bool *same) {
  const char **names, *err, *old;
  size_t len;
  int n = loader_list(l, dir, &names, &err);
  *same = false;
  if (n == 0) return true;
  if (n == 1 && strcmp(names[0], o->path) == 0 && loader_read(l, o->path, &old, &len, &err) == 0 && len == o->text.len &&
      memcmp(old, o->text.data, len) == 0)
    return *same = true;
  eval_fail(c->ev, (pos){*dir ? dir : ".", 0, 0}, "plumb convert: %s already holds %s; convert writes main.plumb only where "
            "no .plumb file is", *dir ? dir : ".", n > 0 ? names[0] : "files it cannot list");
  return false;
}

static int convert_tree(const cli *cl) {
  arena *a = arena_new();
  diag_list d;
  diag_init(&d, a);
  const char *entry;
  loader *l = build_open(a, &d, cl->copts.path, cl->copts.root, &entry);
  int rc = 1;
  if (l) {
    eval *ev = eval_new(a, &d, l);
    env_state e = {.name = "convert", .loader = l, .apps = value_object(a, (pos){0})};
    kustomize_plan plan = {0};
    converter c = {ev, a, &e, &plan};
    output *outs = NULL;
    pos at = {*entry ? entry : ".", 0, 0};
    bool ok = kustomize_read(ev, &e, entry, at, false, 0, &e.sort, &plan) && build_apply(ev, &e, at) && !d.errors;
    if (ok) outs = arena_alloc(a, (plan.n + 1) * sizeof *outs);
    for (size_t i = 0; ok && i < plan.n; i++) {
      buf raw = {0};
      outs[i].path = *plan.dirs[i].dir ? arena_printf(a, "%s/main.plumb", plan.dirs[i].dir) : "main.plumb";
      ok = convert_dir(&c, &plan.dirs[i], &raw) && fmt_source(outs[i].path, raw.data, raw.len, &outs[i].text, &d) == 0;
      buf_free(&raw);
    }
    bool *same = ok ? arena_alloc(a, plan.n + 1) : NULL;
    for (size_t i = 0; ok && i < plan.n; i++) ok = may_write(&c, l, plan.dirs[i].dir, &outs[i], &same[i]);
    rc = ok ? 0 : 1;
    for (size_t i = 0; ok && i < plan.n && !rc; i++) {
      if (same[i]) continue;
      rc = save_file(loader_disk_path(l, outs[i].path), outs[i].text.data, outs[i].text.len);
      if (!rc) printf("wrote %s\n", outs[i].path);
    }
    for (size_t i = 0; outs && i < plan.n; i++) buf_free(&outs[i].text);
    eval_forget_syntax(ev);
  }
  diag_print(&d, stderr);
  arena_free(a);
  return rc;
}

int convert_main(const cli_command *cmd, int argc, char **argv) {
  cli c = {0};
  int rc = cli_parse(&c, cmd, argc, argv);
  if (rc != CLI_RUN) return rc;
  rc = cli_want_path(&c);
  return rc ? rc : convert_tree(&c);
}
