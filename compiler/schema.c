/* schema.c: resources checked against Kubernetes' schemas (schema.h).
 *
 * The embedded text (schemas/README.md gives its format) is read into
 * tables once per process: definitions sorted by name, each with its
 * fields sorted by name, so that every lookup is a binary search. A check
 * then walks a resource and its schema side by side, the way the API
 * server decodes a request: the rules below follow what it refuses (an
 * unknown field, a string where an int goes, an enum value it does not
 * know, a missing required field, a malformed quantity or base64), and
 * what it lets through (null anywhere, an integral float for an int).
 * The schema of a CRD in the build becomes the same tables, in the
 * build's arena, at the end of this file. */
#include "schema.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/compile.h"
#include "plumb/yaml.h"
#include "suggest.h"

extern const struct {
  const char *name;
  const char *text;
} schema_files[];

/* ---- the tables ------------------------------------------------------------ */

typedef enum {
  ST_ANY,
  ST_OBJECT,
  ST_STRING,
  ST_BYTE,
  ST_DATE_TIME,
  ST_INTEGER,
  ST_INT32,
  ST_INT64,
  ST_NUMBER,
  ST_BOOL,
  ST_INT_OR_STRING,
  ST_QUANTITY,
  ST_DEF,
  ST_LIST,
  ST_MAP,
} stype_kind;

typedef struct sdef sdef;

typedef struct stype {
  stype_kind kind;
  /* ST_STRING with an enum: "" passes too. A built-in kind's enums do:
   * the API server reads "" as unset and puts the default in. */
  bool empty_ok;
  const struct stype *item; /* ST_LIST, ST_MAP */
  const sdef *def;          /* ST_DEF */
  /* ST_STRING: its enum, if any; ST_LIST: the keys of a list-type map,
   * each "NAME" or "NAME=DEFAULT". */
  const char **names;
  size_t nnames;
} stype;

typedef struct {
  const char *name;
  const stype *type;
  bool required;
} sfield;

struct sdef {
  const char *name;
  sfield *fields;
  size_t nfields;
  size_t nrequired; /* of the fields, those required */
  bool preserve;    /* x-kubernetes-preserve-unknown-fields */
  bool embedded;    /* x-kubernetes-embedded-resource */
};

typedef struct {
  const char *api, *kind;
  const stype *type;
} skind;

typedef struct {
  arena *mem; /* the tables, kept for as long as the process lives */
  const char *version;
  sdef *defs;
  size_t ndefs;
  skind *kinds;
  size_t nkinds;
  const stype *object_meta; /* the metadata of an embedded resource */
} schema_set;

/* A literal part of a value, checked against a type. */
typedef struct {
  const value *v;
  const stype *t;
} checked;

struct schema_build {
  arena *a;
  const schema_set *set; /* the embedded version checked against */
  skind *kinds; /* those the build's CRDs define */
  size_t n, cap;
  /* A template's literal text is one value, shared by all the resources
   * it makes: each such part is checked once against a type (and its
   * mistakes reported once). An open-addressing set, cap a power of 2. */
  checked *seen;
  size_t nseen, seencap;
};

/* ---- reading the text ------------------------------------------------------ */

/* The text is compiled in: a fault in it is a fault of the build. */
static _Noreturn void bad_data(const char *file, const char *line, const char *why) {
  fprintf(stderr, "plumb: schemas/%s.txt: %s: %s\n", file, why, line);
  abort();
}

static const struct {
  const char *name;
  stype_kind kind;
} scalars[] = {
    {"any", ST_ANY},
    {"object", ST_OBJECT},
    {"string", ST_STRING},
    {"byte", ST_BYTE},
    {"date-time", ST_DATE_TIME},
    {"integer", ST_INTEGER},
    {"int32", ST_INT32},
    {"int64", ST_INT64},
    {"number", ST_NUMBER},
    {"bool", ST_BOOL},
    {"int-or-string", ST_INT_OR_STRING},
    {"quantity", ST_QUANTITY},
};

/* bsearch's order for definitions, by name. */
static int cmp_name(const void *key, const void *elem) { return strcmp(key, *(const char *const *)elem); }

static const sdef *find_def(const schema_set *set, const char *name) {
  return bsearch(name, set->defs, set->ndefs, sizeof *set->defs, cmp_name);
}

/* s split at every sep, in place. */
static const char **split(arena *a, char *s, char sep, size_t *n) {
  *n = 1;
  for (const char *p = s; (p = strchr(p, sep)); p++) ++*n;
  const char **parts = arena_alloc(a, *n * sizeof *parts);
  for (size_t i = 0; i < *n; i++) {
    parts[i] = s;
    char *end = strchr(s, sep);
    if (end) *end = '\0', s = end + 1;
  }
  return parts;
}

static const stype *parse_type(const schema_set *set, arena *a, const char *file, char *s) {
  stype *t = arena_alloc(a, sizeof *t);
  char *close;
  if (s[0] == '[' && (close = strchr(s, ']'))) {
    *close = '\0';
    t->kind = ST_LIST;
    if (strncmp(s + 1, "map=", 4) == 0) t->names = split(a, s + 5, ',', &t->nnames);
    t->item = parse_type(set, a, file, close + 1);
  } else if (s[0] == '{' && s[1] == '}') {
    t->kind = ST_MAP;
    t->item = parse_type(set, a, file, s + 2);
  } else if (s[0] == '@') {
    t->kind = ST_DEF;
    if (!(t->def = find_def(set, s + 1))) bad_data(file, s, "no such definition");
  } else {
    char *bar = strchr(s, '|');
    if (bar) *bar = '\0', t->names = split(a, bar + 1, '|', &t->nnames);
    t->empty_ok = true;
    size_t i = 0, n = sizeof scalars / sizeof scalars[0];
    while (i < n && strcmp(scalars[i].name, s) != 0) i++;
    if (i == n) bad_data(file, s, "unknown type");
    t->kind = scalars[i].kind;
  }
  return t;
}

