/* test_objects.c: the functions the API's "New application" form calls
 * (include/plumb/run.h: run_object_create, _update, _delete) against a
 * real control plane, with the CRDs deploy/ installs, from threads of
 * their own as the HTTP server's would call them.
 *
 * Usage: kube_objects CLUSTER_DIR (tests/kube/cluster.h), from the
 * repository's root (deploy/ is compiled for its CRDs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "kube/convert.h"
#include "plumb/compile.h"
#include "plumb/run.h"

static const char spec[] = "{\"source\": {\"repo\": \"https://git.example.com/shop.git\", \"path\": \"envs/prod\"},"
                           " \"sync\": {\"automated\": true}}";

/* The CRDs of deploy/plumb-system, applied as the admin. */
static int install_crds(void **state) {
  compile_result *r = compile_build(&(compile_opts){.path = "deploy/plumb-system"});
  kube_client *c = client(admin_cfg, NULL);
  int rc = r->diags.errors ? -1 : 0;
  for (size_t i = 0; rc == 0 && i < r->nres; i++) {
    const value *kind = value_object_get(r->res[i].obj, "kind");
    if (strcmp(kind->u.str.s, "CustomResourceDefinition") == 0)
      rc = apply(c, kube_json_from_value(r->res[i].obj), &(kube_apply_opts){.force = true}, NULL);
  }
  if (rc)
    fprintf(stderr, "cannot install deploy/'s CRDs: %s\n",
            r->diags.errors ? "deploy/ does not compile" : kube_last_error(c));
  /* Served a moment after they are made. */
  for (double until = now() + 30; rc == 0 && now() < until; sleep_ms(200)) {
    json_t *items = NULL;
    char *rv = NULL;
    int listed = kube_list(c, "plumb.dev/v1", "Application", "default", NULL, &items, &rv);
    json_decref(items);
    free(rv);
    if (listed == KUBE_OK) break;
    kube_discovery_reset(c);
  }
  kube_client_free(c);
  compile_free(r);
  return rc;
}

static json_t *get_app(const fixture *f, const char *name) {
  json_t *got = NULL;
  if (kube_get(f->c, "plumb.dev/v1", "Application", f->ns, name, &got) != KUBE_OK) return NULL;
  return got;
}

static void an_application_is_created_updated_and_deleted(void **state) {
  fixture *f = *state;
  char *err;
  assert_int_equal(run_object_create(admin_cfg, f->ns, "shop", spec, &err), 0);
  assert_null(err);
  json_t *got = get_app(f, "shop");
  assert_non_null(got);
  assert_string_equal(str(got, "spec.source.path"), "envs/prod");
  assert_string_equal(str(got, "spec.source.revision"), "HEAD"); /* the CRD's default, std/gitops's */
  assert_string_equal(str(got, "spec.sync.interval"), "3m");
  json_decref(got);

  assert_int_equal(run_object_create(admin_cfg, f->ns, "shop", spec, &err), KUBE_ECONFLICT);
  assert_contains(err, "an Application object shop exists");
  free(err);

  assert_int_equal(run_object_update(admin_cfg, f->ns, "shop",
                                     "{\"source\": {\"repo\": \"https://git.example.com/shop.git\", \"revision\": "
                                     "\"v2\"}}",
                                     &err),
                   0);
  got = get_app(f, "shop");
  assert_string_equal(str(got, "spec.source.revision"), "v2");
  assert_string_equal(str(got, "spec.source.path"), "."); /* replaced, not merged */
  json_decref(got);

  assert_int_equal(run_object_delete(admin_cfg, f->ns, "shop", &err), 0);
  assert_null(err);
  assert_null(get_app(f, "shop"));
  assert_int_equal(run_object_delete(admin_cfg, f->ns, "shop", &err), KUBE_ENOTFOUND);
  assert_contains(err, "there is no Application object shop");
  free(err);
  assert_int_equal(run_object_update(admin_cfg, f->ns, "shop", spec, &err), KUBE_ENOTFOUND);
  free(err);
}

/* The reader's checks and words, naming the field, before anything is
 * sent; then the API server's schema. */
