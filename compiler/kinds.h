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
} kind_info;

/* Whether kinds x and y are the same; the first byte inline, as the kinds
 * of the tables each resource is tried against mostly differ there. */
static inline bool kinds_same(const char *x, const char *y) { return x[0] == y[0] && strcmp(x, y) == 0; }

/* NULL for kinds the compiler does not know (custom resources). */
const kind_info *kinds_find(const char *kind);

/* Install order: lower first (Namespace, CRDs, ... webhooks last); unknown
 * kinds sit after the known workload kinds, as kubectl users expect. */
int kinds_rank(const char *kind);

#endif
