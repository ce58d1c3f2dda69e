/* live.c: an env's objects next to what the cluster holds of them. */
#include "live.h"

#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

#define KEEP_MANAGERS "plumb.dev/keep-live-managers"

/* Whether rule is for body: its group and kind, and its name and
 * namespace when it gives them. */
static bool rule_for(const app_ignore *rule, const json_t *body) {
  const char *api = kube_str(body, "apiVersion"), *slash = api ? strchr(api, '/') : NULL;
  size_t glen = slash ? (size_t)(slash - api) : 0;
  const char *ns = kube_meta_str(body, "namespace");
  return api && strlen(rule->group) == glen && strncmp(rule->group, api, glen) == 0 &&
         kube_str_is(body, "kind", rule->kind) && (!rule->name || kube_str_is(json_object_get(body, "metadata"), "name", rule->name)) &&
         (!rule->namespace || (ns && strcmp(ns, rule->namespace) == 0));
}

/* Appends the n words to the comma-separated annotation key of body. */
static void annotate(json_t *body, const char *key, const char *const *words, size_t n) {
  if (!n) return;
  json_t *meta = json_object_get(body, "metadata"), *notes = json_object_get(meta, "annotations");
  if (!notes) json_object_set_new(meta, "annotations", notes = json_object());
  buf b = {0};
  const char *had = kube_str(notes, key);
  if (had && *had) buf_puts(&b, had);
  for (size_t i = 0; i < n; i++) buf_printf(&b, "%s%s", b.len ? "," : "", words[i]);
  json_object_set_new(notes, key, json_string(b.data));
  buf_free(&b);
}

live_obj *live_new(const compile_result *r, const char *owner, const char *manager, const app_ignore *ignore,
                   size_t nignore) {
  live_obj *objs = heap_calloc(r->nres ? r->nres : 1, sizeof *objs);
  for (size_t i = 0; i < r->nres; i++) {
    objs[i].body = apply_body(r, i, owner);
    objs[i].manager = manager;
    for (size_t k = 0; k < nignore; k++)
      if (rule_for(&ignore[k], objs[i].body)) {
        annotate(objs[i].body, COMPILE_KEEP_LIVE, ignore[k].paths, ignore[k].npaths);
        annotate(objs[i].body, KEEP_MANAGERS, ignore[k].managers, ignore[k].nmanagers);
      }
  }
  return objs;
}

void live_free(live_obj *objs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    json_decref(objs[i].body);
    json_decref(objs[i].live);
    free(objs[i].error);
  }
  free(objs);
}

static bool same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* Objects of one apiVersion and kind that name the same namespace (or
 * none), and what listing them found. */
typedef struct {
  const char *api, *kind, *ns; /* ns: as the objects give it, then as listed */
  int rc;                      /* finding the kind, then listing it */
  char *error;
  json_t *by_name;             /* name: live object */
} group;

static size_t group_of(group *gs, size_t *ng, const json_t *body) {
  const char *api = kube_str(body, "apiVersion"), *kind = kube_str(body, "kind");
  const char *ns = kube_meta_str(body, "namespace");
  for (size_t k = 0; k < *ng; k++)
    if (same_str(gs[k].api, api) && same_str(gs[k].kind, kind) && same_str(gs[k].ns, ns)) return k;
  gs[*ng] = (group){.api = api, .kind = kind, .ns = ns};
  return (*ng)++;
}

static void fail(kube_client *c, int rc, int *out_rc, char **error) {
  *out_rc = rc;
  *error = heap_strdup(kube_last_error(c));
}

/* The namespace to list in, as kube_apply would place the objects. */
static void resolve(kube_client *c, group *g) {
  const kube_resource *r;
  int rc = kube_resource_find(c, g->api, g->kind, &r);
  if (rc == KUBE_OK)
    g->ns = !r->namespaced ? NULL : g->ns ? g->ns : kube_default_namespace(c);
  else if (rc != KUBE_ENOTFOUND)
    fail(c, rc, &g->rc, &g->error);
  else
    g->rc = rc;
}

static void index_items(group *g, kube_list_req *l) {
  g->by_name = json_object();
  size_t i;
  json_t *item;
  json_array_foreach(l->items, i, item) {
    /* A list's items leave these out; a GET's answer has them. */
    json_object_set_new(item, "apiVersion", json_string(g->api));
    json_object_set_new(item, "kind", json_string(g->kind));
    const char *name = kube_meta_str(item, "name");
    if (name) json_object_set(g->by_name, name, item);
  }
  g->rc = l->rc;
  g->error = l->error;
  json_decref(l->items);
  free(l->resource_version);
}

