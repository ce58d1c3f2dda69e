/* wire.c: a compile result as bytes, and back (see compile.h).
 *
 * The bytes: "PLW1", the env, the diagnostics (errors counted, the limit
 * on those recorded, each one's severity, position and message), the
 * sources, the resources (app, value) and compile_eval's value. Numbers
 * are LEB128 varints. A string meant as a name (a file, an app, a key, a
 * message) is 0 for NULL, 1 and its bytes the first time, n + 2 to repeat
 * the n-th; a value is 0 and its content the first time, n + 1 to repeat
 * the n-th, numbered once complete, so that a reference can only name a
 * value read before: no cycle can be built. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/compile.h"
#include "ptrmap.h"
#include "save.h"

static const char MAGIC[4] = "PLW1";

/* FLAG_SECRET: decrypted (value.h): the runtime's messages, made in the
 * parent from what the child compiled, must not quote it either. */
enum { FLAG_NAME_HASH = 1, FLAG_LITERAL = 2, FLAG_SECRET = 4 };

/* ---- writing -------------------------------------------------------------- */

typedef struct {
  buf *out;
  ptrmap names, values; /* address -> number + 1 */
  size_t nnames, nvalues;
} writer;

static void put_u(buf *b, uint64_t u) {
  char bytes[10];
  size_t n = 0;
  do {
    bytes[n++] = (char)((u & 0x7f) | (u > 0x7f ? 0x80 : 0));
    u >>= 7;
  } while (u);
  buf_put(b, bytes, n);
}

static void put_bytes(buf *b, const char *s, size_t n) {
  put_u(b, n);
  buf_put(b, s, n);
}

static void put_name(writer *w, const char *s) {
  uintptr_t seen = s ? (uintptr_t)ptrmap_get(&w->names, s) : 0;
  if (!s || seen) {
    put_u(w->out, s ? seen + 1 : 0);
    return;
  }
  put_u(w->out, 1);
  put_bytes(w->out, s, strlen(s));
  ptrmap_put(&w->names, s, (void *)(uintptr_t)++w->nnames);
}

static void put_pos(writer *w, pos at) {
  put_name(w, at.file);
  put_u(w->out, (uint64_t)(at.line > 0 ? at.line : 0));
  put_u(w->out, (uint64_t)(at.col > 0 ? at.col : 0));
}

static void put_value(writer *w, const value *v) {
  uintptr_t seen = (uintptr_t)ptrmap_get(&w->values, v);
  put_u(w->out, seen);
  if (seen) return;
  put_u(w->out, v->kind);
  put_u(w->out,
        (v->name_hash ? FLAG_NAME_HASH : 0) | (v->literal ? FLAG_LITERAL : 0) | (v->secret ? FLAG_SECRET : 0));
  put_pos(w, v->at);
  switch (v->kind) {
  case V_BOOL: put_u(w->out, v->u.b); break;
  case V_INT: put_u(w->out, (uint64_t)v->u.i); break;
  case V_FLOAT: buf_put(w->out, (const char *)&v->u.f, sizeof v->u.f); break;
  case V_STRING: put_bytes(w->out, v->u.str.s, v->u.str.len); break;
  case V_LIST:
    put_u(w->out, v->u.list.len);
    for (size_t i = 0; i < v->u.list.len; i++) put_value(w, v->u.list.items[i]);
    break;
  case V_OBJECT:
    put_u(w->out, v->u.obj.len);
    for (size_t i = 0; i < v->u.obj.len; i++) {
      put_name(w, v->u.obj.fields[i].key);
      put_value(w, v->u.obj.fields[i].val);
    }
    break;
  default: break; /* null; a function, which the reader refuses */
  }
  ptrmap_put(&w->values, v, (void *)(uintptr_t)++w->nvalues);
}

static void put_diags(writer *w, const diag_list *d) {
  put_u(w->out, (uint64_t)d->errors);
  put_u(w->out, (uint64_t)d->max_errors);
  size_t n = 0;
  for (const diag *g = d->first; g; g = g->next) n++;
  put_u(w->out, n);
  for (const diag *g = d->first; g; g = g->next) {
    put_u(w->out, g->severity);
    put_pos(w, g->at);
    put_name(w, g->msg);
  }
  n = 0;
  for (const source *s = d->sources; s; s = s->next) n++;
  put_u(w->out, n);
  for (const source *s = d->sources; s; s = s->next) {
    put_name(w, s->name);
    put_bytes(w->out, s->text, s->len);
  }
}

void compile_result_encode(const compile_result *r, buf *out) {
  writer w = {.out = out};
  buf_put(out, MAGIC, sizeof MAGIC);
  put_name(&w, r->env);
  put_diags(&w, &r->diags);
  put_u(out, r->nres);
  for (size_t i = 0; i < r->nres; i++) {
    put_name(&w, r->res[i].app);
    put_u(out, r->res[i].unchecked);
    put_value(&w, r->res[i].obj);
  }
  put_u(out, r->value != NULL);
  if (r->value) put_value(&w, r->value);
  ptrmap_free(&w.names);
  ptrmap_free(&w.values);
}

