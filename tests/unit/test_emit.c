/* test_emit.c: how values are written as YAML and JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/emit.h"
#include "plumb/value.h"

#include "arena_test.h"

static const pos P = {"test.yaml", 1, 1};

/* ---- building values ---------------------------------------------------- */

static value *str(const char *s) { return value_cstring(A, P, s); }
static value *num(int64_t i) { return value_int(A, P, i); }
static value *flt(double f) { return value_float(A, P, f); }

/* obj("k1", v1, "k2", v2, NULL) */
static value *obj(const char *key, ...) {
  value *o = value_object(A, P);
  va_list ap;
  va_start(ap, key);
  for (; key; key = va_arg(ap, const char *)) value_object_set(A, o, key, va_arg(ap, value *));
  va_end(ap);
  return o;
}

/* list(v1, v2, NULL); list(NULL) is the empty list. */
static value *list(value *first, ...) {
  value *l = value_list(A, P);
  va_list ap;
  va_start(ap, first);
  for (value *v = first; v; v = va_arg(ap, value *)) value_list_push(A, l, v);
  va_end(ap);
  return l;
}

/* ---- output helpers ----------------------------------------------------- */

typedef enum { YAML_VALUE, YAML_RESOURCE, JSON_COMPACT, JSON_PRETTY, JSON_RESOURCES } form;

static void assert_emits(const value *v, form f, const char *want) {
  buf b = {0};
  switch (f) {
  case YAML_VALUE: emit_yaml_value(&b, v); break;
  case YAML_RESOURCE: emit_yaml_resource(&b, v, NULL); break;
  case JSON_COMPACT: emit_json(&b, v, false, false); break;
  case JSON_PRETTY: emit_json(&b, v, true, false); break;
  case JSON_RESOURCES: emit_json(&b, v, false, true); break;
  }
  assert_string_equal(b.data ? b.data : "", want);
  buf_free(&b);
}

/* ---- quoting ------------------------------------------------------------ */

typedef struct {
  const char *s;
  bool quoted;
} quote_case;

