/* explain.c: provenance of resource fields, read from value origins. */
#include "plumb/explain.h"

#include <stdlib.h>
#include <string.h>

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

static void scalar(buf *out, const value *v) {
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

static void leaf(buf *out, const char *path, const value *v, const char *via) {
  buf_printf(out, "%s = ", path);
  shape(out, v);
  buf_puts(out, "\n    set by   ");
  origin(out, v, via);
  buf_putc(out, '\n');
  for (const value *p = v->prev; p; p = p->prev) {
    buf_puts(out, "    overrode ");
    shape(out, p);
    buf_puts(out, " from ");
    origin(out, p, NULL);
    buf_putc(out, '\n');
  }
}

static void walk(buf *out, buf *path, const value *v, const char *via) {
  size_t mark = path->len;
  if (v->via) via = v->via;
  bool whole = (v->kind == V_OBJECT && v->u.obj.len) || (v->kind == V_LIST && v->u.list.len);
  /* A list or object that replaced another one is reported as a whole, so
   * the lines it overrode are not lost among its leaves. */
  if (whole && v->prev) leaf(out, path->data ? path->data : "", v, via);
  if (v->kind == V_OBJECT && v->u.obj.len) {
    const char **keys = value_sorted_keys(v);
    for (size_t i = 0; i < v->u.obj.len; i++) {
      buf_printf(path, "%s%s", path->len ? "." : "", keys[i]);
      walk(out, path, value_object_get(v, keys[i]), via);
      path->len = mark;
      path->data[mark] = '\0';
    }
    free(keys);
    return;
  }
  if (v->kind == V_LIST && v->u.list.len) {
    for (size_t i = 0; i < v->u.list.len; i++) {
      buf_printf(path, "[%zu]", i);
      walk(out, path, v->u.list.items[i], via);
      path->len = mark;
      path->data[mark] = '\0';
    }
    return;
  }
  leaf(out, path->data, v, via);
}

int explain_resource(buf *out, const value *res, const char *field) {
  const value *v = field && *field ? value_get_path(res, field) : res;
  if (!v) return -1;
  buf path = {0};
  buf_puts(&path, field ? field : "");
  walk(out, &path, v, NULL);
  buf_free(&path);
  return 0;
}
