/* test_validate.c: Kubernetes' naming rules (k8s.io/apimachinery validation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "validate.h"

typedef struct {
  const char *s;
  bool ok;
} row;

static void check(bool (*rule)(const char *), const row *rows, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (rule(rows[i].s) != rows[i].ok) fail_msg("\"%s\" should be %s", rows[i].s, rows[i].ok ? "valid" : "invalid");
}

#define CHECK(rule, rows) check(rule, rows, sizeof rows / sizeof rows[0])

static char long_str[300];

static const char *repeat(char c, size_t n) {
  memset(long_str, c, n);
  long_str[n] = '\0';
  return long_str;
}

static void dns_labels(void **state) {
  static const row rows[] = {
      {"web", true}, {"web-1", true}, {"1web", true}, {"a", true},
      {"", false}, {"Web", false}, {"web_1", false}, {"-web", false}, {"web-", false}, {"web.prod", false},
  };
  CHECK(validate_dns_label, rows);
  assert_true(validate_dns_label(repeat('a', 63)));
  assert_false(validate_dns_label(repeat('a', 64)));
}

static void dns_subdomains(void **state) {
  static const row rows[] = {
      {"web", true}, {"web.prod", true}, {"a.b-c.d", true},
      {"", false}, {"web..prod", false}, {".web", false}, {"web.", false}, {"Web.prod", false}, {"web_prod", false},
  };
  CHECK(validate_dns_subdomain, rows);
  assert_true(validate_dns_subdomain(repeat('a', 63)));
  assert_false(validate_dns_subdomain(repeat('a', 64))); /* each label at most 63 */
}

static void label_keys(void **state) {
  static const row rows[] = {
      {"app", true}, {"App_Name.v1", true}, {"app.kubernetes.io/name", true}, {"example.com/Team-A", true},
      {"", false}, {"/app", false}, {"app/", false}, {"-app", false}, {"app-", false}, {"Example.com/app", false},
      {"a/b/c", false},
  };
  CHECK(validate_label_key, rows);
}

static void label_values(void **state) {
  static const row rows[] = {
      {"", true}, {"prod", true}, {"v1.2_3-x", true}, {"Prod", true},
      {"-prod", false}, {"prod-", false}, {"web app", false}, {"a/b", false},
  };
  CHECK(validate_label_value, rows);
  assert_true(validate_label_value(repeat('a', 63)));
  assert_false(validate_label_value(repeat('a', 64)));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dns_labels),
      cmocka_unit_test(dns_subdomains),
      cmocka_unit_test(label_keys),
      cmocka_unit_test(label_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
