/* helmvalues.c: which value of a chart's values fed a field of its
 * resources (see helmvalues.h).
 *
 * What a build keeps is what it already holds: the chart's files as helm
 * was given them, the values files' texts and the values object. The
 * values are read again, with their positions, merged and matched only
 * when plumb explain meets a field of the chart: a build that explains
 * nothing pays nothing. A chart of a repository is its archive: its
 * values.yaml and templates are read out of it then. */
#include "helmvalues.h"

#include <string.h>

#include "archive.h"
#include "plumb/emit.h"
#include "plumb/explain.h"
#include "plumb/yaml.h"

/* A leaf of the merged values: a scalar, by its path (".Values.image.tag"). */
typedef struct {
  const char *path;
  const value *v;
} leaf;

struct helm_seen {
  helm_seen *next;
  helmvalues_chart c;
  arena *a;
  bool read; /* the leaves and the chart's files below are worked out */
  leaf *leaves;
  size_t nleaves;
  helm_file *chart; /* the chart's files, by their names inside it */
  size_t nchart;
};

void helmvalues_add(eval *ev, const helmvalues_chart *c) {
  helm_seen **head = eval_charts_seen(ev), *s = arena_alloc(eval_arena(ev), sizeof *s);
  *s = (helm_seen){.next = *head, .c = *c, .a = eval_arena(ev)};
  *head = s;
}

/* ---- the values, merged ------------------------------------------------------ */

/* over merged onto base, as Helm merges values: objects key by key, any
 * other value in place of what was there, null removing it. A new object:
 * neither is changed. */
static value *merge(arena *a, const value *base, const value *over) {
  value *out = value_object(a, over->at);
  if (base && base->kind == V_OBJECT)
    for (size_t i = 0; i < base->u.obj.len; i++)
      value_object_push(a, out, base->u.obj.fields[i].key, base->u.obj.fields[i].val);
  for (size_t i = 0; i < over->u.obj.len; i++) {
    const char *k = over->u.obj.fields[i].key;
    value *v = over->u.obj.fields[i].val, *was = value_object_get(out, k);
    if (v->kind == V_NULL) value_object_remove(out, k);
    else value_object_set(a, out, k, v->kind == V_OBJECT && was && was->kind == V_OBJECT ? merge(a, was, v) : v);
  }
  return out;
}

/* The first document of the YAML text, when it is an object (what Helm
 * reads of a values file); NULL otherwise. */
static const value *read_values(arena *a, const char *name, const char *text, size_t len) {
  diag_list quiet;
  diag_init(&quiet, a);
  value *docs;
  if (!text || yaml_read(a, &quiet, name, text, len, &docs) < 0 || !docs->u.list.len) return NULL;
  return docs->u.list.items[0]->kind == V_OBJECT ? docs->u.list.items[0] : NULL;
}

static void add_leaves(helm_seen *s, buf *path, const value *v) {
  size_t mark = path->len;
  if (v->kind == V_OBJECT || v->kind == V_LIST) {
    size_t n = v->kind == V_OBJECT ? v->u.obj.len : v->u.list.len;
    for (size_t i = 0; i < n; i++) {
      if (v->kind == V_OBJECT) explain_path_key(path, v->u.obj.fields[i].key);
      else buf_printf(path, "[%zu]", i);
      add_leaves(s, path, v->kind == V_OBJECT ? v->u.obj.fields[i].val : v->u.list.items[i]);
      path->len = mark;
      path->data[mark] = '\0';
    }
  } else if (v->kind != V_NULL && v->kind != V_FUNC) {
    s->leaves = arena_room_for_one(s->a, s->leaves, s->nleaves, sizeof *s->leaves);
    s->leaves[s->nleaves++] = (leaf){arena_strndup(s->a, path->data, path->len), v};
  }
}

static const helm_file *given(const helm_file *files, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(files[i].name, name) == 0) return &files[i];
  return NULL;
}

/* The chart's files by their names inside it: those of its directory, or
 * of its archive. False when the archive cannot be read (it was, for
 * helm): nothing is told then, as its values.yaml is unknown. */
