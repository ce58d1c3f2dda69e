/* test_yaml.c: reading YAML as Kubernetes reads it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/emit.h"
#include "plumb/yaml.h"

static arena *A;
static diag_list D;

static int setup(void **state) {
  A = arena_new();
  diag_init(&D, A);
  return 0;
}

static int teardown(void **state) {
  arena_free(A);
  return 0;
}

/* Every document of text, which must read without errors. */
static value *read_docs(const char *text) {
  value *docs = NULL;
  int rc = yaml_read(A, &D, "f.yaml", text, strlen(text), &docs);
  if (rc != 0) {
    diag_print(&D, stderr);
    fail_msg("could not read: %s", text);
  }
  assert_non_null(docs);
  assert_int_equal(docs->kind, V_LIST);
  return docs;
}

static value *read_one(const char *text) {
  value *docs = read_docs(text);
  assert_int_equal(docs->u.list.len, 1);
  return docs->u.list.items[0];
}

static void assert_error(const char *text, int line, int col, const char *msg) {
  value *out = (value *)1;
  diag_init(&D, A);
  if (yaml_read(A, &D, "f.yaml", text, strlen(text), &out) != -1) fail_msg("read: %s", text);
  assert_null(out);
  assert_int_equal(D.errors, 1);
  assert_string_equal(D.first->msg, msg);
  assert_string_equal(D.first->at.file, "f.yaml");
  if (D.first->at.line != line || D.first->at.col != col)
    fail_msg("%s: error at %d:%d, want %d:%d", msg, D.first->at.line, D.first->at.col, line, col);
}

/* ---- scalars ------------------------------------------------------------ */

typedef struct {
  const char *yaml; /* the text after "v: " */
  value_kind kind;
  int64_t i;        /* V_INT, or V_BOOL's 0/1 */
  double f;
  const char *s;
} scalar_case;

#define NUL_(y) {y, V_NULL, 0, 0, NULL}
#define BOOL_(y, b) {y, V_BOOL, b, 0, NULL}
#define INT_(y, i) {y, V_INT, i, 0, NULL}
#define FLT_(y, f) {y, V_FLOAT, 0, f, NULL}
#define STR_(y, s) {y, V_STRING, 0, 0, s}

static const scalar_case scalar_cases[] = {
    /* null */
    NUL_(""), NUL_("~"), NUL_("null"), NUL_("Null"), NUL_("NULL"), STR_("nil", "nil"),
    /* YAML 1.1 booleans, as go-yaml v2 reads them */
    BOOL_("true", 1), BOOL_("True", 1), BOOL_("TRUE", 1), BOOL_("yes", 1), BOOL_("Yes", 1),
    BOOL_("YES", 1), BOOL_("y", 1), BOOL_("Y", 1), BOOL_("on", 1), BOOL_("On", 1), BOOL_("ON", 1),
    BOOL_("false", 0), BOOL_("no", 0), BOOL_("NO", 0), BOOL_("n", 0), BOOL_("N", 0),
    BOOL_("off", 0), BOOL_("OFF", 0), STR_("tRUE", "tRUE"), STR_("yEs", "yEs"),
    /* integers in Go's syntax, '_' ignored */
    INT_("0", 0), INT_("42", 42), INT_("-42", -42), INT_("+42", 42), INT_("0777", 511),
    INT_("0o17", 15), INT_("0O17", 15), INT_("0x1F", 31), INT_("0X1f", 31), INT_("-0x1F", -31),
    INT_("0b101", 5), INT_("-0b101", -5), INT_("1_000", 1000), INT_("0x_1F", 31),
    INT_("0_x1F", 31), INT_("+_1", 1),
    INT_("9223372036854775807", INT64_MAX), INT_("-9223372036854775808", INT64_MIN),
    /* floats: yamlStyleFloat, and a bad octal falls through to it */
    FLT_("1.5", 1.5), FLT_("1e3", 1000), FLT_("1E3", 1000), FLT_("-1.5e-3", -0.0015),
    FLT_(".5", 0.5), FLT_("-.5", -0.5), FLT_("1.", 1), FLT_("2.0", 2), FLT_("080", 80),
    FLT_("09", 9), FLT_("0e5", 0), FLT_("1_000.5", 1000.5),
    /* strings: base 60 and timestamps are not read as numbers by go-yaml v2 */
    STR_("1:20", "1:20"), STR_("2024-01-01", "2024-01-01"), STR_("500m", "500m"),
    STR_("1.2.3", "1.2.3"), STR_("0x", "0x"), STR_("+", "+"), STR_("0b2", "0b2"),
    STR_(".5_0", ".5_0"), STR_("1e400", "1e400"), STR_("nginx:1.27", "nginx:1.27"),
    STR_("-Xmx1g", "-Xmx1g"), STR_("<<", "<<"),
    /* quoted and block scalars are always strings */
    STR_("'yes'", "yes"), STR_("\"1\"", "1"), STR_("''", ""), STR_("\"\\t\\u00e9\"", "\t\xc3\xa9"),
    STR_("|\n  yes\n", "yes\n"), STR_(">-\n  a\n  b\n", "a b"),
    /* explicit tags */
    STR_("!!str 1", "1"), STR_("!!str", ""), STR_("! 12", "12"), INT_("!!int \"42\"", 42),
    FLT_("!!float 1", 1), FLT_("!!float '1.5'", 1.5), BOOL_("!!bool \"yes\"", 1), NUL_("!!null ''"),
    STR_("!!timestamp 2024-01-01", "2024-01-01"),
};