static const quote_case quote_cases[] = {
    /* Typical Kubernetes values stay plain. */
    {"nginx", false},
    {"nginx:1.27", false},
    {"app.kubernetes.io/name", false},
    {"web-prod", false},
    {"/health", false},
    {"http://x:80/path", false},
    {"500m", false},
    {"1Gi", false},
    {"10s", false},
    {"--port=8080", false}, /* as kubectl prints container args */
    {"-Xmx512m", false},
    {"1.2.3", false}, /* no reader takes a version string for a number */
    {"8080:80", false}, /* 80 is no base-60 digit pair */
    {"a,b", false},
    {"a#b", false},
    {"a:b", false},
    {"hello world", false},
    {"h\xc3\xa9llo", false}, /* UTF-8 stays as it is */
    {"TCP", false},
    {"tRUE", false},
    {"0x", false},
    {"+", false},
    {"_1", false},
    {"2024-01", false},
    {"<function>", false},
    /* Empty, or whitespace at either end. */
    {"", true},
    {" x", true},
    {"x ", true},
    /* Booleans and null in YAML 1.1 or 1.2. */
    {"y", true},
    {"Y", true},
    {"yes", true},
    {"Yes", true},
    {"YES", true},
    {"n", true},
    {"N", true},
    {"no", true},
    {"NO", true},
    {"true", true},
    {"True", true},
    {"TRUE", true},
    {"false", true},
    {"on", true},
    {"On", true},
    {"off", true},
    {"OFF", true},
    {"null", true},
    {"Null", true},
    {"NULL", true},
    {"~", true},
    /* Numbers in YAML 1.1 or 1.2. */
    {"1", true},
    {"-1", true},
    {"+1", true},
    {"0", true},
    {"0777", true},
    {"080", true},
    {"0o17", true},
    {"0x1F", true},
    {"0b1", true},
    {"-0b1", true},
    {"1_000", true},
    {"0x_", true},
    {"0_x1F", true}, /* go-yaml drops every '_' before parsing */
    {"+_1", true},
    {"-__84", true},
    {"1e3", true},
    {"1E3", true},
    {"1e+3", true},
    {"1.27", true},
    {"0.5", true},
    {".5", true},
    {"1.", true},
    {"-.5", true},
    {".inf", true},
    {"-.Inf", true},
    {"+.INF", true},
    {".nan", true},
    {".NaN", true},
    {"1:20", true},
    {"190:20:30", true},
    {"1:20.5", true},
    /* Timestamps (YAML 1.1). */
    {"2024-01-01", true},
    {"2024-1-2", true},
    {"2024-01-01T10:00:00Z", true},
    /* Indicators and document markers. */
    {"-", true},
    {"- x", true},
    {"---", true},
    {"...", true},
    {"? x", true},
    {"?x", true},
    {":x", true},
    {",x", true},
    {"[x", true},
    {"]x", true},
    {"{x", true},
    {"}x", true},
    {"#x", true},
    {"&x", true},
    {"*x", true},
    {"!x", true},
    {"|x", true},
    {">x", true},
    {"'x", true},
    {"\"x", true},
    {"%x", true},
    {"@x", true},
    {"`x", true},
    {"a: b", true},
    {"a #b", true},
    {"a:", true},
    {"=", true},
    {"<<", true},
    /* Words of letters, digits and "-./:_" starting with a letter. */
    {"app.kubernetes.io/part-of", false},
    {"registry.example.com/app:1.0", false},
    {"a:b", false},
    {"Yes", true},
    {"OFF", true},
    {"ofF", false},
    {"nul", false},
    {"yes_", false},
    /* Characters that cannot stand raw on one line. */
    {"a\tb", true},
    {"a\nb", true},
    {"a\rb", true},
    {"\x7f", true},
    {"\xff", true},              /* invalid UTF-8 */
    {"a\302\205b", true},     /* NEL, a YAML 1.1 line break */
    {"a\342\200\250b", true}, /* LINE SEPARATOR */
    {"\357\273\277x", true},  /* BOM */
};

static void test_quoting_table(void **state) {
  for (size_t i = 0; i < sizeof quote_cases / sizeof *quote_cases; i++) {
    const quote_case *c = &quote_cases[i];
    if (emit_yaml_needs_quotes(c->s, strlen(c->s)) != c->quoted)
      fail_msg("\"%s\" should %sbe quoted", c->s, c->quoted ? "" : "not ");
  }
}

static void test_quoting_counts_length_not_nul(void **state) {
  assert_true(emit_yaml_needs_quotes("a\0b", 3));
  assert_false(emit_yaml_needs_quotes("ab", 2));
}

/* A memo only saves work: documents come out as without one, for strings
 * and subtrees met again (the same value, the same key) and new ones
 * alike. A subtree's text is kept the second time and copied the third. */
static void test_memo_changes_nothing(void **state) {
  value *yes = str("yes");
  value *docs[] = {
      obj("kind", str("ConfigMap"), "data", obj("on", yes, "plain", str("x"), NULL), NULL),
      obj("kind", str("Secret"), "data", obj("on", str("off"), "y", yes, "1.0", str("1.0"), NULL), NULL),
  };
  emit_memo *m = emit_memo_new();
  for (int round = 0; round < 3; round++)
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
      buf with = {0}, without = {0};
      emit_yaml_resource(&with, docs[i], m);
      emit_yaml_resource(&without, docs[i], NULL);
      assert_string_equal(with.data, without.data);
      buf_free(&with);
      buf_free(&without);
    }
  emit_memo_free(m);
}

