/* discovery.c: which resource serves an apiVersion and kind.
 *
 * Aggregated discovery (apidiscovery.k8s.io/v2) answers for every group in
 * two requests; a server without it gets the legacy per-group-version
 * endpoints, fetched only for the versions asked about. An unknown kind
 * refreshes once, for the CRD a moment-old apply just created. */
#include "kube/internal.h"

#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

typedef struct entry {
  kube_resource r;
  struct entry *next;
} entry;

struct discovery {
  entry *list;
  bool aggregated_done; /* /api and /apis fetched in aggregated form */
  bool aggregated_none; /* the server does not offer it */
  char **legacy;        /* group versions fetched the legacy way */
  size_t nlegacy;
};

static const char AGGREGATED[] =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

static entry *add(discovery *d, const char *gv, const char *kind, const char *resource, bool namespaced) {
  entry *e = heap_calloc(1, sizeof *e);
  e->r.group_version = strdup(gv);
  e->r.kind = strdup(kind);
  e->r.resource = strdup(resource);
  e->r.namespaced = namespaced;
  e->next = d->list;
  d->list = e;
  return e;
}

/* Whether verbs (a JSON list) holds list and delete. */
static bool listable(const json_t *verbs) {
  bool list = false, del = false;
  size_t i;
  json_t *v;
  json_array_foreach(verbs, i, v) {
    const char *verb = json_string_value(v);
    list = list || (verb && strcmp(verb, "list") == 0);
    del = del || (verb && strcmp(verb, "delete") == 0);
  }
  return list && del;
}

static const kube_resource *lookup(const discovery *d, const char *gv, const char *kind) {
  for (const entry *e = d->list; e; e = e->next)
    if (strcmp(e->r.group_version, gv) == 0 && strcmp(e->r.kind, kind) == 0) return &e->r;
  return NULL;
}

void kube_discovery_free(kube_client *c) {
  discovery *d = c->disc;
  if (!d) return;
  for (entry *e = d->list, *next; e; e = next) {
    next = e->next;
    free(e->r.group_version);
    free(e->r.kind);
    free(e->r.resource);
    free(e);
  }
  for (size_t i = 0; i < d->nlegacy; i++) free(d->legacy[i]);
  free(d->legacy);
  free(d);
  c->disc = NULL;
}

void kube_discovery_reset(kube_client *c) { kube_discovery_free(c); }

static discovery *disc(kube_client *c) {
  if (!c->disc) c->disc = heap_calloc(1, sizeof *c->disc);
  return c->disc;
}

/* items[].versions[].resources[] of an APIGroupDiscoveryList. */
static void read_aggregated(discovery *d, json_t *list) {
  size_t i, k, j;
  json_t *group, *version, *res;
  json_array_foreach(json_object_get(list, "items"), i, group) {
    const char *g = kube_meta_str(group, "name");
    json_array_foreach(json_object_get(group, "versions"), k, version) {
      const char *v = kube_str(version, "version");
      if (!v) continue;
      char gv[256];
      snprintf(gv, sizeof gv, "%s%s%s", g && *g ? g : "", g && *g ? "/" : "", v);
      json_array_foreach(json_object_get(version, "resources"), j, res) {
        const char *name = kube_str(res, "resource");
        const char *kind = kube_str(json_object_get(res, "responseKind"), "kind");
        const char *scope = kube_str(res, "scope");
        if (!name || !kind || !scope) continue;
        entry *e = add(d, gv, kind, name, strcmp(scope, "Namespaced") == 0);
        e->r.listable = listable(json_object_get(res, "verbs"));
        e->r.preferred = k == 0; /* versions come in order of preference */
      }
    }
  }
}

static int fetch_aggregated(kube_client *c) {
  discovery *d = disc(c);
  static const char *const roots[] = {"/api", "/apis"};
  for (int i = 0; i < 2; i++) {
    json_t *list;
    int rc = kube_request_accept(c, "GET", roots[i], NULL, AGGREGATED, NULL, 0, &list);
    if (rc != KUBE_OK) return rc;
    const char *kind = kube_str(list, "kind");
    if (!kind || strcmp(kind, "APIGroupDiscoveryList") != 0) {
      d->aggregated_none = true;
      json_decref(list);
      return KUBE_OK;
    }
    read_aggregated(d, list);
    json_decref(list);
  }
  d->aggregated_done = true;
  return KUBE_OK;
}

/* GET /api/v1 or /apis/GROUP/VERSION: an APIResourceList. */
static int fetch_legacy(kube_client *c, const char *gv) {
  discovery *d = disc(c);
  for (size_t i = 0; i < d->nlegacy; i++)
    if (strcmp(d->legacy[i], gv) == 0) return KUBE_OK;
  char path[300];
  snprintf(path, sizeof path, "%s/%s", strchr(gv, '/') ? "/apis" : "/api", gv);
  json_t *list;
  int rc = kube_request(c, "GET", path, NULL, NULL, 0, &list);
  if (rc != KUBE_OK && rc != KUBE_ENOTFOUND) return rc;
  size_t i;
  json_t *res;
  json_array_foreach(json_object_get(list, "resources"), i, res) {
    const char *name = kube_str(res, "name");
    const char *kind = kube_str(res, "kind");
    if (!name || !kind || strchr(name, '/')) continue;
    entry *e = add(d, gv, kind, name, json_is_true(json_object_get(res, "namespaced")));
    e->r.listable = listable(json_object_get(res, "verbs"));
  }
  json_decref(list);
  d->legacy = heap_realloc(d->legacy, (d->nlegacy + 1) * sizeof *d->legacy);
  d->legacy[d->nlegacy++] = strdup(gv);
  return KUBE_OK;
}

static int fill(kube_client *c, const char *gv) {
  discovery *d = disc(c);
  if (!d->aggregated_done && !d->aggregated_none) {
    int rc = fetch_aggregated(c);
    if (rc != KUBE_OK) return rc;
  }
  return d->aggregated_none ? fetch_legacy(c, gv) : KUBE_OK;
}

int kube_resource_find(kube_client *c, const char *api_version, const char *kind, const kube_resource **out) {
  for (int round = 0; round < 2; round++) {
    int rc = fill(c, api_version);
    if (rc != KUBE_OK) return rc;
    if ((*out = lookup(c->disc, api_version, kind))) return KUBE_OK;
    if (round == 0) kube_discovery_reset(c);
  }
  kube_fail(c, "the server does not serve kind %s in %s (is its CRD installed?)", kind, api_version);
  return KUBE_ENOTFOUND;
}

int kube_resource_each(kube_client *c, bool (*each)(const kube_resource *r, void *ctx), void *ctx) {
  int rc = fill(c, "v1");
  if (rc != KUBE_OK) return rc;
  if (c->disc->aggregated_none) {
    kube_fail(c, "the server offers no aggregated discovery (Kubernetes 1.26 or later does)");
    return KUBE_ERROR;
  }
  for (const entry *e = c->disc->list; e; e = e->next)
    if (!each(&e->r, ctx)) break;
  return KUBE_OK;
}

char *kube_path(const kube_resource *r, const char *ns, const char *name) {
  const char *root = strchr(r->group_version, '/') ? "/apis" : "/api";
  if (r->namespaced && ns)
    return heap_printf("%s/%s/namespaces/%s/%s%s%s", root, r->group_version, ns, r->resource, name ? "/" : "",
                       name ? name : "");
  return heap_printf("%s/%s/%s%s%s", root, r->group_version, r->resource, name ? "/" : "", name ? name : "");
}
