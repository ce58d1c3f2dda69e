/* keep.c: the part of a compile result worth keeping for long.
 *
 * A compile's arena holds far more than its resources: every module's text
 * and syntax tree, the values each step built and dropped, and the history
 * `plumb explain` follows (via, prev). A caller that keeps results (the
 * runtime, one or two per application) keeps a deep copy of the resources
 * and the sources instead, in an arena of their own. */
#include <stdlib.h>
#include <string.h>

#include "plumb/compile.h"

/* Copies of file and app names, by the original's address: a compile
 * names each file and app from one string, so each is copied once. Runs of
 * values name the same one: the last found is tried first. */
typedef struct copied_name {
  const char *from, *to;
  struct copied_name *next;
} copied_name;

typedef struct {
  arena *a;
  copied_name *names, *last;
} keeper;

static const char *keep_name(keeper *k, const char *s) {
  if (!s) return NULL;
  if (k->last && k->last->from == s) return k->last->to;
  for (copied_name *n = k->names; n; n = n->next)
    if (n->from == s) return (k->last = n)->to;
  copied_name *n = arena_alloc(k->a, sizeof *n);
  *n = (copied_name){s, arena_strdup(k->a, s), k->names};
  k->names = k->last = n;
  return n->to;
}

/* v's kind, content and position; not how it got there (via, prev). A
 * resource holds no function, so neither does v. */
static value *keep_value(keeper *k, const value *v) {
  value *c = arena_alloc(k->a, sizeof *c);
  *c = (value){.kind = v->kind, .name_hash = v->name_hash, .literal = v->literal};
  c->at = (pos){keep_name(k, v->at.file), v->at.line, v->at.col};
  switch (v->kind) {
  case V_STRING:
    c->u.str.s = arena_strndup(k->a, v->u.str.s, v->u.str.len);
    c->u.str.len = v->u.str.len;
    break;
  case V_LIST:
    value_reserve(k->a, c, v->u.list.len);
    for (size_t i = 0; i < v->u.list.len; i++) value_list_push(k->a, c, keep_value(k, v->u.list.items[i]));
    break;
  case V_OBJECT:
    value_reserve(k->a, c, v->u.obj.len);
    for (size_t i = 0; i < v->u.obj.len; i++) {
      const field *f = &v->u.obj.fields[i];
      value_object_push(k->a, c, arena_strdup(k->a, f->key), keep_value(k, f->val));
    }
    break;
  default: c->u = v->u;
  }
  return c;
}

/* The texts too: a caller may quote them in messages of its own about
 * positions in the result (the runtime's about its applications). */
static void keep_sources(keeper *k, diag_list *to, const source *s) {
  if (!s) return;
  keep_sources(k, to, s->next); /* oldest first, so the list keeps its order */
  diag_add_source(to, keep_name(k, s->name), arena_strndup(k->a, s->text, s->len), s->len);
}

compile_result *compile_keep(compile_result *r) {
  if (r->diags.first || r->value) return r;
  compile_result *kept = calloc(1, sizeof *kept);
  if (!kept) abort();
  keeper k = {.a = arena_new()};
  kept->arena = k.a;
  diag_init(&kept->diags, k.a);
  keep_sources(&k, &kept->diags, r->diags.sources);
  kept->env = r->env ? arena_strdup(k.a, r->env) : NULL;
  kept->nres = r->nres;
  kept->res = arena_alloc(k.a, r->nres * sizeof *kept->res);
  for (size_t i = 0; i < r->nres; i++)
    kept->res[i] = (compile_resource){keep_value(&k, r->res[i].obj), keep_name(&k, r->res[i].app)};
  compile_free(r);
  return kept;
}
