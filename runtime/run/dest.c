/* dest.c: the clusters applications are applied to, by the names they give
 * them (see docs/runtime.md, Destinations).
 *
 * "in-cluster", or the context the runtime itself runs with, is the
 * runtime's own cluster. Any other name is a context of the runtime's
 * kubeconfig, else a Secret in the runtime's namespace labelled
 * plumb.dev/secret-type: cluster holding a kubeconfig, as Argo CD and Flux
 * keep the clusters they manage. A destination is made on first use, with
 * a client, a first request to know the server answers, and (unless
 * --once) a live cache of its own; every application that names it shares
 * it. Those that fail to be made are not kept: each pass tries again and
 * says why in its status. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

#include "run/internal.h"

#define SECRET_TYPE_LABEL "plumb.dev/secret-type"

static run_dest *add(runner *r, run_dest d) {
  r->dests = heap_realloc(r->dests, (r->ndests + 1) * sizeof *r->dests);
  r->dests[r->ndests] = heap_alloc(sizeof d);
  *r->dests[r->ndests] = d;
  return r->dests[r->ndests++];
}

void run_dest_init(runner *r) {
  add(r, (run_dest){.name = heap_strdup("in-cluster"), .cfg = r->o->cfg, .c = r->c, .cache = r->cache, .own = true});
}

/* The runtime's own cluster goes by its context's name too: one client and
 * one cache for it, however it is named. */
static bool is_own(const runner *r, const char *name) {
  return strcmp(name, "in-cluster") == 0 || (r->o->cfg && r->o->cfg->context && strcmp(name, r->o->cfg->context) == 0);
}

run_dest *run_dest_find(runner *r, const char *name) {
  if (is_own(r, name)) return r->dests[0];
  for (size_t i = 1; i < r->ndests; i++)
    if (strcmp(r->dests[i]->name, name) == 0) return r->dests[i];
  return NULL;
}

/* ---- the Secret of a cluster ------------------------------------------- */

bool run_dns_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 253 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1])) return false;
  for (size_t i = 0; i < n; i++)
    if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' || s[i] == '.')) return false;
  return true;
}

/* The Secret name as *out (caller decrefs), NULL when there is none; false
 * with *err when it cannot be read. */
static bool read_secret(runner *r, const char *name, json_t **out, char **err) {
  *out = NULL;
  if (!run_dns_name(name)) return true;
  int rc = kube_get(r->c, "v1", "Secret", r->home, name, out);
  if (rc == KUBE_OK || rc == KUBE_ENOTFOUND) return true;
  *err = heap_printf("cluster \"%s\": cannot read Secret %s/%s: %s", name, r->home, name, kube_last_error(r->c));
  return false;
}

static const char *resource_version(const json_t *secret) {
  return kube_meta_str(secret, "resourceVersion");
}

/* The kubeconfig a cluster Secret holds, under "kubeconfig" or, as Flux
 * names it, "value"; its current-context is the destination. */
static kube_config *secret_config(runner *r, const char *name, const json_t *secret, char **err) {
  const json_t *labels = json_object_get(json_object_get(secret, "metadata"), "labels");
  const char *type = kube_str(labels, SECRET_TYPE_LABEL), *key = "kubeconfig";
  if (!type || strcmp(type, "cluster") != 0) {
    *err = heap_printf("cluster \"%s\": Secret %s/%s is not labelled %s: cluster", name, r->home, name, SECRET_TYPE_LABEL);
    return NULL;
  }
  const json_t *data = json_object_get(secret, "data");
  if (!kube_str(data, key)) key = "value";
  if (!kube_str(data, key)) {
    *err = heap_printf("cluster \"%s\": Secret %s/%s holds no kubeconfig (key kubeconfig or value)", name, r->home, name);
    return NULL;
  }
  size_t len;
  char *text = kube_base64_decode(kube_str(data, key), &len), *where, *why = NULL;
  kube_config *cfg = NULL;
  where = heap_printf("Secret %s/%s", r->home, name);
  if (!text) *err = heap_printf("cluster \"%s\": %s: data.%s is not base64", name, where, key);
  else if (kube_config_parse(&cfg, where, text, len, NULL, &why) != KUBE_OK)
    *err = heap_printf("cluster \"%s\": %s", name, why);
  if (text) explicit_bzero(text, len);
  free(text);
  free(why);
  free(where);
  return cfg;
}

/* ---- making one ---------------------------------------------------------- */

/* The config for name: a context of the runtime's kubeconfig, else a cluster
 * Secret (whose resourceVersion goes to *version). NULL with *err. */
static kube_config *config_of(runner *r, const char *name, char **version, char **err) {
  kube_config *cfg = NULL;
  char *why = NULL;
  int rc = kube_config_load(&cfg, r->o->kubeconfig, name, &why);
  if (rc != KUBE_ENOTFOUND) {
    if (rc != KUBE_OK) *err = heap_printf("cluster \"%s\": %s", name, why);
    free(why);
    return cfg;
  }
  free(why);
  json_t *secret;
  if (!read_secret(r, name, &secret, err)) return NULL;
  if (!secret) {
    *err = heap_printf("unknown cluster \"%s\": neither in-cluster, a context of the runtime's kubeconfig, nor a Secret "
                  "of namespace %s labelled %s: cluster",
                  name, r->home, SECRET_TYPE_LABEL);
    return NULL;
  }
  const char *rv = resource_version(secret);
  if ((cfg = secret_config(r, name, secret, err))) *version = heap_strdup(rv ? rv : "");
  json_decref(secret);
  return cfg;
}

