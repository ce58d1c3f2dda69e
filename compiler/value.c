/* value.c: constructors and queries for language values. */
#include "plumb/value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { INDEX_FROM = 16 }; /* objects this big get a hash index */

static void index_rebuild(arena *a, value *obj);

static value *make(arena *a, value_kind k, pos at) {
  value *v = arena_alloc(a, sizeof *v);
  v->kind = k;
  v->at = at;
  v->size = k == V_LIST || k == V_OBJECT ? 2 : 1;
  return v;
}

/* ---- depth and size ------------------------------------------------------- */

enum { DEPTH_CAP = 65535 };

static uint32_t size_plus(uint32_t size, uint64_t n) {
  return n >= UINT32_MAX - size ? UINT32_MAX : (uint32_t)(size + n);
}

/* A part's share of its parent's size: its own, a separator, and its key
 * with quotes and a colon. */
static uint64_t share(const value *part, size_t keylen) { return (uint64_t)part->size + 1 + (keylen ? keylen + 3 : 0); }

/* Inline: every part added or set anywhere passes here. */
static inline void add_part(value *parent, const value *part, size_t keylen) {
  if (part->depth >= parent->depth) parent->depth = part->depth < DEPTH_CAP ? part->depth + 1 : DEPTH_CAP;
  if (part->kind == V_NULL || part->holds_null) parent->holds_null = true;
  parent->size = size_plus(parent->size, share(part, keylen));
}

/* A part taken out. A size that stopped growing stays where it stopped,
 * and depth is not lowered: both are bounds, never short of the truth. */
static void drop_part(value *parent, const value *part, size_t keylen) {
  uint64_t s = share(part, keylen);
  if (parent->size != UINT32_MAX && parent->size >= s) parent->size -= (uint32_t)s;
}

value *value_null(arena *a, pos at) { return make(a, V_NULL, at); }

value *value_bool(arena *a, pos at, bool b) {
  value *v = make(a, V_BOOL, at);
  v->u.b = b;
  return v;
}

value *value_int(arena *a, pos at, int64_t i) {
  value *v = make(a, V_INT, at);
  v->u.i = i;
  return v;
}

value *value_float(arena *a, pos at, double f) {
  value *v = make(a, V_FLOAT, at);
  v->u.f = f;
  return v;
}

value *value_string_take(arena *a, pos at, const char *s, size_t len) {
  value *v = make(a, V_STRING, at);
  v->u.str.s = s;
  v->u.str.len = len;
  v->size = size_plus(2, len);
  return v;
}

value *value_string(arena *a, pos at, const char *s, size_t len) {
  return value_string_take(a, at, arena_strndup(a, s, len), len);
}

value *value_cstring(arena *a, pos at, const char *s) { return value_string(a, at, s, strlen(s)); }
value *value_list(arena *a, pos at) { return make(a, V_LIST, at); }
value *value_object(arena *a, pos at) { return make(a, V_OBJECT, at); }

value *value_func(arena *a, pos at, const func *fn) {
  value *v = make(a, V_FUNC, at);
  v->u.fn = fn;
  return v;
}

static bool is_container(const value *v) { return v->kind == V_LIST || v->kind == V_OBJECT; }
static value *part_of(const value *v, size_t i) { return v->kind == V_LIST ? v->u.list.items[i] : v->u.obj.fields[i].val; }
static size_t parts_of(const value *v) { return v->kind == V_LIST ? v->u.list.len : v->kind == V_OBJECT ? v->u.obj.len : 0; }

/* A shallow copy with room for extra more parts. */
static value *clone_room(arena *a, const value *v, size_t extra) {
  value *c = make(a, v->kind, v->at);
  *c = *v;
  c->literal = false;
  c->owned = false;
  if (v->kind == V_LIST) {
    c->u.list.items = arena_alloc(a, (v->u.list.len + extra) * sizeof(value *));
    if (v->u.list.len) memcpy(c->u.list.items, v->u.list.items, v->u.list.len * sizeof(value *));
    c->u.list.cap = v->u.list.len + extra;
  } else if (v->kind == V_OBJECT) {
    c->u.obj.fields = arena_alloc(a, (v->u.obj.len + extra) * sizeof(field));
    if (v->u.obj.len) memcpy(c->u.obj.fields, v->u.obj.fields, v->u.obj.len * sizeof(field));
    c->u.obj.cap = (uint32_t)(v->u.obj.len + extra);
    c->u.obj.index = NULL;
    if (c->u.obj.len >= INDEX_FROM) index_rebuild(a, c);
  }
  return c;
}

