/* emit.c: values out as YAML (block style, as `kubectl kustomize` prints it)
 * and JSON.
 *
 * The YAML side must stay readable as the same data by every reader a
 * manifest meets: go-yaml v2 inside Kubernetes (YAML 1.1 rules), go-yaml v3,
 * PyYAML and YAML 1.2 core readers. So a string is quoted whenever any of
 * them could read it as something else, even when only an old rule (base 60
 * numbers, yes/no booleans) would. */
#include "plumb/emit.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { ORDER_PLAIN, ORDER_RESOURCE, ORDER_METADATA } key_order;

/* Where a YAML node starts: at the top of a document, after "key:" or
 * after "- ". It decides whether a block collection opens on a new line. */
typedef enum { AT_TOP, AFTER_KEY, AFTER_DASH } yaml_ctx;

/* go-yaml writes keys longer than this as explicit "? key" entries. */
enum { SIMPLE_KEY_MAX = 128 };

static const char *const resource_first[] = {"apiVersion", "kind", "metadata", NULL};
static const char *const metadata_first[] = {"name", "namespace", NULL};

/* ---- key order ---------------------------------------------------------- */

/* Room for the fields of a typical object, so that emitting one needs no
 * malloc; bigger objects get a heap array. */
enum { FIELDS_ON_STACK = 32 };

typedef struct {
  const field **at; /* the fields in emit order */
  const field *small[FIELDS_ON_STACK];
} field_order;

/* Whether key is want: the first byte inline, as most keys of a resource
 * differ there from the few named here. */
static bool key_is(const char *key, const char *want) { return key[0] == want[0] && strcmp(key, want) == 0; }

/* Puts the fields of obj in emit order into o; release with
 * field_order_done. Sorting fields rather than keys keeps a lookup per key
 * (quadratic on big objects) out of the way. */
static void ordered_fields(field_order *o, const value *obj, key_order order) {
  size_t n = obj->u.obj.len;
  o->at = n <= FIELDS_ON_STACK ? o->small : heap_alloc(n * sizeof *o->at);
  const field **fs = o->at;
  for (size_t i = 0; i < n; i++) fs[i] = &obj->u.obj.fields[i];
  value_sort_fields(fs, n);
  const char *const *first = order == ORDER_RESOURCE   ? resource_first
                             : order == ORDER_METADATA ? metadata_first
                                                       : NULL;
  size_t k = 0;
  for (; first && *first; first++)
    for (size_t i = k; i < n; i++)
      if (key_is(fs[i]->key, *first)) {
        const field *hit = fs[i];
        memmove(fs + k + 1, fs + k, (i - k) * sizeof *fs);
        fs[k++] = hit;
        break;
      }
}

static void field_order_done(field_order *o) {
  if (o->at != o->small) free(o->at);
}

/* In a resource, metadata has its own order; the items of a List (kind
 * List, as `-o json` prints) are resources again. */
static key_order child_order(key_order parent, const char *key) {
  if (parent != ORDER_RESOURCE) return ORDER_PLAIN;
  if (key_is(key, "metadata")) return ORDER_METADATA;
  return key_is(key, "items") ? ORDER_RESOURCE : ORDER_PLAIN;
}

/* ---- characters --------------------------------------------------------- */

/* Decodes one UTF-8 sequence; returns its length, or 0 when it is invalid
 * (overlong, surrogate, out of range or cut short). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
  if (!len || len > n || s[0] > 0xF4) return 0;
  uint32_t c = s[0] & (0x3F >> (len - 1));
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    c = c << 6 | (s[i] & 0x3F);
  }
  static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return len;
}

size_t emit_utf8_prefix(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  uint32_t c;
  uint64_t w;
  size_t i = 0;
  for (size_t n; i < len; i += n)
    if (i + 8 <= len && (memcpy(&w, p + i, 8), !(w & 0x8080808080808080u))) /* ASCII, the usual case, a word a test */
      n = 8;
    else if (p[i] < 0x80)
      n = 1;
    else if (!(n = utf8_decode(p + i, len - i, &c))) break;
  return i;
}

