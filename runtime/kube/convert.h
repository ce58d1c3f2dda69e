/* convert.h: compiler values and API JSON, one into the other. */
#ifndef PLUMB_KUBE_CONVERT_H
#define PLUMB_KUBE_CONVERT_H

#include <jansson.h>

#include "plumb/value.h"

json_t *kube_json_from_value(const value *v);          /* caller decrefs */
value *kube_json_to_value(arena *a, const json_t *j);  /* lives in a */
char *kube_json_to_yaml(const json_t *j);              /* caller frees */

#endif