static void test_quoted_strings_use_json_escapes(void **state) {
  assert_emits(str("say \"hi\"\\"), YAML_VALUE, "say \"hi\"\\\n"); /* plain: no indicator */
  assert_emits(str("\"q\" \\ \t \x01 \x7f"), YAML_VALUE,
               "\"\\\"q\\\" \\\\ \\t \\u0001 \\u007f\"\n");
  assert_emits(str("a\342\200\250b"), YAML_VALUE, "\"a\\u2028b\"\n");
  assert_emits(str("bad \xff"), YAML_VALUE, "\"bad \\ufffd\"\n");
  assert_emits(value_string(A, P, "a\0b", 3), YAML_VALUE, "\"a\\u0000b\"\n");
  assert_emits(str("yes"), YAML_VALUE, "\"yes\"\n");
}

/* ---- block scalars ------------------------------------------------------ */

typedef struct {
  const char *s, *yaml;
} block_case;

static const block_case block_cases[] = {
    {"one\ntwo\n", "k: |\n  one\n  two\n"},
    {"one\ntwo", "k: |-\n  one\n  two\n"},
    {"one\ntwo\n\n", "k: |+\n  one\n  two\n\n"},
    {"one\n\ntwo\n", "k: |\n  one\n\n  two\n"},
    {"a: b\n# not a comment\n", "k: |\n  a: b\n  # not a comment\n"},
    {"  indented\n", "k: \"  indented\\n\"\n"},
    {"\nleading newline", "k: \"\\nleading newline\"\n"},
    {"trailing space \nx", "k: \"trailing space \\nx\"\n"},
    {"tab\there\n", "k: \"tab\\there\\n\"\n"},
    {"cr\r\n", "k: \"cr\\r\\n\"\n"},
};

static void test_block_scalars(void **state) {
  for (size_t i = 0; i < sizeof block_cases / sizeof *block_cases; i++)
    assert_emits(obj("k", str(block_cases[i].s), NULL), YAML_VALUE, block_cases[i].yaml);
}

static void test_block_scalar_indents_with_its_parent(void **state) {
  value *v = obj("a", obj("b", list(str("x\ny\n"), NULL), NULL), NULL);
  assert_emits(v, YAML_VALUE, "a:\n  b:\n  - |\n    x\n    y\n");
  assert_emits(str("top\nlevel\n"), YAML_VALUE, "|\n  top\n  level\n");
}

static void test_keys_are_quoted_never_block(void **state) {
  assert_emits(obj("a\nb", num(1), "yes", num(2), "", num(3), NULL), YAML_VALUE,
               "\"\": 3\n\"a\\nb\": 1\n\"yes\": 2\n");
}

static void test_long_keys_are_explicit(void **state) {
  char key[200];
  memset(key, 'k', sizeof key - 1);
  key[sizeof key - 1] = '\0';
  buf want = {0};
  buf_printf(&want, "- ? %s\n  : 1\n", key);
  assert_emits(list(obj(key, num(1), NULL), NULL), YAML_VALUE, want.data);
  buf_free(&want);
}

/* ---- layout ------------------------------------------------------------- */

static void test_scalars(void **state) {
  assert_emits(value_null(A, P), YAML_VALUE, "null\n");
  assert_emits(value_bool(A, P, true), YAML_VALUE, "true\n");
  assert_emits(value_bool(A, P, false), YAML_VALUE, "false\n");
  assert_emits(num(-42), YAML_VALUE, "-42\n");
  assert_emits(num(INT64_MIN), YAML_VALUE, "-9223372036854775808\n");
  assert_emits(str("nginx"), YAML_VALUE, "nginx\n");
  assert_emits(value_func(A, P, NULL), YAML_VALUE, "<function>\n");
}

static void test_empty_collections(void **state) {
  assert_emits(obj(NULL), YAML_VALUE, "{}\n");
  assert_emits(list(NULL), YAML_VALUE, "[]\n");
  assert_emits(obj("a", obj(NULL), "b", list(NULL), "c", value_null(A, P), NULL), YAML_VALUE,
               "a: {}\nb: []\nc: null\n");
  assert_emits(list(obj(NULL), list(NULL), NULL), YAML_VALUE, "- {}\n- []\n");
}