static void a_spec_is_checked_as_the_runtime_reads_it(void **state) {
  fixture *f = *state;
  char *err;
  static const struct {
    const char *spec, *want;
  } bad[] = {
      {"{\"source\": {\"repo\": \"r\", \"path\": \"../etc\"}}",
       "application web: source.path must stay inside the repository"},
      {"{\"source\": {\"repo\": \"r\"}, \"sync\": {\"interval\": \"soon\"}}",
       "application web: sync.interval \"soon\" is not a duration like 30s, 3m or 1h"},
      {"{\"source\": {\"repo\": \"r\", \"credentials\": {\"password\": \"x\"}}}",
       "application web: unknown credential \"password\""},
      {"{\"source\": {\"repo\": \"r\", \"args\": {\"tags\": [1]}}}", "application web: args.tags must be a string"},
      {"{\"source\": {\"repo\": 3}}", "application web: source.repo must be a string"},
      {"{\"sync\": {}}", "application web: source.repo is missing"},
      {"[1]", "application web: the spec must be an object"},
      {"{", "application web: the spec is not JSON"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(run_object_create(admin_cfg, f->ns, "web", bad[i].spec, &err), RUN_EINVALID);
    assert_contains(err, bad[i].want);
    free(err);
  }
  assert_int_equal(run_object_create(admin_cfg, f->ns, "Web/x", spec, &err), RUN_EINVALID);
  assert_contains(err, "\"Web/x\" is not a name Kubernetes takes");
  free(err);
  assert_null(get_app(f, "web"));
  /* What the reader leaves to the schema: fields it does not know. */
  assert_int_equal(
      run_object_create(admin_cfg, f->ns, "web", "{\"source\": {\"repo\": \"r\"}, \"destinaton\": {}}", &err),
      KUBE_ERROR);
  assert_contains(err, "destinaton");
  free(err);
}

/* A mirror is the config's: neither changed nor deleted through these. */
static void a_mirror_is_left_to_git(void **state) {
  fixture *f = *state;
  char *err;
  json_t *mirror = jsonf("{'apiVersion': 'plumb.dev/v1', 'kind': 'Application', 'metadata': {'name': 'cfg', "
                         "'namespace': '%s', 'labels': {'plumb.dev/source': 'config'}, 'annotations': "
                         "{'plumb.dev/declared-by': 'the config repository'}}, 'spec': {'source': {'repo': 'r'}}}",
                         f->ns);
  assert_kube_ok(f->c, apply(f->c, mirror, NULL, NULL));
  assert_int_equal(run_object_update(admin_cfg, f->ns, "cfg", spec, &err), KUBE_ECONFLICT);
  assert_string_equal(err, "application cfg is declared by the config repository; change it there");
  free(err);
  assert_int_equal(run_object_delete(admin_cfg, f->ns, "cfg", &err), KUBE_ECONFLICT);
  free(err);
  json_t *still = get_app(f, "cfg");
  assert_non_null(still);
  json_decref(still);
}

typedef struct {
  const char *ns;
  int n, rc;
} creator;

static void *create_many(void *arg) {
  creator *k = arg;
  for (int i = 0; i < 5; i++) {
    char name[32], *err;
    snprintf(name, sizeof name, "t%d-%d", k->n, i);
    int rc = run_object_create(admin_cfg, k->ns, name, spec, &err);
    free(err);
    if (rc) k->rc = rc;
  }
  return NULL;
}

/* The HTTP server calls them from its threads at once. */
static void threads_call_them_at_once(void **state) {
  fixture *f = *state;
  pthread_t t[4];
  creator k[4];
  for (int i = 0; i < 4; i++) {
    k[i] = (creator){f->ns, i, 0};
    pthread_create(&t[i], NULL, create_many, &k[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(k[i].rc, 0);
  }
  json_t *items = NULL;
  char *rv = NULL;
  assert_kube_ok(f->c, kube_list(f->c, "plumb.dev/v1", "Application", f->ns, NULL, &items, &rv));
  assert_int_equal(json_array_size(items), 20);
  json_decref(items);
  free(rv);
}

int main(int argc, char **argv) {
  if (argc < 2 || cluster_open(argv[1], argv[0]) != 0) return 2;
  const struct CMUnitTest tests[] = {
      NS(an_application_is_created_updated_and_deleted, "objects-crud"),
      NS(a_spec_is_checked_as_the_runtime_reads_it, "objects-check"),
      NS(a_mirror_is_left_to_git, "objects-mirror"),
      NS(threads_call_them_at_once, "objects-threads"),
  };
  int rc = cmocka_run_group_tests_name("objects", tests, install_crds, NULL);
  cluster_close();
  return rc;
}