bool emit_utf8_valid(const char *s, size_t len) { return emit_utf8_prefix(s, len) == len; }

size_t emit_utf8_char(const char *s, size_t n) {
  uint32_t c;
  return utf8_decode((const unsigned char *)s, n, &c);
}

/* Characters YAML readers accept raw on one line: libyaml refuses control
 * characters and folds NEL, LS and PS as line breaks; a BOM mid-stream
 * confuses some readers. Tab is excluded as go-yaml excludes it. */
static bool yaml_raw_ok(uint32_t c) {
  if (c >= 0x20 && c <= 0x7E) return true;
  if (c < 0xA0 || c == 0x2028 || c == 0x2029 || c == 0xFEFF) return false;
  return c <= 0xD7FF || (c >= 0xE000 && c <= 0xFFFD) || c >= 0x10000;
}

/* True when every character of s is valid UTF-8 and raw_ok, or '\n' where
 * newline_ok allows it. */
static bool all_raw(const char *s, size_t len, bool newline_ok) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    if (p[i] >= 0x20 && p[i] < 0x7F) { /* printable ASCII, the usual case */
      i++;
      continue;
    }
    uint32_t c;
    size_t n = utf8_decode(p + i, len - i, &c);
    if (!n || !(yaml_raw_ok(c) || (newline_ok && c == '\n'))) return false;
    i += n;
  }
  return true;
}

/* How strings are quoted: JSON needs only control characters escaped; YAML
 * also everything that is not raw_ok; Go's encoding/json, whose output
 * Kustomize hashes, also <, >, & and the line and paragraph separators. */
typedef enum { QUOTE_JSON, QUOTE_YAML, QUOTE_GO } quote_style;

static bool go_escapes(uint32_t c) { return c == '<' || c == '>' || c == '&' || c == 0x2028 || c == 0x2029; }

/* A byte that stands for itself inside quotes in style q: printable ASCII
 * but the quote, the backslash and what Go escapes. */
static bool plain_in_quotes(unsigned char c, quote_style q) {
  return c >= 0x20 && c < 0x7F && c != '"' && c != '\\' && !(q == QUOTE_GO && go_escapes(c));
}

/* Writes s double-quoted with JSON escapes, which YAML double quotes share.
 * Invalid UTF-8 cannot be carried by either: it becomes U+FFFD. */
static void put_quoted(buf *b, const char *s, size_t len, quote_style q) {
  const unsigned char *p = (const unsigned char *)s;
  buf_putc(b, '"');
  for (size_t i = 0; i < len;) {
    /* Most of a string is plain: copied a run at a time. */
    size_t run = i;
    while (run < len && plain_in_quotes(p[run], q)) run++;
    if (run > i) {
      buf_put(b, s + i, run - i);
      i = run;
      continue;
    }
    uint32_t c;
    size_t n = utf8_decode(p + i, len - i, &c);
    if (!n) {
      buf_puts(b, "\\ufffd");
      i++;
      continue;
    }
    const char *esc = NULL;
    switch (c) {
    case '"': esc = "\\\""; break;
    case '\\': esc = "\\\\"; break;
    case '\n': esc = "\\n"; break;
    case '\t': esc = "\\t"; break;
    case '\r': esc = "\\r"; break;
    case '\b': esc = "\\b"; break;
    case '\f': esc = "\\f"; break;
    }
    if (esc)
      buf_puts(b, esc);
    else if (c < 0x20 || (q == QUOTE_YAML && !yaml_raw_ok(c)) || (q == QUOTE_GO && go_escapes(c)))
      buf_printf(b, "\\u%04" PRIx32, c); /* all such c are below 0x10000 */
    else
      buf_put(b, s + i, n);
    i += n;
  }
  buf_putc(b, '"');
}

/* ---- what plain YAML scalars resolve to --------------------------------- */

