/* fuzz_auth.c: libFuzzer target for plumb run's auth file (auth.h):
 * accounts, tokens, roles, grants, single sign-on. Whoever writes the
 * Secret it comes from may write anything: any bytes must load or give
 * errors with their file:line:col, never a crash, a leak or undefined
 * behaviour; and what loads must answer who may do what. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "plumb/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auth *a = NULL;
  char *err = NULL;
  if (auth_load_text(&a, "auth.yaml", (const char *)data, size, &err) == 0) {
    auth_who *w = auth_token_who(a, "a-token");
    auth_who someone = {.user = "alice", .groups = (char *[]){"devs", NULL}, .ngroups = 1};
    (void)auth_actions(a, &someone, "shop");
    (void)auth_actions_somewhere(a, &someone);
    (void)auth_sees_some(a, &someone);
    auth_who_free(w);
    auth_free(a);
  }
  free(err);
  return 0;
}
