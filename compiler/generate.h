/* generate.h: the ConfigMap and Secret generators, and the content hash
 * that Kustomize puts in the names of what its generators make.
 *
 * config_map(name, spec) and secret(name, spec) are built-ins returning an
 * ordinary resource marked with name_hash; the build appends the hash last,
 * after the env's patches and transformers, so the hash covers what is
 * deployed even when the env changed the generated data. */
#ifndef PLUMB_GENERATE_H
#define PLUMB_GENERATE_H

#include "builtin.h"

value *generate_config_map(eval *ev, pos at, value **argv, int argc);
value *generate_secret(eval *ev, pos at, value **argv, int argc);

/* The 10-character hash Kustomize derives from a ConfigMap's data and
 * binaryData, or a Secret's type, data and stringData. */
const char *generate_content_hash(arena *a, const value *res);

#endif
