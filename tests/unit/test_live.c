/* test_live.c: the fields a build marks keep-live (live_keep): they take
 * the live object's values before anything compares or applies, so that a
 * chart's generated password is neither drift nor changed, and keep the
 * build's where the cluster has none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "compare/live.h"
#include "json_test.h"
#include "plumb/kube.h"

/* What a chart with random: "keep-live" builds: a password and a CA that
 * differ between two renders, marked. */
#define BODY(keep, password)                                                                               \
  "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'db','annotations':{'plumb.dev/keep-live':'" keep \
  "'}},'data':{'password':'" password "','tls.crt':'bmV3'},'type':'Opaque'}"

/* The Secret as Plumb applied it at the first sync, managedFields and all. */
#define LIVE                                                                                                    \
  "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'db','namespace':'shop','resourceVersion':'9',"       \
  "'annotations':{'plumb.dev/keep-live':'/data/password,/data/tls.crt'},'managedFields':["                    \
  "{'manager':'plumb','operation':'Apply','apiVersion':'v1','fieldsType':'FieldsV1','fieldsV1':{"               \
  "'f:data':{'f:password':{},'f:tls.crt':{}},'f:metadata':{'f:annotations':{'f:plumb.dev/keep-live':{}}},"    \
  "'f:type':{}}}]},'data':{'password':'Zmlyc3Q=','tls.crt':'b2xk'},'type':'Opaque'}"

/* The string at two keys of obj, or NULL. */
static const char *at(const json_t *obj, const char *key, const char *field) {
  return json_string_value(json_object_get(json_object_get(obj, key), field));
}

static void the_marked_fields_take_the_live_values(void **state) {
  json_t *body = parse(BODY("/data/password,/data/tls.crt", "c2Vjb25k")), *live = parse(LIVE);
  assert_false(kube_apply_unchanged(body, live, NULL)); /* a second render: another password */
  live_keep(body, live, NULL);
  assert_string_equal(at(body, "data", "password"), "Zmlyc3Q=");
  assert_string_equal(at(body, "data", "tls.crt"), "b2xk");
  assert_true(kube_apply_unchanged(body, live, NULL)); /* no drift, nothing to apply */
  json_decref(body);
  json_decref(live);
}

static void the_others_stay_as_built(void **state) {
  json_t *body = parse(BODY("/data/password", "c2Vjb25k")), *live = parse(LIVE);
  live_keep(body, live, NULL);
  assert_string_equal(at(body, "data", "tls.crt"), "bmV3");
  assert_false(kube_apply_unchanged(body, live, NULL)); /* tls.crt is git's to change */
  json_decref(body);
  json_decref(live);
}

/* No object yet, or one without the field: the first render is applied. */
static void without_a_live_value_the_build_s_stays(void **state) {
  json_t *body = parse(BODY("/data/password,/data/missing", "c2Vjb25k")), *want = json_deep_copy(body);
  live_keep(body, NULL, NULL);
  assert_true(json_equal(body, want));
  json_t *live = parse(LIVE);
  live_keep(body, live, NULL);
  assert_string_equal(at(body, "data", "password"), "Zmlyc3Q=");
  assert_null(json_object_get(json_object_get(body, "data"), "missing"));
  json_decref(body);
  json_decref(want);
  json_decref(live);
}

/* live_keep of body with live gives want (NULL: body unchanged). */
static void keeps(const char *body, const char *live, const char *want) {
  json_t *b = parse(body), *l = parse(live), *w = parse(want ? want : body);
  live_keep(b, l, NULL);
  assert_true(json_equal(b, w));
  json_decref(b);
  json_decref(l);
  json_decref(w);
}

#define MARKED(pointers) "{'metadata':{'annotations':{'plumb.dev/keep-live':'" pointers "'}},"

/* RFC 6901: ~1 is '/', ~0 is '~', a number indexes a list; a field the
 * live object has and the build lacks (the first render left it out) is
 * taken too. */
