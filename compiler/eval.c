/* eval.c: evaluating Plumb (see eval.h and docs/language.md). */
#include "eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "merge.h"
#include "parse.h"
#include "patch.h"
#include "suggest.h"

typedef enum { F_TEMPLATE, F_FN, F_BUILTIN } func_kind;

struct func {
  func_kind kind;
  const char *name;
  const node *decl; /* N_TEMPLATE or N_FN */
  module *mod;
  const builtin *b;
};

/* A top-level name of a module: its declaration and, once evaluated, value. */
typedef struct sym {
  const char *name;
  const node *decl; /* N_LET, N_TEMPLATE, N_FN, or N_IMPORT for an alias */
  module *owner;    /* where decl lives (differs for imported names) */
  module *alias;    /* for `import "x" as name`: the module it names */
  value *val;
  int state; /* 0 not evaluated, 1 being evaluated, 2 done */
  struct sym *next; /* the module's next name, in the order added */
} sym;

struct module {
  const char *name;
  node *ast;
  /* Top-level names: an open-addressing index, at most half full, that
   * doubles as names are added, so declaring n names costs O(n); and the
   * names in the order added, which walks over them follow. */
  sym **slots;
  size_t nslots, nsyms;
  sym *first, *last;
  int state; /* 1 loading, 2 loaded */
  const node *loading_from;
  module *next;
};

struct scope {
  const char *name;
  value *val;
  scope *up;
};

struct eval {
  arena *arena;
  /* The syntax trees of the modules, apart: a build frees them once its
   * values are made (eval_forget_syntax), and values never point into
   * them (keys and strings are copied into `arena`). */
  arena *syntax;
  diag_list *diags;
  loader *loader;
  const compile_opts *opts; /* NULL outside a build */
  module *modules;
  module *stack[64]; /* modules being loaded, for the cycle chain */
  int nstack;
  int depth;   /* template and fn calls */
  int nesting; /* eval_expr frames */
  uint64_t work;
  bool stopped; /* over a budget of work or memory: nothing more runs */
  value *builtins[64]; /* one function value per built-in, so len == len */
  helm_seen *charts;   /* the charts rendered, for plumb explain */
  sops_ring *sops;     /* the keys of files SOPS encrypted, once read */
};

eval *eval_new(arena *a, diag_list *d, loader *l) {
  eval *ev = arena_alloc(a, sizeof *ev);
  ev->arena = a;
  ev->syntax = arena_new();
  ev->diags = d;
  ev->loader = l;
  return ev;
}

arena *eval_arena(eval *ev) { return ev->arena; }

void eval_forget_syntax(eval *ev) {
  if (ev->syntax) arena_free_into(ev->syntax, ev->arena);
  ev->syntax = NULL;
}
diag_list *eval_diags(eval *ev) { return ev->diags; }
loader *eval_loader(eval *ev) { return ev->loader; }
void eval_set_opts(eval *ev, const compile_opts *o) { ev->opts = o; }
const compile_opts *eval_opts(eval *ev) { return ev->opts; }
helm_seen **eval_charts_seen(eval *ev) { return &ev->charts; }
sops_ring **eval_sops_ring(eval *ev) { return &ev->sops; }
node *module_ast(const module *m) { return m->ast; }
const char *module_name(const module *m) { return m->name; }

bool eval_charge(eval *ev, pos at, uint64_t n) {
  if (ev->stopped) return false;
  ev->work += n;
  if (ev->work > EVAL_MAX_WORK)
    eval_fail(ev, at, "the compile does more than %llu million steps of work: a loop too long, or a costly regular expression",
              (unsigned long long)(EVAL_MAX_WORK / 1000000));
  else if (arena_used(ev->arena) + (ev->syntax ? arena_used(ev->syntax) : 0) > EVAL_MAX_BYTES)
    eval_fail(ev, at, "the compile uses more than %d MiB of memory", EVAL_MAX_BYTES >> 20);
  else
    return true;
  ev->stopped = true;
  return false;
}

const char *eval_size_words(eval *ev, const value *v) {
  if (v->size == UINT32_MAX) return "more than 4 GiB";
  return arena_printf(ev->arena, "about %u MiB", (unsigned)(v->size >> 20));
}

value *eval_fail(eval *ev, pos at, const char *fmt, ...) {
  if (ev->stopped) return NULL; /* what fails after that is its echo */
  va_list ap;
  va_start(ap, fmt);
  char *msg = arena_vprintf(ev->arena, fmt, ap);
  va_end(ap);
  diag_error(ev->diags, at, "%s", msg);
  return NULL;
}

bool eval_read_source(eval *ev, pos at, const char *fn, const char *path, const char **name, const char **text,
                      size_t *len) {
  const char *err;
  if (loader_resolve(ev->loader, at.file, path, name, &err) == 0 && loader_read(ev->loader, *name, text, len, &err) == 0)
    return true;
  eval_fail(ev, at, "%s: %s", fn, err);
  return false;
}

value *eval_read_file(eval *ev, pos at, const char *fn, const char *path) {
  const char *name, *text;
  size_t len;
  return eval_read_source(ev, at, fn, path, &name, &text, &len) ? value_string(ev->arena, at, text, len) : NULL;
}

scope *scope_bind(eval *ev, scope *up, const char *name, value *v) {
  scope *s = arena_alloc(ev->arena, sizeof *s);
  *s = (scope){name, v, up};
  return s;
}

/* ---- modules ---------------------------------------------------------- */

static size_t hash(const char *s) {
  size_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* The slot that holds name, or the empty one where it would go. */
static sym **sym_slot(sym **slots, size_t nslots, const char *name) {
  size_t mask = nslots - 1;
  for (size_t i = hash(name) & mask;; i = (i + 1) & mask)
    if (!slots[i] || strcmp(slots[i]->name, name) == 0) return &slots[i];
}

static sym *sym_find(const module *m, const char *name) {
  return m->nslots ? *sym_slot(m->slots, m->nslots, name) : NULL;
}

const node *eval_module_decl(const module *m, const char *name) {
  const sym *s = sym_find(m, name);
  return s ? s->decl : NULL;
}

module *eval_modules(eval *ev) { return ev->modules; }
module *module_next(const module *m) { return m->next; }

static void sym_grow(eval *ev, module *m) {
  size_t n = m->nslots ? 2 * m->nslots : 16;
  sym **slots = arena_alloc(ev->arena, n * sizeof *slots);
  for (sym *s = m->first; s; s = s->next) *sym_slot(slots, n, s->name) = s;
  m->slots = slots;
  m->nslots = n;
}

static void sym_add(eval *ev, module *m, sym *proto, const node *where) {
  sym *old = sym_find(m, proto->name);
  if (old) {
    /* The same declaration reached twice (two imports of one module) is fine. */
    if (old->decl == proto->decl && old->alias == proto->alias) return;
    diag_error(ev->diags, where->at, "\"%s\" is already defined", proto->name);
    diag_note(ev->diags, old->decl->at, "first defined here");
    return;
  }
  if (2 * (m->nsyms + 1) > m->nslots) sym_grow(ev, m);
  sym *s = arena_alloc(ev->arena, sizeof *s);
  *s = *proto;
  s->next = NULL;
  *sym_slot(m->slots, m->nslots, s->name) = s;
  m->nsyms++;
  if (m->last) m->last->next = s;
  else m->first = s;
  m->last = s;
}

static void declare_local(eval *ev, module *m) {
  for (size_t i = 0; i < m->ast->list.len; i++) {
    node *d = m->ast->list.items[i];
    if (d->kind == N_LET || d->kind == N_TEMPLATE || d->kind == N_FN)
      sym_add(ev, m, &(sym){.name = d->name, .decl = d, .owner = m}, d);
  }
}

static bool known_type(const char *t) {
  static const char *types[] = {"string", "int", "float", "bool", "list", "object", "any", "function"};
  /* The list in check_types' message names them all. */
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strcmp(types[i], t) == 0) return true;
  return false;
}

