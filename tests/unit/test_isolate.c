/* test_isolate.c: a compile in a child process (source_isolate) gives its
 * result back; one that loops, swallows memory, hangs or crashes is
 * stopped by its limits with a clear reason, and the parent goes on, with
 * no child left behind. The child holds none of the parent's connections
 * and no environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plumb/emit.h"
#include "plumb/source.h"

#include "hostile_test.h"

#define GOOD "env dev {\n  ConfigMap \"c\" { data: { a: \"1\" } }\n}\n"

static compile_result *compile_text(void *text) {
  return compile_source("main.plumb", text, strlen(text), NULL);
}

static compile_result *isolated(const source_limits *l, compile_result *(*compile)(void *), void *ctx,
                                char **why, bool *lasting) {
  return source_isolate(l, NULL, compile, ctx, why, lasting);
}

static void a_good_compile_comes_back_whole(void **state) {
  char *why;
  bool lasting;
  compile_result *r = isolated(&source_default_limits, compile_text, GOOD, &why, &lasting);
  assert_null(why);
  assert_non_null(r);
  assert_string_equal(r->env, "dev");
  assert_int_equal(r->nres, 1);
  const value *a = value_get_path(r->res[0].obj, "data.a");
  assert_string_equal(a->at.file, "main.plumb");
  assert_int_equal(a->at.line, 2);
  assert_int_equal(a->at.col, 30);
  compile_free(r);
}

/* Its diagnostics quote their lines as an in-process compile's would. */
static void a_failed_compile_keeps_its_messages(void **state) {
  char *why;
  bool lasting;
  compile_result *r = isolated(&source_default_limits, compile_text, "env dev { x }\n", &why, &lasting);
  assert_null(why);
  assert_true(r->diags.errors > 0);
  assert_non_null(r->diags.sources);
  compile_free(r);
}

/* compile(ctx) under l gives no result, but why, lasting or not. */
static void assert_stopped(const source_limits *l, compile_result *(*compile)(void *), void *ctx, const char *want,
                           bool lasting_want) {
  char *why;
  bool lasting;
  assert_null(isolated(l, compile, ctx, &why, &lasting));
  assert_string_equal(why, want);
  assert_int_equal(lasting, lasting_want);
  free(why);
}

static void a_loop_is_stopped_by_the_cpu_limit(void **state) {
  source_limits l = source_default_limits;
  l.cpu_s = 1;
  assert_stopped(&l, compile_text, HOSTILE_BURN, "exceeded its CPU time limit of 1 s", true);
}

static void memory_is_stopped_by_the_memory_limit(void **state) {
  source_limits l = source_default_limits;
  l.memory_mib = 64;
  assert_stopped(&l, compile_text, HOSTILE_SWALLOW, "exceeded its memory limit of 64 MiB", true);
  /* The same with room compiles. */
  char *why;
  bool lasting;
  compile_result *r = isolated(&source_default_limits, compile_text, HOSTILE_SWALLOW, &why, &lasting);
  assert_null(why);
  assert_int_equal(r->nres, 1);
  compile_free(r);
}

static _Noreturn compile_result *hang(void *ctx) {
  for (;;) pause();
}

/* The wall clock is the moment's: not lasting. */
static void a_hang_is_stopped_by_the_wall_clock(void **state) {
  source_limits l = source_default_limits;
  l.wall_s = 2;
  assert_stopped(&l, hang, NULL, "was stopped after 2 s, its time limit", false);
}

static _Noreturn compile_result *crash(void *ctx) { abort(); }

static void a_crash_is_a_crash(void **state) {
  assert_stopped(&source_default_limits, crash, NULL, "crashed (Aborted)", true);
}

static _Noreturn compile_result *killed(void *ctx) {
  raise(SIGKILL);
  abort();
}

/* As the kernel kills when a container's memory runs out: lasting. */
static void a_kill_reads_as_the_containers_memory(void **state) {
  assert_stopped(&source_default_limits, killed, NULL, "was killed (SIGKILL): its container ran out of memory?", true);
}

/* What the child can reach, as an env's name: the parent's socket, its
 * environment, files beyond the limit; and whether it is the first the
 * kernel kills when memory runs out. */
static compile_result *look_around(void *ctx) {
  bool closed = fcntl(*(int *)ctx, F_GETFD) < 0; /* before its number is taken again */
  char score[16] = "";
  FILE *f = fopen("/proc/self/oom_score_adj", "r");
  if (f && !fgets(score, sizeof score, f)) *score = '\0';
  if (f) fclose(f);
  int opened = 0;
  while (open("/dev/null", O_RDONLY) >= 0) opened++;
  char text[128];
  snprintf(text, sizeof text, "env %s_%s_%s_%s {}\n", closed ? "closed" : "open", getenv("HOME") ? "env" : "noenv",
           opened < 32 ? "few" : "many", strcmp(score, "1000\n") == 0 ? "first" : "later");
  return compile_text(text);
}

static void the_child_has_no_connection_environment_or_files(void **state) {
  source_limits l = source_default_limits;
  l.files = 32;
  int sock = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(sock >= 0);
  setenv("HOME", "/root", 0);
  char *why;
  bool lasting;
  compile_result *r = isolated(&l, look_around, &sock, &why, &lasting);
  assert_null(why);
  assert_string_equal(r->env, "closed_noenv_few_first");
  assert_true(fcntl(sock, F_GETFD) >= 0); /* the parent's is open */
  compile_free(r);
  close(sock);
}

static void no_child_is_left_behind(void **state) {
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

static void limits_are_read_from_their_flag(void **state) {
  source_limits l = source_default_limits;
  char *err = NULL;
  assert_int_equal(source_limits_parse(&l, "memory=2Gi,cpu=30s,wall=2m,files=128", &err), 0);
  assert_int_equal(l.memory_mib, 2048);
  assert_int_equal(l.cpu_s, 30);
  assert_int_equal(l.wall_s, 120);
  assert_int_equal(l.files, 128);
  const char *bad[] = {"memory=2G", "cpu=0s", "files=3", "disk=1Gi", "cpu", "memory=0Mi"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(source_limits_parse(&l, bad[i], &err), -1);
    assert_non_null(strstr(err, bad[i]));
    free(err);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_good_compile_comes_back_whole),
      cmocka_unit_test(a_failed_compile_keeps_its_messages),
      cmocka_unit_test(a_loop_is_stopped_by_the_cpu_limit),
      cmocka_unit_test(memory_is_stopped_by_the_memory_limit),
      cmocka_unit_test(a_hang_is_stopped_by_the_wall_clock),
      cmocka_unit_test(a_crash_is_a_crash),
      cmocka_unit_test(a_kill_reads_as_the_containers_memory),
      cmocka_unit_test(the_child_has_no_connection_environment_or_files),
      cmocka_unit_test(no_child_is_left_behind),
      cmocka_unit_test(limits_are_read_from_their_flag),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