static void pointers_read_as_rfc_6901_says(void **state) {
  keeps(MARKED("/spec/labels/app.kubernetes.io~1token,/spec/env/1/value,/spec/a~0b,/spec/extra")
        "'spec':{'labels':{'app.kubernetes.io/token':'mine'},'env':[{'value':'1'},{'value':'2'}],'a~b':'x'}}",
        "{'spec':{'labels':{'app.kubernetes.io/token':'theirs'},'env':[{'value':'9'},{'value':'8'}],'a~b':'y',"
        "'extra':true}}",
        MARKED("/spec/labels/app.kubernetes.io~1token,/spec/env/1/value,/spec/a~0b,/spec/extra")
        "'spec':{'labels':{'app.kubernetes.io/token':'theirs'},'env':[{'value':'1'},{'value':'8'}],'a~b':'y',"
        "'extra':true}}");
}

/* What reaches no place is passed by: a bad escape, a pointer that is
 * none, an index past the list or with a leading zero, an object a patch
 * took away, nothing at all. */
static void what_reaches_nowhere_is_passed_by(void **state) {
  const char *live = "{'spec':{'a~2b':2,'x':2,'list':[2,3,4,5,6,7]},'gone':{'x':2}}";
  keeps(MARKED("/spec/a~2b,spec/x,/spec/list/5,/spec/list/00,/gone/x,,") "'spec':{'x':1,'list':[1]}}", live, NULL);
  keeps(MARKED("") "'spec':{'x':1,'list':[1]}}", live, NULL);
}

/* An ignore rule's jq-like paths: every item of a list, an item by index,
 * a key in brackets. */
static void jq_like_paths_reach_every_item(void **state) {
  json_t *body = parse("{'metadata':{'annotations':{'plumb.dev/keep-live':'.spec.containers[].image,.spec.a[\\\"b.c\\\"],.spec.list[1]'}},"
                       "'spec':{'containers':[{'name':'a','image':'git:1'},{'name':'b','image':'git:2'}],"
                       "'a':{'b.c':'git'},'list':[1,2,3]}}");
  json_t *live = parse("{'spec':{'containers':[{'name':'a','image':'live:1'},{'name':'b','image':'live:2'}],"
                       "'a':{'b.c':'live'},'list':[1,20,3]}}");
  live_keep(body, live, NULL);
  json_t *c = json_object_get(json_object_get(body, "spec"), "containers");
  assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "image")), "live:1");
  assert_string_equal(json_string_value(json_object_get(json_array_get(c, 1), "image")), "live:2");
  assert_string_equal(at(json_object_get(body, "spec"), "a", "b.c"), "live");
  assert_int_equal(json_integer_value(json_array_get(json_object_get(json_object_get(body, "spec"), "list"), 1)), 20);
  json_decref(body);
  json_decref(live);
}

/* An ignore rule's field managers: what their managedFields entries own,
 * list items found by key, and nothing another manager owns. */
static void a_managers_fields_are_kept(void **state) {
  json_t *body = parse("{'metadata':{'annotations':{'plumb.dev/keep-live-managers':'hpa,other'}},"
                       "'spec':{'replicas':1,'paused':false,'containers':[{'name':'a','image':'git'}]}}");
  json_t *live = parse("{'metadata':{'managedFields':["
                       "{'manager':'hpa','fieldsV1':{'f:spec':{'f:replicas':{},"
                       "'f:containers':{'k:{\\\"name\\\":\\\"a\\\"}':{'.':{},'f:image':{}}}}}},"
                       "{'manager':'plumb','fieldsV1':{'f:spec':{'f:paused':{}}}}]},"
                       "'spec':{'replicas':4,'paused':true,'containers':[{'name':'a','image':'live'}]}}");
  live_keep(body, live, NULL);
  json_t *spec = json_object_get(body, "spec");
  assert_int_equal(json_integer_value(json_object_get(spec, "replicas")), 4);
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(spec, "containers"), 0), "image")),
                      "live");
  assert_true(json_is_false(json_object_get(spec, "paused"))); /* plumb's own: git's */
  json_decref(body);
  json_decref(live);
}