static void test_scalar_resolution(void **state) {
  for (size_t i = 0; i < sizeof scalar_cases / sizeof *scalar_cases; i++) {
    const scalar_case *c = &scalar_cases[i];
    char text[128];
    snprintf(text, sizeof text, "v: %s", c->yaml);
    const value *v = value_object_get(read_one(text), "v");
    assert_non_null(v);
    if (v->kind != c->kind)
      fail_msg("%s: read as %s, want %s", c->yaml, value_kind_name(v->kind),
               value_kind_name(c->kind));
    switch (c->kind) {
    case V_BOOL: assert_int_equal(v->u.b, c->i); break;
    case V_INT: assert_int_equal(v->u.i, c->i); break;
    case V_FLOAT: assert_true(v->u.f == c->f); break;
    case V_STRING: assert_string_equal(v->u.str.s, c->s); break;
    default: break;
    }
  }
}

/* Plumb's floats are finite, and JSON output would print these as null. */
static void test_not_finite(void **state) {
  assert_error(".nan", 1, 1, ".nan is not a finite number; Plumb and JSON have no infinity or NaN");
  assert_error("v: [1, -.Inf]", 1, 8, "-.Inf is not a finite number; Plumb and JSON have no infinity or NaN");
  assert_error("!!float +.INF", 1, 1, "+.INF is not a finite number; Plumb and JSON have no infinity or NaN");
}

static void test_strings_may_hold_nul(void **state) {
  const value *v = read_one("\"a\\0b\"");
  assert_int_equal(v->kind, V_STRING);
  assert_int_equal(v->u.str.len, 3);
  assert_memory_equal(v->u.str.s, "a\0b", 3);
}

static void assert_at(const value *v, int line, int col);

/* ---- documents and keys ------------------------------------------------- */

static void test_empty_documents_are_skipped(void **state) {
  value *docs = read_docs("---\n---\na: 1\n---\nnull\n---\n~\n...\n---\n# comment\n---\nb: 2\n");
  assert_int_equal(docs->u.list.len, 2);
  assert_non_null(value_object_get(docs->u.list.items[0], "a"));
  assert_non_null(value_object_get(docs->u.list.items[1], "b"));
  assert_int_equal(read_docs("")->u.list.len, 0);
  assert_int_equal(read_docs("# only a comment\n")->u.list.len, 0);
  assert_string_equal(read_one("hello")->u.str.s, "hello");
}

static void test_bom_and_crlf(void **state) {
  const value *v = read_one("\357\273\277a: 1\r\nb: |\r\n  x\r\n  y\r\nc: 2\r\n");
  assert_int_equal(value_object_get(v, "a")->u.i, 1);
  assert_string_equal(value_object_get(v, "b")->u.str.s, "x\ny\n");
  assert_at(value_object_get(v, "c"), 5, 4);
}

static void test_non_string_keys_keep_their_text(void **state) {
  const value *v = read_one("1: a\ntrue: b\n~: c\n0x1F: d\n1.50: e\n'q': f\n");
  const char *keys[] = {"1", "true", "~", "0x1F", "1.50", "q"};
  assert_int_equal(v->u.obj.len, 6);
  for (size_t i = 0; i < 6; i++) assert_string_equal(v->u.obj.fields[i].key, keys[i]);
}

