/* test_hooks.c: which phase a hook runs in, and the order of the hooks
 * around an application's deletion: PreDelete and PostDelete never run in
 * a sync; a resource may list several phases, as in Argo CD; a chart's
 * pre-delete and post-delete hooks are those two; within a phase, waves
 * go lowest first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>

#include "plumb/apply.h"
#include "plumb/arena.h"
#include "kube/convert.h"
#include "json_test.h"

/* A Job whose annotations are notes: "'plumb.dev/hook': 'PreDelete'". */
#define HOOK(name, notes) "{'apiVersion': 'batch/v1', 'kind': 'Job', 'metadata': {'name': '" name "', 'annotations': {" notes "}}}"

static apply_hook phase_of(const char *quoted) {
  arena *a = arena_new();
  json_t *obj = parse(quoted);
  apply_hook h = apply_hook_of(kube_json_to_value(a, obj));
  json_decref(obj);
  arena_free(a);
  return h;
}

static void delete_phases_are_their_own(void **state) {
  assert_int_equal(phase_of(HOOK("a", "'plumb.dev/hook': 'PreDelete'")), APPLY_HOOK_PRE_DELETE);
  assert_int_equal(phase_of(HOOK("a", "'argocd.argoproj.io/hook': 'PostDelete'")), APPLY_HOOK_POST_DELETE);
  assert_int_equal(phase_of(HOOK("a", "'helm.sh/hook': 'pre-delete'")), APPLY_HOOK_PRE_DELETE);
  assert_int_equal(phase_of(HOOK("a", "'helm.sh/hook': 'post-delete'")), APPLY_HOOK_POST_DELETE);
  assert_int_equal(phase_of(HOOK("a", "'plumb.dev/hook': 'PreDeleted'")), APPLY_HOOK_SKIP);
}

/* A hook of a sync phase and a delete phase runs in both: the sync's is
 * its phase in a sync, whichever comes first. */
static void a_sync_phase_wins_in_a_sync(void **state) {
  assert_int_equal(phase_of(HOOK("a", "'plumb.dev/hook': 'PreDelete,PostSync'")), APPLY_HOOK_POST_SYNC);
  assert_int_equal(phase_of(HOOK("a", "'plumb.dev/hook': 'PostSync, PreDelete'")), APPLY_HOOK_POST_SYNC);
  assert_int_equal(phase_of(HOOK("a", "'plumb.dev/hook': 'PostDelete, PreDelete'")), APPLY_HOOK_POST_DELETE);
  assert_int_equal(phase_of(HOOK("a", "'argocd.argoproj.io/hook': 'Unknown,PreSync'")), APPLY_HOOK_PRE_SYNC);
}

/* apply_resources applies the objects of a sync (APPLY_HOOK_NONE) and the
 * hooks of its phases: a delete hook is neither. */
static void a_sync_leaves_delete_hooks_out(void **state) {
  arena *a = arena_new();
  const char *objects[] = {"{'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'web'}}",
                           HOOK("backup", "'plumb.dev/hook': 'PreDelete'"),
                           HOOK("notify", "'helm.sh/hook': 'post-delete'")};
  compile_resource res[3];
  for (size_t i = 0; i < 3; i++) {
    json_t *obj = parse(objects[i]);
    res[i] = (compile_resource){.obj = kube_json_to_value(a, obj)};
    json_decref(obj);
  }
  compile_result r = {.env = "shop", .res = res, .nres = 3};
  compile_result objs = apply_select(&r, APPLY_HOOK_NONE), pre = apply_select(&r, APPLY_HOOK_PRE_SYNC);
  assert_int_equal(objs.nres, 1);
  assert_int_equal(pre.nres, 0);
  free(objs.res);
  free(pre.res);
  arena_free(a);
}

/* The least wave from `from` on with a hook of phase, or "none". */
static void expect_wave(const json_t *hooks, apply_hook phase, long from, const char *want) {
  long wave;
  char got[32] = "none";
  if (apply_delete_hooks_wave(hooks, phase, from, &wave)) snprintf(got, sizeof got, "%ld", wave);
  if (strcmp(got, want) != 0) fail_msg("%s from %ld: got %s, want %s", apply_hook_name(phase), from, got, want);
}

static void waves_go_lowest_first_within_each_phase(void **state) {
  json_t *hooks = json_array();
  json_array_append_new(hooks, parse(HOOK("late", "'plumb.dev/hook': 'PreDelete', 'plumb.dev/sync-wave': '2'")));
  json_array_append_new(hooks, parse(HOOK("early", "'argocd.argoproj.io/hook': 'PreDelete', "
                                                   "'argocd.argoproj.io/sync-wave': '-1'")));
  json_array_append_new(hooks, parse(HOOK("notify", "'plumb.dev/hook': 'PostDelete'")));
  /* Two phases: it runs in both, as Argo CD runs it. */
  json_array_append_new(hooks, parse(HOOK("both", "'plumb.dev/hook': 'PostSync, PostDelete', "
                                                  "'plumb.dev/sync-wave': '5'")));
  /* A chart's weight is its wave. */
  json_array_append_new(hooks, parse(HOOK("chart", "'helm.sh/hook': 'post-delete', 'helm.sh/hook-weight': '3'")));
  expect_wave(hooks, APPLY_HOOK_PRE_DELETE, LONG_MIN, "-1");
  expect_wave(hooks, APPLY_HOOK_PRE_DELETE, 0, "2");
  expect_wave(hooks, APPLY_HOOK_PRE_DELETE, 3, "none");
  expect_wave(hooks, APPLY_HOOK_POST_DELETE, LONG_MIN, "0");
  expect_wave(hooks, APPLY_HOOK_POST_DELETE, 1, "3");
  expect_wave(hooks, APPLY_HOOK_POST_DELETE, 4, "5");
  expect_wave(hooks, APPLY_HOOK_POST_DELETE, 6, "none");
  json_decref(hooks);
}

static void no_hooks_no_waves(void **state) {
  json_t *hooks = json_array();
  json_array_append_new(hooks, parse(HOOK("migrate", "'plumb.dev/hook': 'PreSync'")));
  expect_wave(hooks, APPLY_HOOK_PRE_DELETE, LONG_MIN, "none");
  expect_wave(hooks, APPLY_HOOK_POST_DELETE, LONG_MIN, "none");
  json_decref(hooks);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(delete_phases_are_their_own),
      cmocka_unit_test(a_sync_phase_wins_in_a_sync),
      cmocka_unit_test(a_sync_leaves_delete_hooks_out),
      cmocka_unit_test(waves_go_lowest_first_within_each_phase),
      cmocka_unit_test(no_hooks_no_waves),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
