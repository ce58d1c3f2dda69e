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
 * build's arena, at the end of this file, each type with the value
 * validations (limits, patterns, formats, junctions) its schema adds,
 * checked after the type as the API server's validate package does. */
#include "schema.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "plumb/compile.h"
#include "plumb/emit.h"
#include "plumb/yaml.h"
#include "regex.h"
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
typedef struct svalid svalid;

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
  /* What a CRD's schema asks of the value beyond its type; NULL for none
   * (and for every built-in kind). */
  const svalid *valid;
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
  /* A CRD version with the status subresource: the API server drops
   * .status on create before it validates (server-side apply still
   * checks its fields and types), so its value validations are not run. */
  bool status_dropped;
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
  eval *ev; /* the compile's budget of work, charged for patterns and junctions */
  /* PCRE2 allocates in a, so that a CRD's patterns go with the build;
   * made on first use (in_arena), as most builds have no pattern. */
  pcre2_general_context *gc;
  pcre2_match_data *md;
  skind *kinds; /* those the build's CRDs define */
  size_t n, cap;
  /* A template's literal text is one value, shared by all the resources
   * it makes: each such part is checked once against a type (and its
   * mistakes reported once). An open-addressing set, cap a power of 2. */
  checked *seen;
  size_t nseen, seencap;
  /* The walk of schema_check, made on the first and used by the next:
   * a step for each level a value may have, it is big. */
  struct walk *walk;
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
  skind key = {api, kind, NULL, false};
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

typedef struct walk {
  diag_list *d;
  schema_build *b;
  const char *kind;
  bool ok;
  /* Trying a schema of anyOf, oneOf or not: failures are counted, and
   * the first kept as text, not reported. */
  bool quiet;
  size_t failures;
  const char *first;
  bool status_dropped; /* the kind's; see skind */
  int depth;
  step path[VALUE_MAX_DEPTH + 2];
} walk;

static void check_value(walk *w, const value *v, const stype *t);
static void check_valid(walk *w, const value *v, const svalid *sv);

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
  /* Past the compile's budget the checks that cost work stopped half
   * way (a junction's schemas seem to pass): nothing more is reported. */
  if (!eval_charge(w->b->ev, at, 0)) return;
  w->failures++;
  if (w->quiet && w->first) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = arena_vprintf(w->d->arena, fmt, ap);
  va_end(ap);
  if (w->quiet) {
    w->first = msg;
    return;
  }
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

/* Whether the value the walk stands on is validated, not only decoded:
 * all but a .status the API server drops (skind's status_dropped). */
static bool validated(const walk *w) {
  const char *k = w->status_dropped && w->depth ? w->path[0].key : NULL;
  return !k || strcmp(k, "status") != 0;
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
  if (t->valid && validated(w)) check_valid(w, v, t->valid);
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
  fail(w, v->at, "%s: %s is not %s%s", path_text(w), value_quoted(w->d->arena, v), b.len ? b.data : "a value it takes",
       v->secret ? "" : did_you_mean(w, hint));
  buf_free(&b);
}

/* An int in [lo, hi) where the schema wants one (want says what it
 * wants); an integral float passes, as the API server converts it. */
static void check_int(walk *w, const value *v, double lo, double hi, const char *size, const char *want) {
  if (v->kind == V_INT) {
    /* an int is an int64; as a double INT64_MAX would be 2^63, past hi */
    if (hi < 0x1p63 && ((double)v->u.i < lo || (double)v->u.i >= hi))
      fail(w, v->at, "%s: %lld is out of range for %s int", path_text(w), (long long)v->u.i, size);
    return;
  }
  double x = v->kind == V_FLOAT ? v->u.f : NAN;
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
  if (t->nnames && v->u.list.len > 1) check_duplicates(w, v, t); /* one item clashes with none */
}

static void check_map(walk *w, const value *v, const stype *t) {
  if (v->kind != V_OBJECT) return wrong_type(w, v, "an object");
  for (size_t i = 0; i < v->u.obj.len; i++) check_at(w, v->u.obj.fields[i].key, 0, v->u.obj.fields[i].val, t->item);
}

/* A string that must match a format: is names the format's check. */
static void check_format(walk *w, const value *v, bool (*is)(const char *), const char *what) {
  if (v->kind != V_STRING) return wrong_type(w, v, what);
  if (!is(v->u.str.s)) fail(w, v->at, "%s: %s is not %s", path_text(w), value_quoted(w->d->arena, v), what);
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
    if (t->nnames && validated(w)) check_enum(w, v, t);
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

/* ---- value validations of a CRD's schema -----------------------------------
 *
 * What k8s.io/kube-openapi's validate package checks once a value has the
 * right type, as the API server runs it on custom resources: limits,
 * patterns, formats, enums of any kind, and the junctions (allOf, anyOf,
 * oneOf, not), whose schemas hold value validations only (a structural
 * schema allows nothing else there). Each check applies to the kinds of
 * value it concerns, whatever the schema's type, as the validators there
 * do. CEL rules (x-kubernetes-validations) are left to the API server. */

typedef struct sformat sformat;

struct svalid {
  /* minimum, maximum, multipleOf; NAN where the schema has none. */
  double min, max, multiple;
  bool excl_min, excl_max;
  /* The schema's type is integer, and its format int32 (or for a number,
   * float): what its bounds and values must fit in (numberValidator). */
  bool int_type, narrow;
  /* minLength ... maxProperties, int64s (exact as long doubles); NAN
   * where the schema has none. */
  long double min_len, max_len, min_items, max_items, min_props, max_props;
  const char *pattern;
  pcre2_code *re;
  const sformat *format;
  const value *enums; /* the schema's enum, a list, when the type does not hold it */
  /* null where the schema has a type and is not nullable; noun names it */
  const char *null_refused;
  /* it asks more of a value than not to be null (a junction's schema
   * always does): most schemas of a CRD have a type alone, and their
   * values pass check_valid by */
  bool values;
  bool set; /* x-kubernetes-list-type: set */
  /* In the schemas of the junctions alone, beside the outer schema's
   * type: required fields, and the validations of fields and items. */
  const char **required;
  size_t nrequired;
  const char **prop_names; /* sorted, for bsearch */
  const svalid **props;
  size_t nprops;
  const svalid *items, *more;
  const svalid **all_of, **any_of, **one_of, *not;
  size_t nall, nany, none;
};

/* A string format of kube-openapi's strfmt registry that the API server
 * checks in a custom resource (apiextensions-apiserver's supported formats;
 * any other format is dropped from the schema there, so here). Its name
 * is written without '-', as the registry compares them: "date-time" and
 * "datetime" are one. A format is checked by a pattern (Go's, compiled once
 * by PCRE2), a function, or both. */
struct sformat {
  const char *name;
  const char *noun;
  const char *pattern;
  bool (*is)(const char *s, size_t n);
};

static bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* A number of at most max from digits s[0..n): ParseIPSloppy's fields,
 * leading zeros allowed. */
static bool small_number(const char *s, size_t n, long max) {
  long x = 0;
  if (!n) return false;
  for (size_t i = 0; i < n; i++) {
    if (!is_digit(s[i]) || (x = x * 10 + (s[i] - '0')) > max) return false;
  }
  return true;
}

/* k8s.io/utils/net's ParseIPSloppy: four decimal fields of up to 255,
 * leading zeros allowed, as Go's net.ParseIP took them before 1.17. */
static bool is_ipv4_sloppy(const char *s, size_t n) {
  int fields = 0;
  for (size_t i = 0, start = 0; i <= n; i++) {
    if (i < n && s[i] != '.') continue;
    if (++fields > 4 || !small_number(s + start, i - start, 255)) return false;
    start = i + 1;
  }
  return fields == 4;
}

/* An IPv6 address as net.ParseIP reads one (no zone); with its ':', as
 * govalidator's IsIPv6 asks. */
static bool is_ipv6(const char *s, size_t n) {
  char text[INET6_ADDRSTRLEN + 1];
  unsigned char addr[16];
  if (n >= sizeof text || memchr(s, ':', n) == NULL) return false;
  memcpy(text, s, n), text[n] = '\0';
  return inet_pton(AF_INET6, text, addr) == 1;
}

/* strfmt's ipv4: whatever ParseIPSloppy reads, with a '.' in it; so
 * "::ffff:1.2.3.4" is one too. */
static bool is_ipv4(const char *s, size_t n) {
  return is_ipv4_sloppy(s, n) || (is_ipv6(s, n) && memchr(s, '.', n));
}

/* ParseCIDRSloppy: an address, '/', a prefix length within its bits. */
static bool is_cidr(const char *s, size_t n) {
  const char *slash = memchr(s, '/', n);
  if (!slash) return false;
  size_t an = (size_t)(slash - s), ln = n - an - 1;
  if (is_ipv4_sloppy(s, an)) return small_number(slash + 1, ln, 32);
  return is_ipv6(s, an) && small_number(slash + 1, ln, 128);
}

/* net.ParseMAC: 6, 8 or 20 octets, as pairs of hex digits joined by ':'
 * or '-' (one of them throughout), or groups of four joined by '.'. */
static bool is_mac(const char *s, size_t n) {
  if (n < 14) return false;
  size_t group = s[2] == ':' || s[2] == '-' ? 2 : s[4] == '.' ? 4 : 0;
  if (!group || (n + 1) % (group + 1)) return false;
  size_t octets = (n + 1) / (group + 1) * group / 2;
  if (octets != 6 && octets != 8 && octets != 20) return false;
  char sep = s[group];
  for (size_t i = 0; i < n; i++)
    if ((i + 1) % (group + 1) == 0 ? s[i] != sep : !is_hex(s[i])) return false;
  return true;
}

static bool is_bson_object_id(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_hex(s[i])) return false;
  return n == 24;
}