static bool read_chart(helm_seen *s) {
  const helm_file *tgz = given(s->c.files, s->c.nfiles, "chart.tgz");
  if (tgz) return archive_files(s->a, tgz->text, tgz->len, &s->chart, &s->nchart);
  helm_file *out = arena_alloc(s->a, (s->c.nfiles + 1) * sizeof *out);
  for (size_t i = 0; i < s->c.nfiles; i++)
    if (!strncmp(s->c.files[i].name, "chart/", 6))
      out[s->nchart++] = (helm_file){s->c.files[i].name + 6, s->c.files[i].text, s->c.files[i].len};
  s->chart = out;
  return true;
}

/* Where a file of the chart stands in the repository, as its templates
 * are named: under its directory (or archive). */
static const char *in_chart(helm_seen *s, const char *rel) {
  return *s->c.dir ? arena_printf(s->a, "%s/%s", s->c.dir, rel) : rel;
}

/* The leaves of the values helm used, in Helm's order. */
static void read_leaves(helm_seen *s) {
  s->read = true;
  if (!read_chart(s)) return;
  const helm_file *own = given(s->chart, s->nchart, "values.yaml");
  const value *merged = own ? read_values(s->a, in_chart(s, "values.yaml"), own->text, own->len) : NULL;
  for (size_t i = 0;; i++) {
    const helm_file *f = given(s->c.files, s->c.nfiles, arena_printf(s->a, "values/%zu.yaml", i));
    if (!f) break;
    if (!s->c.values_names[i]) continue; /* decrypted: never told */
    const value *v = read_values(s->a, s->c.values_names[i], f->text, f->len);
    if (v) merged = merge(s->a, merged, v);
  }
  if (s->c.values) merged = merge(s->a, merged, s->c.values);
  buf path = {0};
  buf_puts(&path, ".Values");
  if (merged) add_leaves(s, &path, merged);
  buf_free(&path);
}

/* ---- the field, and its template's line ---------------------------------------- */

/* The text of line n of text (len bytes), without its newline, in *line_len. */
static const char *line_of(const char *text, size_t len, int n, size_t *line_len) {
  const char *p = text, *end = text + len;
  for (int i = 1; i < n && p < end; i++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    p = nl ? nl + 1 : end;
  }
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  *line_len = (size_t)((nl ? nl : end) - p);
  return p;
}

/* The bytes before column col (a column per UTF-8 character, as positions
 * count them) of a line of n bytes. */
static size_t bytes_before(const char *line, size_t n, int col) {
  size_t b = 0;
  for (int c = 1; c < col && b < n; c++)
    do b++;
    while (b < n && ((unsigned char)line[b] & 0xC0) == 0x80);
  return b;
}

/* Whether line quotes the values path: `.Values.image.tag`, not followed
 * by more of a name (`.Values.image.tags`, `.Values.image.tag.x`). */
static bool quotes(const char *line, size_t n, const char *path) {
  size_t k = strlen(path);
  for (const char *p = line; p + k <= line + n && (p = memmem(p, (size_t)(line + n - p), path, k)); p++) {
    char next = p + k < line + n ? p[k] : ' ';
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.", next)) return true;
  }
  return false;
}

/* What a line of a template may put in a field, for the values path. */
typedef enum {
  LITERAL, /* no action: the template writes the value itself */
  QUOTES,  /* an action that quotes the path */
  OPAQUE,  /* an action that may carry any value: include, tpl, a variable, the dot of a range */
  OTHER,   /* actions that read other things only: .Release, .Chart, other values */
} line_kind;

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

/* Whether the n bytes at p start with word, a whole word. */
static bool word_at(const char *p, size_t n, const char *word) {
  size_t k = strlen(word);
  return n >= k && memcmp(p, word, k) == 0 && (n == k || !strchr(NAME_CHARS, p[k]));
}

static line_kind kind_of(const char *line, size_t n, const char *path) {
  if (!memmem(line, n, "{{", 2)) return LITERAL;
  if (!strchr(path, '[') && quotes(line, n, path)) return QUOTES;
  static const char *const roots[] = {"Release", "Chart", "Capabilities", "Template", "Files"};
  for (size_t i = 0; i < n; i++) {
    const char *p = line + i;
    size_t left = n - i;
    bool starts = !i || !strchr(NAME_CHARS ".\"", p[-1]);
    if (*p == '$' ||
        (starts && (word_at(p, left, "include") || word_at(p, left, "tpl") || word_at(p, left, "template"))))
      return OPAQUE;
    if (*p != '.' || !starts) continue;
    /* A field of the dot: a built-in object, other values, or what a with
     * or a range made the dot (which may be any value). */
    bool known = left > 8 && !memcmp(p, ".Values.", 8);
    for (size_t r = 0; r < sizeof roots / sizeof *roots && !known; r++) known = word_at(p + 1, left - 1, roots[r]);
    if (!known) return OPAQUE;
  }
  return OTHER;
}