/* A client for cfg, once its server has answered: discovery, which every
 * sync needs first anyway. */
static kube_client *reach(const char *name, kube_config *cfg, char **err) {
  kube_client *c;
  const kube_resource *kr;
  char *why = NULL;
  if (kube_client_new(&c, cfg, NULL, &why) != KUBE_OK) {
    *err = heap_printf("cluster \"%s\": %s", name, why);
    free(why);
    return NULL;
  }
  if (kube_resource_find(c, "v1", "Namespace", &kr) == KUBE_OK) return c;
  *err = heap_printf("cluster \"%s\": %s", name, kube_last_error(c));
  kube_client_free(c);
  return NULL;
}

run_dest *run_dest_get(runner *r, const char *name, char **err) {
  *err = NULL;
  run_dest *d = run_dest_find(r, name);
  if (d) return d;
  char *version = NULL;
  kube_config *cfg = config_of(r, name, &version, err);
  kube_client *c = cfg ? reach(name, cfg, err) : NULL;
  if (!c) {
    kube_config_free(cfg);
    free(version);
    return NULL;
  }
  if (version) fprintf(r->o->out, "plumb run: cluster %s: %s, from Secret %s/%s\n", name, cfg->server, r->home, name);
  else fprintf(r->o->out, "plumb run: cluster %s: %s, from the kubeconfig\n", name, cfg->server);
  d = add(r, (run_dest){.name = heap_strdup(name), .cfg = cfg, .c = c, .cache = r->o->once ? NULL : cache_new(cfg),
                        .secret_version = version});
  /* The loop waits on its own cluster's cache: a change here wakes it too. */
  if (d->cache && r->cache) cache_tell(d->cache, r->cache);
  /* Sharded, it keeps only what this replica holds, as the others do. */
  if (d->cache && r->held) cache_keep(d->cache, json_copy(r->held));
  return d;
}

const char *run_dest_kube_version(runner *r, run_dest *d) {
  if (d->version_read) return d->kube_version;
  char *served = NULL;
  if (kube_server_version(d->c, &served) != KUBE_OK) return NULL;
  bool exact = false;
  d->kube_version = compile_kube_version_nearest(served, &exact);
  d->version_read = true;
  if (!exact)
    fprintf(r->o->out,
            "plumb run: cluster %s serves Kubernetes %s, whose schemas plumb does not have; an env that sets no "
            "kube_version is checked against %s\n",
            d->name, served, d->kube_version ? d->kube_version : "the newest");
  free(served);
  return d->kube_version;
}

/* ---- keeping them current ------------------------------------------------ */

static void dest_free(run_dest *d) {
  if (!d->own) {
    cache_free(d->cache);
    kube_client_free(d->c);
    kube_config_free(d->cfg);
  }
  free(d->name);
  free(d->secret_version);
  free(d);
}

/* Whether d stays: an application names it, and the Secret it came from
 * is still there, at the same resourceVersion. */
static bool current(runner *r, const run_dest *d, bool *named) {
  *named = false;
  for (size_t i = 0; i < r->napps && !*named; i++) *named = strcmp(r->defs.apps[i].cluster, d->name) == 0;
  if (!*named || !d->secret_version) return *named;
  json_t *secret;
  char *err = NULL;
  /* Unread (the API server away), it is taken to be as it was. */
  if (!read_secret(r, d->name, &secret, &err)) {
    free(err);
    return true;
  }
  bool same = secret && strcmp(resource_version(secret) ? resource_version(secret) : "", d->secret_version) == 0;
  json_decref(secret);
  return same;
}

/* The applications of a destination made again pass at once, in full: what
 * the old cache saw says nothing of the new one. */
static void pass_again(runner *r, const char *name) {
  for (size_t i = 0; i < r->napps; i++)
    if (strcmp(r->defs.apps[i].cluster, name) == 0) {
      memset(r->apps[i].built, 0, sizeof r->apps[i].built);
      r->apps[i].due = 0;
    }
}

void run_dest_refresh(runner *r) {
  size_t kept = 1;
  for (size_t i = 1; i < r->ndests; i++) {
    run_dest *d = r->dests[i];
    bool named;
    if (current(r, d, &named)) {
      r->dests[kept++] = d;
      continue;
    }
    if (named) {
      fprintf(r->o->out, "plumb run: cluster %s: its Secret changed; connecting again\n", d->name);
      pass_again(r, d->name);
    }
    dest_free(d);
  }
  r->ndests = kept;
}

void run_dest_free_all(runner *r) {
  for (size_t i = 0; i < r->ndests; i++) dest_free(r->dests[i]);
  free(r->dests);
  r->dests = NULL;
  r->ndests = 0;
}
