/* test_schema.c: resources checked against the embedded Kubernetes schemas.
 * Each case is one resource built in an env, and the first error it gets,
 * or none; what the API server does with the same mistake was checked on
 * the test control plane (tests/cluster) with kubectl apply --server-side
 * --dry-run=server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "plumb/compile.h"
#include "eval.h"
#include "schema.h"

typedef struct {
  const char *resource;
  const char *error; /* the first one, or NULL for none */
} row;

/* A Pod of one container, with the container's fields c. */
#define POD(c) "Pod \"p\" { spec: { containers: [{ name: \"c\", image: \"x\", " c " }] } }"

static void check(const char *resource, const char *error) {
  char text[8192];
  int n = snprintf(text, sizeof text, "env e {\n  %s\n}\n", resource);
  compile_result *r = compile_source("t.plumb", text, (size_t)n, NULL);
  if (!error && r->diags.errors) fail_msg("%s\nshould pass, got: %s", resource, r->diags.first->msg);
  if (error && !r->diags.errors) fail_msg("%s\nshould fail with: %s", resource, error);
  if (error && strcmp(r->diags.first->msg, error) != 0)
    fail_msg("%s\nexpected: %s\n     got: %s", resource, error, r->diags.first->msg);
  compile_free(r);
}

static void check_rows(const row *rows, size_t n) {
  for (size_t i = 0; i < n; i++) check(rows[i].resource, rows[i].error);
}

#define CHECK(rows) check_rows(rows, sizeof rows / sizeof rows[0])

static void unknown_fields_are_named_with_a_hint(void **state) {
  static const row rows[] = {
      {"Deployment \"d\" { spec: { replicass: 2, selector: {}, template: {} } }",
       "unknown field \"replicass\" in Deployment.spec; did you mean \"replicas\"?"},
      {"ConfigMap \"c\" { metadata: { label: { a: \"b\" } } }",
       "unknown field \"label\" in ConfigMap.metadata; did you mean \"labels\"?"},
      {"ConfigMap \"c\" { spec: {} }", "unknown field \"spec\" in ConfigMap"},
      {"Service \"s\" { spec: { ports: [{ port: 80, trgetPort: 8080 }] } }",
       "unknown field \"trgetPort\" in Service.spec.ports[0]; did you mean \"targetPort\"?"},
  };
  CHECK(rows);
}

static void types_are_the_api_servers(void **state) {
  static const row rows[] = {
      {"Deployment \"d\" { spec: { replicas: \"two\", selector: {}, template: {} } }",
       "Deployment.spec.replicas must be an int, got a string"},
      {"Deployment \"d\" { spec: { replicas: 2.0, selector: {}, template: {} } }", NULL}, /* converted */
      {"Deployment \"d\" { spec: { replicas: 2.5, selector: {}, template: {} } }",
       "Deployment.spec.replicas must be an int, got a float"},
      {"Deployment \"d\" { spec: { replicas: 3000000000, selector: {}, template: {} } }",
       "Deployment.spec.replicas: 3000000000 is out of range for a 32-bit int"},
      {"ConfigMap \"c\" { data: { n: 1 } }", "ConfigMap.data.n must be a string, got an int"},
      {"ConfigMap \"c\" { data: { \"app.conf\": true } }", "ConfigMap.data[\"app.conf\"] must be a string, got a bool"},
      {"ConfigMap \"c\" { data: [] }", "ConfigMap.data must be an object, got a list"},
      {"ConfigMap \"c\" { immutable: \"yes\" }", "ConfigMap.immutable must be a bool, got a string"},
      {"ConfigMap \"c\" { data: null, metadata: { creationTimestamp: null } }", NULL}, /* null is "not set" */
      {POD("ports: { containerPort: 80 }"), "Pod.spec.containers[0].ports must be a list, got an object"},
  };
  CHECK(rows);
}

static void int_or_string_takes_both(void **state) {
  static const row rows[] = {
      {"Service \"s\" { spec: { ports: [{ port: 80, targetPort: \"http\" }, { port: 81, targetPort: 8081 }] } }", NULL},
      {"Service \"s\" { spec: { ports: [{ port: 80, targetPort: 1.5 }] } }",
       "Service.spec.ports[0].targetPort must be an int or a string, got a float"},
      {"Service \"s\" { spec: { ports: [{ port: 80, targetPort: 8080.0 }] } }", NULL}, /* converted */
      {"Service \"s\" { spec: { ports: [{ port: 80, targetPort: true }] } }",
       "Service.spec.ports[0].targetPort must be an int or a string, got a bool"},
  };
  CHECK(rows);
}

static void enums_list_their_values(void **state) {
  static const row rows[] = {
      {"Service \"s\" { spec: { type: \"Nodeport\" } }",
       "Service.spec.type: \"Nodeport\" is not one of \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", "
       "\"NodePort\"; did you mean \"NodePort\"?"},
      {POD("imagePullPolicy: \"sometimes\""),
       "Pod.spec.containers[0].imagePullPolicy: \"sometimes\" is not one of \"Always\", \"IfNotPresent\", \"Never\""},
      {POD("imagePullPolicy: \"IfNotPresent\""), NULL},
      /* "" is unset to the API server, which puts the default in */
      {POD("imagePullPolicy: \"\""), NULL},
      {"Service \"s\" { spec: { type: \"\" } }", NULL},
  };
  CHECK(rows);
}

static void required_fields_are_asked_for(void **state) {
  static const row rows[] = {
      {"Pod \"p\" { spec: { hostname: \"a\" } }", "missing required field \"containers\" in Pod.spec"},
      {"Deployment \"d\" { spec: { replicas: 1 } }", "missing required field \"selector\" in Deployment.spec"},
      {"Deployment \"d\" { spec: { selector: {}, template: {} } }", NULL},
      {"Service \"s\" { spec: { ports: [{ port: 80 }] } }", NULL},
      /* Required, but with a default: the API server takes the zero value
       * and its own validation decides, which takes these (and refuses a
       * container without a name: not a schema's rule) */
      {"CSIDriver \"a.example.com\" {}", NULL},
      {"Pod \"p\" { spec: { containers: [{ image: \"x\", lifecycle: { preStop: { sleep: {} } } }] } }", NULL},
  };
  CHECK(rows);
}

