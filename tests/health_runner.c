/* health_runner.c: Argo CD's own health scripts, with their own expected
 * results, run by Plumb's Lua (runtime/health/lua.c).
 *
 *   health_runner DIR            every case of DIR/GROUP/KIND/health_test.yaml
 *   health_runner --bench DIR    the same cases, over and over for about 2 s:
 *                                runs a second
 *
 * DIR holds Argo CD's resource_customizations (tests/run.sh gives it
 * $PLUMB_SHARED/argocd-health). Each health_test.yaml lists cases: an
 * inputPath (a YAML object beside it) and the healthStatus (status and
 * message) Argo CD's util/lua test expects. Both must be equal here, the
 * message byte for byte. As there, every script is installed under its
 * directory's group and kind ("_" a wildcard: _.crossplane.io/_ is group
 * *.crossplane.io, kind *), a case runs the script its object's group and
 * kind select (health_lua_assess, as the runtime selects it), and the test
 * file is read as sigs.k8s.io/yaml reads it: field names in any case
 * (inputpath is inputPath), a key written twice taking its last value.
 * Without DIR, the cases are skipped and said so, not passed. Ends with
 * "argocd-health: N passed, N failed". */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "plumb/compile.h"
#include "plumb/emit.h"
#include "plumb/health.h"
#include "plumb/yaml.h"

static int passed, failed;

typedef struct {
  char *name; /* GROUP/KIND/testdata/x.yaml, as Argo CD's test names it */
  json_t *obj;
  char *status, *message;
} test_case;

static test_case *cases;
static size_t ncases;
static health_lua_rule *rules;
static size_t nrules;

/* Cases Argo CD's test passes with a script the shared copy lacks: each is
 * said, with the reason, on every run, and counted neither way. */
static const struct {
  const char *name, *why;
} absent[] = {
    {"_.crossplane.io/_/testdata/provider_degraded.yaml",
     "Argo CD runs pkg.crossplane.io/Provider/health.lua on this Provider, a script the shared copy does not hold "
     "(the wildcard script it falls back to says Progressing)"},
};

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  buf b = {0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_put(&b, chunk, n);
  fclose(f);
  buf_putc(&b, '\0');
  *len = b.len - 1;
  return b.data;
}

static void fail(const char *name, const char *fmt, const char *detail) {
  failed++;
  printf("FAIL %s: ", name);
  printf(fmt, detail);
  printf("\n");
}

/* The first document of a YAML file, as a value in a; NULL after saying
 * why. */
static value *read_yaml(arena *a, const char *path, const char *name) {
  size_t len;
  char *text = slurp(path, &len);
  if (!text) {
    fail(name, "cannot read %s", path);
    return NULL;
  }
  diag_list d;
  diag_init(&d, a);
  value *docs;
  int rc = yaml_read_loose(a, &d, path, text, len, &docs);
  free(text);
  if (rc != 0 || docs->u.list.len == 0) {
    fail(name, "%s is no YAML document", path);
    return NULL;
  }
  return docs->u.list.items[0];
}

/* A field of obj by name, as encoding/json finds a struct's: the exact
 * name, else one equal but for case. */
static const value *field_named(const value *obj, const char *name) {
  if (!obj || obj->kind != V_OBJECT) return NULL;
  const value *v = value_object_get(obj, name);
  for (size_t i = 0; !v && i < obj->u.obj.len; i++)
    if (strcasecmp(obj->u.obj.fields[i].key, name) == 0) v = obj->u.obj.fields[i].val;
  return v;
}

static const char *string_named(const value *obj, const char *name) {
  const value *v = field_named(obj, name);
  return v && v->kind == V_STRING ? v->u.str.s : NULL;
}

static json_t *to_json(const value *v) {
  buf b = {0};
  emit_json(&b, v, false, false);
  json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
  buf_free(&b);
  return j;
}

