/* yaml.h: YAML text in, values out (through libyaml).
 *
 * Reads YAML the way Kubernetes does (sigs.k8s.io/yaml, YAML 1.1 rules):
 * yes/no/on/off are booleans, 0777 is octal, anchors and aliases expand. Every
 * node keeps its file:line:col. */
#ifndef PLUMB_YAML_H
#define PLUMB_YAML_H

#include "plumb/diag.h"
#include "plumb/value.h"

/* Parses every document of text into a list value (*out). Returns 0, or -1
 * after adding an error naming file:line:col and libyaml's reason to d.
 * `file` is the root-relative name used in positions. Empty documents are
 * skipped. */
int yaml_read(arena *a, diag_list *d, const char *file, const char *text,
              size_t len, value **out);
/* As yaml_read, but a key written twice in a mapping takes its last value,
 * as sigs.k8s.io/yaml's Unmarshal (not UnmarshalStrict) reads it: how
 * Argo CD's tests read their inputs (tests/health_runner.c). */
int yaml_read_loose(arena *a, diag_list *d, const char *file, const char *text, size_t len, value **out);
/* As yaml_read, with go-yaml v3's booleans, as Kustomize (kyaml) reads
 * resources and patches: only true and false are booleans; y, yes, on,
 * n, no and off are strings. */
int yaml_read_v3(arena *a, diag_list *d, const char *file, const char *text, size_t len, value **out);
/* As yaml_read, for JSON text: a plain scalar must be null, true, false or
 * a JSON number (so 0777 and yes are errors, not 511 and true), and a
 * number out of range is an error. */
int yaml_read_json(arena *a, diag_list *d, const char *file, const char *text, size_t len, value **out);

#endif