/* Parameter types are names, so a misspelt one is caught when loading. */
static void check_types(eval *ev, module *m) {
  for (size_t i = 0; i < m->ast->list.len; i++) {
    node *d = m->ast->list.items[i];
    if (d->kind != N_TEMPLATE && d->kind != N_FN && d->kind != N_ENV && d->kind != N_COMPONENT) continue;
    for (size_t k = 0; k < d->list.len; k++)
      if (!known_type(d->list.items[k]->type))
        eval_fail(ev, d->list.items[k]->at, "unknown type \"%s\"; expected string, int, float, bool, list, object, function or any",
                  d->list.items[k]->type);
  }
}

static void report_cycle(eval *ev, const module *target, const node *from) {
  buf chain = {0};
  int i = 0;
  while (i < ev->nstack && ev->stack[i] != target) i++;
  for (; i < ev->nstack; i++) buf_printf(&chain, "%s -> ", ev->stack[i]->name);
  buf_puts(&chain, target->name);
  diag_error(ev->diags, from->at, "import cycle: %s", chain.data);
  buf_free(&chain);
}

/* Imported names join the importer's table; an alias becomes one name. */
static void import_into(eval *ev, module *m, const node *imp, module *dep) {
  if (imp->name) {
    sym_add(ev, m, &(sym){.name = imp->name, .decl = imp, .owner = m, .alias = dep}, imp);
    return;
  }
  for (sym *s = dep->first; s; s = s->next)
    if (s->owner == dep && s->decl->kind != N_IMPORT) sym_add(ev, m, s, imp);
}

const char *eval_plain_string(eval *ev, const node *str, pos at, const char *what) {
  if (str->list.len == 1 && str->list.items[0]->kind == E_TEXT) return str->list.items[0]->str;
  if (str->list.len == 0) return "";
  eval_fail(ev, at, "%s must be a plain string, without ${...}", what);
  return NULL;
}

static const char *import_path(eval *ev, const node *imp) { return eval_plain_string(ev, imp->a, imp->at, "an import path"); }

static void load_imports(eval *ev, module *m) {
  for (size_t i = 0; i < m->ast->list.len; i++) {
    node *d = m->ast->list.items[i];
    if (d->kind != N_IMPORT) continue;
    const char *path = import_path(ev, d), *name, *err;
    if (!path) continue;
    if (loader_resolve(ev->loader, m->name, path, &name, &err) != 0) {
      eval_fail(ev, d->a->at, "cannot import \"%s\": %s", path, err);
      continue;
    }
    module *dep = eval_load(ev, name, d);
    if (dep) import_into(ev, m, d, dep);
  }
}

/* The module called name if it is loaded, or being loaded; else NULL. */
static module *module_named(eval *ev, const char *name) {
  for (module *m = ev->modules; m; m = m->next)
    if (strcmp(m->name, name) == 0) return m;
  return NULL;
}

module *eval_load(eval *ev, const char *name, const node *from) {
  module *known = module_named(ev, name);
  if (known && known->state == 1) {
    report_cycle(ev, known, from);
    return NULL;
  }
  if (known) return known;
  const char *text, *err;
  size_t len;
  if (loader_read_source(ev->loader, name, &text, &len, &err) != 0) {
    if (from)
      eval_fail(ev, from->a->at, "cannot import: %s", err);
    else
      eval_fail(ev, (pos){0}, "%s", err);
    return NULL;
  }
  if (ev->nstack == (int)(sizeof ev->stack / sizeof ev->stack[0])) {
    eval_fail(ev, from ? from->at : (pos){0}, "imports nested too deeply");
    return NULL;
  }
  diag_add_source(ev->diags, name, text, len);
  module *m = arena_alloc(ev->arena, sizeof *m);
  m->name = name;
  m->state = 1;
  m->next = ev->modules;
  ev->modules = m;
  m->ast = parse_file(ev->syntax, ev->diags, name, text, len);
  ev->stack[ev->nstack++] = m;
  declare_local(ev, m);
  check_types(ev, m);
  load_imports(ev, m);
  ev->nstack--;
  m->state = 2;
  return m;
}

module *eval_empty_module(eval *ev, const char *name) {
  module *m = arena_alloc(ev->arena, sizeof *m);
  m->name = name;
  m->ast = ast_new(ev->syntax, N_FILE, (pos){name, 1, 1});
  m->state = 2;
  return m;
}

/* ---- names -------------------------------------------------------------- */

static value *module_exports(eval *ev, module *dep, pos at);

static value *sym_value(eval *ev, sym *s, pos at) {
  if (s->state == 2) return s->val;
  if (s->state == 1) return eval_fail(ev, at, "\"%s\" is defined in terms of itself", s->name);
  s->state = 1;
  const node *d = s->decl;
  if (s->alias) {
    s->val = module_exports(ev, s->alias, at);
  } else if (d->kind == N_LET) {
    s->val = eval_expr(ev, s->owner, NULL, d->a);
  } else {
    func *f = arena_alloc(ev->arena, sizeof *f);
    *f = (func){d->kind == N_TEMPLATE ? F_TEMPLATE : F_FN, d->name, d, s->owner, NULL};
    s->val = value_func(ev->arena, d->at, f);
  }
  s->state = s->val ? 2 : 0;
  if (!s->val) s->state = 2; /* report once; later uses see NULL quietly */
  return s->val;
}

static value *module_exports(eval *ev, module *dep, pos at) {
  value *obj = value_object(ev->arena, at);
  for (sym *s = dep->first; s; s = s->next)
    if (s->owner == dep && !s->alias) {
      value *v = sym_value(ev, s, at);
      if (v) value_object_set(ev->arena, obj, arena_strdup(ev->arena, s->name), v); /* the name is syntax */
    }
  return obj;
}

static const char *suggest_name(const module *m, const scope *sc, const char *name) {
  const char *best = NULL;
  unsigned bd = strlen(name) > 4 ? 2 : 1;
  for (; sc; sc = sc->up)
    if (edit_distance(sc->name, name) <= bd) best = sc->name, bd = edit_distance(sc->name, name);
  for (sym *s = m->first; s; s = s->next)
    if (edit_distance(s->name, name) < bd || (!best && edit_distance(s->name, name) <= bd))
      best = s->name, bd = edit_distance(s->name, name);
  return best;
}

