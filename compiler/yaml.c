/* yaml.c: YAML text in, values out, through libyaml's event parser.
 *
 * Untagged plain scalars resolve as go-yaml v2 resolves them, since that is
 * what Kubernetes reads manifests with (sigs.k8s.io/yaml): YAML 1.1 booleans
 * such as yes/on/y, Go's integer syntax (0777 octal, 0o17, 0x1F, 0b1, '_'
 * ignored), and the float syntax of its yamlStyleFloat. The tree is built on
 * an explicit stack so deep nesting costs no C stack, and aliases share the
 * anchored value instead of copying it. */
#include "plumb/yaml.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum {
  /* Nodes one read may stand for once aliases are expanded: the guard
   * against "billion laughs", whose shared nodes are cheap here but not for
   * whoever walks the tree afterwards. */
  MAX_EXPANDED = 1000000,
  MAX_DEPTH = 1000,
  ANCHOR_BUCKETS = 64,
};

#define TAG_PREFIX "tag:yaml.org,2002:"

typedef struct anchor {
  const char *name;
  value *v;         /* NULL while its node is still open: an alias then is a cycle */
  const char *text; /* a scalar's source text, for use as a mapping key */
  uint64_t weight;  /* nodes an alias to it stands for */
  struct anchor *next;
} anchor;

/* One mapping entry. Duplicates and merges are settled when the mapping
 * ends, by sorting, so a big mapping costs n log n. rank 0 is a key written
 * in the mapping, rank k one from the k-th merged mapping: the lowest rank
 * wins, as YAML 1.1's merge key specifies. */
typedef struct {
  const char *key;
  value *val;
  pos at;
  size_t rank, seq;
  bool keep;
} entry;

typedef struct {
  value *v;
  anchor *anchor;  /* the collection's own anchor, or NULL */
  uint64_t weight; /* nodes below, aliases expanded, itself included */
  bool is_map, have_key, key_is_merge;
  const char *key;
  pos key_at;
  entry *entries;
  size_t n_entries, cap_entries, n_merges;
} frame;

/* A finished node on its way into its parent. */
typedef struct {
  value *v;
  const char *text; /* source text of a scalar, NULL for a collection */
  uint64_t weight;
  pos at;
  bool merge_key;
} node;

typedef struct {
  arena *a;
  diag_list *d;
  const char *file, *text;
  size_t len;
  frame *stack;
  size_t depth, cap;
  anchor *anchors[ANCHOR_BUCKETS];
  uint64_t expanded;
  value *root;
  bool json; /* plain scalars are JSON's literals and numbers only */
  bool v3;   /* booleans are YAML 1.2's true and false only (go-yaml v3) */
  bool last_wins; /* a key written twice takes its last value */
  bool failed;
} reader;

/* ---- errors and positions ----------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int fail(reader *r, pos at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const char *msg = arena_vprintf(r->a, fmt, ap);
  va_end(ap);
  if (!r->failed) diag_error(r->d, at, "%s", msg);
  r->failed = true;
  return -1;
}

static pos mark_pos(const reader *r, yaml_mark_t m) {
  return (pos){r->file, (int)m.line + 1, (int)m.column + 1};
}

/* libyaml gives reader errors (bad UTF-8, control characters) as a byte
 * offset; columns count characters like its marks do. */
static pos offset_pos(const reader *r, size_t offset) {
  return diag_pos_of(r->file, r->text, offset < r->len ? offset : r->len);
}

static void parse_error(reader *r, const yaml_parser_t *p) {
  const char *problem = p->problem ? p->problem : "malformed YAML";
  if (p->error == YAML_MEMORY_ERROR) {
    fail(r, (pos){r->file, 0, 0}, "out of memory while reading YAML");
  } else if (p->error == YAML_READER_ERROR) {
    pos at = offset_pos(r, p->problem_offset);
    if (p->problem_value != -1)
      fail(r, at, "%s (#x%X)", problem, (unsigned)p->problem_value);
    else
      fail(r, at, "%s", problem);
  } else if (p->context && p->context_mark.index == p->problem_mark.index) {
    fail(r, mark_pos(r, p->problem_mark), "%s (%s)", problem, p->context);
  } else if (p->context) {
    fail(r, mark_pos(r, p->problem_mark), "%s (%s at line %zu, column %zu)", problem, p->context,
         p->context_mark.line + 1, p->context_mark.column + 1);
  } else {
    fail(r, mark_pos(r, p->problem_mark), "%s", problem);
  }
}

