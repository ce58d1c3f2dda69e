/* archive.h: a chart's archive, looked through before helm reads it.
 *
 * A chart of a repository comes as a gzipped tar archive (helm package
 * makes one). Helm reads it without writing it out, but takes an entry
 * that climbs out of the chart's directory for a vague "unable to load
 * chart archive", and a symlink or an absolute path for nothing at all
 * (it leaves the entry out, silently). An archive built to look like
 * something else is a mistake or an attack: plumb refuses any entry that
 * is not a plain file or directory under the chart's own directory, and
 * says which, before helm sees it. The archive is read within bounds: its
 * size unpacked, its entries. */
#ifndef PLUMB_ARCHIVE_H
#define PLUMB_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "plumb/arena.h"

enum {
  ARCHIVE_MAX_UNPACKED = 100 << 20, /* bytes, headers and all: Helm's bound on a chart */
  ARCHIVE_MAX_ENTRIES = 100000,
};

/* Whether the len bytes at data are a gzipped tar archive whose entries
 * are all plain files and directories under one top directory; false
 * with *why (in a) naming the first entry that is not, or what else is
 * wrong. */
bool archive_check(arena *a, const char *data, size_t len, const char **why);

/* A plain file of an archive: its name under the top directory
 * ("values.yaml", "templates/web.yaml") and its text, NUL-terminated. */
typedef struct {
  const char *name, *text;
  size_t len;
} archive_file;

/* The plain files of an archive archive_check passed, in a, *n of them;
 * false when it cannot be read. */
bool archive_files(arena *a, const char *data, size_t len, archive_file **files, size_t *n);

#endif