static value *builtin_value(eval *ev, const builtin *b, pos at) {
  int i = builtin_index(b);
  if (ev->builtins[i]) return ev->builtins[i];
  func *f = arena_alloc(ev->arena, sizeof *f);
  *f = (func){F_BUILTIN, b->name, NULL, NULL, b};
  return ev->builtins[i] = value_func(ev->arena, at, f);
}

/* A name in no scope may be one an import would bring: a module imported
 * `as` an alias declares it, or another module of the build, or the
 * standard library; or a keyword misspelled (`ture`, `improt`). */
static value *fail_unimported(eval *ev, module *m, const node *id) {
  static const char *const keywords[] = {"true", "false",    "null", "delete", "import",
                                         "let",  "template", "then", "else"};
  for (sym *s = m->first; s; s = s->next) {
    sym *in = s->alias ? sym_find(s->alias, id->name) : NULL;
    if (in && in->owner == s->alias)
      return eval_fail(ev, id->at, "unknown name \"%s\"; did you mean \"%s.%s\"?", id->name, s->name, id->name);
  }
  for (module *o = ev->modules; o; o = o->next) {
    sym *s = sym_find(o, id->name);
    if (s && s->owner == o && o != m)
      return eval_fail(ev, id->at, "unknown name \"%s\"; it is declared in %s, which this file does not import",
                       id->name, o->name);
  }
  const char *std = diag_keeps_next(ev->diags) ? stdlib_declaring(id->name) : NULL;
  if (std)
    return eval_fail(ev, id->at, "unknown name \"%s\"; it is declared in std/%s: add import \"std/%s\"", id->name, std,
                     std);
  const char *word = nearest_word(id->name, keywords, sizeof keywords / sizeof keywords[0]);
  if (word) return eval_fail(ev, id->at, "unknown name \"%s\"; did you mean '%s'?", id->name, word);
  return eval_fail(ev, id->at, "unknown name \"%s\"", id->name);
}

static value *lookup(eval *ev, module *m, scope *sc, const node *id) {
  /* The first byte inline: most names in scope differ there. */
  for (scope *s = sc; s; s = s->up)
    if (s->name[0] == id->name[0] && strcmp(s->name, id->name) == 0) return s->val;
  sym *s = sym_find(m, id->name);
  if (s) return sym_value(ev, s, id->at);
  const builtin *b = builtin_find(id->name);
  if (b) return builtin_value(ev, b, id->at);
  const char *hint = suggest_name(m, sc, id->name);
  if (hint) return eval_fail(ev, id->at, "unknown name \"%s\"; did you mean \"%s\"?", id->name, hint);
  return fail_unimported(ev, m, id);
}

/* ---- strings ------------------------------------------------------------ */

/* Appends the text form of a scalar; lists and objects have none. */
static bool append_text(eval *ev, buf *b, const value *v, pos at) {
  if (value_put_text(b, v)) return true;
  eval_fail(ev, at, "cannot put %s into a string; use to_json() or join()", value_a(v->kind));
  return false;
}

/* Text in """...""" loses the newline right after the opening quotes, the
 * whitespace-only line before the closing quotes, and the indentation its
 * lines share, so embedded files can be indented with the code. Only source
 * text counts: an escape or an interpolation is content, never indentation. */
typedef struct {
  bool line_start;
  size_t ws;     /* whitespace seen at the start of this line */
  size_t indent; /* common indentation (first pass) or to strip (second) */
  buf *out;      /* NULL in the first pass */
} dedent;

static void dedent_content(dedent *d) {
  if (d->line_start && !d->out && d->ws < d->indent) d->indent = d->ws;
  d->line_start = false;
}

static void dedent_text(dedent *d, const char *s, size_t n) {
  for (size_t k = 0; k < n; k++) {
    char c = s[k];
    if (c == '\n') {
      d->line_start = true;
      d->ws = 0;
    } else if (d->line_start && (c == ' ' || c == '\t')) {
      if (d->out && d->ws++ >= d->indent) buf_putc(d->out, c);
      if (!d->out) d->ws++;
      continue;
    } else {
      dedent_content(d);
    }
    if (d->out) buf_putc(d->out, c);
  }
}

/* The source text of part i, less the newline that follows the opening
 * quotes. */
static const char *block_text(const node *e, size_t i, size_t *n) {
  const node *p = e->list.items[i];
  *n = p->len;
  if (i == 0 && !p->op && p->len && p->str[0] == '\n') return (*n)--, p->str + 1;
  return p->str;
}

static size_t common_indent(const node *e) {
  dedent d = {.line_start = true, .indent = (size_t)-1};
  for (size_t i = 0; i < e->list.len; i++) {
    const node *p = e->list.items[i];
    size_t n;
    const char *s = block_text(e, i, &n);
    if (p->kind == E_TEXT && !p->op) dedent_text(&d, s, n);
    else dedent_content(&d);
  }
  return d.indent == (size_t)-1 ? 0 : d.indent;
}

static void trim_text_block(buf *b) {
  size_t n = b->len;
  while (n > 0 && (b->data[n - 1] == ' ' || b->data[n - 1] == '\t')) n--;
  if (n < b->len && (n == 0 || b->data[n - 1] == '\n')) b->len = n, b->data[n] = '\0';
}

/* Values never change once built, so a literal is built once and shared by
 * every evaluation of it: a number, bool or null, a string without
 * interpolation, and a list or object (without comprehension or let) of
 * literals. In a template most of a manifest is literal, so this saves most
 * of the allocation and copying of instantiating it. */
static value *keep_literal(const node *e, value *v) {
  ((node *)e)->constant = v;
  v->literal = true;
  return v;
}

static bool is_constant(const node *e) {
  for (size_t i = 0; i < e->list.len; i++)
    if (e->list.items[i]->kind != E_TEXT) return false;
  return true;
}

static value *eval_string(eval *ev, module *m, scope *sc, const node *e) {
  if (e->constant) return e->constant;
  bool block = e->op == 1;
  buf b = {0};
  buf_puts(&b, "");
  dedent d = {.line_start = true, .indent = block ? common_indent(e) : 0, .out = &b};
  for (size_t i = 0; i < e->list.len; i++) {
    const node *p = e->list.items[i];
    if (p->kind == E_TEXT) {
      size_t n = p->len;
      const char *s = block ? block_text(e, i, &n) : p->str;
      if (block && !p->op) dedent_text(&d, s, n);
      else buf_put(&b, s, n), d.line_start = false;
      continue;
    }
    value *v = eval_expr(ev, m, sc, p);
    if (!v || !append_text(ev, &b, v, p->at)) {
      buf_free(&b);
      return NULL;
    }
    if (b.len > EVAL_MAX_STRING) {
      buf_free(&b);
      return eval_fail(ev, e->at, "string longer than %d MiB", EVAL_MAX_STRING >> 20);
    }
    d.line_start = false;
  }
  if (block) trim_text_block(&b);
  value *v = value_string(ev->arena, e->at, b.data, b.len);
  buf_free(&b);
  return is_constant(e) ? keep_literal(e, v) : v;
}

static const char *want_key(eval *ev, module *m, scope *sc, const node *k) {
  value *v = eval_string(ev, m, sc, k);
  return v ? v->u.str.s : NULL;
}

