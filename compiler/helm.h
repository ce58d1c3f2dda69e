/* helm.h: Helm charts, rendered by helm itself.
 *
 * The built-in helm_chart() and `plumb build DIR` on a directory holding
 * Chart.yaml render a chart of the repository with `helm template`, as
 * Argo CD's repository server does, so that templates, subcharts, library
 * charts, tpl and values.schema.json behave as users know them; the
 * resources that come out are like any other (patches, settings and
 * plumb explain reach them). docs/language.md, 8.5, has the rules. */
#ifndef PLUMB_HELM_H
#define PLUMB_HELM_H

#include "eval.h"

/* Whether the root-relative directory dir holds a Chart.yaml. */
bool helm_is_chart(loader *l, const char *dir);

/* The resources of the chart in the root-relative directory dir, as
 * `plumb build DIR` renders it (Argo CD's defaults): the release named
 * release (NULL: after the directory), in namespace (NULL: "default"),
 * with the chart's own values and its CRDs. NULL after reporting at `at`. */
value *helm_render_dir(eval *ev, pos at, const char *dir, const char *release, const char *namespace);

/* The built-in helm_chart(path, options): the resources of the chart in
 * the directory path names (relative to the calling file, as file()
 * resolves a path), with options { release, namespace, values,
 * values_files, include_crds, kube_version, api_versions, random }. */
value *helm_builtin(eval *ev, pos at, value **argv, int argc);

#endif
