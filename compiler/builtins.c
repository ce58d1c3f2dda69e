/* builtins.c: the functions every Plumb file can call, written in C.
 *
 * Each built-in checks its own argument kinds and reports a mistake as
 * "NAME: message" at the call site. Results live in the compile's arena and
 * carry the call's position; elements taken from an argument (sort, get, ...)
 * keep their own positions so `plumb explain` still finds where they came
 * from. */
#include "builtin.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>


#include "eval.h"
#include "generate.h"
#include "helm.h"
#include "merge.h"
#include "plumb/emit.h"
#include "plumb/yaml.h"
#include "regex.h"
#include "sha256.h"
#include "sops.h"
#include "validate.h"
#include "yamldir.h"

enum { RANGE_MAX = 1000000 };

/* One call in progress: what every helper needs to build values and name the
 * built-in in its messages. */
typedef struct {
  eval *ev;
  pos at;
  const char *fn;
  value **argv;
  int argc;
} call;

/* Opens every built-in, so its name is written once and helpers take `c`. */
#define CALL(name) call c_ = {ev, at, name, argv, argc}, *c = &c_

static arena *ar(const call *c) { return eval_arena(c->ev); }

static value *fail(const call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static value *fail(const call *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = arena_vprintf(ar(c), fmt, ap);
  va_end(ap);
  return eval_fail(c->ev, c->at, "%s: %s", c->fn, msg);
}

static value *wrong(const call *c, int i, const char *want) {
  return fail(c, "argument %d must be %s, got %s", i + 1, want,
              value_kind_name(c->argv[i]->kind));
}

static const char *const kind_phrase[] = {"null",     "a bool", "an int",    "a float",
                                          "a string", "a list", "an object", "a function"};

/* Argument i when it has kind k; otherwise reports and returns NULL. */
static const value *arg(const call *c, int i, value_kind k) {
  if (c->argv[i]->kind == k) return c->argv[i];
  wrong(c, i, kind_phrase[k]);
  return NULL;
}

static bool is_number(const value *v) { return v->kind == V_INT || v->kind == V_FLOAT; }
static double num(const value *v) { return v->kind == V_INT ? (double)v->u.i : v->u.f; }

static value *str(const call *c, const char *s, size_t n) { return value_string(ar(c), c->at, s, n); }
static value *boolean(const call *c, bool b) { return value_bool(ar(c), c->at, b); }
static value *list(const call *c) { return value_list(ar(c), c->at); }
static void push(const call *c, value *l, value *item) { value_list_push(ar(c), l, item); }

static value *too_long(const call *c) { return fail(c, "the result would be longer than %d MiB", EVAL_MAX_STRING >> 20); }

/* The text built in b, which the built-in stopped writing at the first
 * piece past EVAL_MAX_STRING: one piece over at most, never unbounded. */
static value *str_buf(const call *c, buf *b) {
  value *v = b->len > EVAL_MAX_STRING ? too_long(c) : str(c, b->data ? b->data : "", b->len);
  buf_free(b);
  return v;
}

/* ---- text forms of values ---- */

/* The shortest of %.15g..%.17g that reads back as the same double, so 0.1
 * prints as 0.1 and not 0.10000000000000001. */
/* Whether v's text form can be a string: a value built of shared parts
 * may stand for far more text than it takes memory. */
static bool fits_text(const call *c, const value *v) {
  if (v->size <= EVAL_MAX_STRING) return true;
  fail(c, "the value would be %s as text; a string holds at most %d MiB", eval_size_words(c->ev, v),
       EVAL_MAX_STRING >> 20);
  return false;
}

static bool has_func(const value *v) {
  if (v->kind == V_FUNC) return true;
  if (v->kind == V_LIST)
    for (size_t i = 0; i < v->u.list.len; i++)
      if (has_func(v->u.list.items[i])) return true;
  if (v->kind == V_OBJECT)
    for (size_t i = 0; i < v->u.obj.len; i++)
      if (has_func(v->u.obj.fields[i].val)) return true;
  return false;
}

/* Strings raw, scalars as their literal text, lists and objects as compact
 * JSON. False after reporting a function, which has no text form, or a
 * string in a list or object that JSON cannot hold. */
static bool put_text(const call *c, buf *b, const value *v) {
  if (!fits_text(c, v)) return false;
  if (has_func(v)) {
    fail(c, "a function has no text form");
    return false;
  }
  if ((v->kind == V_LIST || v->kind == V_OBJECT) && !validate_text(eval_diags(c->ev), v)) return false;
  if (!value_put_text(b, v)) emit_json(b, v, false, false);
  return true;
}

/* A string as a quoted JSON literal, to show user text safely in messages. */
static const char *quoted(const call *c, const value *s) {
  if (s->secret) return "a decrypted value";
  buf b = {0};
  emit_json(&b, s, false, false);
  char *q = arena_strndup(ar(c), b.data ? b.data : "", b.len);
  buf_free(&b);
  return q;
}

/* ---- strings ---- */

static value *map_bytes(const call *c, int (*f)(int)) {
  const value *s = arg(c, 0, V_STRING);
  if (!s) return NULL;
  value *r = str(c, s->u.str.s, s->u.str.len);
  char *p = (char *)r->u.str.s;
  for (size_t i = 0; i < r->u.str.len; i++) p[i] = (char)f((unsigned char)p[i]);
  return r;
}

static int ascii_upper(int ch) { return ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch; }
static int ascii_lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch; }
static bool ascii_space(char ch) { return ch && strchr(" \t\n\r\v\f", ch); }