static void quantities_follow_parse_quantity(void **state) {
  /* The API server takes "Gi", "m" and "." for 0, and trims spaces. */
  static const char *good[] = {"1",  "0.5", "500m", "1Gi", "128974848", "129e6", "129M", "123Mi", "1.5E-3", "+1k",
                               ".5", "1.",  "100n", "3u",  "Gi",        "m",     ".",    " 1 ",   "1E",     "e3"};
  static const char *bad[] = {"", " ", "1 core", "1gi", "1e", "1e+", "1.5.5", "1KiB", "1e1.5", "- 1", "1.0e3m"};
  char resource[256];
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    snprintf(resource, sizeof resource, POD("resources: { limits: { cpu: \"%s\" } }"), good[i]);
    check(resource, NULL);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(resource, sizeof resource, POD("resources: { limits: { cpu: \"%s\" } }"), bad[i]);
    char error[256];
    snprintf(error, sizeof error,
             "Pod.spec.containers[0].resources.limits.cpu: \"%s\" is not a quantity (a number, or a string such as "
             "\"500m\" or \"1Gi\")",
             bad[i]);
    check(resource, error);
  }
  check(POD("resources: { requests: { cpu: 0.5, memory: 1000000 } }"), NULL);
}

static void formats_are_checked(void **state) {
  static const row rows[] = {
      {"Secret \"s\" { data: { a: \"cGFzcw==\", b: \"\", c: \"YWJj\" } }", NULL},
      {"Secret \"s\" { data: { a: \"pass\" } }", NULL}, /* four letters are base64 too */
      {"Secret \"s\" { data: { a: \"plain\" } }", "Secret.data.a: \"plain\" is not base64 text"},
      {"Secret \"s\" { data: { a: \"cGFzcw=\" } }", "Secret.data.a: \"cGFzcw=\" is not base64 text"},
      {"ConfigMap \"c\" { metadata: { creationTimestamp: \"2024-01-02T03:04:05Z\" } }", NULL},
      {"ConfigMap \"c\" { metadata: { creationTimestamp: \"2024-01-02T03:04:05.123+02:00\" } }", NULL},
      {"ConfigMap \"c\" { metadata: { creationTimestamp: \"2024-01-02 03:04:05\" } }",
       "ConfigMap.metadata.creationTimestamp: \"2024-01-02 03:04:05\" is not an RFC 3339 time"},
  };
  CHECK(rows);
}

static void list_maps_have_no_duplicate_keys(void **state) {
  static const row rows[] = {
      {"Pod \"p\" { spec: { containers: [{ name: \"c\", image: \"x\" }, { name: \"c\", image: \"y\" }] } }",
       "Pod.spec.containers: items 0 and 1 have the same name; the API server takes them for one"},
      /* protocol defaults to TCP */
      {POD("ports: [{ containerPort: 80 }, { containerPort: 80, protocol: \"TCP\" }]"),
       "Pod.spec.containers[0].ports: items 0 and 1 have the same containerPort and protocol; the API server takes "
       "them for one"},
      {POD("ports: [{ containerPort: 80 }, { containerPort: 80, protocol: \"UDP\" }]"), NULL},
      /* a list-type set may hold a value twice */
      {"ClusterRole \"r\" { rules: [{ apiGroups: [\"\"], resources: [\"pods\"], verbs: [\"get\", \"get\"] }] }", NULL},
  };
  CHECK(rows);
}

static void custom_and_unchecked_resources_pass(void **state) {
  static const row rows[] = {
      {"Certificate \"c\" { apiVersion: \"cert-manager.io/v1\", spec: { anything: 1 } }", NULL},
      {"Deployment \"d\" { apiVersion: \"apps/v1beta9\", spec: { replicass: 1 } }", NULL},
      {"Deployment \"d\" { metadata: { annotations: { \"plumb.dev/validate\": \"false\" } }, spec: { x: 1 } }", NULL},
      {"Deployment \"d\" { metadata: { annotations: { \"plumb.dev/validate\": \"true\" } }, spec: { x: 1 } }",
       "unknown field \"x\" in Deployment.spec"},
      {"Deployment \"d\" { metadata: { annotations: { \"plumb.dev/validate\": \"off\" } } }",
       "annotation plumb.dev/validate must be \"true\" or \"false\""},
  };
  CHECK(rows);
}

/* A CustomResourceDefinition of the same build, as the API server takes
 * it (each case was applied to the test control plane). */
#define CRD                                                                                                            \
  "CustomResourceDefinition \"widgets.example.com\" { spec: {\n"                                                       \
  "  group: \"example.com\", names: { kind: \"Widget\", plural: \"widgets\" }, scope: \"Namespaced\"\n"                \
  "  versions: [{ name: \"v1\", served: true, storage: true, schema: { openAPIV3Schema: {\n"                           \
  "    type: \"object\"\n"                                                                                             \
  "    properties: { spec: { type: \"object\", required: [\"size\", \"mode\"], properties: {\n"                        \
  "      size: { type: \"integer\" }\n"                                                                                \
  "      mode: { type: \"string\", default: \"fast\" }\n"                                                              \
  "      color: { type: \"string\", enum: [\"red\", \"green\"] }\n"                                                    \
  "      port: { \"x-kubernetes-int-or-string\": true }\n"                                                             \
  "      extra: { type: \"object\", \"x-kubernetes-preserve-unknown-fields\": true }\n"                                \
  "      labels: { type: \"object\", additionalProperties: { type: \"string\" } }\n"                                   \
  "      items: { type: \"array\", \"x-kubernetes-list-type\": \"map\", \"x-kubernetes-list-map-keys\": [\"name\"],\n" \
  "               items: { type: \"object\", required: [\"name\"], properties: { name: { type: \"string\" } } } }\n"   \
  "      template: { type: \"object\", \"x-kubernetes-embedded-resource\": true,\n"                                    \
  "                  \"x-kubernetes-preserve-unknown-fields\": true }\n"                                               \
  "    } } }\n"                                                                                                        \
  "  } } }]\n"                                                                                                         \
  "} }\n  "
