/* keys.c: the keys that open an application's files SOPS encrypted, read
 * from the Secret its spec.decryption names (else its project's), in the
 * runtime's namespace, as Flux reads decryption.secretRef: each entry of
 * the Secret's data whose key ends in .agekey is an age identity file,
 * each ending in .asc an OpenPGP secret key.
 *
 * A pass reads them before every compile, though most reuse a build and
 * need none; so each Secret's keys are kept, decoded, by its
 * resourceVersion, as dest.c keeps cluster Secrets: the Secret is read
 * again at most every RECHECK_S (the config's own pace), and decoded again
 * only when its resourceVersion changed. A rotated key is used within
 * those seconds. A Secret unread meanwhile (the API server away) is taken
 * to be as it was. The copy a compile is given is wiped after it; the
 * kept keys are wiped when their Secret changes, the runtime stops leading
 * or it ends (run_keys_forget). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/internal.h"

#define KEYS_MAX 64  /* entries of one Secret taken as keys */
#define RECHECK_S 10 /* between reads of a Secret kept */

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

/* Reads secret's keys into k (its keys freed first): the Secret's
 * resourceVersion and keys, or why it holds none. */
static void decode(runner *r, run_keyring *k, const json_t *secret) {
  run_keys_free(&k->keys);
  free(k->why), free(k->version);
  k->why = NULL;
  const char *rv = kube_meta_str(secret, "resourceVersion"), *key;
  k->version = heap_strdup(rv ? rv : "");
  json_t *v;
  k->keys.keys = heap_calloc(KEYS_MAX, sizeof *k->keys.keys);
  json_object_foreach(json_object_get(secret, "data"), key, v) {
    bool age = ends_with(key, ".agekey"), pgp = ends_with(key, ".asc");
    if ((!age && !pgp) || !json_is_string(v) || k->keys.n == KEYS_MAX) continue;
    size_t len;
    char *data = kube_base64_decode(json_string_value(v), &len);
    if (!data) continue;
    k->keys.keys[k->keys.n++] = (compile_sops_key){age ? COMPILE_SOPS_AGE : COMPILE_SOPS_PGP,
                                                   heap_printf("the Secret %s/%s, key %s", r->home, k->name, key),
                                                   data, len};
  }
  if (!k->keys.n)
    k->why = heap_printf("the Secret %s/%s holds no SOPS key (data keys ending in .agekey or .asc)", r->home, k->name);
}

/* The keys kept of Secret name, made when it is first named. */
static run_keyring *keyring(runner *r, const char *name) {
  for (size_t i = 0; i < r->nkeyrings; i++)
    if (strcmp(r->keyrings[i].name, name) == 0) return &r->keyrings[i];
  r->keyrings = heap_realloc(r->keyrings, (r->nkeyrings + 1) * sizeof *r->keyrings);
  r->keyrings[r->nkeyrings] = (run_keyring){.name = heap_strdup(name)};
  return &r->keyrings[r->nkeyrings++];
}

char *run_keys_read(runner *r, const app_def *app, run_keys *out) {
  *out = (run_keys){0};
  const char *name = secret_of(r, app);
  if (!name) return NULL;
  run_keyring *k = keyring(r, name);
  double now = run_now();
  if (!k->version || now - k->checked >= RECHECK_S) {
    json_t *secret = NULL;
    if (kube_get(r->c, "v1", "Secret", r->home, name, &secret) != KUBE_OK) {
      if (!k->version)
        return heap_printf("cannot read the Secret %s/%s of its SOPS keys: %s", r->home, name, kube_last_error(r->c));
    } else {
      const char *rv = kube_meta_str(secret, "resourceVersion");
      if (!k->version || strcmp(rv ? rv : "", k->version) != 0) decode(r, k, secret);
      k->checked = now;
    }
    json_decref(secret);
  }
  if (k->why) return heap_strdup(k->why);
  /* A copy: the compile's, wiped after it by run_keys_free. */
  out->keys = heap_calloc(k->keys.n + 1, sizeof *out->keys);
  for (size_t i = 0; i < k->keys.n; i++) {
    const compile_sops_key *from = &k->keys.keys[i];
    char *data = heap_alloc(from->len + 1);
    memcpy(data, from->data, from->len);
    data[from->len] = '\0';
    out->keys[out->n++] = (compile_sops_key){from->kind, heap_strdup(from->from), data, from->len};
  }
  return NULL;
}

void run_keys_forget(runner *r) {
  for (size_t i = 0; i < r->nkeyrings; i++) {
    run_keys_free(&r->keyrings[i].keys);
    free(r->keyrings[i].name), free(r->keyrings[i].version), free(r->keyrings[i].why);
  }
  free(r->keyrings);
  r->keyrings = NULL;
  r->nkeyrings = 0;
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