/* Every resolved group, listed at once. */
static void list_groups(kube_client *c, group *gs, size_t ng) {
  kube_list_req *lists = heap_calloc(ng ? ng : 1, sizeof *lists);
  size_t *which = heap_calloc(ng ? ng : 1, sizeof *which), m = 0;
  for (size_t k = 0; k < ng; k++) {
    resolve(c, &gs[k]);
    if (gs[k].rc != KUBE_OK) continue;
    lists[m] = (kube_list_req){.api_version = gs[k].api, .kind = gs[k].kind, .ns = gs[k].ns};
    which[m++] = k;
  }
  kube_list_many(c, lists, m);
  for (size_t j = 0; j < m; j++) index_items(&gs[which[j]], &lists[j]);
  free(lists);
  free(which);
}

static void read_one(kube_client *c, live_obj *o, const group *g) {
  if (g->rc == KUBE_OK) {
    o->live = json_incref(json_object_get(g->by_name, kube_meta_str(o->body, "name")));
  } else if (g->rc == KUBE_EFORBIDDEN) {
    int rc = kube_get(c, g->api, g->kind, g->ns, kube_meta_str(o->body, "name"), &o->live);
    if (rc != KUBE_OK && rc != KUBE_ENOTFOUND) fail(c, rc, &o->rc, &o->error);
  } else if (g->rc != KUBE_ENOTFOUND) {
    o->rc = g->rc;
    o->error = heap_strdup(g->error);
  }
}

void live_read(kube_client *c, live_obj *objs, size_t n) {
  group *gs = heap_calloc(n ? n : 1, sizeof *gs);
  size_t *of = heap_calloc(n ? n : 1, sizeof *of), ng = 0;
  for (size_t i = 0; i < n; i++) of[i] = group_of(gs, &ng, objs[i].body);
  list_groups(c, gs, ng);
  for (size_t i = 0; i < n; i++) {
    read_one(c, &objs[i], &gs[of[i]]);
    live_keep(objs[i].body, objs[i].live, objs[i].manager);
  }
  for (size_t k = 0; k < ng; k++) {
    json_decref(gs[k].by_name);
    free(gs[k].error);
  }
  free(gs);
  free(of);
}

/* The next reference token of the JSON pointer at *p, unescaped (~1 is
 * '/', ~0 '~'), in a buffer the caller frees; *p moves past it. NULL at
 * the end, or when a '~' escapes nothing. */
static char *pointer_token(const char **p, bool *bad) {
  if (**p != '/') {
    if (**p) *bad = true;
    return NULL;
  }
  size_t n = strcspn(++*p, "/");
  char *t = heap_alloc(n + 1), *o = t;
  for (size_t i = 0; i < n; i++) {
    char ch = (*p)[i];
    if (ch == '~' && i + 1 < n && ((*p)[i + 1] == '0' || (*p)[i + 1] == '1')) ch = (*p)[++i] == '0' ? '~' : '/';
    else if (ch == '~') *bad = true;
    *o++ = ch;
  }
  *o = '\0';
  *p += n;
  return t;
}

/* An array index token: digits, no leading zero (RFC 6901), below size. */
static bool array_index(const char *t, size_t size, size_t *i) {
  if (!*t || t[strspn(t, "0123456789")] || (t[0] == '0' && t[1]) || strlen(t) > 9) return false;
  *i = (size_t)strtoul(t, NULL, 10);
  return *i < size;
}

/* The member token of v, an object or an array; NULL when it has none. */
static json_t *member(json_t *v, const char *t) {
  size_t i;
  if (json_is_object(v)) return json_object_get(v, t);
  return json_is_array(v) && array_index(t, json_array_size(v), &i) ? json_array_get(v, i) : NULL;
}

/* Whether k, a key of a managedFields entry's fieldsV1 for a list item
 * ("k:{...}", its key fields; "v:...", its value), names item. */
static bool names_item(const char *k, const json_t *item) {
  if (strncmp(k, "k:", 2) != 0 && strncmp(k, "v:", 2) != 0) return false;
  json_t *want = json_loads(k + 2, JSON_DECODE_ANY, NULL);
  bool match = want && (k[0] == 'v' ? json_equal(item, want) : json_is_object(item));
  const char *wk;
  json_t *wv;
  if (match && k[0] == 'k') json_object_foreach(want, wk, wv) match = match && json_equal(json_object_get(item, wk), wv);
  json_decref(want);
  return match;
}

/* What owned (a fieldsV1) says of the member t of node, a value of the
 * live object: "f:t" of an object, the entry that names the item of a
 * list; NULL when it has none. */
