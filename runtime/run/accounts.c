/* accounts.c: who may use the runtime's API and UI (auth.h), made once at
 * start: the auth file, the --token-file token as admin's, and admin's
 * password.
 *
 * As Argo CD does, admin's first password is made at random and kept in a
 * Secret of the runtime's namespace, plumb-initial-admin-secret, which
 * whoever may read Secrets there reads (`kubectl get secret ... -o
 * jsonpath={.data.password} | base64 -d`); the auth file may declare
 * admin instead, and then no Secret is made. A second replica finds the
 * Secret its peer made: the create is refused, and it reads the winner's. */
#include <stdlib.h>
#include <string.h>

#include "run/internal.h"

#define ADMIN_SECRET "plumb-initial-admin-secret"

/* The password the Secret holds into *password (caller frees); a kube
 * code on failure. */
static int read_password(kube_client *c, const char *ns, char **password) {
  json_t *secret = NULL;
  int rc = kube_get(c, "v1", "Secret", ns, ADMIN_SECRET, &secret);
  const char *b64 = rc == 0 ? json_string_value(json_object_get(json_object_get(secret, "data"), "password")) : NULL;
  size_t len = 0;
  *password = b64 ? kube_base64_decode(b64, &len) : NULL;
  json_decref(secret);
  return rc ? rc : *password ? 0 : KUBE_ERROR;
}

static int create_secret(kube_client *c, const char *ns, const char *password) {
  char *b64 = kube_base64_encode(password, strlen(password));
  json_t *secret = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                             "metadata", "name", ADMIN_SECRET, "namespace", ns, "labels", "app.kubernetes.io/part-of",
                             "plumb", "type", "Opaque", "data", "password", b64);
  char *body = json_dumps(secret, JSON_COMPACT), *path = heap_printf("/api/v1/namespaces/%s/secrets", ns);
  json_t *out = NULL;
  int rc = kube_request(c, "POST", path, "application/json", body, strlen(body), &out);
  explicit_bzero(body, strlen(body));
  explicit_bzero(b64, strlen(b64));
  json_decref(out);
  json_decref(secret);
  free(body);
  free(path);
  free(b64);
  return rc;
}

/* Admin's password from the Secret, made first when there is none. */
static int admin_password(runner *r, auth *a, char **err) {
  char *password = NULL;
  int rc = read_password(r->c, r->home, &password);
  if (rc == KUBE_ENOTFOUND) {
    char fresh[21];
    auth_random_password(fresh);
    rc = create_secret(r->c, r->home, fresh);
    if (rc == 0) password = heap_strdup(fresh);
    else if (rc == KUBE_ECONFLICT) rc = read_password(r->c, r->home, &password);
    explicit_bzero(fresh, sizeof fresh);
    if (rc == 0) fprintf(r->o->out, "plumb run: admin's password is in Secret %s/%s\n", r->home, ADMIN_SECRET);
  }
  if (rc != 0) {
    *err = heap_printf("cannot read or make admin's password in Secret %s/%s: %s", r->home, ADMIN_SECRET,
                       kube_last_error(r->c));
    return -1;
  }
  auth_set_admin_password(a, password);
  explicit_bzero(password, strlen(password));
  free(password);
  return 0;
}

int run_accounts_load(runner *r, auth **out, char **err) {
  auth *a;
  if (auth_load(&a, r->o->auth_file, err) != 0) return -1;
  if (!auth_has_admin(a) && admin_password(r, a, err) != 0) {
    auth_free(a);
    return -1;
  }
  *out = a;
  return 0;
}
