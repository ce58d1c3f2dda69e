/* test_wire.c: a compile result written as bytes reads back the same, its
 * values' positions, apps, sharing and diagnostics included; bytes that
 * are not a result (cut, garbled, forged) are refused, never trusted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/compile.h"
#include "plumb/emit.h"

/* Fields of every kind of value, which no schema has: validation is off. */
static const char APP[] = "let off = { annotations: { \"plumb.dev/validate\": \"false\" } }\n"
                          "template web(name: string, n: int = 1) {\n"
                          "  ConfigMap name { metadata: off, data: { a: \"1\", ratio: \"${n * 1.5}\" }, scale: n * 0.5, n: n }\n"
                          "  Service \"${name}-svc\" { metadata: off, spec: { ports: [{ port: 80 }], x: [null], on: true } }\n"
                          "}\n"
                          "env dev {\n"
                          "  ConfigMap \"own\" { data: { b: \"two\\u{0}zero\" } }\n"
                          "  app a = web(name: \"a\")\n"
                          "  app b = web(name: \"b\", n: -3)\n"
                          "}\n";

static compile_result *compiled(const char *text) { return compile_source("main.plumb", text, strlen(text), NULL); }

static compile_result *round_trip(const compile_result *r) {
  buf b = {0};
  compile_result_encode(r, &b);
  const char *why = NULL;
  compile_result *back = compile_result_decode(b.data, b.len, &why);
  buf_free(&b);
  assert_null(why);
  assert_non_null(back);
  return back;
}

static const value *named(const compile_result *r, const char *name) {
  for (size_t i = 0; i < r->nres; i++)
    if (strcmp(value_get_string(r->res[i].obj, "metadata.name"), name) == 0) return r->res[i].obj;
  fail_msg("no resource %s", name);
  return NULL;
}

static char *yaml_of(const compile_result *r) {
  buf b = {0};
  for (size_t i = 0; i < r->nres; i++) emit_yaml_resource(&b, r->res[i].obj, NULL);
  return b.data;
}

/* Every value where the other has it, from the same place. */
static void assert_same_positions(const value *x, const value *y) {
  assert_int_equal(x->kind, y->kind);
  assert_int_equal(x->name_hash, y->name_hash);
  assert_int_equal(x->literal, y->literal);
  assert_int_equal(x->secret, y->secret);
  assert_string_equal(x->at.file, y->at.file);
  assert_int_equal(x->at.line, y->at.line);
  assert_int_equal(x->at.col, y->at.col);
  if (x->kind == V_LIST)
    for (size_t i = 0; i < x->u.list.len; i++) assert_same_positions(x->u.list.items[i], y->u.list.items[i]);
  if (x->kind == V_OBJECT)
    for (size_t i = 0; i < x->u.obj.len; i++) {
      assert_string_equal(x->u.obj.fields[i].key, y->u.obj.fields[i].key);
      assert_same_positions(x->u.obj.fields[i].val, y->u.obj.fields[i].val);
    }
}

static void values_apps_and_positions_read_back(void **state) {
  compile_result *r = compile_keep(compiled(APP));
  assert_int_equal(r->diags.errors, 0);
  compile_result *back = round_trip(r);
  assert_string_equal(back->env, "dev");
  assert_int_equal(back->nres, r->nres);
  for (size_t i = 0; i < r->nres; i++) {
    if (r->res[i].app) assert_string_equal(back->res[i].app, r->res[i].app);
    else assert_null(back->res[i].app);
    assert_same_positions(r->res[i].obj, back->res[i].obj);
    /* The annotation is gone; that the schemas leave it alone stays. */
    bool own = strcmp(value_get_string(r->res[i].obj, "metadata.name"), "own") == 0;
    assert_int_equal(r->res[i].unchecked, !own);
    assert_int_equal(back->res[i].unchecked, !own);
  }
  char *want = yaml_of(r), *got = yaml_of(back);
  assert_string_equal(got, want);
  assert_true(value_get_path(named(back, "b"), "scale")->u.f == -1.5);
  assert_true(value_get_path(named(back, "b"), "n")->u.i == -3);
  const value *b = value_get_path(named(back, "own"), "data.b");
  assert_int_equal(b->u.str.len, 8); /* a NUL inside a string is kept */
  assert_non_null(back->diags.sources);
  assert_string_equal(back->diags.sources->name, "main.plumb");
  assert_memory_equal(back->diags.sources->text, APP, sizeof APP - 1);
  free(want);
  free(got);
  compile_free(back);
  compile_free(r);
}

/* A decrypted value stays marked so, kept and in the parent, whose
 * messages then do not quote it (the compile child decrypts, the runtime
 * checks). */