static void test_sequences_sit_at_their_keys_column(void **state) {
  value *pod = obj("containers",
                   list(obj("name", str("nginx"), "image", str("nginx"), "ports",
                            list(obj("containerPort", num(80), NULL), NULL), NULL),
                        NULL),
                   NULL);
  assert_emits(obj("spec", pod, NULL), YAML_VALUE,
               "spec:\n"
               "  containers:\n"
               "  - image: nginx\n"
               "    name: nginx\n"
               "    ports:\n"
               "    - containerPort: 80\n");
}

static void test_nested_lists(void **state) {
  value *v = list(list(num(1), num(2), NULL), list(list(str("deep"), NULL), NULL), str("x"), NULL);
  assert_emits(v, YAML_VALUE, "- - 1\n  - 2\n- - - deep\n- x\n");
  assert_emits(obj("m", list(list(num(1), NULL), NULL), NULL), YAML_VALUE, "m:\n- - 1\n");
}

static void test_objects_in_lists(void **state) {
  value *v = list(obj("b", num(2), "a", obj("c", num(3), NULL), NULL), NULL);
  assert_emits(v, YAML_VALUE, "- a:\n    c: 3\n  b: 2\n");
}

/* ---- key order ---------------------------------------------------------- */

static value *deployment(void) {
  return obj("spec", obj("replicas", num(2), NULL), "status", obj(NULL), "metadata",
             obj("labels", obj("b", str("2"), "a", str("1"), NULL), "namespace", str("prod"),
                 "annotations", obj("x", str("y"), NULL), "name", str("web"), NULL),
             "kind", str("Deployment"), "apiVersion", str("apps/v1"), NULL);
}

static void test_resource_key_order(void **state) {
  assert_emits(deployment(), YAML_RESOURCE,
               "apiVersion: apps/v1\n"
               "kind: Deployment\n"
               "metadata:\n"
               "  name: web\n"
               "  namespace: prod\n"
               "  annotations:\n"
               "    x: \"y\"\n"
               "  labels:\n"
               "    a: \"1\"\n"
               "    b: \"2\"\n"
               "spec:\n"
               "  replicas: 2\n"
               "status: {}\n");
}

static void test_plain_values_sort_every_key(void **state) {
  assert_emits(deployment(), YAML_VALUE,
               "apiVersion: apps/v1\n"
               "kind: Deployment\n"
               "metadata:\n"
               "  annotations:\n"
               "    x: \"y\"\n"
               "  labels:\n"
               "    a: \"1\"\n"
               "    b: \"2\"\n"
               "  name: web\n"
               "  namespace: prod\n"
               "spec:\n"
               "  replicas: 2\n"
               "status: {}\n");
}

static void test_nested_metadata_is_sorted(void **state) {
  value *r = obj("kind", str("Deployment"), "spec",
                 obj("template", obj("metadata", obj("name", str("p"), "labels", obj(NULL), NULL),
                                     NULL),
                     NULL),
                 NULL);
  assert_emits(r, YAML_RESOURCE,
               "kind: Deployment\nspec:\n  template:\n    metadata:\n      labels: {}\n"
               "      name: p\n");
}

static void test_sort_is_bytewise(void **state) {
  assert_emits(obj("b", num(1), "B", num(2), "a", num(3), "_", num(4), "\xc3\xa9", num(5), NULL),
               YAML_VALUE, "B: 2\n_: 4\na: 3\nb: 1\n\xc3\xa9: 5\n");
}

/* ---- floats ------------------------------------------------------------- */

typedef struct {
  double f;
  const char *text;
} float_case;

