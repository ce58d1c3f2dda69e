/* remote.c: remote bases as Kustomize reads them (see remote.h), after its
 * api/internal/git/repospec.go. */
#include "remote.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "plumb/compile.h"
#include "sha256.h"

/* s without a case-insensitive prefix, or NULL when it lacks it. */
static const char *after_prefix(const char *s, const char *prefix) {
  size_t n = strlen(prefix);
  return strncasecmp(s, prefix, n) == 0 ? s + n : NULL;
}

static const char *const schemes[] = {"ssh://", "https://", "http://", "file://"};

/* %XX and '+' decoded, as Go's url.ParseQuery decodes a value. */
static char *query_value(arena *a, const char *s, size_t n) {
  char *out = arena_alloc(a, n + 1);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
      char hex[3] = {s[i + 1], s[i + 2], 0};
      out[k++] = (char)strtol(hex, NULL, 16);
      i += 2;
    } else {
      out[k++] = s[i] == '+' ? ' ' : s[i];
    }
  }
  out[k] = '\0';
  return out;
}

/* The ref of a query: ref=, else version=; NULL when neither is given. */
static const char *query_ref(arena *a, const char *q) {
  const char *ref = NULL, *version = NULL;
  while (q && *q) {
    size_t n = strcspn(q, "&;");
    const char *eq = memchr(q, '=', n);
    if (eq && (size_t)(eq - q) == 3 && strncmp(q, "ref", 3) == 0 && !ref) ref = query_value(a, eq + 1, n - 4);
    if (eq && (size_t)(eq - q) == 7 && strncmp(q, "version", 7) == 0 && !version) version = query_value(a, eq + 1, n - 8);
    q += n + (q[n] != '\0');
  }
  return ref && *ref ? ref : version && *version ? version : NULL;
}

/* A user name as repospec.go takes one: a letter, letters, digits or '-', '@'. */
static size_t user_length(const char *s) {
  if (!isalpha((unsigned char)s[0])) return 0;
  size_t n = 1;
  while (isalnum((unsigned char)s[n]) || s[n] == '-') n++;
  return s[n] == '@' ? n + 1 : 0;
}

/* A path that climbs out of the repository once cleaned. */
static bool leaves_repo(const char *path) {
  int depth = 0;
  for (const char *seg = path; *seg;) {
    size_t n = strcspn(seg, "/");
    if (n == 2 && strncmp(seg, "..", 2) == 0) {
      if (--depth < 0) return true;
    } else if (n && !(n == 1 && seg[0] == '.')) {
      depth++;
    }
    seg += n + (seg[n] == '/');
  }
  return false;
}

/* The repository's path and the directory in it, split at an Azure "_git/"
 * segment, a "//", a ".git", else after org/repo (all of n when whole). */
static bool split_path(arena *a, const char *n, bool whole, const char **repo, const char **dir) {
  const char *git = strstr(n, "_git/"), *slashes = strstr(n, "//"), *suffix = strstr(n, ".git");
  if (git) {
    const char *end = git + 5 + strcspn(git + 5, "/");
    *repo = arena_strndup(a, n, (size_t)(end - n));
    *dir = *end ? end + 1 : end;
  } else if (slashes) {
    *repo = arena_strndup(a, n, (size_t)(slashes - n));
    *dir = slashes + 2;
  } else if (suffix) {
    *repo = arena_strndup(a, n, (size_t)(suffix + 4 - n));
    *dir = suffix + 4;
  } else if (whole) {
    *repo = n, *dir = "";
  } else {
    const char *org = strchr(n, '/'), *end = org ? strchr(org + 1, '/') : NULL;
    if (!org) return false;
    if (!end) end = n + strlen(n);
    *repo = arena_strndup(a, n, (size_t)(end - n));
    *dir = *end ? end + 1 : end;
  }
  while (**dir == '/') (*dir)++;
  return **repo != '\0';
}