/* ---- comprehensions and loops --------------------------------------------- */

typedef bool (*yield_fn)(eval *ev, module *m, scope *sc, void *ctx);

/* Binds `for` variables over one iterable: one variable takes list items or
 * object keys; two take index and item, or key and value. */
static bool iterate(eval *ev, module *m, scope *sc, const node *f,
                    bool (*body)(eval *, module *, scope *, const node *, size_t, void *), size_t next,
                    void *ctx) {
  value *it = eval_expr(ev, m, sc, f->a);
  if (!it) return false;
  if (it->kind != V_LIST && it->kind != V_OBJECT) {
    eval_fail(ev, f->a->at, "'for' needs a list or an object, got %s", value_kind_name(it->kind));
    return false;
  }
  bool obj = it->kind == V_OBJECT;
  size_t n = obj ? it->u.obj.len : it->u.list.len;
  const char **keys = obj ? value_sorted_keys(it) : NULL;
  bool ok = true;
  for (size_t i = 0; ok && i < n; i++) {
    if (!eval_charge(ev, f->at, 1)) {
      ok = false;
      break;
    }
    value *first = obj ? value_cstring(ev->arena, it->at, keys[i]) : it->u.list.items[i];
    value *second = obj ? value_object_get(it, keys[i]) : NULL;
    scope *s2;
    if (f->name2)
      s2 = scope_bind(ev, scope_bind(ev, sc, f->name, obj ? first : value_int(ev->arena, f->at, (int64_t)i)),
                      f->name2, obj ? second : first);
    else
      s2 = scope_bind(ev, sc, f->name, first);
    ok = body(ev, m, s2, NULL, next, ctx);
  }
  free(keys);
  return ok;
}

typedef struct {
  const node *clauses;
  size_t count;
  bool (*leaf)(eval *ev, module *m, scope *sc, void *ctx);
  void *ctx;
} comp;

static bool want_bool(eval *ev, const value *v, pos at, const char *what) {
  if (v->kind == V_BOOL) return true;
  eval_fail(ev, at, "%s must be a bool, got %s", what, value_kind_name(v->kind));
  return false;
}

static bool comp_step(eval *ev, module *m, scope *sc, const node *unused, size_t i, void *ctx) {
  (void)unused;
  comp *c = ctx;
  if (i == c->clauses->list.len) {
    if (++c->count <= EVAL_MAX_ITEMS) return c->leaf(ev, m, sc, c->ctx);
    eval_fail(ev, c->clauses->list.items[0]->at, "loop yields more than %d items", EVAL_MAX_ITEMS);
    return false;
  }
  const node *cl = c->clauses->list.items[i];
  if (cl->kind == N_FOR) return iterate(ev, m, sc, cl, comp_step, i + 1, c);
  value *cond = eval_expr(ev, m, sc, cl->a);
  if (!cond || !want_bool(ev, cond, cl->a->at, "an 'if' filter")) return false;
  return cond->u.b ? comp_step(ev, m, sc, NULL, i + 1, c) : true;
}

static bool run_comp(eval *ev, module *m, scope *sc, const node *clauses,
                     bool (*leaf)(eval *, module *, scope *, void *), void *ctx) {
  comp c = {clauses, 0, leaf, ctx};
  return comp_step(ev, m, sc, NULL, 0, &c);
}

typedef struct {
  const node *e;
  value *out;
} comp_out;

static bool list_leaf(eval *ev, module *m, scope *sc, void *ctx) {
  comp_out *o = ctx;
  value *v = eval_expr(ev, m, sc, o->e->b);
  if (v) value_list_push(ev->arena, o->out, v);
  return v != NULL;
}

static bool set_field(eval *ev, value *obj, const char *key, value *v, pos at) {
  if (value_object_add(ev->arena, obj, key, v)) return true;
  eval_fail(ev, at, "duplicate key \"%s\"", key);
  diag_note(ev->diags, value_object_get(obj, key)->at, "first set here");
  return false;
}

static bool object_leaf(eval *ev, module *m, scope *sc, void *ctx) {
  comp_out *o = ctx;
  const char *k = want_key(ev, m, sc, o->e->a);
  value *v = k ? eval_expr(ev, m, sc, o->e->b) : NULL;
  return v && set_field(ev, o->out, k, v, o->e->a->at);
}

static value *eval_list(eval *ev, module *m, scope *sc, const node *e) {
  value *out = value_list(ev->arena, e->at);
  if (e->b) {
    comp_out o = {e, out};
    return run_comp(ev, m, sc, &(node){.list = e->list}, list_leaf, &o) ? out : NULL;
  }
  value_reserve(ev->arena, out, e->list.len);
  bool literal = true;
  for (size_t i = 0; i < e->list.len; i++) {
    value *v = eval_expr(ev, m, sc, e->list.items[i]);
    if (!v) return NULL;
    value_list_push(ev->arena, out, v);
    literal = literal && e->list.items[i]->constant;
  }
  return literal ? keep_literal(e, out) : out;
}

/* `key := v`: a patch sets v whole instead of merging it in. */
static value *set_whole(eval *ev, value *v, pos at) {
  if (merge_is_delete(v)) return eval_fail(ev, at, "':=' sets a value; write 'key: delete' to remove a field");
  v = value_clone(ev->arena, v);
  v->via = merge_replace_via;
  return v;
}

static value *eval_object(eval *ev, module *m, scope *sc, const node *e) {
  value *out = value_object(ev->arena, e->at);
  if (e->b) {
    comp_out o = {e, out};
    return run_comp(ev, m, sc, &(node){.list = e->list}, object_leaf, &o) ? out : NULL;
  }
  bool ok = true, literal = true, literal_keys = true;
  value_reserve(ev->arena, out, e->list.len); /* a few too many with lets */
  for (size_t i = 0; i < e->list.len; i++) {
    const node *it = e->list.items[i];
    if (it->kind == N_LET) {
      value *v = eval_expr(ev, m, sc, it->a);
      if (!v) return NULL;
      sc = scope_bind(ev, sc, it->name, v);
      literal = false;
      continue;
    }
    const char *k = want_key(ev, m, sc, it->a);
    value *v = k ? eval_expr(ev, m, sc, it->b) : NULL;
    if (v && it->op == OP_SET) v = set_whole(ev, v, it->b->at);
    if (v && e->keys_distinct)
      value_object_push(ev->arena, out, k, v);
    else
      ok = v && set_field(ev, out, k, v, it->a->at) && ok;
    literal = literal && it->a->constant && it->b->constant;
    literal_keys = literal_keys && it->a->constant;
  }
  if (!ok) return NULL;
  /* Literal keys found distinct once stay so: later evaluations of this
   * object (a template's, once per call) skip the duplicate check. */
  if (literal_keys) ((node *)e)->keys_distinct = true;
  return literal ? keep_literal(e, out) : out;
}

/* ---- operators ------------------------------------------------------------ */

static bool is_num(const value *v) { return v->kind == V_INT || v->kind == V_FLOAT; }
static double num(const value *v) { return v->kind == V_INT ? (double)v->u.i : v->u.f; }