static void test_keys_keep_written_order(void **state) {
  const value *v = read_one("b: 1\na: 2\nc: 3\n");
  assert_string_equal(v->u.obj.fields[0].key, "b");
  assert_string_equal(v->u.obj.fields[1].key, "a");
  assert_string_equal(v->u.obj.fields[2].key, "c");
}

/* ---- anchors, aliases, merge keys --------------------------------------- */

static void test_aliases_share_the_anchored_value(void **state) {
  const value *v = read_one("a: &x {k: v}\nb: *x\nn: &n 5\nm: *n\n");
  assert_ptr_equal(value_object_get(v, "a"), value_object_get(v, "b"));
  assert_int_equal(value_object_get(v, "m")->u.i, 5);
}

static void test_alias_as_key(void **state) {
  const value *v = read_one("k: &k name\n*k : v\n");
  assert_string_equal(value_object_get(v, "name")->u.str.s, "v");
}

static void test_anchor_redefinition_shadows(void **state) {
  const value *v = read_one("a: &x 1\nb: *x\nc: &x 2\nd: *x\n");
  assert_int_equal(value_object_get(v, "b")->u.i, 1);
  assert_int_equal(value_object_get(v, "d")->u.i, 2);
}

static void test_anchors_stay_in_their_document(void **state) {
  assert_error("a: &x 1\n---\nb: *x\n", 3, 4, "unknown anchor \"x\"");
}

static void test_merge_keys(void **state) {
  const value *v = read_one("base: &base {a: 1, b: 2}\n"
                            "other: &other {b: 3, c: 4}\n"
                            "m:\n"
                            "  <<: [*base, *other]\n"
                            "  a: 10\n"
                            "before:\n"
                            "  a: 10\n"
                            "  <<: *base\n");
  const value *m = value_object_get(v, "m");
  assert_int_equal(m->u.obj.len, 3);
  assert_int_equal(value_object_get(m, "a")->u.i, 10); /* written keys win */
  assert_int_equal(value_object_get(m, "b")->u.i, 2);  /* earlier merges win */
  assert_int_equal(value_object_get(m, "c")->u.i, 4);
  const value *before = value_object_get(v, "before");
  assert_int_equal(value_object_get(before, "a")->u.i, 10);
  assert_int_equal(value_object_get(before, "b")->u.i, 2);
}

static void test_quoted_merge_key_is_a_plain_key(void **state) {
  const value *v = read_one("\"<<\": 1\n");
  assert_int_equal(value_object_get(v, "<<")->u.i, 1);
}

static void test_alias_bomb_is_refused(void **state) {
  buf b = {0};
  buf_puts(&b, "a: &a [x, x, x, x, x, x, x, x, x, x]\n");
  for (char c = 'b'; c <= 'g'; c++) {
    buf_printf(&b, "%c: &%c [", c, c);
    for (int i = 0; i < 10; i++) buf_printf(&b, "%s*%c", i ? ", " : "", c - 1);
    buf_puts(&b, "]\n");
  }
  /* a to e stand for 123,461 nodes, each alias of e for 111,111 more: the
   * 8th one in f crosses the limit. */
  assert_error(b.data, 6, 36, "YAML expands to more than 1000000 nodes through aliases");
  buf_free(&b);
}

static void test_moderate_aliasing_is_fine(void **state) {
  const value *v = read_one("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                            "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                            "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n");
  assert_int_equal(value_object_get(v, "c")->u.list.len, 10);
}

static void test_nesting_limit(void **state) {
  char deep[2100];
  memset(deep, '[', 1000);
  memset(deep + 1000, ']', 1000);
  deep[2000] = '\0';
  assert_int_equal(read_one(deep)->kind, V_LIST);
  memset(deep, '[', 1001);
  memset(deep + 1001, ']', 1001);
  deep[2002] = '\0';
  assert_error(deep, 1, 1001, "YAML nested deeper than 1000 levels");
}

/* ---- positions ---------------------------------------------------------- */

static void assert_at(const value *v, int line, int col) {
  assert_non_null(v);
  assert_string_equal(v->at.file, "f.yaml");
  if (v->at.line != line || v->at.col != col)
    fail_msg("node at %d:%d, want %d:%d", v->at.line, v->at.col, line, col);
}