static value *bi_upper(eval *ev, pos at, value **argv, int argc) {
  CALL("upper");
  return map_bytes(c, ascii_upper);
}

static value *bi_lower(eval *ev, pos at, value **argv, int argc) {
  CALL("lower");
  return map_bytes(c, ascii_lower);
}

static value *bi_trim(eval *ev, pos at, value **argv, int argc) {
  CALL("trim");
  const value *s = arg(c, 0, V_STRING);
  if (!s) return NULL;
  const char *p = s->u.str.s, *end = p + s->u.str.len;
  while (p < end && ascii_space(*p)) p++;
  while (end > p && ascii_space(end[-1])) end--;
  return str(c, p, (size_t)(end - p));
}

/* Arguments first..first+n-1, all strings; false after reporting. */
static bool strings(const call *c, int first, int n, const value **out) {
  for (int i = 0; i < n; i++)
    if (!(out[i] = arg(c, first + i, V_STRING))) return false;
  return true;
}

static bool nonempty(const call *c, const value *s, const char *what) {
  if (s->u.str.len) return true;
  fail(c, "%s must not be empty", what);
  return false;
}

static value *bi_split(eval *ev, pos at, value **argv, int argc) {
  CALL("split");
  const value *a[2];
  if (!strings(c, 0, 2, a) || !nonempty(c, a[1], "the separator")) return NULL;
  value *r = list(c);
  const char *p = a[0]->u.str.s, *end = p + a[0]->u.str.len, *hit;
  size_t n = a[1]->u.str.len;
  while ((hit = memmem(p, (size_t)(end - p), a[1]->u.str.s, n))) {
    push(c, r, str(c, p, (size_t)(hit - p)));
    p = hit + n;
  }
  push(c, r, str(c, p, (size_t)(end - p)));
  return r;
}

static value *bi_join(eval *ev, pos at, value **argv, int argc) {
  CALL("join");
  const value *l = arg(c, 0, V_LIST), *sep = l ? arg(c, 1, V_STRING) : NULL;
  if (!sep) return NULL;
  buf b = {0};
  for (size_t i = 0; i < l->u.list.len && b.len <= EVAL_MAX_STRING; i++) {
    const value *v = l->u.list.items[i];
    if (v->kind != V_STRING && !is_number(v)) {
      buf_free(&b);
      return fail(c, "list element %zu must be a string or number, got %s", i,
                  value_kind_name(v->kind));
    }
    if (i) buf_put(&b, sep->u.str.s, sep->u.str.len);
    put_text(c, &b, v);
  }
  return str_buf(c, &b);
}

static value *bi_replace(eval *ev, pos at, value **argv, int argc) {
  CALL("replace");
  const value *a[3];
  if (!strings(c, 0, 3, a) || !nonempty(c, a[1], "the string to replace")) return NULL;
  buf b = {0};
  const char *p = a[0]->u.str.s, *end = p + a[0]->u.str.len, *hit;
  size_t n = a[1]->u.str.len;
  while (b.len <= EVAL_MAX_STRING && (hit = memmem(p, (size_t)(end - p), a[1]->u.str.s, n))) {
    buf_put(&b, p, (size_t)(hit - p));
    buf_put(&b, a[2]->u.str.s, a[2]->u.str.len);
    p = hit + n;
  }
  buf_put(&b, p, (size_t)(end - p));
  return str_buf(c, &b);
}

/* One %-verb of format() applied to argument i. */
static bool put_verb(const call *c, buf *b, char verb, int i) {
  const value *v = c->argv[i];
  if (verb == 'd' && v->kind != V_INT) {
    wrong(c, i, "an int for %d");
    return false;
  }
  if (verb == 'f' && !is_number(v)) {
    wrong(c, i, "a number for %f");
    return false;
  }
  if (verb == 'f')
    value_put_float(b, num(v));
  else if (!put_text(c, b, v)) /* %d, %s and %v */
    return false;
  return true;
}

/* Appends the expansion of one '%' directive at *p (just past the '%'), or
 * returns an error message; false from put_verb is reported already. */
static bool directive(const call *c, buf *b, const char *p, const char *end, int *next,
                      const char **err) {
  if (p == end)
    *err = "the format string ends in a lone %";
  else if (*p == '%')
    buf_putc(b, '%');
  else if (!memchr("sdfv", *p, 4))
    *err = arena_printf(ar(c), "unknown verb %%%c", *p);
  else if (*next == c->argc)
    *err = arena_printf(ar(c), "too few arguments for the format string (got %d)", c->argc - 1);
  else
    return put_verb(c, b, *p, (*next)++);
  return *err == NULL;
}

