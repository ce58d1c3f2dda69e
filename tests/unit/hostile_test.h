/* hostile_test.h: commits that would exhaust a compile's CPU or memory,
 * for the tests of the limits a compile runs under. */
#ifndef PLUMB_HOSTILE_TEST_H
#define PLUMB_HOSTILE_TEST_H

/* Backtracks some 2^28 / 2 steps, within PCRE2's match limit, a million
 * times: a commit that would compile for days, in little memory. */
#define HOSTILE_BURN                                                                                       \
  "let a = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaab\"\n"                                                            \
  "let burn = [re_match(\"^(a|aa)*$\", a) for i in range(1000000)]\n"                                      \
  "env dev { ConfigMap \"c\" { data: { n: \"${len(burn)}\" } } }\n"
/* Some 250 MiB of lists, under the compiler's own 1 GiB. */
#define HOSTILE_SWALLOW                                                                                    \
  "let big = [[i, i, i, i] for i in range(1000000)]\n"                                                     \
  "env dev { ConfigMap \"c\" { data: { n: \"${len(big)}\" } } }\n"

#endif