/* The script and the cases of one GROUP/KIND directory. */
static void load_kind(const char *dir, const char *group, const char *kind) {
  char path[16384];
  size_t len;
  char *key = heap_printf("%s/%s", group, kind);
  snprintf(path, sizeof path, "%s/health.lua", dir);
  char *text = slurp(path, &len);
  if (!text) { /* a directory of actions only */
    free(key);
    return;
  }
  health_lua *script;
  char *err;
  int rc = health_lua_new(key, text, len, &script, &err);
  free(text);
  if (rc != 0) {
    fail(key, "health.lua does not compile: %s", err);
    free(err);
    free(key);
    return;
  }
  char *g = heap_strdup(group), *k = heap_strdup(kind);
  for (char *p = g; *p; p++)
    if (*p == '_') *p = '*';
  for (char *p = k; *p; p++)
    if (*p == '_') *p = '*';
  rules = heap_realloc(rules, (nrules + 1) * sizeof *rules);
  rules[nrules++] = (health_lua_rule){g, k, script};
  arena *a = arena_new();
  snprintf(path, sizeof path, "%s/health_test.yaml", dir);
  value *tests = read_yaml(a, path, key);
  const value *list = field_named(tests, "tests");
  if (tests && (!list || list->kind != V_LIST)) fail(key, "%s", "health_test.yaml lists no tests");
  for (size_t i = 0; list && list->kind == V_LIST && i < list->u.list.len; i++) {
    const value *t = list->u.list.items[i], *hs = field_named(t, "healthStatus");
    const char *input = string_named(t, "inputPath"), *status = string_named(hs, "status");
    const char *message = string_named(hs, "message");
    char *name = heap_printf("%s/%s", key, input ? input : "?");
    snprintf(path, sizeof path, "%s/%s", dir, input ? input : "");
    value *obj = input && status ? read_yaml(a, path, name) : NULL;
    if (!input || !status) fail(name, "%s", "a test without inputPath or healthStatus.status");
    if (!obj) {
      free(name);
      continue;
    }
    cases = heap_realloc(cases, (ncases + 1) * sizeof *cases);
    cases[ncases++] = (test_case){name, to_json(obj), heap_strdup(status), heap_strdup(message ? message : "")};
  }
  arena_free(a);
  free(key);
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

static int visible_dir(const struct dirent *e) { return e->d_name[0] != '.'; }

/* DIR/GROUP/KIND, in order. A directory "_" stands for "*" in Argo CD's
 * keys (_.crossplane.io/_): the key names the script as Argo CD would. */
static void load_all(const char *root) {
  struct dirent **groups;
  int ng = scandir(root, &groups, visible_dir, by_name);
  for (int g = 0; g < ng; g++) {
    char gdir[4096];
    snprintf(gdir, sizeof gdir, "%s/%s", root, groups[g]->d_name);
    struct dirent **kinds;
    int nk = scandir(gdir, &kinds, visible_dir, by_name);
    for (int k = 0; k < nk; k++) {
      char kdir[8192];
      snprintf(kdir, sizeof kdir, "%s/%s", gdir, kinds[k]->d_name);
      struct stat st;
      if (stat(kdir, &st) == 0 && S_ISDIR(st.st_mode)) load_kind(kdir, groups[g]->d_name, kinds[k]->d_name);
      free(kinds[k]);
    }
    free(kinds);
    free(groups[g]);
  }
  free(groups);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  bool bench = argc > 1 && strcmp(argv[1], "--bench") == 0;
  const char *root = argc > 1 + bench ? argv[1 + bench] : NULL;
  struct stat st;
  if (!root || stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
    printf("argocd-health: the shared scripts are skipped, not passed: no %s (set PLUMB_SHARED to the directory "
           "holding argocd-health/)\n",
           root ? root : "directory given");
    printf("argocd-health: 0 passed, 0 failed\n");
    return 0;
  }
  load_all(root);
  size_t scripts = nrules;
  health_lua_install(rules, nrules);
  for (size_t i = 0; i < nrules; i++) {
    free((char *)rules[i].group);
    free((char *)rules[i].kind);
  }
  free(rules);
  if (bench) {
    long runs = 0;
    double start = now(), took;
    health_status h;
    do {
      for (size_t i = 0; i < ncases; i++) health_lua_assess(cases[i].obj, &h);
      runs += (long)ncases;
    } while ((took = now() - start) < 2);
    printf("argocd-health: %zu cases, %ld runs in %.2f s: %.0f runs a second, %.1f us a run\n", ncases, runs, took,
           runs / took, took / runs * 1e6);
  }
  size_t skipped = 0;
  for (size_t i = 0; i < ncases; i++) {
    const char *why = NULL;
    for (size_t k = 0; k < sizeof absent / sizeof *absent; k++)
      if (strcmp(absent[k].name, cases[i].name) == 0) why = absent[k].why;
    health_status h;
    if (why) {
      printf("argocd-health: not run: %s: %s\n", cases[i].name, why);
      skipped++;
    } else if (!health_lua_assess(cases[i].obj, &h)) {
      failed++;
      printf("FAIL %s: no script covers its group and kind\n", cases[i].name);
    } else if (strcmp(health_name(h.code), cases[i].status) == 0 && strcmp(h.message, cases[i].message) == 0) {
      passed++;
    } else {
      failed++;
      printf("FAIL %s:\n  want: %s \"%s\"\n  got:  %s \"%s\"\n", cases[i].name, cases[i].status, cases[i].message,
             health_name(h.code), h.message);
    }
    free(cases[i].name);
    json_decref(cases[i].obj);
    free(cases[i].status);
    free(cases[i].message);
  }
  free(cases);
  health_lua_install(NULL, 0);
  printf("argocd-health: %zu scripts, %zu cases, %zu not run\n", scripts, ncases, skipped);
  printf("argocd-health: %d passed, %d failed\n", passed, failed);
  return failed != 0;
}
