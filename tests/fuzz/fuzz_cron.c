/* fuzz_cron.c: libFuzzer target for the cron schedules of sync windows
 * (runtime/source/window.c).
 *
 * The input is a schedule. One that is taken names at least one value of
 * every field; the last time it names before a moment is no later than
 * the moment, on a whole minute; and one that names every day of every
 * month names a time in every day, so it finds one in the day before.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 256 || memchr(data, '\0', size)) return 0;
  char text[257];
  memcpy(text, data, size);
  text[size] = '\0';
  app_cron c;
  if (!app_cron_parse(text, &c)) return 0;
  for (int i = 0; i < 5; i++)
    if (!c.bits[i]) abort();
  time_t now = 1796601600 + (time_t)(size * 7919 % 604800);
  time_t last = app_cron_last(&c, now, now - 8 * 86400);
  if (last > now || (last >= 0 && last % 60)) abort();
  bool daily = c.both_free && c.bits[3] == 0x1ffe;
  if (daily && app_cron_last(&c, now, now - 86400) < 0) abort();
  return 0;
}
