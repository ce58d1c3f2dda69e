/* schema.h: resources checked against Kubernetes' own schemas.
 *
 * The schemas of the built-in kinds are the API server's OpenAPI v3
 * documents, cut down to what is checked (schemas/README.md) and compiled
 * into plumb, one set for each Kubernetes version embedded (the versions
 * are listed by compile.h); a set is read once per process, when the
 * first build that checks against it starts. Custom resources are checked against the schemas of the
 * CustomResourceDefinitions built with them. */
#ifndef PLUMB_SCHEMA_H
#define PLUMB_SCHEMA_H

#include "builtin.h"
#include "plumb/arena.h"
#include "plumb/diag.h"
#include "plumb/value.h"

/* The annotation that turns the check off for one resource ("false"). */
#define SCHEMA_ANNOTATION "plumb.dev/validate"

/* What the checks of one build share: the kinds its
 * CustomResourceDefinitions define, with their schemas, and the parts of
 * its values already checked. It lives in the build's arena. */
typedef struct schema_build schema_build;

/* In ev's arena; the checks charge their patterns to ev's budget of work.
 * version: an embedded version as compile_kube_version gives it
 * ("v1.35.4"), or NULL for the newest. */
schema_build *schema_build_new(eval *ev, const char *version);
/* Adds the kinds res defines if it is a CustomResourceDefinition
 * (apiextensions.k8s.io/v1), one for each version with a schema; any other
 * resource is passed over. A pattern in the schema that does not compile
 * is reported where the CRD wrote it, as the API server refuses the CRD. */
void schema_add_crd(schema_build *b, const value *res);

/* Reports every field of res the API server would refuse: unknown fields,
 * wrong types, values outside an enum, bad quantities, missing required
 * fields; for a custom resource, the value validations of its CRD's
 * schema too (patterns, limits, formats, anyOf, ...; not CEL rules). Kinds neither the embedded schemas nor b's CRDs hold pass, and
 * so does a resource whose SCHEMA_ANNOTATION is "false". A part of a
 * value that a template wrote literally, shared by many resources, is
 * checked (and its mistakes reported) once in b. False if there was any
 * new problem. */
bool schema_check(diag_list *d, schema_build *b, const value *res);

/* Whether res's SCHEMA_ANNOTATION is "false". */
bool schema_unchecked(const value *res);

/* res without SCHEMA_ANNOTATION, which is for the compiler alone: res
 * itself when it has none, else a copy (res is not changed). */
value *schema_strip(arena *a, value *res);

/* The Kubernetes version whose schemas b checks against: "v1.36.3". */
const char *schema_version(const schema_build *b);

#endif
