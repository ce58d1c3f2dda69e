/* test_kinds.c: the kind table is searched by binary search, so it must stay
 * sorted bytewise; these lookups cover its ends and the places where case
 * decides the order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "kinds.h"

static void every_kind_is_found_by_its_exact_name(void **state) {
  static const char *const kinds[] = {"APIService", "CSIDriver", "ClusterRole", "ClusterRoleBinding", "ConfigMap",
                                      "CronJob", "CustomResourceDefinition", "Deployment", "Namespace", "Pod",
                                      "PodDisruptionBudget", "Service", "ServiceAccount", "StorageClass",
                                      "ValidatingWebhookConfiguration"};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    const kind_info *k = kinds_find(kinds[i]);
    if (!k || strcmp(k->kind, kinds[i]) != 0) fail_msg("%s not found", kinds[i]);
  }
  assert_null(kinds_find("deployment"));
  assert_null(kinds_find("Widget"));
  assert_null(kinds_find(""));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_kind_is_found_by_its_exact_name),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
