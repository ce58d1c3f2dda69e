/* keep.c: the part of a compile result worth keeping for long.
 *
 * A compile's arena holds far more than its resources: every module's text
 * and syntax tree, the values each step built and dropped, and the history
 * `plumb explain` follows (via, prev). A caller that keeps results (the
 * runtime, one or two per application) keeps a copy of the resources and
 * the sources instead, in an arena of their own, sized to fit. */
#include <stdlib.h>
#include <string.h>

#include "plumb/compile.h"
#include "ptrmap.h"

typedef struct {
  arena *a;
  ptrmap copies; /* of strings and values, by the original's address */
} keeper;

static const char *keep_name(keeper *k, const char *s) {
  if (!s) return NULL;
  char *c = ptrmap_get(&k->copies, s);
  if (!c) ptrmap_put(&k->copies, s, c = arena_strdup(k->a, s));
  return c;
}

/* v's kind, content, position and marks (a decrypted value stays one:
 * messages about the kept result must not quote it); not how it got
 * there (via, prev). A
 * resource holds no function, so neither does v. Nothing changes a kept
 * value, so a value met again is its first copy. */
static value *keep_value(keeper *k, const value *v) {
  value *c = ptrmap_get(&k->copies, v);
  if (c) return c;
  ptrmap_put(&k->copies, v, c = arena_alloc(k->a, sizeof *c));
  *c = (value){.kind = v->kind, .name_hash = v->name_hash, .literal = v->literal, .secret = v->secret};
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
      value_object_push(k->a, c, keep_name(k, f->key), keep_value(k, f->val));
    }
    break;
  default: c->u = v->u;
  }
  c->depth = v->depth;
  c->size = v->size;
  return c;
}

/* The texts too: a caller may quote them in messages of its own about
 * positions in the result (the runtime's about its applications). */
static void keep_sources(keeper *k, diag_list *to, const source *s) {
  if (!s) return;
  keep_sources(k, to, s->next); /* oldest first, so the list keeps its order */
  diag_add_source(to, keep_name(k, s->name), arena_strndup(k->a, s->text, s->len), s->len);
}

static compile_result *keep_into(arena *a, const compile_result *r) {
  compile_result *kept = heap_calloc(1, sizeof *kept);
  keeper k = {.a = a};
  kept->arena = a;
  diag_init(&kept->diags, a);
  keep_sources(&k, &kept->diags, r->diags.sources);
  /* What a build that passed warns of (a chart's hooks, left out) stays
   * to be told. */
  for (const diag *g = r->diags.first; g; g = g->next)
    diag_warning(&kept->diags, (pos){keep_name(&k, g->at.file), g->at.line, g->at.col}, "%s", g->msg);
  kept->env = r->env ? arena_strdup(a, r->env) : NULL;
  kept->nres = r->nres;
  kept->res = arena_alloc(a, r->nres * sizeof *kept->res);
  for (size_t i = 0; i < r->nres; i++)
    kept->res[i] = (compile_resource){keep_value(&k, r->res[i].obj), keep_name(&k, r->res[i].app), r->res[i].unchecked,
                                     r->res[i].seq};
  ptrmap_free(&k.copies);
  return kept;
}

compile_result *compile_keep(compile_result *r) {
  if (r->diags.errors || r->value) return r;
  /* Copied twice: the first copy measures the arena the second fits in. */
  compile_result *sizing = keep_into(arena_new(), r);
  compile_result *kept = keep_into(arena_new_sized(arena_used(sizing->arena)), r);
  compile_free(sizing);
  compile_free(r);
  return kept;
}
