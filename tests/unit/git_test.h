/* git_test.h: the fixture of the git source's tests, a temp dir tmp that
 * holds origin/, a git repository of examples/nginx (branch main, tags v1
 * and v1-annotated), and shell commands that must succeed. Include after
 * cmocka.h. */
#ifndef PLUMB_GIT_TEST_H
#define PLUMB_GIT_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/source.h"

static char tmp[64];
static char cache[128]; /* tmp/cache */

static void sh(const char *fmt, ...) {
  char cmd[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  assert_int_equal(system(cmd), 0);
}

/* The first line a command prints. */
static char *sh_out(const char *fmt, ...) {
  char cmd[1024];
  static char line[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  assert_non_null(fgets(line, sizeof line, p));
  pclose(p);
  line[strcspn(line, "\n")] = '\0';
  return line;
}

static void commit_all(const char *message) { sh("cd %s/origin && git add -A && git commit -qm '%s'", tmp, message); }

/* Makes tmp (/tmp/plumb-NAME-XXXXXX) and origin/ in it. */
static void git_test_make_origin(const char *name) {
  snprintf(tmp, sizeof tmp, "/tmp/plumb-%s-XXXXXX", name);
  assert_non_null(mkdtemp(tmp));
  /* git reads no configuration of this machine's user. */
  setenv("HOME", tmp, 1);
  setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
  setenv("GIT_AUTHOR_NAME", "Test", 1);
  setenv("GIT_AUTHOR_EMAIL", "test@example.com", 1);
  setenv("GIT_COMMITTER_NAME", "Test", 1);
  setenv("GIT_COMMITTER_EMAIL", "test@example.com", 1);
  sh("git init -q -b main %s/origin && cp -R examples/nginx/. %s/origin/", tmp, tmp);
  commit_all("nginx");
  sh("cd %s/origin && git tag v1 && git tag -a v1-annotated -m 'release one'", tmp);
  snprintf(cache, sizeof cache, "%s/cache", tmp);
}

static void git_test_remove(void) { sh("rm -rf %s", tmp); }

static source_repo *open_source(const char *url, const source_creds *creds) {
  source_repo *s = NULL;
  char *err = NULL;
  source_opts o = {.url = url, .cache_dir = cache, .creds = creds};
  int rc = source_open(&s, &o, &err);
  if (rc) fail_msg("source_open: %s", err);
  return s;
}

/* A fetch with a source of its own: its return code, and its error in
 * error. */
static int fetch_once(const char *url, const source_creds *creds, char *error, size_t size) {
  source_repo *s = open_source(url, creds);
  int rc = source_fetch(s, NULL);
  snprintf(error, size, "%s", source_last_error(s));
  source_free(s);
  return rc;
}

#endif
