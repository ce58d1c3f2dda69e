/* test_window.c: cron schedules and sync windows (runtime/source/window.c),
 * at times given, in UTC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "plumb/app.h"

/* 2026-12-07 (a Monday) at hh:mm UTC. */
static time_t monday(int hh, int mm) { return 1796601600 + hh * 3600 + mm * 60; }

static void schedules_read_as_cron_reads_them(void **state) {
  app_cron c;
  const char *good[] = {"0 22 * * *", "*/15 9-17 * * mon-fri", "0 0 1,15 * *", "30 2 * jan,jul 0", "@daily",
                        "5 4 * * 7", "0 0-23/6 * * *"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    if (!app_cron_parse(good[i], &c)) fail_msg("refused %s", good[i]);
  const char *bad[] = {"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
                       "* * * * 8", "5-1 * * * *", "*/0 * * * *", "a * * * *", "1,,2 * * * *", "@often"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (app_cron_parse(bad[i], &c)) fail_msg("took %s", bad[i]);
}

static void the_last_time_a_schedule_names(void **state) {
  app_cron c;
  assert_true(app_cron_parse("0 22 * * *", &c));
  /* Monday 23:30: it fired at 22:00 today. */
  assert_int_equal(app_cron_last(&c, monday(23, 30), monday(23, 30) - 86400), monday(22, 0));
  /* Monday 21:59: yesterday's 22:00, unless earliest is after it. */
  assert_int_equal(app_cron_last(&c, monday(21, 59), monday(21, 59) - 86400), monday(22, 0) - 86400);
  assert_int_equal(app_cron_last(&c, monday(21, 59), monday(21, 59) - 3600), -1);
  /* Weekdays only: on Monday 08:00, the last was Friday 17:45. */
  assert_true(app_cron_parse("45 17 * * 1-5", &c));
  assert_int_equal(app_cron_last(&c, monday(8, 0), monday(8, 0) - 7 * 86400), monday(17, 45) - 3 * 86400);
  /* Day of month and of week both given: either matches (the 7th is today). */
  assert_true(app_cron_parse("0 1 7 * fri", &c));
  assert_int_equal(app_cron_last(&c, monday(2, 0), monday(2, 0) - 86400), monday(1, 0));
}

static app_project project_of(app_window *w, size_t n) {
  return (app_project){.name = "p", .windows = w, .nwindows = n};
}

static app_window window(bool deny, const char *schedule, int duration_s, bool manual) {
  app_window w = {.deny = deny, .schedule = schedule, .duration_s = duration_s, .manual_sync = manual};
  if (!app_cron_parse(schedule, &w.cron)) fail_msg("refused %s", schedule);
  return w;
}

static void windows_stop_syncs_as_argo_cds_do(void **state) {
  arena *a = arena_new();
  app_def web = {.name = "web-prod", .namespace = "shop", .cluster = "in-cluster"};
  /* A deny window of 22:00 for 8 hours: shut at 23:00, open at 07:00. */
  app_window deny = window(true, "0 22 * * *", 8 * 3600, false);
  app_project p = project_of(&deny, 1);
  const char *why = app_window_blocks(&p, &web, monday(23, 0), false, a);
  assert_string_equal(why, "sync window: project p denies syncs (\"0 22 * * *\" for 28800s) until 2026-12-08 06:00 UTC");
  assert_non_null(app_window_blocks(&p, &web, monday(23, 0), true, a));
  assert_null(app_window_blocks(&p, &web, monday(7, 0), false, a));
  /* manualSync lets a sync asked for through it. */
  deny.manual_sync = true;
  assert_null(app_window_blocks(&p, &web, monday(23, 0), true, a));
  assert_non_null(app_window_blocks(&p, &web, monday(23, 0), false, a));
  /* A window naming other applications stops none of this one's. */
  const char *others[] = {"api-*"};
  deny.applications = others, deny.napplications = 1;
  assert_null(app_window_blocks(&p, &web, monday(23, 0), false, a));
  /* Allow windows: only while one is open. */
  app_window allow = window(false, "0 9 * * 1-5", 8 * 3600, false);
  p = project_of(&allow, 1);
  assert_null(app_window_blocks(&p, &web, monday(10, 0), false, a));
  assert_string_equal(app_window_blocks(&p, &web, monday(18, 0), false, a),
                      "sync window: project p allows syncs of web-prod only in its allow windows, none of which is open");
  /* A deny window wins over an open allow window. */
  app_window both[] = {window(false, "0 0 * * *", 24 * 3600, false), window(true, "0 12 * * *", 3600, false)};
  p = project_of(both, 2);
  assert_non_null(app_window_blocks(&p, &web, monday(12, 30), false, a));
  assert_null(app_window_blocks(&p, &web, monday(13, 0), false, a));
  assert_null(app_window_blocks(NULL, &web, monday(13, 0), false, a));
  arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(schedules_read_as_cron_reads_them),
      cmocka_unit_test(the_last_time_a_schedule_names),
      cmocka_unit_test(windows_stop_syncs_as_argo_cds_do),
  };
  return cmocka_run_group_tests_name("window", tests, NULL, NULL);
}
