/* waves.h: the order a sync applies objects in, as Argo CD orders them.
 *
 * Objects go by sync wave, lowest first; within a wave by kind, in
 * gitops-engine's order (Namespace, NetworkPolicy, ResourceQuota, ... ,
 * Ingress, APIService, then every other kind, custom resources among
 * them); then by name. As in gitops-engine, a Namespace moves up to just
 * before the first object that lives in it, and a CRD to just before the
 * first of its custom resources, joining that object's wave: what an
 * object needs is never applied after it. */
#ifndef PLUMB_WAVES_H
#define PLUMB_WAVES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* An object's wave: Plumb's annotation when it has it, else Argo CD's (so
 * manifests moved from Argo CD keep their waves), else 0. */
#define WAVES_ANNOTATION "plumb.dev/sync-wave"
#define WAVES_ARGO_ANNOTATION "argocd.argoproj.io/sync-wave"

/* obj's wave into *wave. False when the annotation that decides it is not
 * a decimal integer ("-1", "0", "+2"); *why then names it and its value
 * (caller frees). */
bool waves_parse(const json_t *obj, long *wave, char **why);

/* The sync order of objs[0..n), whose waves parse: step k applies
 * objs[order[k]], in wave[k]. Objects naming no namespace live in
 * default_ns. */
void waves_sort(const json_t *const *objs, size_t n, const char *default_ns, size_t *order, long *wave);

#endif
