/* verbs.c: get, list, apply, delete and watch on top of kube_request. */
#include "kube/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The namespace an object goes to: its own, else the context's, else
 * "default", as kubectl does; none for cluster-scoped kinds. */
static const char *namespace_for(kube_client *c, const kube_resource *r, const char *ns) {
  if (!r->namespaced) return NULL;
  if (ns && *ns) return ns;
  return c->cfg->namespace ? c->cfg->namespace : "default";
}

static int resolve(kube_client *c, const char *api_version, const char *kind, const char *ns, const char *name,
                   char **path) {
  const kube_resource *r;
  int rc = kube_resource_find(c, api_version, kind, &r);
  if (rc != KUBE_OK) return rc;
  *path = kube_path(r, namespace_for(c, r, ns), name);
  return KUBE_OK;
}

int kube_get(kube_client *c, const char *api_version, const char *kind, const char *ns, const char *name,
             json_t **out) {
  char *path;
  *out = NULL;
  int rc = resolve(c, api_version, kind, ns, name, &path);
  if (rc != KUBE_OK) return rc;
  rc = kube_request(c, "GET", path, NULL, NULL, 0, out);
  free(path);
  return rc;
}

/* Appends key=value to a URL, with '?' before the first parameter. */
static void add_query(buf *url, const char *key, const char *val) {
  if (!val || !*val) return;
  char *esc = curl_easy_escape(NULL, val, 0);
  buf_printf(url, "%c%s=%s", strchr(url->data, '?') ? '&' : '?', key, esc);
  curl_free(esc);
}

int kube_list(kube_client *c, const char *api_version, const char *kind, const char *ns, const kube_list_opts *o,
              json_t **items, char **resource_version) {
  static const kube_list_opts none;
  if (!o) o = &none;
  *items = json_array();
  if (resource_version) *resource_version = NULL;
  /* A NULL namespace lists across all of them. */
  const kube_resource *r;
  int rc = kube_resource_find(c, api_version, kind, &r);
  if (rc != KUBE_OK) return rc;
  char *path = kube_path(r, ns, NULL);
  char *cont = NULL, limit[24];
  snprintf(limit, sizeof limit, "%d", o->page_size > 0 ? o->page_size : 500);
  do {
    buf url = {0};
    buf_puts(&url, path);
    add_query(&url, "limit", limit);
    add_query(&url, "labelSelector", o->label_selector);
    add_query(&url, "fieldSelector", o->field_selector);
    add_query(&url, "continue", cont);
    json_t *page;
    rc = kube_request(c, "GET", url.data, NULL, NULL, 0, &page);
    buf_free(&url);
    free(cont);
    cont = NULL;
    if (rc != KUBE_OK) break;
    json_array_extend(*items, json_object_get(page, "items"));
    json_t *meta = json_object_get(page, "metadata");
    const char *next = json_string_value(json_object_get(meta, "continue"));
    if (next && *next) cont = strdup(next);
    if (resource_version && !cont) {
      const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
      *resource_version = rv ? strdup(rv) : NULL;
    }
    json_decref(page);
  } while (cont);
  free(path);
  return rc;
}

int kube_apply(kube_client *c, json_t *obj, const kube_apply_opts *o, json_t **out) {
  static const kube_apply_opts none;
  if (!o) o = &none;
  if (out) *out = NULL;
  json_t *meta = json_object_get(obj, "metadata");
  const char *api = json_string_value(json_object_get(obj, "apiVersion"));
  const char *kind = json_string_value(json_object_get(obj, "kind"));
  const char *name = json_string_value(json_object_get(meta, "name"));
  if (!api || !kind || !name) {
    kube_fail(c, "an object to apply needs apiVersion, kind and metadata.name");
    return KUBE_ERROR;
  }
  const kube_resource *r;
  int rc = kube_resource_find(c, api, kind, &r);
  if (rc != KUBE_OK) return rc;
  const char *ns = namespace_for(c, r, json_string_value(json_object_get(meta, "namespace")));
  char *path = kube_path(r, ns, name);
  buf url = {0};
  buf_puts(&url, path);
  add_query(&url, "fieldManager", o->field_manager ? o->field_manager : "plumb");
  add_query(&url, "force", o->force ? "true" : NULL);
  add_query(&url, "dryRun", o->dry_run ? "All" : NULL);
  /* The body is JSON, which is YAML too: apply-patch+yaml takes it as is. */
  char *body = json_dumps(obj, JSON_COMPACT);
  rc = kube_request(c, "PATCH", url.data, "application/apply-patch+yaml", body, strlen(body), out);
  free(body);
  free(path);
  buf_free(&url);
  return rc;
}

int kube_delete(kube_client *c, const char *api_version, const char *kind, const char *ns, const char *name,
                const kube_delete_opts *o) {
  static const kube_delete_opts none;
  if (!o) o = &none;
  char *path;
  int rc = resolve(c, api_version, kind, ns, name, &path);
  if (rc != KUBE_OK) return rc;
  json_t *opts = json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "DeleteOptions");
  if (o->propagation) json_object_set_new(opts, "propagationPolicy", json_string(o->propagation));
  if (o->uid || o->resource_version) {
    json_t *pre = json_object();
    if (o->uid) json_object_set_new(pre, "uid", json_string(o->uid));
    if (o->resource_version) json_object_set_new(pre, "resourceVersion", json_string(o->resource_version));
    json_object_set_new(opts, "preconditions", pre);
  }
  char *body = json_dumps(opts, JSON_COMPACT);
  rc = kube_request(c, "DELETE", path, "application/json", body, strlen(body), NULL);
  free(body);
  json_decref(opts);
  free(path);
  return rc;
}
