/* suggest.h: the "did you mean" of messages, for names one typo away. */
#ifndef PLUMB_SUGGEST_H
#define PLUMB_SUGGEST_H

#include <stddef.h>

/* Edits from a to b: a character inserted, deleted or changed, or two
 * neighbours swapped (`ture` is one from `true`); 99 for words over 64
 * bytes. */
unsigned edit_distance(const char *a, const char *b);

/* The word of words[0..n) nearest to name within the distance a typo makes
 * (1 for names of up to 4 bytes, else 2), or NULL; the first of equals. */
const char *nearest_word(const char *name, const char *const *words, size_t n);

/* The module of the standard library that declares name at its top level
 * (its base name: "web" for std/web), or NULL: for the message about an
 * unknown name that an import would bring. */
const char *stdlib_declaring(const char *name);

#endif