static const json_t *owned_member(const json_t *owned, json_t *node, const char *t) {
  if (json_is_object(node)) {
    char *key = heap_printf("f:%s", t);
    const json_t *sub = json_object_get(owned, key);
    free(key);
    return sub;
  }
  const json_t *item = member(node, t), *sub;
  const char *k;
  if (!item) return NULL;
  json_object_foreach((json_t *)owned, k, sub) {
    if (names_item(k, item)) return sub;
  }
  return NULL;
}

/* Puts live's value at the pointer ptr (its first n bytes) into body; or
 * takes the field out of body where Plumb's apply does not own it in
 * live: another writer took it (an autoscaler, through the scale
 * subresource), and an apply that leaves it out leaves it theirs, where
 * one that sent it would take a share of it at every sync and, forced,
 * undo a write made between the read and the apply. A field Plumb owns
 * is sent: leaving it out would remove it. So is one where managedFields
 * do not say (no one entry of Plumb's), and an item of a list, whose
 * removal would move the items after it that other pointers name by
 * index. */
static void keep_one(json_t *body, const json_t *live, const json_t *mine, const char *ptr, size_t n) {
  char *text = heap_strndup(ptr, n), *last = NULL;
  const char *p = text;
  bool bad = false;
  json_t *parent = NULL, *at = body, *from = (json_t *)live;
  const json_t *owned = mine;
  for (char *t; (t = pointer_token(&p, &bad));) {
    parent = at;
    at = member(at, t);
    /* Owned with nothing under it: owned whole (a value, an atomic field). */
    if (owned && json_object_size(owned)) owned = owned_member(owned, from, t);
    from = member(from, t);
    free(last);
    last = t;
  }
  size_t i;
  if (!bad && last && from && parent) {
    if (json_is_object(parent) && mine && !owned) json_object_del(parent, last);
    else if (json_is_object(parent)) json_object_set_new(parent, last, json_deep_copy(from));
    else if (json_is_array(parent) && array_index(last, json_array_size(parent), &i))
      json_array_set_new(parent, i, json_deep_copy(from));
  }
  free(last);
  free(text);
}

/* A JSON pointer's reference token for key: '~' and '/' escaped. */
static void put_token(buf *b, const char *key) {
  buf_putc(b, '/');
  for (; *key; key++)
    if (*key == '~') buf_puts(b, "~0");
    else if (*key == '/') buf_puts(b, "~1");
    else buf_putc(b, *key);
}

/* Keeps the places the jq-like path from p to end (".a.b", "[\"k\"]",
 * "[0]", "[]": every item) reaches from node, a value of the live object
 * root whose pointer is in at. */
static void keep_path(json_t *body, const json_t *root, const json_t *mine, const json_t *node, const char *p,
                      const char *end, buf *at) {
  if (!node) return;
  if (p < end && *p == '.') p++;
  if (p >= end) {
    if (at->len) keep_one(body, root, mine, at->data, at->len);
    return;
  }
  size_t len = at->len;
  const json_t *next;
  if (*p == '[') {
    const char *close = memchr(p, ']', (size_t)(end - p));
    if (!close) return;
    if (close == p + 1) { /* [] */
      for (size_t i = 0; json_is_array(node) && i < json_array_size(node); i++) {
        buf_printf(at, "/%zu", i);
        keep_path(body, root, mine, json_array_get(node, i), close + 1, end, at);
        at->len = len;
      }
      return;
    }
    bool quoted = p[1] == '"' && close - p >= 3 && close[-1] == '"';
    char *key = quoted ? heap_strndup(p + 2, (size_t)(close - p - 3)) : heap_strndup(p + 1, (size_t)(close - p - 1));
    next = json_is_array(node) ? json_array_get(node, (size_t)strtoul(key, NULL, 10)) : json_object_get(node, key);
    if (json_is_array(node)) buf_printf(at, "/%lu", strtoul(key, NULL, 10));
    else put_token(at, key);
    free(key);
    p = close + 1;
  } else {
    size_t n = strcspn(p, ".[");
    if ((size_t)(end - p) < n) n = (size_t)(end - p);
    char *key = heap_strndup(p, n);
    next = json_object_get(node, key);
    put_token(at, key);
    free(key);
    p += n;
  }
  keep_path(body, root, mine, next, p, end, at);
  at->len = len;
}

/* Keeps every field that fields (a managedFields entry's fieldsV1:
 * "f:name", the "k:{...}" and "v:..." of list items, "." the element
 * itself) marks in node, a value of the live object root whose pointer
 * is in at. */