#define WIDGET(spec) "Widget \"w\" { apiVersion: \"example.com/v1\", spec: { " spec " } }"

static void custom_resources_follow_the_crds_of_the_build(void **state) {
  static const row rows[] = {
      {CRD WIDGET("size: 1, color: \"red\", port: \"http\", extra: { any: [1] }, labels: { a: \"b\" }, "
                  "items: [{ name: \"a\" }], template: { apiVersion: \"v1\", kind: \"ConfigMap\", "
                  "metadata: { name: \"x\" }, data: {} }"),
       NULL},
      {CRD WIDGET("size: 2.0"), NULL},
      {CRD WIDGET("size: 1, sise: 1"), "unknown field \"sise\" in Widget.spec; did you mean \"size\"?"},
      {CRD WIDGET("size: \"2\""), "Widget.spec.size must be an int, got a string"},
      {CRD WIDGET("size: 1, color: \"blue\""), "Widget.spec.color: \"blue\" is not one of \"red\", \"green\""},
      /* a CRD's enum is the schema's alone */
      {CRD WIDGET("size: 1, color: \"\""), "Widget.spec.color: \"\" is not one of \"red\", \"green\""},
      {CRD WIDGET("size: 1, port: 1.5"), "Widget.spec.port must be an int or a string, got a float"},
      {CRD WIDGET("size: 1, labels: { a: 1 }"), "Widget.spec.labels.a must be a string, got an int"},
      {CRD WIDGET("size: 1, items: [{ name: \"a\" }, { name: \"a\" }]"),
       "Widget.spec.items: items 0 and 1 have the same name; the API server takes them for one"},
      {CRD WIDGET("color: \"red\""), "missing required field \"size\" in Widget.spec"},
      /* mode is required, but has a default, put in before the check */
      {CRD WIDGET("size: 1"), NULL},
      /* metadata is the API server's, at the top and in an embedded resource */
      {CRD "Widget \"w\" { apiVersion: \"example.com/v1\", metadata: { lables: {} }, spec: { size: 1 } }",
       "unknown field \"lables\" in Widget.metadata; did you mean \"labels\"?"},
      {CRD WIDGET("size: 1, template: { metadata: { nam: \"x\" } }"),
       "unknown field \"nam\" in Widget.spec.template.metadata; did you mean \"name\"?"},
      /* a version the CRD does not define is not checked */
      {CRD "Widget \"w\" { apiVersion: \"example.com/v2\", spec: { anything: 1 } }", NULL},
  };
  CHECK(rows);
}

/* A CRD whose schema holds the value validations the API server runs on
 * custom resources (k8s.io/kube-openapi's validate package). */
#define GADGETS                                                                                                        \
  "CustomResourceDefinition \"gadgets.example.com\" { spec: {\n"                                                       \
  "  group: \"example.com\", names: { kind: \"Gadget\", plural: \"gadgets\" }, scope: \"Namespaced\"\n"                \
  "  versions: [{ name: \"v1\", served: true, storage: true, schema: { openAPIV3Schema: {\n"                           \
  "    type: \"object\"\n"                                                                                             \
  "    properties: { spec: { type: \"object\", properties: {\n"                                                        \
  "      size: { type: \"integer\", minimum: 1, maximum: 10, multipleOf: 2 }\n"                                        \
  "      ratio: { type: \"number\", minimum: 0, exclusiveMinimum: true, maximum: 1, exclusiveMaximum: true }\n"        \
  "      step: { type: \"number\", multipleOf: 0.1 }\n"                                                                \
  "      low: { type: \"number\", minimum: 10.5, multipleOf: 0.5 }\n"                                                  \
  "      imin: { type: \"integer\", minimum: 10.5 }\n"                                                                 \
  "      f32: { type: \"number\", format: \"float\" }\n"                                                               \
  "      name: { type: \"string\", pattern: \"^[a-z]+$\", minLength: 2, maxLength: 5 }\n"                              \
  "      word: { type: \"string\", maxLength: 3 }\n"                                                                   \
  "      tags: { type: \"array\", minItems: 1, maxItems: 3, \"x-kubernetes-list-type\": \"set\",\n"                    \
  "              items: { type: \"string\" } }\n"                                                                      \
  "      maybe: { type: \"array\", items: { type: \"string\", nullable: true } }\n"                                    \
  "      labels: { type: \"object\", minProperties: 1, maxProperties: 2, additionalProperties: { type: \"string\" } }\n" \
  "      level: { type: \"integer\", enum: [1, 2, 3] }\n"                                                              \
  "      port: { type: \"integer\", format: \"int32\" }\n"                                                             \
  "      ip: { type: \"string\", format: \"ipv4\" }\n"                                                                 \
  "      ip6: { type: \"string\", format: \"ipv6\" }\n"                                                                \
  "      net: { type: \"string\", format: \"cidr\" }\n"                                                                \
  "      mac: { type: \"string\", format: \"mac\" }\n"                                                                 \
  "      id: { type: \"string\", format: \"uuid\" }\n"                                                                 \
  "      host: { type: \"string\", format: \"hostname\" }\n"                                                           \
  "      day: { type: \"string\", format: \"date\" }\n"                                                                \
  "      at: { type: \"string\", format: \"date-time\" }\n"                                                            \
  "      wait: { type: \"string\", format: \"duration\" }\n"                                                           \
  "      data: { type: \"string\", format: \"byte\" }\n"                                                               \
  "      color: { type: \"string\", format: \"hexcolor\" }\n"                                                          \
  "      short: { type: \"string\", format: \"k8s-short-name\" }\n"                                                    \
  "      book: { type: \"string\", format: \"isbn\" }\n"                                                               \
  "      card: { type: \"string\", format: \"creditcard\" }\n"                                                         \
  "      link: { type: \"string\", format: \"uri\" }\n"                                                                \
  "      mail: { type: \"string\", format: \"email\" }\n"                                                              \
  "      count: { type: \"integer\", format: \"date\" }\n"                                                             \
  "      source: { type: \"object\", properties: { url: { type: \"string\" }, path: { type: \"string\" } },\n"         \
  "                oneOf: [{ required: [\"url\"] }, { required: [\"path\"] }] }\n"                                     \
  "      target: { type: \"object\", properties: { host: { type: \"string\" }, port: { type: \"integer\" } },\n"       \
  "                anyOf: [{ required: [\"host\"] }, { properties: { port: { minimum: 1024 } }, required: [\"port\"] }] }\n" \
  "      mode: { type: \"string\", allOf: [{ minLength: 2 }, { pattern: \"^m\" }], not: { enum: [\"mx\"] } }\n"       \
  "    } } }\n"                                                                                                        \
  "  } } }]\n"                                                                                                         \
  "} }\n  "