static void test_float_formatting(void **state) {
  const float_case cases[] = {
      {2.0, "2.0"},
      {-0.0, "-0.0"},
      {1.5, "1.5"},
      {0.1, "0.1"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1.0 / 3, "0.3333333333333333"},
      {1e20, "1.0e+20"},
      {1.5e300, "1.5e+300"},
      {1e-7, "1.0e-07"},
      {DBL_MAX, "1.7976931348623157e+308"},
      {5e-324, "4.94065645841247e-324"}, /* 15 digits are tried first */
      {123456789012345.0, "123456789012345.0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    buf want = {0};
    buf_printf(&want, "%s\n", cases[i].text);
    assert_emits(flt(cases[i].f), YAML_VALUE, want.data);
    assert_emits(flt(cases[i].f), JSON_COMPACT, cases[i].text);
    buf_free(&want);
  }
}

static void test_non_finite_floats(void **state) {
  assert_emits(list(flt(INFINITY), flt(-INFINITY), flt(NAN), NULL), YAML_VALUE,
               "- .inf\n- -.inf\n- .nan\n");
  assert_emits(list(flt(INFINITY), flt(NAN), NULL), JSON_COMPACT, "[null,null]");
}

/* ---- JSON --------------------------------------------------------------- */

static void test_json_compact(void **state) {
  value *v = obj("b", list(num(1), value_bool(A, P, true), value_null(A, P), NULL), "a",
                 obj("x", str("y"), NULL), "e", obj(NULL), "l", list(NULL), NULL);
  assert_emits(v, JSON_COMPACT, "{\"a\":{\"x\":\"y\"},\"b\":[1,true,null],\"e\":{},\"l\":[]}");
}

static void test_json_pretty(void **state) {
  value *v = obj("b", list(num(1), obj("c", num(2), NULL), NULL), "a", str("x"), "e", obj(NULL),
                 "l", list(NULL), NULL);
  assert_emits(v, JSON_PRETTY,
               "{\n"
               "  \"a\": \"x\",\n"
               "  \"b\": [\n"
               "    1,\n"
               "    {\n"
               "      \"c\": 2\n"
               "    }\n"
               "  ],\n"
               "  \"e\": {},\n"
               "  \"l\": []\n"
               "}");
  assert_emits(list(NULL), JSON_PRETTY, "[]");
}

static void test_json_strings(void **state) {
  assert_emits(str("<a&b> \"q\" \\ \n\t\x01 \x7f \xe2\x80\xa8 \xff"), JSON_COMPACT,
               "\"<a&b> \\\"q\\\" \\\\ \\n\\t\\u0001 \x7f \xe2\x80\xa8 \\ufffd\"");
  assert_emits(value_func(A, P, NULL), JSON_COMPACT, "\"<function>\"");
}

static void test_json_resource_order(void **state) {
  const char *one =
      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
      "\"namespace\":\"prod\",\"annotations\":{\"x\":\"y\"},\"labels\":{\"a\":\"1\",\"b\":\"2\"}},"
      "\"spec\":{\"replicas\":2},\"status\":{}}";
  assert_emits(deployment(), JSON_RESOURCES, one);
  buf want = {0};
  buf_printf(&want, "[%s,%s]", one, one);
  assert_emits(list(deployment(), deployment(), NULL), JSON_RESOURCES, want.data);
  buf_free(&want);
  assert_emits(deployment(), JSON_COMPACT,
               "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"annotations\":"
               "{\"x\":\"y\"},\"labels\":{\"a\":\"1\",\"b\":\"2\"},\"name\":\"web\",\"namespace\":"
               "\"prod\"},\"spec\":{\"replicas\":2},\"status\":{}}");
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_quoting_table),
      T(test_quoting_counts_length_not_nul),
      T(test_memo_changes_nothing),
      T(test_quoted_strings_use_json_escapes),
      T(test_block_scalars),
      T(test_block_scalar_indents_with_its_parent),
      T(test_keys_are_quoted_never_block),
      T(test_long_keys_are_explicit),
      T(test_scalars),
      T(test_empty_collections),
      T(test_sequences_sit_at_their_keys_column),
      T(test_nested_lists),
      T(test_objects_in_lists),
      T(test_resource_key_order),
      T(test_plain_values_sort_every_key),
      T(test_nested_metadata_is_sorted),
      T(test_sort_is_bytewise),
      T(test_float_formatting),
      T(test_non_finite_floats),
      T(test_json_compact),
      T(test_json_pretty),
      T(test_json_strings),
      T(test_json_resource_order),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