/* Room for one more part, which the arena's rounding gives anyway: a copy
 * is often made to add one (a namespace, a label). */
value *value_clone(arena *a, const value *v) { return clone_room(a, v, 1); }

value *value_own_room(arena *a, value *v, size_t extra) {
  if (v->owned) {
    value_reserve(a, v, parts_of(v) + extra); /* nothing for a scalar */
    return v;
  }
  value *c = clone_room(a, v, extra ? extra : 1);
  c->owned = true;
  return c;
}

value *value_own(arena *a, value *v) { return value_own_room(a, v, 0); }

/* Depth, size and null mark of v counted again from its parts. */
static void recount(value *v) {
  uint32_t size = 2;
  unsigned depth = v->depth;
  bool null = v->holds_null;
  for (size_t i = 0, n = parts_of(v); i < n; i++) {
    const value *part = part_of(v, i);
    size = size_plus(size, share(part, v->kind == V_LIST ? 0 : strlen(v->u.obj.fields[i].key)));
    if (part->depth >= depth) depth = part->depth < DEPTH_CAP ? part->depth + 1u : DEPTH_CAP;
    null = null || part->kind == V_NULL || part->holds_null;
  }
  if (!is_container(v)) return;
  v->size = size;
  v->depth = depth;
  v->holds_null = null;
}

/* The counts of v are exact but where its size stopped growing: then the
 * parts are counted again. */
void value_part_changed(value *v, const value *part, uint32_t was) {
  if (v->size == UINT32_MAX || v->size < was) {
    recount(v);
    return;
  }
  v->size = size_plus(v->size - was, part->size);
  if (part->depth >= v->depth) v->depth = part->depth < DEPTH_CAP ? part->depth + 1 : DEPTH_CAP;
  if (part->kind == V_NULL || part->holds_null) v->holds_null = true;
}

/* Literal values are never owned, nor anything in them. */
void value_disown(value *v) {
  if (v->literal) return;
  v->owned = false;
  for (size_t i = 0, n = parts_of(v); i < n; i++) value_disown(part_of(v, i));
}

/* Counts the paths to v and its parts, up to 2. The parts of a value
 * reached twice are counted once, through it: the walk below stops at it.
 * A literal is never claimed, nor anything in it (all literal too): it is
 * not counted. */
static void count_paths(value *v) {
  if (!is_container(v) || v->literal || v->paths == 2) return;
  if (v->paths++ == 1) return;
  for (size_t i = 0, n = parts_of(v); i < n; i++) count_paths(part_of(v, i));
}

/* Marks v owned when one path leads to it and its holder is owned (sole),
 * and clears the counts on the way: a value reached again has none left,
 * and its parts were seen the first time. */
static void claim(value *v, bool sole) {
  if (!is_container(v) || !v->paths) return;
  bool own = sole && v->paths == 1 && !v->literal;
  v->paths = 0;
  if (own) v->owned = true;
  for (size_t i = 0, n = parts_of(v); i < n; i++) claim(part_of(v, i), own);
}

void value_claim(value *const *roots, size_t n, value *const *held, size_t nheld) {
  for (size_t i = 0; i < n; i++) count_paths(roots[i]);
  for (size_t i = 0; i < nheld; i++) count_paths(held[i]);
  for (size_t i = 0; i < n; i++) claim(roots[i], true);
  for (size_t i = 0; i < nheld; i++) claim(held[i], false);
}

void value_reserve(arena *a, value *v, size_t n) {
  if (v->kind == V_LIST && n > v->u.list.cap) {
    v->u.list.items = arena_grow(a, v->u.list.items, v->u.list.len * sizeof(value *), n * sizeof(value *));
    v->u.list.cap = n;
  } else if (v->kind == V_OBJECT && n > v->u.obj.cap) {
    v->u.obj.fields = arena_grow(a, v->u.obj.fields, v->u.obj.len * sizeof(field), n * sizeof(field));
    v->u.obj.cap = n;
  }
}

