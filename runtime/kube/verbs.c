/* verbs.c: get, list, apply, delete and watch on top of kube_request. */
#include "kube/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/arena.h"

/* The namespace an object goes to: its own, else the context's, else
 * "default", as kubectl does; none for cluster-scoped kinds. */
static const char *namespace_for(kube_client *c, const kube_resource *r, const char *ns) {
  if (!r->namespaced) return NULL;
  return ns && *ns ? ns : kube_default_namespace(c);
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

int kube_server_version(kube_client *c, char **version) {
  json_t *v = NULL;
  *version = NULL;
  int rc = kube_request(c, "GET", "/version", NULL, NULL, 0, &v);
  const char *git = rc == KUBE_OK ? kube_str(v, "gitVersion") : NULL;
  if (git) *version = heap_strdup(git);
  else if (rc == KUBE_OK) {
    kube_fail(c, "the server's /version has no gitVersion");
    rc = KUBE_ERROR;
  }
  json_decref(v);
  return rc;
}

/* Appends key=value to a URL, with '?' before the first parameter. */
static void add_query(buf *url, const char *key, const char *val) {
  if (!val || !*val) return;
  char *esc = curl_easy_escape(NULL, val, 0);
  buf_printf(url, "%c%s=%s", strchr(url->data, '?') ? '&' : '?', key, esc);
  curl_free(esc);
}

/* The URL of one page of a list: limit, selectors, continue token. */
static char *page_url(const char *path, const kube_list_opts *o, const char *cont) {
  char limit[24];
  snprintf(limit, sizeof limit, "%d", o->page_size > 0 ? o->page_size : 500);
  buf url = {0};
  buf_puts(&url, path);
  add_query(&url, "limit", limit);
  add_query(&url, "labelSelector", o->label_selector);
  add_query(&url, "fieldSelector", o->field_selector);
  add_query(&url, "continue", cont);
  return url.data;
}

static char *take_error(kube_client *c) { return heap_strdup(kube_last_error(c)); }

int kube_list_path(kube_client *c, const char *path, size_t most, kube_item_fn each, void *ctx) {
  char *cont = NULL;
  size_t seen = 0;
  int rc;
  do {
    char *url = page_url(path, &(kube_list_opts){0}, cont);
    json_t *page = NULL;
    rc = kube_request(c, "GET", url, NULL, NULL, 0, &page);
    free(url);
    free(cont);
    cont = NULL;
    json_t *got = json_object_get(page, "items");
    if (rc == KUBE_OK && !json_is_array(got)) {
      kube_fail(c, "the list at %s has no items", path);
      rc = KUBE_ERROR;
    } else if (rc == KUBE_OK && (seen += json_array_size(got)) > most) {
      kube_fail(c, "more than %zu objects at %s", most, path);
      rc = KUBE_ERROR;
    }
    if (rc == KUBE_OK) {
      const char *next = kube_meta_str(page, "continue");
      if (next && *next) cont = heap_strdup(next);
      size_t i;
      json_t *item;
      json_array_foreach(got, i, item) {
        if (!each(item, ctx)) continue;
        free(cont);
        cont = NULL;
        break;
      }
    }
    json_decref(page);
  } while (rc == KUBE_OK && cont);
  return rc;
}

/* One page into l; *cont becomes the token for the next, or NULL. */
static void take_page(kube_list_req *l, kube_req *r, char **cont) {
  free(*cont);
  *cont = NULL;
  if (r->rc != KUBE_OK) {
    l->rc = r->rc;
    l->error = r->error;
    return;
  }
  json_array_extend(l->items, json_object_get(r->out, "items"));
  const char *next = kube_meta_str(r->out, "continue");
  if (next && *next) *cont = heap_strdup(next);
  const char *rv = kube_meta_str(r->out, "resourceVersion");
  if (!*cont && rv) l->resource_version = heap_strdup(rv);
  json_decref(r->out);
}

/* The collection path of each list; NULL for one that failed already. */
static char **list_paths(kube_client *c, kube_list_req *lists, size_t n) {
  char **paths = heap_calloc(n ? n : 1, sizeof *paths);
  for (size_t i = 0; i < n; i++) {
    kube_list_req *l = &lists[i];
    l->items = json_array();
    l->resource_version = l->error = NULL;
    const kube_resource *r;
    /* A NULL namespace lists across all of them. */
    if ((l->rc = kube_resource_find(c, l->api_version, l->kind, &r)) == KUBE_OK)
      paths[i] = kube_path(r, l->ns, NULL);
    else
      l->error = take_error(c);
  }
  return paths;
}

/* Rounds: the next page of every list that has one, all at once. */
size_t kube_list_many(kube_client *c, kube_list_req *lists, size_t n) {
  char **paths = list_paths(c, lists, n), **cont = heap_calloc(n ? n : 1, sizeof *cont);
  kube_req *reqs = heap_calloc(n ? n : 1, sizeof *reqs);
  size_t *which = heap_calloc(n ? n : 1, sizeof *which), failed = 0;
  for (bool first = true;; first = false) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      if (!paths[i] || lists[i].rc != KUBE_OK || (!first && !cont[i])) continue;
      reqs[m] = (kube_req){.method = "GET", .path = page_url(paths[i], &lists[i].opts, cont[i])};
      which[m++] = i;
    }
    if (!m) break;
    kube_request_many(c, reqs, m, NULL, NULL);
    for (size_t k = 0; k < m; k++) {
      free((char *)reqs[k].path); /* page_url's */
      take_page(&lists[which[k]], &reqs[k], &cont[which[k]]);
    }
  }
  for (size_t i = 0; i < n; i++) {
    failed += lists[i].rc != KUBE_OK;
    free(paths[i]);
    free(cont[i]);
  }
  free(paths);
  free(cont);
  free(reqs);
  free(which);
  return failed;
}