static value *bi_format(eval *ev, pos at, value **argv, int argc) {
  CALL("format");
  const value *f = arg(c, 0, V_STRING);
  if (!f) return NULL;
  buf b = {0};
  int next = 1;
  const char *err = NULL;
  bool ok = true;
  for (const char *p = f->u.str.s, *end = p + f->u.str.len; ok && p < end && b.len <= EVAL_MAX_STRING; p++) {
    if (*p != '%')
      buf_putc(&b, *p);
    else
      ok = directive(c, &b, ++p, end, &next, &err);
  }
  if (ok && next < argc)
    err = arena_printf(ar(c), "too many arguments for the format string (it uses %d, got %d)",
                       next - 1, argc - 1);
  if (!ok || err) {
    buf_free(&b);
    return err ? fail(c, "%s", err) : NULL;
  }
  return str_buf(c, &b);
}

static value *bi_starts_with(eval *ev, pos at, value **argv, int argc) {
  CALL("starts_with");
  const value *a[2];
  if (!strings(c, 0, 2, a)) return NULL;
  size_t n = a[1]->u.str.len;
  return boolean(c, n <= a[0]->u.str.len && memcmp(a[0]->u.str.s, a[1]->u.str.s, n) == 0);
}

static value *bi_ends_with(eval *ev, pos at, value **argv, int argc) {
  CALL("ends_with");
  const value *a[2];
  if (!strings(c, 0, 2, a)) return NULL;
  size_t n = a[1]->u.str.len, len = a[0]->u.str.len;
  return boolean(c, n <= len && memcmp(a[0]->u.str.s + len - n, a[1]->u.str.s, n) == 0);
}

static value *bi_contains(eval *ev, pos at, value **argv, int argc) {
  CALL("contains");
  const value *h = argv[0], *n = argv[1];
  switch (h->kind) {
  case V_LIST:
    for (size_t i = 0; i < h->u.list.len; i++)
      if (value_equal(h->u.list.items[i], n)) return boolean(c, true);
    return boolean(c, false);
  case V_STRING:
    if (!arg(c, 1, V_STRING)) return NULL;
    return boolean(c, memmem(h->u.str.s, h->u.str.len, n->u.str.s, n->u.str.len) != NULL);
  case V_OBJECT:
    if (!arg(c, 1, V_STRING)) return NULL;
    return boolean(c, value_object_get(h, n->u.str.s) != NULL);
  default: return wrong(c, 0, "a string, list or object");
  }
}

/* ---- conversions ---- */

static value *bi_string(eval *ev, pos at, value **argv, int argc) {
  CALL("string");
  buf b = {0};
  if (!put_text(c, &b, argv[0])) return NULL;
  return str_buf(c, &b);
}

/* Decimal numerals only: an optional sign, digits and, for floats, a
 * fraction and exponent. No spaces, hex, "inf" or "nan", which strtod would
 * otherwise take. */
static bool numeral(const char *s, size_t len, bool is_float) {
  size_t i = 0, digits = 0;
  if (i < len && (s[i] == '+' || s[i] == '-')) i++;
  for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) digits++;
  if (is_float && i < len && s[i] == '.')
    for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) digits++;
  if (is_float && digits && i < len && (s[i] == 'e' || s[i] == 'E')) {
    size_t exp = 0;
    if (++i < len && (s[i] == '+' || s[i] == '-')) i++;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) exp++;
    if (!exp) return false;
  }
  return digits && i == len;
}

static value *int_from_string(const call *c, const value *s) {
  if (!numeral(s->u.str.s, s->u.str.len, false))
    return fail(c, "cannot parse %s as an int", quoted(c, s));
  errno = 0;
  long long i = strtoll(s->u.str.s, NULL, 10);
  if (errno == ERANGE) return fail(c, "%s is out of the int range", quoted(c, s));
  return value_int(ar(c), c->at, i);
}

static value *bi_int(eval *ev, pos at, value **argv, int argc) {
  CALL("int");
  const value *v = argv[0];
  switch (v->kind) {
  case V_INT: return value_int(ar(c), at, v->u.i);
  case V_FLOAT:
    /* -2^63 is exact in a double; 2^63 is the first value past INT64_MAX. */
    if (!(v->u.f >= -9223372036854775808.0 && v->u.f < 9223372036854775808.0)) {
      buf b = {0};
      value_put_float(&b, v->u.f);
      fail(c, "%s is out of the int range", b.data);
      buf_free(&b);
      return NULL;
    }
    return value_int(ar(c), at, (int64_t)v->u.f);
  case V_STRING: return int_from_string(c, v);
  default: return wrong(c, 0, "a number or string");
  }
}

static value *bi_float(eval *ev, pos at, value **argv, int argc) {
  CALL("float");
  const value *v = argv[0];
  if (is_number(v)) return value_float(ar(c), at, num(v));
  if (v->kind != V_STRING) return wrong(c, 0, "a number or string");
  if (!numeral(v->u.str.s, v->u.str.len, true))
    return fail(c, "cannot parse %s as a float", quoted(c, v));
  double f = strtod(v->u.str.s, NULL);
  if (isinf(f)) return fail(c, "%s is out of the float range", quoted(c, v));
  return value_float(ar(c), at, f);
}

/* ---- regular expressions ---- */

