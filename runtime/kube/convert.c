/* convert.c: between the compiler's values and jansson's JSON. */
#include "kube/convert.h"

#include <math.h>
#include <string.h>

#include "plumb/emit.h"

/* Built directly, not through emit_json's text: an env of thousands of
 * objects is converted on every apply and diff. Floats stay reals and
 * non-finite ones null, as emit_json writes them. */
json_t *kube_json_from_value(const value *v) {
  json_t *j;
  switch (v->kind) {
  case V_NULL: return json_null();
  case V_BOOL: return json_boolean(v->u.b);
  case V_INT: return json_integer(v->u.i);
  case V_FLOAT: return isfinite(v->u.f) ? json_real(v->u.f) : json_null();
  case V_STRING: return json_stringn(v->u.str.s, v->u.str.len);
  case V_FUNC: return json_string("<function>");
  case V_LIST:
    j = json_array();
    for (size_t i = 0; i < v->u.list.len; i++) json_array_append_new(j, kube_json_from_value(v->u.list.items[i]));
    return j;
  case V_OBJECT:
    j = json_object();
    for (size_t i = 0; i < v->u.obj.len; i++)
      json_object_set_new(j, v->u.obj.fields[i].key, kube_json_from_value(v->u.obj.fields[i].val));
    return j;
  }
  return json_null();
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
  emit_yaml_resource(&b, kube_json_to_value(a, j), NULL);
  arena_free(a);
  return b.data ? b.data : strdup("");
}
