/* tree.c: an application's live objects as a tree, built from owner
 * references, as Argo CD draws it: Deployment -> ReplicaSet -> Pod,
 * StatefulSet and DaemonSet -> Pod, CronJob -> Job -> Pod, Service ->
 * EndpointSlice; and the applications its build declares.
 *
 * The roots are the objects the application applies (its status's
 * resources). Their descendants are objects of the kinds controllers make,
 * listed in the roots' namespaces when the tree is asked for (a page
 * opening it, not every pass), and hung under the object their owner
 * reference names: an owner reference names an object of the same
 * namespace by kind and name. Each list is bounded, and so is the tree. */
#include <stdlib.h>
#include <string.h>

#include "compare/live.h"
#include "plumb/arena.h"
#include "plumb/health.h"
#include "run/internal.h"

enum { MAX_NAMESPACES = 32, MAX_NODES = 5000 };

/* The kinds controllers make for the objects people apply. */
static const struct {
  const char *api_version, *kind;
} child_kinds[] = {
    {"apps/v1", "ReplicaSet"},
    {"v1", "Pod"},
    {"batch/v1", "Job"},
    {"discovery.k8s.io/v1", "EndpointSlice"},
};
enum { NCHILD_KINDS = sizeof child_kinds / sizeof *child_kinds };

/* "Kind/namespace/name": a node's id, what children's owners are matched by. */
static char *node_id(const char *kind, const char *ns, const char *name) {
  return heap_printf("%s/%s/%s", kind, ns ? ns : "", name);
}

json_t *run_tree_node(const json_t *res) {
  json_t *n = json_deep_copy(res);
  char *id = node_id(kube_str(res, "kind"), kube_str(res, "namespace"), kube_str(res, "name"));
  json_object_set_new(n, "id", json_string(id));
  json_object_set_new(n, "managed", json_true());
  free(id);
  return n;
}

/* A child: what its live object says, and its health by the rules. */
static json_t *child_node(const json_t *live, const char *parent) {
  const json_t *meta = json_object_get(live, "metadata");
  const char *ns = kube_str(meta, "namespace"), *name = kube_str(meta, "name");
  health_status h = health_assess(live);
  char *id = node_id(kube_str(live, "kind"), ns, name);
  json_t *n = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id", id, "parent", parent, "apiVersion",
                        kube_str(live, "apiVersion"), "kind", kube_str(live, "kind"), "name", name, "health",
                        health_name(h.code), "message", h.message, "managed", 0);
  if (ns) json_object_set_new(n, "namespace", json_string(ns));
  free(id);
  return n;
}

/* The id of the node obj's owner reference names, if the tree has it. */
static const char *owner_in(const json_t *obj, const json_t *ids) {
  const json_t *meta = json_object_get(obj, "metadata"), *ref;
  size_t i;
  json_array_foreach(json_object_get(meta, "ownerReferences"), i, ref) {
    char *id = node_id(kube_str(ref, "kind"), kube_str(meta, "namespace"), kube_str(ref, "name"));
    const char *found = json_object_get(ids, id) ? json_string_value(json_object_get(ids, id)) : NULL;
    free(id);
    if (found) return found;
  }
  return NULL;
}

/* The namespaces of the roots, at most MAX_NAMESPACES. */
static json_t *namespaces_of(const json_t *resources) {
  json_t *set = json_object();
  size_t i;
  const json_t *res;
  json_array_foreach(resources, i, res) {
    const char *ns = kube_str(res, "namespace");
    if (ns && json_object_size(set) < MAX_NAMESPACES) json_object_set_new(set, ns, json_true());
  }
  return set;
}

/* Hangs every listed object whose owner is in the tree under it, again
 * until nothing more hangs: a Pod's ReplicaSet may come after the Pod. */
static void hang_children(json_t *nodes, json_t *ids, json_t *listed) {
  for (bool more = true; more && json_array_size(nodes) < MAX_NODES;) {
    more = false;
    size_t i;
    json_t *obj;
    json_array_foreach(listed, i, obj) {
      if (json_is_null(obj)) continue;
      const char *parent = owner_in(obj, ids);
      if (!parent || json_array_size(nodes) >= MAX_NODES) continue;
      json_t *n = child_node(obj, parent);
      json_object_set_new(ids, kube_str(n, "id"), json_string(kube_str(n, "id")));
      json_array_append_new(nodes, n);
      json_array_set_new(listed, i, json_null());
      more = true;
    }
  }
}

int run_tree(kube_client *c, const json_t *resources, json_t **out, char **err) {
  json_t *nodes = json_array(), *ids = json_object(), *namespaces = namespaces_of(resources), *listed = json_array();
  size_t i;
  const json_t *res;
  json_array_foreach(resources, i, res) {
    json_t *n = run_tree_node(res);
    json_object_set_new(ids, kube_str(n, "id"), json_string(kube_str(n, "id")));
    json_array_append_new(nodes, n);
  }
  size_t nlists = json_object_size(namespaces) * NCHILD_KINDS, k = 0;
  kube_list_req *lists = heap_calloc(nlists + 1, sizeof *lists);
  const char *ns;
  json_t *v;
  json_object_foreach(namespaces, ns, v) {
    for (size_t j = 0; j < NCHILD_KINDS; j++)
      lists[k++] = (kube_list_req){.api_version = child_kinds[j].api_version, .kind = child_kinds[j].kind, .ns = ns};
  }
  kube_list_many(c, lists, nlists);
  int rc = 0;
  for (k = 0; k < nlists; k++) {
    /* A kind this cluster does not serve has nothing to show. */
    if (lists[k].rc != KUBE_OK && lists[k].rc != KUBE_ENOTFOUND && !rc) {
      *err = heap_strdup(lists[k].error ? lists[k].error : "cannot list the application's objects");
      rc = -1;
    }
    size_t j;
    json_t *item;
    /* List items leave out what they are: the health rules read it. */
    json_array_foreach(lists[k].items, j, item) {
      json_object_set_new(item, "apiVersion", json_string(lists[k].api_version));
      json_object_set_new(item, "kind", json_string(lists[k].kind));
    }
    json_array_extend(listed, lists[k].items);
    json_decref(lists[k].items);
    free(lists[k].resource_version);
    free(lists[k].error);
  }
  free(lists);
  hang_children(nodes, ids, listed);
  json_decref(listed);
  json_decref(ids);
  json_decref(namespaces);
  if (rc) json_decref(nodes);
  else *out = nodes;
  return rc;
}

void run_mask_live(json_t *live) {
  json_object_del(json_object_get(live, "metadata"), "managedFields");
  live_mask_secret(NULL, live);
}