/* Length of the prefix of s (at most n) made of characters from set. */
static size_t span(const char *s, size_t n, const char *set) {
  size_t i = 0;
  while (i < n && s[i] && strchr(set, s[i])) i++;
  return i;
}

#define DIGITS "0123456789"
#define DIGITS_ "0123456789_" /* YAML 1.1 lets '_' group digits */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* 0x1F, 0o17, 0b1 (either case), as Go's ParseInt and YAML 1.1/1.2 read. */
static bool is_prefixed_int(const char *s, size_t n) {
  if (n < 3 || s[0] != '0') return false;
  const char *set = NULL;
  if (s[1] == 'x' || s[1] == 'X') set = "0123456789abcdefABCDEF_";
  if (s[1] == 'o' || s[1] == 'O') set = "01234567_";
  if (s[1] == 'b' || s[1] == 'B') set = "01_";
  return set && span(s + 2, n - 2, set) == n - 2;
}

/* Base 60 after the leading digits, YAML 1.1: (:[0-5]?[0-9])+(\.[0-9_]*)? */
static bool is_base60_tail(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && s[i] == ':') {
    i++;
    if (i + 1 < n && s[i] >= '0' && s[i] <= '5' && is_digit(s[i + 1]))
      i += 2;
    else if (i < n && is_digit(s[i]))
      i++;
    else
      return false;
  }
  if (i < n && s[i] == '.') i += 1 + span(s + i + 1, n - i - 1, DIGITS_);
  return i == n;
}

/* Decimal ints (0777 and 080 included), floats (1., .5, 1e3, 1_000.5) and
 * base 60 numbers: the union of YAML 1.1, 1.2 and go-yaml's rules. */
static bool is_decimal_number(const char *s, size_t n) {
  if (!is_digit(s[0]) && !(n > 1 && s[0] == '.' && is_digit(s[1]))) return false;
  size_t i = span(s, n, DIGITS_);
  if (i > 0 && i < n && s[i] == ':') return is_base60_tail(s + i, n - i);
  if (i < n && s[i] == '.') i += 1 + span(s + i + 1, n - i - 1, DIGITS_);
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t e = span(s + i, n - i, DIGITS_);
    if (!e) return false;
    i += e;
  }
  return i == n;
}

/* True when the n bytes at s are one of words. */
static bool is_one_of(const char *s, size_t n, const char *const *words) {
  for (; *words; words++)
    if ((*words)[0] == s[0] && strlen(*words) == n && memcmp(*words, s, n) == 0) return true;
  return false;
}

static bool matches_number(const char *s, size_t n) {
  static const char *const inf_nan[] = {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN", NULL};
  if (n && (s[0] == '+' || s[0] == '-')) s++, n--;
  if (!n) return false;
  return is_one_of(s, n, inf_nan) || is_prefixed_int(s, n) || is_decimal_number(s, n);
}

/* go-yaml drops every '_' before it parses a number, so "0_x1F" and "+_1"
 * are numbers there though no YAML grammar says so: test both spellings. */
static bool is_number_like(const char *s, size_t n) {
  if (matches_number(s, n)) return true;
  if (!memchr(s, '_', n) || !(is_digit(s[0]) || strchr("+-.", s[0]))) return false;
  char *plain = heap_alloc(n);
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] != '_') plain[m++] = s[i];
  bool number = matches_number(plain, m);
  free(plain);
  return number;
}

/* A YAML 1.1 timestamp: YYYY-M-D, alone or followed by a time. */
static bool is_timestamp_like(const char *s, size_t n) {
  size_t i = span(s, n, DIGITS);
  if (i != 4 || i == n || s[i] != '-') return false;
  for (int part = 0; part < 2; part++) {
    size_t d = span(s + i + 1, n - i - 1, DIGITS);
    if (d < 1 || d > 2) return false;
    i += 1 + d;
    if (part == 0 && (i == n || s[i] != '-')) return false;
  }
  return i == n || s[i] == 'T' || s[i] == 't' || s[i] == ' ';
}