static const char *op_name(int op) {
  static char one[2];
  switch (op) {
  case OP_EQ: return "==";
  case OP_NE: return "!=";
  case OP_LE: return "<=";
  case OP_GE: return ">=";
  case OP_AND: return "&&";
  case OP_OR: return "||";
  default: one[0] = (char)op; return one;
  }
}

static value *bad_operands(eval *ev, const node *e, const value *x, const value *y) {
  return eval_fail(ev, e->at, "cannot apply '%s' to %s and %s", op_name(e->op), value_kind_name(x->kind),
                   value_kind_name(y->kind));
}

static value *int_arith(eval *ev, const node *e, int64_t a, int64_t b) {
  int64_t r = 0;
  bool over = false;
  switch (e->op) {
  case '+': over = __builtin_add_overflow(a, b, &r); break;
  case '-': over = __builtin_sub_overflow(a, b, &r); break;
  case '*': over = __builtin_mul_overflow(a, b, &r); break;
  case '/':
  case '%':
    if (b == 0) return eval_fail(ev, e->at, "division by zero");
    if (a == INT64_MIN && b == -1) over = true;
    else r = e->op == '/' ? a / b : a % b;
    break;
  }
  if (over) return eval_fail(ev, e->at, "integer overflow in '%s'", op_name(e->op));
  return value_int(ev->arena, e->at, r);
}

static value *concat(eval *ev, const node *e, const value *x, const value *y) {
  if (x->kind == V_STRING) {
    if (x->u.str.len + y->u.str.len > EVAL_MAX_STRING)
      return eval_fail(ev, e->at, "string longer than %d MiB", EVAL_MAX_STRING >> 20);
    size_t n = x->u.str.len + y->u.str.len;
    char *s = arena_alloc(ev->arena, n + 1);
    memcpy(s, x->u.str.s, x->u.str.len);
    memcpy(s + x->u.str.len, y->u.str.s, y->u.str.len);
    return value_string_take(ev->arena, e->at, s, n);
  }
  value *v = value_clone(ev->arena, x);
  v->at = e->at;
  if (x->kind == V_LIST) {
    for (size_t i = 0; i < y->u.list.len; i++) value_list_push(ev->arena, v, y->u.list.items[i]);
  } else {
    for (size_t i = 0; i < y->u.obj.len; i++)
      value_object_set(ev->arena, v, y->u.obj.fields[i].key, y->u.obj.fields[i].val);
  }
  return v;
}

static value *arith(eval *ev, const node *e, const value *x, const value *y) {
  if (e->op == '+' && x->kind == y->kind && (x->kind == V_STRING || x->kind == V_LIST || x->kind == V_OBJECT))
    return concat(ev, e, x, y);
  if (!is_num(x) || !is_num(y)) return bad_operands(ev, e, x, y);
  if (x->kind == V_INT && y->kind == V_INT) return int_arith(ev, e, x->u.i, y->u.i);
  if (e->op == '%') return bad_operands(ev, e, x, y);
  double a = num(x), b = num(y), r = 0;
  switch (e->op) {
  case '+': r = a + b; break;
  case '-': r = a - b; break;
  case '*': r = a * b; break;
  case '/':
    if (b == 0) return eval_fail(ev, e->at, "division by zero");
    r = a / b;
    break;
  }
  if (!isfinite(r)) return eval_fail(ev, e->at, "'%s' overflows to infinity", op_name(e->op));
  return value_float(ev->arena, e->at, r);
}

static value *compare(eval *ev, const node *e, const value *x, const value *y) {
  if (!eval_charge(ev, e->at, (x->size < y->size ? x->size : y->size) / SCAN_BYTES)) return NULL;
  if (e->op == OP_EQ || e->op == OP_NE)
    return value_bool(ev->arena, e->at, value_equal(x, y) == (e->op == OP_EQ));
  if (!(is_num(x) && is_num(y)) && !(x->kind == V_STRING && y->kind == V_STRING))
    return bad_operands(ev, e, x, y);
  int c = value_compare(x, y);
  bool r = e->op == '<' ? c < 0 : e->op == '>' ? c > 0 : e->op == OP_LE ? c <= 0 : c >= 0;
  return value_bool(ev->arena, e->at, r);
}

static value *eval_binary(eval *ev, module *m, scope *sc, const node *e) {
  value *x = eval_expr(ev, m, sc, e->a);
  if (!x) return NULL;
  if (e->op == OP_AND || e->op == OP_OR) {
    const char *what = e->op == OP_AND ? "an operand of '&&'" : "an operand of '||'";
    if (!want_bool(ev, x, e->a->at, what)) return NULL;
    if (x->u.b == (e->op == OP_OR)) return x;
    value *y = eval_expr(ev, m, sc, e->b);
    return y && want_bool(ev, y, e->b->at, what) ? y : NULL;
  }
  value *y = eval_expr(ev, m, sc, e->b);
  if (!y) return NULL;
  switch (e->op) {
  case '+': case '-': case '*': case '/': case '%': return arith(ev, e, x, y);
  default: return compare(ev, e, x, y);
  }
}

static value *eval_unary(eval *ev, module *m, scope *sc, const node *e) {
  value *x = eval_expr(ev, m, sc, e->a);
  if (!x) return NULL;
  if (e->op == '!') return want_bool(ev, x, e->a->at, "the operand of '!'") ? value_bool(ev->arena, e->at, !x->u.b) : NULL;
  if (x->kind == V_INT) {
    if (x->u.i == INT64_MIN) return eval_fail(ev, e->at, "integer overflow in '-'");
    return value_int(ev->arena, e->at, -x->u.i);
  }
  if (x->kind == V_FLOAT) return value_float(ev->arena, e->at, -x->u.f);
  return eval_fail(ev, e->at, "cannot negate %s", value_a(x->kind));
}

/* ---- access --------------------------------------------------------------- */

static value *field_of(eval *ev, const value *obj, const char *key, pos at) {
  if (obj->kind != V_OBJECT) return eval_fail(ev, at, "cannot read field \"%s\" of %s", key, value_a(obj->kind));
  value *v = value_object_get(obj, key);
  if (v) return v;
  buf names = {0};
  const char **keys = value_sorted_keys(obj);
  for (size_t i = 0; i < obj->u.obj.len && i < 8; i++) buf_printf(&names, "%s%s", i ? ", " : "", keys[i]);
  free(keys);
  if (obj->u.obj.len)
    eval_fail(ev, at, "no field \"%s\" in this object (it has: %s%s)", key, names.data, obj->u.obj.len > 8 ? ", ..." : "");
  else
    eval_fail(ev, at, "no field \"%s\" in this object (it is empty)", key);
  buf_free(&names);
  return NULL;
}

static value *eval_index(eval *ev, module *m, scope *sc, const node *e) {
  value *x = eval_expr(ev, m, sc, e->a), *i = x ? eval_expr(ev, m, sc, e->b) : NULL;
  if (!i) return NULL;
  if (x->kind == V_OBJECT && i->kind == V_STRING) return field_of(ev, x, i->u.str.s, e->at);
  if (x->kind == V_LIST && i->kind == V_INT) {
    int64_t n = (int64_t)x->u.list.len, k = i->u.i < 0 ? i->u.i + n : i->u.i;
    if (k < 0 || k >= n) return eval_fail(ev, e->at, "index %lld out of range for a list of %lld", (long long)i->u.i, (long long)n);
    return x->u.list.items[k];
  }
  return eval_fail(ev, e->at, "cannot index %s with %s", value_a(x->kind), value_a(i->kind));
}

