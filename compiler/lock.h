/* lock.h: plumb.lock, the pins of a directory's remote charts.
 *
 * helm_chart() may render a chart of a chart repository or an OCI
 * registry (docs/language.md 8.5). What it asks for ("^6.5") may name
 * another version tomorrow, and a version's archive may be pushed again:
 * a build must not change under its writer. plumb.lock, beside the .plumb
 * files that name the charts and committed with them, pins each (its
 * repository, name and version as asked) to a version and the SHA-256 of
 * its archive, as Chart.lock pins a chart's dependencies. `plumb fetch`
 * writes it; a build reads it and renders nothing it does not pin. */
#ifndef PLUMB_LOCK_H
#define PLUMB_LOCK_H

#include "loader.h"

/* A lock's entries, in name's words: 0 with *pins (in a) and *n, none
 * when there is no such file; -1 after reporting into d at the file's
 * line and column what is malformed. */
int lock_read(loader *l, arena *a, diag_list *d, const char *name, compile_chart **pins, size_t *n);

/* The pin of the chart repo, chart, version among n, or NULL. */
const compile_chart *lock_find(const compile_chart *pins, size_t n, const char *repo, const char *chart,
                               const char *version);

/* Whether s is "sha256:" and 64 lower-case hex digits. */
bool lock_digest_ok(const char *s);

#endif