/* The next space-separated word of *s, NUL-terminated in place. */
static char *word(char **s) {
  char *w = *s, *sp = strchr(w, ' ');
  if (sp) *sp = '\0', *s = sp + 1;
  else *s = w + strlen(w);
  return w;
}

/* The lines of text, NUL-terminated in a copy; words are cut out of them
 * in place later. */
static char **lines_of(arena *a, const char *file, const char *text, size_t *n) {
  char *copy = arena_strdup(a, text);
  *n = 0;
  for (const char *p = copy; (p = strchr(p, '\n')); p++) ++*n;
  char **lines = arena_alloc(a, (*n + 1) * sizeof *lines);
  for (size_t i = 0; i < *n; i++) {
    lines[i] = copy;
    copy = strchr(copy, '\n');
    *copy++ = '\0';
  }
  if (*copy) bad_data(file, copy, "no newline at the end");
  return lines;
}

static void parse_def(schema_set *set, const char *file, char *rest) {
  sdef *d = &set->defs[set->ndefs++];
  d->name = word(&rest);
  for (char *flag; *(flag = word(&rest));) {
    d->preserve |= strcmp(flag, "preserve") == 0;
    d->embedded |= strcmp(flag, "embedded") == 0;
  }
  if (set->ndefs > 1 && strcmp(d[-1].name, d->name) >= 0) bad_data(file, d->name, "definitions out of order");
}

/* Two passes over the lines: the first names every definition, so that
 * the second can resolve a reference to one defined further down. */
static void parse_set(schema_set *set, arena *a, const char *file, const char *text) {
  size_t n, ndefs = 0, nfields = 0, nkinds = 0;
  char **lines = lines_of(a, file, text, &n);
  for (size_t i = 0; i < n; i++) {
    char c = lines[i][0];
    ndefs += c == 'D', nfields += c == 'F' || c == 'R', nkinds += c == 'K';
  }
  set->defs = arena_alloc(a, (ndefs + 1) * sizeof *set->defs);
  set->kinds = arena_alloc(a, (nkinds + 1) * sizeof *set->kinds);
  sfield *fields = arena_alloc(a, (nfields + 1) * sizeof *fields);
  for (size_t i = 0; i < n; i++)
    if (lines[i][0] == 'D') parse_def(set, file, lines[i] + 2);
  sdef *cur = NULL;
  for (size_t i = 0; i < n; i++) {
    char *p = lines[i], *rest = p + 2;
    if (p[0] == 'D') {
      cur = cur ? cur + 1 : set->defs;
      cur->fields = fields;
    } else if ((p[0] == 'F' || p[0] == 'R') && cur) {
      sfield *f = &cur->fields[cur->nfields++];
      f->required = p[0] == 'R';
      cur->nrequired += f->required;
      f->name = word(&rest);
      f->type = parse_type(set, a, file, rest);
      if (cur->nfields > 1 && strcmp(f[-1].name, f->name) >= 0) bad_data(file, f->name, "fields out of order");
      fields++;
    } else if (p[0] == 'K') {
      skind *k = &set->kinds[set->nkinds++];
      k->api = word(&rest);
      k->kind = word(&rest);
      k->type = parse_type(set, a, file, rest);
    } else if (strncmp(p, "kubernetes ", 11) == 0) {
      set->version = p + 11;
    } else if (strcmp(p, "plumb-schemas 1") != 0) {
      bad_data(file, p, "unknown line");
    }
  }
}

/* ---- the versions --------------------------------------------------------- */

/* One file a version, named k8s-vMAJOR.MINOR, sorted by name; each set is
 * read the first time a build asks for its version. */
enum { MAX_VERSIONS = 16 };
static schema_set sets[MAX_VERSIONS];
static const char *versions[MAX_VERSIONS];
static size_t nversions;
static pthread_once_t versions_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

/* The version each file says it holds, from its second line: the list is
 * asked for by every command that names a version, which must not cost
 * reading every set. The files sort by name, so a v1.100 would go before
 * v1.99: they are checked to be oldest first. */
static void list_versions(void) {
  static const char head[] = "plumb-schemas 1\nkubernetes ";
  for (; schema_files[nversions].name; nversions++) {
    const char *name = schema_files[nversions].name, *text = schema_files[nversions].text;
    if (nversions == MAX_VERSIONS) bad_data(name, "", "more files than MAX_VERSIONS");
    if (strncmp(text, head, sizeof head - 1) != 0) bad_data(name, text, "no version line");
    const char *v = text + sizeof head - 1;
    versions[nversions] = heap_strndup(v, strcspn(v, "\n"));
    if (nversions && strverscmp(versions[nversions - 1], versions[nversions]) >= 0)
      bad_data(name, versions[nversions], "files out of version order");
  }
}

const char *const *compile_kube_versions(size_t *n) {
  pthread_once(&versions_once, list_versions);
  *n = nversions;
  return versions;
}

/* text as MAJOR and MINOR: "1.35", "v1.35" or "v1.35.2", and with
 * suffix, what a cluster's /version may add: "v1.35.2-gke.1200",
 * "v1.36.3+k3s1". False when it is none of those. */
static bool parse_version(const char *text, bool suffix, long *major, long *minor) {
  const char *p = text + (*text == 'v');
  char *end;
  if (!isdigit((unsigned char)*p)) return false;
  *major = strtol(p, &end, 10);
  if (*end != '.' || !isdigit((unsigned char)end[1])) return false;
  *minor = strtol(end + 1, &end, 10);
  if (*end == '.' && isdigit((unsigned char)end[1])) strtol(end + 1, &end, 10);
  return *end == '\0' || (suffix && (*end == '-' || *end == '+'));
}

/* The index of the embedded version of MAJOR.MINOR, or the nearest one
 * (*exact false); -1 when text is no version. */
