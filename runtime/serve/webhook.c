/* webhook.c: push events from GitHub, GitLab and Gitea.
 *
 * A delivery is checked before anything in it is believed: GitHub and
 * Gitea sign the body with HMAC-SHA256 of the shared secret, GitLab sends
 * the secret itself as a token. Only then is the event read: a push gives
 * the ref and every URL the repository goes by (HTTPS, SSH, web), so that
 * the owner can match whichever form its sources were written in. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "plumb/kube.h"
#include "serve/internal.h"

typedef bool verify_fn(const serve_request *r, const char *secret);

/* The hex HMAC-SHA256 of the body, in the header, after prefix. */
static bool signed_body(const serve_request *r, const char *header, const char *prefix, const char *secret) {
  const char *given = serve_header(r, header);
  size_t skip = strlen(prefix);
  if (!given || strncmp(given, prefix, skip) != 0) return false;
  given += skip;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)r->body, r->len, mac, &len);
  if (strlen(given) != 2 * (size_t)len) return false;
  long decoded = 0;
  unsigned char *bytes = OPENSSL_hexstr2buf(given, &decoded);
  bool good = bytes && decoded == (long)len && CRYPTO_memcmp(bytes, mac, len) == 0;
  OPENSSL_free(bytes);
  return good;
}

static bool github_signed(const serve_request *r, const char *secret) {
  return signed_body(r, "X-Hub-Signature-256", "sha256=", secret);
}

static bool gitea_signed(const serve_request *r, const char *secret) {
  return signed_body(r, "X-Gitea-Signature", "", secret);
}

static bool gitlab_token(const serve_request *r, const char *secret) {
  return serve_secret_equal(serve_header(r, "X-Gitlab-Token"), secret);
}

/* Gitea comes first: it sends GitHub's event header too. */
static const struct {
  const char *provider, *event_header;
  const char *pushes[2]; /* the event names that are pushes */
  verify_fn *verify;
} providers[] = {
    {"gitea", "X-Gitea-Event", {"push"}, gitea_signed},
    {"github", "X-GitHub-Event", {"push"}, github_signed},
    {"gitlab", "X-Gitlab-Event", {"Push Hook", "Tag Push Hook"}, gitlab_token},
};

enum { NPROVIDERS = sizeof providers / sizeof *providers, MAX_URLS = 16 };

static bool is_push(size_t p, const char *event) {
  for (size_t i = 0; i < 2 && providers[p].pushes[i]; i++)
    if (strcmp(providers[p].pushes[i], event) == 0) return true;
  return false;
}

/* The URLs under repository (GitHub, Gitea, GitLab) and project (GitLab),
 * each once. */
static size_t repository_urls(const json_t *payload, const char **urls) {
  static const char *const owners[] = {"repository", "project"};
  static const char *const keys[] = {"clone_url", "ssh_url",  "html_url", "git_url",
                                     "git_http_url", "git_ssh_url", "web_url", "url"};
  size_t n = 0;
  for (size_t o = 0; o < 2; o++)
    for (size_t k = 0; k < sizeof keys / sizeof *keys && n < MAX_URLS; k++) {
      const char *url = kube_str(json_object_get(payload, owners[o]), keys[k]);
      size_t seen = 0;
      while (url && *url && seen < n && strcmp(urls[seen], url) != 0) seen++;
      if (url && *url && seen == n) urls[n++] = url;
    }
  return n;
}

static serve_reply counted(serve *s, const char *provider, const char *result, serve_reply r) {
  metrics_add(s->deliveries, (const char *[]){provider, result}, 1);
  return r;
}

/* A verified push: hand it to the owner, tell the sender what was seen. */
static serve_reply take_push(serve *s, size_t p, const serve_request *r) {
  const char *provider = providers[p].provider;
  json_t *payload = json_loadb(r->body, r->len, 0, NULL);
  const char *urls[MAX_URLS];
  serve_push push = {.provider = provider, .ref = kube_str(payload, "ref"), .after = kube_str(payload, "after"),
                     .urls = urls, .nurls = repository_urls(payload, urls)};
  if (!push.ref || !push.nurls) {
    json_decref(payload);
    return counted(s, provider, "malformed", serve_error(MHD_HTTP_BAD_REQUEST, "not a push event's payload"));
  }
  if (s->opts.push) s->opts.push(&push, s->opts.ctx);
  json_t *seen = json_pack("{ss s[]}", "ref", push.ref, "urls");
  for (size_t i = 0; i < push.nurls; i++) json_array_append_new(json_object_get(seen, "urls"), json_string(urls[i]));
  json_decref(payload);
  return counted(s, provider, "accepted", serve_json(MHD_HTTP_OK, seen));
}

serve_reply serve_webhook_answer(serve *s, const serve_request *r) {
  if (strcmp(r->method, "POST") != 0) return serve_method_not_allowed("POST");
  size_t p = 0;
  while (p < NPROVIDERS && !serve_header(r, providers[p].event_header)) p++;
  if (p == NPROVIDERS) return serve_error(MHD_HTTP_BAD_REQUEST, "not a GitHub, GitLab or Gitea delivery");
  const char *provider = providers[p].provider, *event = serve_header(r, providers[p].event_header);
  if (!s->opts.webhook_secret)
    return counted(s, provider, "refused", serve_error(MHD_HTTP_UNAUTHORIZED, "the webhook has no secret configured"));
  if (!providers[p].verify(r, s->opts.webhook_secret))
    return counted(s, provider, "refused", serve_error(MHD_HTTP_UNAUTHORIZED, "the signature or token is wrong"));
  if (!is_push(p, event)) return counted(s, provider, "ignored", serve_json(MHD_HTTP_OK, json_pack("{ss}", "ignored", event)));
  return take_push(s, p, r);
}
