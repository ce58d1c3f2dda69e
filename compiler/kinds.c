/* kinds.c: the built-in kind table and install order. */
#include "kinds.h"

#include <stdlib.h>
#include <string.h>

/* Sorted bytewise (strcmp order): kinds_find is a binary search. */
static const kind_info table[] = {
    {"APIService", "apiregistration.k8s.io/v1", true, false},
    {"CSIDriver", "storage.k8s.io/v1", true, false},
    {"ClusterRole", "rbac.authorization.k8s.io/v1", true, false},
    {"ClusterRoleBinding", "rbac.authorization.k8s.io/v1", true, false},
    {"ConfigMap", "v1", false, false},
    {"CronJob", "batch/v1", false, false},
    {"CustomResourceDefinition", "apiextensions.k8s.io/v1", true, false},
    {"DaemonSet", "apps/v1", false, false},
    {"Deployment", "apps/v1", false, false},
    {"Endpoints", "v1", false, false},
    {"HorizontalPodAutoscaler", "autoscaling/v2", false, false},
    {"Ingress", "networking.k8s.io/v1", false, false},
    {"IngressClass", "networking.k8s.io/v1", true, false},
    {"Job", "batch/v1", false, false},
    {"Lease", "coordination.k8s.io/v1", false, false},
    {"LimitRange", "v1", false, false},
    {"MutatingWebhookConfiguration", "admissionregistration.k8s.io/v1", true, false},
    {"Namespace", "v1", true, true},
    {"NetworkPolicy", "networking.k8s.io/v1", false, false},
    {"PersistentVolume", "v1", true, false},
    {"PersistentVolumeClaim", "v1", false, false},
    {"Pod", "v1", false, false},
    {"PodDisruptionBudget", "policy/v1", false, false},
    {"PriorityClass", "scheduling.k8s.io/v1", true, false},
    {"ReplicaSet", "apps/v1", false, false},
    {"ReplicationController", "v1", false, false},
    {"ResourceQuota", "v1", false, false},
    {"Role", "rbac.authorization.k8s.io/v1", false, false},
    {"RoleBinding", "rbac.authorization.k8s.io/v1", false, false},
    {"RuntimeClass", "node.k8s.io/v1", true, false},
    {"Secret", "v1", false, false},
    {"Service", "v1", false, true},
    {"ServiceAccount", "v1", false, false},
    {"StatefulSet", "apps/v1", false, false},
    {"StorageClass", "storage.k8s.io/v1", true, false},
    {"ValidatingWebhookConfiguration", "admissionregistration.k8s.io/v1", true, false},
};

static int cmp_kind(const void *key, const void *entry) {
  return strcmp(key, ((const kind_info *)entry)->kind);
}

const kind_info *kinds_find(const char *kind) {
  return bsearch(kind, table, sizeof table / sizeof table[0], sizeof table[0], cmp_kind);
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
    if (strcmp(order_first[i], kind) == 0) return i;
  for (int i = 0; i < 2; i++)
    if (strcmp(order_last[i], kind) == 0) return n + 1 + i;
  return n;
}