static int version_index(const char *text, bool suffix, bool *exact) {
  size_t n;
  const char *const *all = compile_kube_versions(&n);
  long major, minor, m, k;
  if (!parse_version(text, suffix, &major, &minor)) return -1;
  size_t i = 0;
  /* Each embedded version is older than text up to i. */
  while (i < n && parse_version(all[i], false, &m, &k) && (m < major || (m == major && k < minor))) i++;
  *exact = i < n && m == major && k == minor;
  return (int)(i < n ? i : n - 1);
}

const char *compile_kube_version(const char *text, bool *malformed) {
  bool exact = false;
  int i = version_index(text, false, &exact);
  *malformed = i < 0;
  return exact ? versions[i] : NULL;
}

const char *compile_kube_version_nearest(const char *text, bool *exact) {
  int i = version_index(text, true, exact);
  return i < 0 ? NULL : versions[i];
}

const char *compile_kube_versions_text(arena *a) {
  size_t n;
  const char *const *all = compile_kube_versions(&n);
  buf b = {0};
  for (size_t i = 0; i < n; i++) {
    long major, minor;
    parse_version(all[i], false, &major, &minor);
    buf_printf(&b, "%s%ld.%ld", i == 0 ? "" : i + 1 == n ? " or " : ", ", major, minor);
  }
  char *text = arena_strdup(a, b.data);
  buf_free(&b);
  return text;
}

/* The tables of embedded version i, read on first use. */
static const schema_set *set_of(size_t i) {
  pthread_mutex_lock(&load_lock);
  schema_set *set = &sets[i];
  if (!set->mem) {
    set->mem = arena_new();
    parse_set(set, set->mem, schema_files[i].name, schema_files[i].text);
    char *meta = arena_strdup(set->mem, "@meta.v1.ObjectMeta");
    set->object_meta = parse_type(set, set->mem, schema_files[i].name, meta);
  }
  pthread_mutex_unlock(&load_lock);
  return set;
}

static int cmp_kind(const void *key, const void *elem) {
  const skind *x = key, *y = elem;
  int c = strcmp(x->api, y->api);
  return c ? c : strcmp(x->kind, y->kind);
}

static const skind *find_kind(const schema_set *set, const char *api, const char *kind) {
  skind key = {api, kind, NULL};
  return bsearch(&key, set->kinds, set->nkinds, sizeof *set->kinds, cmp_kind);
}

/* Every field of every resource is looked up here: the first bytes,
 * which decide most probes, are compared inline, not by a call. */
static const sfield *find_field(const sdef *d, const char *name) {
  size_t lo = 0, hi = d->nfields;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const char *f = d->fields[mid].name;
    int c = name[0] != f[0] ? (unsigned char)name[0] - (unsigned char)f[0] : strcmp(name, f);
    if (c == 0) return &d->fields[mid];
    if (c < 0) hi = mid;
    else lo = mid + 1;
  }
  return NULL;
}

/* ---- what strings must look like ------------------------------------------- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static const char *skip_digits(const char *s) {
  while (is_digit(*s)) s++;
  return s;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* resource.ParseQuantity's grammar: a signed decimal number, then a binary
 * suffix (Ki ... Ei), a decimal one (n, u, m, k, M, G, T, P, E) or a
 * decimal exponent (e3, E-2); space around it is trimmed. The API server
 * takes a number without digits ("Gi", "m", ".") for 0, and so does this. */