/* time.Parse("2006-01-02"): a day the month has. */
static bool is_date(const char *s, size_t n) {
  if (n != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i = 0; i < n; i++)
    if (i != 4 && i != 7 && !is_digit(s[i])) return false;
  int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
  static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  return m >= 1 && m <= 12 && d >= 1 && d <= (m == 2 && !leap ? 28 : days[m - 1]);
}

/* The end of the time zone of a date-time: "z" or "+hh:mm", the rest of s. */
static bool is_zone(const char *s, const char *end) {
  if (end - s == 1) return *s == 'z' || *s == 'Z';
  return end - s == 6 && (*s == '+' || *s == '-') && is_digit(s[1]) && is_digit(s[2]) && s[3] == ':' &&
         is_digit(s[4]) && is_digit(s[5]);
}

/* strfmt's IsDateTime: lower-cased and cut at each 't', the first part a
 * date and the second "hh:mm:ss", an optional fraction after any one
 * character (its pattern's '.' is not escaped), and a zone; hours up to
 * 23, minutes and seconds up to 59. What follows a second 't' is not
 * looked at. */
static bool is_strfmt_date_time(const char *s, size_t n) {
  const char *t = NULL, *end = s + n;
  for (const char *p = s; p < end && !t; p++)
    if (*p == 't' || *p == 'T') t = p;
  if (n < 4 || !t || !is_date(s, (size_t)(t - s))) return false;
  const char *p = t + 1, *stop = p;
  while (stop < end && *stop != 't' && *stop != 'T') stop++;
  static const char shape[] = "dd:dd:dd";
  for (size_t i = 0; i < 8; i++)
    if (p + i >= stop || (shape[i] == 'd' ? !is_digit(p[i]) : p[i] != ':')) return false;
  if (memcmp(p, "23", 2) > 0 || memcmp(p + 3, "59", 2) > 0 || memcmp(p + 6, "59", 2) > 0) return false;
  p += 8;
  if (is_zone(p, stop)) return true;
  if (p == stop || *p == '\n') return false;
  p += emit_utf8_char(p, (size_t)(stop - p)) ? emit_utf8_char(p, (size_t)(stop - p)) : 1;
  for (const char *q = p; q < stop && is_digit(*q);)
    if (is_zone(++q, stop)) return true;
  return false;
}

/* time.ParseDuration: an optional sign, then "0" or numbers with units
 * (ns, us, µs, μs, ms, s, m, h), "1h30m", "1.5s", ".5s", within 2^63 ns. */
static bool is_go_duration(const char *s, size_t n) {
  const char *p = s, *end = s + n;
  if (p < end && (*p == '+' || *p == '-')) p++;
  if (end - p == 1 && *p == '0') return true;
  if (p == end) return false;
  static const struct {
    const char *unit;
    double ns;
  } units[] = {{"ns", 1}, {"us", 1e3}, {"\u00b5s", 1e3}, {"\u03bcs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 6e10},
               {"h", 3.6e12}};
  double total = 0;
  while (p < end) {
    const char *num = p;
    while (p < end && is_digit(*p)) p++;
    bool digits = p > num;
    if (p < end && *p == '.') {
      const char *frac = ++p;
      while (p < end && is_digit(*p)) p++;
      digits |= p > frac;
    }
    if (!digits) return false;
    double x = strtod(num, NULL);
    const char *unit = p;
    while (p < end && *p != '.' && !is_digit(*p)) p++;
    size_t i = 0, nunits = sizeof units / sizeof units[0], len = (size_t)(p - unit);
    while (i < nunits && (strlen(units[i].unit) != len || memcmp(units[i].unit, unit, len) != 0)) i++;
    if (i == nunits) return false;
    total += x * units[i].ns;
  }
  return total <= 0x1p63;
}

/* strfmt's ParseDuration, tried after time.ParseDuration: anywhere in s,
 * numbers followed by a unit it knows ("3 days", "2 weeks", "10 sec"),
 * at least one of them; a number past int64 fails the whole. */
static bool is_strfmt_duration(const char *s, size_t n) {
  static const char *const exact[] = {"ns", "us", "\u00b5s", "ms", "s", "m", "h", "hr", "d", "w", "wk"};
  static const char *const prefix[] = {"nano", "micro", "milli", "sec", "min", "hour", "day", "week"};
  const char *p = s, *end = s + n;
  bool ok = false;
  while (p < end) {
    if (!is_digit(*p)) {
      p++;
      continue;
    }
    const char *num = p;
    while (p < end && is_digit(*p)) p++;
    const char *digits_end = p;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f' || *p == '\r')) p++;
    /* the unit: ASCII letters and µ, lower-cased */
    char unit[16];
    size_t len = 0;
    bool longer = false;
    for (;;) {
      char c = p < end ? *p : '\0';
      size_t k = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? 1
                 : end - p >= 2 && memcmp(p, "\u00b5", 2) == 0   ? 2
                                                                 : 0;
      if (!k) break;
      if (len + k < sizeof unit) {
        for (size_t j = 0; j < k; j++) unit[len++] = (char)(k == 1 && c >= 'A' && c <= 'Z' ? c + 32 : p[j]);
      } else {
        longer = true;
      }
      p += k;
    }
    if (!len) {
      p = digits_end;
      continue;
    }
    unit[len] = '\0';
    errno = 0;
    (void)strtoll(num, NULL, 10);
    if (errno == ERANGE) return false; /* strconv.Atoi fails, and with it the whole */
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) ok |= !longer && strcmp(unit, exact[i]) == 0;
    for (size_t i = 0; i < sizeof prefix / sizeof prefix[0]; i++) ok |= strncmp(unit, prefix[i], strlen(prefix[i])) == 0;
  }
  return ok;
}

static bool is_duration(const char *s, size_t n) { return is_go_duration(s, n) || is_strfmt_duration(s, n); }

/* s as govalidator sanitizes it: for an ISBN without blanks and '-', for
 * a credit card without anything but digits; false when more than cap - 1
 * characters are left, which no number of either has. */
static bool sanitized(const char *s, size_t n, bool isbn, char *out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (isbn ? c && strchr(" \t\n\f\r-", c) : !is_digit(c)) continue;
    if (k + 1 == cap) return false;
    out[k++] = c;
  }
  out[k] = '\0';
  return true;
}

