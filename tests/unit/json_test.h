/* json_test.h: JSON objects as tests write them, with ' for " so they read
 * as they would in kubectl get -o json. Include after cmocka.h. */
#ifndef PLUMB_JSON_TEST_H
#define PLUMB_JSON_TEST_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse(const char *quoted) {
  char *text = strdup(quoted);
  for (char *p = text; *p; p++)
    if (*p == '\'') *p = '"';
  json_error_t e;
  json_t *obj = json_loads(text, 0, &e);
  if (!obj) fail_msg("bad JSON in the test (%s): %s", e.text, quoted);
  free(text);
  return obj;
}

#endif