#define GADGET(spec) GADGETS "Gadget \"g\" { apiVersion: \"example.com/v1\", spec: { " spec " } }"

static void custom_resources_meet_their_value_validations(void **state) {
  static const row rows[] = {
      {GADGET("size: 4, ratio: 0.5, step: 0.3, name: \"ab\", tags: [\"a\", \"b\"], labels: { a: \"b\" }, level: 2, "
              "port: 80, maybe: [\"a\", null], source: { url: \"u\" }, target: { port: 8080 }, mode: \"mode\""),
       NULL},
      /* limits */
      {GADGET("size: 12"), "Gadget.spec.size: 12 is more than the maximum 10"},
      {GADGET("size: 0"), "Gadget.spec.size: 0 is less than the minimum 1"},
      {GADGET("size: 3"), "Gadget.spec.size: 3 is not a multiple of 2"},
      {GADGET("size: 4.0"), NULL},
      {GADGET("ratio: 1"), "Gadget.spec.ratio: 1 is not less than the exclusive maximum 1"},
      {GADGET("ratio: 0"), "Gadget.spec.ratio: 0 is not more than the exclusive minimum 0"},
      {GADGET("ratio: 0.999"), NULL},
      {GADGET("step: 0.35"), "Gadget.spec.step: 0.35 is not a multiple of 0.1"},
      /* where the type is number, an int meets bounds cut to ints: a factor of 0.5 becomes 0, which refuses all */
      {GADGET("low: 10.5"), NULL},
      {GADGET("low: 12"), "Gadget.spec.low: 12 is not a multiple of 0.5 (0 for an int, as the API server cuts it)"},
      {GADGET("imin: 11"), "Gadget.spec.imin: the API server refuses any value here: its minimum 10.5 is not a 64-bit integer"},
      {GADGET("f32: 1e39"), "Gadget.spec.f32: 1e+39 is out of range for a 32-bit float"},
      /* lengths count characters, not bytes */
      {GADGET("name: \"a\""), "Gadget.spec.name has 1 characters, fewer than the minLength 2"},
      {GADGET("name: \"abcdef\""), "Gadget.spec.name has 6 characters, more than the maxLength 5"},
      {GADGET("word: \"\u00e9\u00e9\u00e9\""), NULL},
      {GADGET("word: \"\u00e9\u00e9\u00e9\u00e9\""), "Gadget.spec.word has 4 characters, more than the maxLength 3"},
      /* patterns, unanchored unless anchored, as Go's MatchString */
      {GADGET("name: \"aB\""), "Gadget.spec.name: \"aB\" does not match the pattern \"^[a-z]+$\""},
      {GADGET("name: \"ab\\n\""), "Gadget.spec.name: \"ab\n\" does not match the pattern \"^[a-z]+$\""},
      {GADGET("tags: []"), "Gadget.spec.tags has 0 items, fewer than the minItems 1"},
      {GADGET("tags: [\"a\", \"b\", \"c\", \"d\"]"), "Gadget.spec.tags has 4 items, more than the maxItems 3"},
      {GADGET("tags: [\"a\", \"b\", \"a\"]"), "Gadget.spec.tags: items 0 and 2 are equal; a set holds each value once"},
      {GADGET("labels: {}"), "Gadget.spec.labels has 0 fields, fewer than the minProperties 1"},
      {GADGET("labels: { a: \"1\", b: \"2\", c: \"3\" }"),
       "Gadget.spec.labels has 3 fields, more than the maxProperties 2"},
      /* enums of any type; null where the type is not nullable */
      {GADGET("level: 4"), "Gadget.spec.level: 4 is not one of [1,2,3]"},
      {GADGET("tags: [\"a\", null]"), "Gadget.spec.tags[1] must be a string, got null"},
      {GADGET("port: 3000000000"), "Gadget.spec.port: 3000000000 is out of range for a 32-bit int"},
      /* formats */
      {GADGET("ip: \"10.0.0.1\", ip6: \"fe80::1\", net: \"10.0.0.0/8\", mac: \"00:1a:2b:3c:4d:5e\", "
              "id: \"123e4567-e89b-12d3-a456-426614174000\", host: \"example.com\", day: \"2024-02-29\", "
              "at: \"2024-02-29T10:00:00.5Z\", wait: \"1h30m\", data: \"aGk=\", color: \"#fff\", short: \"web-1\", "
              "count: 3"),
       NULL},
      {GADGET("wait: \"3 days\""), NULL},
      {GADGET("book: \"0-8044-2957-X\", card: \"4111 1111 1111 1111\""), NULL},
      {GADGET("link: \"https://u:p@example.com:8443/a%20b?q=%zz#f\""), NULL},
      {GADGET("link: \"relative/path\""), "Gadget.spec.link: \"relative/path\" is not a URI (absolute, or a path from '/')"},
      {GADGET("link: \"http://[1.2.3.4]/\""),
       "Gadget.spec.link: \"http://[1.2.3.4]/\" is not a URI (absolute, or a path from '/')"},
      {GADGET("mail: \"Ops <ops@example.com> (team)\""), NULL},
      {GADGET("mail: \"o..p@example.com\""), "Gadget.spec.mail: \"o..p@example.com\" is not an email address"},
      {GADGET("book: \"0-306-40615-3\""), "Gadget.spec.book: \"0-306-40615-3\" is not an ISBN"},
      {GADGET("card: \"4111 1111 1111 1112\""), "Gadget.spec.card: \"4111 1111 1111 1112\" is not a credit card number"},
      {GADGET("ip: \"10.0.0.256\""), "Gadget.spec.ip: \"10.0.0.256\" is not an IPv4 address"},
      {GADGET("ip6: \"10.0.0.1\""), "Gadget.spec.ip6: \"10.0.0.1\" is not an IPv6 address"},
      {GADGET("net: \"10.0.0.0/33\""),
       "Gadget.spec.net: \"10.0.0.0/33\" is not a CIDR (an IP address, '/' and a prefix length)"},
      {GADGET("mac: \"00:1a:2b:3c:4d\""), "Gadget.spec.mac: \"00:1a:2b:3c:4d\" is not a MAC address"},
      {GADGET("id: \"123\""), "Gadget.spec.id: \"123\" is not a UUID"},
      {GADGET("host: \"-x.com\""), "Gadget.spec.host: \"-x.com\" is not a hostname"},
      {GADGET("day: \"2023-02-29\""), "Gadget.spec.day: \"2023-02-29\" is not a date (2006-01-02)"},
      {GADGET("at: \"2024-02-29 10:00:00Z\""),
       "Gadget.spec.at: \"2024-02-29 10:00:00Z\" is not an RFC 3339 date-time"},
      {GADGET("wait: \"soon\""), "Gadget.spec.wait: \"soon\" is not a duration (such as \"1h30m\" or \"3 days\")"},
      {GADGET("data: \"\""), "Gadget.spec.data: \"\" is not base64 text"},
      {GADGET("color: \"#ffff\""), "Gadget.spec.color: \"#ffff\" is not a hex color (#FFF or #FFFFFF)"},
      {GADGET("short: \"Web\""),
       "Gadget.spec.short: \"Web\" is not a Kubernetes short name (a lowercase DNS label, at most 63 characters)"},
      /* junctions */
      {GADGET("source: {}"),
       "Gadget.spec.source matches none of the schemas of oneOf; the first says: missing required field \"url\" in "
       "Gadget.spec.source"},
      {GADGET("source: { url: \"u\", path: \"p\" }"),
       "Gadget.spec.source matches schemas 0 and 1 of oneOf; it must match exactly one"},
      {GADGET("target: { port: 80 }"),
       "Gadget.spec.target matches none of the schemas of anyOf; the first says: missing required field \"host\" in "
       "Gadget.spec.target"},
      {GADGET("target: { host: \"h\", port: 80 }"), NULL},
      {GADGET("mode: \"x\""), "Gadget.spec.mode has 1 characters, fewer than the minLength 2"},
      {GADGET("mode: \"xy\""), "Gadget.spec.mode: \"xy\" does not match the pattern \"^m\""},
      {GADGET("mode: \"mx\""), "Gadget.spec.mode matches the schema of not, which it must not"},
  };
  CHECK(rows);
}

