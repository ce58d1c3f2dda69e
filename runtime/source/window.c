/* window.c: sync windows, when a project's applications may sync.
 *
 * As Argo CD's project syncWindows: a window is a cron schedule (minute,
 * hour, day of month, month, day of week, in UTC) and a duration; it is
 * open from each time the schedule names until the duration has passed.
 * An open deny window stops the syncs of the applications it names; when
 * allow windows name an application, it syncs only while one is open.
 * manual_sync lets syncs asked for through either. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fnmatch.h>

#include "plumb/app.h"

/* ---- cron schedules ----------------------------------------------------------------------- */

typedef struct {
  int lo, hi;
  const char *const *names; /* 3-letter names of lo, lo + 1, ...; NULL: numbers only */
} cron_field;

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};
static const cron_field fields[5] = {{0, 59, NULL}, {0, 23, NULL}, {1, 31, NULL}, {1, 12, months}, {0, 7, days}};

/* A number or a name of field f at *s, moved past it; -1 when none. */
static int cron_value(const cron_field *f, const char **s) {
  if (f->names)
    for (int i = 0; f->names[i]; i++)
      if (strncasecmp(*s, f->names[i], 3) == 0) return *s += 3, f->lo + i;
  if (**s < '0' || **s > '9') return -1;
  int v = 0;
  while (**s >= '0' && **s <= '9' && v < 1000) v = v * 10 + (*(*s)++ - '0');
  return v;
}

/* One field's text: "*", "a", "a-b", each with "/step", joined by ','. */
static bool cron_parse_field(const cron_field *f, const char *s, uint64_t *bits) {
  *bits = 0;
  for (;;) {
    int lo = f->lo, hi = f->hi, step = 1;
    if (*s == '*') s++;
    else {
      if ((lo = hi = cron_value(f, &s)) < 0) return false;
      if (*s == '-' && (s++, (hi = cron_value(f, &s)) < 0)) return false;
    }
    if (*s == '/') {
      s++;
      if ((step = cron_value(&(cron_field){1, 1000, NULL}, &s)) <= 0) return false;
      if (lo == hi) hi = f->hi;
    }
    if (lo < f->lo || hi > f->hi || lo > hi) return false;
    for (int v = lo; v <= hi; v += step) *bits |= (uint64_t)1 << v;
    if (*s != ',') return *s == '\0';
    s++;
  }
}

bool app_cron_parse(const char *text, app_cron *out) {
  static const char *const macros[][2] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"},
                                          {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
                                          {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
                                          {"@hourly", "0 * * * *"}};
  for (size_t i = 0; i < sizeof macros / sizeof *macros; i++)
    if (strcmp(text, macros[i][0]) == 0) text = macros[i][1];
  char part[5][64];
  int n = sscanf(text, "%63s %63s %63s %63s %63s", part[0], part[1], part[2], part[3], part[4]);
  char rest[2];
  if (n != 5 || sscanf(text, "%*s %*s %*s %*s %*s %1s", rest) == 1) return false;
  for (int i = 0; i < 5; i++)
    if (!cron_parse_field(&fields[i], part[i], &out->bits[i])) return false;
  if (out->bits[4] & (1 << 7)) out->bits[4] |= 1; /* 7 is Sunday too */
  /* Cron's rule: days of the month and of the week both restricted match
   * when either does. */
  out->any_day = part[2][0] == '*' || part[4][0] == '*';
  out->both_free = part[2][0] == '*' && part[4][0] == '*';
  return true;
}

static bool day_matches(const app_cron *c, const struct tm *t) {
  bool dom = c->bits[2] >> t->tm_mday & 1, dow = c->bits[4] >> t->tm_wday & 1;
  if (!(c->bits[3] >> (t->tm_mon + 1) & 1)) return false;
  return c->both_free || (c->any_day ? dom && dow : dom || dow);
}

time_t app_cron_last(const app_cron *c, time_t now, time_t earliest) {
  time_t day0 = now - now % 86400;
  for (time_t day = day0; day + 86400 > earliest; day -= 86400) {
    struct tm t;
    gmtime_r(&day, &t);
    if (!day_matches(c, &t)) continue;
    for (int h = 23; h >= 0; h--) {
      if (!(c->bits[1] >> h & 1)) continue;
      for (int m = 59; m >= 0; m--) {
        time_t at = day + h * 3600 + m * 60;
        if (!(c->bits[0] >> m & 1) || at > now) continue;
        return at >= earliest ? at : -1;
      }
    }
  }
  return -1;
}

/* ---- windows -------------------------------------------------------------------------------- */

static bool any_matches(const char *const *patterns, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (fnmatch(patterns[i], s, 0) == 0) return true;
  return false;
}

/* Whether w names app: by name, destination namespace or cluster; a
 * window that names none of them names every application. */
static bool names(const app_window *w, const app_def *app) {
  if (!w->napplications && !w->nnamespaces && !w->nclusters) return true;
  return any_matches(w->applications, w->napplications, app->name) ||
         any_matches(w->namespaces, w->nnamespaces, app->namespace) ||
         any_matches(w->clusters, w->nclusters, app->cluster);
}

/* When w, open at now, closes; -1 when it is shut. */
static time_t closes(const app_window *w, time_t now) {
  time_t opened = app_cron_last(&w->cron, now, now - w->duration_s + 1);
  return opened < 0 ? -1 : opened + w->duration_s;
}

static const char *clock_text(arena *a, time_t t) {
  struct tm tm;
  gmtime_r(&t, &tm);
  return arena_printf(a, "%04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                      tm.tm_min);
}

const char *app_window_blocks(const app_project *p, const app_def *app, time_t now, bool manual, arena *a) {
  bool allows = false, open = false, manual_allowed = false;
  for (size_t i = 0; p && i < p->nwindows; i++) {
    const app_window *w = &p->windows[i];
    if (!names(w, app)) continue;
    time_t until = closes(w, now);
    if (w->deny && until >= 0 && !(manual && w->manual_sync))
      return arena_printf(a, "sync window: project %s denies syncs (\"%s\" for %ds) until %s", p->name, w->schedule,
                          w->duration_s, clock_text(a, until));
    if (!w->deny) {
      allows = true;
      open |= until >= 0;
      manual_allowed |= w->manual_sync;
    }
  }
  if (!allows || open || (manual && manual_allowed)) return NULL;
  return arena_printf(a, "sync window: project %s allows syncs of %s only in its allow windows, none of which is open",
                      p->name, app->name);
}