/* Words some reader takes as bool or null, plus "<<" (merge) and "="
 * (YAML 1.1 value key, which PyYAML refuses to construct), by length:
 * every key and value of the output is looked up here. */
static const char *const special_words[][8] = {
    [1] = {"y", "Y", "n", "N", "~", "=", NULL},
    [2] = {"no", "No", "NO", "on", "On", "ON", "<<", NULL},
    [3] = {"yes", "Yes", "YES", "off", "Off", "OFF", NULL},
    [4] = {"true", "True", "TRUE", "null", "Null", "NULL", NULL},
    [5] = {"false", "False", "FALSE", NULL},
};

static bool is_special_word(const char *s, size_t n) {
  if (n >= sizeof special_words / sizeof special_words[0]) return false;
  for (const char *const *w = special_words[n]; *w; w++)
    if ((*w)[0] == s[0] && memcmp(*w, s, n) == 0) return true;
  return false;
}

/* Syntax that stops a plain scalar: indicators at the start, ": " and " #"
 * inside, a colon at the end, document markers. "-x" stays plain as in
 * kubectl output ("--port=80"); "?x" and ":x" are quoted to be safe. */
static bool breaks_plain_syntax(const char *s, size_t n) {
  if (strchr("?:,[]{}#&*!|>'\"%@`", s[0])) return true;
  if (s[0] == '-' && (n == 1 || s[1] == ' ')) return true;
  if (n >= 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0)) return true;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == ':' && (i + 1 == n || s[i + 1] == ' ')) return true;
    if (s[i] == '#' && i > 0 && s[i - 1] == ' ') return true;
  }
  return false;
}

/* True for a string that starts with a letter and holds only letters,
 * digits and "-_./:", not ending in ':'. Most keys and values of a manifest
 * look like that, and for them the rules below come down to the special
 * words: no number or timestamp starts with a letter, and without spaces or
 * '#' nothing inside breaks plain syntax. */