static bool is_quantity(const char *s) {
  while (is_space(*s)) s++;
  size_t n = strlen(s);
  while (n && is_space(s[n - 1])) n--;
  if (!n) return false;
  const char *end = s + n;
  if (*s == '+' || *s == '-') s++;
  s = skip_digits(s);
  if (*s == '.') s = skip_digits(s + 1);
  if ((*s == 'e' || *s == 'E') && s + 1 < end) {
    const char *e = s + 1 + (s[1] == '+' || s[1] == '-');
    if (is_digit(*e)) return skip_digits(e) == end;
  }
  static const char *const suffixes[] = {"",  "n", "u",  "m",  "k",  "M",  "G",  "T",
                                         "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
    if ((size_t)(end - s) == strlen(suffixes[i]) && strncmp(s, suffixes[i], (size_t)(end - s)) == 0) return true;
  return false;
}

/* As Go's base64.StdEncoding decodes []byte fields: padded, line breaks
 * skipped. */
static bool is_base64(const char *s) {
  size_t len = 0, pad = 0;
  for (; *s; s++) {
    char c = *s;
    if (c == '\r' || c == '\n') continue;
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '+' || c == '/';
    if (c == '=') pad++;
    else if (pad || !alpha) return false;
    len++;
  }
  return len % 4 == 0 && pad <= 2;
}

/* RFC 3339, as metav1.Time reads it: 2006-01-02T15:04:05Z, with optional
 * fractional seconds and a numeric offset in place of Z. */
static bool is_date_time(const char *s) {
  static const char shape[] = "dddd-dd-ddTdd:dd:dd";
  for (const char *p = shape; *p; p++, s++)
    if (*p == 'd' ? !is_digit(*s) : *s != *p) return false;
  if (*s == '.' && is_digit(s[1])) s = skip_digits(s + 1);
  if (*s == 'Z') return s[1] == '\0';
  return (*s == '+' || *s == '-') && is_digit(s[1]) && is_digit(s[2]) && s[3] == ':' && is_digit(s[4]) &&
         is_digit(s[5]) && s[6] == '\0';
}

/* ---- the walk -------------------------------------------------------------- */

/* A step of the path from the resource to the value being checked: an
 * object's key, or a list's index when key is NULL. */
typedef struct {
  const char *key;
  size_t index;
} step;

typedef struct {
  diag_list *d;
  schema_build *b;
  const char *kind;
  bool ok;
  int depth;
  step path[VALUE_MAX_DEPTH + 2];
} walk;

static void check_value(walk *w, const value *v, const stype *t);

/* Where the walk stands, as the message names it: Deployment.spec.replicas,
 * Pod.spec.containers[0], ConfigMap.data["app.conf"]. */
static const char *path_text(const walk *w) {
  buf b = {0};
  buf_puts(&b, w->kind);
  for (int i = 0; i < w->depth; i++) {
    const char *k = w->path[i].key;
    bool plain = k && *k;
    for (const char *c = k; plain && *c; c++)
      plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || is_digit(*c) || *c == '_' || *c == '-';
    if (!k) buf_printf(&b, "[%zu]", w->path[i].index);
    else if (plain) buf_printf(&b, ".%s", k);
    else buf_printf(&b, "[\"%s\"]", k);
  }
  char *text = arena_strdup(w->d->arena, b.data);
  buf_free(&b);
  return text;
}

static void fail(walk *w, pos at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(walk *w, pos at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = arena_vprintf(w->d->arena, fmt, ap);
  va_end(ap);
  diag_error(w->d, at, "%s", msg);
  w->ok = false;
}

static void wrong_type(walk *w, const value *v, const char *want) {
  fail(w, v->at, "%s must be %s, got %s", path_text(w), want, value_a(v->kind));
}

/* Steps into part of the value; false when the walk is as deep as a
 * value can be (the evaluator allows no deeper one). */
static bool enter(walk *w, const char *key, size_t index) {
  if (w->depth == VALUE_MAX_DEPTH + 1) return false;
  w->path[w->depth++] = (step){key, index};
  return true;
}

static size_t seen_slot(const checked *set, size_t cap, const value *v, const stype *t) {
  size_t h = (size_t)(((uintptr_t)v >> 4) * 0x9E3779B97F4A7C15u ^ (uintptr_t)t >> 4);
  for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
    if (!set[i].v || (set[i].v == v && set[i].t == t)) return i;
}

/* False if v was checked against t before in this build; marks it. */
static bool first_check(schema_build *b, const value *v, const stype *t) {
  if (2 * (b->nseen + 1) > b->seencap) {
    size_t cap = b->seencap ? 2 * b->seencap : 1024;
    checked *set = arena_alloc(b->a, cap * sizeof *set);
    for (size_t i = 0; i < b->seencap; i++)
      if (b->seen[i].v) set[seen_slot(set, cap, b->seen[i].v, b->seen[i].t)] = b->seen[i];
    b->seen = set, b->seencap = cap;
  }
  size_t i = seen_slot(b->seen, b->seencap, v, t);
  if (b->seen[i].v) return false;
  b->seen[i] = (checked){v, t};
  b->nseen++;
  return true;
}

static void check_at(walk *w, const char *key, size_t index, const value *v, const stype *t) {
  if (v->literal && (v->kind == V_OBJECT || v->kind == V_LIST) && !first_check(w->b, v, t)) return;
  if (!enter(w, key, index)) return;
  check_value(w, v, t);
  w->depth--;
}

static const char *did_you_mean(walk *w, const char *hint) {
  return hint ? arena_printf(w->d->arena, "; did you mean \"%s\"?", hint) : "";
}

static void unknown_field(walk *w, const field *f, const sdef *d) {
  const char **names = arena_alloc(w->d->arena, (d->nfields + 1) * sizeof *names);
  for (size_t i = 0; i < d->nfields; i++) names[i] = d->fields[i].name;
  const char *hint = nearest_word(f->key, names, d->nfields);
  fail(w, f->val->at, "unknown field \"%s\" in %s%s", f->key, path_text(w), did_you_mean(w, hint));
}

/* The type of apiVersion, kind and metadata in an embedded resource (and
 * at the top of a custom resource), whatever its schema says of them, as
 * the API server has it; NULL for other keys. */
static const stype *resource_field(const walk *w, const char *key) {
  static const stype string = {.kind = ST_STRING};
  if (strcmp(key, "apiVersion") == 0 || strcmp(key, "kind") == 0) return &string;
  return strcmp(key, "metadata") == 0 ? w->b->set->object_meta : NULL;
}

static void check_object(walk *w, const value *v, const sdef *d) {
  if (v->kind != V_OBJECT) return wrong_type(w, v, "an object");
  for (size_t i = 0; i < v->u.obj.len; i++) {
    const field *f = &v->u.obj.fields[i];
    const stype *rt = d->embedded ? resource_field(w, f->key) : NULL;
    const sfield *sf = rt ? NULL : find_field(d, f->key);
    if (rt || sf) check_at(w, f->key, 0, f->val, rt ? rt : sf->type);
    else if (!d->preserve) unknown_field(w, f, d);
  }
  for (size_t i = 0, seen = 0; seen < d->nrequired; i++) {
    if (!d->fields[i].required) continue;
    seen++;
    if (!value_object_get(v, d->fields[i].name))
      fail(w, v->at, "missing required field \"%s\" in %s", d->fields[i].name, path_text(w));
  }
}

static void check_enum(walk *w, const value *v, const stype *t) {
  const char *got = v->u.str.s;
  if (!*got && t->empty_ok) return;
  for (size_t i = 0; i < t->nnames; i++)
    if (strcmp(got, t->names[i]) == 0) return;
  const char *hint = nearest_word(got, t->names, t->nnames);
  buf b = {0};
  for (size_t i = 0; t->nnames <= 12 && i < t->nnames; i++)
    buf_printf(&b, "%s\"%s\"", i ? ", " : "one of ", t->names[i]);
  fail(w, v->at, "%s: \"%s\" is not %s%s", path_text(w), got, b.len ? b.data : "a value it takes",
       did_you_mean(w, hint));
  buf_free(&b);
}

/* An int in [lo, hi) where the schema wants one (want says what it
 * wants); an integral float passes, as the API server converts it. */
static void check_int(walk *w, const value *v, double lo, double hi, const char *size, const char *want) {
  double x = v->kind == V_INT ? (double)v->u.i : v->kind == V_FLOAT ? v->u.f : NAN;
  if (isnan(x) || x != floor(x)) return wrong_type(w, v, want);
  if (x < lo || x >= hi) fail(w, v->at, "%s: %.17g is out of range for %s int", path_text(w), x, size);
}

/* What makes two items one to server-side apply: "the same containerPort
 * and protocol". */
static const char *identity(walk *w, const stype *t) {
  buf b = {0};
  for (size_t k = 0; k < t->nnames; k++) {
    const char *key = t->names[k], *eq = strchr(key, '=');
    buf_printf(&b, "%s%.*s",
               k == 0              ? "the same "
               : k + 1 < t->nnames ? ", "
                                   : " and ",
               (int)(eq ? (size_t)(eq - key) : strlen(key)), key);
  }
  char *text = arena_strdup(w->d->arena, b.data);
  buf_free(&b);
  return text;
}

/* An item of a list-type map and the values of its keys, in the order of
 * the schema's keys; NULL for a key it leaves out. */
typedef struct {
  const value *item;
  size_t index;
  const value **keys;
  size_t nkeys;
} keyed;

/* The key values of item; a key "NAME=DEFAULT" left out counts as
 * DEFAULT, as server-side apply has it. */
static void read_keys(arena *a, const stype *t, const value *item, const value **keys) {
  for (size_t k = 0; k < t->nnames; k++) {
    const char *key = t->names[k], *eq = strchr(key, '=');
    keys[k] = value_object_getn(item, key, eq ? (size_t)(eq - key) : strlen(key));
    if (!keys[k] && eq) keys[k] = value_cstring(a, item->at, eq + 1);
  }
}

static int cmp_keys(const keyed *x, const keyed *y) {
  for (size_t k = 0; k < x->nkeys; k++) {
    const value *vx = x->keys[k], *vy = y->keys[k];
    int c = vx && vy ? value_compare(vx, vy) : (vx != NULL) - (vy != NULL);
    if (c) return c;
  }
  return 0;
}

/* By keys, then by place in the list. */
static int cmp_keyed(const void *pa, const void *pb) {
  const keyed *x = pa, *y = pb;
  int c = cmp_keys(x, y);
  return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Items with the same keys, found by sorting: a list may be long. Each is
 * reported against the first of its keys. */
static void check_duplicates(walk *w, const value *v, const stype *t) {
  size_t n = 0;
  keyed *items = heap_alloc(v->u.list.len * sizeof *items + 1);
  const value **keys = heap_alloc(v->u.list.len * t->nnames * sizeof *keys + 1);
  for (size_t i = 0; i < v->u.list.len; i++) {
    const value *item = v->u.list.items[i];
    if (item->kind != V_OBJECT) continue;
    items[n] = (keyed){item, i, keys + n * t->nnames, t->nnames};
    read_keys(w->d->arena, t, item, items[n++].keys);
  }
  if (n > 1) qsort(items, n, sizeof *items, cmp_keyed);
  for (size_t i = 1, first = 0; i < n; i++) {
    if (cmp_keys(&items[first], &items[i]) != 0) {
      first = i;
      continue;
    }
    fail(w, items[i].item->at, "%s: items %zu and %zu have %s; the API server takes them for one", path_text(w),
         items[first].index, items[i].index, identity(w, t));
    diag_note(w->d, items[first].item->at, "item %zu is here", items[first].index);
  }
  free(items);
  free(keys);
}

static void check_list(walk *w, const value *v, const stype *t) {
  if (v->kind != V_LIST) return wrong_type(w, v, "a list");
  for (size_t i = 0; i < v->u.list.len; i++) check_at(w, NULL, i, v->u.list.items[i], t->item);
  if (t->nnames) check_duplicates(w, v, t);
}

static void check_map(walk *w, const value *v, const stype *t) {
  if (v->kind != V_OBJECT) return wrong_type(w, v, "an object");
  for (size_t i = 0; i < v->u.obj.len; i++) check_at(w, v->u.obj.fields[i].key, 0, v->u.obj.fields[i].val, t->item);
}

/* A string that must match a format: is names the format's check. */
static void check_format(walk *w, const value *v, bool (*is)(const char *), const char *what) {
  if (v->kind != V_STRING) return wrong_type(w, v, what);
  if (!is(v->u.str.s)) fail(w, v->at, "%s: \"%s\" is not %s", path_text(w), v->u.str.s, what);
}

static void check_value(walk *w, const value *v, const stype *t) {
  if (v->kind == V_NULL) return; /* the API server reads null as "not set" */
  switch (t->kind) {
  case ST_ANY: return;
  case ST_OBJECT:
    if (v->kind != V_OBJECT) wrong_type(w, v, "an object");
    return;
  case ST_DEF: return check_object(w, v, t->def);
  case ST_LIST: return check_list(w, v, t);
  case ST_MAP: return check_map(w, v, t);
  case ST_STRING:
    if (v->kind != V_STRING) return wrong_type(w, v, "a string");
    if (t->nnames) check_enum(w, v, t);
    return;
  case ST_BYTE: return check_format(w, v, is_base64, "base64 text");
  case ST_DATE_TIME: return check_format(w, v, is_date_time, "an RFC 3339 time");
  case ST_INTEGER:
  case ST_INT64: return check_int(w, v, -0x1p63, 0x1p63, "a 64-bit", "an int");
  case ST_INT32: return check_int(w, v, -0x1p31, 0x1p31, "a 32-bit", "an int");
  case ST_NUMBER:
    if (v->kind != V_INT && v->kind != V_FLOAT) wrong_type(w, v, "a number");
    return;
  case ST_BOOL:
    if (v->kind != V_BOOL) wrong_type(w, v, "a bool");
    return;
  case ST_INT_OR_STRING:
    /* 64 bits: a CRD's may be; a built-in IntOrString holds 32. */
    if (v->kind != V_STRING) check_int(w, v, -0x1p63, 0x1p63, "a 64-bit", "an int or a string");
    return;
  case ST_QUANTITY:
    if (v->kind == V_INT || v->kind == V_FLOAT) return;
    return check_format(w, v, is_quantity, "a quantity (a number, or a string such as \"500m\" or \"1Gi\")");
  }
}

/* ---- entry points ---------------------------------------------------------- */

static const value *marker(const value *res) {
  return value_object_get(value_object_get(value_object_get(res, "metadata"), "annotations"), SCHEMA_ANNOTATION);
}

/* Whether res asks to be checked: SCHEMA_ANNOTATION is "true" or absent. */
static bool wanted(diag_list *d, const value *res, bool *ok) {
  const value *m = marker(res);
  if (!m) return true;
  if (m->kind == V_STRING && strcmp(m->u.str.s, "false") == 0) return false;
  if (m->kind == V_STRING && strcmp(m->u.str.s, "true") == 0) return true;
  diag_error(d, m->at, "annotation %s must be \"true\" or \"false\"", SCHEMA_ANNOTATION);
  *ok = false;
  return false;
}

static const skind *find_crd_kind(const schema_build *c, const char *api, const char *kind) {
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->kinds[i].api, api) == 0 && strcmp(c->kinds[i].kind, kind) == 0) return &c->kinds[i];
  return NULL;
}

bool schema_check(diag_list *d, schema_build *b, const value *res) {
  bool ok = true;
  const char *api = value_get_string(res, "apiVersion"), *kind = value_get_string(res, "kind");
  if (!api || !kind || !wanted(d, res, &ok)) return ok;
  const skind *k = find_kind(b->set, api, kind);
  if (!k) k = find_crd_kind(b, api, kind);
  if (!k) return true;
  /* Not zeroed whole: the path is written before it is read. */
  walk *w = heap_alloc(sizeof *w);
  w->d = d, w->b = b, w->kind = kind, w->ok = true, w->depth = 0;
  check_value(w, res, k->type);
  ok = w->ok;
  free(w);
  return ok;
}

bool schema_unchecked(const value *res) {
  const value *m = marker(res);
  return m && m->kind == V_STRING && strcmp(m->u.str.s, "false") == 0;
}

value *schema_strip(arena *a, value *res) {
  if (!marker(res)) return res;
  value *meta = value_clone(a, value_object_get(res, "metadata"));
  value *ann = value_clone(a, value_object_get(meta, "annotations"));
  value_object_remove(ann, SCHEMA_ANNOTATION);
  if (ann->u.obj.len) value_object_set(a, meta, "annotations", ann);
  else value_object_remove(meta, "annotations");
  value *copy = value_clone(a, res);
  value_object_set(a, copy, "metadata", meta);
  return copy;
}

/* ---- the schemas of CustomResourceDefinitions ------------------------------ */

/* A CRD's schema (a JSONSchemaProps value) as a type, read as the API
 * server reads a structural schema; what this does not know of (anyOf,
 * patterns, limits) leaves a value unchecked rather than refused. */
static const stype *crd_type(arena *a, const value *s);

static bool equals(const char *s, const char *want) { return s && strcmp(s, want) == 0; }

static bool flag(const value *s, const char *key) {
  const value *v = value_object_get(s, key);
  return v && v->kind == V_BOOL && v->u.b;
}

/* The strings of list l (an enum, required fields, keys), or false if l
 * is not a list of strings. */
static bool strings(arena *a, const value *l, const char ***out, size_t *n) {
  if (!l || l->kind != V_LIST) return false;
  for (size_t i = 0; i < l->u.list.len; i++)
    if (l->u.list.items[i]->kind != V_STRING) return false;
  *n = l->u.list.len;
  *out = arena_alloc(a, (*n + 1) * sizeof **out);
  for (size_t i = 0; i < *n; i++) (*out)[i] = l->u.list.items[i]->u.str.s;
  return true;
}

static bool listed(const char *const *names, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0) return true;
  return false;
}

