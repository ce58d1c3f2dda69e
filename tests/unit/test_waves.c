/* test_waves.c: the order a sync applies objects in, as Argo CD orders
 * them: by wave, then kind, then name; Namespaces and CRDs just before
 * what needs them. Each order reads "Kind/name@wave", first applied
 * first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/waves.h"
#include "json_test.h"

/* An object; meta holds more of its metadata: "'namespace': 'app'". */
#define OBJ(api, kind, name, meta) \
  "{'apiVersion': '" api "', 'kind': '" kind "', 'metadata': {'name': '" name "'" meta "}}"
#define NS(ns) ", 'namespace': '" ns "'"
#define WAVE(w) ", 'annotations': {'plumb.dev/sync-wave': '" w "'}"
#define ARGO_WAVE(w) ", 'annotations': {'argocd.argoproj.io/sync-wave': '" w "'}"

/* Sorts the objects (in default namespace "default") and compares the
 * order with want. */
static void check_order(const char *const *objects, size_t n, const char *want) {
  json_t *objs[16];
  size_t order[16];
  long wave[16];
  char got[1024] = "";
  assert_true(n <= 16);
  for (size_t i = 0; i < n; i++) objs[i] = parse(objects[i]);
  waves_sort((const json_t *const *)objs, n, "default", order, wave);
  for (size_t k = 0; k < n; k++) {
    const json_t *o = objs[order[k]];
    size_t used = strlen(got);
    snprintf(got + used, sizeof got - used, "%s%s/%s@%ld", k ? " " : "", json_string_value(json_object_get(o, "kind")),
             json_string_value(json_object_get(json_object_get(o, "metadata"), "name")), wave[k]);
  }
  for (size_t i = 0; i < n; i++) json_decref(objs[i]);
  if (strcmp(got, want) != 0) fail_msg("got  %s\nwant %s", got, want);
}

#define CHECK_ORDER(objects, want) check_order(objects, sizeof objects / sizeof *objects, want)

static void kinds_go_in_gitops_engine_order(void **state) {
  static const char *const objects[] = {
      OBJ("networking.k8s.io/v1", "Ingress", "web", ""), OBJ("apps/v1", "Deployment", "web", ""),
      OBJ("example.com/v1", "Widget", "w", ""),          OBJ("v1", "Service", "web", ""),
      OBJ("v1", "ConfigMap", "settings", ""),            OBJ("v1", "Secret", "token", ""),
      OBJ("v1", "ServiceAccount", "web", ""),            OBJ("rbac.authorization.k8s.io/v1", "Role", "web", ""),
      OBJ("batch/v1", "Job", "migrate", ""),             OBJ("v1", "Namespace", "default", ""),
      OBJ("networking.k8s.io/v1", "NetworkPolicy", "deny", ""),
  };
  CHECK_ORDER(objects, "Namespace/default@0 NetworkPolicy/deny@0 ServiceAccount/web@0 Secret/token@0 "
                       "ConfigMap/settings@0 Role/web@0 Service/web@0 Deployment/web@0 Job/migrate@0 "
                       "Ingress/web@0 Widget/w@0");
}

static void one_kind_goes_by_name(void **state) {
  static const char *const objects[] = {OBJ("v1", "ConfigMap", "b", ""), OBJ("v1", "ConfigMap", "C", ""),
                                        OBJ("v1", "ConfigMap", "a", "")};
  CHECK_ORDER(objects, "ConfigMap/C@0 ConfigMap/a@0 ConfigMap/b@0");
}

static void waves_go_lowest_first_before_kinds(void **state) {
  static const char *const objects[] = {
      OBJ("apps/v1", "Deployment", "db", WAVE("-1")), OBJ("v1", "ConfigMap", "late", WAVE("1")),
      OBJ("v1", "ConfigMap", "plain", ""),            OBJ("apps/v1", "Deployment", "web", WAVE("+1")),
      OBJ("v1", "Secret", "first", WAVE("-10")),
  };
  CHECK_ORDER(objects, "Secret/first@-10 Deployment/db@-1 ConfigMap/plain@0 ConfigMap/late@1 Deployment/web@1");
}

static void argo_cd_annotation_counts_and_plumbs_wins(void **state) {
  static const char *const objects[] = {
      OBJ("v1", "ConfigMap", "argo", ARGO_WAVE("-2")),
      OBJ("v1", "ConfigMap", "both",
          ", 'annotations': {'argocd.argoproj.io/sync-wave': '-5', 'plumb.dev/sync-wave': '3'}"),
      OBJ("v1", "ConfigMap", "none", ""),
  };
  CHECK_ORDER(objects, "ConfigMap/argo@-2 ConfigMap/none@0 ConfigMap/both@3");
}