/* UTF mode so that `.` and classes step over whole characters; invalid UTF-8
 * in a subject just never matches instead of failing the call. */
static pcre2_code *compile_re(const call *c, const value *pattern) {
  int err;
  PCRE2_SIZE off;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern->u.str.s, pattern->u.str.len,
                                 PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &off, NULL);
  if (!re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    fail(c, "invalid regular expression at offset %zu: %s", (size_t)off, (char *)msg);
  }
  return re;
}

static value *pcre_fail(const call *c, const char *what, int rc) {
  PCRE2_UCHAR msg[256];
  pcre2_get_error_message(rc, msg, sizeof msg);
  return fail(c, "%s: %s", what, (char *)msg);
}

/* The pattern (argument 0) compiled and the subject (argument 1) checked. */
static pcre2_code *regex_args(const call *c, const value **subject) {
  const value *p = arg(c, 0, V_STRING);
  if (!p || !(*subject = arg(c, 1, V_STRING))) return NULL;
  return compile_re(c, p);
}

/* [whole, group1, ...] with null for groups that took no part. */
static value *groups(const call *c, const pcre2_code *re, pcre2_match_data *md, const value *s) {
  uint32_t n;
  pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &n);
  PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
  value *r = list(c);
  for (uint32_t g = 0; g <= n; g++) {
    PCRE2_SIZE b = ov[2 * g], e = ov[2 * g + 1];
    push(c, r, b == PCRE2_UNSET ? value_null(ar(c), c->at) : str(c, s->u.str.s + b, e - b));
  }
  return r;
}

/* Successive matches as Perl's //g finds them: after an empty match the next
 * one may not be empty at the same place, else move on one character. With
 * `all` false, stops after the first. Returns the list of group lists. */
static value *find_matches(const call *c, const pcre2_code *re, const value *s, bool all) {
  pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
  const char *subj = s->u.str.s;
  size_t len = s->u.str.len, off = 0;
  uint32_t opts = 0;
  value *r = list(c);
  for (;;) {
    int rc = regex_match(c->ev, c->at, re, (PCRE2_SPTR)subj, len, off, opts, md);
    if (rc == PCRE2_ERROR_NOMATCH && opts && off < len) {
      do off++; while (off < len && ((unsigned char)subj[off] & 0xC0) == 0x80);
      opts = 0;
      continue;
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      r = pcre_fail(c, "matching failed", rc);
      break;
    }
    push(c, r, groups(c, re, md, s));
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    if (!all) break;
    off = ov[1];
    opts = ov[0] == ov[1] ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
  }
  pcre2_match_data_free(md);
  return r;
}

static value *regex_find(const call *c, bool all) {
  const value *s;
  pcre2_code *re = regex_args(c, &s);
  if (!re) return NULL;
  value *r = find_matches(c, re, s, all);
  pcre2_code_free(re);
  if (!r || all) return r;
  return r->u.list.len ? r->u.list.items[0] : value_null(ar(c), c->at);
}

static value *bi_re_match(eval *ev, pos at, value **argv, int argc) {
  CALL("re_match");
  value *r = regex_find(c, false);
  return r ? boolean(c, r->kind != V_NULL) : NULL;
}

static value *bi_re_find(eval *ev, pos at, value **argv, int argc) {
  CALL("re_find");
  return regex_find(c, false);
}

static value *bi_re_find_all(eval *ev, pos at, value **argv, int argc) {
  CALL("re_find_all");
  return regex_find(c, true);
}

/* pcre2_substitute into a malloc'd buffer; on overflow it reports the size
 * needed, so the second try always fits, unless that is too long
 * (PCRE2_ERROR_NOMEMORY). */
static int substitute(const call *c, const pcre2_code *re, const value *s, const value *rep, char **out,
                      PCRE2_SIZE *len) {
  uint32_t opts = PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_EXTENDED |
                  PCRE2_SUBSTITUTE_UNSET_EMPTY | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH;
  *len = 2 * s->u.str.len + rep->u.str.len + 64;
  for (int tries = 0;; tries++) {
    *out = heap_realloc(*out, *len);
    int rc = regex_substitute(c->ev, c->at, re, (PCRE2_SPTR)s->u.str.s, s->u.str.len, opts, (PCRE2_SPTR)rep->u.str.s,
                              rep->u.str.len, (PCRE2_UCHAR *)*out, len);
    if (rc != PCRE2_ERROR_NOMEMORY || tries) return rc;
    if (*len > EVAL_MAX_STRING) return rc; /* *len is the size it would need */
  }
}

static value *bi_re_replace(eval *ev, pos at, value **argv, int argc) {
  CALL("re_replace");
  const value *s, *rep = arg(c, 2, V_STRING);
  pcre2_code *re = rep ? regex_args(c, &s) : NULL;
  if (!re) return NULL;
  char *out = NULL;
  PCRE2_SIZE len;
  int rc = substitute(c, re, s, rep, &out, &len);
  value *r = rc == PCRE2_ERROR_NOMEMORY ? too_long(c) : rc < 0 ? pcre_fail(c, "cannot substitute", rc) : str(c, out, len);
  free(out);
  pcre2_code_free(re);
  return r;
}

