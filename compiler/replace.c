/* replace.c: replacements (see replace.h).
 *
 * As Kustomize's replacement filter: the source must be exactly one
 * resource; a target field that is missing is an error unless `create`
 * makes it; a scalar target keeps its type where the copied text allows
 * (an int field given "3" stays an int, a string given 3 becomes "3");
 * `delimiter` and `index` pick a part of the source's text, or put the
 * value in a part of the target's. */
#include "replace.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fieldspec.h"
#include "selector.h"
#include "suggest.h"

/* ---- the setting's shape ------------------------------------------------- */

static bool fail_at(eval *ev, const value *v, const char *what, const char *want) {
  eval_fail(ev, v->at, "replacements: %s must be %s, got %s", what, want, value_a(v->kind));
  return false;
}

/* obj's fields are among keys[0..n) and strings, but for those of
 * kinds[] (NULL: every one a string). */
static bool fields_ok(eval *ev, const value *obj, const char *what, const char *const *keys, size_t n,
                      const value_kind *kinds) {
  if (obj->kind != V_OBJECT) return fail_at(ev, obj, what, "an object");
  for (size_t i = 0; i < obj->u.obj.len; i++) {
    const field *f = &obj->u.obj.fields[i];
    size_t k = 0;
    while (k < n && strcmp(keys[k], f->key)) k++;
    if (k == n) {
      const char *near = nearest_word(f->key, keys, n);
      eval_fail(ev, f->val->at, "replacements: %s has no field \"%s\"%s%s%s", what, f->key, near ? "; did you mean \"" : "",
                near ? near : "", near ? "\"?" : "");
      return false;
    }
    value_kind want = kinds ? kinds[k] : V_STRING;
    if (f->val->kind != want) return fail_at(ev, f->val, f->key, value_a(want));
  }
  return true;
}

static const char *const source_keys[] = {"group", "version", "kind", "name", "namespace", "field", "delimiter", "index"};
static const value_kind source_kinds[] = {V_STRING, V_STRING, V_STRING, V_STRING, V_STRING, V_STRING, V_STRING, V_INT};
static const char *const select_keys[] = {"group", "version", "kind", "name", "namespace", "labels", "annotations"};
static const char *const target_keys[] = {"select", "reject", "fields", "delimiter", "index", "create"};
static const value_kind target_kinds[] = {V_OBJECT, V_LIST, V_LIST, V_STRING, V_INT, V_BOOL};

static bool target_ok(eval *ev, const value *t) {
  if (!fields_ok(ev, t, "a target", target_keys, 6, target_kinds)) return false;
  const value *sel = value_object_get(t, "select"), *rej = value_object_get(t, "reject");
  const value *fs = value_object_get(t, "fields");
  if (!sel) {
    eval_fail(ev, t->at, "replacements: a target needs select: the resources it sets");
    return false;
  }
  if (!fields_ok(ev, sel, "select", select_keys, 7, NULL)) return false;
  for (size_t i = 0; rej && i < rej->u.list.len; i++)
    if (!fields_ok(ev, rej->u.list.items[i], "a reject entry", select_keys, 7, NULL)) return false;
  for (size_t i = 0; fs && i < fs->u.list.len; i++)
    if (fs->u.list.items[i]->kind != V_STRING) return fail_at(ev, fs->u.list.items[i], "fields[]", "a string");
  const value *delim = value_object_get(t, "delimiter");
  if (delim && !delim->u.str.len) return fail_at(ev, delim, "delimiter", "a non-empty string");
  return true;
}

bool replace_check(eval *ev, const value *list) {
  static const char *const keys[] = {"source", "targets"};
  static const value_kind kinds[] = {V_OBJECT, V_LIST};
  for (size_t i = 0; i < list->u.list.len; i++) {
    const value *r = list->u.list.items[i];
    if (!fields_ok(ev, r, "a replacement", keys, 2, kinds)) return false;
    const value *src = value_object_get(r, "source"), *targets = value_object_get(r, "targets");
    if (!src || !targets) {
      eval_fail(ev, r->at, "replacements: a replacement needs a source and targets");
      return false;
    }
    if (!fields_ok(ev, src, "source", source_keys, 8, source_kinds)) return false;
    const value *delim = value_object_get(src, "delimiter");
    if (delim && !delim->u.str.len) return fail_at(ev, delim, "delimiter", "a non-empty string");
    for (size_t t = 0; t < targets->u.list.len; t++)
      if (!target_ok(ev, targets->u.list.items[t])) return false;
  }
  return true;
}