static void a_namespace_joins_the_wave_of_its_first_object(void **state) {
  static const char *const objects[] = {
      OBJ("v1", "Namespace", "app", WAVE("2")),
      OBJ("v1", "ConfigMap", "early", NS("app") WAVE("-1")),
      OBJ("v1", "ConfigMap", "later", NS("app") WAVE("1")),
      OBJ("v1", "Namespace", "other", WAVE("1")),
      OBJ("v1", "ConfigMap", "elsewhere", NS("other") WAVE("1")),
  };
  CHECK_ORDER(objects, "Namespace/app@-1 ConfigMap/early@-1 Namespace/other@1 ConfigMap/elsewhere@1 ConfigMap/later@1");
}

static void objects_naming_no_namespace_need_the_default_one(void **state) {
  static const char *const objects[] = {OBJ("v1", "ConfigMap", "cfg", WAVE("-1")), OBJ("v1", "Namespace", "default", "")};
  CHECK_ORDER(objects, "Namespace/default@-1 ConfigMap/cfg@-1");
}

static void a_crd_comes_just_before_its_first_custom_resource(void **state) {
  static const char *const objects[] = {
      "{'apiVersion': 'apiextensions.k8s.io/v1', 'kind': 'CustomResourceDefinition', 'metadata': {'name': "
      "'widgets.example.com', 'annotations': {'plumb.dev/sync-wave': '5'}}, 'spec': {'group': 'example.com', "
      "'names': {'kind': 'Widget'}}}",
      OBJ("example.com/v1", "Widget", "w", ""),
      OBJ("other.example.com/v1", "Widget", "unrelated", WAVE("-1")),
      OBJ("apps/v1", "Deployment", "web", ""),
  };
  CHECK_ORDER(objects,
              "Widget/unrelated@-1 Deployment/web@0 CustomResourceDefinition/widgets.example.com@0 Widget/w@0");
}

static void a_wave_must_be_an_integer(void **state) {
  static const struct {
    const char *object, *why;
    long wave;
  } cases[] = {
      {OBJ("v1", "ConfigMap", "a", ""), NULL, 0},
      {OBJ("v1", "ConfigMap", "a", WAVE("-3")), NULL, -3},
      {OBJ("v1", "ConfigMap", "a", WAVE("+2")), NULL, 2},
      {OBJ("v1", "ConfigMap", "a", WAVE("007")), NULL, 7},
      {OBJ("v1", "ConfigMap", "a", ARGO_WAVE("4")), NULL, 4},
      {OBJ("v1", "ConfigMap", "a", WAVE("one")), "annotation plumb.dev/sync-wave: \"one\" is not an integer", 0},
      {OBJ("v1", "ConfigMap", "a", WAVE("1.5")), "annotation plumb.dev/sync-wave: \"1.5\" is not an integer", 0},
      {OBJ("v1", "ConfigMap", "a", WAVE(" 1")), "annotation plumb.dev/sync-wave: \" 1\" is not an integer", 0},
      {OBJ("v1", "ConfigMap", "a", WAVE("")), "annotation plumb.dev/sync-wave: \"\" is not an integer", 0},
      {OBJ("v1", "ConfigMap", "a", WAVE("99999999999999999999")),
       "annotation plumb.dev/sync-wave: \"99999999999999999999\" is not an integer", 0},
      {OBJ("v1", "ConfigMap", "a", ARGO_WAVE("x")), "annotation argocd.argoproj.io/sync-wave: \"x\" is not an integer",
       0},
      {OBJ("v1", "ConfigMap", "a", ", 'annotations': {'plumb.dev/sync-wave': 1}"),
       "annotation plumb.dev/sync-wave: a non-string is not an integer", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    json_t *obj = parse(cases[i].object);
    long wave = 99;
    char *why;
    bool ok = waves_parse(obj, &wave, &why);
    if (ok != !cases[i].why || (why && strcmp(why, cases[i].why) != 0) || (ok && wave != cases[i].wave))
      fail_msg("%s: got %s (%ld), want %s (%ld)", cases[i].object, why ? why : "ok", wave,
               cases[i].why ? cases[i].why : "ok", cases[i].wave);
    free(why);
    json_decref(obj);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(kinds_go_in_gitops_engine_order),
      cmocka_unit_test(one_kind_goes_by_name),
      cmocka_unit_test(waves_go_lowest_first_before_kinds),
      cmocka_unit_test(argo_cd_annotation_counts_and_plumbs_wins),
      cmocka_unit_test(a_namespace_joins_the_wave_of_its_first_object),
      cmocka_unit_test(objects_naming_no_namespace_need_the_default_one),
      cmocka_unit_test(a_crd_comes_just_before_its_first_custom_resource),
      cmocka_unit_test(a_wave_must_be_an_integer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
