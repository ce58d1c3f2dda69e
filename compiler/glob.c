/* glob.c: gobwas/glob patterns as PCRE2 expressions (glob.h).
 *
 * A pattern is read as gobwas/glob's lexer and parser read it, so that it
 * means here what it means to Argo CD: `,` and `}` are plain characters
 * outside braces, `]` outside brackets; a bracket holds one range or one
 * list of characters and nothing else (`[a-z0-9]` is refused, `[ab-c]` is
 * the list a, b, -, c); `!` negates only first in a bracket; a brace left
 * open is closed at the end; a `\` at the very end is dropped. Characters
 * are UTF-8 ones, as gobwas reads runes. Two faults of gobwas v0.2.3 are
 * not copied: where `?` or a bracket stands among plain text, it fails on
 * a character of more than one byte (`?.yaml` and é.yaml), and an empty
 * `{}` among text matches nothing, or panics. */
#include "glob.h"

#include <ctype.h>
#include <string.h>

#include "plumb/emit.h"

typedef struct {
  arena *a;
  const char *pattern, *p; /* p: what is left of it */
  buf out;
  int braces; /* open */
  const char *err;
} reader;

static bool fail(reader *r, const char *why) {
  r->err = arena_printf(r->a, "invalid pattern \"%s\": %s", r->pattern, why);
  return false;
}

/* The bytes of the character at p, 0 at the end or after reporting bytes
 * that are not UTF-8. */
static size_t char_at(reader *r, const char *p) {
  if (!*p) return 0;
  size_t n = emit_utf8_char(p, strlen(p));
  if (!n) fail(r, "it is not valid UTF-8");
  return n;
}

/* One character, to stand for itself in an expression or a class: ASCII
 * punctuation behind a backslash, which PCRE2 reads as the plain
 * character, letters, digits and the rest as they are. */
static void put_plain(buf *b, const char *s, size_t n) {
  if (n == 1 && !isalnum((unsigned char)*s)) buf_putc(b, '\\');
  buf_put(b, s, n);
}

/* Plain characters up to one of stop or the end, as gobwas's fetchText:
 * a backslash makes the character after it plain. The count of characters
 * put in b, or -1 after reporting. */
static int text(reader *r, const char *stop, buf *b) {
  int count = 0;
  for (bool escaped = false; *r->p;) {
    size_t n = char_at(r, r->p);
    if (!n) return -1;
    if (!escaped && *r->p == '\\') {
      escaped = true;
      r->p++;
      continue;
    }
    if (!escaped && n == 1 && strchr(stop, *r->p)) break;
    escaped = false;
    put_plain(b, r->p, n);
    r->p += n;
    count++;
  }
  return count;
}

/* Whether the character lo (ln bytes) comes after hi: UTF-8's byte order
 * is that of code points. */
static bool after(const char *lo, size_t ln, const char *hi, size_t hn) {
  int c = memcmp(lo, hi, ln < hn ? ln : hn);
  return c > 0 || (c == 0 && ln > hn);
}

/* lo-hi] of a bracket, lo at r->p: one range and the ]. */
static bool range(reader *r, size_t ln, buf *cls) {
  const char *lo = r->p, *hi = r->p + ln + 1;
  size_t hn = char_at(r, hi);
  if (!hn) return r->err ? false : fail(r, "a [ has no ]");
  r->p = hi + hn;
  if (*r->p != ']')
    return fail(r, *r->p ? "a bracket holds one range, or one list of characters, then ]" : "a [ has no ]");
  r->p++;
  if (after(lo, ln, hi, hn)) return fail(r, "a range goes from a character to one after it");
  put_plain(cls, lo, ln);
  buf_putc(cls, '-');
  put_plain(cls, hi, hn);
  return true;
}

/* The characters of a bracket up to its ], r->p at the first. */
static bool list(reader *r, buf *cls) {
  int count = text(r, "]", cls);
  if (count < 0) return false;
  if (*r->p != ']') return fail(r, "a [ has no ]");
  r->p++;
  return count > 0 || fail(r, "a bracket is empty");
}