/* ---- which resources ------------------------------------------------------ */

typedef struct {
  eval *ev;
  arena *a;
  const char *via;
  compile_resource *res;
  const resource_past *past;
  size_t n;
} rctx;

static bool same(const char *want, const char *have) { return !want || (have && strcmp(want, have) == 0); }

static bool id_matches(const value *sel, const resource_id *id) {
  return same(value_get_string(sel, "kind"), id->kind) && same(value_get_string(sel, "name"), id->name) &&
         same(value_get_string(sel, "namespace"), id->ns);
}

/* Whether resource i is what sel picks: by its group and version, and by
 * who it is or was (nameref.h). */
static bool picked(const rctx *c, const value *sel, size_t i) {
  const value *r = c->res[i].obj;
  if (!fieldspec_api_matches(sel, r)) return false;
  resource_id now = {value_get_string(r, "kind"), value_get_string(r, "metadata.namespace"),
                     value_get_string(r, "metadata.name")};
  if (id_matches(sel, &now)) return true;
  for (size_t k = 0; c->past && k < c->past[i].n; k++)
    if (id_matches(sel, &c->past[i].ids[k])) return true;
  return false;
}

static bool selected_by(const rctx *c, const value *sel, const char *key, const char *path, const value *r) {
  const value *text = value_object_get(sel, key);
  if (!text) return true;
  const char *err;
  selector *s = selector_parse(c->a, text->u.str.s, &err);
  if (!s) {
    eval_fail(c->ev, text->at, "replacements: invalid selector in %s: %s", key, err);
    return false;
  }
  return selector_match(s, value_get_path(r, path));
}

/* Whether sel picks resource i, its label and annotation selectors too. */
static bool selects(const rctx *c, const value *sel, size_t i) {
  const value *r = c->res[i].obj;
  return picked(c, sel, i) && selected_by(c, sel, "labels", "metadata.labels", r) &&
         selected_by(c, sel, "annotations", "metadata.annotations", r);
}

static bool is_target(const rctx *c, const value *t, size_t i) {
  const value *rej = value_object_get(t, "reject");
  if (!selects(c, value_object_get(t, "select"), i)) return false;
  for (size_t k = 0; rej && k < rej->u.list.len; k++)
    if (selects(c, rej->u.list.items[k], i)) return false;
  return true;
}

/* ---- field paths ----------------------------------------------------------- */

/* A path split at its dots, but not at those inside [KEY=VALUE]. */
typedef struct {
  const char **segs;
  size_t n;
} path;

static path split(arena *a, const char *s) {
  path p = {arena_alloc(a, (strlen(s) + 2) * sizeof *p.segs), 0};
  for (const char *start = s;;) {
    const char *e = start;
    int depth = 0;
    while (*e && (*e != '.' || depth)) depth += *e == '[' ? 1 : *e == ']' ? -1 : 0, e++;
    p.segs[p.n++] = arena_strndup(a, start, (size_t)(e - start));
    if (!*e) return p;
    start = e + 1;
  }
}

/* Whether list item `item` is one segment `seg` picks at index i. */
static bool item_picked(const char *seg, const value *item, size_t i) {
  if (strcmp(seg, "*") == 0) return true;
  if (seg[0] == '[') {
    const char *eq = strchr(seg, '='), *end = strrchr(seg, ']');
    if (!eq || !end || end < eq || item->kind != V_OBJECT) return false;
    const value *v = value_object_getn(item, seg + 1, (size_t)(eq - seg - 1));
    return v && v->kind == V_STRING && v->u.str.len == (size_t)(end - eq - 1) && memcmp(v->u.str.s, eq + 1, v->u.str.len) == 0;
  }
  char *end;
  unsigned long idx = strtoul(seg, &end, 10);
  return *seg && !*end && idx == i;
}

