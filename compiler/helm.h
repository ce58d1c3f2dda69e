/* helm.h: Helm charts, rendered by helm itself.
 *
 * The built-in helm_chart() renders a chart of the repository with `helm
 * template`, as Argo CD's repository server does, so that templates,
 * subcharts, library charts, tpl and values.schema.json behave as users
 * know them; the resources that come out are like any other (patches,
 * settings and plumb explain reach them). docs/language.md, 8.5, has the
 * rules. */
#ifndef PLUMB_HELM_H
#define PLUMB_HELM_H

#include "eval.h"

/* The built-in helm_chart(path, options): the resources of the chart in
 * the directory path names (relative to the calling file, as file()
 * resolves a path), with options { release, namespace, values,
 * values_files, include_crds, kube_version, api_versions, random }. */
value *helm_builtin(eval *ev, pos at, value **argv, int argc);

#endif