/* govalidator's IsISBN10: nine digits and a check digit or X, weighted 1
 * to 10, summing to a multiple of 11. */
static bool is_isbn10(const char *s, size_t n) {
  char d[12];
  if (!sanitized(s, n, true, d, sizeof d) || strlen(d) != 10) return false;
  int sum = 0;
  for (int i = 0; i < 10; i++) {
    if (!is_digit(d[i]) && !(i == 9 && d[i] == 'X')) return false;
    sum += (i + 1) * (d[i] == 'X' ? 10 : d[i] - '0');
  }
  return sum % 11 == 0;
}

/* IsISBN13: thirteen digits, weighted 1 and 3, the last the check digit. */
static bool is_isbn13(const char *s, size_t n) {
  char d[15];
  if (!sanitized(s, n, true, d, sizeof d) || strlen(d) != 13) return false;
  int sum = 0;
  for (int i = 0; i < 13; i++) {
    if (!is_digit(d[i])) return false;
    if (i < 12) sum += (i % 2 ? 3 : 1) * (d[i] - '0');
  }
  return d[12] - '0' == (10 - sum % 10) % 10;
}

static bool is_isbn(const char *s, size_t n) { return is_isbn10(s, n) || is_isbn13(s, n); }

/* IsCreditCard: the digits, whatever stands between them, have the
 * prefix and length of a card its pattern knows (Visa, Mastercard,
 * Discover, Amex, Diners, JCB) and pass Luhn's check. */
static bool is_credit_card(const char *s, size_t n) {
  char d[20];
  if (!sanitized(s, n, false, d, sizeof d)) return false;
  size_t len = strlen(d);
  bool known = (d[0] == '4' && (len == 13 || len == 16)) ||
               (len == 16 && ((d[0] == '5' && d[1] >= '1' && d[1] <= '5') || strncmp(d, "6011", 4) == 0 ||
                              strncmp(d, "65", 2) == 0 || strncmp(d, "35", 2) == 0)) ||
               (len == 15 && ((d[0] == '3' && (d[1] == '4' || d[1] == '7')) || strncmp(d, "2131", 4) == 0 ||
                              strncmp(d, "1800", 4) == 0)) ||
               (len == 14 && d[0] == '3' && ((d[1] == '0' && d[2] <= '5') || d[1] == '6' || d[1] == '8'));
  int sum = 0;
  for (size_t i = 0; i < len; i++) {
    int x = (d[len - 1 - i] - '0') * (i % 2 ? 2 : 1);
    sum += x >= 10 ? x - 9 : x;
  }
  return known && sum % 10 == 0;
}

/* net/url's unescape: every '%' starts two hex digits; in a host, only
 * characters shouldEscape lets stand there (any byte past ASCII too), and
 * no escape but of one. */
static bool url_unescapes(const char *s, size_t n, bool host) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%') {
      if (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
      /* an escape of a byte below 0x80 in a host is refused, but %25 */
      if (host && s[i + 1] < '8' && memcmp(s + i, "%25", 3) != 0) return false;
      i += 2;
    } else if (host && c < 0x80 && !(is_digit((char)c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) &&
               !strchr("-_.~!$&'()*+,;=:[]<>\"", (char)c)) {
      return false;
    }
  }
  return true;
}

/* ":" and digits, or nothing: validOptionalPort. */
static bool url_port(const char *s, size_t n) {
  if (!n) return true;
  if (s[0] != ':') return false;
  for (size_t i = 1; i < n; i++)
    if (!is_digit(s[i])) return false;
  return true;
}

/* parseAuthority: [userinfo@]host[:port], the host an IP literal in
 * brackets or a name. */
