/* lock.c: plumb.lock, read and written (see lock.h).
 *
 * The file is YAML a person can read in a review:
 *
 *   charts:
 *   - repository: "https://stefanprodan.github.io/podinfo"
 *     chart: "podinfo"
 *     version: "^6.5"
 *     pinned: "6.5.4"
 *     digest: "sha256:0e6c..."
 *
 * Entries are written sorted, every string quoted, so that the same pins
 * are the same bytes and a new pin is a diff of its own lines. */
#include "lock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/emit.h"
#include "plumb/yaml.h"
#include "loader.h"

enum { LOCK_MAX_PINS = 10000 };

static const char *const fields[] = {"repository", "chart", "version", "pinned", "digest"};
enum { NFIELDS = sizeof fields / sizeof *fields };

bool lock_digest_ok(const char *s) {
  if (strncmp(s, "sha256:", 7) != 0) return false;
  s += 7;
  return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static const char **field_of(compile_chart *c, size_t i) {
  const char **slots[NFIELDS] = {&c->repo, &c->chart, &c->version, &c->pinned, &c->digest};
  return slots[i];
}

/* One entry of charts:, every field a string; false after reporting. */
static bool read_pin(diag_list *d, const value *e, compile_chart *c) {
  if (e->kind != V_OBJECT) return diag_error(d, e->at, "plumb.lock: an entry of charts must be an object"), false;
  for (size_t i = 0; i < e->u.obj.len; i++) {
    const field *f = &e->u.obj.fields[i];
    size_t k = 0;
    while (k < NFIELDS && strcmp(f->key, fields[k]) != 0) k++;
    if (k == NFIELDS)
      return diag_error(d, f->val->at,
                        "plumb.lock: unknown field \"%s\"; an entry holds repository, chart, version, pinned and digest",
                        f->key),
             false;
    if (f->val->kind != V_STRING)
      return diag_error(d, f->val->at, "plumb.lock: %s must be a string, got %s", f->key, value_a(f->val->kind)), false;
    *field_of(c, k) = f->val->u.str.s;
  }
  for (size_t k = 0; k < NFIELDS; k++)
    if (!*field_of(c, k)) return diag_error(d, e->at, "plumb.lock: this entry has no %s", fields[k]), false;
  if (!lock_digest_ok(c->digest))
    return diag_error(d, value_object_get(e, "digest")->at,
                      "plumb.lock: digest \"%s\" is no digest: \"sha256:\" and 64 lower-case hex digits",
                      c->digest),
           false;
  return true;
}

/* The entries of a lock's text. */
static int read_text(arena *a, diag_list *d, const char *name, const char *text, size_t len, compile_chart **pins,
                     size_t *n) {
  value *docs;
  if (yaml_read(a, d, name, text, len, &docs) < 0) return -1;
  const value *top = docs->u.list.len ? docs->u.list.items[0] : NULL;
  const value *list = top && top->kind == V_OBJECT ? value_object_get(top, "charts") : NULL;
  if (!top) return 0;
  if (docs->u.list.len > 1 || top->kind != V_OBJECT || top->u.obj.len != 1 || !list || list->kind != V_LIST) {
    diag_error(d, top->at, "plumb.lock must be one object whose one field, charts, is a list");
    return -1;
  }
  if (list->u.list.len > LOCK_MAX_PINS) {
    diag_error(d, list->at, "plumb.lock pins more than %d charts", LOCK_MAX_PINS);
    return -1;
  }
  *pins = arena_alloc(a, (list->u.list.len + 1) * sizeof **pins);
  for (size_t i = 0; i < list->u.list.len; i++) {
    (*pins)[i] = (compile_chart){0};
    if (!read_pin(d, list->u.list.items[i], &(*pins)[i])) return -1;
  }
  *n = list->u.list.len;
  return 0;
}

int lock_read(loader *l, arena *a, diag_list *d, const char *name, compile_chart **pins, size_t *n) {
  const char *text, *err;
  size_t len;
  *pins = NULL, *n = 0;
  if (loader_read(l, name, &text, &len, &err) != 0) return 0;
  diag_add_source(d, name, text, len);
  return read_text(a, d, name, text, len, pins, n);
}

const compile_chart *lock_find(const compile_chart *pins, size_t n, const char *repo, const char *chart,
                               const char *version) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(pins[i].repo, repo) && !strcmp(pins[i].chart, chart) && !strcmp(pins[i].version, version))
      return &pins[i];
  return NULL;
}