void value_list_push(arena *a, value *list, value *item) {
  if (list->u.list.len == list->u.list.cap) value_reserve(a, list, list->u.list.cap ? list->u.list.cap * 2 : 4);
  list->u.list.items[list->u.list.len++] = item;
  add_part(list, item, 0);
}

void value_list_set(value *list, size_t i, value *item) {
  drop_part(list, list->u.list.items[i], 0);
  list->u.list.items[i] = item;
  add_part(list, item, 0);
}

/* Eight bytes a step, then FNV-1a over the rest: the keys of big objects
 * (an image or app per entry) are long. The index keeps the low bits, so
 * the high ones are folded down. */
static size_t key_hash(const char *k, size_t n) {
  uint64_t h = 14695981039346656037u;
  size_t i = 0;
  for (uint64_t w; i + 8 <= n; i += 8) {
    memcpy(&w, k + i, 8);
    h = (h ^ w) * 0x9E3779B97F4A7C15u;
    h ^= h >> 32;
  }
  for (; i < n; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211u;
  return (size_t)(h ^ h >> 29);
}

/* Whether k is the n bytes at key. Most misses differ in the first byte:
 * testing it inline saves a library call per field passed over. */
static bool key_is(const char *k, const char *key, size_t n) {
  if (n && k[0] != key[0]) return false;
  return strncmp(k, key, n) == 0 && k[n] == '\0';
}

/* The number of slots of obj's index, kept in the word before them. */
static size_t nindex(const value *obj) { return obj->u.obj.index[-1]; }

/* Slot of key (n bytes, not necessarily NUL-terminated) in the index: where
 * it is, or the empty slot it would take. */
static size_t index_slot(const value *obj, const char *key, size_t n) {
  size_t mask = nindex(obj) - 1, i = key_hash(key, n) & mask;
  for (uint32_t at; (at = obj->u.obj.index[i]); i = (i + 1) & mask)
    if (key_is(obj->u.obj.fields[at - 1].key, key, n)) break;
  return i;
}

static void index_rebuild(arena *a, value *obj) {
  size_t n = 64;
  while (n < obj->u.obj.len * 2) n *= 2;
  uint32_t *slots = arena_alloc(a, (n + 1) * sizeof(uint32_t));
  slots[0] = (uint32_t)n;
  obj->u.obj.index = slots + 1;
  for (size_t i = 0; i < obj->u.obj.len; i++) {
    const char *k = obj->u.obj.fields[i].key;
    obj->u.obj.index[index_slot(obj, k, strlen(k))] = (uint32_t)(i + 1);
  }
}

static field *find_field(const value *obj, const char *key, size_t n) {
  if (obj->u.obj.index) {
    uint32_t at = obj->u.obj.index[index_slot(obj, key, n)];
    return at ? &obj->u.obj.fields[at - 1] : NULL;
  }
  for (size_t i = 0; i < obj->u.obj.len; i++)
    if (key_is(obj->u.obj.fields[i].key, key, n)) return &obj->u.obj.fields[i];
  return NULL;
}

field *value_object_field(const value *obj, const char *key) {
  return obj && obj->kind == V_OBJECT ? find_field(obj, key, strlen(key)) : NULL;
}

field *value_object_fieldn(const value *obj, const char *key, size_t n) {
  return obj && obj->kind == V_OBJECT ? find_field(obj, key, n) : NULL;
}

value *value_object_getn(const value *obj, const char *key, size_t n) {
  field *f = value_object_fieldn(obj, key, n);
  return f ? f->val : NULL;
}

/* Appends a key obj does not have; n is its length. */
static void append_field(arena *a, value *obj, const char *key, size_t n, value *v) {
  if (obj->u.obj.len == obj->u.obj.cap) value_reserve(a, obj, obj->u.obj.cap ? obj->u.obj.cap * 2 : 4);
  obj->u.obj.fields[obj->u.obj.len++] = (field){key, v};
  add_part(obj, v, n);
  if (obj->u.obj.len >= INDEX_FROM && (!obj->u.obj.index || obj->u.obj.len * 2 > nindex(obj)))
    index_rebuild(a, obj);
  else if (obj->u.obj.index)
    obj->u.obj.index[index_slot(obj, key, n)] = (uint32_t)obj->u.obj.len;
}

/* v in place of what f held; n is the length of f's key. */
static void replace_field(value *obj, field *f, size_t n, value *v) {
  drop_part(obj, f->val, n);
  f->val = v;
  add_part(obj, v, n);
}

void value_object_set(arena *a, value *obj, const char *key, value *v) {
  size_t n = strlen(key);
  field *f = find_field(obj, key, n);
  if (f)
    replace_field(obj, f, n, v);
  else
    append_field(a, obj, key, n, v);
}

void value_field_set(value *obj, field *f, value *v) { replace_field(obj, f, strlen(f->key), v); }

bool value_object_add(arena *a, value *obj, const char *key, value *v) {
  size_t n = strlen(key);
  if (find_field(obj, key, n)) return false;
  append_field(a, obj, key, n, v);
  return true;
}

void value_object_push(arena *a, value *obj, const char *key, value *v) { append_field(a, obj, key, strlen(key), v); }

bool value_object_remove(value *obj, const char *key) {
  field *f = find_field(obj, key, strlen(key));
  if (!f) return false;
  size_t i = (size_t)(f - obj->u.obj.fields);
  drop_part(obj, f->val, strlen(key));
  memmove(f, f + 1, (obj->u.obj.len - i - 1) * sizeof(field));
  obj->u.obj.len--;
  /* Positions moved: the index is rebuilt lazily, by dropping it. */
  obj->u.obj.index = NULL;
  return true;
}

/* Whether c ends a segment of a path. */
static bool ends_segment(char c) { return c == '.' || c == '[' || c == '\0'; }

/* The field of obj named by the segment of a path at p, which ends at '.',
 * '[' or the path's end, and its length in *n; NULL when there is none.
 * Without an index the segment is compared where it stands, its end found
 * with the key that matches it: most paths are read here, a few keys each. */
static const field *segment_field(const value *obj, const char *p, size_t *n) {
  if (obj->u.obj.index) {
    *n = strcspn(p, ".[");
    return find_field(obj, p, *n);
  }
  for (size_t j = 0; j < obj->u.obj.len; j++) {
    const char *k = obj->u.obj.fields[j].key;
    size_t i = 0;
    while (k[i] && k[i] == p[i] && !ends_segment(p[i])) i++;
    if (!k[i] && ends_segment(p[i])) {
      *n = i;
      return &obj->u.obj.fields[j];
    }
  }
  return NULL;
}

value *value_get_path(const value *v, const char *path) {
  const char *p = path;
  while (v && *p) {
    if (*p == '.') {
      p++;
      continue;
    }
    if (*p == '[') {
      char *end;
      long idx = strtol(p + 1, &end, 10);
      if (*end != ']' || v->kind != V_LIST || idx < 0 || (size_t)idx >= v->u.list.len) return NULL;
      v = v->u.list.items[idx];
      p = end + 1;
      continue;
    }
    size_t n;
    const field *f = v->kind == V_OBJECT ? segment_field(v, p, &n) : NULL;
    if (!f) return NULL;
    v = f->val;
    p += n;
  }
  return (value *)v;
}

const char *value_get_string(const value *v, const char *path) {
  const value *s = value_get_path(v, path);
  return s && s->kind == V_STRING ? s->u.str.s : NULL;
}

bool value_equal(const value *x, const value *y) { return value_compare(x, y) == 0; }

void value_put_float(buf *b, double f) {
  char tmp[32];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, f);
    if (strtod(tmp, NULL) == f) break;
  }
  buf_puts(b, tmp);
}