int kube_list(kube_client *c, const char *api_version, const char *kind, const char *ns, const kube_list_opts *o,
              json_t **items, char **resource_version) {
  kube_list_req l = {.api_version = api_version, .kind = kind, .ns = ns};
  if (o) l.opts = *o;
  kube_list_many(c, &l, 1);
  if (l.rc != KUBE_OK) { /* a list cut short is no list */
    json_decref(l.items);
    l.items = NULL;
  }
  *items = l.items;
  if (resource_version)
    *resource_version = l.resource_version;
  else
    free(l.resource_version);
  free(l.error); /* kube_last_error holds the same words */
  return l.rc;
}

/* Calls each for the items of one page; true when it asked to stop. */
static bool each_item(json_t *page, const kube_resource *r, kube_item_fn each, void *ctx) {
  size_t i;
  json_t *item;
  json_array_foreach(json_object_get(page, "items"), i, item) {
    /* List items leave these out; a GET's answer and watch events have them. */
    json_object_set_new(item, "apiVersion", json_string(r->group_version));
    json_object_set_new(item, "kind", json_string(r->kind));
    if (each(item, ctx)) return true;
  }
  return false;
}

int kube_list_each(kube_client *c, const char *api_version, const char *kind, const char *ns,
                   const kube_list_opts *o, kube_item_fn each, void *ctx, char **resource_version) {
  static const kube_list_opts none;
  const kube_resource *r;
  *resource_version = NULL;
  int rc = kube_resource_find(c, api_version, kind, &r);
  if (rc != KUBE_OK) return rc;
  char *path = kube_path(r, ns, NULL), *cont = NULL;
  do {
    char *url = page_url(path, o ? o : &none, cont);
    json_t *page;
    rc = kube_request(c, "GET", url, NULL, NULL, 0, &page);
    free(url);
    free(cont);
    cont = NULL;
    if (rc != KUBE_OK) break;
    const json_t *meta = json_object_get(page, "metadata");
    const char *next = json_string_value(json_object_get(meta, "continue"));
    const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
    if (each_item(page, r, each, ctx)) {
      json_decref(page);
      break;
    }
    if (next && *next) cont = heap_strdup(next);
    else *resource_version = heap_strdup(rv);
    json_decref(page);
  } while (cont);
  free(path);
  return rc;
}

/* The PATCH of a server-side apply of obj into *r (free_request frees it). */
static int apply_request(kube_client *c, json_t *obj, const kube_apply_opts *o, kube_req *r) {
  const char *api = kube_str(obj, "apiVersion"), *kind = kube_str(obj, "kind"), *name = kube_meta_str(obj, "name");
  if (!api || !kind || !name) {
    kube_fail(c, "an object to apply needs apiVersion, kind and metadata.name");
    return KUBE_ERROR;
  }
  const kube_resource *res;
  int rc = kube_resource_find(c, api, kind, &res);
  if (rc != KUBE_OK) return rc;
  char *path = kube_path(res, namespace_for(c, res, kube_meta_str(obj, "namespace")), name);
  buf url = {0};
  buf_puts(&url, path);
  free(path);
  add_query(&url, "fieldManager", o->field_manager ? o->field_manager : "plumb");
  add_query(&url, "force", o->force ? "true" : NULL);
  add_query(&url, "dryRun", o->dry_run ? "All" : NULL);
  /* The body is JSON, which is YAML too: apply-patch+yaml takes it as is. */
  char *body = json_dumps(obj, JSON_COMPACT);
  *r = (kube_req){.method = "PATCH", .path = url.data, .content_type = "application/apply-patch+yaml", .body = body,
                  .len = strlen(body)};
  return KUBE_OK;
}

