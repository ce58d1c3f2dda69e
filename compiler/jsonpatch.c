/* jsonpatch.c: RFC 6902 operations (see jsonpatch.h).
 *
 * Values are immutable, so an operation copies the containers on its path
 * and shares everything else. */
#include "jsonpatch.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/emit.h"

typedef enum { OP_ADD, OP_REMOVE, OP_REPLACE, OP_MOVE, OP_COPY, OP_TEST } op_kind;

typedef struct {
  const char **tok; /* the pointer's reference tokens, unescaped */
  size_t n;
  const char *text;
} pointer;

typedef struct {
  arena *a;
  diag_list *d;
  const value *op; /* for error positions */
  const char *via;
  const char *opname;
} jp;

__attribute__((format(printf, 2, 3))) static value *fail(jp *j, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_error(j->d, j->op->at, "%s", arena_vprintf(j->a, fmt, ap));
  va_end(ap);
  return NULL;
}

static bool parse_pointer(jp *j, const char *s, pointer *p) {
  *p = (pointer){.text = s};
  if (*s && *s != '/') return fail(j, "JSON pointer \"%s\" must be empty or start with '/'", s), false;
  while (*s) {
    const char *end = strchr(s + 1, '/');
    size_t len = end ? (size_t)(end - s - 1) : strlen(s + 1);
    char *t = arena_alloc(j->a, len + 1), *o = t;
    for (const char *c = s + 1; c < s + 1 + len; c++) {
      if (*c != '~') {
        *o++ = *c;
        continue;
      }
      if (c[1] != '0' && c[1] != '1') return fail(j, "JSON pointer \"%s\": '~' must be followed by 0 or 1", p->text), false;
      *o++ = *++c == '0' ? '~' : '/';
    }
    *o = '\0';
    p->tok = arena_grow(j->a, p->tok, p->n * sizeof *p->tok, (p->n + 1) * sizeof *p->tok);
    p->tok[p->n++] = t;
    s += len + 1;
  }
  return true;
}

/* The prefix of p's first n tokens, for messages. */
static const char *prefix(jp *j, const pointer *p, size_t n) {
  buf b = {0};
  for (size_t i = 0; i < n; i++) buf_printf(&b, "/%s", p->tok[i]);
  const char *s = arena_strdup(j->a, b.data ? b.data : "");
  buf_free(&b);
  return *s ? s : "the root";
}

/* Token i as an index into a list of len: digits without a leading zero,
 * below len; when adding (end_ok), len itself or `-`, the end. -1 after
 * reporting. */
static long index_of(jp *j, const pointer *p, size_t i, size_t len, bool end_ok) {
  const char *t = p->tok[i];
  if (end_ok && strcmp(t, "-") == 0) return (long)len;
  size_t n = strspn(t, "0123456789");
  if (!n || t[n] || (t[0] == '0' && n > 1) || n > 9)
    return fail(j, "path \"%s\": \"%s\" is not a list index", p->text, t), -1;
  long k = strtol(t, NULL, 10);
  if ((size_t)k > len || ((size_t)k == len && !end_ok)) {
    fail(j, "path \"%s\": index %ld is out of range for the list of %zu at %s", p->text, k, len, prefix(j, p, i));
    return -1;
  }
  return k;
}

/* The child of v that token i of p names, or NULL after reporting. */
static const value *child_of(jp *j, const value *v, const pointer *p, size_t i) {
  if (v->kind == V_OBJECT) {
    const value *next = value_object_get(v, p->tok[i]);
    if (!next) fail(j, "path \"%s\": no field \"%s\" in the object at %s", p->text, p->tok[i], prefix(j, p, i));
    return next;
  }
  if (v->kind != V_LIST)
    return fail(j, "path \"%s\": %s is %s, not an object or a list", p->text, prefix(j, p, i), value_a(v->kind));
  long k = index_of(j, p, i, v->u.list.len, false);
  return k < 0 ? NULL : v->u.list.items[k];
}

/* The value at p, or NULL after reporting. */
static const value *get(jp *j, const value *doc, const pointer *p) {
  const value *v = doc;
  for (size_t i = 0; i < p->n && v; i++) v = child_of(j, v, p, i);
  return v;
}

static value *tagged(jp *j, const value *v, const value *prev) {
  value *c = value_clone(j->a, v);
  c->via = j->via;
  c->prev = prev;
  return c;
}

/* The container `parent` with its last-token child added (put != NULL,
 * insert), replaced (put != NULL, !insert) or removed (put == NULL). */
static value *edit(jp *j, const value *parent, const pointer *p, const value *put, bool insert) {
  const char *key = p->tok[p->n - 1];
  if (parent->kind == V_OBJECT) {
    value *old = value_object_get(parent, key);
    if (!old && !insert)
      return fail(j, "path \"%s\": no field \"%s\" in the object at %s", p->text, key, prefix(j, p, p->n - 1));
    value *out = value_clone(j->a, parent);
    if (put)
      value_object_set(j->a, out, key, tagged(j, put, old));
    else
      value_object_remove(out, key);
    return out;
  }
  if (parent->kind != V_LIST)
    return fail(j, "path \"%s\": %s is %s, not an object or a list", p->text, prefix(j, p, p->n - 1), value_a(parent->kind));
  size_t len = parent->u.list.len;
  long k = index_of(j, p, p->n - 1, len, insert);
  if (k < 0) return NULL;
  value *out = value_list(j->a, parent->at);
  out->via = parent->via;
  out->prev = parent->prev;
  for (size_t i = 0; i <= len; i++) {
    if ((long)i == k && put) value_list_push(j->a, out, tagged(j, put, insert ? NULL : parent->u.list.items[i]));
    if (i < len && ((long)i != k || insert)) value_list_push(j->a, out, parent->u.list.items[i]);
  }
  return out;
}