int compile_result_write(int fd, const compile_result *r) {
  buf b = {0};
  compile_result_encode(r, &b);
  bool whole = save_write(fd, b.data, b.len);
  buf_free(&b);
  return whole ? 0 : -1;
}

/* ---- reading ---------------------------------------------------------------- */

typedef struct {
  const unsigned char *p, *end;
  arena *a;
  const char **names;
  value **values;
  size_t nnames, capnames, nvalues, capvalues;
  int depth;
  const char *why; /* the first failure */
} reader;

static bool fail(reader *r, const char *why) {
  if (!r->why) r->why = why;
  r->p = r->end;
  return false;
}

static bool get_u(reader *r, uint64_t *u) {
  *u = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (r->p == r->end) return fail(r, "truncated");
    unsigned char c = *r->p++;
    if (shift == 63 && c > 1) break;
    *u |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return true;
  }
  return fail(r, "a number too large");
}

/* A count of things each at least a byte long: no more than the bytes left. */
static bool get_count(reader *r, size_t *n) {
  uint64_t u;
  if (!get_u(r, &u)) return false;
  if (u > (uint64_t)(r->end - r->p)) return fail(r, "a count larger than the bytes left");
  *n = (size_t)u;
  return true;
}

static bool get_small(reader *r, uint64_t max, uint64_t *u) {
  return get_u(r, u) && (*u <= max || fail(r, "a number out of range"));
}

static bool get_int(reader *r, int *i) {
  uint64_t u;
  if (!get_small(r, INT_MAX, &u)) return false;
  *i = (int)u;
  return true;
}

static bool get_bytes(reader *r, const char **s, size_t *n) {
  if (!get_count(r, n)) return false;
  *s = arena_strndup(r->a, (const char *)r->p, *n);
  r->p += *n;
  return true;
}

/* Room for one more of an array of size-byte items. */
static void *room(void *items, size_t n, size_t *cap, size_t size) {
  if (n < *cap) return items;
  *cap = *cap ? 2 * *cap : 256;
  items = heap_realloc(items, *cap * size);
  return items;
}

static bool get_name(reader *r, const char **s) {
  uint64_t tag;
  size_t n;
  if (!get_u(r, &tag)) return false;
  if (tag == 0 || tag >= 2) {
    if (tag > r->nnames + 1) return fail(r, "a reference to a string not read");
    *s = tag ? r->names[tag - 2] : NULL;
    return true;
  }
  if (!get_bytes(r, s, &n)) return false;
  if (memchr(*s, '\0', n)) return fail(r, "a name holding a NUL byte");
  r->names = room(r->names, r->nnames, &r->capnames, sizeof *r->names);
  r->names[r->nnames++] = *s;
  return true;
}

static bool get_pos(reader *r, pos *at) {
  return get_name(r, &at->file) && get_int(r, &at->line) && get_int(r, &at->col);
}

static bool get_value(reader *r, value **v);

static bool get_items(reader *r, value *list) {
  size_t n;
  if (!get_count(r, &n)) return false;
  value_reserve(r->a, list, n);
  for (size_t i = 0; i < n; i++) {
    value *item;
    if (!get_value(r, &item)) return false;
    value_list_push(r->a, list, item);
  }
  return true;
}

static bool get_fields(reader *r, value *obj) {
  size_t n;
  if (!get_count(r, &n)) return false;
  value_reserve(r->a, obj, n);
  for (size_t i = 0; i < n; i++) {
    const char *key;
    value *val;
    if (!get_name(r, &key) || !get_value(r, &val)) return false;
    if (!key) return fail(r, "a field without a key");
    if (!value_object_add(r->a, obj, key, val)) return fail(r, "an object with a key twice");
  }
  return true;
}

/* Made with value.h's constructors, as the compile made it: they keep
 * what a value knows of itself beside its content. */
static bool get_content(reader *r, value_kind kind, pos at, value **v) {
  uint64_t u;
  size_t n;
  double f;
  switch (kind) {
  case V_NULL: *v = value_null(r->a, at); return true;
  case V_BOOL:
    if (!get_small(r, 1, &u)) return false;
    *v = value_bool(r->a, at, u);
    return true;
  case V_INT:
    if (!get_u(r, &u)) return false;
    *v = value_int(r->a, at, (int64_t)u);
    return true;
  case V_FLOAT:
    if ((size_t)(r->end - r->p) < sizeof f) return fail(r, "truncated");
    memcpy(&f, r->p, sizeof f);
    r->p += sizeof f;
    *v = value_float(r->a, at, f);
    return true;
  case V_STRING:
    if (!get_count(r, &n)) return false;
    *v = value_string(r->a, at, (const char *)r->p, n);
    r->p += n;
    return true;
  case V_LIST: return get_items(r, *v = value_list(r->a, at));
  case V_OBJECT: return get_fields(r, *v = value_object(r->a, at));
  default: return fail(r, "a value of no known kind");
  }
}