/* ---- encodings and digests ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void builtin_base64(buf *out, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    char q[4] = {b64[v >> 18], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=',
                 i + 2 < n ? b64[v & 63] : '='};
    buf_put(out, q, 4);
  }
}

static value *bi_base64_encode(eval *ev, pos at, value **argv, int argc) {
  CALL("base64_encode");
  const value *s = arg(c, 0, V_STRING);
  if (!s) return NULL;
  buf b = {0};
  builtin_base64(&b, s->u.str.s, s->u.str.len);
  return str_buf(c, &b);
}

static int b64_digit(char ch) {
  const char *p = ch ? strchr(b64, ch) : NULL;
  return p ? (int)(p - b64) : -1;
}

/* Decodes the quad at s, the last one when `last`; returns how many bytes it
 * held, or -1 - (offset of the first bad character) for invalid input. */
static int b64_quad(const char *s, bool last, unsigned char out[3]) {
  uint32_t v = 0;
  int pad = 0;
  for (int k = 0; k < 4; k++) {
    int d = b64_digit(s[k]);
    if (s[k] == '=' && last && k >= 2 && s[3] == '=') {
      d = 0;
      pad++;
    } else if (pad || d < 0) {
      return -1 - k;
    }
    v = v << 6 | (uint32_t)d;
  }
  /* Padding must leave the unused low bits zero, so each text has one form. */
  if (v & (pad == 2 ? 0xFFFF : pad == 1 ? 0xFF : 0)) return -1 - (3 - pad);
  out[0] = (unsigned char)(v >> 16), out[1] = (unsigned char)(v >> 8), out[2] = (unsigned char)v;
  return 3 - pad;
}

/* The offset in s of its k-th character that is not a line break. */
static size_t unbroken_offset(const char *s, size_t k) {
  size_t i = 0;
  for (;; i++)
    if (s[i] != '\n' && s[i] != '\r' && k-- == 0) return i;
}

bool builtin_base64_decode(buf *out, const char *s, size_t len, size_t *bad) {
  /* Line breaks are skipped, as Go's decoder (and so the API server)
   * skips them: generators write long data in lines of 70. */
  buf text = {0};
  for (size_t i = 0; i < len; i++)
    if (s[i] != '\n' && s[i] != '\r') buf_putc(&text, s[i]);
  buf_puts(&text, "");
  size_t n = text.len;
  *bad = SIZE_MAX;
  for (size_t i = 0; i + 4 <= n && *bad == SIZE_MAX; i += 4) {
    unsigned char q[3];
    int got = b64_quad(text.data + i, i + 4 == n, q);
    if (got < 0) *bad = unbroken_offset(s, i + (size_t)(-1 - got));
    else buf_put(out, (const char *)q, (size_t)got);
  }
  buf_free(&text);
  return *bad == SIZE_MAX && n % 4 == 0;
}

static value *bi_base64_decode(eval *ev, pos at, value **argv, int argc) {
  CALL("base64_decode");
  const value *s = arg(c, 0, V_STRING);
  if (!s) return NULL;
  buf b = {0};
  size_t bad;
  if (builtin_base64_decode(&b, s->u.str.s, s->u.str.len, &bad)) return str_buf(c, &b);
  buf_free(&b);
  if (bad != SIZE_MAX) return fail(c, "invalid base64 at offset %zu", bad);
  size_t n = 0;
  for (size_t i = 0; i < s->u.str.len; i++) n += s->u.str.s[i] != '\n' && s->u.str.s[i] != '\r';
  return fail(c, "invalid base64: length %zu is not a multiple of 4", n);
}

static value *bi_sha256(eval *ev, pos at, value **argv, int argc) {
  CALL("sha256");
  const value *s = arg(c, 0, V_STRING);
  if (!s) return NULL;
  unsigned char md[SHA256_BYTES];
  sha256(s->u.str.s, s->u.str.len, md);
  buf b = {0};
  for (int i = 0; i < SHA256_BYTES; i++) buf_printf(&b, "%02x", md[i]);
  return str_buf(c, &b);
}

/* ---- JSON and YAML ---- */

static value *emitted(const call *c, void (*emit)(buf *, const value *)) {
  if (!fits_text(c, c->argv[0])) return NULL;
  if (has_func(c->argv[0])) return fail(c, "a function cannot be serialized");
  if (!validate_text(eval_diags(c->ev), c->argv[0])) return NULL;
  buf b = {0};
  emit(&b, c->argv[0]);
  return str_buf(c, &b);
}

static void emit_compact_json(buf *b, const value *v) { emit_json(b, v, false, false); }

static value *bi_to_json(eval *ev, pos at, value **argv, int argc) {
  CALL("to_json");
  return emitted(c, emit_compact_json);
}

value *builtin_to_json(eval *ev, pos at, const char *fn, value *v) {
  call c = {ev, at, fn, &v, 1};
  return emitted(&c, emit_compact_json);
}

static value *bi_to_yaml(eval *ev, pos at, value **argv, int argc) {
  CALL("to_yaml");
  return emitted(c, emit_yaml_value);
}