bool value_put_text(buf *b, const value *v) {
  switch (v->kind) {
  case V_STRING: buf_put(b, v->u.str.s, v->u.str.len); return true;
  case V_INT: buf_put_int(b, v->u.i); return true;
  case V_FLOAT: value_put_float(b, v->u.f); return true;
  case V_BOOL: buf_puts(b, v->u.b ? "true" : "false"); return true;
  case V_NULL: buf_puts(b, "null"); return true;
  default: return false;
  }
}

/* Numbers compare by value across int and float; otherwise kinds order as
 * declared in value_kind, so sort() is total over mixed lists. */
int value_compare(const value *x, const value *y) {
  if (x == y) return 0; /* a shared part, however big */
  bool xn = x->kind == V_INT || x->kind == V_FLOAT, yn = y->kind == V_INT || y->kind == V_FLOAT;
  if (xn && yn) {
    if (x->kind == V_INT && y->kind == V_INT) return (x->u.i > y->u.i) - (x->u.i < y->u.i);
    double a = x->kind == V_INT ? (double)x->u.i : x->u.f;
    double b = y->kind == V_INT ? (double)y->u.i : y->u.f;
    return (a > b) - (a < b);
  }
  if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
  switch (x->kind) {
  case V_NULL: return 0;
  case V_BOOL: return (int)x->u.b - (int)y->u.b;
  case V_STRING: {
    size_t n = x->u.str.len < y->u.str.len ? x->u.str.len : y->u.str.len;
    int c = memcmp(x->u.str.s, y->u.str.s, n);
    if (c) return c < 0 ? -1 : 1;
    return (x->u.str.len > y->u.str.len) - (x->u.str.len < y->u.str.len);
  }
  case V_LIST:
    for (size_t i = 0; i < x->u.list.len && i < y->u.list.len; i++) {
      int c = value_compare(x->u.list.items[i], y->u.list.items[i]);
      if (c) return c;
    }
    return (x->u.list.len > y->u.list.len) - (x->u.list.len < y->u.list.len);
  case V_OBJECT: {
    const char **xk = value_sorted_keys(x), **yk = value_sorted_keys(y);
    int c = 0;
    for (size_t i = 0; !c && i < x->u.obj.len && i < y->u.obj.len; i++) {
      c = strcmp(xk[i], yk[i]);
      if (!c) c = value_compare(value_object_get(x, xk[i]), value_object_get(y, yk[i]));
    }
    if (!c) c = (x->u.obj.len > y->u.obj.len) - (x->u.obj.len < y->u.obj.len);
    free(xk);
    free(yk);
    return c < 0 ? -1 : c > 0;
  }
  case V_FUNC:
    /* By where they were defined, not by address: sort() stays deterministic. */
    if (x->u.fn == y->u.fn) return 0;
    if (x->at.line != y->at.line) return x->at.line < y->at.line ? -1 : 1;
    return x->at.col != y->at.col ? (x->at.col < y->at.col ? -1 : 1) : (x->u.fn < y->u.fn ? -1 : 1);
  default: return 0;
  }
}

