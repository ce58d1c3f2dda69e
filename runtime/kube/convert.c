/* convert.c: between the compiler's values and jansson's JSON. */
#include "kube/convert.h"

#include <math.h>
#include <string.h>

#include "plumb/emit.h"

json_t *kube_json_from_value(const value *v) {
  buf b = {0};
  emit_json(&b, v, false, false);
  json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
  buf_free(&b);
  return j;
}

value *kube_json_to_value(arena *a, const json_t *j) {
  static const pos none = {0};
  size_t i;
  const char *key;
  json_t *item;
  switch (json_typeof(j)) {
  case JSON_OBJECT: {
    value *o = value_object(a, none);
    json_object_foreach((json_t *)j, key, item) value_object_set(a, o, arena_strdup(a, key), kube_json_to_value(a, item));
    return o;
  }
  case JSON_ARRAY: {
    value *l = value_list(a, none);
    json_array_foreach(j, i, item) value_list_push(a, l, kube_json_to_value(a, item));
    return l;
  }
  case JSON_STRING: return value_string(a, none, json_string_value(j), json_string_length(j));
  case JSON_INTEGER: return value_int(a, none, json_integer_value(j));
  case JSON_REAL: return value_float(a, none, json_real_value(j));
  case JSON_TRUE: return value_bool(a, none, true);
  case JSON_FALSE: return value_bool(a, none, false);
  default: return value_null(a, none);
  }
}

char *kube_json_to_yaml(const json_t *j) {
  arena *a = arena_new();
  buf b = {0};
  emit_yaml_resource(&b, kube_json_to_value(a, j));
  arena_free(a);
  return b.data ? b.data : strdup("");
}