/* ---- writing ---------------------------------------------------------------------------- */

static int by_key(const void *pa, const void *pb) {
  const compile_chart *x = pa, *y = pb;
  int c = strcmp(x->repo, y->repo);
  if (!c) c = strcmp(x->chart, y->chart);
  return c ? c : strcmp(x->version, y->version);
}

static void put_string(buf *b, const char *s) {
  value v = {.kind = V_STRING, .u.str = {(char *)s, strlen(s)}};
  emit_json(b, &v, false, false);
}

const char *compile_lock_text(arena *a, const char *old, size_t len, const compile_chart *pins, size_t n,
                              const char **err) {
  diag_list d;
  diag_init(&d, a);
  compile_chart *had = NULL;
  size_t nhad = 0;
  if (old && read_text(a, &d, "plumb.lock", old, len, &had, &nhad) < 0) {
    *err = d.first->msg;
    return NULL;
  }
  compile_chart *all = arena_alloc(a, (nhad + n + 1) * sizeof *all);
  size_t m = 0;
  for (size_t i = 0; i < nhad; i++)
    if (!lock_find(pins, n, had[i].repo, had[i].chart, had[i].version)) all[m++] = had[i];
  for (size_t i = 0; i < n; i++)
    if (!lock_find(all, m, pins[i].repo, pins[i].chart, pins[i].version)) all[m++] = pins[i];
  qsort(all, m, sizeof *all, by_key);
  buf b = {0};
  buf_puts(&b, "# Pinned by plumb fetch: the charts that the .plumb files beside it render\n"
               "# from chart repositories and OCI registries. Commit it with them.\n");
  buf_puts(&b, m ? "charts:\n" : "charts: []\n");
  for (size_t i = 0; i < m; i++)
    for (size_t k = 0; k < NFIELDS; k++) {
      buf_printf(&b, "%s%s: ", k ? "  " : "- ", fields[k]);
      put_string(&b, *field_of(&all[i], k));
      buf_putc(&b, '\n');
    }
  const char *text = arena_strndup(a, b.data, b.len);
  buf_free(&b);
  return text;
}

/* ---- the archives, in the cache -------------------------------------------------------- */

const char *compile_chart_file(arena *a, const char *cache, const char *digest) {
  return arena_printf(a, "%s/charts/sha256-%s.tgz", cache, digest + 7);
}

int compile_charts_cached(void *cache, arena *a, compile_chart *c, const char **data, size_t *len, const char **err) {
  const char *path = compile_chart_file(a, cache, c->digest);
  FILE *f = fopen(path, "rb");
  if (!f) {
    *err = arena_printf(a, "chart %s %s of %s is not in the cache: run plumb fetch on what you build, with the same "
                        "--cache",
                        c->chart, c->pinned, c->repo);
    return -1;
  }
  buf b = {0};
  char chunk[1 << 16];
  size_t n;
  while (b.len <= COMPILE_MAX_CHART && (n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_put(&b, chunk, n);
  bool ok = !ferror(f) && b.len <= COMPILE_MAX_CHART;
  fclose(f);
  if (ok) *data = arena_strndup(a, b.data ? b.data : "", b.len), *len = b.len;
  else *err = arena_printf(a, "cannot read the cache's archive of chart %s %s: %s", c->chart, c->pinned,
                           b.len > COMPILE_MAX_CHART ? "it holds more than 100 MiB" : "a read failed");
  buf_free(&b);
  return ok ? 0 : -1;
}
