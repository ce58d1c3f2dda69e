/* check.c: name resolution and call shapes, without evaluating (check.h). */
#include "check.h"

#include <string.h>

/* Local names in scope, innermost last; a block's names are popped on exit. */
typedef struct {
  eval *ev;
  const module *m;
  const char **names;
  int n, cap;
  int depth; /* expression nesting, bounded as in the evaluator */
  bool ok;
} checker;

static void expr(checker *c, const node *e);
static void block(checker *c, const node *b);

static void push(checker *c, const char *name) {
  if (c->n == c->cap) {
    int cap = c->cap ? 2 * c->cap : 64;
    c->names = arena_grow(eval_arena(c->ev), c->names, (size_t)c->n * sizeof *c->names, (size_t)cap * sizeof *c->names);
    c->cap = cap;
  }
  c->names[c->n++] = name;
}

static bool local(const checker *c, const char *name) {
  for (int i = c->n - 1; i >= 0; i--)
    if (strcmp(c->names[i], name) == 0) return true;
  return false;
}

static void ident(checker *c, const node *e) {
  if (local(c, e->name) || eval_module_decl(c->m, e->name) || builtin_find(e->name)) return;
  c->ok = false;
  /* The evaluator words the message and suggests a near name, locals too. */
  scope *sc = NULL;
  for (int i = 0; i < c->n; i++) sc = scope_bind(c->ev, sc, c->names[i], NULL);
  eval_expr(c->ev, (module *)c->m, sc, e);
}

static const node *find_param(const node *decl, const char *name) {
  for (size_t i = 0; i < decl->list.len; i++)
    if (strcmp(decl->list.items[i]->name, name) == 0) return decl->list.items[i];
  return NULL;
}

/* A call of a template or fn by its top-level name: every named argument must
 * exist, none twice, and every parameter without default be given. */
static void call_shape(checker *c, const node *call) {
  const node *callee = call->a;
  if (callee->kind != E_IDENT || local(c, callee->name)) return;
  const node *d = eval_module_decl(c->m, callee->name);
  if (!d || (d->kind != N_TEMPLATE && d->kind != N_FN)) return;
  bool given[256] = {0}, named = false;
  size_t positional = 0;
  for (size_t i = 0; i < call->list.len; i++) {
    const node *a = call->list.items[i];
    if (!a->name && named) {
      c->ok = false;
      eval_report_positional_after_named(c->ev, a);
      continue;
    }
    named |= a->name != NULL;
    const node *p = a->name ? find_param(d, a->name) : positional < d->list.len ? d->list.items[positional] : NULL;
    if (!a->name) positional++;
    if (!p) {
      c->ok = false;
      eval_report_bad_arg(c->ev, d, a);
      continue;
    }
    size_t k = 0;
    while (d->list.items[k] != p) k++;
    if (k < 256 && given[k]) {
      c->ok = false;
      eval_fail(c->ev, a->at, "argument \"%s\" given twice", p->name);
    }
    if (k < 256) given[k] = true;
  }
  for (size_t k = 0; k < d->list.len && k < 256; k++)
    if (!given[k] && !d->list.items[k]->a) {
      c->ok = false;
      eval_report_missing_arg(c->ev, d, call, d->list.items[k]);
    }
}

/* Comprehension clauses bind left to right; the element sees them all. */
static void clauses(checker *c, const node_list *l) {
  for (size_t i = 0; i < l->len; i++) {
    const node *cl = l->items[i];
    expr(c, cl->a);
    if (cl->kind == N_FOR) {
      push(c, cl->name);
      if (cl->name2) push(c, cl->name2);
    }
  }
}

static void each(checker *c, const node_list *l) {
  for (size_t i = 0; i < l->len; i++) expr(c, l->items[i]);
}