static bool is_simple_word(const char *s, size_t len) {
  /* A table, not comparisons: about a million characters pass here per
   * thousand apps. (Range designators are a GNU C extension.) */
  static const bool word_char[256] = {
      ['a' ... 'z'] = true, ['A' ... 'Z'] = true, ['0' ... '9'] = true,
      ['-'] = true, ['.'] = true, ['/'] = true, [':'] = true, ['_'] = true,
  };
  bool letter = (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z');
  if (!letter || s[len - 1] == ':') return false;
  for (size_t i = 1; i < len; i++)
    if (!word_char[(unsigned char)s[i]]) return false;
  return true;
}

bool emit_yaml_needs_quotes(const char *s, size_t len) {
  if (len == 0) return true;
  if (is_simple_word(s, len)) return is_special_word(s, len);
  if (!all_raw(s, len, false)) return true;
  if (s[0] == ' ' || s[len - 1] == ' ') return true;
  if (breaks_plain_syntax(s, len) || is_special_word(s, len)) return true;
  /* Numbers and timestamps never start with a letter. */
  bool letter = (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z');
  return !letter && (is_number_like(s, len) || is_timestamp_like(s, len));
}

/* ---- remembered decisions ------------------------------------------------ */

/* Both tables are direct-mapped by address: a slot holds the last entry
 * that hashed there, and a collision costs working it out again, never a
 * wrong answer. */
enum { MEMO_BITS = 12 };

/* The YAML text of a collection as put_yaml_node wrote it: a function of
 * the value, its column, its context and its key order, nothing else. */
typedef struct {
  const value *v;
  int col;
  yaml_ctx ctx;
  key_order order;
  bool kept; /* the text is in the memo's texts: the node was met again */
  size_t at, len;
} subtree_text;

struct emit_memo {
  struct {
    const char *s;
    size_t len;
    bool quote;
  } slot[1 << MEMO_BITS];
  subtree_text tree[1 << MEMO_BITS];
  /* The texts of the tree slots, end to end. Plain heap, grown as needed:
   * a small stream keeps little or nothing here. */
  buf texts;
};

emit_memo *emit_memo_new(void) {
  emit_memo *m = heap_calloc(1, sizeof *m);
  return m;
}

void emit_memo_free(emit_memo *m) {
  if (!m) return;
  buf_free(&m->texts);
  free(m);
}

/* Fibonacci hashing: the top bits of the product mix every address bit. */
static size_t memo_hash(const void *p) {
  return (size_t)(((uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15u) >> (64 - MEMO_BITS));
}

static bool needs_quotes(emit_memo *m, const char *s, size_t len) {
  if (!m) return emit_yaml_needs_quotes(s, len);
  size_t h = memo_hash(s);
  if (m->slot[h].s != s || m->slot[h].len != len) {
    m->slot[h].s = s;
    m->slot[h].len = len;
    m->slot[h].quote = emit_yaml_needs_quotes(s, len);
  }
  return m->slot[h].quote;
}

static bool same_subtree(const subtree_text *t, const value *v, int col, yaml_ctx ctx, key_order order) {
  return t->v == v && t->col == col && t->ctx == ctx && t->order == order;
}

/* ---- YAML output -------------------------------------------------------- */

static void put_indent(buf *b, int col) {
  if (col <= 0) return;
  size_t n = (size_t)col;
  if (b->len + n + 1 > b->cap) buf_reserve(b, n);
  memset(b->data + b->len, ' ', n);
  b->len += n;
  b->data[b->len] = '\0';
}

/* Shortest text that reads back as f, always with a '.' so that every
 * reader (YAML 1.1 needs it, 1e+20 is a string there) sees a float. */
static void format_float(char out[40], double f) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(out, 40, "%.*g", prec, f);
    if (strtod(out, NULL) == f) break;
  }
  if (strchr(out, '.')) return;
  char *e = strchr(out, 'e');
  size_t at = e ? (size_t)(e - out) : strlen(out);
  memmove(out + at + 2, out + at, strlen(out + at) + 1);
  memcpy(out + at, ".0", 2);
}

/* A literal block keeps a multi-line string readable. go-yaml refuses it
 * for lines with trailing spaces or tabs; a leading space or newline would
 * need an indentation indicator, so those stay double-quoted. */
static bool literal_ok(const char *s, size_t len) {
  if (!memchr(s, '\n', len) || s[0] == ' ' || s[0] == '\n' || s[len - 1] == ' ') return false;
  for (size_t i = 0; i + 1 < len; i++)
    if (s[i] == ' ' && s[i + 1] == '\n') return false;
  return all_raw(s, len, true);
}

static void put_literal(buf *b, const char *s, size_t len, int col) {
  size_t body = len;
  while (body > 0 && s[body - 1] == '\n') body--;
  size_t trailing = len - body;
  buf_puts(b, trailing == 0 ? "|-\n" : trailing == 1 ? "|\n" : "|+\n");
  for (size_t i = 0; i < body;) {
    const char *nl = memchr(s + i, '\n', body - i);
    size_t end = nl ? (size_t)(nl - s) : body;
    if (end > i) put_indent(b, col);
    buf_put(b, s + i, end - i);
    buf_putc(b, '\n');
    i = end + 1;
  }
  for (size_t i = 1; i < trailing; i++) buf_putc(b, '\n');
}

/* A string in its YAML form; block_col >= 0 allows a literal block whose
 * lines start at that column (and which ends its own last line). */
static bool put_yaml_string(buf *b, emit_memo *m, const char *s, size_t len, int block_col) {
  if (block_col >= 0 && literal_ok(s, len)) {
    put_literal(b, s, len, block_col);
    return true;
  }
  if (needs_quotes(m, s, len))
    put_quoted(b, s, len, QUOTE_YAML);
  else
    buf_put(b, s, len);
  return false;
}

/* A scalar or empty collection and the newline that ends its line. */
static void put_yaml_scalar(buf *b, emit_memo *m, const value *v, int block_col) {
  char num[40];
  switch (v->kind) {
  case V_NULL: buf_puts(b, "null"); break;
  case V_BOOL: buf_puts(b, v->u.b ? "true" : "false"); break;
  case V_INT: buf_put_int(b, v->u.i); break;
  case V_FLOAT:
    if (isnan(v->u.f))
      buf_puts(b, ".nan");
    else if (isinf(v->u.f))
      buf_puts(b, v->u.f > 0 ? ".inf" : "-.inf");
    else {
      format_float(num, v->u.f);
      buf_puts(b, num);
    }
    break;
  case V_STRING:
    if (put_yaml_string(b, m, v->u.str.s, v->u.str.len, block_col)) return;
    break;
  case V_LIST: buf_puts(b, "[]"); break;
  case V_OBJECT: buf_puts(b, "{}"); break;
  case V_FUNC: buf_puts(b, "<function>"); break;
  }
  buf_putc(b, '\n');
}

static void put_yaml_node(buf *b, emit_memo *m, const value *v, int col, yaml_ctx ctx, key_order order);

/* Fields at column col; the first one's indentation is already written
 * when it follows "- " on the same line. */
static void put_yaml_fields(buf *b, emit_memo *m, const value *obj, int col, bool first_inline, key_order order) {
  field_order o;
  ordered_fields(&o, obj, order);
  const field **fs = o.at;
  for (size_t i = 0; i < obj->u.obj.len; i++) {
    if (i > 0 || !first_inline) put_indent(b, col);
    const char *key = fs[i]->key;
    size_t klen = strlen(key);
    if (klen > SIMPLE_KEY_MAX) {
      buf_puts(b, "? ");
      put_yaml_string(b, m, key, klen, -1);
      buf_putc(b, '\n');
      put_indent(b, col);
    } else {
      put_yaml_string(b, m, key, klen, -1);
    }
    buf_putc(b, ':');
    put_yaml_node(b, m, fs[i]->val, col, AFTER_KEY, child_order(order, key));
  }
  field_order_done(&o);
}

/* Items at column col, each "- " then its node; as kubectl prints them, a
 * list under a key sits at the key's own column. */
static void put_yaml_items(buf *b, emit_memo *m, const value *list, int col, bool first_inline) {
  for (size_t i = 0; i < list->u.list.len; i++) {
    if (i > 0 || !first_inline) put_indent(b, col);
    buf_puts(b, "- ");
    put_yaml_node(b, m, list->u.list.items[i], col, AFTER_DASH, ORDER_PLAIN);
  }
}

static void put_yaml_collection(buf *b, emit_memo *m, const value *v, int col, yaml_ctx ctx, key_order order);

/* A collection met before at the same place is copied from its text. Its
 * text is kept the second time it is met, not the first: most collections
 * of a stream are met once, and copying those would be wasted. */
static void put_yaml_remembered(buf *b, emit_memo *m, const value *v, int col, yaml_ctx ctx, key_order order) {
  subtree_text *t = &m->tree[memo_hash(v)];
  bool again = same_subtree(t, v, col, ctx, order);
  if (again && t->kept) {
    buf_put(b, m->texts.data + t->at, t->len);
    return;
  }
  if (!again) *t = (subtree_text){v, col, ctx, order, false, 0, 0};
  size_t start = b->len;
  put_yaml_collection(b, m, v, col, ctx, order);
  /* The children may have taken the slot meanwhile. */
  if (again && same_subtree(t, v, col, ctx, order)) {
    *t = (subtree_text){v, col, ctx, order, true, m->texts.len, b->len - start};
    buf_put(&m->texts, b->data + start, t->len);
  }
}

/* col is the column of the key or dash that v follows (0 at the top). */
static void put_yaml_node(buf *b, emit_memo *m, const value *v, int col, yaml_ctx ctx, key_order order) {
  bool obj = v->kind == V_OBJECT && v->u.obj.len > 0;
  bool list = v->kind == V_LIST && v->u.list.len > 0;
  if (!obj && !list) {
    if (ctx == AFTER_KEY) buf_putc(b, ' ');
    put_yaml_scalar(b, m, v, col + 2);
  } else if (m) {
    put_yaml_remembered(b, m, v, col, ctx, order);
  } else {
    put_yaml_collection(b, m, v, col, ctx, order);
  }
}

/* A non-empty object or list. */
static void put_yaml_collection(buf *b, emit_memo *m, const value *v, int col, yaml_ctx ctx, key_order order) {
  bool obj = v->kind == V_OBJECT;
  if (ctx == AFTER_KEY) buf_putc(b, '\n');
  if (obj) {
    int inner = ctx == AT_TOP ? col : col + 2;
    put_yaml_fields(b, m, v, inner, ctx != AFTER_KEY, order);
  } else {
    int inner = ctx == AFTER_DASH ? col + 2 : col;
    put_yaml_items(b, m, v, inner, ctx != AFTER_KEY);
  }
}

void emit_yaml_resource(buf *out, const value *resource, emit_memo *m) {
  put_yaml_node(out, m, resource, 0, AT_TOP, ORDER_RESOURCE);
}

void emit_yaml_value(buf *out, const value *v) { put_yaml_node(out, NULL, v, 0, AT_TOP, ORDER_PLAIN); }

/* ---- JSON output -------------------------------------------------------- */

/* Before item i of a collection at depth: the comma and, when pretty, the
 * line break and indentation. */
static void json_sep(buf *b, size_t i, int depth, bool pretty) {
  if (i > 0) buf_putc(b, ',');
  if (pretty) {
    buf_putc(b, '\n');
    put_indent(b, 2 * (depth + 1));
  }
}

static void json_close(buf *b, int depth, bool pretty, char c) {
  if (pretty) {
    buf_putc(b, '\n');
    put_indent(b, 2 * depth);
  }
  buf_putc(b, c);
}

static void put_json(buf *b, const value *v, int depth, bool pretty, key_order order, quote_style q) {
  char num[40];
  switch (v->kind) {
  case V_NULL: buf_puts(b, "null"); return;
  case V_BOOL: buf_puts(b, v->u.b ? "true" : "false"); return;
  case V_INT: buf_put_int(b, v->u.i); return;
  case V_FLOAT:
    if (!isfinite(v->u.f)) {
      buf_puts(b, "null");
      return;
    }
    format_float(num, v->u.f);
    buf_puts(b, num);
    return;
  case V_STRING: put_quoted(b, v->u.str.s, v->u.str.len, q); return;
  case V_FUNC: buf_puts(b, "\"<function>\""); return;
  case V_LIST:
    buf_putc(b, '[');
    for (size_t i = 0; i < v->u.list.len; i++) {
      json_sep(b, i, depth, pretty);
      /* Only a top-level list of resources passes the resource order on. */
      put_json(b, v->u.list.items[i], depth + 1, pretty,
               order == ORDER_RESOURCE ? ORDER_RESOURCE : ORDER_PLAIN, q);
    }
    json_close(b, depth, pretty && v->u.list.len > 0, ']');
    return;
  case V_OBJECT: {
    field_order o;
    ordered_fields(&o, v, order);
    const field **fs = o.at;
    buf_putc(b, '{');
    for (size_t i = 0; i < v->u.obj.len; i++) {
      json_sep(b, i, depth, pretty);
      put_quoted(b, fs[i]->key, strlen(fs[i]->key), q);
      buf_puts(b, pretty ? ": " : ":");
      put_json(b, fs[i]->val, depth + 1, pretty, child_order(order, fs[i]->key), q);
    }
    json_close(b, depth, pretty && v->u.obj.len > 0, '}');
    field_order_done(&o);
    return;
  }
  }
}

void emit_json(buf *out, const value *v, bool pretty, bool resources) {
  put_json(out, v, 0, pretty, resources ? ORDER_RESOURCE : ORDER_PLAIN, QUOTE_JSON);
}

void emit_json_go(buf *out, const value *v) { put_json(out, v, 0, false, ORDER_PLAIN, QUOTE_GO); }