/* The first value the path reaches from v, or NULL. */
static const value *get(const value *v, const path *p, size_t at) {
  if (!v || at == p->n) return v;
  const char *seg = p->segs[at];
  if (v->kind == V_OBJECT) return get(value_object_get(v, seg), p, at + 1);
  for (size_t i = 0; v->kind == V_LIST && i < v->u.list.len; i++)
    if (item_picked(seg, v->u.list.items[i], i)) return get(v->u.list.items[i], p, at + 1);
  return NULL;
}

/* ---- values ---------------------------------------------------------------- */

/* A scalar but null as the text Kustomize copies; NULL for the others. */
static const char *text_of(arena *a, const value *v) {
  if (v->kind == V_STRING) return v->u.str.s;
  buf b = {0};
  bool scalar = v->kind != V_NULL && value_put_text(&b, v);
  const char *text = scalar ? arena_strndup(a, b.data, b.len) : NULL;
  buf_free(&b);
  return text;
}

/* text as a value of the kind `like` has, where it reads as one. */
static value *typed_as(arena *a, pos at, const char *text, const value *like) {
  char *end;
  if (like->kind == V_INT) {
    long long i = strtoll(text, &end, 10);
    if (*text && !*end) return value_int(a, at, i);
  }
  if (like->kind == V_BOOL && (!strcmp(text, "true") || !strcmp(text, "false"))) return value_bool(a, at, text[0] == 't');
  return value_cstring(a, at, text);
}

/* text split at delim (as Go's strings.Split splits it), with part index
 * replaced by part, or part put before the first or after the last when
 * index is past an end. */
static const char *with_part(arena *a, const char *text, const char *delim, int64_t index, const char *part) {
  size_t n = 1, dl = strlen(delim);
  for (const char *s = text; (s = strstr(s, delim)); s += dl) n++;
  buf b = {0};
  if (index < 0) buf_printf(&b, "%s%s", part, delim);
  const char *s = text;
  for (size_t i = 0; i < n; i++) {
    const char *d = i + 1 < n ? strstr(s, delim) : NULL;
    if (i) buf_puts(&b, delim);
    if ((int64_t)i == index) buf_puts(&b, part);
    else buf_put(&b, s, d ? (size_t)(d - s) : strlen(s));
    if (d) s = d + dl;
  }
  if (index >= (int64_t)n) buf_printf(&b, "%s%s", delim, part);
  char *out = arena_strdup(a, b.data ? b.data : "");
  buf_free(&b);
  return out;
}

/* Part index of text split at delim, or NULL when there is none. */
static const char *part_of(arena *a, const char *text, const char *delim, int64_t index) {
  const char *s = text;
  for (int64_t i = 0; index >= 0; i++) {
    const char *d = strstr(s, delim);
    if (i == index) return arena_strndup(a, s, d ? (size_t)(d - s) : strlen(s));
    if (!d) return NULL;
    s = d + strlen(delim);
  }
  return NULL;
}

/* ---- setting targets --------------------------------------------------------- */

typedef struct {
  rctx *c;
  const value *source, *target; /* the value copied; the target entry */
  path p;
  bool create;
  size_t hits;
  bool failed;
} putting;

static value *replaced(putting *w, value *old) {
  arena *a = w->c->a;
  const value *delim = value_object_get(w->target, "delimiter"), *index = value_object_get(w->target, "index");
  value *now;
  if (delim) {
    if (!old || old->kind != V_STRING) {
      eval_fail(w->c->ev, delim->at, "replacements: delimiter can only be used on a string field");
      w->failed = true;
      return NULL;
    }
    const char *part = text_of(a, w->source);
    now = value_cstring(a, w->source->at, with_part(a, old->u.str.s, delim->u.str.s, index ? index->u.i : 0, part ? part : ""));
  } else if (old && old->kind != V_OBJECT && old->kind != V_LIST && old->kind != V_NULL && text_of(a, w->source)) {
    now = typed_as(a, w->source->at, text_of(a, w->source), old);
  } else {
    now = value_clone(a, w->source);
  }
  now->via = w->c->via;
  now->prev = old;
  w->hits++;
  return now;
}

