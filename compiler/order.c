/* order.c: Kustomize's orders of a build (see order.h). */
#include "order.h"

#include <stdlib.h>
#include <string.h>

#include "kinds.h"

/* Where a kind sits among custom first and last lists, as Kustomize ranks
 * it: before all others by its place in first, after all by its place in
 * last (which wins when it is in both), 0 when in neither. */
static int custom_rank(const order *o, const char *kind) {
  int rank = 0;
  size_t nfirst = o->first ? o->first->u.list.len : 0, nlast = o->last ? o->last->u.list.len : 0;
  for (size_t i = 0; i < nfirst; i++)
    if (strcmp(o->first->u.list.items[i]->u.str.s, kind) == 0) rank = (int)i - (int)nfirst;
  for (size_t i = 0; i < nlast; i++)
    if (strcmp(o->last->u.list.items[i]->u.str.s, kind) == 0) rank = 1 + (int)i;
  return rank;
}

/* What the legacy order compares, made once per resource. */
typedef struct {
  int rank;
  bool namespace_kind;
  char *gvk;  /* GROUP_VERSION_KIND, ~G ~V ~K where empty */
  char *id;   /* NAMESPACE|NAME, ~X ~N where empty */
  compile_resource res;
} legacy_key;

static const char *or_else(const char *s, const char *none) { return s && *s ? s : none; }

static legacy_key legacy_key_of(const order *o, compile_resource res) {
  const char *api = value_get_string(res.obj, "apiVersion"), *kind = value_get_string(res.obj, "kind");
  const char *slash = api ? strchr(api, '/') : NULL;
  int glen = slash ? (int)(slash - api) : 2;
  legacy_key k = {.res = res, .namespace_kind = kind && strcmp(kind, "Namespace") == 0};
  k.gvk = heap_printf("%.*s_%s_%s", glen, slash ? api : "~G", or_else(slash ? slash + 1 : api, "~V"), or_else(kind, "~K"));
  k.id = heap_printf("%s|%s", or_else(value_get_string(res.obj, "metadata.namespace"), "~X"),
                     or_else(value_get_string(res.obj, "metadata.name"), "~N"));
  k.rank = o->first || o->last ? custom_rank(o, kind ? kind : "") : kinds_rank(kind ? kind : "");
  return k;
}

/* Kustomize's legacyIDSorter.Less: two Namespaces of different API groups
 * compare the other way round, one of them without a group first. */
static int cmp_legacy(const void *pa, const void *pb) {
  const legacy_key *x = pa, *y = pb;
  if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
  int c = strcmp(x->gvk, y->gvk);
  if (c && x->namespace_kind && y->namespace_kind && (strncmp(x->gvk, "~G_", 3) == 0 || strncmp(y->gvk, "~G_", 3) == 0))
    return -c;
  return c ? c : strcmp(x->id, y->id);
}

static int cmp_seq(const void *pa, const void *pb) {
  const compile_resource *x = pa, *y = pb;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void order_sort(const order *o, compile_resource *res, size_t n) {
  if (o->how == ORDER_INSTALL || n < 2) return;
  if (o->how == ORDER_FIFO) {
    qsort(res, n, sizeof *res, cmp_seq);
    return;
  }
  legacy_key *keys = heap_alloc(n * sizeof *keys);
  for (size_t i = 0; i < n; i++) keys[i] = legacy_key_of(o, res[i]);
  qsort(keys, n, sizeof *keys, cmp_legacy);
  for (size_t i = 0; i < n; i++) {
    res[i] = keys[i].res;
    free(keys[i].gvk);
    free(keys[i].id);
  }
  free(keys);
}