/* Parsed values take the call's position: lines inside the string mean
 * nothing in the file that holds the call. A node already stamped was
 * reached through an alias before, so shared subtrees are walked once. */
void builtin_stamp(value *v, pos at) {
  if (v->at.file == at.file && v->at.line == at.line && v->at.col == at.col) return;
  v->at = at;
  if (v->kind == V_LIST)
    for (size_t i = 0; i < v->u.list.len; i++) builtin_stamp(v->u.list.items[i], at);
  if (v->kind == V_OBJECT)
    for (size_t i = 0; i < v->u.obj.len; i++) builtin_stamp(v->u.obj.fields[i].val, at);
}

/* Every document of argument 0 as a list. A syntax error is reported at the
 * call, naming the line and column inside the string. */
static value *documents(const call *c, const char *lang) {
  const value *s = arg(c, 0, V_STRING);
  if (!s) return NULL;
  diag_list d;
  diag_init(&d, ar(c));
  value *docs = NULL;
  int (*read)(arena *, diag_list *, const char *, const char *, size_t, value **) =
      strcmp(lang, "JSON") == 0 ? yaml_read_json : yaml_read;
  if (read(ar(c), &d, "<string>", s->u.str.s, s->u.str.len, &docs) < 0 || !docs) {
    const diag *g = d.first;
    if (g && g->at.line)
      return fail(c, "invalid %s at line %d, column %d: %s", lang, g->at.line, g->at.col, g->msg);
    return fail(c, "invalid %s: %s", lang, g ? g->msg : "unreadable input");
  }
  builtin_stamp(docs, c->at);
  return docs;
}

static value *single_document(const call *c, const char *lang, const char *hint) {
  value *docs = documents(c, lang);
  if (!docs) return NULL;
  if (docs->u.list.len > 1)
    return fail(c, "found %zu documents%s", docs->u.list.len, hint);
  return docs->u.list.len ? docs->u.list.items[0] : value_null(ar(c), c->at);
}

static value *bi_from_yaml(eval *ev, pos at, value **argv, int argc) {
  CALL("from_yaml");
  return single_document(c, "YAML", "; use from_yaml_all");
}

static value *bi_from_yaml_all(eval *ev, pos at, value **argv, int argc) {
  CALL("from_yaml_all");
  return documents(c, "YAML");
}

static value *bi_from_json(eval *ev, pos at, value **argv, int argc) {
  CALL("from_json");
  return single_document(c, "JSON", "; want one JSON value");
}

/* ---- collections ---- */

static value *bi_len(eval *ev, pos at, value **argv, int argc) {
  CALL("len");
  const value *v = argv[0];
  switch (v->kind) {
  case V_STRING: return value_int(ar(c), at, (int64_t)v->u.str.len);
  case V_LIST: return value_int(ar(c), at, (int64_t)v->u.list.len);
  case V_OBJECT: return value_int(ar(c), at, (int64_t)v->u.obj.len);
  default: return wrong(c, 0, "a string, list or object");
  }
}

/* Keys (as strings) or values of argument 0, in sorted-key order. */
static value *object_parts(const call *c, bool want_keys) {
  const value *o = arg(c, 0, V_OBJECT);
  if (!o) return NULL;
  const char **keys = value_sorted_keys(o);
  value *r = list(c);
  for (size_t i = 0; i < o->u.obj.len; i++)
    push(c, r, want_keys ? value_cstring(ar(c), c->at, keys[i]) : value_object_get(o, keys[i]));
  free(keys);
  return r;
}

static value *bi_keys(eval *ev, pos at, value **argv, int argc) {
  CALL("keys");
  return object_parts(c, true);
}

static value *bi_values(eval *ev, pos at, value **argv, int argc) {
  CALL("values");
  return object_parts(c, false);
}

/* How many of start, start+step, ... lie before end; unsigned arithmetic
 * because end - start can exceed INT64_MAX. */
static uint64_t range_count(int64_t start, int64_t end, int64_t step) {
  if (step > 0 && start < end) return ((uint64_t)end - (uint64_t)start - 1) / (uint64_t)step + 1;
  if (step < 0 && start > end)
    return ((uint64_t)start - (uint64_t)end - 1) / (0 - (uint64_t)step) + 1;
  return 0;
}

static value *bi_range(eval *ev, pos at, value **argv, int argc) {
  CALL("range");
  int64_t a[3] = {0, 0, 1};
  for (int i = 0; i < argc; i++) {
    const value *v = arg(c, i, V_INT);
    if (!v) return NULL;
    a[argc == 1 ? 1 : i] = v->u.i;
  }
  if (a[2] == 0) return fail(c, "the step must not be 0");
  uint64_t n = range_count(a[0], a[1], a[2]);
  if (n > RANGE_MAX) return fail(c, "too many elements (%llu; at most %d)", (unsigned long long)n, RANGE_MAX);
  value *r = list(c);
  for (uint64_t i = 0; i < n; i++)
    push(c, r, value_int(ar(c), at, (int64_t)((uint64_t)a[0] + i * (uint64_t)a[2])));
  return r;
}

