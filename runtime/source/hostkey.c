/* hostkey.c: ssh host keys checked against known_hosts, as ssh does.
 *
 * libgit2 hands the certificate callback the server's raw key; known_hosts
 * lines hold the same bytes in base64, so a key is known when the bytes
 * match on a line whose host pattern matches. */
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

#include "internal.h"

enum { HOST_NO, HOST_YES, HOST_NEGATED };

/* |1|base64(salt)|base64(HMAC-SHA1(salt, name)) */
static bool hashed_match(const char *pattern, const char *name) {
  char *copy = strdup(pattern + 3), *bar = copy ? strchr(copy, '|') : NULL;
  bool match = false;
  if (bar) {
    *bar = '\0';
    size_t slen, hlen;
    char *salt = kube_base64_decode(copy, &slen), *hash = kube_base64_decode(bar + 1, &hlen);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (salt && hash && HMAC(EVP_sha1(), salt, (int)slen, (const unsigned char *)name, strlen(name), md, &mdlen))
      match = mdlen == hlen && memcmp(md, hash, hlen) == 0;
    free(salt);
    free(hash);
  }
  free(copy);
  return match;
}

/* ssh's wildcards: * and ?, and every other character, [ too, stands for
 * itself (fnmatch would read "[host]:2222" as a set of characters). */
static bool pattern_matches(const char *p, const char *s) {
  for (; *p; p++, s++) {
    if (*p == '*') {
      for (;; s++) {
        if (pattern_matches(p + 1, s)) return true;
        if (!*s) return false;
      }
    }
    if (!*s || (*p != '?' && tolower((unsigned char)*p) != tolower((unsigned char)*s))) return false;
  }
  return !*s;
}

/* A comma-separated list of patterns (wildcards * and ?, ! negates). */
static int host_matches(char *patterns, const char *name) {
  if (strncmp(patterns, "|1|", 3) == 0) return hashed_match(patterns, name) ? HOST_YES : HOST_NO;
  int result = HOST_NO;
  for (char *save = NULL, *p = strtok_r(patterns, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
    bool negated = *p == '!';
    if (!pattern_matches(p + negated, name)) continue;
    if (negated) return HOST_NEGATED;
    result = HOST_YES;
  }
  return result;
}

typedef struct {
  char type[64]; /* the server's key's, e.g. ssh-ed25519 */
  bool known, changed, other_types, revoked;
} verdict;

/* A raw key opens with its type: a 4-byte length, then the name. */
static void key_type(const unsigned char *key, size_t len, char out[64]) {
  size_t n = len < 4 ? 0 : (size_t)key[0] << 24 | (size_t)key[1] << 16 | (size_t)key[2] << 8 | key[3];
  if (n > len - 4) n = 0;
  snprintf(out, 64, "%.*s", (int)n, (const char *)key + 4);
}

static void check_line(char *line, const char *name, const unsigned char *key, size_t len, verdict *v) {
  char *save = NULL, *field = strtok_r(line, " \t", &save);
  bool revoked = false;
  if (!field || *field == '#') return;
  if (*field == '@') {
    if (strcmp(field, "@revoked") != 0) return; /* @cert-authority: unsupported */
    revoked = true;
    field = strtok_r(NULL, " \t", &save);
  }
  char *type = field ? strtok_r(NULL, " \t", &save) : NULL;
  char *b64 = type ? strtok_r(NULL, " \t", &save) : NULL;
  if (!b64 || host_matches(field, name) != HOST_YES) return;
  size_t klen;
  char *known = kube_base64_decode(b64, &klen);
  bool same = known && klen == len && memcmp(known, key, len) == 0;
  free(known);
  if (same && revoked) v->revoked = true;
  else if (same) v->known = true;
  else if (revoked) return;
  else if (!*v->type || strcmp(type, v->type) == 0) v->changed = true;
  else v->other_types = true;
}

/* A key of another type is no sign of a changed key, as in ssh: the server
 * has several, and libssh2 picks the type, not known_hosts. */
int source_known_host(const char *known_hosts, const char *host, int port, const unsigned char *key, size_t len,
                      char **why) {
  char name[512];
  snprintf(name, sizeof name, port == 22 ? "%s" : "[%s]:%d", host, port);
  verdict v = {0};
  key_type(key, len, v.type);
  char *text = heap_strdup(known_hosts ? known_hosts : "");
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
    check_line(line, name, key, len, &v);
  free(text);
  const char *fmt = v.revoked   ? "host key for %s is revoked in known_hosts"
                    : v.known   ? NULL
                    : v.changed ? "host key for %s does not match known_hosts (the key changed, or someone is in the"
                                  " way)"
                    : v.other_types
                        ? "host key for %s not in known_hosts, which has only other types of key for it: the server"
                          " showed its %s key (give every key of the server, as ssh-keyscan prints them)"
                        : "host key for %s not in known_hosts";
  if (!fmt) return 0;
  *why = heap_printf(fmt, name, v.type);
  return SOURCE_EHOSTKEY;
}