/* An object schema as a definition of its own; props NULL for one that
 * lists no field. */
static sdef *crd_def(arena *a, const value *s, const value *props) {
  sdef *d = arena_alloc(a, sizeof *d);
  d->name = "";
  d->preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
  d->embedded = flag(s, "x-kubernetes-embedded-resource");
  const char **required = NULL;
  size_t nrequired = 0;
  strings(a, value_object_get(s, "required"), &required, &nrequired);
  d->nfields = props ? props->u.obj.len : 0;
  d->fields = arena_alloc(a, (d->nfields + 1) * sizeof *d->fields);
  const char **keys = props ? value_sorted_keys(props) : NULL;
  for (size_t i = 0; i < d->nfields; i++) {
    /* The API server puts a default in before it validates. */
    const value *prop = value_object_get(props, keys[i]);
    bool req = listed(required, nrequired, keys[i]) && !value_object_get(prop, "default");
    d->fields[i] = (sfield){keys[i], crd_type(a, prop), req};
    d->nrequired += req;
  }
  free(keys);
  return d;
}

/* A list-type map's keys, with the default a key's schema gives it. */
static void crd_map_keys(arena *a, const value *s, stype *t) {
  if (!strings(a, value_object_get(s, "x-kubernetes-list-map-keys"), &t->names, &t->nnames)) return;
  const value *props = value_get_path(s, "items.properties");
  for (size_t k = 0; k < t->nnames; k++) {
    const value *def = value_get_path(value_object_get(props, t->names[k]), "default");
    if (def && def->kind == V_STRING) t->names[k] = arena_printf(a, "%s=%s", t->names[k], def->u.str.s);
  }
}