static void merge_sort(value **items, size_t *idx, size_t *tmp, size_t n) {
  if (n < 2) return;
  size_t h = n / 2, i = 0, j = h, k = 0;
  merge_sort(items, idx, tmp, h);
  merge_sort(items, idx + h, tmp, n - h);
  while (i < h && j < n)
    tmp[k++] = value_compare(items[idx[j]], items[idx[i]]) < 0 ? idx[j++] : idx[i++];
  while (i < h) tmp[k++] = idx[i++];
  while (j < n) tmp[k++] = idx[j++];
  memcpy(idx, tmp, n * sizeof *idx);
}

/* Positions of a list's items in sorted order; equal items keep their
 * order, so sort() is stable and unique() keeps first occurrences. */
static size_t *sorted_order(const value *l) {
  size_t n = l->u.list.len, *idx = heap_alloc((n + 1) * sizeof *idx), *tmp = heap_alloc((n + 1) * sizeof *tmp);
  for (size_t i = 0; i < n; i++) idx[i] = i;
  merge_sort(l->u.list.items, idx, tmp, n);
  free(tmp);
  return idx;
}

static value *bi_sort(eval *ev, pos at, value **argv, int argc) {
  CALL("sort");
  const value *l = arg(c, 0, V_LIST);
  if (!l) return NULL;
  size_t *idx = sorted_order(l);
  value *r = list(c);
  for (size_t i = 0; i < l->u.list.len; i++) push(c, r, l->u.list.items[idx[i]]);
  free(idx);
  return r;
}

static value *bi_unique(eval *ev, pos at, value **argv, int argc) {
  CALL("unique");
  const value *l = arg(c, 0, V_LIST);
  if (!l) return NULL;
  size_t n = l->u.list.len, *idx = sorted_order(l);
  bool *keep = heap_calloc(n + 1, sizeof *keep);
  for (size_t i = 0; i < n; i++)
    keep[idx[i]] = i == 0 || value_compare(l->u.list.items[idx[i - 1]], l->u.list.items[idx[i]]);
  value *r = list(c);
  for (size_t i = 0; i < n; i++)
    if (keep[i]) push(c, r, l->u.list.items[i]);
  free(keep);
  free(idx);
  return r;
}

static value *bi_reverse(eval *ev, pos at, value **argv, int argc) {
  CALL("reverse");
  const value *l = arg(c, 0, V_LIST);
  if (!l) return NULL;
  value *r = list(c);
  for (size_t i = l->u.list.len; i-- > 0;) push(c, r, l->u.list.items[i]);
  return r;
}

static value *bi_flatten(eval *ev, pos at, value **argv, int argc) {
  CALL("flatten");
  const value *l = arg(c, 0, V_LIST);
  if (!l) return NULL;
  value *r = list(c);
  for (size_t i = 0; i < l->u.list.len; i++) {
    value *v = l->u.list.items[i];
    if (v->kind != V_LIST) {
      push(c, r, v);
      continue;
    }
    for (size_t j = 0; j < v->u.list.len; j++) push(c, r, v->u.list.items[j]);
  }
  return r;
}

static value *bi_merge(eval *ev, pos at, value **argv, int argc) {
  CALL("merge");
  for (int i = 0; i < argc; i++)
    if (!arg(c, i, V_OBJECT)) return NULL;
  value *r = argv[0];
  for (int i = 1; i < argc; i++) r = merge_values(ar(c), r, argv[i], "merge()");
  r = value_clone(ar(c), r);
  r->at = at;
  return r;
}

/* The element of an object (string key) or list (int index) named by
 * argument 1: false after reporting a kind error, *out NULL when absent. */
static bool lookup(const call *c, value **out) {
  const value *v = c->argv[0];
  *out = NULL;
  if (v->kind == V_OBJECT) {
    const value *k = arg(c, 1, V_STRING);
    if (k) *out = value_object_get(v, k->u.str.s);
    return k != NULL;
  }
  if (v->kind == V_LIST) {
    const value *k = arg(c, 1, V_INT);
    if (k && k->u.i >= 0 && (uint64_t)k->u.i < v->u.list.len) *out = v->u.list.items[k->u.i];
    return k != NULL;
  }
  wrong(c, 0, "an object or list");
  return false;
}

static value *bi_has(eval *ev, pos at, value **argv, int argc) {
  CALL("has");
  value *v;
  return lookup(c, &v) ? boolean(c, v != NULL) : NULL;
}

static value *bi_get(eval *ev, pos at, value **argv, int argc) {
  CALL("get");
  value *v;
  if (!lookup(c, &v)) return NULL;
  if (v) return v;
  return argc > 2 ? argv[2] : value_null(ar(c), at);
}

/* Argument 0 as a path: a string without NUL bytes. */
static const value *path_arg(const call *c) {
  const value *p = arg(c, 0, V_STRING);
  if (p && memchr(p->u.str.s, '\0', p->u.str.len)) return fail(c, "the path contains a NUL byte");
  return p;
}

static value *bi_file(eval *ev, pos at, value **argv, int argc) {
  CALL("file");
  const value *p = path_arg(c);
  return p ? eval_read_file(ev, at, "file", p->u.str.s) : NULL;
}