static void a_decrypted_value_stays_marked(void **state) {
  compile_result *raw = compiled(APP);
  ((value *)value_get_path(named(raw, "own"), "data.b"))->secret = true;
  compile_result *r = compile_keep(raw);
  assert_true(value_get_path(named(r, "own"), "data.b")->secret);
  compile_result *back = round_trip(r);
  assert_true(value_get_path(named(back, "own"), "data.b")->secret);
  assert_false(value_get_path(named(back, "a"), "data.a")->secret);
  for (size_t i = 0; i < r->nres; i++) assert_same_positions(r->res[i].obj, back->res[i].obj);
  compile_free(back);
  compile_free(r);
}

/* A value and a name the result shares are one in the copy too. */
static void what_the_result_shares_stays_shared(void **state) {
  compile_result *r = compile_keep(compiled(APP));
  compile_result *back = round_trip(r);
  const value *one = named(back, "a"), *two = named(back, "b");
  assert_ptr_equal(value_get_path(one, "data.a"), value_get_path(two, "data.a"));
  assert_ptr_equal(one->at.file, two->at.file);
  assert_ptr_equal(one->u.obj.fields[0].key, two->u.obj.fields[0].key);
  compile_free(back);
  compile_free(r);
}

static char *printed(const diag_list *d) {
  char *text;
  size_t len;
  FILE *f = open_memstream(&text, &len);
  diag_print(d, f);
  fclose(f);
  return text;
}

/* Messages quote their lines and count what they do not show, as before. */
static void diagnostics_read_back_as_they_print(void **state) {
  buf src = {0};
  buf_puts(&src, "env e {\n");
  for (int i = 0; i < 60; i++) buf_printf(&src, "  ConfigMap \"c%d\" { data: nope%d }\n", i, i);
  buf_puts(&src, "}\n");
  compile_result *r = compiled(src.data);
  assert_true(r->diags.errors > 50);
  compile_result *back = round_trip(r);
  char *want = printed(&r->diags), *got = printed(&back->diags);
  assert_non_null(strstr(got, "  ConfigMap \"c0\" { data: nope0 }\n"));
  assert_non_null(strstr(got, "more errors not shown"));
  assert_string_equal(got, want);
  assert_int_equal(back->diags.errors, r->diags.errors);
  free(want);
  free(got);
  buf_free(&src);
  compile_free(back);
  compile_free(r);
}

static void encoded(buf *b) {
  compile_result *r = compile_keep(compiled(APP));
  compile_result_encode(r, b);
  compile_free(r);
}

static void refused(const void *data, size_t len, const char *why) {
  const char *got = NULL;
  assert_null(compile_result_decode(data, len, &got));
  assert_non_null(got);
  if (why) assert_string_equal(got, why);
}

/* Every cut of a result is refused; every byte changed gives a result or
 * a refusal, never a crash (ASan watches) or a read past the end. */
static void cut_or_garbled_bytes_are_refused(void **state) {
  buf b = {0};
  encoded(&b);
  for (size_t n = 0; n < b.len; n++) {
    char *cut = malloc(n + 1); /* exactly n bytes for ASan to guard */
    memcpy(cut, b.data, n);
    refused(cut, n, NULL);
    free(cut);
  }
  static const unsigned char changes[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xff};
  for (size_t i = 0; i < b.len; i++)
    for (size_t k = 0; k < sizeof changes; k++) {
      char *copy = malloc(b.len);
      memcpy(copy, b.data, b.len);
      copy[i] = (char)changes[k];
      const char *why;
      compile_result *r = compile_result_decode(copy, b.len, &why);
      compile_free(r);
      free(copy);
    }
  refused(NULL, 0, "not a compile result");
  buf_free(&b);
}

/* Bytes no writer makes: a value naming itself, values nested past the
 * limit, a count larger than what follows. */
static void forged_bytes_are_refused(void **state) {
  /* env NULL; 0 errors, max 0, no diags, no sources; one resource, app
   * NULL, checked, value: a reference to value 1, before any was read. */
  static const char self[] = "PLW1\0\0\0\0\0\1\0\0\1";
  refused(self, sizeof self - 1, "a reference to a value not read");
  static const char many[] = "PLW1\0\0\0\0\0\x80\x80\x80\x80\x01";
  refused(many, sizeof many - 1, "a count larger than the bytes left");
  buf b = {0};
  buf_put(&b, "PLW1\0\0\0\0\0\1\0\0", 12); /* one resource, no app, checked */
  for (int i = 0; i <= COMPILE_WIRE_MAX_DEPTH; i++) buf_put(&b, "\0\5\0\0\0\0\1", 7); /* a list at no place, of one */
  buf_put(&b, "\0\0\0\0\0\0", 6);
  refused(b.data, b.len, "values nested too deeply");
  buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(values_apps_and_positions_read_back),
      cmocka_unit_test(what_the_result_shares_stays_shared),
      cmocka_unit_test(a_decrypted_value_stays_marked),
      cmocka_unit_test(diagnostics_read_back_as_they_print),
      cmocka_unit_test(cut_or_garbled_bytes_are_refused),
      cmocka_unit_test(forged_bytes_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
