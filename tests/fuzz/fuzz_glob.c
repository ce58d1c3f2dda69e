/* fuzz_glob.c: libFuzzer target for the include and exclude patterns of a
 * YAML directory (glob.h).
 *
 * The input is a pattern, a newline, and a path. Any pattern must either
 * be refused with words or translate into an expression PCRE2 compiles;
 * what compiles is matched against the path (made valid UTF-8 as the
 * directory's reader makes it) under a small match limit, which PCRE2
 * must never refuse. A pattern of valid UTF-8 with no special character
 * matches exactly itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "glob.h"

static bool plain(const char *s) { return !strpbrk(s, "*?[]{}\\,!"); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096 || memchr(data, '\0', size)) return 0;
  arena *a = arena_new();
  char *text = arena_strndup(a, (const char *)data, size);
  char *path = strchr(text, '\n');
  if (path) *path++ = '\0';
  else path = "";
  const char *err = NULL;
  pcre2_code *re = glob_compile(a, text, &err);
  if (!re && (!err || !*err)) abort(); /* refused without words */
  if (re) {
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(mc, 100000);
    const char *subject = glob_subject(a, path), *own = glob_subject(a, text);
    int rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, mc);
    int self = pcre2_match(re, (PCRE2_SPTR)own, strlen(own), 0, 0, md, mc);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH && rc != PCRE2_ERROR_MATCHLIMIT) abort(); /* a subject PCRE2 refuses */
    if (plain(text) && own == text && (self < 0 || (rc >= 0) != (strcmp(own, subject) == 0))) abort();
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
  }
  arena_free(a);
  return 0;
}
