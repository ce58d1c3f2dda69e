/* fuzz_yaml.c: libFuzzer target for the YAML reader and the emitters.
 *
 * Any input must read without a crash. Whatever reads must also survive the
 * trip out through emit_yaml_value and back in unchanged, kinds included:
 * that checks the emitter's quoting against the reader's resolution on
 * inputs nobody thought of.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Icompiler \
 *     tests/fuzz/fuzz_yaml.c compiler/yaml.c compiler/emit.c compiler/value.c \
 *     compiler/arena.c compiler/diag.c -lyaml -lm -o build/fuzz_yaml
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/emit.h"
#include "plumb/yaml.h"

/* value_equal takes 1 and 1.0 as equal; the round trip must keep kinds. */
static bool same(const value *x, const value *y) {
  if (x->kind != y->kind) return false;
  if (x->kind == V_LIST) {
    if (x->u.list.len != y->u.list.len) return false;
    for (size_t i = 0; i < x->u.list.len; i++)
      if (!same(x->u.list.items[i], y->u.list.items[i])) return false;
    return true;
  }
  if (x->kind == V_OBJECT) {
    if (x->u.obj.len != y->u.obj.len) return false;
    for (size_t i = 0; i < x->u.obj.len; i++) {
      const value *other = value_object_get(y, x->u.obj.fields[i].key);
      if (!other || !same(x->u.obj.fields[i].val, other)) return false;
    }
    return true;
  }
  return value_equal(x, y);
}

static void round_trip(arena *a, const value *doc) {
  buf out = {0};
  emit_yaml_value(&out, doc);
  diag_list d;
  diag_init(&d, a);
  value *again;
  if (yaml_read(a, &d, "emitted", out.data, out.len, &again) != 0 || again->u.list.len != 1 ||
      !same(doc, again->u.list.items[0]))
    abort();
  buf_free(&out);
}

/* The input taken as one string must come back as that string, which
 * tests the quoting rules directly. Only ASCII: invalid UTF-8 cannot come
 * back (it is written as U+FFFD), and the rules are mostly about ASCII. */
static void string_round_trip(arena *a, const uint8_t *data, size_t size) {
  for (size_t i = 0; i < size; i++)
    if (data[i] >= 0x80) return;
  value *obj = value_object(a, (pos){0});
  value *s = value_string(a, (pos){0}, (const char *)data, size);
  value_object_set(a, obj, "k", s);
  round_trip(a, s);
  round_trip(a, obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  arena *a = arena_new();
  string_round_trip(a, data, size);
  diag_list d;
  diag_init(&d, a);
  value *docs;
  if (yaml_read(a, &d, "fuzz.yaml", (const char *)data, size, &docs) == 0) {
    buf json = {0};
    emit_json(&json, docs, true, true);
    buf_free(&json);
    for (size_t i = 0; i < docs->u.list.len; i++) round_trip(a, docs->u.list.items[i]);
  }
  arena_free(a);
  return 0;
}
