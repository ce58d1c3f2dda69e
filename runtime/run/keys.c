/* keys.c: the keys that open an application's files SOPS encrypted, read
 * from the Secret its spec.decryption names (else its project's), in the
 * runtime's namespace, as Flux reads decryption.secretRef: each entry of
 * the Secret's data whose key ends in .agekey is an age identity file,
 * each ending in .asc an OpenPGP secret key. They live as long as the
 * compile that needs them, and are wiped then. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/internal.h"

#define KEYS_MAX 64 /* entries of one Secret taken as keys */

static bool ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n > t && strcmp(s + n - t, tail) == 0;
}

/* The Secret that holds app's keys, NULL when it names none. */
static const char *secret_of(const runner *r, const app_def *app) {
  if (app->sops_secret) return app->sops_secret;
  const app_project *p = app_set_project(&r->defs, app->project);
  return p ? p->sops_secret : NULL;
}

char *run_keys_read(runner *r, const app_def *app, run_keys *out) {
  *out = (run_keys){0};
  const char *name = secret_of(r, app);
  if (!name) return NULL;
  json_t *secret = NULL;
  int rc = kube_get(r->c, "v1", "Secret", r->home, name, &secret);
  if (rc != KUBE_OK) {
    char *why = heap_printf("cannot read the Secret %s/%s of its SOPS keys: %s", r->home, name, kube_last_error(r->c));
    return why;
  }
  const char *key;
  json_t *v;
  out->keys = heap_calloc(KEYS_MAX, sizeof *out->keys);
  json_object_foreach(json_object_get(secret, "data"), key, v) {
    bool age = ends_with(key, ".agekey"), pgp = ends_with(key, ".asc");
    if ((!age && !pgp) || !json_is_string(v) || out->n == KEYS_MAX) continue;
    size_t len;
    char *data = kube_base64_decode(json_string_value(v), &len);
    if (!data) continue;
    out->keys[out->n++] = (compile_sops_key){age ? COMPILE_SOPS_AGE : COMPILE_SOPS_PGP,
                                             heap_printf("the Secret %s/%s, key %s", r->home, name, key), data, len};
  }
  json_decref(secret);
  if (out->n) return NULL;
  run_keys_free(out);
  return heap_printf("the Secret %s/%s holds no SOPS key (data keys ending in .agekey or .asc)", r->home, name);
}

void run_keys_free(run_keys *k) {
  for (size_t i = 0; i < k->n; i++) {
    explicit_bzero((char *)k->keys[i].data, k->keys[i].len);
    free((char *)k->keys[i].data);
    free((char *)k->keys[i].from);
  }
  free(k->keys);
  *k = (run_keys){0};
}