bool value_truthy(const value *v) {
  switch (v->kind) {
  case V_NULL: return false;
  case V_BOOL: return v->u.b;
  default: return true;
  }
}

const char *value_quoted(arena *a, const value *v) {
  return v->secret ? "a decrypted value" : arena_printf(a, "\"%s\"", v->u.str.s);
}

const char *value_kind_name(value_kind k) {
  static const char *names[] = {"null", "bool", "int", "float", "string", "list", "object", "function"};
  return names[k];
}

const char *value_a(value_kind k) {
  static const char *names[] = {"null", "a bool", "an int", "a float", "a string", "a list", "an object", "a function"};
  return names[k];
}

/* Bytewise, as strcmp; the first byte inline, since it decides most pairs. */
static int cmp_keys(const char *x, const char *y) {
  if (x[0] != y[0]) return (unsigned char)x[0] < (unsigned char)y[0] ? -1 : 1;
  return strcmp(x, y);
}

static int cmp_fields(const void *a, const void *b) {
  return cmp_keys((*(const field *const *)a)->key, (*(const field *const *)b)->key);
}

void value_sort_fields(const field **fs, size_t n) {
  if (n > 16) {
    qsort(fs, n, sizeof *fs, cmp_fields);
    return;
  }
  /* Most objects have a handful of keys: insertion sort beats qsort there. */
  for (size_t i = 1; i < n; i++) {
    const field *f = fs[i];
    size_t j = i;
    for (; j > 0 && cmp_keys(fs[j - 1]->key, f->key) > 0; j--) fs[j] = fs[j - 1];
    fs[j] = f;
  }
}

const char **value_sorted_keys(const value *obj) {
  size_t n = obj->u.obj.len;
  const char **keys = heap_alloc((n + 1) * sizeof *keys);
  const field **fs = heap_alloc((n + 1) * sizeof *fs);
  for (size_t i = 0; i < n; i++) fs[i] = &obj->u.obj.fields[i];
  value_sort_fields(fs, n);
  for (size_t i = 0; i < n; i++) keys[i] = fs[i]->key;
  free(fs);
  return keys;
}
