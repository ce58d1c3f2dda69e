/* glob.h: the include and exclude patterns of a YAML directory.
 *
 * They are Argo CD's (spec.source.directory.include, exclude), which it
 * matches with gobwas/glob given no separator, against a file's path
 * relative to the directory: `*` and `**` match any characters, `/`
 * included; `?` one character; `[abc]`, `[a-z]` and `[!...]` one
 * character of a list or a range, or not of it; `{*.yml,*.yaml}` any of the
 * patterns between the commas; `\` makes the next character plain. A
 * pattern is translated into a PCRE2 expression, so that matching goes
 * through regex.h and its budget of work. */
#ifndef PLUMB_GLOB_H
#define PLUMB_GLOB_H

#include "plumb/arena.h"
#include "regex.h"

/* The PCRE2 expression that matches what pattern matches, whole paths
 * only (in a); NULL with *err (in a) when gobwas/glob refuses the
 * pattern, which Argo CD then ignores: a file would match nothing. */
const char *glob_to_regex(arena *a, const char *pattern, const char **err);

/* pattern compiled; NULL with *err (in a). The caller frees it with
 * pcre2_code_free. */
pcre2_code *glob_compile(arena *a, const char *pattern, const char **err);

/* path as a compiled pattern matches it (in a, or path itself when it is
 * valid UTF-8): each byte that starts no UTF-8 sequence becomes U+FFFD,
 * as Go reads such a string rune by rune, so that `?` matches it and no
 * literal does. */
const char *glob_subject(arena *a, const char *path);

#endif
