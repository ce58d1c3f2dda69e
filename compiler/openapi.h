/* openapi.h: merge keys read from an OpenAPI document.
 *
 * A kustomization's `openapi: {path: FILE}` names a Swagger 2 document
 * whose definitions give strategic merge patches the merge keys of custom
 * kinds (Kustomize's kyaml reads it so): a definition with
 * x-kubernetes-group-version-kind is a kind's type; a property with
 * x-kubernetes-patch-strategy "merge" is a list merged by its
 * x-kubernetes-list-map-keys, or its x-kubernetes-patch-merge-key, or, with
 * neither, a set of scalars; $ref ("#/definitions/NAME"), items and
 * additionalProperties lead on. */
#ifndef PLUMB_OPENAPI_H
#define PLUMB_OPENAPI_H

#include "eval.h"
#include "merge.h"

/* Types, kinds and fields at most, and definitions nested at most this
 * deep: a hostile document is bounded. */
enum { OPENAPI_MAX_SIZE = 200000, OPENAPI_MAX_DEPTH = 64 };

/* The merge keys of doc, an OpenAPI document read from `file`; NULL after
 * reporting what is wrong with it. */
merge_schema *openapi_merge_keys(eval *ev, const value *doc);

#endif
