/* chart.c: charts of repositories, pulled into the cache by helm.
 *
 * A build reads the archive plumb.lock pins from the cache (compile.h,
 * compile_charts_cached); this fills it. helm pull does the fetching, as
 * Argo CD's repository server has it do, so that a chart repository's
 * index.yaml, semver ranges, OCI registries and their token dance behave
 * as helm users know. It runs under limits in a scratch directory of its
 * own (tool.h), and credentials reach it in files there, never on its
 * command line: a repository's in helm's repositories.yaml, a registry's
 * in a registry config, its CA as a file. The archive is checked against
 * the digest pinned before it is kept, under that digest, whole. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "plumb/compile.h"
#include "plumb/tool.h"
#include "plumb/yaml.h"

#include "internal.h"

enum {
  PULL_SECONDS = 120,      /* of wall clock per helm run; CPU time the same */
  PULL_MAX_OUTPUT = 1 << 20,
  PULL_MAX_ERRORS = 16 << 10,
};
#define PULL_MEMORY ((size_t)1 << 30)

/* The SHA-256 of len bytes at data, as plumb.lock writes it, in a. */
static const char *digest_of(arena *a, const char *data, size_t len) {
  unsigned char sum[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(data, len, sum, &n, EVP_sha256(), NULL);
  char *s = arena_alloc(a, 7 + 2 * n + 1);
  memcpy(s, "sha256:", 7);
  for (unsigned i = 0; i < n; i++) snprintf(s + 7 + 2 * i, 3, "%02x", sum[i]);
  return s;
}

/* The credentials whose url is the longest prefix of repo's, or NULL. */
static const source_chart_creds *creds_for(const source_charts *o, const char *repo) {
  const source_chart_creds *best = NULL;
  for (size_t i = 0; i < o->ncreds; i++) {
    size_t n = strlen(o->creds[i].url);
    while (n && o->creds[i].url[n - 1] == '/') n--;
    bool prefix = strncmp(repo, o->creds[i].url, n) == 0 && (!repo[n] || repo[n] == '/');
    if (prefix && (!best || n > strlen(best->url))) best = &o->creds[i];
  }
  return best;
}

/* ---- helm's files and runs --------------------------------------------------------------- */

typedef struct {
  const source_charts *o;
  arena *a;
  compile_chart *c;
  const source_chart_creds *creds;
  const char *scratch, *helm;
  char **env;
  const char **err;
} pull;

static bool write_file(pull *p, const char *rel, const char *text) {
  return tool_scratch_write(p->a, p->scratch, rel, text, strlen(text), p->err) == 0;
}

/* A JSON string, which YAML reads as it is. */
static const char *quoted(arena *a, const char *s) {
  json_t *j = json_string_nocheck(s);
  char *text = json_dumps(j, JSON_ENCODE_ANY);
  if (!text) abort();
  const char *q = arena_strdup(a, text);
  explicit_bzero(text, strlen(text)); /* a password, maybe */
  free(text);
  json_decref(j);
  return q;
}

/* The files that carry the credentials: the registry's host in a
 * registry config, or the repository as the one of repositories.yaml
 * (only with a login: helm reads a repository it lists from the index
 * that helm repo update keeps, which a pull by --repo does not make). */
static bool write_config(pull *p, bool oci) {
  const source_chart_creds *k = p->creds;
  arena *a = p->a;
  if (k && k->ca && !write_file(p, "ca.crt", k->ca)) return false;
  if (!k || !k->username) return true;
  if (oci) {
    const char *host = p->c->repo + 6;
    char *pair = heap_printf("%s:%s", k->username, k->password ? k->password : "");
    char *auth = kube_base64_encode(pair, strlen(pair));
    bool ok = write_file(p, "registry.json",
                         arena_printf(a, "{\"auths\":{%s:{\"auth\":\"%s\"}}}",
                                      quoted(a, arena_strndup(a, host, strcspn(host, "/"))), auth));
    explicit_bzero(pair, strlen(pair)), explicit_bzero(auth, strlen(auth));
    free(pair), free(auth);
    return ok;
  }
  buf y = {0};
  buf_printf(&y, "apiVersion: \"\"\nrepositories:\n- name: plumb\n  url: %s\n", quoted(a, p->c->repo));
  buf_printf(&y, "  username: %s\n", quoted(a, k->username));
  if (k->password) buf_printf(&y, "  password: %s\n", quoted(a, k->password));
  if (k->ca) buf_printf(&y, "  caFile: %s\n", quoted(a, arena_printf(a, "%s/ca.crt", p->scratch)));
  bool ok = write_file(p, "repositories.yaml", y.data);
  explicit_bzero(y.data, y.len);
  buf_free(&y);
  return ok;
}

/* helm's environment: nothing of the machine's but for plumb fetch,
 * which leaves a user's own (their registry logins); the repositories it
 * reads are always the scratch directory's. */
static char **environment(pull *p) {
  arena *a = p->a;
  const char *s = p->scratch;
  size_t n = 0;
  while (p->o->env && p->o->env[n]) n++;
  char **env = arena_alloc(a, (n + 12) * sizeof *env);
  size_t i = 0;
  for (size_t j = 0; j < n; j++)
    if (strncmp(p->o->env[j], "HELM_REPOSITORY_", 16) != 0) env[i++] = p->o->env[j];
  env[i++] = arena_printf(a, "HELM_REPOSITORY_CONFIG=%s/repositories.yaml", s);
  env[i++] = arena_printf(a, "HELM_REPOSITORY_CACHE=%s/repository", s);
  if (!p->o->env) {
    env[i++] = arena_printf(a, "HOME=%s", s);
    env[i++] = arena_printf(a, "HELM_CACHE_HOME=%s/cache", s);
    env[i++] = arena_printf(a, "HELM_CONFIG_HOME=%s/config", s);
    env[i++] = arena_printf(a, "HELM_DATA_HOME=%s/data", s);
    env[i++] = arena_printf(a, "HELM_REGISTRY_CONFIG=%s/registry.json", s);
    env[i++] = arena_printf(a, "TMPDIR=%s", s);
    env[i++] = "LANG=C";
  }
  env[i] = NULL;
  return env;
}

/* Runs helm with the arguments after it (NULL-terminated); false with
 * *err saying why it failed. */
static bool run(pull *p, const char *what, char **argv) {
  tool_limits limits = {PULL_SECONDS, PULL_SECONDS, PULL_MEMORY, PULL_MAX_OUTPUT, PULL_MAX_ERRORS};
  tool_result r;
  tool_run(p->helm, argv, p->env, p->scratch, &limits, 1, &r);
  bool ok = r.end == TOOL_EXITED && r.status == 0;
  const char *chart = arena_printf(p->a, "chart %s%s%s of %s", p->c->chart, p->c->pinned ? " " : "",
                                   p->c->pinned ? p->c->pinned : "", p->c->repo);
  if (r.end == TOOL_TIMED_OUT)
    *p->err = arena_printf(p->a, "cannot %s %s: helm did not finish within %d seconds", what, chart, PULL_SECONDS);
  else if (r.end == TOOL_NOT_RUN) *p->err = arena_printf(p->a, "cannot run helm: %s", strerror(r.status));
  else if (!ok) {
    /* helm repo update says why a repository failed on its standard
     * output, and only that it did on its standard error. */
    const char *out = r.out.len ? tool_said(p->a, &r.out) : NULL;
    *p->err = arena_printf(p->a, "cannot %s %s: %s%s%s", what, chart, tool_said(p->a, &r.err), out ? ": " : "",
                           out ? out : "");
  }
  buf_free(&r.out), buf_free(&r.err);
  return ok;
}

static char **args(arena *a, const char *const *items, size_t n) {
  char **v = arena_alloc(a, (n + 1) * sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = (char *)items[i];
  v[n] = NULL;
  return v;
}

/* helm pull of the chart into out/: the version pinned, else the newest
 * the range allows. A repository with a login is read as the one of the
 * scratch repositories.yaml, whose index helm repo update fetches first;
 * one without, in one run, from --repo. Each value as --flag=VALUE, so
 * none is read as a flag. */
static bool pull_chart(pull *p, bool oci) {
  arena *a = p->a;
  const char *version = p->c->pinned ? p->c->pinned : p->c->version;
  bool login = !oci && p->creds && p->creds->username;
  const char *v[10];
  size_t n = 0;
  v[n++] = p->helm, v[n++] = "pull";
  v[n++] = oci ? p->c->repo : login ? arena_printf(a, "plumb/%s", p->c->chart) : p->c->chart;
  if (!oci && !login) v[n++] = arena_printf(a, "--repo=%s", p->c->repo);
  v[n++] = arena_printf(a, "--destination=%s/out", p->scratch);
  if (*version) v[n++] = arena_printf(a, "--version=%s", version);
  if (p->creds && p->creds->ca) v[n++] = arena_printf(a, "--ca-file=%s/ca.crt", p->scratch);
  if (login) {
    const char *update[] = {p->helm, "repo", "update", "plumb"};
    if (!run(p, "read the index of", args(a, update, 4))) return false;
  }
  return mkdir(arena_printf(a, "%s/out", p->scratch), 0700) == 0 ? run(p, "pull", args(a, v, n))
                                                                : (*p->err = strerror(errno), false);
}

/* The one archive helm pull wrote, into *data; its version from its name,
 * CHART-VERSION.tgz, when none was pinned. */
static bool read_pulled(pull *p, const char **data, size_t *len) {
  const char *out = arena_printf(p->a, "%s/out", p->scratch), *name = NULL;
  DIR *d = opendir(out);
  for (struct dirent *e; d && (e = readdir(d));)
    if (e->d_name[0] != '.') name = name ? "" : arena_strdup(p->a, e->d_name);
  if (d) closedir(d);
  size_t cn = strlen(p->c->chart), nn = name ? strlen(name) : 0;
  if (!name || nn < cn + 6 || strncmp(name, p->c->chart, cn) || name[cn] != '-' || strcmp(name + nn - 4, ".tgz")) {
    *p->err = arena_printf(p->a, "helm pull of chart %s of %s wrote no archive of it", p->c->chart, p->c->repo);
    return false;
  }
  const char *path = arena_printf(p->a, "%s/%s", out, name);
  struct stat st;
  FILE *f = stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= COMPILE_MAX_CHART ? fopen(path, "rb") : NULL;
  char *text = f ? arena_alloc(p->a, (size_t)st.st_size + 1) : NULL;
  bool ok = f && fread(text, 1, (size_t)st.st_size, f) == (size_t)st.st_size;
  if (f) fclose(f);
  if (!ok) {
    *p->err = arena_printf(p->a, "the archive of chart %s of %s %s", p->c->chart, p->c->repo,
                           f || st.st_size <= COMPILE_MAX_CHART ? "cannot be read" : "holds more than 100 MiB");
    return false;
  }
  *data = text, *len = (size_t)st.st_size;
  if (!p->c->pinned) p->c->pinned = arena_strndup(p->a, name + cn + 1, nn - cn - 5);
  return true;
}

/* Keeps the archive under its digest: written aside, then renamed. */
static bool keep(pull *p, const char *data, size_t len) {
  const char *file = compile_chart_file(p->a, p->o->cache, p->c->digest);
  const char *dir = arena_printf(p->a, "%s/charts", p->o->cache);
  const char *tmp = arena_printf(p->a, "%s.%ld.tmp", file, (long)getpid());
  FILE *f = source_make_dirs(dir) == 0 ? fopen(tmp, "wb") : NULL;
  bool ok = f && fwrite(data, 1, len, f) == len;
  ok = f && fclose(f) == 0 && ok && rename(tmp, file) == 0;
  if (!ok) *p->err = arena_printf(p->a, "cannot keep chart %s in the cache %s: %s", p->c->chart, dir, strerror(errno));
  unlink(tmp);
  return ok;
}

static bool fetch(pull *p, const char **data, size_t *len) {
  bool oci = strncmp(p->c->repo, "oci://", 6) == 0;
  if (!write_config(p, oci) || !pull_chart(p, oci) || !read_pulled(p, data, len)) return false;
  const char *sum = digest_of(p->a, *data, *len);
  if (p->c->digest && strcmp(sum, p->c->digest) != 0) {
    *p->err = arena_printf(p->a,
                           "the archive of chart %s %s of %s has digest %s, but %s pins %s: it is not the archive "
                           "that was pinned (pushed again, or tampered with); if it is to be trusted, pin it anew "
                           "with plumb fetch --update",
                           p->c->chart, p->c->pinned, p->c->repo, sum, p->c->lock, p->c->digest);
    return false;
  }
  p->c->digest = sum;
  return keep(p, *data, *len);
}

/* The archive the cache already holds for c's digest, when it is whole. */
static bool cached(arena *a, const source_charts *o, compile_chart *c, const char **data, size_t *len) {
  const char *err;
  return c->digest && compile_charts_cached((void *)o->cache, a, c, data, len, &err) == 0 &&
         strcmp(digest_of(a, *data, *len), c->digest) == 0;
}

int source_chart_get(void *charts, arena *a, compile_chart *c, const char **data, size_t *len, const char **err) {
  const source_charts *o = charts;
  if (cached(a, o, c, data, len)) return 0;
  pull p = {o, a, c, creds_for(o, c->repo), NULL, NULL, NULL, err};
  if (!(p.helm = o->path ? tool_find(a, o->path, "helm") : NULL)) {
    *err = "plumb fetches charts with helm, which is not on the PATH: install helm v4 "
           "(https://helm.sh/docs/intro/install/)";
    return -1;
  }
  if (!(p.scratch = tool_scratch_new(a, o->tmp, err))) return -1;
  p.env = environment(&p);
  bool ok = fetch(&p, data, len);
  tool_scratch_remove(p.scratch);
  if (ok && o->pinned) o->pinned(o->ctx, c);
  return ok ? 0 : -1;
}

/* ---- a user's own repositories ----------------------------------------------------------- */

/* The text of a file of at most COMPILE_MAX_FILE bytes, in a; NULL when
 * it cannot be read. */
static const char *file_text(arena *a, const char *path, size_t *len) {
  char *text = kube_read_file(path, COMPILE_MAX_FILE, len);
  const char *kept = text ? arena_strndup(a, text, *len) : NULL;
  free(text);
  return kept;
}

int source_chart_creds_from_helm(arena *a, const char *path, source_chart_creds **out, size_t *n, const char **err) {
  size_t len;
  const char *text = file_text(a, path, &len);
  *out = NULL, *n = 0;
  if (!text) return 0;
  diag_list d;
  diag_init(&d, a);
  value *docs;
  if (yaml_read(a, &d, path, text, len, &docs) < 0) return *err = d.first->msg, -1;
  const value *list = docs->u.list.len ? value_get_path(docs->u.list.items[0], "repositories") : NULL;
  if (!list || list->kind != V_LIST) return 0;
  *out = arena_alloc(a, (list->u.list.len + 1) * sizeof **out);
  for (size_t i = 0; i < list->u.list.len; i++) {
    const value *e = list->u.list.items[i];
    const char *url = e->kind == V_OBJECT ? value_get_string(e, "url") : NULL;
    if (!url) continue;
    const char *ca = value_get_string(e, "caFile");
    (*out)[(*n)++] = (source_chart_creds){url, value_get_string(e, "username"), value_get_string(e, "password"),
                                          ca && *ca ? file_text(a, ca, &len) : NULL};
  }
  return 0;
}