/* Counts w more nodes toward MAX_EXPANDED. */
static int count(reader *r, uint64_t w, pos at) {
  r->expanded += w;
  if (r->expanded > MAX_EXPANDED)
    return fail(r, at, "YAML expands to more than %d nodes through aliases", MAX_EXPANDED);
  return 0;
}

/* ---- scalars ------------------------------------------------------------ */

static bool is_one_of(const char *s, size_t n, const char *const *words) {
  for (; *words; words++)
    if (strlen(*words) == n && memcmp(*words, s, n) == 0) return true;
  return false;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static unsigned digit_value(char c) {
  if (is_digit(c)) return (unsigned)(c - '0');
  if (c >= 'a' && c <= 'f') return (unsigned)(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return (unsigned)(c - 'A' + 10);
  return 99;
}

/* Reads s as Go's strconv.ParseInt(s, 0, 64): optional sign, then 0x, 0o,
 * 0b or a bare leading 0 (octal) prefix. Returns 1 and sets *out for an
 * integer, 0 when s is no integer, -1 when it is one that overflows. */
static int parse_go_int(const char *s, int64_t *out) {
  bool neg = *s == '-';
  if (*s == '+' || *s == '-') s++;
  unsigned base = 10;
  if (s[0] == '0' && s[1]) {
    char p = (char)(s[1] | 0x20);
    base = p == 'x' ? 16 : p == 'b' ? 2 : 8;
    s += p == 'x' || p == 'o' || p == 'b' ? 2 : 1;
  }
  if (!*s) return 0;
  uint64_t acc = 0;
  bool over = false;
  for (; *s; s++) {
    unsigned d = digit_value(*s);
    if (d >= base) return 0;
    if (acc > (UINT64_MAX - d) / base)
      over = true;
    else
      acc = acc * base + d;
  }
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  if (over || acc > limit) return -1;
  *out = !neg ? (int64_t)acc : acc == limit ? INT64_MIN : -(int64_t)acc;
  return 1;
}

/* go-yaml's yamlStyleFloat: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool go_float_syntax(const char *s) {
  if (*s == '+' || *s == '-') s++;
  size_t i = strspn(s, "0123456789");
  if (s[i] == '.') {
    size_t frac = strspn(s + i + 1, "0123456789");
    if (i == 0 && frac == 0) return false;
    i += 1 + frac;
  } else if (i == 0) {
    return false;
  }
  if (s[i] == 'e' || s[i] == 'E') {
    i++;
    if (s[i] == '+' || s[i] == '-') i++;
    size_t e = strspn(s + i, "0123456789");
    if (!e) return false;
    i += e;
  }
  return s[i] == '\0';
}

/* A plain scalar that starts with a digit or sign: an int, a float, or (as
 * for go-yaml, which also turns timestamps into strings) a string. */
static int resolve_number(reader *r, const char *s, size_t len, pos at, value **out) {
  char *plain = arena_alloc(r->a, len + 1);
  for (size_t i = 0, j = 0; i < len; i++)
    if (s[i] != '_') plain[j++] = s[i];
  int64_t n;
  int k = parse_go_int(plain, &n);
  if (k < 0) return fail(r, at, "integer %s does not fit in 64 bits", s);
  if (k > 0) {
    *out = value_int(r->a, at, n);
    return 0;
  }
  /* Go's ParseFloat refuses what overflows to infinity; go-yaml then keeps
   * the text as a string. */
  double f = go_float_syntax(plain) ? strtod(plain, NULL) : INFINITY;
  *out = isinf(f) ? value_string(r->a, at, s, len) : value_float(r->a, at, f);
  return 0;
}

static int resolve_plain(reader *r, const char *s, size_t len, pos at, value **out) {
  /* YAML 1.1's words; go-yaml v3 keeps only the last three. */
  static const char *const yes[] = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE", NULL};
  static const char *const no[] = {"n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE", NULL};
  const char *const *words = yes + 8 * r->v3, *const *not = no + 8 * r->v3;
  static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
  static const char *const not_finite[] = {".inf",  ".Inf",  ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
                                           "-.Inf", "-.INF", ".nan", ".NaN",  ".NAN",  NULL};
  if (is_one_of(s, len, nulls))
    *out = value_null(r->a, at);
  else if (is_one_of(s, len, words) || is_one_of(s, len, not))
    *out = value_bool(r->a, at, is_one_of(s, len, words));
  else if (is_one_of(s, len, not_finite))
    /* Plumb's floats are finite and JSON has no word for these: output
     * would say null, and Kubernetes refuses them too. */
    return fail(r, at, "%s is not a finite number; Plumb and JSON have no infinity or NaN", s);
  else if (memchr(s, '\0', len))
    *out = value_string(r->a, at, s, len);
  else if (is_digit(s[0]) || s[0] == '+' || s[0] == '-' || (s[0] == '.' && go_float_syntax(s)))
    return resolve_number(r, s, len, at, out); /* .1e323 overflows too: a string, as go-yaml keeps it */
  else
    *out = value_string(r->a, at, s, len);
  return 0;
}

/* JSON's number syntax: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?; *integral
 * when it has neither fraction nor exponent. */
static bool json_number_syntax(const char *s, bool *integral) {
  if (*s == '-') s++;
  size_t i = strspn(s, "0123456789"), frac = 0, exp = 0;
  if (i == 0 || (s[0] == '0' && i > 1)) return false;
  if (s[i] == '.' && !(frac = strspn(s + i + 1, "0123456789"))) return false;
  if (frac) i += 1 + frac;
  if (s[i] == 'e' || s[i] == 'E') {
    i++;
    if (s[i] == '+' || s[i] == '-') i++;
    if (!(exp = strspn(s + i, "0123456789"))) return false;
    i += exp;
  }
  *integral = !frac && !exp;
  return s[i] == '\0';
}

/* A plain scalar of JSON text: null, true, false or a number, read as JSON
 * reads them (not YAML's yes, 0777 or 1_000); a number out of range is an
 * error, never a string or an infinity. */
static int resolve_json(reader *r, const char *s, size_t len, pos at, value **out) {
  bool integral;
  if (strcmp(s, "null") == 0 || strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
    *out = s[0] == 'n' ? value_null(r->a, at) : value_bool(r->a, at, s[0] == 't');
    return 0;
  }
  if (memchr(s, '\0', len) || !json_number_syntax(s, &integral))
    return fail(r, at, "%s is not a JSON value (strings need double quotes)", s);
  int64_t n = 0;
  if (integral && parse_go_int(s, &n) <= 0) return fail(r, at, "integer %s does not fit in 64 bits", s);
  double f = integral ? 0 : strtod(s, NULL);
  if (isinf(f)) return fail(r, at, "number %s is out of range for a float", s);
  *out = integral ? value_int(r->a, at, n) : value_float(r->a, at, f);
  return 0;
}

static bool is_tag(const char *tag, const char *name) {
  size_t n = strlen(TAG_PREFIX);
  return tag && strncmp(tag, TAG_PREFIX, n) == 0 && strcmp(tag + n, name) == 0;
}

static const char *short_tag(reader *r, const char *tag) {
  size_t n = strlen(TAG_PREFIX);
  return strncmp(tag, TAG_PREFIX, n) == 0 ? arena_printf(r->a, "!!%s", tag + n) : tag;
}

/* !!int, !!float, !!bool, !!null on any scalar, quoted or not: the text
 * must resolve to that kind (an int is accepted as a float). */
static int resolve_tagged(reader *r, const char *s, size_t len, const char *tag, pos at,
                          value **out) {
  if (resolve_plain(r, s, len, at, out) < 0) return -1;
  if (is_tag(tag, "float") && (*out)->kind == V_INT)
    *out = value_float(r->a, at, (double)(*out)->u.i);
  /* value_kind_name spells these four kinds as the tags do. */
  if (strcmp(tag + strlen(TAG_PREFIX), value_kind_name((*out)->kind)) != 0)
    return fail(r, at, "cannot read \"%s\" as %s", s, short_tag(r, tag));
  return 0;
}

static int resolve_scalar(reader *r, const yaml_event_t *ev, pos at, value **out) {
  const char *s = (const char *)ev->data.scalar.value, *tag = (const char *)ev->data.scalar.tag;
  size_t len = ev->data.scalar.length;
  if (!tag && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
    return r->json ? resolve_json(r, s, len, at, out) : resolve_plain(r, s, len, at, out);
  if (!tag || strcmp(tag, "!") == 0 || is_tag(tag, "str") || is_tag(tag, "timestamp") ||
      is_tag(tag, "merge")) {
    *out = value_string(r->a, at, s, len);
    return 0;
  }
  if (is_tag(tag, "int") || is_tag(tag, "float") || is_tag(tag, "bool") || is_tag(tag, "null"))
    return resolve_tagged(r, s, len, tag, at, out);
  return fail(r, at, "unsupported tag \"%s\"", short_tag(r, tag));
}

static bool is_merge_key(const yaml_event_t *ev) {
  const char *tag = (const char *)ev->data.scalar.tag;
  if (is_tag(tag, "merge")) return true;
  return !tag && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
         ev->data.scalar.length == 2 && memcmp(ev->data.scalar.value, "<<", 2) == 0;
}

/* ---- anchors ------------------------------------------------------------ */

static size_t bucket(const char *name) {
  size_t h = 5381;
  for (; *name; name++) h = h * 33 + (unsigned char)*name;
  return h % ANCHOR_BUCKETS;
}

static anchor *find_anchor(reader *r, const char *name) {
  for (anchor *an = r->anchors[bucket(name)]; an; an = an->next)
    if (strcmp(an->name, name) == 0) return an;
  return NULL;
}

/* A redefined anchor shadows the earlier one from here on, as YAML says. */
static anchor *define_anchor(reader *r, const char *name) {
  anchor *an = arena_alloc(r->a, sizeof *an);
  size_t b = bucket(name);
  *an = (anchor){.name = arena_strdup(r->a, name), .next = r->anchors[b]};
  r->anchors[b] = an;
  return an;
}

/* ---- mappings ----------------------------------------------------------- */

static void add_entry(reader *r, frame *f, const char *key, value *val, pos at, size_t rank) {
  if (f->n_entries == f->cap_entries) {
    size_t cap = f->cap_entries ? 2 * f->cap_entries : 8;
    f->entries = arena_grow(r->a, f->entries, f->n_entries * sizeof *f->entries,
                            cap * sizeof *f->entries);
    f->cap_entries = cap;
  }
  f->entries[f->n_entries] = (entry){key, val, at, rank, f->n_entries, false};
  f->n_entries++;
}

static void merge_from(reader *r, frame *f, const value *obj) {
  size_t rank = ++f->n_merges;
  for (size_t i = 0; i < obj->u.obj.len; i++) {
    const field *fl = &obj->u.obj.fields[i];
    add_entry(r, f, fl->key, fl->val, fl->val->at, rank);
  }
}

/* "<<: *base" or "<<: [*a, *b]": earlier mappings in the list win. */
static int add_merge(reader *r, frame *f, node n) {
  bool list = n.v->kind == V_LIST;
  size_t n_sources = list ? n.v->u.list.len : 1;
  for (size_t i = 0; i < n_sources; i++) {
    const value *src = list ? n.v->u.list.items[i] : n.v;
    if (src->kind != V_OBJECT)
      return fail(r, n.at, "a merge key \"<<\" needs a mapping or a list of mappings");
    merge_from(r, f, src);
  }
  return 0;
}

static int take_key(reader *r, frame *f, node n) {
  if (!n.text)
    return fail(r, n.at, "a mapping key must be a scalar, not a %s", value_kind_name(n.v->kind));
  if (n.v->kind == V_STRING && strlen(n.text) != n.v->u.str.len)
    return fail(r, n.at, "a mapping key must not contain a NUL character");
  f->key = n.text;
  f->key_at = n.at;
  f->key_is_merge = n.merge_key;
  f->have_key = true;
  return 0;
}

static int cmp_entries(const void *a, const void *b) {
  const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
  int c = strcmp(x->key, y->key);
  if (c) return c;
  if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Fills the mapping's object from its entries, in written order. */
static int build_object(reader *r, frame *f) {
  size_t n = f->n_entries, kept = 0;
  entry **sorted = arena_alloc(r->a, (n + 1) * sizeof *sorted);
  for (size_t i = 0; i < n; i++) sorted[i] = &f->entries[i];
  qsort(sorted, n, sizeof *sorted, cmp_entries);
  for (size_t i = 0; i < n; i++) {
    bool first = i == 0 || strcmp(sorted[i - 1]->key, sorted[i]->key) != 0;
    if (!first && sorted[i]->rank == 0 && r->last_wins) {
      sorted[i - 1]->keep = false;
      sorted[i]->keep = true;
      continue;
    }
    if (!first && sorted[i]->rank == 0)
      return fail(r, sorted[i]->at, "duplicate key \"%s\"", sorted[i]->key);
    sorted[i]->keep = first;
    kept += first;
  }
  value_reserve(r->a, f->v, kept);
  for (size_t i = 0; i < n; i++)
    if (f->entries[i].keep) value_object_push(r->a, f->v, f->entries[i].key, f->entries[i].val);
  return 0;
}

/* ---- the tree ----------------------------------------------------------- */

static int add_node(reader *r, node n) {
  if (r->depth == 0) {
    r->root = n.v;
    return 0;
  }
  frame *f = &r->stack[r->depth - 1];
  f->weight += n.weight;
  if (!f->is_map) {
    value_list_push(r->a, f->v, n.v);
    return 0;
  }
  if (!f->have_key) return take_key(r, f, n);
  f->have_key = false;
  if (f->key_is_merge) return add_merge(r, f, n);
  add_entry(r, f, f->key, n.v, f->key_at, 0);
  return 0;
}

static int on_scalar(reader *r, const yaml_event_t *ev) {
  pos at = mark_pos(r, ev->start_mark);
  value *v;
  if (resolve_scalar(r, ev, at, &v) < 0 || count(r, 1, at) < 0) return -1;
  const char *text = v->kind == V_STRING ? v->u.str.s
                                         : arena_strndup(r->a, (const char *)ev->data.scalar.value,
                                                         ev->data.scalar.length);
  if (ev->data.scalar.anchor) {
    anchor *an = define_anchor(r, (const char *)ev->data.scalar.anchor);
    an->v = v;
    an->text = text;
    an->weight = 1;
  }
  return add_node(r, (node){v, text, 1, at, is_merge_key(ev)});
}

static int on_alias(reader *r, const yaml_event_t *ev) {
  pos at = mark_pos(r, ev->start_mark);
  const char *name = (const char *)ev->data.alias.anchor;
  anchor *an = find_anchor(r, name);
  if (!an) return fail(r, at, "unknown anchor \"%s\"", name);
  if (!an->v) return fail(r, at, "anchor \"%s\" is used inside its own value", name);
  if (count(r, an->weight, at) < 0) return -1;
  return add_node(r, (node){an->v, an->text, an->weight, at, false});
}

static int on_start(reader *r, const yaml_event_t *ev, bool is_map) {
  pos at = mark_pos(r, ev->start_mark);
  const char *tag = (const char *)(is_map ? ev->data.mapping_start.tag
                                          : ev->data.sequence_start.tag);
  const char *name = (const char *)(is_map ? ev->data.mapping_start.anchor
                                           : ev->data.sequence_start.anchor);
  if (is_tag(tag, is_map ? "seq" : "map"))
    return fail(r, at, "cannot read a %s as %s", is_map ? "mapping" : "sequence",
                short_tag(r, tag));
  if (tag && strcmp(tag, "!") != 0 && !is_tag(tag, is_map ? "map" : "seq"))
    return fail(r, at, "unsupported tag \"%s\"", short_tag(r, tag));
  if (r->depth == MAX_DEPTH) return fail(r, at, "YAML nested deeper than %d levels", MAX_DEPTH);
  if (count(r, 1, at) < 0) return -1;
  if (r->depth == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 16;
    r->stack = arena_grow(r->a, r->stack, r->depth * sizeof *r->stack, cap * sizeof *r->stack);
    r->cap = cap;
  }
  r->stack[r->depth++] = (frame){
      .v = is_map ? value_object(r->a, at) : value_list(r->a, at),
      .anchor = name ? define_anchor(r, name) : NULL,
      .weight = 1,
      .is_map = is_map,
  };
  return 0;
}

static int on_end(reader *r) {
  frame f = r->stack[--r->depth];
  if (f.is_map && build_object(r, &f) < 0) return -1;
  if (f.anchor) {
    f.anchor->v = f.v;
    f.anchor->weight = f.weight;
  }
  return add_node(r, (node){f.v, NULL, f.weight, f.v->at, false});
}

static int on_event(reader *r, const yaml_event_t *ev, value *docs) {
  switch (ev->type) {
  case YAML_DOCUMENT_START_EVENT:
    memset(r->anchors, 0, sizeof r->anchors); /* anchors do not cross documents */
    r->root = NULL;
    return 0;
  case YAML_DOCUMENT_END_EVENT:
    if (r->root && r->root->kind != V_NULL) value_list_push(r->a, docs, r->root);
    return 0;
  case YAML_SCALAR_EVENT: return on_scalar(r, ev);
  case YAML_ALIAS_EVENT: return on_alias(r, ev);
  case YAML_SEQUENCE_START_EVENT: return on_start(r, ev, false);
  case YAML_MAPPING_START_EVENT: return on_start(r, ev, true);
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT: return on_end(r);
  default: return 0;
  }
}

static int read_stream(reader *r, value **out) {
  *out = NULL;
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) return fail(r, (pos){r->file, 0, 0}, "out of memory");
  yaml_parser_set_input_string(&p, (const unsigned char *)r->text, r->len);
  value *docs = value_list(r->a, (pos){r->file, 1, 1});
  for (bool done = false; !done && !r->failed;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&p, &ev)) {
      parse_error(r, &p);
      break;
    }
    done = ev.type == YAML_STREAM_END_EVENT;
    on_event(r, &ev, docs);
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&p);
  if (r->failed) return -1;
  *out = docs;
  return 0;
}

int yaml_read(arena *a, diag_list *d, const char *file, const char *text, size_t len, value **out) {
  reader r = {.a = a, .d = d, .file = file, .text = text ? text : "", .len = text ? len : 0};
  return read_stream(&r, out);
}

int yaml_read_loose(arena *a, diag_list *d, const char *file, const char *text, size_t len, value **out) {
  reader r = {.a = a, .d = d, .file = file, .text = text ? text : "", .len = text ? len : 0, .last_wins = true};
  return read_stream(&r, out);
}

int yaml_read_v3(arena *a, diag_list *d, const char *file, const char *text, size_t len, value **out) {
  reader r = {.a = a, .d = d, .file = file, .text = text ? text : "", .len = text ? len : 0, .v3 = true};
  return read_stream(&r, out);
}

/* The UTF-16 unit of the escape \uXXXX at s, or -1. */
static long utf16_escape(const char *s, size_t n) {
  if (n < 6 || s[0] != '\\' || s[1] != 'u') return -1;
  long u = 0;
  for (int i = 2; i < 6; i++) {
    unsigned d = digit_value(s[i]);
    if (d > 15) return -1;
    u = u * 16 + d;
  }
  return u;
}

/* JSON writes a character beyond U+FFFF as a surrogate pair of \u escapes
 * (Python's json.dumps does by default); libyaml refuses each half alone.
 * In double-quoted strings, each pair becomes YAML's \UXXXXXXXX, in a copy
 * (two bytes shorter: a column later on that line is off by two). */
static const char *join_surrogates(arena *a, const char *text, size_t *len) {
  if (!memmem(text, *len, "\\u", 2)) return text;
  char *out = arena_alloc(a, *len + 1);
  size_t n = 0;
  bool quoted = false;
  for (size_t i = 0; i < *len;) {
    long hi = quoted ? utf16_escape(text + i, *len - i) : -1;
    long lo = hi >= 0xD800 && hi <= 0xDBFF ? utf16_escape(text + i + 6, *len - i - 6) : -1;
    if (lo >= 0xDC00 && lo <= 0xDFFF) {
      n += (size_t)sprintf(out + n, "\\U%08lX", 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
      i += 12;
      continue;
    }
    if (text[i] == '"') quoted = !quoted;
    size_t step = quoted && text[i] == '\\' && i + 1 < *len ? 2 : 1; /* \" does not end the string */
    memcpy(out + n, text + i, step);
    n += step, i += step;
  }
  out[n] = '\0';
  *len = n;
  return out;
}

int yaml_read_json(arena *a, diag_list *d, const char *file, const char *text, size_t len, value **out) {
  if (!text) text = "", len = 0;
  text = join_surrogates(a, text, &len);
  reader r = {.a = a, .d = d, .file = file, .text = text, .len = len, .json = true};
  return read_stream(&r, out);
}