/* ---- calls ---------------------------------------------------------------- */

bool eval_type_ok(eval *ev, const char *type, value **v) {
  value_kind k = (*v)->kind;
  if (strcmp(type, "any") == 0) return true;
  if (strcmp(type, "float") == 0 && k == V_INT) {
    value *f = value_float(ev->arena, (*v)->at, (double)(*v)->u.i);
    *v = f;
    return true;
  }
  static const char *names[] = {"null", "bool", "int", "float", "string", "list", "object", "function"};
  return strcmp(type, names[k]) == 0;
}



static const node *find_param(const node *decl, const char *name) {
  for (size_t i = 0; i < decl->list.len; i++)
    if (strcmp(decl->list.items[i]->name, name) == 0) return decl->list.items[i];
  return NULL;
}

static const char *decl_what(const node *d) {
  return d->kind == N_TEMPLATE ? "template" : d->kind == N_ENV ? "env" : d->kind == N_COMPONENT ? "component" : "function";
}

void eval_report_bad_arg(eval *ev, const node *d, const node *arg) {
  if (!arg->name) {
    eval_fail(ev, arg->at, "too many arguments: %s %s takes %zu", decl_what(d), d->name, d->list.len);
    return;
  }
  const char *hint = NULL;
  for (size_t k = 0; k < d->list.len; k++)
    if (edit_distance(d->list.items[k]->name, arg->name) <= 2) hint = d->list.items[k]->name;
  if (hint)
    eval_fail(ev, arg->at, "%s %s has no parameter \"%s\"; did you mean \"%s\"?", decl_what(d), d->name, arg->name,
              hint);
  else eval_fail(ev, arg->at, "%s %s has no parameter \"%s\"", decl_what(d), d->name, arg->name);
}

void eval_report_positional_after_named(eval *ev, const node *arg) {
  eval_fail(ev, arg->at, "a positional argument cannot follow a named one");
}

void eval_report_missing_arg(eval *ev, const node *d, const node *call, const node *param) {
  eval_fail(ev, call->at, "missing argument \"%s\" (%s) for %s %s", param->name, param->type, decl_what(d), d->name);
  diag_note(ev->diags, param->at, "parameter declared here");
}

bool eval_bind_params(eval *ev, module *m, const node *d, value **args, const node *call, scope **out) {
  bool ok = true;
  scope *sc = NULL;
  for (size_t i = 0; i < d->list.len; i++) {
    const node *p = d->list.items[i];
    if (!args[i] && p->a) {
      args[i] = eval_expr(ev, m, sc, p->a);
      if (args[i] && !eval_type_ok(ev, p->type, &args[i])) {
        eval_fail(ev, p->a->at, "default of \"%s\" must be %s, got %s", p->name, p->type,
                  value_kind_name(args[i]->kind));
        args[i] = NULL;
      }
      if (!args[i]) {
        ok = false;
        continue;
      }
    } else if (!args[i] && ok) {
      if (call) eval_report_missing_arg(ev, d, call, p);
      else eval_fail(ev, p->at, "missing parameter \"%s\" (%s) for env %s", p->name, p->type, d->name);
      ok = false;
      continue;
    }
    if (args[i]) sc = scope_bind(ev, sc, p->name, args[i]);
  }
  *out = sc;
  return ok;
}

/* ---- a template's own patches ----
 *
 * They change what one call of the template made, after its block has run:
 * the way a template ships defaults that its caller overrides
 * (`patch Deployment name overrides`). Settings and `app` belong to envs. */

static bool template_stmt(sink *s, eval *ev, module *m, scope *sc, const node *st) {
  if (st->kind == N_APP) {
    eval_fail(ev, st->at, "'app' is only allowed inside an env block; a template makes another template's resources "
                          "by calling it on a line of its own");
    return false;
  }
  if (st->kind == N_SETTING) {
    eval_fail(ev, st->at, "env setting %s is only allowed inside an env block, for the whole env; a template takes "
                          "what varies as a parameter", st->name);
    return false;
  }
  return patch_list_add(ev, m, sc, st, s->ctx);
}

/* made, the resources of one call of f, with f's patches applied. */
static value *patch_instance(eval *ev, const func *f, const patch_list *patches, value *made) {
  size_t n = made->u.list.len;
  compile_resource *res = arena_alloc(ev->arena, (n + 1) * sizeof *res);
  for (size_t i = 0; i < n; i++) res[i].obj = made->u.list.items[i];
  int errors = ev->diags->errors;
  patch_apply(ev, arena_printf(ev->arena, "template %s", f->name), patches, NULL, res, NULL, &n);
  if (ev->diags->errors != errors) return NULL;
  value *out = value_list(ev->arena, made->at);
  value_reserve(ev->arena, out, n);
  for (size_t i = 0; i < n; i++) value_list_push(ev->arena, out, res[i].obj);
  return out;
}

/* *body becomes the scope of d's body (a template, fn or env of module dm,
 * called `name` in messages) for call: its arguments are evaluated in the
 * caller's scope sc of m, then bound by position or name, defaults filling
 * the rest. False after reporting. */
static bool bind_call(eval *ev, module *m, scope *sc, module *dm, const node *d, const char *name, const node *call,
                      scope **body) {
  size_t np = d->list.len;
  value **args = arena_alloc(ev->arena, (np + 1) * sizeof *args);
  bool ok = true, named = false;
  for (size_t i = 0; i < call->list.len; i++) {
    const node *a = call->list.items[i];
    const node *p = NULL;
    if (!a->name) {
      if (named) { eval_report_positional_after_named(ev, a); ok = false; continue; }
      if (i >= np) { eval_report_bad_arg(ev, d, a); ok = false; continue; }
      p = d->list.items[i];
    } else {
      named = true;
      p = find_param(d, a->name);
      if (!p) {
        eval_report_bad_arg(ev, d, a);
        ok = false;
        continue;
      }
    }
    size_t slot = 0;
    while (d->list.items[slot] != p) slot++;
    if (args[slot]) { eval_fail(ev, a->at, "argument \"%s\" given twice", p->name); ok = false; continue; }
    value *v = eval_expr(ev, m, sc, a->a);
    if (!v) { ok = false; continue; }
    if (!eval_type_ok(ev, p->type, &v)) {
      eval_fail(ev, a->a->at, "argument \"%s\" of %s %s must be %s, got %s", p->name, decl_what(d), name, p->type,
                value_kind_name(v->kind));
      ok = false;
      continue;
    }
    args[slot] = v;
  }
  return ok && eval_bind_params(ev, dm, d, args, call, body);
}

