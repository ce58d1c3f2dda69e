/* save.h: what the command line writes to files, never leaving a partial
 * result behind: `plumb fmt`'s rewrites and `plumb build --out-dir`. Each
 * writes beside its target and renames into place, so a full disk, a
 * file-size limit (once SIGXFSZ is ignored, as `plumb` does) or a crash
 * leaves the target as it was. */
#ifndef PLUMB_SAVE_H
#define PLUMB_SAVE_H

#include <stddef.h>

#include "plumb/compile.h"

#include <stdbool.h>

/* Writes the n bytes of data to fd, through short writes and signals;
 * false with errno set when it cannot. */
bool save_write(int fd, const char *data, size_t n);

/* Replaces the file at path (through a symbolic link, keeping its mode)
 * with the n bytes of data, or makes it when there is none. 0, or 2 after
 * saying why. */
int save_file(const char *path, const char *data, size_t n);

/* The file name of each resource of r (in a): RR_kind_[namespace_]name.yaml,
 * RR the install rank of the kind (kinds_rank), so that the names sort in
 * install order of their kinds and do not change when a resource is added
 * or removed. Lower case, only [a-z0-9.-_], a stem of at most 200 bytes
 * (a longer one is cut and ends in a hash of it); names that would be
 * equal get _2, _3, ... in install order. */
const char **save_names(arena *a, const compile_result *r);

/* Writes the resources of r, one YAML file each, as directory dir: a new
 * directory beside it, then renamed over it, the old one removed last. dir
 * must be new, empty, or one an earlier call wrote (its marker file lists
 * what it holds): nothing else is deleted. 0, or 2 after saying why. */
int save_dir(const char *dir, const compile_result *r);

#endif