static const stype *crd_type(arena *a, const value *s) {
  stype *t = arena_alloc(a, sizeof *t);
  const char *type = value_get_string(s, "type"), *format = value_get_string(s, "format");
  const value *props = value_object_get(s, "properties"), *more = value_object_get(s, "additionalProperties");
  if (props && props->kind != V_OBJECT) props = NULL;
  bool preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
  if (!s || s->kind != V_OBJECT || (preserve && !type)) {
    t->kind = ST_ANY;
  } else if (flag(s, "x-kubernetes-int-or-string")) {
    t->kind = ST_INT_OR_STRING;
  } else if (equals(type, "array")) {
    t->kind = ST_LIST;
    t->item = crd_type(a, value_object_get(s, "items"));
    if (equals(value_get_string(s, "x-kubernetes-list-type"), "map")) crd_map_keys(a, s, t);
  } else if (props || flag(s, "x-kubernetes-embedded-resource")) {
    t->kind = ST_DEF;
    t->def = crd_def(a, s, props);
  } else if (more && more->kind == V_OBJECT) {
    t->kind = ST_MAP;
    t->item = crd_type(a, more);
  } else if (equals(type, "object")) {
    /* An object without properties keeps no field, unless it says so: the
     * API server prunes them, or refuses them when it validates fields
     * strictly. */
    t->kind = preserve || (more && value_truthy(more)) ? ST_OBJECT : ST_DEF;
    if (t->kind == ST_DEF) t->def = crd_def(a, s, NULL);
  } else if (equals(type, "string")) {
    t->kind = equals(format, "byte") ? ST_BYTE : equals(format, "date-time") ? ST_DATE_TIME : ST_STRING;
    if (t->kind == ST_STRING) strings(a, value_object_get(s, "enum"), &t->names, &t->nnames);
  } else {
    static const struct {
      const char *name;
      stype_kind kind;
    } simple[] = {{"integer", ST_INTEGER}, {"number", ST_NUMBER}, {"boolean", ST_BOOL}};
    t->kind = ST_ANY;
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
      if (equals(type, simple[i].name)) t->kind = simple[i].kind;
  }
  return t;
}