static void object(checker *c, const node *e) {
  int mark = c->n;
  if (e->b) {
    clauses(c, &e->list);
    expr(c, e->a);
    expr(c, e->b);
  }
  for (size_t i = 0; !e->b && i < e->list.len; i++) {
    const node *it = e->list.items[i];
    if (it->kind == N_LET) {
      expr(c, it->a);
      push(c, it->name);
    } else {
      expr(c, it->a);
      expr(c, it->b);
    }
  }
  c->n = mark;
}

static void expr(checker *c, const node *e) {
  if (!e) return;
  if (c->depth >= EVAL_MAX_NESTING) {
    /* Reported once per module: the evaluator would only repeat it. */
    if (c->ok) eval_fail(c->ev, e->at, "expression nested deeper than %d levels", EVAL_MAX_NESTING);
    c->ok = false;
    return;
  }
  c->depth++;
  int mark = c->n;
  switch (e->kind) {
  case E_IDENT: ident(c, e); break;
  case E_STRING: each(c, &e->list); break;
  case E_LIST:
    if (e->b) {
      clauses(c, &e->list);
      expr(c, e->b);
    } else {
      each(c, &e->list);
    }
    break;
  case E_OBJECT: object(c, e); break;
  case E_CALL:
    expr(c, e->a);
    for (size_t i = 0; i < e->list.len; i++) expr(c, e->list.items[i]->a);
    call_shape(c, e);
    break;
  default:
    expr(c, e->a);
    expr(c, e->b);
    expr(c, e->c);
  }
  c->n = mark;
  c->depth--;
}

static void stmt(checker *c, const node *s) {
  switch (s->kind) {
  case N_LET:
    expr(c, s->a);
    push(c, s->name);
    return;
  case N_FOR: {
    int mark = c->n;
    expr(c, s->a);
    push(c, s->name);
    if (s->name2) push(c, s->name2);
    block(c, s->b);
    c->n = mark;
    return;
  }
  case N_IF:
    expr(c, s->a);
    block(c, s->b);
    if (s->c && s->c->kind == N_IF) stmt(c, s->c);
    else if (s->c) block(c, s->c);
    return;
  case N_PATCH:
    expr(c, s->a);
    for (size_t i = 0; s->c && i < s->c->list.len; i++) expr(c, s->c->list.items[i]->a);
    expr(c, s->b);
    return;
  default: expr(c, s->a);
  }
}

static void block(checker *c, const node *b) {
  int mark = c->n;
  for (size_t i = 0; b && i < b->list.len; i++) stmt(c, b->list.items[i]);
  c->n = mark;
}

/* The arguments of a `from` or `with` reference (NULL: none). */
static void args_of(checker *c, const node *ref) {
  for (size_t i = 0; ref && ref->kind == E_CALL && i < ref->list.len; i++) expr(c, ref->list.items[i]->a);
}

static void params_then(checker *c, const node *d) {
  for (size_t i = 0; i < d->list.len; i++) {
    expr(c, d->list.items[i]->a); /* defaults see earlier parameters */
    push(c, d->list.items[i]->name);
  }
  /* The arguments an env gives the env it builds on and the components it
   * uses see its parameters; what they name is looked for when it is built. */
  args_of(c, d->a);
  for (size_t i = 0; d->c && i < d->c->list.len; i++) args_of(c, d->c->list.items[i]);
  if (d->kind == N_FN) expr(c, d->a);
  else block(c, d->b);
  c->n = 0;
}

bool check_modules(eval *ev) {
  bool ok = true;
  for (module *m = eval_modules(ev); m; m = module_next(m)) {
    checker c = {.ev = ev, .m = m, .ok = true};
    const node *f = module_ast(m);
    for (size_t i = 0; i < f->list.len; i++) {
      const node *d = f->list.items[i];
      if (d->kind == N_LET) expr(&c, d->a);
      else if (d->kind == N_TEMPLATE || d->kind == N_FN || d->kind == N_ENV || d->kind == N_COMPONENT) params_then(&c, d);
    }
    ok = ok && c.ok;
  }
  return ok;
}