/* Below, NULL means nothing changed; anything else stands for v, owned. */
static value *put(putting *w, value *v, size_t at) {
  arena *a = w->c->a;
  const char *seg = w->p.segs[at];
  bool last = at + 1 == w->p.n;
  if (v->kind == V_LIST) {
    value *out = NULL;
    for (size_t i = 0; i < v->u.list.len; i++) {
      value *item = v->u.list.items[i];
      if (!item_picked(seg, item, i)) continue;
      uint32_t was = item->size;
      value *now = last ? replaced(w, item) : put(w, item, at + 1);
      if (!now) continue;
      if (!out) out = value_own(a, v);
      if (now == item) value_part_changed(out, now, was);
      else value_list_set(out, i, now);
    }
    return out;
  }
  if (v->kind != V_OBJECT) return NULL;
  value *old = value_object_get(v, seg);
  if (!old && !w->create) return NULL;
  uint32_t was = old ? old->size : 0;
  value *now;
  if (last) now = replaced(w, old);
  else {
    value *inner = old;
    if (!inner) {
      inner = value_object(a, v->at);
      inner->owned = true;
    }
    now = put(w, inner, at + 1);
  }
  if (!now) return NULL;
  value *out = value_own(a, v);
  if (now == old) value_part_changed(out, now, was);
  else value_object_set(a, out, arena_strdup(a, seg), now);
  return out;
}

/* ---- one replacement ------------------------------------------------------------ */

static const value *source_value(rctx *c, const value *src) {
  size_t found = 0, at = 0;
  for (size_t i = 0; i < c->n; i++)
    if (c->res[i].obj && picked(c, src, i)) found++, at = i;
  if (found != 1) {
    eval_fail(c->ev, src->at, "replacements: %s resource matches this source", found ? "more than one" : "no");
    return NULL;
  }
  const value *field = value_object_get(src, "field");
  const char *fp = field ? field->u.str.s : "metadata.name";
  path p = split(c->a, fp);
  const value *v = get(c->res[at].obj, &p, 0);
  if (!v) {
    eval_fail(c->ev, (field ? field : src)->at, "replacements: the source has no field %s", fp);
    return NULL;
  }
  const value *delim = value_object_get(src, "delimiter"), *index = value_object_get(src, "index");
  if (!delim) return v;
  const char *text = text_of(c->a, v), *part = text ? part_of(c->a, text, delim->u.str.s, index ? index->u.i : 0) : NULL;
  if (!part) {
    eval_fail(c->ev, delim->at, "replacements: the source's %s has no part %" PRId64 " split at \"%s\"", fp,
              index ? index->u.i : 0, delim->u.str.s);
    return NULL;
  }
  return value_cstring(c->a, v->at, part);
}

static void set_target(rctx *c, const value *source, const value *t) {
  const value *fields = value_object_get(t, "fields"), *create = value_object_get(t, "create");
  size_t nf = fields ? fields->u.list.len : 1;
  for (size_t f = 0; f < nf; f++) {
    const value *fv = fields ? fields->u.list.items[f] : NULL;
    putting w = {c, source, t, split(c->a, fv ? fv->u.str.s : "metadata.name"), create && create->u.b, 0, false};
    for (size_t i = 0; i < c->n && !w.failed; i++) {
      if (!c->res[i].obj || !is_target(c, t, i)) continue;
      size_t before = w.hits;
      value *now = put(&w, c->res[i].obj, 0);
      if (now) c->res[i].obj = now;
      if (w.hits == before && !w.failed) {
        eval_fail(c->ev, (fv ? fv : t)->at, "replacements: %s \"%s\" has no field %s%s", value_get_string(c->res[i].obj, "kind"),
                  value_get_string(c->res[i].obj, "metadata.name"), fv ? fv->u.str.s : "metadata.name",
                  w.create ? "" : " (create: true makes it)");
        return;
      }
    }
  }
}

void replace_apply(eval *ev, const char *via, const value *list, compile_resource *res, const resource_past *past,
                   size_t n) {
  rctx c = {ev, eval_arena(ev), via, res, past, n};
  for (size_t i = 0; list && i < list->u.list.len; i++) {
    const value *r = list->u.list.items[i], *targets = value_object_get(r, "targets");
    const value *source = source_value(&c, value_object_get(r, "source"));
    for (size_t t = 0; source && t < targets->u.list.len; t++) set_target(&c, source, targets->u.list.items[t]);
  }
}