static bool ends_with(const char *s, size_t n, const char *suffix) {
  size_t k = strlen(suffix);
  return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

int remote_parse(arena *a, const char *s, remote_spec *out, const char **err) {
  if (s[0] == '/') return 0;
  const char *q = strchr(s, '?');
  const char *n = q ? arena_strndup(a, s, (size_t)(q - s)) : s;
  const char *forced = after_prefix(n, "git::");
  if (forced) n = forced;
  const char *scheme = "";
  for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++)
    if (after_prefix(n, schemes[i])) {
      scheme = schemes[i];
      n = after_prefix(n, schemes[i]);
    }
  size_t ulen = user_length(n);
  const char *user = arena_strndup(a, n, ulen);
  n += ulen;
  bool github = after_prefix(n, "github.com/") || after_prefix(n, "github.com:");
  bool scp = !*scheme && (ulen || github);
  if (!*scheme && !scp) return 0;
  if ((!strcmp(scheme, "https://") || !strcmp(scheme, "http://")) && !forced &&
      (ends_with(n, strlen(n), ".yaml") || ends_with(n, strlen(n), ".yml") || ends_with(n, strlen(n), ".json"))) {
    *err = arena_printf(a, "%s is a file over %.*s; Plumb does not download files: copy it into the repository", s,
                        (int)strlen(scheme) - 3, scheme);
    return -1;
  }
  const char *host, *rest;
  if (!strcmp(scheme, "file://")) {
    host = "file://";
    rest = arena_printf(a, "%s%s", user, n);
    scheme = user = "";
  } else {
    size_t sep = strcspn(n, "/"), colon = strcspn(n, ":");
    if (scp && colon > 0 && colon < sep) sep = colon;
    host = arena_strndup(a, n, n[sep] ? sep + 1 : sep);
    rest = n[sep] ? n + sep + 1 : "";
    if (github) {
      bool ssh = !strcmp(scheme, "ssh://") || ulen;
      scheme = ssh ? "" : "https://";
      if (!ssh) user = "";
      host = ssh ? "github.com:" : "github.com/";
    }
  }
  const char *repo, *dir;
  if (!*host || !split_path(a, rest, !strcmp(host, "file://"), &repo, &dir)) {
    *err = arena_printf(a, "%s is not a repository URL Kustomize reads (host and org/repo, or URL//DIR)", s);
    return -1;
  }
  if (leaves_repo(dir)) {
    *err = arena_printf(a, "the directory of %s leaves its repository", s);
    return -1;
  }
  *out = (remote_spec){arena_printf(a, "%s%s%s%s", scheme, user, host, repo), query_ref(a, q ? q + 1 : NULL), dir};
  return 1;
}

const char *remote_key(arena *a, const remote_spec *spec) {
  return spec->ref ? arena_printf(a, "%s?ref=%s", spec->url, spec->ref) : spec->url;
}

/* ---- the cache plumb fetch fills (compile.h) ---------------------------- */

const char *compile_remote_ref_file(arena *a, const char *cache, const char *url, const char *ref) {
  remote_spec spec = {url, ref, ""};
  const char *key = remote_key(a, &spec);
  unsigned char sum[SHA256_BYTES];
  sha256(key, strlen(key), sum);
  char hex[2 * SHA256_BYTES + 1];
  for (int i = 0; i < SHA256_BYTES; i++) snprintf(hex + 2 * i, 3, "%02x", sum[i]);
  return arena_printf(a, "%s/remote/refs/%s", cache, hex);
}

const char *compile_remote_tree_dir(arena *a, const char *cache, const char *commit) {
  return arena_printf(a, "%s/remote/trees/%s", cache, commit);
}

static bool is_commit_id(const char *s, size_t n) {
  if (n != 40) return false;
  for (size_t i = 0; i < n; i++)
    if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) return false;
  return true;
}

const char *compile_remote_cached(void *cache, arena *a, const char *url, const char *ref, const char **err) {
  remote_spec spec = {url, ref, ""};
  const char *fetch = "run plumb fetch on what you build, with the same --cache";
  char line[64] = "";
  FILE *f = fopen(compile_remote_ref_file(a, cache, url, ref), "r");
  bool read = f && fgets(line, sizeof line, f);
  if (f) fclose(f);
  size_t n = strcspn(line, "\n");
  if (!read) {
    *err = arena_printf(a, "%s is not in the cache: %s", remote_key(a, &spec), fetch);
    return NULL;
  }
  line[n] = '\0';
  const char *dir = is_commit_id(line, n) ? compile_remote_tree_dir(a, cache, line) : NULL;
  struct stat st;
  if (!dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    *err = arena_printf(a, "the cache's record of %s is damaged: %s", remote_key(a, &spec), fetch);
    return NULL;
  }
  return dir;
}
