/* edit.h: how far apart two words are, for "did you mean" hints. */
#ifndef PLUMB_EDIT_H
#define PLUMB_EDIT_H

/* Levenshtein distance: insertions, deletions and substitutions of one
 * byte each. Words longer than 64 bytes are 99 apart from everything: no
 * hint is worth a quadratic table for them. */
unsigned edit_distance(const char *a, const char *b);

#endif
