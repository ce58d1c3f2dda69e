/* kinds.c: the built-in kind table and install order. */
#include "kinds.h"

#include <string.h>

/* Sorted bytewise (strcmp order): kinds_find is a binary search. */
static const kind_info table[] = {
    {"APIService", "apiregistration.k8s.io/v1", true, false, NULL},
    {"CSIDriver", "storage.k8s.io/v1", true, false, NULL},
    {"ClusterRole", "rbac.authorization.k8s.io/v1", true, false, NULL},
    {"ClusterRoleBinding", "rbac.authorization.k8s.io/v1", true, false, NULL},
    {"ConfigMap", "v1", false, false, NULL},
    {"CronJob", "batch/v1", false, false, "spec.jobTemplate.spec.template.spec"},
    {"CustomResourceDefinition", "apiextensions.k8s.io/v1", true, false, NULL},
    {"DaemonSet", "apps/v1", false, false, "spec.template.spec"},
    {"Deployment", "apps/v1", false, false, "spec.template.spec"},
    {"Endpoints", "v1", false, false, NULL},
    {"HorizontalPodAutoscaler", "autoscaling/v2", false, false, NULL},
    {"Ingress", "networking.k8s.io/v1", false, false, NULL},
    {"IngressClass", "networking.k8s.io/v1", true, false, NULL},
    {"Job", "batch/v1", false, false, "spec.template.spec"},
    {"Lease", "coordination.k8s.io/v1", false, false, NULL},
    {"LimitRange", "v1", false, false, NULL},
    {"MutatingWebhookConfiguration", "admissionregistration.k8s.io/v1", true, false, NULL},
    {"Namespace", "v1", true, true, NULL},
    {"NetworkPolicy", "networking.k8s.io/v1", false, false, NULL},
    {"PersistentVolume", "v1", true, false, NULL},
    {"PersistentVolumeClaim", "v1", false, false, NULL},
    {"Pod", "v1", false, false, "spec"},
    {"PodDisruptionBudget", "policy/v1", false, false, NULL},
    {"PriorityClass", "scheduling.k8s.io/v1", true, false, NULL},
    {"ReplicaSet", "apps/v1", false, false, "spec.template.spec"},
    {"ReplicationController", "v1", false, false, "spec.template.spec"},
    {"ResourceQuota", "v1", false, false, NULL},
    {"Role", "rbac.authorization.k8s.io/v1", false, false, NULL},
    {"RoleBinding", "rbac.authorization.k8s.io/v1", false, false, NULL},
    {"RuntimeClass", "node.k8s.io/v1", true, false, NULL},
    {"Secret", "v1", false, false, NULL},
    {"Service", "v1", false, true, NULL},
    {"ServiceAccount", "v1", false, false, NULL},
    {"StatefulSet", "apps/v1", false, false, "spec.template.spec"},
    {"StorageClass", "storage.k8s.io/v1", true, false, NULL},
    {"ValidatingWebhookConfiguration", "admissionregistration.k8s.io/v1", true, false, NULL},
};

const kind_info *kinds_find(const char *kind) {
  size_t lo = 0, hi = sizeof table / sizeof table[0];
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = kinds_cmp(kind, table[mid].kind);
    if (c == 0) return &table[mid];
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

/* The order Kustomize and Helm install in: what others depend on first. */
static const char *const order_first[] = {
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount",
    "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap",
    "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume",
    "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
};
static const char *const order_last[] = {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"};

int kinds_rank(const char *kind) {
  int n = (int)(sizeof order_first / sizeof order_first[0]);
  for (int i = 0; i < n; i++)
    if (kinds_cmp(order_first[i], kind) == 0) return i;
  for (int i = 0; i < 2; i++)
    if (kinds_cmp(order_last[i], kind) == 0) return n + 1 + i;
  return n;
}
