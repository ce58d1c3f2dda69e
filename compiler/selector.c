/* selector.c: label selectors (see selector.h), parsed as
 * k8s.io/apimachinery's labels.Parse reads them. */
#include "selector.h"

#include <ctype.h>
#include <string.h>

typedef enum { R_EXISTS, R_ABSENT, R_IN, R_NOT_IN } req_op;

typedef struct {
  const char *key;
  req_op op;
  const char **values;
  size_t nvalues;
} requirement;

struct selector {
  requirement *reqs;
  size_t n;
};

typedef struct {
  arena *a;
  const char *text, *p;
  const char *err;
} scanner;

static void skip_space(scanner *s) {
  while (*s->p == ' ' || *s->p == '\t') s->p++;
}

static bool fail(scanner *s, const char *what) {
  if (!s->err)
    s->err = arena_printf(s->a, "expected %s at offset %d of \"%s\"", what, (int)(s->p - s->text), s->text);
  return false;
}

static bool word_char(char c) { return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == '/'; }

/* A key or a value; values may be empty after `=` (a label set to ""). */
static const char *word(scanner *s, bool may_be_empty, const char *what) {
  skip_space(s);
  const char *start = s->p;
  while (word_char(*s->p)) s->p++;
  if (s->p == start && !may_be_empty) return fail(s, what), NULL;
  return arena_strndup(s->a, start, (size_t)(s->p - start));
}

static bool eat(scanner *s, const char *tok) {
  skip_space(s);
  size_t n = strlen(tok);
  if (strncmp(s->p, tok, n) != 0) return false;
  /* `in` and `notin` are words: `index=1` is a key, not `in dex`. */
  if (isalpha((unsigned char)tok[0]) && word_char(s->p[n])) return false;
  s->p += n;
  return true;
}

static void add_value(scanner *s, requirement *r, const char *v) {
  r->values = arena_grow(s->a, r->values, r->nvalues * sizeof *r->values, (r->nvalues + 1) * sizeof *r->values);
  r->values[r->nvalues++] = v;
}

/* `(a, b, c)` after `in` or `notin`. */
static bool value_set(scanner *s, requirement *r) {
  if (!eat(s, "(")) return fail(s, "'('");
  do {
    const char *v = word(s, false, "a value");
    if (!v) return false;
    add_value(s, r, v);
  } while (eat(s, ","));
  return eat(s, ")") || fail(s, "',' or ')'");
}

static bool requirement_of(scanner *s, requirement *r) {
  bool negated = eat(s, "!");
  if (!(r->key = word(s, false, "a label key"))) return false;
  r->op = negated ? R_ABSENT : R_EXISTS;
  skip_space(s);
  if (negated || !*s->p || *s->p == ',') return true;
  if (eat(s, "in")) {
    r->op = R_IN;
    return value_set(s, r);
  }
  if (eat(s, "notin")) {
    r->op = R_NOT_IN;
    return value_set(s, r);
  }
  if (eat(s, "!="))
    r->op = R_NOT_IN;
  else if (eat(s, "==") || eat(s, "="))
    r->op = R_IN;
  else
    return fail(s, "'=', '!=', 'in', 'notin' or ','");
  const char *v = word(s, true, "a value");
  add_value(s, r, v);
  return true;
}

selector *selector_parse(arena *a, const char *text, const char **err) {
  scanner s = {a, text, text, NULL};
  selector *sel = arena_alloc(a, sizeof *sel);
  *sel = (selector){0};
  skip_space(&s);
  while (*s.p) {
    sel->reqs = arena_grow(a, sel->reqs, sel->n * sizeof *sel->reqs, (sel->n + 1) * sizeof *sel->reqs);
    requirement *r = &sel->reqs[sel->n++];
    *r = (requirement){0};
    if (!requirement_of(&s, r)) break;
    skip_space(&s);
    if (*s.p && !eat(&s, ",")) {
      fail(&s, "','");
      break;
    }
    if (!*s.p && s.p[-1] == ',') fail(&s, "a label key");
  }
  *err = s.err;
  return s.err ? NULL : sel;
}

static bool one_of(const requirement *r, const char *v) {
  for (size_t i = 0; i < r->nvalues; i++)
    if (strcmp(r->values[i], v) == 0) return true;
  return false;
}

bool selector_match(const selector *sel, const value *labels) {
  for (size_t i = 0; i < sel->n; i++) {
    const requirement *r = &sel->reqs[i];
    const value *v = labels && labels->kind == V_OBJECT ? value_object_get(labels, r->key) : NULL;
    const char *s = v && v->kind == V_STRING ? v->u.str.s : NULL;
    bool ok = r->op == R_EXISTS   ? v != NULL
              : r->op == R_ABSENT ? v == NULL
              : r->op == R_IN     ? s && one_of(r, s)
                                  : !s || !one_of(r, s);
    if (!ok) return false;
  }
  return true;
}