static void test_positions(void **state) {
  value *docs = read_docs("apiVersion: v1\n"
                          "data:\n"
                          "  key: value\n"
                          "  list:\n"
                          "    - a\n"
                          "    - {x: 1}\n"
                          "---\n"
                          "n: \xc3\xa9t\xc3\xa9 # columns count characters\n"
                          "m: \"q\"\n");
  const value *v = docs->u.list.items[0];
  assert_at(v, 1, 1);
  assert_at(value_object_get(v, "apiVersion"), 1, 13);
  assert_at(value_get_path(v, "data"), 3, 3);
  assert_at(value_get_path(v, "data.key"), 3, 8);
  assert_at(value_get_path(v, "data.list"), 5, 5);
  assert_at(value_get_path(v, "data.list[0]"), 5, 7);
  assert_at(value_get_path(v, "data.list[1]"), 6, 7);
  assert_at(value_get_path(v, "data.list[1].x"), 6, 11);
  assert_at(value_get_path(docs->u.list.items[1], "n"), 8, 4);
  assert_at(value_get_path(docs->u.list.items[1], "m"), 9, 4);
}

/* ---- errors ------------------------------------------------------------- */

typedef struct {
  const char *yaml;
  int line, col;
  const char *msg;
} error_case;

static const error_case error_cases[] = {
    {"a: b: c\n", 1, 5, "mapping values are not allowed in this context"},
    {"a: [1, 2\n", 2, 1,
     "did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 4)"},
    {"a:\n  b: 1\n c: 2\n", 3, 2,
     "did not find expected key (while parsing a block mapping at line 1, column 1)"},
    {"a:\n\tb: 1\n", 2, 1,
     "found character that cannot start any token (while scanning for the next token)"},
    {"a: \"open\n", 2, 1,
     "found unexpected end of stream (while scanning a quoted scalar at line 1, column 4)"},
    {"a: @x\n", 1, 4,
     "found character that cannot start any token (while scanning for the next token)"},
    {"a: \x01\n", 1, 4, "control characters are not allowed (#x1)"},
    {"a: b\nc: \xff\n", 2, 4, "invalid leading UTF-8 octet (#xFF)"},
    {"a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key \"a\""},
    {"a: *x\n", 1, 4, "unknown anchor \"x\""},
    {"a: &x [1, *x]\n", 1, 11, "anchor \"x\" is used inside its own value"},
    {"a: !!int abc\n", 1, 4, "cannot read \"abc\" as !!int"},
    {"a: !!null 1\n", 1, 4, "cannot read \"1\" as !!null"},
    {"a: !!map [1]\n", 1, 4, "cannot read a sequence as !!map"},
    {"a: !Ref x\n", 1, 4, "unsupported tag \"!Ref\""},
    {"a: 9223372036854775808\n", 1, 4, "integer 9223372036854775808 does not fit in 64 bits"},
    {"a: -0x8000000000000001\n", 1, 4, "integer -0x8000000000000001 does not fit in 64 bits"},
    {"? [a]\n: b\n", 1, 3, "a mapping key must be a scalar, not a list"},
    {"<<: 1\n", 1, 5, "a merge key \"<<\" needs a mapping or a list of mappings"},
    {"<<: [{a: 1}, 2]\n", 1, 5, "a merge key \"<<\" needs a mapping or a list of mappings"},
    {"\"a\\0\": x\n", 1, 1, "a mapping key must not contain a NUL character"},
};

static void test_errors(void **state) {
  for (size_t i = 0; i < sizeof error_cases / sizeof *error_cases; i++)
    assert_error(error_cases[i].yaml, error_cases[i].line, error_cases[i].col, error_cases[i].msg);
}

/* ---- round trip: emit, read back, same data ----------------------------- */

/* Same data and same kinds (value_equal takes 1 and 1.0 as equal). */
static void assert_same(const value *x, const value *y) {
  assert_int_equal(x->kind, y->kind);
  switch (x->kind) {
  case V_LIST:
    assert_int_equal(x->u.list.len, y->u.list.len);
    for (size_t i = 0; i < x->u.list.len; i++) assert_same(x->u.list.items[i], y->u.list.items[i]);
    break;
  case V_OBJECT:
    assert_int_equal(x->u.obj.len, y->u.obj.len);
    for (size_t i = 0; i < x->u.obj.len; i++) {
      const value *other = value_object_get(y, x->u.obj.fields[i].key);
      if (!other) fail_msg("key \"%s\" lost", x->u.obj.fields[i].key);
      assert_same(x->u.obj.fields[i].val, other);
    }
    break;
  case V_FLOAT: assert_memory_equal(&x->u.f, &y->u.f, sizeof x->u.f); break;
  default:
    if (!value_equal(x, y)) fail_msg("values differ");
  }
}