/* The top of a custom resource, where apiVersion, kind and metadata are
 * the API server's, as in an embedded resource. */
static const stype *crd_root(arena *a, const value *s) {
  const stype *t = crd_type(a, s);
  if (t->kind != ST_DEF) return t;
  sdef *d = arena_alloc(a, sizeof *d);
  *d = *t->def;
  d->embedded = true;
  stype *root = arena_alloc(a, sizeof *root);
  *root = (stype){.kind = ST_DEF, .def = d};
  return root;
}

schema_build *schema_build_new(arena *a, const char *version) {
  size_t n, i = 0;
  const char *const *all = compile_kube_versions(&n);
  while (version && i + 1 < n && strcmp(all[i], version) != 0) i++;
  schema_build *b = arena_alloc(a, sizeof *b);
  b->a = a;
  b->set = set_of(version ? i : n - 1);
  return b;
}

const char *schema_version(const schema_build *b) { return b->set->version; }

/* A kind beside the embedded ones: a CRD's, or one a cluster serves. */
static void add_kind(schema_build *c, skind k) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 8;
    c->kinds = arena_grow(c->a, c->kinds, c->n * sizeof *c->kinds, cap * sizeof *c->kinds);
    c->cap = cap;
  }
  c->kinds[c->n++] = k;
}

void schema_add_crd(schema_build *c, const value *res) {
  /* The kind first: this is asked of every resource. */
  if (!equals(value_get_string(res, "kind"), "CustomResourceDefinition") ||
      !equals(value_get_string(res, "apiVersion"), "apiextensions.k8s.io/v1"))
    return;
  const char *group = value_get_string(res, "spec.group"), *kind = value_get_string(res, "spec.names.kind");
  const value *versions = value_get_path(res, "spec.versions");
  if (!group || !kind || !versions || versions->kind != V_LIST) return;
  for (size_t i = 0; i < versions->u.list.len; i++) {
    const value *v = versions->u.list.items[i], *schema = value_get_path(v, "schema.openAPIV3Schema");
    const char *name = value_get_string(v, "name");
    if (name && schema) add_kind(c, (skind){arena_printf(c->a, "%s/%s", group, name), kind, crd_root(c->a, schema)});
  }
}

/* ---- the schemas a cluster serves ------------------------------------------ */

/* Its OpenAPI v3 documents name their schemas by reference ($ref to
 * #/components/schemas/NAME, alone or as the one item of an allOf): each
 * is read once into a value with its references replaced by what they
 * name, so that crd_type reads it as it reads the inline schema of a CRD.
 * A schema that refers back to one being replaced (JSONSchemaProps holds
 * itself) is cut there: what is below takes any value. */
typedef struct {
  arena *a;
  const value *schemas; /* components.schemas */
  value *done;          /* name -> its schema with references replaced */
  value *busy;          /* the names being replaced */
} inliner;

static value *inline_refs(inliner *in, value *s, int depth);

static value *resolve_ref(inliner *in, const value *ref, int depth) {
  static const char prefix[] = "#/components/schemas/";
  const char *name = ref->kind == V_STRING ? ref->u.str.s : "";
  value *s =
      strncmp(name, prefix, sizeof prefix - 1) == 0 ? value_object_get(in->schemas, name + sizeof prefix - 1) : NULL;
  value *done = s ? value_object_get(in->done, name) : NULL;
  if (!s || done || value_object_get(in->busy, name)) return done ? done : value_object(in->a, ref->at);
  value_object_set(in->a, in->busy, name, s);
  done = inline_refs(in, s, depth + 1);
  value_object_remove(in->busy, name);
  value_object_set(in->a, in->done, name, done);
  return done;
}

/* s with its references replaced; s itself when it has none. Its own
 * keys beside a reference (a description, a default) are kept. */