static value *call_user(eval *ev, module *m, scope *sc, const func *f, const node *call) {
  const node *d = f->decl;
  scope *body = NULL;
  if (!bind_call(ev, m, sc, f->mod, d, f->name, call, &body)) return NULL;
  if (++ev->depth > EVAL_MAX_DEPTH) {
    ev->depth--;
    return eval_fail(ev, call->at, "calls nested deeper than %d (does %s call itself?)", EVAL_MAX_DEPTH, f->name);
  }
  value *out;
  if (f->kind == F_FN) {
    out = eval_expr(ev, f->mod, body, d->a);
  } else {
    patch_list patches = {0};
    sink s = {.resources = value_list(ev->arena, call->at), .stmt = template_stmt, .ctx = &patches};
    out = eval_block(ev, f->mod, body, d->b, &s) ? s.resources : NULL;
    if (out && patches.n) out = patch_instance(ev, f, &patches, out);
  }
  ev->depth--;
  return out;
}

/* ---- the envs and components an env builds on ---- */

/* The declaration of kind (N_ENV, N_COMPONENT) called name in m, or NULL. */
static const node *layer_in(const module *m, int kind, const char *name) {
  for (size_t i = 0; i < m->ast->list.len; i++) {
    const node *d = m->ast->list.items[i];
    if ((int)d->kind == kind && strcmp(d->name, name) == 0) return d;
  }
  return NULL;
}

/* The module an import of m loaded, or NULL when it did not load. */
static module *imported(eval *ev, const module *m, const node *imp) {
  const char *path = import_path(ev, imp), *name, *err;
  return path && loader_resolve(ev->loader, m->name, path, &name, &err) == 0 ? module_named(ev, name) : NULL;
}

/* The declaration of kind that `name` (E_IDENT) or `alias.name` (E_FIELD
 * of an E_IDENT, as the parser makes them) names from m: one of m's own, else one of a module m imports without an
 * alias, as other names are found. */
static const node *find_layer(eval *ev, module *m, int kind, const node *ref, module **owner) {
  if (ref->kind == E_FIELD) {
    const sym *s = sym_find(m, ref->a->name);
    *owner = s ? s->alias : NULL;
    return *owner ? layer_in(*owner, kind, ref->name) : NULL;
  }
  *owner = m;
  const node *d = layer_in(m, kind, ref->name);
  for (size_t i = 0; !d && i < m->ast->list.len; i++) {
    const node *imp = m->ast->list.items[i];
    if (imp->kind != N_IMPORT || imp->name || !(*owner = imported(ev, m, imp))) continue;
    d = layer_in(*owner, kind, ref->name);
  }
  return d;
}

const node *eval_layer(eval *ev, module *m, scope *sc, const node *call, int kind, module **mod, scope **out) {
  const node *ref = call->kind == E_CALL ? call->a : call;
  const node *d = find_layer(ev, m, kind, ref, mod);
  if (!d) {
    bool env = kind == N_ENV;
    const char *what = env ? "env" : "component", *to = env ? "build on" : "use", *one = env ? "an env" : "a component";
    if (ref->kind == E_FIELD)
      eval_fail(ev, ref->at, "no %s \"%s.%s\" to %s (NAME.%s names %s of the file imported as NAME)", what, ref->a->name,
                ref->name, to, env ? "ENV" : "COMPONENT", one);
    else
      eval_fail(ev, ref->at, "no %s \"%s\" to %s (%s of this file, or of a file it imports)", what, ref->name, to, one);
    return NULL;
  }
  *out = NULL;
  return bind_call(ev, m, sc, *mod, d, d->name, call, out) ? d : NULL;
}

static value *call_builtin(eval *ev, module *m, scope *sc, const func *f, const node *call) {
  int argc = (int)call->list.len;
  const builtin *b = f->b;
  if (argc < b->min_args || (b->max_args >= 0 && argc > b->max_args)) {
    if (b->min_args == b->max_args)
      return eval_fail(ev, call->at, "%s takes %d argument%s, got %d", b->name, b->min_args, b->min_args == 1 ? "" : "s", argc);
    if (b->max_args < 0)
      return eval_fail(ev, call->at, "%s takes at least %d argument%s, got %d", b->name, b->min_args, b->min_args == 1 ? "" : "s", argc);
    return eval_fail(ev, call->at, "%s takes %d to %d arguments, got %d", b->name, b->min_args, b->max_args, argc);
  }
  value **argv = arena_alloc(ev->arena, ((size_t)argc + 1) * sizeof *argv);
  for (int i = 0; i < argc; i++) {
    const node *a = call->list.items[i];
    if (a->name) return eval_fail(ev, a->at, "built-in %s takes no named arguments", b->name);
    argv[i] = eval_expr(ev, m, sc, a->a);
    if (!argv[i]) return NULL;
  }
  for (int i = 0; b->scans && i < argc; i++)
    if (!eval_charge(ev, call->at, argv[i]->size / SCAN_BYTES)) return NULL;
  return b->impl(ev, call->at, argv, argc);
}

static value *eval_call(eval *ev, module *m, scope *sc, const node *e) {
  value *callee = eval_expr(ev, m, sc, e->a);
  if (!callee) return NULL;
  if (callee->kind != V_FUNC) return eval_fail(ev, e->at, "%s cannot be called", value_a(callee->kind));
  const func *f = callee->u.fn;
  if (f->kind == F_BUILTIN) return call_builtin(ev, m, sc, f, e);
  return call_user(ev, m, sc, f, e);
}

/* ---- resources ------------------------------------------------------------ */