static bool get_new_value(reader *r, value **v) {
  uint64_t kind, flags;
  pos at;
  if (++r->depth > COMPILE_WIRE_MAX_DEPTH) return fail(r, "values nested too deeply");
  if (!get_small(r, V_OBJECT, &kind) || !get_small(r, FLAG_NAME_HASH | FLAG_LITERAL | FLAG_SECRET, &flags) ||
      !get_pos(r, &at) || !get_content(r, (value_kind)kind, at, v))
    return false;
  (*v)->name_hash = flags & FLAG_NAME_HASH;
  (*v)->literal = flags & FLAG_LITERAL;
  (*v)->secret = flags & FLAG_SECRET;
  r->depth--;
  r->values = room(r->values, r->nvalues, &r->capvalues, sizeof *r->values);
  r->values[r->nvalues++] = *v;
  return true;
}

static bool get_value(reader *r, value **v) {
  uint64_t tag;
  if (!get_u(r, &tag)) return false;
  if (tag == 0) return get_new_value(r, v);
  if (tag > r->nvalues) return fail(r, "a reference to a value not read");
  *v = r->values[tag - 1];
  return true;
}

static bool get_diag(reader *r, diag_list *d) {
  uint64_t severity;
  diag *g = arena_alloc(r->a, sizeof *g);
  if (!get_small(r, DIAG_WARNING, &severity) || !get_pos(r, &g->at) || !get_name(r, &g->msg)) return false;
  if (!g->msg) return fail(r, "a diagnostic without a message");
  g->severity = (diag_severity)severity;
  if (d->last) d->last->next = g;
  else d->first = g;
  d->last = g;
  return true;
}

/* The sources in the order written, each one's text NUL-terminated. */
static bool get_sources(reader *r, diag_list *d) {
  size_t n;
  if (!get_count(r, &n)) return false;
  source **tail = &d->sources;
  for (size_t i = 0; i < n; i++) {
    source *s = arena_alloc(r->a, sizeof *s);
    if (!get_name(r, &s->name) || !get_bytes(r, &s->text, &s->len)) return false;
    if (!s->name) return fail(r, "a source without a name");
    *tail = s;
    tail = &s->next;
  }
  return true;
}

static bool get_diags(reader *r, diag_list *d) {
  size_t n, errors = 0;
  if (!get_int(r, &d->errors) || !get_int(r, &d->max_errors) || !get_count(r, &n)) return false;
  for (size_t i = 0; i < n; i++) {
    if (!get_diag(r, d)) return false;
    errors += d->last->severity == DIAG_ERROR;
  }
  if (errors > (size_t)d->errors) return fail(r, "more errors than counted");
  return get_sources(r, d);
}

static bool get_resources(reader *r, compile_result *res) {
  if (!get_count(r, &res->nres)) return false;
  res->res = arena_alloc(r->a, res->nres * sizeof *res->res);
  for (size_t i = 0; i < res->nres; i++) {
    compile_resource *c = &res->res[i];
    uint64_t unchecked;
    if (!get_name(r, &c->app) || !get_small(r, 1, &unchecked) || !get_value(r, &c->obj)) return false;
    c->unchecked = unchecked;
    if (c->obj->kind != V_OBJECT) return fail(r, "a resource that is not an object");
  }
  return true;
}

static bool get_result(reader *r, compile_result *res) {
  uint64_t has_value;
  if ((size_t)(r->end - r->p) < sizeof MAGIC || memcmp(r->p, MAGIC, sizeof MAGIC) != 0)
    return fail(r, "not a compile result");
  r->p += sizeof MAGIC;
  if (!get_name(r, &res->env) || !get_diags(r, &res->diags) || !get_resources(r, res) ||
      !get_small(r, 1, &has_value) || (has_value && !get_value(r, &res->value)))
    return false;
  return r->p == r->end || fail(r, "bytes after the result");
}

compile_result *compile_result_decode(const void *data, size_t len, const char **why) {
  compile_result *res = heap_calloc(1, sizeof *res);
  const unsigned char *p = data ? data : (const void *)MAGIC; /* NULL + 0 is undefined */
  reader r = {.p = p, .end = p + (data ? len : 0), .a = arena_new()};
  res->arena = r.a;
  diag_init(&res->diags, r.a);
  bool ok = get_result(&r, res);
  free(r.names);
  free(r.values);
  if (ok) return res;
  *why = r.why;
  compile_free(res);
  return NULL;
}