static void keep_fields(json_t *body, const json_t *root, const json_t *mine, const json_t *node,
                        const json_t *fields, buf *at) {
  const char *k;
  json_t *sub;
  size_t len = at->len;
  json_object_foreach((json_t *)fields, k, sub) {
    const json_t *next = NULL;
    if (strncmp(k, "f:", 2) == 0 && json_is_object(node)) {
      next = json_object_get(node, k + 2);
      put_token(at, k + 2);
    } else if (json_is_array(node)) {
      for (size_t i = 0; !next && i < json_array_size(node); i++)
        if (names_item(k, json_array_get(node, i))) next = json_array_get(node, i), buf_printf(at, "/%zu", i);
    }
    if (next && json_object_size(sub) == 0) keep_one(body, root, mine, at->data, at->len);
    else if (next) keep_fields(body, root, mine, next, sub, at);
    at->len = len;
  }
}

/* Whether manager is one of the comma-separated managers. */
static bool named(const char *managers, const char *manager) {
  size_t n = strlen(manager);
  for (const char *p = managers; *p; p += strcspn(p, ","), p += *p == ',')
    if (strncmp(p, manager, n) == 0 && (p[n] == ',' || !p[n])) return true;
  return false;
}

void live_keep(json_t *body, const json_t *live, const char *manager) {
  const json_t *notes = json_object_get(json_object_get(body, "metadata"), "annotations");
  const char *keep = kube_str(notes, COMPILE_KEEP_LIVE), *managers = kube_str(notes, KEEP_MANAGERS);
  if (!live) return;
  /* What the application's own applies own, as the keeping reads it. */
  const json_t *mine = kube_owned_fields(live, manager ? manager : "plumb", kube_str(body, "apiVersion"));
  buf at = {0};
  for (const char *p = keep ? keep : ""; *p; p += *p == ',') {
    size_t n = strcspn(p, ",");
    at.len = 0;
    if (*p == '.') keep_path(body, live, mine, live, p, p + n, &at);
    else keep_one(body, live, mine, p, n);
    p += n;
  }
  size_t i;
  const json_t *entry;
  json_array_foreach(json_object_get(json_object_get(live, "metadata"), "managedFields"), i, entry) {
    const char *m = kube_str(entry, "manager");
    if (!managers || !m || !named(managers, m)) continue;
    at.len = 0;
    keep_fields(body, live, mine, live, json_object_get(entry, "fieldsV1"), &at);
  }
  buf_free(&at);
}

bool live_unchanged(const live_obj *o) {
  static int ask = -1;
  if (ask < 0) ask = getenv("PLUMB_ASK_SERVER") && strcmp(getenv("PLUMB_ASK_SERVER"), "1") == 0;
  return !ask && o->live && kube_apply_unchanged(o->body, o->live, o->manager);
}

void live_mask(json_t *obj) {
  json_t *meta = json_object_get(obj, "metadata");
  static const char *const server_meta[] = {"managedFields", "resourceVersion", "generation", "uid",
                                            "creationTimestamp"};
  for (size_t i = 0; i < sizeof server_meta / sizeof server_meta[0]; i++) json_object_del(meta, server_meta[i]);
  json_object_del(obj, "status");
}

#define SECRET_MASK "++++++++"
#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

static bool is_secret(const json_t *obj) {
  return obj && kube_str_is(obj, "apiVersion", "v1") && kube_str_is(obj, "kind", "Secret");
}

/* The values of field (data or stringData) of both sides. */
static void mask_values(json_t *live, json_t *merged, const char *field) {
  json_t *a = json_object_get(live, field), *b = json_object_get(merged, field);
  const char *key;
  json_t *v;
  json_object_foreach(b, key, v) {
    json_t *was = json_object_get(a, key);
    bool same = was && json_equal(was, v);
    json_object_set_new(b, key, json_string(same || !was ? SECRET_MASK : SECRET_MASK "+"));
  }
  json_object_foreach(a, key, v) json_object_set_new(a, key, json_string(SECRET_MASK));
}

static void mask_last_applied(json_t *obj) {
  json_t *annotations = json_object_get(json_object_get(obj, "metadata"), "annotations");
  if (json_object_get(annotations, LAST_APPLIED))
    json_object_set_new(annotations, LAST_APPLIED, json_string(SECRET_MASK));
}

void live_mask_secret(json_t *live, json_t *merged) {
  if (!is_secret(merged) && !is_secret(live)) return;
  mask_values(live, merged, "data");
  mask_values(live, merged, "stringData");
  mask_last_applied(live);
  mask_last_applied(merged);
}

bool live_same(const json_t *live, const json_t *after, const char *manager) {
  const char *api = kube_str(after, "apiVersion");
  if (!manager) manager = "plumb";
  if (!json_equal((json_t *)kube_owned_fields(live, manager, api), (json_t *)kube_owned_fields(after, manager, api)))
    return false;
  json_t *a = json_deep_copy(live), *b = json_deep_copy(after);
  live_mask(a);
  live_mask(b);
  bool same = json_equal(a, b);
  json_decref(a);
  json_decref(b);
  return same;
}
