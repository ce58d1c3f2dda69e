/* helmvalues.h: which value of a chart's values fed a field of its
 * resources, for plumb explain.
 *
 * helm renders text: nothing in its output says which value a field came
 * from. Plumb tells it where it can tell, and says nothing otherwise
 * (docs/language.md 8.5): the field's rendered scalar is compared with
 * the leaves of the values helm used, merged as Helm merges them (the
 * chart's values.yaml, each values file in turn, the values object; the
 * last that sets a path wins, null removes it), each with its position.
 * A value is named only when exactly one path has the field's value, and
 * that value is a string of HELMVALUES_MIN_TEXT bytes or more, or the
 * line of the chart's template the field stands at quotes that path
 * (`.Values.image.tag`); never when the template line writes the value
 * itself. Fields of a subchart's templates are not traced: their values
 * are the subchart's, under other paths. Nothing is worked out until
 * plumb explain asks. */
#ifndef PLUMB_HELMVALUES_H
#define PLUMB_HELMVALUES_H

#include "archive.h"
#include "eval.h"

enum { HELMVALUES_MIN_TEXT = 4 }; /* bytes of a string value named without the template's word */

/* A file a chart is rendered with, as helm is given it: "chart/REL" a
 * file of the chart's directory, "chart.tgz" the archive of a chart of a
 * repository, "values/N.yaml" the Nth values file, "values/plumb.json"
 * the values object. */
typedef archive_file helm_file;

typedef struct {
  const char *via;     /* the tag of its resources ("chart web 1.2.0"), which explain finds them by */
  const char *dir;     /* the root-relative directory its rendered templates are named in */
  const char *release; /* what their names end in: " (release web)" */
  const helm_file *files;
  size_t nfiles;
  /* The repository's name of each values/N.yaml; NULL for one decrypted
   * from a file SOPS encrypted, whose values are never told. */
  const char *const *values_names;
  const value *values;             /* the values object, or NULL */
} helmvalues_chart;

/* Remembers c, which the compile of ev rendered, for plumb explain: its
 * strings, files and values must live as long as ev's arena. */
void helmvalues_add(eval *ev, const helmvalues_chart *c);

/* When v is a field of a chart's resource as helm rendered it, and one
 * path of the values it was rendered with fed it (above), appends
 * "    fed by   .Values.PATH = VALUE from FILE:LINE:COL\n". sources are
 * the compile's (its rendered templates among them); what is worked out
 * is kept in the compile's arena. */
void helmvalues_explain(buf *out, helm_seen *seen, const source *sources, const value *v);

#endif