static const char *suggest_kind(const char *kind) {
  static const char *known[] = {"ClusterRole", "ClusterRoleBinding", "ConfigMap", "CronJob", "DaemonSet", "Deployment",
                                "HorizontalPodAutoscaler", "Ingress", "Job", "Namespace", "NetworkPolicy",
                                "PersistentVolumeClaim", "Pod", "PodDisruptionBudget", "Role", "RoleBinding", "Secret",
                                "Service", "ServiceAccount", "StatefulSet"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (edit_distance(known[i], kind) <= 2) return known[i];
  return NULL;
}

bool eval_is_resource(const value *v) {
  const value *k = value_object_get(v, "kind");
  return v->kind == V_OBJECT && k && k->kind == V_STRING;
}

static value *eval_resource(eval *ev, module *m, scope *sc, const node *e) {
  value *name = eval_expr(ev, m, sc, e->a);
  value *body = name ? eval_expr(ev, m, sc, e->b) : NULL;
  if (!body) return NULL;
  if (name->kind != V_STRING)
    return eval_fail(ev, e->a->at, "the name of a %s must be a string, got %s", e->type, value_kind_name(name->kind));
  const kind_info *k = kinds_find(e->type);
  value *api = value_object_get(body, "apiVersion");
  if (!k && !api) {
    const char *hint = suggest_kind(e->type);
    if (hint) return eval_fail(ev, e->at, "unknown kind \"%s\"; did you mean \"%s\"?", e->type, hint);
    return eval_fail(ev, e->at, "unknown kind \"%s\": a custom resource needs an apiVersion field, e.g. apiVersion: \"example.com/v1\"", e->type);
  }
  /* Keys are pushed without a lookup: the body's are distinct, and the
   * three the resource adds are refused in the body or taken out of it. */
  value *r = value_object(ev->arena, e->at);
  value_reserve(ev->arena, r, body->u.obj.len + 3);
  value_object_push(ev->arena, r, "apiVersion", api ? api : value_cstring(ev->arena, e->at, k->api_version));
  value_object_push(ev->arena, r, "kind", value_cstring(ev->arena, e->at, e->type));
  value *meta = value_object_get(body, "metadata");
  if (meta && meta->kind != V_OBJECT)
    return eval_fail(ev, meta->at, "metadata must be an object, got %s", value_kind_name(meta->kind));
  if (meta && value_object_get(meta, "name"))
    return eval_fail(ev, value_object_get(meta, "name")->at, "the name is given after the kind; remove metadata.name");
  size_t nmeta = meta ? meta->u.obj.len : 0;
  value *named = value_object(ev->arena, meta ? meta->at : e->at);
  value_reserve(ev->arena, named, nmeta + 1);
  value_object_push(ev->arena, named, "name", name);
  for (size_t i = 0; i < nmeta; i++) value_object_push(ev->arena, named, meta->u.obj.fields[i].key, meta->u.obj.fields[i].val);
  value_object_push(ev->arena, r, "metadata", named);
  for (size_t i = 0; i < body->u.obj.len; i++) {
    const field *f = &body->u.obj.fields[i];
    if (strcmp(f->key, "apiVersion") && strcmp(f->key, "metadata") && strcmp(f->key, "kind"))
      value_object_push(ev->arena, r, f->key, f->val);
    else if (strcmp(f->key, "kind") == 0)
      return eval_fail(ev, f->val->at, "the kind is given before the name; remove this field");
  }
  return r;
}

/* ---- expressions ---------------------------------------------------------- */

static value *eval_expr_inner(eval *ev, module *m, scope *sc, const node *e);

/* Deeply nested expressions would exhaust the C stack: they are refused. */
value *eval_expr(eval *ev, module *m, scope *sc, const node *e) {
  if (!e || !eval_charge(ev, e->at, 1)) return NULL;
  if (ev->nesting >= EVAL_MAX_NESTING)
    return eval_fail(ev, e->at, "expression nested deeper than %d levels", EVAL_MAX_NESTING);
  ev->nesting++;
  value *v = eval_expr_inner(ev, m, sc, e);
  ev->nesting--;
  /* Nesting built up a level at a time, through names, is not nesting
   * written in one expression: the value itself is measured. */
  if (v && v->depth > VALUE_MAX_DEPTH)
    return eval_fail(ev, e->at, "value nested deeper than %d levels", VALUE_MAX_DEPTH);
  return v;
}

/* The markers a patch reads: `delete` alone removes a field, `delete {...}`
 * the list element with the keys it gives. */
static value *eval_delete(eval *ev, module *m, scope *sc, const node *e) {
  value *v = e->a ? eval_expr(ev, m, sc, e->a) : value_null(ev->arena, e->at);
  if (!v) return NULL;
  v = value_clone(ev->arena, v);
  v->at = e->at;
  v->via = merge_delete_via;
  return v;
}

static value *eval_expr_inner(eval *ev, module *m, scope *sc, const node *e) {
  if (e->constant) return e->constant;
  switch (e->kind) {
  case E_NULL: return keep_literal(e, value_null(ev->arena, e->at));
  case E_BOOL: return keep_literal(e, value_bool(ev->arena, e->at, e->ival != 0));
  case E_INT: return keep_literal(e, value_int(ev->arena, e->at, e->ival));
  case E_FLOAT: return keep_literal(e, value_float(ev->arena, e->at, e->fval));
  case E_STRING: return eval_string(ev, m, sc, e);
  case E_IDENT: return lookup(ev, m, sc, e);
  case E_LIST: return eval_list(ev, m, sc, e);
  case E_OBJECT: return eval_object(ev, m, sc, e);
  case E_FIELD: {
    value *x = eval_expr(ev, m, sc, e->a);
    return x ? field_of(ev, x, e->name, e->at) : NULL;
  }
  case E_INDEX: return eval_index(ev, m, sc, e);
  case E_CALL: return eval_call(ev, m, sc, e);
  case E_UNARY: return eval_unary(ev, m, sc, e);
  case E_BINARY: return eval_binary(ev, m, sc, e);
  case E_COND: {
    value *c = eval_expr(ev, m, sc, e->a);
    if (!c || !want_bool(ev, c, e->a->at, "the condition of 'if'")) return NULL;
    return eval_expr(ev, m, sc, c->u.b ? e->b : e->c);
  }
  case E_RESOURCE: return eval_resource(ev, m, sc, e);
  case E_DELETE: return eval_delete(ev, m, sc, e);
  default: return eval_fail(ev, e->at, "this is not an expression");
  }
}

/* ---- statements ----------------------------------------------------------- */

bool eval_emit(eval *ev, sink *s, value *v, pos at) {
  if (v->kind == V_LIST) {
    bool ok = true;
    for (size_t i = 0; i < v->u.list.len; i++) ok = eval_emit(ev, s, v->u.list.items[i], at) && ok;
    return ok;
  }
  if (!eval_is_resource(v)) {
    eval_fail(ev, at, "a statement must produce resources, but this one produces a value of type %s", value_kind_name(v->kind));
    return false;
  }
  value_list_push(ev->arena, s->resources, v);
  return true;
}

typedef struct {
  const node *block;
  sink *s;
} loop_ctx;

static bool loop_leaf(eval *ev, module *m, scope *sc, void *ctx) {
  loop_ctx *l = ctx;
  return eval_block(ev, m, sc, l->block, l->s);
}

bool eval_block(eval *ev, module *m, scope *sc, const node *block, sink *s) {
  bool ok = true;
  for (size_t i = 0; i < block->list.len; i++) {
    const node *st = block->list.items[i];
    switch (st->kind) {
    case N_LET: {
      /* A name whose value failed is still bound, to NULL: its uses fail
       * quietly rather than as unknown names. */
      value *v = eval_expr(ev, m, sc, st->a);
      ok = v && ok;
      sc = scope_bind(ev, sc, st->name, v);
      break;
    }
    case N_EXPR: {
      value *v = eval_expr(ev, m, sc, st->a);
      ok = v && eval_emit(ev, s, v, st->at) && ok;
      break;
    }
    case N_FOR: {
      loop_ctx l = {st->b, s};
      node clauses = {.kind = N_BLOCK};
      node *one = (node *)st;
      clauses.list.items = &one;
      clauses.list.len = 1;
      ok = run_comp(ev, m, sc, &clauses, loop_leaf, &l) && ok;
      break;
    }
    case N_IF: {
      value *c = eval_expr(ev, m, sc, st->a);
      if (!c || !want_bool(ev, c, st->a->at, "the condition of 'if'")) { ok = false; break; }
      const node *branch = c->u.b ? st->b : st->c;
      if (branch && branch->kind == N_IF) {
        node wrap = {.kind = N_BLOCK};
        node *one = (node *)branch;
        wrap.list.items = &one;
        wrap.list.len = 1;
        ok = eval_block(ev, m, sc, &wrap, s) && ok;
      } else if (branch) {
        ok = eval_block(ev, m, sc, branch, s) && ok;
      }
      break;
    }
    default:
      ok = s->stmt(s, ev, m, sc, st) && ok;
    }
  }
  return ok;
}