/* Limits a hostile CRD may write: no overflow, no trap, the API server's
 * answers. */
#define ODD_LIMITS(spec)                                                                                               \
  "CustomResourceDefinition \"odds.example.com\" { spec: {\n"                                                          \
  "  group: \"example.com\", names: { kind: \"Odd\", plural: \"odds\" }, scope: \"Namespaced\"\n"                      \
  "  versions: [{ name: \"v1\", served: true, storage: true, schema: { openAPIV3Schema: {\n"                           \
  "    type: \"object\", properties: { spec: { type: \"object\", properties: {\n"                                      \
  "      a: { type: \"string\", minLength: 9223372036854775807 }\n"                                                    \
  "      b: { type: \"array\", maxItems: 9223372036854775807, items: { type: \"integer\", multipleOf: -1 } }\n"         \
  "      c: { type: \"number\", multipleOf: 1e-320 }\n"                                                                \
  "      d: { type: \"number\", minimum: -1e308, maximum: 1e300 }\n"                                                   \
  "      e: { type: \"integer\", multipleOf: 0 }\n"                                                                    \
  "    } } } } } }]\n"                                                                                                 \
  "} }\n  Odd \"o\" { apiVersion: \"example.com/v1\", spec: { " spec " } }"

static void odd_limits_are_safe(void **state) {
  static const row rows[] = {
      {ODD_LIMITS("a: \"x\""), "Odd.spec.a has 1 characters, fewer than the minLength 9223372036854775807"},
      {ODD_LIMITS("b: []"), NULL},
      /* a factor that is not positive: validate refuses every value */
      {ODD_LIMITS("b: [-9223372036854775807 - 1]"), "Odd.spec.b[0]: -9223372036854775808 is not a multiple of -1"},
      {ODD_LIMITS("e: 0"), "Odd.spec.e: 0 is not a multiple of 0"},
      {ODD_LIMITS("c: 1.5"), "Odd.spec.c: 1.5 is not a multiple of 1e-320"},
      /* past an int64, a bound is INT64_MIN for an int (amd64's conversion) */
      {ODD_LIMITS("d: 9223372036854775807"),
       "Odd.spec.d: 9223372036854775807 is more than the maximum 1e+300 (-9223372036854775808 for an int, as the API "
       "server cuts it)"},
      {ODD_LIMITS("d: 1.5e300"), "Odd.spec.d: 1.5e+300 is more than the maximum 1e+300"},
      {ODD_LIMITS("d: -1e300"), NULL},
  };
  CHECK(rows);
}

/* With the status subresource the API server drops .status on create
 * before it validates: server-side apply still checks its fields and
 * types, not its value validations. */
#define STATS(sub, status)                                                                                             \
  "CustomResourceDefinition \"stats.example.com\" { spec: {\n"                                                         \
  "  group: \"example.com\", names: { kind: \"Stat\", plural: \"stats\" }, scope: \"Namespaced\"\n"                    \
  "  versions: [{ name: \"v1\", served: true, storage: true, " sub " schema: { openAPIV3Schema: {\n"                  \
  "    type: \"object\", properties: { status: { type: \"object\", properties: {\n"                                    \
  "      phase: { type: \"string\", enum: [\"A\"] }, n: { type: \"integer\", maximum: 3 }\n"                           \
  "    } } } } } }]\n"                                                                                                 \
  "} }\n  Stat \"s\" { apiVersion: \"example.com/v1\", status: { " status " } }"