static bool url_authority(const char *s, size_t n) {
  const char *at = NULL;
  for (const char *p = s; p < s + n; p++)
    if (*p == '@') at = p;
  if (at) {
    for (const char *p = s; p < at; p++)
      if (!(is_digit(*p) || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') || strchr("-._:~!$&'()*+,;=%@", *p)) || !*p)
        return false;
    if (!url_unescapes(s, (size_t)(at - s), false)) return false;
    n -= (size_t)(at + 1 - s), s = at + 1;
  }
  /* the last ']' of an IP literal, or else the last ':', starts the port */
  const char *last = NULL;
  for (const char *p = s; p < s + n; p++)
    if (*p == (n && s[0] == '[' ? ']' : ':')) last = p;
  if (n && s[0] == '[') {
    /* an IPv6 address alone goes in brackets (netip.ParseAddr), with a
     * zone after "%25" */
    const char *zone = last ? memmem(s, (size_t)(last - s), "%25", 3) : NULL;
    const char *addr_end = zone ? zone : last;
    if (!last || (zone && zone + 3 == last) || !is_ipv6(s + 1, (size_t)(addr_end - s - 1))) return false;
  }
  if (last && !url_port(last + (s[0] == '['), n - (size_t)(last + (s[0] == '[') - s))) return false;
  return url_unescapes(s, n, true);
}

/* strfmt's uri, url.ParseRequestURI: no control bytes; "*"; or a scheme
 * and anything, or a path from '/', with an authority after "//" where a
 * scheme leads; the query (after '?') is not looked at, a '#' is part of
 * the path. */
static bool is_request_uri(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
  if (!n) return false;
  if (n == 1 && s[0] == '*') return true;
  size_t i = 0;
  while (i < n && (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || (i && (is_digit(s[i]) || strchr("+-.", s[i])))))
    i++;
  if (i < n && s[i] == ':' && i == 0) return false; /* missing protocol scheme */
  bool scheme = i > 0 && i < n && s[i] == ':';
  const char *rest = scheme ? s + i + 1 : s, *end = s + n;
  const char *q = memchr(rest, '?', (size_t)(end - rest));
  if (q) end = q;
  if (end == rest || *rest != '/') return scheme;
  if (scheme && end - rest >= 2 && rest[1] == '/') {
    const char *auth = rest + 2, *slash = memchr(auth, '/', (size_t)(end - auth));
    if (!url_authority(auth, (size_t)((slash ? slash : end) - auth))) return false;
    rest = slash ? slash : end;
  }
  return url_unescapes(rest, (size_t)(end - rest), false);
}

/* ---- strfmt's email: net/mail's ParseAddress ---- */

/* isAtext: a visible character or any past ASCII, but RFC 5322's
 * specials; '.' where dot, and "()[];@\\," too where permissive (words
 * of a display name). */
static bool mail_atext(unsigned char c, bool dot, bool permissive) {
  if (c == '.') return dot;
  if (strchr("()[];@\\,", c) && c) return permissive;
  if (strchr("<>\":", c) && c) return false;
  return (c >= '!' && c <= '~') || c >= 0x80;
}

static void mail_space(const char **p, const char *end) {
  while (*p < end && (**p == ' ' || **p == '\t')) ++*p;
}

/* skipCFWS: blanks and (nested, escaped) comments; false on one that
 * does not close. */
static bool mail_cfws(const char **p, const char *end) {
  for (mail_space(p, end); *p < end && **p == '('; mail_space(p, end)) {
    int depth = 0;
    do {
      if (*p == end) return false;
      char c = *(*p)++;
      if (c == '\\' && *p < end) ++*p;
      depth += (c == '(') - (c == ')');
    } while (depth);
  }
  return true;
}

/* consumeAtom: a run of atext; a dot-atom (not permissive) neither starts
 * nor ends with '.' nor has two together. */
static bool mail_atom(const char **p, const char *end, bool dot, bool permissive) {
  const char *start = *p;
  while (*p < end && mail_atext((unsigned char)**p, dot, permissive)) ++*p;
  if (*p == start) return false;
  if (permissive) return true;
  for (const char *q = start; q < *p; q++)
    if (*q == '.' && (q == start || q + 1 == *p || q[1] == '.')) return false;
  return true;
}

/* consumeQuotedString: qtext, blanks and quoted pairs between '"'s; *empty
 * says whether it held nothing. */
static bool mail_quoted(const char **p, const char *end, bool *empty) {
  const char *start = ++*p;
  for (; *p < end && **p != '"'; ++*p) {
    unsigned char c = (unsigned char)**p;
    if (c == '\\' && *p + 1 < end) c = (unsigned char)*++*p;
    else if (c == '\\') return false;
    if (!(c == ' ' || c == '\t' || (c >= '!' && c <= '~') || c >= 0x80)) return false;
  }
  if (*p == end) return false;
  *empty = *p == start;
  ++*p;
  return true;
}

/* consumeAddrSpec: a dot-atom or a quoted string, '@', and a dot-atom or
 * an IP address in brackets. */
static bool mail_addr_spec(const char **p, const char *end) {
  bool empty = false;
  mail_space(p, end);
  if (*p == end || !(**p == '"' ? mail_quoted(p, end, &empty) && !empty : mail_atom(p, end, true, false)))
    return false;
  if (*p == end || *(*p)++ != '@') return false;
  mail_space(p, end);
  if (*p < end && **p == '[') {
    /* dtext, an IP address as net.ParseIP reads one (no leading zeros) */
    const char *close = memchr(*p, ']', (size_t)(end - *p));
    if (!close || (size_t)(close - *p) > INET6_ADDRSTRLEN) return false;
    char text[INET6_ADDRSTRLEN + 1];
    unsigned char addr[16];
    size_t len = (size_t)(close - *p - 1);
    memcpy(text, *p + 1, len), text[len] = '\0';
    *p = close + 1;
    return inet_pton(AF_INET, text, addr) == 1 || is_ipv6(text, len);
  }
  return *p < end && mail_atom(p, end, true, false);
}

/* parseAddress: an addr-spec, or a display name of words and
 * "<addr-spec>", or where group, a name, ':', one address and ';' (a
 * group of one). Encoded words in a name are not decoded. */
static bool mail_address(const char **p, const char *end, bool group) {
  mail_space(p, end);
  const char *spec = *p;
  if (*p == end) return false;
  if (mail_addr_spec(&spec, end)) return *p = spec, true;
  size_t words = 0;
  for (bool empty;; words++) {
    if (words && !mail_cfws(p, end)) return false;
    mail_space(p, end);
    if (*p == end || !(**p == '"' ? mail_quoted(p, end, &empty) : mail_atom(p, end, true, true))) break;
  }
  if (!words && (*p == end || **p != '<')) return false;
  mail_space(p, end);
  if (group && *p < end && **p == ':') {
    ++*p;
    if (!mail_address(p, end, false) || !mail_cfws(p, end) || *p == end || *(*p)++ != ';') return false;
    return true;
  }
  return *p < end && *(*p)++ == '<' && mail_addr_spec(p, end) && *p < end && *(*p)++ == '>';
}

/* strfmt's email, net/mail's ParseAddress: one address, then nothing but
 * blanks and comments. */
static bool is_email(const char *s, size_t n) {
  const char *p = s, *end = s + n;
  return mail_address(&p, end, true) && mail_cfws(&p, end) && p == end;
}

/* IsHostname's other half: at most 255 bytes, no dot-separated part over 63. */
static bool hostname_fits(const char *s, size_t n) {
  if (n > 255) return false;
  for (size_t i = 0, start = 0; i <= n; i++) {
    if (i < n && s[i] != '.') continue;
    if (i - start > 63) return false;
    start = i + 1;
  }
  return true;
}

static bool ssn_fits(const char *s, size_t n) { return (void)s, n == 11; }
static bool short_name_fits(const char *s, size_t n) { return (void)s, n <= 63; }
static bool long_name_fits(const char *s, size_t n) { return (void)s, n <= 253; }

/* password takes anything. */
static const sformat formats[] = {
    {"bsonobjectid", "a BSON object ID (24 hex digits)", NULL, is_bson_object_id},
    {"byte", "base64 text", "^(?:[A-Za-z0-9+\\/]{4})*(?:[A-Za-z0-9+\\/]{2}==|[A-Za-z0-9+\\/]{3}=|[A-Za-z0-9+\\/]{4})$",
     NULL},
    {"creditcard", "a credit card number", NULL, is_credit_card},
    {"cidr", "a CIDR (an IP address, '/' and a prefix length)", NULL, is_cidr},
    {"date", "a date (2006-01-02)", NULL, is_date},
    {"datetime", "an RFC 3339 date-time", NULL, is_strfmt_date_time},
    {"duration", "a duration (such as \"1h30m\" or \"3 days\")", NULL, is_duration},
    {"email", "an email address", NULL, is_email},
    {"hexcolor", "a hex color (#FFF or #FFFFFF)", "^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$", NULL},
    {"hostname", "a hostname",
     "^([a-zA-Z0-9\\p{S}\\p{L}]((-?[a-zA-Z0-9\\p{S}\\p{L}]{0,62})?)|([a-zA-Z0-9\\p{S}\\p{L}](([a-zA-Z0-9-\\p{S}\\p{L}]{0,"
     "61}[a-zA-Z0-9\\p{S}\\p{L}])?)(\\.)){1,}([a-zA-Z\\p{L}]){2,63})$",
     hostname_fits},
    {"ipv4", "an IPv4 address", NULL, is_ipv4},
    {"isbn", "an ISBN", NULL, is_isbn},
    {"isbn10", "an ISBN-10", NULL, is_isbn10},
    {"isbn13", "an ISBN-13", NULL, is_isbn13},
    {"ipv6", "an IPv6 address", NULL, is_ipv6},
    {"k8slongname", "a Kubernetes long name (dot-separated lowercase DNS labels, at most 253 characters)",
     "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", long_name_fits},
    {"k8sshortname", "a Kubernetes short name (a lowercase DNS label, at most 63 characters)",
     "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", short_name_fits},
    {"mac", "a MAC address", NULL, is_mac},
    {"rgbcolor", "an rgb() color",
     "^rgb\\(\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*,\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*,\\s*(0|[1-9]"
     "\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*\\)$",
     NULL},
    {"ssn", "a social security number", "^\\d{3}[- ]?\\d{2}[- ]?\\d{4}$", ssn_fits},
    {"uri", "a URI (absolute, or a path from '/')", NULL, is_request_uri},
    {"uuid", "a UUID", "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", NULL},
    {"uuid3", "a version 3 UUID", "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$", NULL},
    {"uuid4", "a version 4 UUID", "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", NULL},
    {"uuid5", "a version 5 UUID", "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", NULL},
};

/* As Go's regexp reads a pattern where it can: '$' at the very end only,
 * '.' and classes over whole characters; invalid UTF-8 never matches. */
#define GO_REGEXP (PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY)

enum { NFORMATS = sizeof formats / sizeof formats[0] };
static pcre2_code *format_res[NFORMATS];
static pthread_once_t formats_once = PTHREAD_ONCE_INIT;

/* The formats' patterns, once per process, as the tables are. */
static void compile_formats(void) {
  for (size_t i = 0; i < NFORMATS; i++) {
    int err;
    PCRE2_SIZE off;
    if (!formats[i].pattern) continue;
    format_res[i] = pcre2_compile((PCRE2_SPTR)formats[i].pattern, PCRE2_ZERO_TERMINATED, GO_REGEXP, &err, &off, NULL);
    if (!format_res[i]) abort(); /* a fault of this table */
  }
}

/* PCRE2's allocations for a build, in its arena: they go with it. */
static void *pcre2_in_arena(PCRE2_SIZE size, void *a) { return arena_alloc(a, size); }
static void pcre2_kept(void *p, void *a) { (void)p, (void)a; }

static pcre2_general_context *in_arena(schema_build *b) {
  if (!b->gc && !(b->gc = pcre2_general_context_create(pcre2_in_arena, pcre2_kept, b->a))) abort();
  return b->gc;
}

/* Whether re matches anywhere in s, as Go's MatchString; -1 when PCRE2
 * gave up (the budget of work or its own match limit). */
static int matches(walk *w, const value *v, const pcre2_code *re) {
  schema_build *b = w->b;
  if (!b->md) b->md = pcre2_match_data_create(1, in_arena(b));
  int rc = regex_match(b->ev, v->at, re, (PCRE2_SPTR)v->u.str.s, v->u.str.len, 0, 0, b->md);
  return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/* Text s for a message, cut after 80 bytes (at a character's start): a
 * value or a pattern may be megabytes long. */
static const char *shown(arena *a, const char *s) {
  size_t n = strlen(s);
  if (n <= 80) return s;
  n = 80;
  while (n && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  return arena_printf(a, "%.*s...", (int)n, s);
}

static void check_format_of(walk *w, const value *v, const sformat *f) {
  const char *s = v->u.str.s;
  size_t n = v->u.str.len;
  bool ok = !f->is || f->is(s, n);
  if (ok && f->pattern) {
    pthread_once(&formats_once, compile_formats);
    int m = matches(w, v, format_res[f - formats]);
    if (m < 0) return; /* only the budget stops these patterns; it said so */
    ok = m;
  }
  if (!ok)
    fail(w, v->at, "%s: %s is not %s", path_text(w),
         v->secret ? "a decrypted value" : arena_printf(w->d->arena, "\"%s\"", shown(w->d->arena, s)), f->noun);
}

static void check_pattern(walk *w, const value *v, const svalid *sv) {
  int m = matches(w, v, sv->re);
  arena *a = w->d->arena;
  const char *s = v->secret ? "a decrypted value" : arena_printf(a, "\"%s\"", shown(a, v->u.str.s));
  const char *p = shown(a, sv->pattern);
  if (m == 0) fail(w, v->at, "%s: %s does not match the pattern \"%s\"", path_text(w), s, p);
  if (m < 0) fail(w, v->at, "%s: the pattern \"%s\" backtracks too much on %s to decide here", path_text(w), p, s);
}

/* A bound or factor as the API server applies it to an int: cut to an
 * int64 first (validate's MaximumNativeType and friends), so 10 meets a
 * minimum of 10.5 where the type is number. Past an int64 Go leaves the
 * conversion to the machine: amd64, where API servers mostly run, gives
 * INT64_MIN, so a maximum of 1e300 refuses every int there. */
static double for_int(double bound) {
  return isnan(bound) || fabs(bound) < 0x1p63 ? trunc(bound) : -0x1p63;
}

/* A number as the schema wrote it: 10, 0.1 (not 1e+01, 0.10000000000000001),
 * an int64 exactly. */
static const char *number_text(walk *w, long double x) {
  char text[32];
  if (x == truncl(x) && fabsl(x) < 1e19L) return arena_printf(w->d->arena, "%.0Lf", x);
  for (int digits = 1; digits <= 17; digits++) {
    snprintf(text, sizeof text, "%.*g", digits, (double)x);
    if (strtod(text, NULL) == (double)x) break;
  }
  return arena_strdup(w->d->arena, text);
}

/* v, a number, as written: an int exactly. */
static const char *value_number(walk *w, const value *v) {
  return v->kind == V_INT ? arena_printf(w->d->arena, "%lld", (long long)v->u.i) : number_text(w, v->u.f);
}

/* A bound for a message: as the schema wrote it, and as it was applied
 * where cutting it for an int changed it. */
static const char *bound_text(walk *w, double written, long double applied) {
  const char *text = number_text(w, written);
  if (isnan(written) || applied == written) return text;
  return arena_printf(w->d->arena, "%s (%s for an int, as the API server cuts it)", text, number_text(w, applied));
}

/* validate's IsValueValidAgainstRange: whether x is a value of the
 * schema's type and format, an int64 (int32) for integer, a float32 for
 * number with format float; NULL if it is, else what it is not. */
static const char *out_of_range(const svalid *sv, long double x) {
  if (sv->int_type && sv->narrow)
    return x == truncl(x) && x >= -0x1p31L && x < 0x1p31L ? NULL : "a 32-bit integer";
  if (sv->int_type) return x == truncl(x) && x >= -0x1p63L && x < 0x1p63L ? NULL : "a 64-bit integer";
  return !sv->narrow || fabsl(x) <= FLT_MAX ? NULL : "a 32-bit float";
}

/* A bound, factor or value the schema's type and format cannot hold: the
 * API server refuses every value against such a bound. False if so. */
static bool fits(walk *w, const value *v, const svalid *sv, double bound, const char *name) {
  const char *not = isnan(bound) ? NULL : out_of_range(sv, bound);
  if (not)
    fail(w, v->at, "%s: the API server refuses any value here: its %s %s is not %s", path_text(w), name,
         number_text(w, bound), not);
  return !not;
}

/* validate.MultipleOf: the quotient an integer, within a relative 1e-9
 * (swag.IsFloat64AJSONInteger); exact for ints. */
static bool is_multiple(const value *v, double factor) {
  if (!(factor > 0)) return false; /* validate refuses a factor that is not positive */
  if (v->kind == V_INT && factor == trunc(factor) && fabs(factor) < 0x1p63)
    return factor != 0 && v->u.i % (int64_t)factor == 0;
  double x = v->kind == V_INT ? (double)v->u.i : v->u.f;
  double q = factor < 1 ? 1 / factor * x : x / factor;
  if (!isfinite(q)) return false;
  double r = round(q);
  return q == r || fabs(q - r) <= 1e-9 * fabs(q);
}

static void check_number(walk *w, const value *v, const svalid *sv) {
  long double x = v->kind == V_INT ? (long double)v->u.i : v->u.f;
  bool is_int = v->kind == V_INT;
  const char *not = sv->narrow && !sv->int_type ? out_of_range(sv, x) : NULL;
  if (not) fail(w, v->at, "%s: %s is out of range for %s", path_text(w), value_number(w, v), not);
  long double max = !fits(w, v, sv, sv->max, "maximum") ? NAN : is_int ? for_int(sv->max) : sv->max;
  long double min = !fits(w, v, sv, sv->min, "minimum") ? NAN : is_int ? for_int(sv->min) : sv->min;
  if (sv->excl_max ? x >= max : x > max)
    fail(w, v->at, "%s: %s is %s the %smaximum %s", path_text(w), value_number(w, v),
         sv->excl_max ? "not less than" : "more than", sv->excl_max ? "exclusive " : "", bound_text(w, sv->max, max));
  if (sv->excl_min ? x <= min : x < min)
    fail(w, v->at, "%s: %s is %s the %sminimum %s", path_text(w), value_number(w, v),
         sv->excl_min ? "not more than" : "less than", sv->excl_min ? "exclusive " : "", bound_text(w, sv->min, min));
  double factor = is_int ? for_int(sv->multiple) : sv->multiple;
  if (!isnan(sv->multiple) && fits(w, v, sv, sv->multiple, "multipleOf") && !is_multiple(v, factor))
    fail(w, v->at, "%s: %s is not a multiple of %s", path_text(w), value_number(w, v),
         bound_text(w, sv->multiple, factor));
}

/* Characters, as utf8.RuneCount counts them: not bytes. */
static size_t runes(const char *s, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++) count += ((unsigned char)s[i] & 0xC0) != 0x80;
  return count;
}

/* A count of a value's parts against a lower and an upper limit. */
static void check_count(walk *w, const value *v, size_t n, long double min, long double max, const char *what,
                        const char *min_name, const char *max_name) {
  if ((long double)n > max)
    fail(w, v->at, "%s has %zu %s, more than the %s %s", path_text(w), n, what, max_name, number_text(w, max));
  if ((long double)n < min)
    fail(w, v->at, "%s has %zu %s, fewer than the %s %s", path_text(w), n, what, min_name, number_text(w, min));
}

static void check_string_limits(walk *w, const value *v, const svalid *sv) {
  if (!isnan(sv->min_len) || !isnan(sv->max_len)) {
    if (!eval_charge(w->b->ev, v->at, v->u.str.len / SCAN_BYTES)) return;
    check_count(w, v, runes(v->u.str.s, v->u.str.len), sv->min_len, sv->max_len, "characters", "minLength",
                "maxLength");
  }
  if (sv->re) check_pattern(w, v, sv);
  if (sv->format) check_format_of(w, v, sv->format);
}

/* validate.Enum: equal to a value of the enum once converted to its type,
 * as Go converts: a float compared with an int enum value loses its
 * fraction. */
static bool enum_has(const value *enums, const value *v) {
  for (size_t i = 0; i < enums->u.list.len; i++) {
    const value *e = enums->u.list.items[i];
    if (e->kind == V_INT && v->kind == V_FLOAT ? fabs(v->u.f) < 0x1p63 && (int64_t)v->u.f == e->u.i
                                               : value_equal(e, v))
      return true;
  }
  return false;
}

/* v as compact JSON when it is short enough to quote, else what. */
static const char *json_or(walk *w, const value *v, const char *what) {
  if (v->size > 200 || v->secret) return what;
  buf b = {0};
  emit_json(&b, v, false, false);
  char *text = arena_strdup(w->d->arena, b.data);
  buf_free(&b);
  return text;
}

static void check_enum_values(walk *w, const value *v, const value *enums) {
  if (!eval_charge(w->b->ev, v->at, enums->u.list.len * (1 + v->size / SCAN_BYTES))) return;
  if (!enum_has(enums, v))
    fail(w, v->at, "%s: %s is not one of %s", path_text(w), json_or(w, v, "the value"),
         json_or(w, enums, "the values of its enum"));
}

/* By value, then by place in the list. */
static int cmp_items(const void *pa, const void *pb) {
  const keyed *x = pa, *y = pb;
  int c = value_compare(x->item, y->item);
  return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* x-kubernetes-list-type: set: the API server refuses a value twice
 * ("Duplicate value"). Found by sorting, as a list may be long. */
static void check_set(walk *w, const value *v) {
  size_t n = v->u.list.len;
  if (n < 2 || !eval_charge(w->b->ev, v->at, n + v->size / SCAN_BYTES)) return;
  keyed *items = heap_alloc(n * sizeof *items);
  for (size_t i = 0; i < n; i++) items[i] = (keyed){v->u.list.items[i], i, NULL, 0};
  qsort(items, n, sizeof *items, cmp_items);
  for (size_t i = 1, first = 0; i < n; i++) {
    if (value_compare(items[first].item, items[i].item) != 0) {
      first = i;
      continue;
    }
    fail(w, items[i].item->at, "%s: items %zu and %zu are equal; a set holds each value once", path_text(w),
         items[first].index, items[i].index);
    if (!w->quiet) diag_note(w->d, items[first].item->at, "item %zu is here", items[first].index);
  }
  free(items);
}

static int cmp_str(const void *key, const void *elem) { return strcmp(key, *(const char *const *)elem); }

/* The validations a junction's schema gives the fields and items of v. */
static void check_parts(walk *w, const value *v, const svalid *sv) {
  if (v->kind == V_LIST && sv->items)
    for (size_t i = 0; i < v->u.list.len && enter(w, NULL, i); i++, w->depth--)
      check_valid(w, v->u.list.items[i], sv->items);
  if (v->kind != V_OBJECT) return;
  for (size_t i = 0; i < sv->nrequired; i++)
    if (!value_object_get(v, sv->required[i]))
      fail(w, v->at, "missing required field \"%s\" in %s", sv->required[i], path_text(w));
  if (!sv->nprops && !sv->more) return;
  for (size_t i = 0; i < v->u.obj.len; i++) {
    const field *f = &v->u.obj.fields[i];
    const char **name = bsearch(f->key, sv->prop_names, sv->nprops, sizeof *sv->prop_names, cmp_str);
    const svalid *part = name ? sv->props[name - sv->prop_names] : sv->more;
    if (part && enter(w, f->key, 0)) {
      check_valid(w, f->val, part);
      w->depth--;
    }
  }
}

/* Whether v passes sv, reporting nothing; *why, if given, gets the first
 * failure's words. */
static bool passes(walk *w, const value *v, const svalid *sv, const char **why) {
  bool quiet = w->quiet, ok = w->ok;
  size_t failures = w->failures;
  const char *first = w->first;
  w->quiet = true, w->first = NULL;
  check_valid(w, v, sv);
  bool pass = w->failures == failures;
  if (why) *why = w->first;
  w->quiet = quiet, w->ok = ok, w->failures = failures, w->first = first;
  return pass;
}

static void check_junctions(walk *w, const value *v, const svalid *sv) {
  for (size_t i = 0; i < sv->nall; i++) check_valid(w, v, sv->all_of[i]);
  const char *why = NULL;
  bool any = !sv->nany;
  for (size_t i = 0; i < sv->nany && !any; i++) any = passes(w, v, sv->any_of[i], i ? NULL : &why);
  if (!any) fail(w, v->at, "%s matches none of the schemas of anyOf; the first says: %s", path_text(w), why);
  size_t first = 0, second = 0, n = 0;
  for (size_t i = 0; i < sv->none && n < 2; i++) {
    if (!passes(w, v, sv->one_of[i], i ? NULL : &why)) continue;
    if (n++) second = i;
    else first = i;
  }
  if (sv->none && !n)
    fail(w, v->at, "%s matches none of the schemas of oneOf; the first says: %s", path_text(w), why);
  if (n == 2)
    fail(w, v->at, "%s matches schemas %zu and %zu of oneOf; it must match exactly one", path_text(w), first, second);
  if (sv->not && passes(w, v, sv->not, NULL))
    fail(w, v->at, "%s matches the schema of not, which it must not", path_text(w));
}

/* v against what sv asks beyond its type: each check applies to the
 * kinds of value it concerns. Every schema applied costs a step of work,
 * as junctions nested in junctions try a value many times. */
static void check_valid(walk *w, const value *v, const svalid *sv) {
  if ((!sv->values && v->kind != V_NULL) || !eval_charge(w->b->ev, v->at, 1)) return;
  switch (v->kind) {
  case V_NULL:
    if (sv->null_refused) wrong_type(w, v, sv->null_refused);
    break;
  case V_INT:
  case V_FLOAT: check_number(w, v, sv); break;
  case V_STRING: check_string_limits(w, v, sv); break;
  case V_LIST:
    check_count(w, v, v->u.list.len, sv->min_items, sv->max_items, "items", "minItems", "maxItems");
    if (sv->set) check_set(w, v);
    break;
  case V_OBJECT:
    check_count(w, v, v->u.obj.len, sv->min_props, sv->max_props, "fields", "minProperties", "maxProperties");
    break;
  default: break;
  }
  if (sv->enums) check_enum_values(w, v, sv->enums);
  check_parts(w, v, sv);
  check_junctions(w, v, sv);
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
  /* Set anew for each check, but for the path: it is written before it is read. */
  walk *w = b->walk ? b->walk : (b->walk = arena_alloc(b->a, sizeof *w));
  w->d = d, w->b = b, w->kind = kind, w->ok = true, w->depth = 0;
  w->quiet = false, w->failures = 0, w->first = NULL, w->status_dropped = k->status_dropped;
  check_value(w, res, k->type);
  if (k->type->valid) check_valid(w, res, k->type->valid);
  return w->ok;
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
 * server reads a structural schema, with its value validations (crd_valid)
 * on each type; what this does not know of (CEL rules) leaves a value
 * unchecked rather than refused. */
static const stype *crd_type(schema_build *b, const value *s);

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

/* ---- the value validations of a CRD's schema ---------------------------------- */


/* Whether Go's regexp knows the escape p[i] (after a '\\'): punctuation
 * for itself, its letters, and octal codes of two digits or more (one
 * digit from 1 would be a backreference, which it has not). */
static bool go_escape(const char *p, size_t n, size_t i) {
  char e = p[i];
  if ((unsigned char)e < 0x80 && !is_digit(e) && !((e | 0x20) >= 'a' && (e | 0x20) <= 'z')) return e != '\0';
  if (e && strchr("aftnrvxdDsSwWbBAzpPQE0", e)) return true;
  return e >= '1' && e <= '7' && i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '7';
}

/* What Go's regexp refuses of a pattern PCRE2 takes, the Perl syntax
 * RE2 leaves out (the API server refuses a CRD with such a pattern):
 * lookaround, atomic and conditional groups, backreferences and escapes
 * it does not know, possessive repeats, and repeat counts over 1000.
 * NULL if none; an escape's reason is written with it, in esc. */
static const char *perl_only(const char *p, size_t n, char esc[4]) {
  bool repeat = false; /* the last item was a repeat */
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c == '\\' && i + 1 < n) {
      if (!go_escape(p, n, ++i)) return snprintf(esc, 4, "\\%c", p[i]), "escape";
      repeat = false;
    } else if (c == '[') {
      /* a class: its first ']' (after an optional '^') is a member */
      size_t j = i + 1 + (i + 1 < n && p[i + 1] == '^');
      if (j < n && p[j] == ']') j++;
      for (; j < n && p[j] != ']'; j++)
        if (p[j] == '\\' && j + 1 < n && !go_escape(p, n, ++j)) return snprintf(esc, 4, "\\%c", p[j]), "escape";
      i = j, repeat = false;
    } else if (c == '(' && i + 2 < n && p[i + 1] == '?') {
      char g = p[i + 2];
      if ((g && strchr("=!>|(R&+0123456789", g)) || (g == '<' && i + 3 < n && (p[i + 3] == '=' || p[i + 3] == '!')) ||
          (g == 'P' && i + 3 < n && p[i + 3] == '>'))
        return "lookaround, atomic, conditional and recursive groups";
      repeat = false;
    } else if (c == '{' && i + 1 < n && is_digit(p[i + 1])) {
      char *end;
      long lo = strtol(p + i + 1, &end, 10), hi = *end == ',' && is_digit(end[1]) ? strtol(end + 1, &end, 10) : lo;
      if ((size_t)(end - p) < n && *end == '}') {
        if (lo > 1000 || hi > 1000) return "repeat counts over 1000";
        i = (size_t)(end - p), repeat = true;
        continue;
      }
      repeat = false;
    } else if (c == '*' || c == '+' || c == '?') {
      if (repeat && c != '?') return "possessive repeats";
      /* a lazy mark ends the repeat */
      repeat = !repeat;
      if (c == '?' && !repeat) continue;
    } else {
      repeat = false;
    }
  }
  return NULL;
}

/* A schema's pattern compiled; NULL after reporting one the API server
 * would refuse, at the CRD's line, as it refuses such a CRD. */
static pcre2_code *crd_pattern(schema_build *b, const value *p) {
  if (!eval_charge(b->ev, p->at, 1 + p->u.str.len / SCAN_BYTES)) return NULL;
  char esc[4];
  const char *why = perl_only(p->u.str.s, p->u.str.len, esc);
  if (why) {
    diag_error(eval_diags(b->ev), p->at, "invalid pattern \"%s\": Go's regexp, which the API server uses, has no %s%s%s",
               shown(b->a, p->u.str.s), why, strcmp(why, "escape") == 0 ? " " : "", strcmp(why, "escape") == 0 ? esc : "");
    return NULL;
  }
  pcre2_compile_context *cc = pcre2_compile_context_create(in_arena(b));
  int err;
  PCRE2_SIZE off;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)p->u.str.s, p->u.str.len, GO_REGEXP, &err, &off, cc);
  if (!re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    diag_error(eval_diags(b->ev), p->at, "invalid pattern \"%s\": %s at offset %zu", shown(b->a, p->u.str.s),
               (char *)msg, (size_t)off);
  }
  return re;
}

/* The string format named, if the API server checks it: its name is
 * compared without '-', as strfmt's registry does. */
static const sformat *crd_format(const char *name) {
  char plain[32];
  size_t n = 0;
  for (const char *c = name; c && *c && n + 1 < sizeof plain; c++)
    if (*c != '-') plain[n++] = *c;
  plain[n] = '\0';
  for (size_t i = 0; name && i < NFORMATS; i++)
    if (strcmp(formats[i].name, plain) == 0) return &formats[i];
  return NULL;
}

/* The noun for null's message where a schema's type refuses it. */
static const char *type_noun(const char *type) {
  static const char *const nouns[][2] = {{"string", "a string"}, {"integer", "an int"},  {"number", "a number"},
                                         {"boolean", "a bool"},  {"array", "a list"},     {"object", "an object"}};
  for (size_t i = 0; type && i < sizeof nouns / sizeof nouns[0]; i++)
    if (strcmp(type, nouns[i][0]) == 0) return nouns[i][1];
  return NULL;
}

static const svalid *crd_valid(schema_build *b, const value *s, const stype *t);

/* The schemas of a junction (allOf, anyOf, oneOf), each a svalid. */
static const svalid **crd_valids(schema_build *b, const value *l, size_t *n) {
  *n = l && l->kind == V_LIST ? l->u.list.len : 0;
  const svalid **all = arena_alloc(b->a, (*n + 1) * sizeof *all);
  for (size_t i = 0; i < *n; i++) all[i] = crd_valid(b, l->u.list.items[i], NULL);
  return all;
}

/* What the schema of a junction adds for fields and items: it may name
 * them, with their own validations, and ask for fields. */
static void crd_parts(schema_build *b, const value *s, svalid *sv) {
  strings(b->a, value_object_get(s, "required"), &sv->required, &sv->nrequired);
  const value *props = value_object_get(s, "properties"), *more = value_object_get(s, "additionalProperties");
  if (props && props->kind == V_OBJECT) {
    sv->nprops = props->u.obj.len;
    sv->prop_names = arena_alloc(b->a, (sv->nprops + 1) * sizeof *sv->prop_names);
    sv->props = arena_alloc(b->a, (sv->nprops + 1) * sizeof *sv->props);
    const char **keys = value_sorted_keys(props);
    for (size_t i = 0; i < sv->nprops; i++) {
      sv->prop_names[i] = keys[i];
      sv->props[i] = crd_valid(b, value_object_get(props, keys[i]), NULL);
    }
    free(keys);
  }
  if (value_object_get(s, "items")) sv->items = crd_valid(b, value_object_get(s, "items"), NULL);
  if (more && more->kind == V_OBJECT) sv->more = crd_valid(b, more, NULL);
}

/* The validations of schema s beyond its type t; NULL when it has none.
 * t NULL: s is a schema of a junction, which always gives one. Read in
 * one pass over s's keys: CRDs such as cert-manager's have thousands of
 * schemas, each with a few keys of the twenty looked for. */
static const svalid *crd_valid(schema_build *b, const value *s, const stype *t) {
  svalid *sv = arena_alloc(b->a, sizeof *sv);
  sv->min = sv->max = sv->multiple = NAN;
  sv->min_len = sv->max_len = sv->min_items = sv->max_items = sv->min_props = sv->max_props = NAN;
  /* crd_type charged for the schema of a type */
  if (!s || s->kind != V_OBJECT || (!t && !eval_charge(b->ev, s->at, 1))) return t ? NULL : sv;
  const char *type = NULL, *format = NULL;
  bool nullable = false, any = false;
  for (size_t i = 0; i < s->u.obj.len; i++) {
    const char *k = s->u.obj.fields[i].key;
    /* the keys most schemas have (description, items, required) pass by here */
    if (!strchr("aefmnoptx", k[0]) || !k[0]) continue;
    const value *v = s->u.obj.fields[i].val;
    long double x = v->kind == V_INT ? (long double)v->u.i : v->kind == V_FLOAT ? v->u.f : NAN;
    bool yes = v->kind == V_BOOL && v->u.b;
    const char *str = v->kind == V_STRING ? v->u.str.s : NULL;
    if (strcmp(k, "type") == 0) type = str;
    else if (strcmp(k, "format") == 0) format = str;
    else if (strcmp(k, "nullable") == 0) nullable = yes;
    /* bounds are float64s to the API server */
    else if (strcmp(k, "minimum") == 0) sv->min = (double)x;
    else if (strcmp(k, "maximum") == 0) sv->max = (double)x;
    else if (strcmp(k, "exclusiveMinimum") == 0) sv->excl_min = yes;
    else if (strcmp(k, "exclusiveMaximum") == 0) sv->excl_max = yes;
    else if (strcmp(k, "multipleOf") == 0) sv->multiple = (double)x;
    else if (strcmp(k, "minLength") == 0) sv->min_len = x;
    else if (strcmp(k, "maxLength") == 0) sv->max_len = x;
    else if (strcmp(k, "minItems") == 0) sv->min_items = x;
    else if (strcmp(k, "maxItems") == 0) sv->max_items = x;
    else if (strcmp(k, "minProperties") == 0) sv->min_props = x;
    else if (strcmp(k, "maxProperties") == 0) sv->max_props = x;
    else if (strcmp(k, "pattern") == 0 && str) sv->pattern = str, sv->re = crd_pattern(b, v), any = true;
    /* a string type holds its enum of strings itself, with a hint */
    else if (strcmp(k, "enum") == 0 && v->kind == V_LIST && !(t && t->nnames)) sv->enums = v, any = true;
    else if (strcmp(k, "x-kubernetes-list-type") == 0) sv->set = t && str && strcmp(str, "set") == 0, any |= sv->set;
    else if (strcmp(k, "allOf") == 0) sv->all_of = crd_valids(b, v, &sv->nall), any = true;
    else if (strcmp(k, "anyOf") == 0) sv->any_of = crd_valids(b, v, &sv->nany), any = true;
    else if (strcmp(k, "oneOf") == 0) sv->one_of = crd_valids(b, v, &sv->none), any = true;
    else if (strcmp(k, "not") == 0) sv->not = crd_valid(b, v, NULL), any = true;
  }
  /* a format on another type is dropped, as the API server does */
  if (!type || strcmp(type, "string") == 0) sv->format = crd_format(format);
  sv->int_type = equals(type, "integer");
  sv->narrow = equals(format, sv->int_type ? "int32" : equals(type, "number") ? "float" : "");
  any |= sv->narrow && !sv->int_type;
  if (!nullable) sv->null_refused = type_noun(type);
  if (!t) crd_parts(b, s, sv);
  any |= !isnan(sv->min) || !isnan(sv->max) || !isnan(sv->multiple) || !isnan(sv->min_len) || !isnan(sv->max_len) ||
         !isnan(sv->min_items) || !isnan(sv->max_items) || !isnan(sv->min_props) || !isnan(sv->max_props);
  sv->values = any || sv->format || !t;
  return sv->values || sv->null_refused ? sv : NULL;
}

/* An object schema as a definition of its own; props NULL for one that
 * lists no field. */
static sdef *crd_def(schema_build *b, const value *s, const value *props) {
  arena *a = b->a;
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
    d->fields[i] = (sfield){keys[i], crd_type(b, prop), req};
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

static const stype *crd_type(schema_build *b, const value *s) {
  arena *a = b->a;
  stype *t = arena_alloc(a, sizeof *t);
  const char *type = value_get_string(s, "type"), *format = value_get_string(s, "format");
  const value *props = value_object_get(s, "properties"), *more = value_object_get(s, "additionalProperties");
  if (props && props->kind != V_OBJECT) props = NULL;
  bool preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
  /* A schema is user input: every part read costs a step, and stops the
   * reading once the compile is over its work or memory. */
  if (!s || s->kind != V_OBJECT || (preserve && !type) || !eval_charge(b->ev, s->at, 1)) {
    t->kind = ST_ANY;
  } else if (flag(s, "x-kubernetes-int-or-string")) {
    t->kind = ST_INT_OR_STRING;
  } else if (equals(type, "array")) {
    t->kind = ST_LIST;
    t->item = crd_type(b, value_object_get(s, "items"));
    if (equals(value_get_string(s, "x-kubernetes-list-type"), "map")) crd_map_keys(a, s, t);
  } else if (props || flag(s, "x-kubernetes-embedded-resource")) {
    t->kind = ST_DEF;
    t->def = crd_def(b, s, props);
  } else if (more && more->kind == V_OBJECT) {
    t->kind = ST_MAP;
    t->item = crd_type(b, more);
  } else if (equals(type, "object")) {
    /* An object without properties keeps no field, unless it says so: the
     * API server prunes them, or refuses them when it validates fields
     * strictly. */
    t->kind = preserve || (more && value_truthy(more)) ? ST_OBJECT : ST_DEF;
    if (t->kind == ST_DEF) t->def = crd_def(b, s, NULL);
  } else if (equals(type, "string")) {
    /* its format is strfmt's, a validation (crd_valid) */
    t->kind = ST_STRING;
    strings(a, value_object_get(s, "enum"), &t->names, &t->nnames);
  } else {
    static const struct {
      const char *name;
      stype_kind kind;
    } simple[] = {{"integer", ST_INTEGER}, {"number", ST_NUMBER}, {"boolean", ST_BOOL}};
    t->kind = ST_ANY;
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
      if (equals(type, simple[i].name)) t->kind = simple[i].kind;
    /* the API server checks an int32's range (validate's IsValueValidAgainstRange) */
    if (t->kind == ST_INTEGER && equals(format, "int32")) t->kind = ST_INT32;
  }
  t->valid = crd_valid(b, s, t);
  return t;
}

/* The top of a custom resource, where apiVersion, kind and metadata are
 * the API server's, as in an embedded resource. */
static const stype *crd_root(schema_build *b, const value *s) {
  arena *a = b->a;
  const stype *t = crd_type(b, s);
  if (t->kind != ST_DEF) return t;
  sdef *d = arena_alloc(a, sizeof *d);
  *d = *t->def;
  d->embedded = true;
  stype *root = arena_alloc(a, sizeof *root);
  *root = (stype){.kind = ST_DEF, .def = d, .valid = t->valid};
  return root;
}

schema_build *schema_build_new(eval *ev, const char *version) {
  size_t n, i = 0;
  const char *const *all = compile_kube_versions(&n);
  while (version && i + 1 < n && strcmp(all[i], version) != 0) i++;
  arena *a = eval_arena(ev);
  schema_build *b = arena_alloc(a, sizeof *b);
  b->a = a;
  b->ev = ev;
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
    if (name && schema)
      add_kind(c, (skind){arena_printf(c->a, "%s/%s", group, name), kind, crd_root(c, schema),
                          value_get_path(v, "subresources.status") != NULL});
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
static const stype *served_type(served_docs *sd, schema_build *b, const char *api, const char *kind) {
  const value *schemas = served_schemas(sd, api);
  for (size_t i = 0; schemas && i < schemas->u.obj.len; i++) {
    value *s = schemas->u.obj.fields[i].val;
    if (!names_kind(value_object_get(s, "x-kubernetes-group-version-kind"), api, kind)) continue;
    inliner in = {sd->a, schemas, value_object(sd->a, (pos){0}), value_object(sd->a, (pos){0})};
    return crd_root(b, inline_refs(&in, s, 0));
  }
  return NULL;
}

bool compile_check_served(const compile_result *r, diag_list *d, const compile_served *s) {
  served_docs sd = {d->arena, d, s, value_object(d->arena, (pos){0}), true};
  /* The checks' budget of work, as in a compile: patterns cost. */
  eval *ev = eval_new(d->arena, d, NULL);
  eval_forget_syntax(ev);
  schema_build *b = schema_build_new(ev, NULL);
  for (size_t i = 0; i < r->nres; i++) schema_add_crd(b, r->res[i].obj);
  size_t built = b->n; /* the kinds of the build's CRDs; those the cluster serves follow */
  for (size_t i = 0; i < r->nres; i++) {
    const value *res = r->res[i].obj;
    const char *api = value_get_string(res, "apiVersion"), *kind = value_get_string(res, "kind");
    if (r->res[i].unchecked || !api || !kind || embedded_kind(api, kind)) continue;
    const skind *k = find_crd_kind(b, api, kind);
    if (k && k < b->kinds + built) continue;
    const stype *t = k ? k->type : served_type(&sd, b, api, kind);
    if (!t) continue;
    if (!k) add_kind(b, (skind){api, kind, t, false});
    sd.ok = schema_check(d, b, res) && sd.ok;
  }
  return sd.ok;
}