static void assert_round_trip(const value *v) {
  buf b = {0};
  emit_yaml_value(&b, v);
  value *docs = read_docs(b.data);
  assert_int_equal(docs->u.list.len, 1);
  assert_same(v, docs->u.list.items[0]);
  buf_free(&b);
}

static const char *const tricky_strings[] = {
    "", " ", "x ", " x", "yes", "Y", "n", "on", "OFF", "true", "null", "~", "=", "<<", "0", "-1",
    "+1", "0777", "080", "0o17", "0x1F", "0b1", "1_000", "0_x1F", "-__84", "_1", "1e3", "1.27",
    ".5", "1.", ".inf",
    "-.Inf", ".nan", "1:20", "2024-01-01", "2024-01-01 10:00:00", "500m", "1.2.3", "nginx:1.27",
    "-", "- x", "--port=80", "---", "...", "? x", ":x", "a: b", "a #b", "a:", "#", "&a", "*a", "!a",
    "|", ">", "'", "\"", "%", "@", "`", "[]", "{}", "a,b", "a\tb", "\t", "\r\n", "a\nb", "a\nb\n",
    "a\n\n", "\n", "  two\nlines\n", "trailing \nspace", "\x01\x1f\x7f", "\xc2\x85", "\xe2\x80\xa8",
    "\357\273\277bom", "h\xc3\xa9llo", "\xf0\x9f\x98\x80", "back\\slash", "quote\"d",
};

static void test_round_trip_strings(void **state) {
  for (size_t i = 0; i < sizeof tricky_strings / sizeof *tricky_strings; i++) {
    pos p = {"t", 1, 1};
    value *v = value_object(A, p);
    value_object_set(A, v, tricky_strings[i], value_cstring(A, p, tricky_strings[i]));
    value *l = value_list(A, p);
    value_list_push(A, l, value_cstring(A, p, tricky_strings[i]));
    value_object_set(A, v, "in a list", l);
    assert_round_trip(v);
    assert_round_trip(value_cstring(A, p, tricky_strings[i]));
  }
}

static void test_round_trip_numbers(void **state) {
  pos p = {"t", 1, 1};
  const double floats[] = {2.0, -0.0, 0.1, 1.0 / 3, 1e20, 1e-7, DBL_MAX, 5e-324, 123456789.0};
  for (size_t i = 0; i < sizeof floats / sizeof *floats; i++)
    assert_round_trip(value_float(A, p, floats[i]));
  const int64_t ints[] = {0, -1, INT64_MAX, INT64_MIN};
  for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
    assert_round_trip(value_int(A, p, ints[i]));
}

static void test_round_trip_structures(void **state) {
  const char *docs[] = {
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {app: web}}\n"
      "spec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n"
      "      - {name: nginx, image: 'nginx:1.27', args: [--port=80, '-v'],\n"
      "         ports: [{containerPort: 80}]}\n",
      "[[], {}, [[1, [2, {a: [3]}]]], null, true, 1.5, '']\n",
      "a: {b: {c: {d: [x, {e: f}]}}}\n",
      "script: |\n  #!/bin/sh\n  echo \"hi\"\n\n  exit 0\n",
  };
  for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) assert_round_trip(read_one(docs[i]));
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_scalar_resolution),
      T(test_not_finite),
      T(test_strings_may_hold_nul),
      T(test_empty_documents_are_skipped),
      T(test_bom_and_crlf),
      T(test_non_string_keys_keep_their_text),
      T(test_keys_keep_written_order),
      T(test_aliases_share_the_anchored_value),
      T(test_alias_as_key),
      T(test_anchor_redefinition_shadows),
      T(test_anchors_stay_in_their_document),
      T(test_merge_keys),
      T(test_quoted_merge_key_is_a_plain_key),
      T(test_alias_bomb_is_refused),
      T(test_moderate_aliasing_is_fine),
      T(test_nesting_limit),
      T(test_positions),
      T(test_errors),
      T(test_round_trip_strings),
      T(test_round_trip_numbers),
      T(test_round_trip_structures),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