/* The documents of a YAML file as resources. Unlike from_yaml(file(...)),
 * every value keeps its line and column in that file, for errors and
 * `plumb explain`. */
static value *bi_yaml_resources(eval *ev, pos at, value **argv, int argc) {
  CALL("yaml_resources");
  const value *p = path_arg(c);
  const char *name, *text;
  size_t len;
  value *docs;
  if (!p || !eval_read_source(ev, at, c->fn, p->u.str.s, &name, &text, &len)) return NULL;
  diag_add_source(eval_diags(ev), name, text, len);
  if (yaml_read(ar(c), eval_diags(ev), name, text, len, &docs) < 0) return NULL;
  docs = sops_docs(ev, name, text, len, docs);
  return docs ? builtin_resources_of(ev, c->fn, name, docs) : NULL;
}

/* Kustomize's test of a list (kubectl's and Argo CD's take the same
 * kinds): a kind ending in List, with items. Items null is an empty list. */
static bool is_list(const value *kind, const value *items) {
  return kind && kind->kind == V_STRING && kind->u.str.len >= 4 &&
         strcmp(kind->u.str.s + kind->u.str.len - 4, "List") == 0 && items &&
         (items->kind == V_LIST || items->kind == V_NULL);
}

value *builtin_resources_of(eval *ev, const char *fn, const char *name, const value *docs) {
  value *out = value_list(eval_arena(ev), docs->at);
  for (size_t i = 0; i < docs->u.list.len; i++) {
    value *d = docs->u.list.items[i];
    const value *k = value_get_path(d, "kind"), *n = value_get_path(d, "metadata.name"), *items = value_get_path(d, "items");
    if (is_list(k, items) && items->kind == V_NULL) continue;
    if (is_list(k, items)) {
      value *inner = builtin_resources_of(ev, fn, name, items);
      if (!inner) return NULL;
      for (size_t j = 0; j < inner->u.list.len; j++) value_list_push(eval_arena(ev), out, inner->u.list.items[j]);
      continue;
    }
    if (!k || k->kind != V_STRING || !n || n->kind != V_STRING)
      return eval_fail(ev, d->at, "%s: document %zu of %s is not a Kubernetes resource: it needs kind and metadata.name",
                       fn, i + 1, name);
    value_list_push(eval_arena(ev), out, d);
  }
  return out;
}

/* Sorted by name for bsearch. */
static const builtin table[] = {
    {"base64_decode", 1, 1, bi_base64_decode, true},
    {"base64_encode", 1, 1, bi_base64_encode, true},
    {"config_map", 1, 2, generate_config_map, false},
    {"contains", 2, 2, bi_contains, true},
    {"ends_with", 2, 2, bi_ends_with, true},
    {"file", 1, 1, bi_file, false},
    {"flatten", 1, 1, bi_flatten, true},
    {"float", 1, 1, bi_float, false},
    {"format", 1, -1, bi_format, true},
    {"from_json", 1, 1, bi_from_json, true},
    {"from_yaml", 1, 1, bi_from_yaml, true},
    {"from_yaml_all", 1, 1, bi_from_yaml_all, true},
    {"get", 2, 3, bi_get, false},
    {"has", 2, 2, bi_has, false},
    {"helm_chart", 1, 2, helm_builtin, false},
    {"int", 1, 1, bi_int, false},
    {"join", 2, 2, bi_join, true},
    {"keys", 1, 1, bi_keys, false},
    {"len", 1, 1, bi_len, false},
    {"lower", 1, 1, bi_lower, true},
    {"merge", 1, -1, bi_merge, true},
    {"range", 1, 3, bi_range, false},
    {"re_find", 2, 2, bi_re_find, true},
    {"re_find_all", 2, 2, bi_re_find_all, true},
    {"re_match", 2, 2, bi_re_match, true},
    {"re_replace", 3, 3, bi_re_replace, true},
    {"replace", 3, 3, bi_replace, true},
    {"reverse", 1, 1, bi_reverse, false},
    {"secret", 1, 2, generate_secret, false},
    {"sha256", 1, 1, bi_sha256, true},
    {"sort", 1, 1, bi_sort, true},
    {"split", 2, 2, bi_split, true},
    {"starts_with", 2, 2, bi_starts_with, true},
    {"string", 1, 1, bi_string, true},
    {"to_json", 1, 1, bi_to_json, true},
    {"to_yaml", 1, 1, bi_to_yaml, true},
    {"trim", 1, 1, bi_trim, true},
    {"unique", 1, 1, bi_unique, true},
    {"upper", 1, 1, bi_upper, true},
    {"values", 1, 1, bi_values, false},
    {"yaml_dir", 1, 2, yamldir_builtin, false},
    {"yaml_resources", 1, 1, bi_yaml_resources, false},
};

static int by_name(const void *key, const void *elem) {
  return strcmp(key, ((const builtin *)elem)->name);
}

const builtin *builtin_find(const char *name) {
  return bsearch(name, table, sizeof table / sizeof *table, sizeof *table, by_name);
}

int builtin_index(const builtin *b) {
  _Static_assert(sizeof table / sizeof *table <= 64, "eval.c keeps 64 built-in slots");
  return (int)(b - table);
}