typedef struct {
  size_t lines, quoting, opaque; /* lines of the template the field may stand at; of them, those that quote
                                    the path, and those that may carry any value */
} template_lines;

/* The lines of the template (text, len bytes) that start as the rendered
 * line does before the field's value (its indentation and key): those
 * the field may have been rendered from. None when the rendered line has
 * no key there (a list item, a key a template made). */
static template_lines look_up(const char *text, size_t len, const char *prefix, size_t n, const char *path) {
  template_lines t = {0};
  if (!memchr(prefix, ':', n)) return t;
  for (const char *p = text, *end = text + len; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t ln = (size_t)((nl ? nl : end) - p);
    if (ln >= n && memcmp(p, prefix, n) == 0) {
      line_kind k = kind_of(p, ln, path);
      t.lines++;
      t.quoting += k == QUOTES;
      t.opaque += k == OPAQUE;
    }
    p = nl ? nl + 1 : end;
  }
  return t;
}

static const source *source_named(const source *sources, const char *name) {
  for (const source *s = sources; s; s = s->next)
    if (strcmp(s->name, name) == 0) return s;
  return NULL;
}

/* The chart whose resources v is of, and its template's name inside it
 * (NULL: none, or a subchart's). */
static helm_seen *chart_of(helm_seen *seen, const value *v, const char **rel) {
  for (helm_seen *s = seen; s; s = s->next) {
    if (v->via != s->c.via || !v->at.file) continue;
    size_t dir = strlen(s->c.dir), words = strlen(s->c.release), n = strlen(v->at.file);
    if (n < dir + 1 + words || strcmp(v->at.file + n - words, s->c.release) != 0) return NULL;
    if (dir && (strncmp(v->at.file, s->c.dir, dir) != 0 || v->at.file[dir] != '/')) return NULL;
    *rel = arena_strndup(s->a, v->at.file + (dir ? dir + 1 : 0), n - words - (dir ? dir + 1 : 0));
    return strncmp(*rel, "templates/", 10) == 0 ? s : NULL;
  }
  return NULL;
}

void helmvalues_explain(buf *out, helm_seen *seen, const source *sources, const value *v) {
  const char *rel;
  helm_seen *s = chart_of(seen, v, &rel);
  if (!s || v->kind == V_NULL || v->kind == V_LIST || v->kind == V_OBJECT || v->kind == V_FUNC) return;
  if (!s->read) read_leaves(s);
  buf text = {0}, other = {0};
  value_put_text(&text, v);
  const leaf *found = NULL;
  size_t matches = 0;
  for (size_t i = 0; i < s->nleaves; i++) {
    other.len = 0;
    value_put_text(&other, s->leaves[i].v);
    if (other.len == text.len && memcmp(other.data, text.data, text.len) == 0) found = &s->leaves[i], matches++;
  }
  bool long_string = found && v->kind == V_STRING && found->v->kind == V_STRING && text.len >= HELMVALUES_MIN_TEXT;
  buf_free(&text);
  buf_free(&other);
  if (matches != 1) return; /* two paths of the same value: never a guess */
  const source *rendered = source_named(sources, v->at.file);
  const helm_file *tpl = given(s->chart, s->nchart, rel);
  template_lines t = {0};
  if (rendered && tpl) {
    size_t n;
    const char *line = line_of(rendered->text, rendered->len, v->at.line, &n);
    t = look_up(tpl->text, tpl->len, line, bytes_before(line, n, v->at.col), found->path);
  }
  /* Where its lines are found, they tell: each quotes the path (whatever
   * the value), or none may carry the value (they write it, or read other
   * things); else a long string tells. */
  bool quoted = t.lines && t.quoting == t.lines, may = !t.lines || t.quoting + t.opaque;
  if (!quoted && !(may && long_string)) return;
  buf_printf(out, "    fed by   %s = ", found->path);
  emit_json(out, found->v, false, false);
  buf_printf(out, " from %s:%d:%d\n", found->v->at.file, found->v->at.line, found->v->at.col);
}
