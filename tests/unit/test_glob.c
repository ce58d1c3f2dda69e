/* test_glob.c: include and exclude patterns match what gobwas/glob, and so
 * Argo CD, matches with them (the cases of its docs and tests among them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "glob.h"

static arena *A;

static int setup(void **state) {
  A = arena_new();
  return 0;
}

static int teardown(void **state) {
  arena_free(A);
  return 0;
}

static bool match(const char *pattern, const char *path) {
  const char *err = NULL;
  pcre2_code *re = glob_compile(A, pattern, &err);
  if (!re) fail_msg("%s", err);
  pcre2_match_data *md = pcre2_match_data_create(1, NULL);
  const char *subject = glob_subject(A, path);
  int rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
  pcre2_match_data_free(md);
  pcre2_code_free(re);
  assert_true(rc >= 0 || rc == PCRE2_ERROR_NOMATCH);
  return rc >= 0;
}

static const char *refusal(const char *pattern) {
  const char *err = NULL;
  assert_null(glob_to_regex(A, pattern, &err));
  return err;
}

/* With no separator, * and ** match across directories alike. */
static void stars_match_any_characters_slashes_too(void **state) {
  assert_true(match("*.yaml", "a.yaml"));
  assert_true(match("*.yaml", "sub/deploy.yaml"));
  assert_false(match("*.yaml", "a.yml"));
  assert_false(match("*.yaml", "a.yaml.bak"));
  assert_true(match("**/*.yaml", "sub/deploy.yaml"));
  assert_false(match("**/*.yaml", "deploy.yaml"));
  assert_true(match("subdir/*", "subdir/a/b.yaml"));
  assert_true(match("subdir/deploymentSub.yaml", "subdir/deploymentSub.yaml"));
  assert_false(match("deploy", "deploy.yaml")); /* whole paths only */
}

static void a_question_mark_is_one_character(void **state) {
  assert_true(match("?.yaml", "a.yaml"));
  assert_true(match("?.yaml", "é.yaml")); /* a character, not a byte */
  assert_false(match("?.yaml", "ab.yaml"));
  assert_true(match("a?b", "a/b"));
}

static void braces_are_alternatives(void **state) {
  assert_true(match("{config.json,env-usw2/*}", "config.json"));
  assert_true(match("{config.json,env-usw2/*}", "env-usw2/configmap.yaml"));
  assert_false(match("{config.json,env-usw2/*}", "env-use2/configmap.yaml"));
  assert_true(match("{*.yml,*.yaml}", "a.yml"));
  assert_true(match("a{,b}c", "ac"));
  assert_true(match("{a,{b,c}d}", "cd"));
  assert_true(match("{a,b", "b"));         /* closed at the end, as gobwas does */
  assert_true(match("a,b}", "a,b}"));      /* plain outside braces */
  assert_false(match("a,b}", "a"));
}

static void brackets_hold_one_range_or_one_list(void **state) {
  assert_true(match("[a-c].yaml", "b.yaml"));
  assert_false(match("[a-c].yaml", "d.yaml"));
  assert_true(match("[!a-c].yaml", "d.yaml"));
  assert_true(match("[ab-].yaml", "-.yaml"));
  assert_true(match("[!ab].yaml", "c.yaml"));
  assert_false(match("[!ab].yaml", "a.yaml"));
  assert_true(match("[^a].yaml", "^.yaml")); /* ^ is no negation in gobwas */
  assert_true(match("[\\]].yaml", "].yaml"));
  assert_true(match("a].yaml", "a].yaml"));
}

static void a_backslash_makes_a_character_plain(void **state) {
  assert_true(match("\\*.yaml", "*.yaml"));
  assert_false(match("\\*.yaml", "a.yaml"));
  assert_true(match("a.(yaml)|x+", "a.(yaml)|x+")); /* nothing of PCRE2's is special */
  assert_false(match("a.yaml", "abyaml"));
  assert_true(match("ab\\", "ab")); /* dropped at the end */
}

static void patterns_gobwas_refuses_are_refused(void **state) {
  assert_non_null(strstr(refusal("[a-z0-9]*.yaml"), "a bracket holds one range, or one list of characters, then ]"));
  assert_non_null(strstr(refusal("[abc"), "a [ has no ]"));
  assert_non_null(strstr(refusal("[]"), "a bracket is empty"));
  assert_non_null(strstr(refusal("[z-a]"), "a range goes from a character to one after it"));
  assert_non_null(strstr(refusal("\xff.yaml"), "not valid UTF-8"));
  assert_string_equal(refusal("[a-"), "invalid pattern \"[a-\": a [ has no ]");
}

/* Go reads each stray byte as U+FFFD: `?` matches it, no literal does, and
 * nothing matches past it as if the path began there (PCRE2's
 * invalid-UTF mode did: "a.yaml" matched "\xffa.yaml", found by
 * fuzz_glob). */
static void a_path_that_is_not_utf8_matches_as_go_reads_it(void **state) {
  assert_false(match("a.yaml", "\xff" "a.yaml"));
  assert_false(match("", "\xff"));
  assert_true(match("?a.yaml", "\xff" "a.yaml"));
  assert_true(match("*.yaml", "sub/\xc3(.yaml"));
  assert_true(match("\xc3\xa9.yaml", "\xc3\xa9.yaml")); /* é, valid */
  assert_false(match("??.yaml", "\xc3\xa9.yaml"));
  assert_true(match("??.yaml", "\xed\xa0.yaml")); /* a surrogate's bytes: two stray ones */
  assert_string_equal(glob_subject(A, "x\xffy"), "x\xef\xbf\xbdy");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(stars_match_any_characters_slashes_too),
      cmocka_unit_test(a_question_mark_is_one_character),
      cmocka_unit_test(braces_are_alternatives),
      cmocka_unit_test(brackets_hold_one_range_or_one_list),
      cmocka_unit_test(a_backslash_makes_a_character_plain),
      cmocka_unit_test(patterns_gobwas_refuses_are_refused),
      cmocka_unit_test(a_path_that_is_not_utf8_matches_as_go_reads_it),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
