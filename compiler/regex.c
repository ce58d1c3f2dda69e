/* regex.c: PCRE2 matching under the compile's budget of work (regex.h). */
#include "regex.h"

#include <stdlib.h>

/* Each try runs with a limit a hundred times the last one's, up to
 * PCRE2's own default: most patterns finish within the first, and only
 * one that backtracks hard pays for the large limits. A try costs the
 * budget one step for every STEPS of its limit, about what an evaluated
 * expression costs in time. */
static const uint32_t limits[] = {1000, 100000, 10000000};
enum { STEPS = 8 };

typedef int (*try_fn)(const pcre2_code *re, pcre2_match_context *mc, void *args);

static int with_limits(eval *ev, pos at, const pcre2_code *re, try_fn try, void *args) {
  pcre2_match_context *mc = pcre2_match_context_create(NULL);
  if (!mc) abort();
  int rc = PCRE2_ERROR_MATCHLIMIT;
  for (size_t i = 0; i < sizeof limits / sizeof *limits && rc == PCRE2_ERROR_MATCHLIMIT; i++) {
    if (!eval_charge(ev, at, limits[i] / STEPS)) break;
    pcre2_set_match_limit(mc, limits[i]);
    rc = try(re, mc, args);
  }
  pcre2_match_context_free(mc);
  return rc;
}

typedef struct {
  PCRE2_SPTR s;
  PCRE2_SIZE len, off;
  uint32_t opts;
  pcre2_match_data *md;
} match_args;

static int try_match(const pcre2_code *re, pcre2_match_context *mc, void *args) {
  match_args *m = args;
  return pcre2_match(re, m->s, m->len, m->off, m->opts, m->md, mc);
}

int regex_match(eval *ev, pos at, const pcre2_code *re, PCRE2_SPTR s, PCRE2_SIZE len, PCRE2_SIZE off, uint32_t opts,
                pcre2_match_data *md) {
  match_args m = {s, len, off, opts, md};
  return with_limits(ev, at, re, try_match, &m);
}

typedef struct {
  PCRE2_SPTR s, rep;
  PCRE2_SIZE len, rlen;
  uint32_t opts;
  PCRE2_UCHAR *out;
  PCRE2_SIZE *outlen, room;
} subst_args;

static int try_substitute(const pcre2_code *re, pcre2_match_context *mc, void *args) {
  subst_args *a = args;
  *a->outlen = a->room; /* a failed try wrote what it needed there */
  return pcre2_substitute(re, a->s, a->len, 0, a->opts, NULL, mc, a->rep, a->rlen, a->out, a->outlen);
}

int regex_substitute(eval *ev, pos at, const pcre2_code *re, PCRE2_SPTR s, PCRE2_SIZE len, uint32_t opts,
                     PCRE2_SPTR rep, PCRE2_SIZE rlen, PCRE2_UCHAR *out, PCRE2_SIZE *outlen) {
  subst_args a = {s, rep, len, rlen, opts, out, outlen, *outlen};
  return with_limits(ev, at, re, try_substitute, &a);
}