#define SUBRESOURCE "subresources: { status: {} },"

static void status_is_the_subresources(void **state) {
  static const row rows[] = {
      {STATS("", "n: 4"), "Stat.status.n: 4 is more than the maximum 3"},
      {STATS(SUBRESOURCE, "n: 4, phase: \"B\""), NULL},
      {STATS(SUBRESOURCE, "n: \"4\""), "Stat.status.n must be an int, got a string"},
      {STATS(SUBRESOURCE, "m: 4"), "unknown field \"m\" in Stat.status; did you mean \"n\"?"},
  };
  CHECK(rows);
}

#define BAD_PATTERN(p)                                                                                                 \
  "CustomResourceDefinition \"gadgets.example.com\" { spec: {\n"                                                       \
  "  group: \"example.com\", names: { kind: \"Gadget\", plural: \"gadgets\" }, scope: \"Namespaced\"\n"                \
  "  versions: [{ name: \"v1\", served: true, storage: true, schema: { openAPIV3Schema: {\n"                           \
  "    type: \"object\", properties: { spec: { type: \"string\", pattern: \"" p "\" } } } } }] } }"

/* The CRD itself: a pattern the API server would refuse, where it is. */
static void bad_patterns_are_reported_at_the_crd(void **state) {
  static const row rows[] = {
      {BAD_PATTERN("([a-z]"),
       "invalid pattern \"([a-z]\": missing closing parenthesis at offset 6"},
      {BAD_PATTERN("(?=a)"),
       "invalid pattern \"(?=a)\": Go's regexp, which the API server uses, has no lookaround, atomic, conditional and "
       "recursive groups"},
      {BAD_PATTERN("(a)\\\\1"),
       "invalid pattern \"(a)\\1\": Go's regexp, which the API server uses, has no escape \\1"},
      {BAD_PATTERN("a{1001}"),
       "invalid pattern \"a{1001}\": Go's regexp, which the API server uses, has no repeat counts over 1000"},
      {BAD_PATTERN("a*+"), "invalid pattern \"a*+\": Go's regexp, which the API server uses, has no possessive repeats"},
      {BAD_PATTERN("^a\\\\Z"),
       "invalid pattern \"^a\\Z\": Go's regexp, which the API server uses, has no escape \\Z"},
      {BAD_PATTERN("[\\\\h]"),
       "invalid pattern \"[\\h]\": Go's regexp, which the API server uses, has no escape \\h"},
      /* what Go takes */
      {BAD_PATTERN("^(?P<a>x)(?<b>[]a-]{2,1000}?)\\\\p{Greek}[[:alpha:]]*?\\\\.\\\\x{41}\\\\101$"), NULL},
  };
  CHECK(rows);
}

/* The annotation is for the compiler: what is built has none, and keeps
 * the other annotations. */
static void the_escape_hatch_is_stripped(void **state) {
  static const char text[] =
      "env e {\n"
      "  ConfigMap \"a\" { metadata: { annotations: { \"plumb.dev/validate\": \"false\" } }, data: { n: 1 } }\n"
      "  ConfigMap \"b\" { metadata: { annotations: { \"plumb.dev/validate\": \"false\", k: \"v\" } } }\n"
      "}\n";
  compile_result *r = compile_source("t.plumb", text, sizeof text - 1, NULL);
  assert_int_equal(r->diags.errors, 0);
  assert_int_equal(r->nres, 2);
  assert_null(value_get_path(r->res[0].obj, "metadata.annotations"));
  assert_non_null(value_get_path(r->res[0].obj, "data.n"));
  const value *ann = value_get_path(r->res[1].obj, "metadata.annotations");
  assert_int_equal(ann->u.obj.len, 1);
  assert_string_equal(value_get_string(ann, "k"), "v");
  compile_free(r);
}

/* Errors point at the source of the value, not at the resource. */
static void errors_point_at_the_value(void **state) {
  static const char text[] = "env e {\n  ConfigMap \"c\" {\n    data: { n: 1 }\n  }\n}\n";
  compile_result *r = compile_source("t.plumb", text, sizeof text - 1, NULL);
  assert_int_equal(r->diags.errors, 1);
  assert_string_equal(r->diags.first->at.file, "t.plumb");
  assert_int_equal(r->diags.first->at.line, 3);
  assert_int_equal(r->diags.first->at.col, 16);
  compile_free(r);
}

/* A part written literally is one value in every resource made from it,
 * checked once: its mistake is reported once, not once per resource. */
static void shared_literal_parts_are_checked_once(void **state) {
  static const char text[] = "env e {\n  for i in range(3) {\n    ConfigMap \"c-${i}\" { data: { n: 1 } }\n  }\n}\n";
  compile_result *r = compile_source("t.plumb", text, sizeof text - 1, NULL);
  assert_int_equal(r->diags.errors, 1);
  assert_string_equal(r->diags.first->msg, "ConfigMap.data.n must be a string, got an int");
  compile_free(r);
}

/* The newest embedded version, unless a build names another. */
static void the_version_is_recorded(void **state) {
  arena *a = arena_new();
  diag_list d;
  diag_init(&d, a);
  eval *ev = eval_new(a, &d, NULL);
  assert_string_equal(schema_version(schema_build_new(ev, NULL)), "v1.36.3");
  assert_string_equal(schema_version(schema_build_new(ev, "v1.34.4")), "v1.34.4");
  eval_forget_syntax(ev);
  arena_free(a);
}

/* The three newest minor lines, the skew Kubernetes supports. */
static void three_versions_are_embedded(void **state) {
  size_t n;
  const char *const *all = compile_kube_versions(&n);
  assert_int_equal(n, 3);
  assert_string_equal(all[0], "v1.34.4");
  assert_string_equal(all[1], "v1.35.4");
  assert_string_equal(all[2], "v1.36.3");
  arena *a = arena_new();
  assert_string_equal(compile_kube_versions_text(a), "1.34, 1.35 or 1.36");
  arena_free(a);
}

/* As `helm template --kube-version` takes it: any patch of a minor line
 * names the line. */