/* An add makes the containers missing on its path, as Kustomize's JSON
 * patch does (EnsurePathExistsOnAdd): a list where the next token is an
 * index or `-`, else an object. */
static const value *made_parent(jp *j, const value *doc, const pointer *p, size_t i) {
  const char *next = p->tok[i + 1];
  bool list = strcmp(next, "-") == 0 || (*next && strspn(next, "0123456789") == strlen(next));
  value *v = list ? value_list(j->a, doc->at) : value_object(j->a, doc->at);
  v->via = j->via;
  return v;
}

/* doc with the change at p made: the containers along p are copied. */
static value *change(jp *j, const value *doc, const pointer *p, size_t i, const value *put, bool insert) {
  if (i + 1 == p->n) return edit(j, doc, p, put, insert);
  bool make = insert && put && doc->kind == V_OBJECT && !value_object_get(doc, p->tok[i]);
  const value *child = make ? made_parent(j, doc, p, i) : child_of(j, doc, p, i);
  if (!child) return NULL;
  value *changed = change(j, child, p, i + 1, put, insert);
  if (!changed) return NULL;
  if (doc->kind == V_OBJECT) {
    value *out = value_clone(j->a, doc);
    value_object_set(j->a, out, p->tok[i], changed);
    return out;
  }
  value *out = value_clone(j->a, doc);
  out->u.list.items[strtol(p->tok[i], NULL, 10)] = changed;
  return out;
}

static value *at_path(jp *j, const value *doc, const pointer *p, const value *put, bool insert) {
  if (p->n == 0) return put ? tagged(j, put, doc) : fail(j, "cannot remove the whole document");
  return change(j, doc, p, 0, put, insert);
}

static const value *member(jp *j, const char *name) {
  const value *v = value_object_get(j->op, name);
  return v ? v : fail(j, "a \"%s\" operation needs \"%s\"", j->opname, name);
}

static const value *pointer_member(jp *j, const char *name, pointer *p) {
  const value *v = member(j, name);
  if (v && v->kind != V_STRING) return fail(j, "\"%s\" must be a string, got %s", name, value_kind_name(v->kind));
  return v && parse_pointer(j, v->u.str.s, p) ? v : NULL;
}

static bool op_kind_of(jp *j, op_kind *k) {
  static const char *const names[] = {"add", "remove", "replace", "move", "copy", "test"};
  const value *op = j->op->kind == V_OBJECT ? value_object_get(j->op, "op") : NULL;
  if (!op || op->kind != V_STRING) {
    fail(j, "a JSON patch operation is an object with a string \"op\"");
    return false;
  }
  j->opname = op->u.str.s;
  for (int i = 0; i < 6; i++)
    if (strcmp(op->u.str.s, names[i]) == 0) return *k = (op_kind)i, true;
  fail(j, "unknown operation \"%s\"; expected add, remove, replace, move, copy or test", op->u.str.s);
  return false;
}

static bool is_prefix(const pointer *from, const pointer *to) {
  if (from->n >= to->n) return false;
  for (size_t i = 0; i < from->n; i++)
    if (strcmp(from->tok[i], to->tok[i])) return false;
  return true;
}

value *jsonpatch_apply(arena *a, diag_list *d, const value *doc, const value *op, const char *via) {
  jp j = {a, d, op, via, ""};
  op_kind k;
  pointer path, from;
  if (!op_kind_of(&j, &k) || !pointer_member(&j, "path", &path)) return NULL;
  if (k == OP_MOVE || k == OP_COPY) {
    const value *moved = pointer_member(&j, "from", &from) ? get(&j, doc, &from) : NULL;
    if (!moved) return NULL;
    if (k == OP_MOVE && is_prefix(&from, &path))
      return fail(&j, "cannot move \"%s\" into itself (to \"%s\")", from.text, path.text);
    /* A copy shares its parts with its source: neither may change in
     * place from now on (value.h, owned). */
    if (k == OP_COPY) value_disown((value *)moved);
    value *rest = k == OP_MOVE ? at_path(&j, doc, &from, NULL, false) : (value *)doc;
    return rest ? at_path(&j, rest, &path, moved, true) : NULL;
  }
  if (k == OP_REMOVE) return at_path(&j, doc, &path, NULL, false);
  const value *v = member(&j, "value");
  if (!v) return NULL;
  if (k != OP_TEST) return at_path(&j, doc, &path, v, k == OP_ADD);
  const value *have = get(&j, doc, &path);
  if (!have) return NULL;
  if (!value_equal(have, v)) {
    buf x = {0}, y = {0};
    emit_json(&x, have, false, false);
    emit_json(&y, v, false, false);
    fail(&j, "test failed: %s is %s, not %s", path.text, x.data, y.data);
    buf_free(&x);
    buf_free(&y);
    return NULL;
  }
  return (value *)doc;
}
