/* test_fields.c: what a cache keeps of a live object (kube_keep_owned):
 * the unchanged check answers the same on it as on the whole object, and
 * the rest (status, defaults, other managers' fields and entries) is gone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json_test.h"
#include "plumb/kube.h"

/* A Deployment as the API server returns it: Plumb applied replicas, a
 * label and the container web (image); the server defaulted the rest; a
 * sidecar injector (manager "mesh") added a container and an annotation;
 * the controller wrote status. */
#define LIVE                                                                                                       \
  "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'shop','uid':'u-1',"          \
  "'resourceVersion':'42','generation':3,'creationTimestamp':'2026-01-01T00:00:00Z',"                             \
  "'labels':{'plumb.dev/application':'shop'},'annotations':{'mesh/injected':'true'},'managedFields':["             \
  "{'manager':'plumb','operation':'Apply','apiVersion':'apps/v1','fieldsType':'FieldsV1','fieldsV1':{"             \
  "'f:metadata':{'f:labels':{'f:plumb.dev/application':{}}},'f:spec':{'f:replicas':{},'f:template':{'f:spec':{"     \
  "'f:containers':{'k:{\\'name\\':\\'web\\'}':{'.':{},'f:image':{},'f:name':{}}}}}}}},"                          \
  "{'manager':'mesh','operation':'Update','apiVersion':'apps/v1','fieldsType':'FieldsV1','fieldsV1':{"             \
  "'f:metadata':{'f:annotations':{'f:mesh/injected':{}}}}}]},"                                                      \
  "'spec':{'replicas':2,'strategy':{'type':'RollingUpdate'},'template':{'spec':{'dnsPolicy':'ClusterFirst',"       \
  "'containers':[{'name':'web','image':'web:1','imagePullPolicy':'IfNotPresent'},{'name':'proxy','image':'p:1'}]}}}," \
  "'status':{'replicas':2,'conditions':[{'type':'Available','status':'True'}]}}"

#define WANT(replicas, image)                                                                                      \
  "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'shop',"                      \
  "'labels':{'plumb.dev/application':'shop'}},'spec':{'replicas':" replicas ",'template':{'spec':{"                \
  "'containers':[{'name':'web','image':'" image "'}]}}}}"

static json_t *kept(void) {
  json_t *live = parse(LIVE);
  kube_keep_owned(live, NULL);
  return live;
}

static void the_check_answers_the_same_on_what_is_kept(void **state) {
  static const char *const wants[] = {
      WANT("2", "web:1"),                  /* as applied: unchanged */
      WANT("3", "web:1"),                  /* another replica count */
      WANT("2", "web:2"),                  /* another image */
      "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'shop'},"
      "'spec':{'replicas':2}}",            /* fields given up */
  };
  json_t *live = parse(LIVE), *small = kept();
  for (size_t i = 0; i < sizeof wants / sizeof *wants; i++) {
    json_t *want = parse(wants[i]);
    assert_int_equal(kube_apply_unchanged(want, small, NULL), kube_apply_unchanged(want, live, NULL));
    json_decref(want);
  }
  json_t *same = parse(WANT("2", "web:1"));
  assert_true(kube_apply_unchanged(same, small, NULL));
  json_decref(same);
  json_decref(live);
  json_decref(small);
}

static void only_the_names_the_version_and_plumbs_fields_are_kept(void **state) {
  json_t *small = kept(), *want = parse(
      "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'shop',"
      "'resourceVersion':'42','labels':{'plumb.dev/application':'shop'},'managedFields':["
      "{'manager':'plumb','operation':'Apply','apiVersion':'apps/v1','fieldsType':'FieldsV1','fieldsV1':{"
      "'f:metadata':{'f:labels':{'f:plumb.dev/application':{}}},'f:spec':{'f:replicas':{},'f:template':{'f:spec':{"
      "'f:containers':{'k:{\\'name\\':\\'web\\'}':{'.':{},'f:image':{},'f:name':{}}}}}}}}]},"
      "'spec':{'replicas':2,'template':{'spec':{'containers':[{'name':'web','image':'web:1'}]}}}}");
  assert_true(json_equal(small, want));
  json_decref(small);
  json_decref(want);
}

/* Without an entry of a server-side apply the check says "maybe" whatever
 * the object holds: only its names stay. */
static void an_object_nobody_applied_keeps_its_names(void **state) {
  json_t *live = parse("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'n',"
                       "'resourceVersion':'7','managedFields':[{'manager':'kubectl-edit','operation':'Update',"
                       "'apiVersion':'v1','fieldsType':'FieldsV1','fieldsV1':{'f:data':{'f:k':{}}}}]},"
                       "'data':{'k':'v'}}"),
         *want = parse("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'n',"
                       "'resourceVersion':'7'}}");
  kube_keep_owned(live, NULL);
  assert_true(json_equal(live, want));
  json_decref(live);
  json_decref(want);
}

/* Two applications' field managers (field_manager), each applying its own
 * fields: what is kept answers for each as the whole object does. */
static void every_appliers_fields_are_kept(void **state) {
  json_t *live = parse("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'n',"
                       "'resourceVersion':'7','managedFields':["
                       "{'manager':'team-a','operation':'Apply','apiVersion':'v1','fieldsType':'FieldsV1',"
                       "'fieldsV1':{'f:data':{'f:a':{}}}},"
                       "{'manager':'team-b','operation':'Apply','apiVersion':'v1','fieldsType':'FieldsV1',"
                       "'fieldsV1':{'f:data':{'f:b':{}}}},"
                       "{'manager':'kubectl-edit','operation':'Update','apiVersion':'v1','fieldsType':'FieldsV1',"
                       "'fieldsV1':{'f:data':{'f:c':{}}}}]},"
                       "'data':{'a':'1','b':'2','c':'3'}}");
  json_t *small = json_deep_copy(live);
  kube_keep_owned(small, NULL);
  json_t *both = parse("{'a':'1','b':'2'}");
  assert_true(json_equal(json_object_get(small, "data"), both));
  json_decref(both);
  assert_int_equal(json_array_size(json_object_get(json_object_get(small, "metadata"), "managedFields")), 2);
  static const char *const wants[][2] = {{"team-a", "{'a':'1'}"}, {"team-a", "{'a':'9'}"},
                                         {"team-b", "{'b':'2'}"}, {"team-b", "{'a':'1'}"}};
  for (size_t i = 0; i < sizeof wants / sizeof *wants; i++) {
    json_t *want = parse("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'n'}}");
    json_object_set_new(want, "data", parse(wants[i][1]));
    assert_int_equal(kube_apply_unchanged(want, small, wants[i][0]), kube_apply_unchanged(want, live, wants[i][0]));
    json_decref(want);
  }
  json_t *same = parse("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','namespace':'n'},"
                       "'data':{'b':'2'}}");
  assert_true(kube_apply_unchanged(same, small, "team-b"));
  json_decref(same);
  json_decref(small);
  json_decref(live);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_check_answers_the_same_on_what_is_kept),
      cmocka_unit_test(only_the_names_the_version_and_plumbs_fields_are_kept),
      cmocka_unit_test(an_object_nobody_applied_keeps_its_names),
      cmocka_unit_test(every_appliers_fields_are_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
