/* hostkey.c: ssh host keys checked against known_hosts, as ssh does.
 *
 * libgit2 hands the certificate callback the server's raw key; known_hosts
 * lines hold the same bytes in base64, so a key is known when the bytes
 * match on a line whose host pattern matches. */
#include <fnmatch.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* A comma-separated list of patterns (wildcards * and ?, ! negates). */
static int host_matches(char *patterns, const char *name) {
  if (strncmp(patterns, "|1|", 3) == 0) return hashed_match(patterns, name) ? HOST_YES : HOST_NO;
  int result = HOST_NO;
  for (char *save = NULL, *p = strtok_r(patterns, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
    bool negated = *p == '!';
    if (fnmatch(p + negated, name, FNM_CASEFOLD) != 0) continue;
    if (negated) return HOST_NEGATED;
    result = HOST_YES;
  }
  return result;
}

typedef struct {
  bool known, listed, revoked;
} verdict;

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
  else if (!revoked) v->listed = true;
}

int source_known_host(const char *known_hosts, const char *host, int port, const unsigned char *key, size_t len,
                      char **why) {
  char name[512];
  snprintf(name, sizeof name, port == 22 ? "%s" : "[%s]:%d", host, port);
  verdict v = {0};
  char *text = strdup(known_hosts ? known_hosts : "");
  if (!text) abort();
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
    check_line(line, name, key, len, &v);
  free(text);
  const char *fmt = v.revoked ? "host key for %s is revoked in known_hosts"
                    : v.known ? NULL
                    : v.listed ? "host key for %s does not match known_hosts (the key changed, or someone is in the way)"
                               : "host key for %s not in known_hosts";
  if (!fmt) return 0;
  if (asprintf(why, fmt, name) < 0) abort();
  return SOURCE_EHOSTKEY;
}
