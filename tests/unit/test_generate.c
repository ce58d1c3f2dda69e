/* test_generate.c: the content hash matches what kubectl kustomize (v5.5)
 * names the same ConfigMaps and Secrets, and field paths cross lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fieldspec.h"
#include "generate.h"
#include "plumb/emit.h"
#include "plumb/yaml.h"

#include "arena_test.h"

static value *json(const char *text) {
  diag_list d;
  diag_init(&d, A);
  value *docs = NULL;
  assert_int_equal(yaml_read(A, &d, "t.json", text, strlen(text), &docs), 0);
  return docs->u.list.items[0];
}

/* Each expected hash is the suffix kubectl kustomize gave the same data. */
static void hash_matches_kustomize(void **state) {
  assert_string_equal(generate_content_hash(A, json("{\"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"nodata\"}}")), "6ct58987ht");
  assert_string_equal(generate_content_hash(A, json("{\"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"p-cm\"}, \"data\": {\"A\": \"1\"}}")), "89g4tffbfk");
  /* Go's encoding/json escapes U+2028 (and <, >, &) before hashing. */
  assert_string_equal(generate_content_hash(A, json("{\"kind\": \"ConfigMap\", \"data\": {\"A\": \"\\u2028\\u00e9'\\\"\\\\\\t\"}}")), "862925mtm2");
  assert_string_equal(generate_content_hash(A, json("{\"kind\": \"ConfigMap\", \"data\": {\"A\": \"1\", \"B\": \"2\", \"NOVAL\": \"\"}, \"binaryData\": {\"bin.dat\": \"//4AYmlu\"}}")), "c4g5c8bhm7");
  assert_string_equal(generate_content_hash(A, json("{\"kind\": \"Secret\", \"type\": \"Opaque\", \"data\": {\"k\": \"dg==\"}}")), "ftgtgc4t9f");
  assert_string_equal(generate_content_hash(A, json("{\"kind\": \"Secret\", \"type\": \"kubernetes.io/basic-auth\", \"data\": {\"password\": \"czNjcmV0\"}}")), "tt5ck8b7hb");
}

static value *upper_name(arena *a, value *old, void *ctx) {
  (*(int *)ctx)++;
  return old ? value_cstring(a, old->at, "X") : value_cstring(a, (pos){0}, "new");
}

static void fieldspec_crosses_lists(void **state) {
  value *v = json("{\"spec\": {\"containers\": [{\"name\": \"a\"}, {\"image\": \"b\"}]}}");
  int calls = 0;
  value *out = fieldspec_apply(A, v, "spec.containers.name", false, upper_name, &calls);
  buf b = {0};
  emit_json(&b, out, false, false);
  assert_string_equal(b.data, "{\"spec\":{\"containers\":[{\"name\":\"X\"},{\"image\":\"b\"}]}}");
  assert_int_equal(calls, 1);
  b.len = 0;
  emit_json(&b, v, false, false); /* the input is unchanged */
  assert_string_equal(b.data, "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"image\":\"b\"}]}}");
  buf_free(&b);
}

/* The copy a first change makes is the build's own (value.h, owned): a
 * second change along the same path is made in place, not copied again. */
static void fieldspec_copies_once(void **state) {
  value *v = json("{\"spec\": {\"containers\": [{\"name\": \"a\"}]}}");
  int calls = 0;
  value *out = fieldspec_apply(A, v, "spec.containers.name", false, upper_name, &calls);
  assert_ptr_not_equal(out, v);
  value *containers = value_get_path(out, "spec.containers");
  assert_ptr_equal(fieldspec_apply(A, out, "spec.containers.name", false, upper_name, &calls), out);
  assert_ptr_equal(value_get_path(out, "spec.containers"), containers);
  assert_int_equal(calls, 2);
}

static void fieldspec_creates_only_when_asked(void **state) {
  value *v = json("{\"spec\": {}}");
  int calls = 0;
  assert_ptr_equal(fieldspec_apply(A, v, "spec.selector.app", false, upper_name, &calls), v);
  value *out = fieldspec_apply(A, v, "spec.selector.app", true, upper_name, &calls);
  buf b = {0};
  emit_json(&b, out, false, false);
  assert_string_equal(b.data, "{\"spec\":{\"selector\":{\"app\":\"new\"}}}");
  buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(hash_matches_kustomize, setup, teardown),
      cmocka_unit_test_setup_teardown(fieldspec_crosses_lists, setup, teardown),
      cmocka_unit_test_setup_teardown(fieldspec_copies_once, setup, teardown),
      cmocka_unit_test_setup_teardown(fieldspec_creates_only_when_asked, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
