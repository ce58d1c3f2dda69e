/* url.c: what a source URL shows, and what it hides. */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

#include "internal.h"

static char *copy_n(const char *s, size_t n) {
  char *out = heap_strndup(s, n);
  return out;
}

/* Where the authority of a scheme://authority/path URL starts, and how long
 * it is; NULL for scp-like addresses and local paths. */
static const char *authority(const char *url, size_t *len) {
  const char *sep = strstr(url, "://");
  if (!sep || strcspn(url, ":/") != (size_t)(sep - url)) return NULL;
  *len = strcspn(sep + 3, "/?#");
  return sep + 3;
}

static bool is_http(const char *url) { return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0; }

/* The userinfo to drop: all of it for http(s), where a token may stand
 * alone; elsewhere only userinfo that holds a password. */
static bool hides_userinfo(const char *url, const char *auth, size_t userinfo_len) {
  return is_http(url) || memchr(auth, ':', userinfo_len);
}

char *source_scrub_url(const char *url) {
  size_t len;
  const char *auth = authority(url, &len);
  const char *at = auth ? memrchr(auth, '@', len) : NULL;
  if (!at || !hides_userinfo(url, auth, (size_t)(at - auth))) return copy_n(url, strlen(url));
  size_t head = (size_t)(auth - url), tail = strlen(at + 1);
  char *out = heap_alloc(head + tail + 1);
  memcpy(out, url, head);
  memcpy(out + head, at + 1, tail + 1);
  return out;
}

/* host[:port] or [v6]:port */
static void split_host_port(const char *s, size_t n, source_url_parts *out) {
  const char *colon = NULL;
  if (n && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    size_t end = close ? (size_t)(close - s) : n;
    out->host = copy_n(s + 1, end ? end - 1 : 0);
    colon = close && close + 1 < s + n && close[1] == ':' ? close + 1 : NULL;
  } else {
    colon = memchr(s, ':', n);
    out->host = copy_n(s, colon ? (size_t)(colon - s) : n);
  }
  if (colon) out->port = atoi(colon + 1);
}

static void split_userinfo(const char *s, size_t n, source_url_parts *out) {
  const char *colon = memchr(s, ':', n);
  out->user = copy_n(s, colon ? (size_t)(colon - s) : n);
  if (colon) out->password = copy_n(colon + 1, n - (size_t)(colon - s) - 1);
}

/* user@host:path, as git reads it: a colon before any slash. */
static bool is_scp_like(const char *url) {
  size_t colon = strcspn(url, ":");
  return url[colon] == ':' && colon < strcspn(url, "/") && colon > 1;
}

void source_url_split(const char *url, source_url_parts *out) {
  *out = (source_url_parts){.port = 22};
  size_t len;
  const char *auth = authority(url, &len);
  if (auth && strncmp(url, "file://", 7) == 0) return;
  if (!auth && !is_scp_like(url)) return;
  if (!auth) { /* user@host:path */
    auth = url;
    len = strcspn(url, ":");
  }
  const char *at = memrchr(auth, '@', len);
  if (at) split_userinfo(auth, (size_t)(at - auth), out);
  const char *hp = at ? at + 1 : auth;
  size_t hlen = len - (size_t)(hp - auth);
  if (auth == url) /* an scp-like address names no port */
    out->host = copy_n(hp, hlen);
  else
    split_host_port(hp, hlen, out);
}

void source_sha256_hex(const char *s, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
  for (unsigned i = 0; i < n && i < 32; i++) {
    static const char hex[] = "0123456789abcdef";
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[64] = '\0';
}

/* host[:port] or [v6]:port: the length without the port. */
static size_t host_len(const char *host, size_t n) {
  const char *end = memchr(host, *host == '[' ? ']' : ':', n);
  if (!end) return n;
  return (size_t)(end - host) + (*host == '[');
}

char *source_url_key(const char *url) {
  size_t len = 0;
  const char *auth = authority(url, &len), *path = url;
  if (auth) {
    path = auth + len;
  } else if (is_scp_like(url)) {
    auth = url;
    len = strcspn(url, ":");
    path = url + len + 1;
  }
  const char *at = auth ? memrchr(auth, '@', len) : NULL;
  const char *host = at ? at + 1 : auth ? auth : "";
  size_t hlen = auth ? host_len(host, len - (size_t)(host - auth)) : 0;
  while (*path == '/') path++;
  size_t plen = strlen(path);
  for (bool trimmed = true; trimmed;) {
    trimmed = plen && path[plen - 1] == '/';
    if (trimmed) plen--;
    if (plen >= 4 && strncmp(path + plen - 4, ".git", 4) == 0) plen -= 4, trimmed = true;
  }
  char *key;
  key = heap_printf("%.*s/%.*s", (int)hlen, host, (int)plen, path);
  for (size_t i = 0; i < hlen; i++) key[i] = (char)tolower((unsigned char)key[i]);
  return key;
}
