/* cluster.c: see cluster.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"

static struct {
  char *key, *value;
} envs[64];
static int nenv;
int runid;
kube_config *admin_cfg;

const char *env(const char *key) {
  for (int i = 0; i < nenv; i++)
    if (strcmp(envs[i].key, key) == 0) return envs[i].value;
  return NULL;
}

static int load_env(const char *dir, const char *prog) {
  char path[4096];
  snprintf(path, sizeof path, "%s/env", dir);
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "%s: cannot read %s: %s\n", prog, path, strerror(errno));
    return -1;
  }
  char line[4096];
  while (nenv < 64 && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = '\0';
    char *eq = strchr(line, '=');
    if (!eq || line[0] == '#') continue;
    *eq = '\0';
    envs[nenv].key = strdup(line);
    envs[nenv].value = strdup(eq + 1);
    nenv++;
  }
  fclose(f);
  static const char *const need[] = {"KUBECONFIG", "PLUMB_TEST_SERVER", "PLUMB_TEST_CA", "PLUMB_TEST_ADMIN_TOKEN_FILE"};
  for (size_t i = 0; i < sizeof need / sizeof *need; i++)
    if (!env(need[i])) {
      fprintf(stderr, "%s: %s has no %s\n", prog, path, need[i]);
      return -1;
    }
  return 0;
}

int cluster_open(const char *dir, const char *prog) {
  if (load_env(dir, prog) != 0) return -1;
  char *err = NULL;
  if (kube_config_load(&admin_cfg, env("KUBECONFIG"), "admin", &err) != KUBE_OK) {
    fprintf(stderr, "%s: context admin: %s\n", prog, err ? err : "?");
    free(err);
    return -1;
  }
  runid = (int)getpid();
  alarm(600);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return 0;
}

void cluster_close(void) {
  kube_config_free(admin_cfg);
  for (int i = 0; i < nenv; i++) free(envs[i].key), free(envs[i].value);
  nenv = 0;
  curl_global_cleanup();
}

double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

json_t *jsonf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *text;
  if (vasprintf(&text, fmt, ap) < 0) abort();
  va_end(ap);
  for (char *p = text; *p; p++)
    if (*p == '\'') *p = '"';
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  if (!j) fail_msg("bad JSON in the test: %s: %s", e.text, text);
  free(text);
  return j;
}

json_t *at(json_t *o, const char *path) {
  char key[128];
  while (o && *path) {
    size_t n = strcspn(path, ".");
    snprintf(key, sizeof key, "%.*s", (int)n, path);
    o = json_object_get(o, key);
    path += n + (path[n] == '.');
  }
  return o;
}

const char *str(json_t *o, const char *path) { return json_string_value(at(o, path)); }

json_t *configmap(const char *ns, const char *name, const char *key, const char *value) {
  return jsonf("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'%s','namespace':'%s'},'data':{'%s':'%s'}}",
               name, ns, key, value);
}

int apply(kube_client *c, json_t *obj, const kube_apply_opts *o, json_t **out) {
  int rc = kube_apply(c, obj, o, out);
  json_decref(obj);
  return rc;
}

kube_client *client(kube_config *cfg, const kube_client_opts *o) {
  kube_client *c = NULL;
  char *err = NULL;
  if (kube_client_new(&c, cfg, o, &err) != KUBE_OK) fail_msg("kube_client_new: %s", err ? err : "?");
  return c;
}

int with_namespace(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  snprintf(f->ns, sizeof f->ns, "%s-%d", (const char *)*state, runid);
  f->c = client(admin_cfg, NULL);
  assert_kube_ok(f->c, apply(f->c, jsonf("{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'%s'}}", f->ns),
                             NULL, NULL));
  *state = f;
  return 0;
}

int without_namespace(void **state) {
  fixture *f = *state;
  int rc = kube_delete(f->c, "v1", "Namespace", NULL, f->ns, NULL);
  if (rc != KUBE_OK && rc != KUBE_ENOTFOUND) fprintf(stderr, "deleting namespace %s: %s\n", f->ns, kube_last_error(f->c));
  kube_client_free(f->c);
  free(f);
  return 0;
}