/* A bracket, r->p just after its [: one character of a range or a list,
 * or, after !, one not of it. gobwas takes the first character, whatever
 * it is, as the start of a range when a - follows it. */
static bool bracket(reader *r) {
  bool not = *r->p == '!';
  r->p += not;
  size_t n = char_at(r, r->p);
  if (!n) return r->err ? false : fail(r, "a [ has no ]");
  buf cls = {0};
  bool ok = r->p[n] == '-' ? range(r, n, &cls) : list(r, &cls);
  if (ok) buf_printf(&r->out, "[%s%s]", not ? "^" : "", cls.data);
  buf_free(&cls);
  return ok;
}

/* One piece of the pattern at r->p, as gobwas's lexer reads it. */
static bool piece(reader *r) {
  char c = *r->p;
  if (c == '[') {
    r->p++;
    return bracket(r);
  }
  if (c == '*') {
    r->p += r->p[1] == '*' ? 2 : 1; /* `**` is the same as `*` without separators */
    buf_puts(&r->out, ".*");
    return true;
  }
  const char *put = c == '{' ? "(?:" : c == '?' ? "." : !r->braces ? NULL : c == ',' ? "|" : c == '}' ? ")" : NULL;
  if (!put) return text(r, r->braces ? "?*[{}," : "?*[{", &r->out) >= 0;
  r->braces += c == '{' ? 1 : c == '}' ? -1 : 0;
  buf_puts(&r->out, put);
  r->p++;
  return true;
}

const char *glob_to_regex(arena *a, const char *pattern, const char **err) {
  reader r = {.a = a, .pattern = pattern, .p = pattern};
  /* Whole paths: \A and \z, not ^ and $, which a newline ends. */
  buf_puts(&r.out, "(?s)\\A(?:");
  bool ok = true;
  while (ok && *r.p) ok = piece(&r);
  for (; r.braces; r.braces--) buf_putc(&r.out, ')');
  buf_puts(&r.out, ")\\z");
  const char *re = ok ? arena_strdup(a, r.out.data) : NULL;
  buf_free(&r.out);
  if (!ok) *err = r.err;
  return re;
}

pcre2_code *glob_compile(arena *a, const char *pattern, const char **err) {
  const char *re = glob_to_regex(a, pattern, err);
  if (!re) return NULL;
  int code;
  PCRE2_SIZE off;
  /* Subjects are valid UTF-8 (glob_subject); PCRE2's invalid-UTF mode
   * would instead match within the valid parts of a path, \A and \z
   * included, so that "a.yaml" matched "\xffa.yaml". */
  pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
  if (!c) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(code, msg, sizeof msg);
    *err = arena_printf(a, "invalid pattern \"%s\": %s", pattern, (char *)msg);
  }
  return c;
}

/* The length of the well-formed UTF-8 sequence at s (1 to 4), 0 when none
 * starts there: PCRE2 checks what Unicode allows (no overlong forms, no
 * surrogates, nothing past U+10FFFF). */
static size_t utf8_at(const unsigned char *s) {
  unsigned c = s[0];
  size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  if (n == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))) return 0;
  if (n == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))) return 0;
  return n;
}

const char *glob_subject(arena *a, const char *path) {
  size_t i = 0, n;
  while (path[i] && (n = utf8_at((const unsigned char *)path + i))) i += n;
  if (!path[i]) return path;
  buf out = {0};
  for (i = 0; path[i]; i += n ? n : 1) {
    n = utf8_at((const unsigned char *)path + i);
    if (n) buf_put(&out, path + i, n);
    else buf_puts(&out, "\xEF\xBF\xBD"); /* U+FFFD */
  }
  const char *s = arena_strdup(a, out.data);
  buf_free(&out);
  return s;
}
