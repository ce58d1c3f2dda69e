/* patch.h: the `patch` statements of an env: which resources each selects
 * and how it changes them.
 *
 * A patch names its target (a kind and a name) or selects many with
 * where(name: REGEX, namespace: REGEX, labels: SELECTOR, annotations:
 * SELECTOR, and kind: REGEX when no kind is written). Its body is an object,
 * merged strategically (merge.h), or a list of JSON patch operations
 * (jsonpatch.h). Patches apply in written order after the env block has run;
 * resources are indexed by kind and name, so a build with many patches and
 * resources stays linear. */
#ifndef PLUMB_PATCH_H
#define PLUMB_PATCH_H

#include "eval.h"
#include "merge.h"
#include "nameref.h"
#include "plumb/compile.h"

typedef struct {
  pos at;           /* the statement */
  const char *kind; /* NULL: any kind */
  value *name;      /* the exact name, or NULL for a where() patch */
  value *where;     /* object: the where() arguments, or NULL */
  value *body;      /* object or list */
  /* Matching nothing is no error: a kustomization's patch with a target,
   * as in Kustomize. patch_apply sets missed when it did. */
  bool may_miss, missed;
  /* The body may change the name, the kind: a kustomization's patch with
   * allowNameChange, allowKindChange. */
  bool may_rename, may_rekind;
} patch;

/* The patch statements of a block (an env's, a template's), in order;
 * items live in the eval's arena. */
typedef struct {
  patch *items;
  size_t n, cap;
} patch_list;

/* A new zeroed patch at the end of l, for the caller to fill. */
patch *patch_list_push(arena *a, patch_list *l);

/* Evaluates a `patch` statement onto the end of l. False after reporting
 * an error. */
bool patch_list_add(eval *ev, module *m, scope *sc, const node *st, patch_list *l);

/* Applies l's patches in order to res[0..*n). past (NULL, or one per
 * resource) says how a resource of an env's lower layer was declared: a
 * patch may name it so too. A resource a patch deletes (`$patch: delete`)
 * leaves both arrays, which *n then counts. Reports a patch that matches
 * nothing in scope ("env prod", "template web"), and every patch that
 * fails. keys: the merge keys of a kustomization's openapi schema, which
 * replace the built-in ones, or NULL. */
void patch_apply(eval *ev, const char *scope, const patch_list *l, const merge_schema *keys, compile_resource *res,
                 resource_past *past, size_t *n);

#endif
