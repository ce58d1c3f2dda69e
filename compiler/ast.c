/* ast.c: allocating syntax-tree nodes. */
#include "ast.h"

node *ast_new(arena *a, node_kind kind, pos at) {
  node *n = arena_alloc(a, sizeof *n);
  n->kind = kind;
  n->at = at;
  return n;
}

void ast_push(arena *a, node_list *l, node *n) {
  if (l->len == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 4;
    l->items = arena_grow(a, l->items, l->len * sizeof(node *), cap * sizeof(node *));
    l->cap = cap;
  }
  l->items[l->len++] = n;
}
