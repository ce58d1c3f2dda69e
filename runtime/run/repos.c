/* repos.c: the credentials of chart repositories and OCI registries.
 *
 * A chart of a private repository is fetched with the credentials of a
 * Secret in the runtime's namespace labelled plumb.dev/secret-type:
 * repository, as Argo CD keeps a repository's in a Secret labelled
 * argocd.argoproj.io/secret-type: repository: its url (a prefix of the
 * charts' repositories; the longest wins), username, password and ca.crt.
 * They are read once a round of the loop, only when a build may need
 * them, and every copy is wiped when the next read replaces it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define REPOSITORY_SELECTOR "plumb.dev/secret-type=repository"

static void wipe(const char *s) {
  if (s) explicit_bzero((char *)s, strlen(s));
  free((char *)s);
}

static void forget(runner *r) {
  for (size_t i = 0; i < r->nchart_creds; i++) {
    source_chart_creds *k = &r->chart_creds[i];
    free((char *)k->url);
    wipe(k->username), wipe(k->password), free((char *)k->ca);
  }
  free(r->chart_creds);
  r->chart_creds = NULL, r->nchart_creds = 0;
}

/* data[key] decoded, or NULL. */
char *run_secret_datum(const json_t *secret, const char *key) {
  const char *b64 = kube_str(json_object_get(secret, "data"), key);
  size_t len;
  return b64 ? kube_base64_decode(b64, &len) : NULL;
}

/* A Secret that names no url is left out: it serves no chart. */
static void take(runner *r, const json_t *secret) {
  char *url = run_secret_datum(secret, "url");
  if (!url || !*url) {
    free(url);
    return;
  }
  r->chart_creds = heap_realloc(r->chart_creds, (r->nchart_creds + 1) * sizeof *r->chart_creds);
  r->chart_creds[r->nchart_creds++] =
      (source_chart_creds){url, run_secret_datum(secret, "username"), run_secret_datum(secret, "password"),
                           run_secret_datum(secret, "ca.crt")};
}

void run_chart_creds_read(runner *r) {
  if (r->chart_creds_round == r->round + 1) return;
  r->chart_creds_round = r->round + 1;
  json_t *items = NULL;
  kube_list_opts lo = {.label_selector = REPOSITORY_SELECTOR};
  if (kube_list(r->c, "v1", "Secret", r->home, &lo, &items, NULL) != KUBE_OK) {
    /* The last ones known serve until the next read. */
    fprintf(r->o->out, "cannot read the repository Secrets of %s: %s\n", r->home, kube_last_error(r->c));
    return;
  }
  forget(r);
  size_t i;
  json_t *s;
  json_array_foreach(items, i, s) take(r, s);
  json_decref(items);
}

void run_chart_creds_free(runner *r) {
  forget(r);
  for (size_t i = 0; i < r->nchart_apps; i++) free(r->chart_apps[i].name);
  free(r->chart_apps);
}

source_charts run_chart_puller(runner *r) {
  run_chart_creds_read(r);
  return (source_charts){.cache = r->o->cache_dir,
                         .path = getenv("PATH"),
                         .tmp = r->o->cache_dir,
                         .creds = r->chart_creds,
                         .ncreds = r->nchart_creds};
}

/* ---- applications whose source is a chart ------------------------------------------ */

/* Whether app's chart was pinned this round already; notes that it is. */
static bool pinned_this_round(runner *r, const app_def *app) {
  for (size_t i = 0; i < r->nchart_apps; i++)
    if (strcmp(r->chart_apps[i].name, app->name) == 0) {
      bool was = r->chart_apps[i].round == r->round;
      r->chart_apps[i].round = r->round;
      return was;
    }
  r->chart_apps = heap_realloc(r->chart_apps, (r->nchart_apps + 1) * sizeof *r->chart_apps);
  r->chart_apps[r->nchart_apps++] = (run_chart_app){heap_strdup(app->name), r->round};
  return false;
}

char *run_chart_app_repo(runner *r, const app_def *app, bool fetch, char **err) {
  char *dir = heap_printf("%s/chart-apps/%s.git", r->o->cache_dir, app->name);
  struct stat st;
  bool made = stat(dir, &st) == 0;
  if ((fetch || !made) && !pinned_this_round(r, app)) {
    source_charts charts = run_chart_puller(r);
    source_chart_app spec = {app->repo,
                             app->chart,
                             strcmp(app->revision, "HEAD") ? app->revision : "",
                             app->values,
                             app->release ? app->release : app->name,
                             app->namespace};
    if (source_chart_app_pin(&charts, dir, &spec, err) != 0 && !made) {
      free(dir);
      return NULL;
    }
    /* A pin that fails keeps the last one, which is synced as it was. */
    if (made && *err) {
      fprintf(r->o->out, "%s: %s; its last pin stays\n", app->name, *err);
      free(*err);
      *err = NULL;
    }
  }
  return dir;
}
