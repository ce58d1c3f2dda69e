/* openapi.c: merge keys read from an OpenAPI document (see openapi.h). */
#include "openapi.h"

#include <string.h>

typedef struct {
  eval *ev;
  arena *a;
  const value *defs;  /* the document's definitions */
  value *types;       /* object: definition name -> its type number (an int) */
  merge_schema *keys;
  bool failed;
} reader;

static int type_of(reader *r, const value *schema, int depth);

/* The definition a schema's $ref names, by its name, or NULL. */
static const char *ref_name(const value *schema) {
  const char *ref = value_get_string(schema, "$ref");
  return ref && strncmp(ref, "#/definitions/", 14) == 0 ? ref + 14 : NULL;
}

static bool too_big(reader *r, const value *at, int depth) {
  if (depth <= OPENAPI_MAX_DEPTH && merge_schema_size(r->keys) <= OPENAPI_MAX_SIZE) return false;
  if (!r->failed)
    eval_fail(r->ev, at->at, "openapi: the definitions lead on deeper than %d or past %d types and fields", OPENAPI_MAX_DEPTH,
              OPENAPI_MAX_SIZE);
  r->failed = true;
  return true;
}

/* The merge keys of a list property: x-kubernetes-list-map-keys, else
 * x-kubernetes-patch-merge-key; how many (at most two are read). */
static int list_keys(reader *r, const value *prop, const char *keys[2]) {
  const value *list = value_object_get(prop, "x-kubernetes-list-map-keys");
  const char *one = value_get_string(prop, "x-kubernetes-patch-merge-key");
  int n = 0;
  for (size_t i = 0; list && list->kind == V_LIST && i < list->u.list.len; i++) {
    const value *k = list->u.list.items[i];
    if (k->kind != V_STRING) continue;
    if (n == 2) {
      eval_fail(r->ev, k->at, "openapi: lists merged by more than two keys are not supported by plumb yet");
      r->failed = true;
      return 0;
    }
    keys[n++] = k->u.str.s;
  }
  if (!n && one) keys[n++] = one;
  return n;
}

static bool merges(const value *prop) {
  const char *strategy = value_get_string(prop, "x-kubernetes-patch-strategy");
  for (const char *s = strategy; s && *s;) {
    size_t n = strcspn(s, ",");
    if (n == 5 && strncmp(s, "merge", 5) == 0) return true;
    s += n + (s[n] == ',');
  }
  return false;
}

/* One field of objects of type parent. */
static void add_field(reader *r, int parent, const char *name, const value *prop, int depth) {
  const value *items = value_object_get(prop, "items");
  if (items && items->kind == V_OBJECT) {
    const char *keys[2] = {NULL, NULL};
    bool keyed = merges(prop);
    int n = keyed ? list_keys(r, prop, keys) : 0, child = type_of(r, items, depth + 1);
    if (keyed && !r->failed) merge_schema_field(r->keys, parent, name, child, n ? keys[0] : NULL, n > 1 ? keys[1] : NULL, !n);
    return;
  }
  int child = type_of(r, prop, depth + 1);
  if (child >= 0) merge_schema_field(r->keys, parent, name, child, NULL, NULL, false);
}

/* The fields of schema, an object's, onto type. */
static void add_fields(reader *r, int type, const value *schema, int depth) {
  const value *props = value_object_get(schema, "properties"), *more = value_object_get(schema, "additionalProperties");
  for (size_t i = 0; props && props->kind == V_OBJECT && i < props->u.obj.len && !r->failed; i++)
    if (props->u.obj.fields[i].val->kind == V_OBJECT)
      add_field(r, type, props->u.obj.fields[i].key, props->u.obj.fields[i].val, depth);
  if (more && more->kind == V_OBJECT && !r->failed) add_field(r, type, "*", more, depth);
}

/* The type of objects a schema describes, -1 when it describes none. A
 * definition is read once, whatever refers to it, itself included. */
static int type_of(reader *r, const value *schema, int depth) {
  if (too_big(r, schema, depth)) return -1;
  const char *name = ref_name(schema);
  if (name) {
    const value *known = value_object_get(r->types, name), *def = value_object_get(r->defs, name);
    if (known) return (int)known->u.i;
    if (!def || def->kind != V_OBJECT) return -1;
    int type = merge_schema_type(r->keys);
    value_object_set(r->a, r->types, name, value_int(r->a, def->at, type));
    add_fields(r, type, def, depth);
    return type;
  }
  if (!value_object_get(schema, "properties") && !value_object_get(schema, "additionalProperties")) return -1;
  int type = merge_schema_type(r->keys);
  add_fields(r, type, schema, depth);
  return type;
}

/* The kinds a definition is the type of: its x-kubernetes-group-version-kind. */
static void add_kinds(reader *r, const char *name, const value *def) {
  const value *gvks = value_object_get(def, "x-kubernetes-group-version-kind");
  for (size_t i = 0; gvks && gvks->kind == V_LIST && i < gvks->u.list.len && !r->failed; i++) {
    const value *g = gvks->u.list.items[i];
    const char *group = value_get_string(g, "group"), *version = value_get_string(g, "version");
    const char *kind = value_get_string(g, "kind");
    if (!version || !kind) continue;
    value *ref = value_object(r->a, def->at);
    value_object_set(r->a, ref, "$ref", value_cstring(r->a, def->at, arena_printf(r->a, "#/definitions/%s", name)));
    int type = type_of(r, ref, 0);
    const char *api = group && *group ? arena_printf(r->a, "%s/%s", group, version) : version;
    if (type >= 0) merge_schema_kind(r->keys, api, kind, type);
  }
}

merge_schema *openapi_merge_keys(eval *ev, const value *doc) {
  arena *a = eval_arena(ev);
  const value *defs = doc->kind == V_OBJECT ? value_object_get(doc, "definitions") : NULL;
  if (!defs || defs->kind != V_OBJECT) {
    eval_fail(ev, doc->at, "openapi: the document has no definitions (an OpenAPI v2 document's, by name)");
    return NULL;
  }
  reader r = {ev, a, defs, value_object(a, doc->at), merge_schema_new(a), false};
  for (size_t i = 0; i < defs->u.obj.len && !r.failed; i++)
    if (defs->u.obj.fields[i].val->kind == V_OBJECT) add_kinds(&r, defs->u.obj.fields[i].key, defs->u.obj.fields[i].val);
  return r.failed ? NULL : r.keys;
}