static value *inline_refs(inliner *in, value *s, int depth) {
  if (depth > VALUE_MAX_DEPTH || (s->kind != V_OBJECT && s->kind != V_LIST)) return s;
  value *out = NULL;
  if (s->kind == V_LIST)
    for (size_t i = 0; i < s->u.list.len; i++) {
      value *item = s->u.list.items[i], *now = inline_refs(in, item, depth + 1);
      if (now == item) continue;
      if (!out) out = value_clone(in->a, s);
      value_list_set(out, i, now);
    }
  const value *all = s->kind == V_OBJECT ? value_object_get(s, "allOf") : NULL;
  const value *ref = s->kind == V_OBJECT ? value_object_get(s, "$ref") : NULL;
  if (!ref && all && all->kind == V_LIST && all->u.list.len == 1) ref = value_object_get(all->u.list.items[0], "$ref");
  if (ref) {
    value *target = resolve_ref(in, ref, depth);
    out = value_clone(in->a, target);
    for (size_t i = 0; i < s->u.obj.len; i++) {
      const field *f = &s->u.obj.fields[i];
      if (strcmp(f->key, "$ref") && strcmp(f->key, "allOf") && !value_object_get(out, f->key))
        value_object_set(in->a, out, f->key, f->val);
    }
    return out;
  }
  for (size_t i = 0; s->kind == V_OBJECT && i < s->u.obj.len; i++) {
    const field *f = &s->u.obj.fields[i];
    value *now = inline_refs(in, f->val, depth + 1);
    if (now == f->val) continue;
    if (!out) out = value_clone(in->a, s);
    value_object_set(in->a, out, f->key, now);
  }
  return out ? out : s;
}

/* Whether gvks (x-kubernetes-group-version-kind) names api and kind. */
static bool names_kind(const value *gvks, const char *api, const char *kind) {
  for (size_t i = 0; gvks && gvks->kind == V_LIST && i < gvks->u.list.len; i++) {
    const value *g = gvks->u.list.items[i];
    const char *group = value_get_string(g, "group"), *version = value_get_string(g, "version");
    if (!group || !version || !equals(value_get_string(g, "kind"), kind)) continue;
    size_t n = strlen(group);
    bool same = n ? strncmp(api, group, n) == 0 && api[n] == '/' && strcmp(api + n + 1, version) == 0
                  : strcmp(api, version) == 0;
    if (same) return true;
  }
  return false;
}

/* Whether any embedded version has the kind: a built-in kind was checked
 * by the build (or its version predates it). */
static bool embedded_kind(const char *api, const char *kind) {
  size_t n;
  compile_kube_versions(&n);
  for (size_t i = 0; i < n; i++)
    if (find_kind(set_of(i), api, kind)) return true;
  return false;
}

/* What a check of served schemas has read: the documents by
 * group-version, api -> its components.schemas (null when the cluster
 * serves none). */
typedef struct {
  arena *a;
  diag_list *d;
  const compile_served *s;
  value *docs;
  bool ok;
} served_docs;

static const value *served_schemas(served_docs *sd, const char *api) {
  value *got = value_object_get(sd->docs, api);
  if (got) return got->kind == V_OBJECT ? got : NULL;
  const char *text = NULL, *err = NULL;
  size_t len = 0;
  int rc = sd->s->read(sd->s->ctx, api, sd->a, &text, &len, &err);
  value *docs = NULL, *schemas = NULL;
  if (rc == 0 && len > COMPILE_MAX_FILE) err = compile_file_too_big(sd->a, api, len), rc = -2;
  if (rc == 0) {
    diag_list quiet;
    diag_init(&quiet, sd->a);
    if (yaml_read_json(sd->a, &quiet, api, text, len, &docs) < 0 || !docs || docs->u.list.len != 1)
      err = quiet.first ? quiet.first->msg : "it is not one JSON document", rc = -2;
    else if (!(schemas = value_get_path(docs->u.list.items[0], "components.schemas")) || schemas->kind != V_OBJECT)
      err = "it has no components.schemas", rc = -2;
  }
  if (rc == -2) {
    diag_error(sd->d, (pos){0}, "cannot read the cluster's schemas of %s: %s", api, err);
    sd->ok = false;
  }
  value_object_set(sd->a, sd->docs, api, rc == 0 ? schemas : value_null(sd->a, (pos){0}));
  return rc == 0 ? schemas : NULL;
}

/* The type of api's kind in the cluster's document, or NULL. */
static const stype *served_type(served_docs *sd, const char *api, const char *kind) {
  const value *schemas = served_schemas(sd, api);
  for (size_t i = 0; schemas && i < schemas->u.obj.len; i++) {
    value *s = schemas->u.obj.fields[i].val;
    if (!names_kind(value_object_get(s, "x-kubernetes-group-version-kind"), api, kind)) continue;
    inliner in = {sd->a, schemas, value_object(sd->a, (pos){0}), value_object(sd->a, (pos){0})};
    return crd_root(sd->a, inline_refs(&in, s, 0));
  }
  return NULL;
}

bool compile_check_served(const compile_result *r, diag_list *d, const compile_served *s) {
  served_docs sd = {d->arena, d, s, value_object(d->arena, (pos){0}), true};
  schema_build *b = schema_build_new(d->arena, NULL);
  for (size_t i = 0; i < r->nres; i++) schema_add_crd(b, r->res[i].obj);
  size_t built = b->n; /* the kinds of the build's CRDs; those the cluster serves follow */
  for (size_t i = 0; i < r->nres; i++) {
    const value *res = r->res[i].obj;
    const char *api = value_get_string(res, "apiVersion"), *kind = value_get_string(res, "kind");
    if (r->res[i].unchecked || !api || !kind || embedded_kind(api, kind)) continue;
    const skind *k = find_crd_kind(b, api, kind);
    if (k && k < b->kinds + built) continue;
    const stype *t = k ? k->type : served_type(&sd, api, kind);
    if (!t) continue;
    if (!k) add_kind(b, (skind){api, kind, t});
    sd.ok = schema_check(d, b, res) && sd.ok;
  }
  return sd.ok;
}
