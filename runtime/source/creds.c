/* creds.c: credentials for a source, from files or a Kubernetes Secret.
 *
 * Every copy of a secret is zeroed before it is freed, and no message here
 * quotes one: they name files and Secrets, never their contents. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

#include "internal.h"

enum { MAX_CRED_FILE = 1 << 20 };

static void wipe(char **s) {
  if (*s) explicit_bzero(*s, strlen(*s));
  free(*s);
  *s = NULL;
}

void source_creds_clear(source_creds *c) {
  wipe(&c->username);
  wipe(&c->password);
  wipe(&c->ssh_key);
  wipe(&c->ssh_passphrase);
  wipe(&c->known_hosts);
}

void source_creds_free(source_creds *c) {
  if (!c) return;
  source_creds_clear(c);
  free(c);
}

void source_creds_merge(source_creds *out, const source_creds *c, const source_creds *fill) {
  static const source_creds none;
  if (!c) c = &none;
  *out = (source_creds){
      heap_strdup(c->username ? c->username : fill->username),
      heap_strdup(c->password ? c->password : fill->password),
      heap_strdup(c->ssh_key ? c->ssh_key : fill->ssh_key),
      heap_strdup(c->ssh_passphrase ? c->ssh_passphrase : fill->ssh_passphrase),
      heap_strdup(c->known_hosts ? c->known_hosts : fill->known_hosts),
  };
}

/* Editors and echo end a one-line file with a newline that is no part of a
 * password. */
static void trim_end(char *s) {
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
}

static int read_cred(const char *path, char **slot, bool one_line, char **err) {
  if (!path || *slot) return 0;
  size_t len;
  *slot = kube_read_file(path, MAX_CRED_FILE, &len);
  if (!*slot) {
    *err = heap_printf("cannot read %s: %s", path, strerror(errno));
    return SOURCE_ERROR;
  }
  if (one_line) trim_end(*slot);
  return 0;
}

bool source_key_is_rsa(const char *key) {
  static const char openssh[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
  if (strstr(key, "-----BEGIN RSA PRIVATE KEY-----")) return true;
  const char *body = strstr(key, openssh);
  if (!body) return false;
  /* The public key comes first, in clear, after at most 75 bytes of
   * header (magic, cipher, kdf): 90 bytes hold its type and no secret. */
  char head[121];
  size_t n = 0;
  for (const char *p = body + sizeof openssh - 1; *p && *p != '-' && n < 120; p++)
    if (!isspace((unsigned char)*p)) head[n++] = *p;
  head[n - n % 4] = '\0';
  size_t len;
  char *blob = kube_base64_decode(head, &len);
  bool rsa = blob && memmem(blob, len, "\0\0\0\7ssh-rsa", 11);
  free(blob);
  return rsa;
}

int source_creds_from_files(source_creds **out, const source_cred_files *f, char **err) {
  source_creds *c = heap_calloc(1, sizeof *c);
  int rc = read_cred(f->username_file, &c->username, true, err);
  if (!rc) rc = read_cred(f->password_file, &c->password, true, err);
  if (!rc) rc = read_cred(f->token_file, &c->password, true, err);
  if (!rc) rc = read_cred(f->ssh_key_file, &c->ssh_key, false, err);
  if (!rc) rc = read_cred(f->ssh_passphrase_file, &c->ssh_passphrase, true, err);
  if (!rc) rc = read_cred(f->known_hosts_file, &c->known_hosts, false, err);
  if (rc) {
    source_creds_free(c);
    c = NULL;
  }
  *out = c;
  return rc;
}

/* data[key], decoded; 0 with *slot untouched when the key is absent. */
static int secret_value(const json_t *data, const char *key, char **slot, const char *secret, char **err) {
  const char *b64 = kube_str(data, key);
  if (!json_object_get(data, key) || *slot) return 0;
  *slot = b64 ? kube_base64_decode(b64, NULL) : NULL;
  if (*slot) return 0;
  *err = heap_printf("Secret %s: data.%s is not base64", secret, key);
  return SOURCE_ERROR;
}

int source_creds_from_secret_object(source_creds **out, const json_t *secret, char **err) {
  const json_t *data = json_object_get(secret, "data");
  const char *ns = kube_meta_str(secret, "namespace"), *id = kube_meta_str(secret, "name");
  char name[256];
  snprintf(name, sizeof name, "%s/%s", ns ? ns : "", id ? id : "");
  source_creds *c = heap_calloc(1, sizeof *c);
  /* With an ssh key, Flux reads "password" as the key's passphrase. */
  char **password = json_object_get(data, "identity") ? &c->ssh_passphrase : &c->password;
  int rc = secret_value(data, "username", &c->username, name, err);
  if (!rc) rc = secret_value(data, "password", password, name, err);
  if (!rc) rc = secret_value(data, "token", &c->password, name, err);
  if (!rc) rc = secret_value(data, "identity", &c->ssh_key, name, err);
  if (!rc) rc = secret_value(data, "known_hosts", &c->known_hosts, name, err);
  if (rc) {
    source_creds_free(c);
    c = NULL;
  }
  *out = c;
  return rc;
}

int source_creds_from_secret(source_creds **out, kube_client *k, const char *ns, const char *name, char **err) {
  json_t *secret = NULL;
  int rc = kube_get(k, "v1", "Secret", ns, name, &secret);
  if (rc != KUBE_OK) {
    *out = NULL;
    *err = heap_printf("cannot read Secret %s/%s: %s", ns, name, kube_last_error(k));
    return rc == KUBE_ENOTFOUND ? SOURCE_ENOTFOUND : SOURCE_ERROR;
  }
  rc = source_creds_from_secret_object(out, secret, err);
  json_decref(secret);
  return rc;
}