static void a_version_is_named_by_its_minor_line(void **state) {
  static const struct {
    const char *text, *want;
    bool malformed;
  } cases[] = {
      {"1.35", "v1.35.4", false},
      {"v1.35", "v1.35.4", false},
      {"v1.35.2", "v1.35.4", false},
      {"1.34.0", "v1.34.4", false},
      {"1.33", NULL, false},
      {"v1.37.1", NULL, false},
      {"latest", NULL, true},
      {"1", NULL, true},
      {"v1.35.", NULL, true},
      {"1.35.x", NULL, true},
      {"", NULL, true},
      {"vv1.35", NULL, true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bool malformed = !cases[i].malformed;
    const char *got = compile_kube_version(cases[i].text, &malformed);
    if (cases[i].want) assert_string_equal(got, cases[i].want);
    else assert_null(got);
    assert_int_equal(malformed, cases[i].malformed);
  }
}

/* A cluster of a version not embedded is checked against the nearest. */
static void a_cluster_gets_the_nearest_version(void **state) {
  bool exact = false;
  /* What providers add after the patch names the same line. */
  assert_string_equal(compile_kube_version_nearest("v1.35.1", &exact), "v1.35.4");
  assert_true(exact);
  assert_string_equal(compile_kube_version_nearest("v1.36.3+k3s1", &exact), "v1.36.3");
  assert_true(exact);
  assert_string_equal(compile_kube_version_nearest("v1.35.0-gke.1200", &exact), "v1.35.4");
  assert_true(exact);
  /* Older than every embedded one: the oldest; newer: the newest. */
  assert_string_equal(compile_kube_version_nearest("v1.30.14", &exact), "v1.34.4");
  assert_false(exact);
  assert_string_equal(compile_kube_version_nearest("v1.37.0", &exact), "v1.36.3");
  assert_false(exact);
  assert_string_equal(compile_kube_version_nearest("v2.0.0", &exact), "v1.36.3");
  assert_null(compile_kube_version_nearest("v1.35.x", &exact));
  assert_null(compile_kube_version_nearest("unknown", &exact));
}

/* Fields that one version has and another has not, found by diffing the
 * embedded files: PodSpec.schedulingGroup is new in 1.36 (1.35 had the
 * alpha workloadRef in its place), a Toleration's operators Gt and Lt
 * came in 1.35. */
static void each_version_checks_its_own_fields(void **state) {
#define WITH(v, pod) "kube_version: \"" v "\"\n  " pod
#define GROUP "Pod \"p\" { spec: { containers: [{ name: \"c\", image: \"x\" }], schedulingGroup: {} } }"
#define REF "Pod \"p\" { spec: { containers: [{ name: \"c\", image: \"x\" }], workloadRef: {} } }"
#define GT "Pod \"p\" { spec: { containers: [{ name: \"c\", image: \"x\" }], tolerations: [{ operator: \"Gt\" }] } }"
  static const row rows[] = {
      {GROUP, NULL},
      {WITH("1.36", GROUP), NULL},
      {WITH("1.35", GROUP), "unknown field \"schedulingGroup\" in Pod.spec"},
      {WITH("1.35", REF), NULL},
      {REF, "unknown field \"workloadRef\" in Pod.spec"},
      {WITH("1.35", GT), NULL},
      {WITH("1.34", GT), "Pod.spec.tolerations[0].operator: \"Gt\" is not one of \"Equal\", \"Exists\""},
  };
  CHECK(rows);
#undef WITH
#undef GROUP
#undef REF
#undef GT
}

/* ---- the schemas a cluster serves ---- */

/* A cluster's document of example.com/v1: Widget, its spec by reference
 * (in an allOf, as the API server writes them), and Node, which holds
 * itself, as JSONSchemaProps does. */
static const char served_doc[] =
    "{\"components\": {\"schemas\": {"
    "\"com.example.v1.Widget\": {\"type\": \"object\", \"x-kubernetes-group-version-kind\": "
    "[{\"group\": \"example.com\", \"version\": \"v1\", \"kind\": \"Widget\"}], \"properties\": {"
    "\"apiVersion\": {\"type\": \"string\"}, \"kind\": {\"type\": \"string\"}, "
    "\"metadata\": {\"allOf\": [{\"$ref\": \"#/components/schemas/meta\"}]}, "
    "\"spec\": {\"allOf\": [{\"$ref\": \"#/components/schemas/com.example.v1.WidgetSpec\"}], \"default\": {}}}},"
    "\"com.example.v1.WidgetSpec\": {\"type\": \"object\", \"required\": [\"size\"], \"properties\": {"
    "\"size\": {\"type\": \"integer\"}, \"tree\": {\"$ref\": \"#/components/schemas/com.example.v1.Node\"}}},"
    "\"com.example.v1.Node\": {\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}, "
    "\"children\": {\"type\": \"array\", \"items\": {\"$ref\": \"#/components/schemas/com.example.v1.Node\"}}}},"
    "\"meta\": {\"type\": \"object\"}}}}";

/* The reader of a cluster that serves served_doc as example.com/v1, a
 * document that is no JSON as broken.example.com/v1, one too deep and one
 * too big, and nothing else; it counts what it is asked. */
static int read_doc(void *ctx, const char *api, arena *a, const char **text, size_t *len, const char **err) {
  static char deep[2 * 1001 + 1];
  ++*(int *)ctx;
  if (!deep[0]) memset(deep, '[', 1001), memset(deep + 1001, ']', 1001);
  if (strcmp(api, "broken.example.com/v1") == 0) *text = "{", *len = 1;
  else if (strcmp(api, "deep.example.com/v1") == 0) *text = deep, *len = strlen(deep);
  /* Refused by its size before it is read. */
  else if (strcmp(api, "big.example.com/v1") == 0) *text = served_doc, *len = COMPILE_MAX_FILE + 1;
  else if (strcmp(api, "example.com/v1") == 0) *text = served_doc, *len = sizeof served_doc - 1;
  else return -1;
  return 0;
}

/* The first error of checking the env against the served schemas, or
 * NULL; reads counts the documents read. */
static const char *served_error(const char *env, int *reads) {
  static char first[512];
  compile_result *r = compile_source("t.plumb", env, strlen(env), NULL);
  if (r->diags.errors) fail_msg("%s\ndoes not compile: %s", env, r->diags.first->msg);
  diag_list d;
  diag_init(&d, r->arena);
  *reads = 0;
  bool ok = compile_check_served(r, &d, &(compile_served){read_doc, reads});
  assert_int_equal(ok, d.first == NULL);
  if (d.first) snprintf(first, sizeof first, "%d:%d: %s", d.first->at.line, d.first->at.col, d.first->msg);
  compile_free(r);
  return ok ? NULL : first;
}

#define SERVED_WIDGET(spec) "  Widget \"w\" { apiVersion: \"example.com/v1\", spec: " spec " }\n"

static void custom_resources_follow_the_clusters_crds(void **state) {
  int reads;
  assert_null(served_error(
      "env e {\n" SERVED_WIDGET("{ size: 2, tree: { name: \"a\", children: [{ name: \"b\" }] } }") "}\n", &reads));
  assert_int_equal(reads, 1);
  /* A reference: its target's fields. One that holds itself, its own,
   * where it first stands; below, where it refers to itself, anything. */
  assert_string_equal(served_error("env e {\n" SERVED_WIDGET("{ size: 2, sise: 3 }") "}\n", &reads),
                      "2:69: unknown field \"sise\" in Widget.spec; did you mean \"size\"?");
  assert_string_equal(served_error("env e {\n" SERVED_WIDGET("{ size: 2, tree: { nme: \"b\" } }") "}\n", &reads),
                      "2:76: unknown field \"nme\" in Widget.spec.tree; did you mean \"name\"?");
  assert_null(served_error("env e {\n" SERVED_WIDGET("{ size: 2, tree: { children: [{ nme: 1 }] } }") "}\n", &reads));
  assert_string_equal(served_error("env e {\n" SERVED_WIDGET("{}") "}\n", &reads),
                      "2:52: missing required field \"size\" in Widget.spec");
  /* One document for every resource of its group-version, each checked. */
  assert_string_equal(served_error("env e {\n" SERVED_WIDGET("{ size: 1 }") "  Widget \"x\" { apiVersion: "
                                                                            "\"example.com/v1\", spec: {} }\n}\n",
                                   &reads),
                      "3:52: missing required field \"size\" in Widget.spec");
  assert_int_equal(reads, 1);
}

static void what_the_served_schemas_leave_alone(void **state) {
  int reads;
  /* Kinds the build checks itself: built-in ones, a CRD of the build's. */
  assert_null(served_error("env e {\n  ConfigMap \"c\" {}\n}\n", &reads));
  assert_int_equal(reads, 0);
  assert_null(served_error(
      "env e {\n"
      "  CustomResourceDefinition \"widgets.example.com\" { spec: { group: \"example.com\", scope: \"Namespaced\", "
      "names: { kind: \"Widget\", plural: \"widgets\" }, versions: [{ name: \"v1\", served: true, storage: true, "
      "schema: { openAPIV3Schema: { type: \"object\", \"x-kubernetes-preserve-unknown-fields\": true } } }] } }\n" SERVED_WIDGET(
          "{ sise: 3 }") "}\n",
      &reads));
  assert_int_equal(reads, 0);
  /* The escape hatch; a group-version the cluster does not serve. */
  assert_null(served_error("env e {\n  Widget \"w\" { apiVersion: \"example.com/v1\", metadata: { annotations: { "
                           "\"plumb.dev/validate\": \"false\" } }, spec: { sise: 3 } }\n}\n",
                           &reads));
  assert_int_equal(reads, 0);
  assert_null(
      served_error("env e {\n  Gadget \"g\" { apiVersion: \"other.example.com/v1\", spec: { x: 1 } }\n}\n", &reads));
  assert_int_equal(reads, 1);
  /* A document that cannot be read is an error of its own. */
  assert_string_equal(
      served_error("env e {\n  Gadget \"g\" { apiVersion: \"broken.example.com/v1\" }\n}\n", &reads),
      "0:0: cannot read the cluster's schemas of broken.example.com/v1: did not find expected node content (while "
      "parsing a flow node)");
  assert_string_equal(
      served_error("env e {\n  Gadget \"g\" { apiVersion: \"deep.example.com/v1\" }\n}\n", &reads),
      "0:0: cannot read the cluster's schemas of deep.example.com/v1: YAML nested deeper than 1000 levels");
  assert_string_equal(
      served_error("env e {\n  Gadget \"g\" { apiVersion: \"big.example.com/v1\" }\n}\n", &reads),
      "0:0: cannot read the cluster's schemas of big.example.com/v1: big.example.com/v1 is 16.1 MiB; files may be at "
      "most 16 MiB");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unknown_fields_are_named_with_a_hint),
      cmocka_unit_test(types_are_the_api_servers),
      cmocka_unit_test(int_or_string_takes_both),
      cmocka_unit_test(enums_list_their_values),
      cmocka_unit_test(required_fields_are_asked_for),
      cmocka_unit_test(quantities_follow_parse_quantity),
      cmocka_unit_test(formats_are_checked),
      cmocka_unit_test(list_maps_have_no_duplicate_keys),
      cmocka_unit_test(custom_and_unchecked_resources_pass),
      cmocka_unit_test(custom_resources_follow_the_crds_of_the_build),
      cmocka_unit_test(custom_resources_meet_their_value_validations),
      cmocka_unit_test(bad_patterns_are_reported_at_the_crd),
      cmocka_unit_test(odd_limits_are_safe),
      cmocka_unit_test(status_is_the_subresources),
      cmocka_unit_test(the_escape_hatch_is_stripped),
      cmocka_unit_test(errors_point_at_the_value),
      cmocka_unit_test(shared_literal_parts_are_checked_once),
      cmocka_unit_test(the_version_is_recorded),
      cmocka_unit_test(three_versions_are_embedded),
      cmocka_unit_test(a_version_is_named_by_its_minor_line),
      cmocka_unit_test(a_cluster_gets_the_nearest_version),
      cmocka_unit_test(each_version_checks_its_own_fields),
      cmocka_unit_test(custom_resources_follow_the_clusters_crds),
      cmocka_unit_test(what_the_served_schemas_leave_alone),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
