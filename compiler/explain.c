/* explain.c: provenance of resource fields, read from value origins, and
 * for a chart's fields the values that fed them (helmvalues.h). */
#include "plumb/explain.h"

#include <stdlib.h>
#include <string.h>

#include "helmvalues.h"
#include "merge.h"
#include "plumb/emit.h"

/* `via` is the value's own tag or, for a value inside an object or list that
 * a patch or env setting brought in whole, that container's tag. */
static void origin(buf *out, const value *v, const char *via) {
  if (v->at.file)
    buf_printf(out, "%s:%d:%d", v->at.file, v->at.line, v->at.col);
  else
    buf_puts(out, "(built in)");
  if (v->via || via) buf_printf(out, " (%s)", v->via ? v->via : via);
}

/* A decrypted value is never shown: its file is named instead, or for a
 * chart's field that holds one, the chart's tag says where it was. */
static void scalar(buf *out, const value *v) {
  if (v->secret && v->at.file && strstr(v->at.file, " (release "))
    buf_puts(out, "(rendered from decrypted values)");
  else if (v->secret)
    buf_printf(out, "(decrypted from %s)", v->at.file);
  if (v->secret) return;
  buf json = {0};
  emit_json(&json, v, false, false);
  buf_puts(out, json.data);
  buf_free(&json);
}

static void shape(buf *out, const value *v) {
  if (v->kind == V_OBJECT && v->u.obj.len)
    buf_puts(out, "{...}");
  else if (v->kind == V_LIST && v->u.list.len)
    buf_puts(out, "[...]");
  else
    scalar(out, v);
}

/* The value v replaced: its `prev`, past the records of removed fields. */
static const value *overrode(const value *v) {
  const value *p = v->prev;
  while (p && merge_is_removal(p)) p = p->prev;
  return p;
}

static void leaf(buf *out, const compile_result *r, const char *path, const value *v, const char *via) {
  buf_printf(out, "%s = ", path);
  shape(out, v);
  buf_puts(out, "\n    set by   ");
  origin(out, v, via);
  buf_putc(out, '\n');
  if (r && r->charts) helmvalues_explain(out, r->charts, r->diags.sources, v);
  for (const value *p = overrode(v); p; p = overrode(p)) {
    buf_puts(out, "    overrode ");
    shape(out, p);
    buf_puts(out, " from ");
    origin(out, p, NULL);
    buf_putc(out, '\n');
  }
}

void explain_path_key(buf *path, const char *key) {
  if (*key && !key[strcspn(key, ".[]\"\\ ")]) {
    buf_printf(path, "%s%s", path->len ? "." : "", key);
    return;
  }
  buf_puts(path, "[\"");
  for (const char *c = key; *c; c++) {
    if (*c == '"' || *c == '\\') buf_putc(path, '\\');
    buf_putc(path, *c);
  }
  buf_puts(path, "\"]");
}

static void walk(buf *out, const compile_result *r, buf *path, const value *v, const char *via) {
  size_t mark = path->len;
  if (v->via) via = v->via;
  bool whole = (v->kind == V_OBJECT && v->u.obj.len) || (v->kind == V_LIST && v->u.list.len);
  /* A list or object that replaced another one is reported as a whole, so
   * the lines it overrode are not lost among its leaves. */
  if (whole && overrode(v)) leaf(out, r, path->data ? path->data : "", v, via);
  if (v->kind == V_OBJECT && v->u.obj.len) {
    const char **keys = value_sorted_keys(v);
    for (size_t i = 0; i < v->u.obj.len; i++) {
      explain_path_key(path, keys[i]);
      walk(out, r, path, value_object_get(v, keys[i]), via);
      path->len = mark;
      path->data[mark] = '\0';
    }
    free(keys);
    return;
  }
  if (v->kind == V_LIST && v->u.list.len) {
    for (size_t i = 0; i < v->u.list.len; i++) {
      buf_printf(path, "[%zu]", i);
      walk(out, r, path, v->u.list.items[i], via);
      path->len = mark;
      path->data[mark] = '\0';
    }
    return;
  }
  leaf(out, r, path->data, v, via);
}

/* One step of a FIELD path into key, or into *index for `[N]`: a plain key
 * ends at '.' or '['; `["..."]` quotes one, with \" and \\ escaped.
 * Returns the rest of the path, NULL when it is malformed. */
static const char *path_step(const char *p, buf *key, long *index) {
  key->len = 0;
  *index = -1;
  if (p[0] == '[' && p[1] == '"') {
    for (p += 2; *p && *p != '"'; p++) {
      if (*p == '\\' && p[1]) p++;
      buf_putc(key, *p);
    }
    return p[0] == '"' && p[1] == ']' ? p + 2 : NULL;
  }
  if (p[0] == '[') {
    char *end;
    *index = strtol(p + 1, &end, 10);
    return *end == ']' && end > p + 1 && *index >= 0 ? end + 1 : NULL;
  }
  size_t n = strcspn(p, ".[");
  buf_put(key, p, n);
  return p + n;
}

/* The value at path, or NULL; when a key is missing from an object, *parent
 * is that object and key holds the key. */
static const value *find(const value *v, const char *path, buf *key, const value **parent) {
  for (const char *p = path; v && p && *p;) {
    if (*p == '.') {
      p++;
      continue;
    }
    long index;
    p = path_step(p, key, &index);
    *parent = NULL;
    if (!p) return NULL;
    if (index >= 0) {
      v = v->kind == V_LIST && (size_t)index < v->u.list.len ? v->u.list.items[index] : NULL;
      continue;
    }
    *parent = v->kind == V_OBJECT ? v : NULL;
    v = *parent ? value_object_getn(v, key->data ? key->data : "", key->len) : NULL;
  }
  return v;
}

/* Why obj has no key: the `delete` that removed it, if one did; or a key
 * of obj that starts with it and a dot, which the path cut at the dot. */
static void why_missing(buf *out, const value *obj, const buf *key) {
  const char *k = key->data ? key->data : "";
  for (size_t i = 0; i < obj->u.obj.len; i++) {
    const char *has = obj->u.obj.fields[i].key;
    if (strncmp(has, k, key->len) == 0 && has[key->len] == '.') {
      buf_puts(out, ": a key holding dots is quoted, as ");
      buf path = {0};
      explain_path_key(&path, has);
      buf_put(out, path.data, path.len);
      buf_free(&path);
      return;
    }
  }
  for (const value *r = obj->prev; r; r = r->prev) {
    if (!merge_is_removal(r) || strcmp(r->u.obj.fields[0].key, k) != 0) continue;
    const value *old = r->u.obj.fields[0].val;
    buf_printf(out, ": deleted by the delete at %s:%d:%d", r->at.file, r->at.line, r->at.col);
    buf_puts(out, ", which removed ");
    shape(out, old);
    buf_puts(out, " set by ");
    origin(out, old, NULL);
    return;
  }
}

int explain_resource(buf *out, const compile_result *r, const value *res, const char *field) {
  buf key = {0};
  const value *parent = NULL;
  const value *v = field && *field ? find(res, field, &key, &parent) : res;
  if (!v && parent) why_missing(out, parent, &key);
  buf_free(&key);
  if (!v) return -1;
  buf path = {0};
  buf_puts(&path, field ? field : "");
  walk(out, r, &path, v, NULL);
  buf_free(&path);
  return 0;
}
