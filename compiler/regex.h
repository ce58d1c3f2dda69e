/* regex.h: PCRE2 matching under the compile's budget of work.
 *
 * A backtracking pattern can take exponential time on a short string, and
 * PCRE2 only stops it after match_limit steps (ten million by default,
 * about a tenth of a second): a loop of such matches would run for hours
 * inside the memory limit. Every match of the compiler goes through here,
 * so that its steps are counted with the rest of the compile's work. */
#ifndef PLUMB_REGEX_H
#define PLUMB_REGEX_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "builtin.h"

/* pcre2_match, charged to ev; a budget that runs out ends it with
 * PCRE2_ERROR_MATCHLIMIT, as PCRE2's own limit does. */
int regex_match(eval *ev, pos at, const pcre2_code *re, PCRE2_SPTR s, PCRE2_SIZE len, PCRE2_SIZE off, uint32_t opts,
                pcre2_match_data *md);
/* pcre2_substitute likewise (it matches once per replacement). */
int regex_substitute(eval *ev, pos at, const pcre2_code *re, PCRE2_SPTR s, PCRE2_SIZE len, uint32_t opts,
                     PCRE2_SPTR rep, PCRE2_SIZE rlen, PCRE2_UCHAR *out, PCRE2_SIZE *outlen);

#endif