static void free_request(kube_req *r) {
  free((char *)r->path); /* apply_request's */
  free((char *)r->body);
}

typedef struct {
  kube_apply_item *items;
  kube_req *reqs;
  size_t *which; /* reqs[k] applies items[which[k]] */
  kube_done_fn done;
  void *ctx;
} relay;

static void move_result(relay *r, size_t k) {
  kube_apply_item *it = &r->items[r->which[k]];
  it->rc = r->reqs[k].rc;
  it->out = r->reqs[k].out;
  it->error = r->reqs[k].error;
  r->reqs[k].out = NULL;
  r->reqs[k].error = NULL;
}

static int relay_done(size_t k, void *ctx) {
  relay *r = ctx;
  move_result(r, k);
  return r->done ? r->done(r->which[k], r->ctx) : 0;
}

static bool same_kind(const json_t *a, const json_t *b) {
  return json_equal(json_object_get(a, "apiVersion"), json_object_get(b, "apiVersion")) &&
         json_equal(json_object_get(a, "kind"), json_object_get(b, "kind"));
}

/* Objects sort by kind: a kind the server does not serve fails once, not
 * once per object (each miss refreshes discovery). */
static int prepare(kube_client *c, kube_apply_item *it, const kube_apply_opts *o, kube_req *r,
                   const kube_apply_item **missing) {
  if (*missing && same_kind((*missing)->obj, it->obj)) {
    it->error = heap_strdup((*missing)->error);
    return (*missing)->rc;
  }
  int rc = apply_request(c, it->obj, o, r);
  if (rc != KUBE_OK) it->error = take_error(c);
  if (rc == KUBE_ENOTFOUND) *missing = it;
  return rc;
}

size_t kube_apply_many(kube_client *c, kube_apply_item *items, size_t n, const kube_apply_opts *o, kube_done_fn done,
                       void *ctx) {
  static const kube_apply_opts none;
  if (!o) o = &none;
  relay r = {.items = items, .done = done, .ctx = ctx};
  r.reqs = heap_calloc(n, sizeof *r.reqs);
  r.which = heap_calloc(n, sizeof *r.which);
  size_t m = 0, failed = 0;
  bool stop = false;
  const kube_apply_item *missing = NULL;
  for (size_t i = 0; i < n; i++) {
    items[i] = (kube_apply_item){.obj = items[i].obj};
    if ((items[i].rc = prepare(c, &items[i], o, &r.reqs[m], &missing)) == KUBE_OK) {
      r.which[m++] = i;
      continue;
    }
    failed++;
    stop = stop || (done && done(i, ctx));
  }
  if (stop) {
    for (size_t k = 0; k < m; k++) kube_cancel(&r.reqs[k]);
    failed += m;
  } else {
    failed += kube_request_many(c, r.reqs, m, relay_done, &r);
  }
  for (size_t k = 0; k < m; k++) {
    if (r.reqs[k].rc == KUBE_ECANCELED) move_result(&r, k);
    free_request(&r.reqs[k]);
  }
  free(r.reqs);
  free(r.which);
  return failed;
}

int kube_apply(kube_client *c, json_t *obj, const kube_apply_opts *o, json_t **out) {
  kube_apply_item it = {.obj = obj};
  kube_apply_many(c, &it, 1, o, NULL, NULL);
  free(it.error); /* kube_last_error holds the same words */
  if (out)
    *out = it.out;
  else
    json_decref(it.out);
  return it.rc;
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
  kube_req r = {.method = "DELETE", .path = path, .content_type = "application/json", .body = body,
                .len = strlen(body), .once = !o->uid && !o->resource_version};
  rc = kube_request_one(c, &r, NULL);
  free(body);
  json_decref(opts);
  free(path);
  return rc;
}
