/* loader.h: reading source files, confined to the compiled root.
 *
 * The compiler is hermetic: it reads nothing outside its root, not through
 * "..", an absolute path or a symlink. Names handed out are root-relative,
 * so diagnostics and output are the same on every machine. The standard
 * library lives inside the binary under the names "std/NAME". */
#ifndef PLUMB_LOADER_H
#define PLUMB_LOADER_H

#include <stdint.h>

#include "plumb/arena.h"
#include "plumb/compile.h"

typedef struct loader loader;

/* root: a directory. Returns NULL (and *err) when it cannot be opened. */
loader *loader_new(arena *a, const char *root, const char **err);

/* A loader with no directory behind it: only files added with
 * loader_add_file or loader_add_unread exist (for compiling from memory, a
 * git tree, a fuzzer). reader, NULL when nothing is added unread, must
 * outlive l. */
loader *loader_new_memory(arena *a, const compile_reader *reader);
/* Adds or replaces a file by root-relative name; text must outlive l. */
void loader_add_file(loader *l, const char *name, const char *text, size_t len);
/* Adds or replaces a file whose text the reader gives, into l's arena, when
 * it is first read; file->data must outlive l. */
void loader_add_unread(loader *l, const compile_file *file);

/* Joins dir and path ("/"-separated, relative) and folds "." and ".." as
 * written, following no symlink. Returns NULL when the result would climb
 * above where dir is relative to. */
char *loader_fold(arena *a, const char *dir, const char *path);

/* Resolves `path` as written in file `from` (root-relative; NULL means the
 * root itself) to a root-relative name. Returns 0, or -1 with *err. */
int loader_resolve(loader *l, const char *from, const char *path, const char **name, const char **err);


/* Reads a root-relative name (or "std/NAME"). The text is NUL-terminated and
 * lives as long as the arena. Returns 0, or -1 with *err. */
int loader_read(loader *l, const char *name, const char **text, size_t *len, const char **err);

/* Reads a Plumb source as loader_read reads a file, then as
 * loader_source_text makes it: a Windows checkout (git's autocrlf, an
 * editor's byte order mark) builds what the plain files build, text
 * blocks, strings and positions alike. Data that file() reads stays byte
 * for byte as it is. */
int loader_read_source(loader *l, const char *name, const char **text, size_t *len, const char **err);

/* What loader_source_text found and took out. */
enum { LOADER_HAD_BOM = 1, LOADER_HAD_CRLF = 2 };
/* Drops a UTF-8 byte order mark at the start of *text and makes every CRLF
 * LF (a lone CR stays), in a copy in a where a CRLF is changed. Returns
 * the LOADER_HAD_ flags of what it changed, for fmt to put them back. */
int loader_source_text(arena *a, const char **text, size_t *len);

/* Lists the *.plumb files directly in a root-relative directory, sorted
 * (for a memory loader, a directory is any prefix of a file's name).
 * Returns the count (>= 0) or -1 with *err; *names lives in the arena. */
int loader_list(loader *l, const char *dir, const char ***names, const char **err);

/* A walk of a directory is bounded: the files and directories it meets,
 * all levels together, and how deep the directories nest. */
enum { LOADER_MAX_WALK = 100000, LOADER_MAX_WALK_DEPTH = 64 };

/* The files in a root-relative directory, and with recurse those of its
 * subdirectories at any depth, as root-relative names in the order Go's
 * filepath.Walk visits them (each directory's entries by name, the files
 * of a subdirectory at its name's place), which is Argo CD's. A symlink
 * counts as what it points to, inside the root, as for any file read; a
 * directory link to above itself is left out, as a git tree's reader
 * leaves it out. `.git` is left out: a checkout has it, a commit does
 * not. A name that cannot be read (a link to nothing, a named pipe) is
 * listed: reading it says why. Returns the count, or -1 with *err: dir is
 * no directory, cannot be listed, or the walk passes its bounds. */
int loader_walk(loader *l, const char *dir, bool recurse, const char ***names, const char **err);

/* Where the root-relative name is on disk, for writing it (plumb
 * convert); NULL for a loader with no directory behind it. */
const char *loader_disk_path(loader *l, const char *name);

/* True when the root-relative name is a directory. */
int loader_is_dir(loader *l, const char *name);

/* Remote trees. A kustomization's remote base is a directory of another
 * repository's tree (remote.h), read as the root is, confined to that
 * tree; its files are named KEY//PATH (KEY the tree's, remote_key), names
 * no path of the root can take, and paths written in them resolve inside
 * the tree. remote, which gives the trees, may be NULL: none then. */
void loader_set_remote(loader *l, const compile_remote *remote);
/* Makes the tree of url at ref readable under key, once; 0, or -1 with
 * *err (the tree was never fetched, or no remote is set). */
int loader_mount(loader *l, const char *key, const char *url, const char *ref, const char **err);

#endif