/* A Deployment Plumb applied with the keep-live annotation NAME: VALUE,
 * whose replicas an HPA then set through the scale subresource, and whose
 * status and revision the Deployment controller writes: the managedFields
 * a real kube-controller-manager leaves. REPLICAS: the fields Plumb's
 * apply owns in spec, beside paused. */
#define SCALED(name, value, replicas)                                                                             \
  "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'shop',"                    \
  "'annotations':{'" name "':'" value "','deployment.kubernetes.io/revision':'1'},'managedFields':["             \
  "{'manager':'plumb','operation':'Apply','apiVersion':'apps/v1','fieldsType':'FieldsV1','fieldsV1':{"           \
  "'f:metadata':{'f:annotations':{'f:" name "':{}}},'f:spec':{" replicas "'f:paused':{}}}},"                    \
  "{'manager':'kube-controller-manager','operation':'Update','apiVersion':'apps/v1','subresource':'scale',"       \
  "'fieldsType':'FieldsV1','fieldsV1':{'f:spec':{'f:replicas':{}}}},"                                            \
  "{'manager':'kube-controller-manager','operation':'Update','apiVersion':'apps/v1','subresource':'status',"      \
  "'fieldsType':'FieldsV1','fieldsV1':{'f:metadata':{'f:annotations':{'f:deployment.kubernetes.io/revision':{}}}," \
  "'f:status':{'f:replicas':{}}}}]},'spec':{'replicas':4,'paused':false},'status':{'replicas':4}}"
#define SCALED_BODY(name, value)                                                                  \
  "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','annotations':{'" name "':'" value \
  "'}},'spec':{'replicas':1,'paused':false}}"

/* The ignored fields another writer owns, by pointer or by manager, are
 * left out, not sent with their live values: an apply would take a share
 * of them (and, forced, undo a scale that came after the read), so every
 * sync of the application would apply the Deployment again. */
static void not_sent(const char *body_text, const char *live_text) {
  json_t *body = parse(body_text), *live = parse(live_text);
  assert_false(kube_apply_unchanged(body, live, NULL));
  live_keep(body, live, NULL);
  assert_null(json_object_get(json_object_get(body, "spec"), "replicas"));
  assert_null(at(json_object_get(body, "metadata"), "annotations", "deployment.kubernetes.io/revision"));
  assert_true(kube_apply_unchanged(body, live, NULL)); /* nothing to apply */
  json_decref(body);
  json_decref(live);
}

static void a_field_another_writer_owns_is_not_sent(void **state) {
  not_sent(SCALED_BODY("plumb.dev/keep-live", "/spec/replicas"), SCALED("plumb.dev/keep-live", "/spec/replicas", ""));
  not_sent(SCALED_BODY("plumb.dev/keep-live-managers", "kube-controller-manager"),
           SCALED("plumb.dev/keep-live-managers", "kube-controller-manager", ""));
}

/* Before the HPA's first scale the replicas are still Plumb's: leaving
 * them out would remove them, so the live value is sent. */
static void a_field_plumb_owns_is_sent_as_it_is(void **state) {
  json_t *body = parse(SCALED_BODY("plumb.dev/keep-live", "/spec/replicas")),
         *live = parse(SCALED("plumb.dev/keep-live", "/spec/replicas", "'f:replicas':{},"));
  live_keep(body, live, NULL);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "spec"), "replicas")), 4);
  json_decref(body);
  json_decref(live);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_marked_fields_take_the_live_values),
      cmocka_unit_test(jq_like_paths_reach_every_item),
      cmocka_unit_test(a_managers_fields_are_kept),
      cmocka_unit_test(a_field_another_writer_owns_is_not_sent),
      cmocka_unit_test(a_field_plumb_owns_is_sent_as_it_is),
      cmocka_unit_test(the_others_stay_as_built),
      cmocka_unit_test(without_a_live_value_the_build_s_stays),
      cmocka_unit_test(pointers_read_as_rfc_6901_says),
      cmocka_unit_test(what_reaches_nowhere_is_passed_by),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
