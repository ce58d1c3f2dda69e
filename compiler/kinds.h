/* kinds.h: what the compiler knows of built-in Kubernetes kinds. */
#ifndef PLUMB_KINDS_H
#define PLUMB_KINDS_H

#include <stdbool.h>
#include <string.h>

typedef struct {
  const char *kind;
  const char *api_version; /* the version a resource literal gets by default */
  bool cluster_scoped;
  bool dns_label_name; /* name must be an RFC 1123 label (no dots, 63 chars) */
  const char *pod_spec; /* path of the pod spec in a Pod or a workload, or NULL */
  /* RBAC's names (ValidateRBACName): any but "." and "..", without '/'
   * or '%', as ClusterRole "system:aggregate-to-view" */
  bool path_segment_name;
} kind_info;

/* strcmp of two kinds, the first byte inline: most kinds that differ
 * differ there, and each resource is tried against the kinds of tables
 * and sorted by its own. */
static inline int kinds_cmp(const char *x, const char *y) {
  if (x[0] != y[0]) return (unsigned char)x[0] < (unsigned char)y[0] ? -1 : 1;
  return strcmp(x, y);
}
static inline bool kinds_same(const char *x, const char *y) { return kinds_cmp(x, y) == 0; }

/* NULL for kinds the compiler does not know (custom resources). */
const kind_info *kinds_find(const char *kind);

/* Install order: lower first (Namespace, CRDs, ... webhooks last); unknown
 * kinds sit after the known workload kinds, as kubectl users expect. */
int kinds_rank(const char *kind);

#endif
