/* kinds.c: the built-in kind table and install order. */
#include "kinds.h"

#include <string.h>

/* Sorted bytewise (strcmp order): kinds_find is a binary search. */
static const kind_info table[] = {
    {"APIService", "apiregistration.k8s.io/v1", true, false, NULL, false},
    {"CSIDriver", "storage.k8s.io/v1", true, false, NULL, false},
    {"ClusterRole", "rbac.authorization.k8s.io/v1", true, false, NULL, true},
    {"ClusterRoleBinding", "rbac.authorization.k8s.io/v1", true, false, NULL, true},
    {"ConfigMap", "v1", false, false, NULL, false},
    {"CronJob", "batch/v1", false, false, "spec.jobTemplate.spec.template.spec", false},
    {"CustomResourceDefinition", "apiextensions.k8s.io/v1", true, false, NULL, false},
    {"DaemonSet", "apps/v1", false, false, "spec.template.spec", false},
    {"Deployment", "apps/v1", false, false, "spec.template.spec", false},
    {"Endpoints", "v1", false, false, NULL, false},
    {"HorizontalPodAutoscaler", "autoscaling/v2", false, false, NULL, false},
    {"Ingress", "networking.k8s.io/v1", false, false, NULL, false},
    {"IngressClass", "networking.k8s.io/v1", true, false, NULL, false},
    {"Job", "batch/v1", false, false, "spec.template.spec", false},
    {"Lease", "coordination.k8s.io/v1", false, false, NULL, false},
    {"LimitRange", "v1", false, false, NULL, false},
    {"MutatingWebhookConfiguration", "admissionregistration.k8s.io/v1", true, false, NULL, false},
    {"Namespace", "v1", true, true, NULL, false},
    {"NetworkPolicy", "networking.k8s.io/v1", false, false, NULL, false},
    {"PersistentVolume", "v1", true, false, NULL, false},
    {"PersistentVolumeClaim", "v1", false, false, NULL, false},
    {"Pod", "v1", false, false, "spec", false},
    {"PodDisruptionBudget", "policy/v1", false, false, NULL, false},
    {"PriorityClass", "scheduling.k8s.io/v1", true, false, NULL, false},
    {"ReplicaSet", "apps/v1", false, false, "spec.template.spec", false},
    {"ReplicationController", "v1", false, false, "spec.template.spec", false},
    {"ResourceQuota", "v1", false, false, NULL, false},
    {"Role", "rbac.authorization.k8s.io/v1", false, false, NULL, true},
    {"RoleBinding", "rbac.authorization.k8s.io/v1", false, false, NULL, true},
    {"RuntimeClass", "node.k8s.io/v1", true, false, NULL, false},
    {"Secret", "v1", false, false, NULL, false},
    {"Service", "v1", false, true, NULL, false},
    {"ServiceAccount", "v1", false, false, NULL, false},
    {"StatefulSet", "apps/v1", false, false, "spec.template.spec", false},
    {"StorageClass", "storage.k8s.io/v1", true, false, NULL, false},
    {"ValidatingWebhookConfiguration", "admissionregistration.k8s.io/v1", true, false, NULL, false},
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
