/* forward.c: sharded, a request about an application another replica
 * syncs is passed on to that replica, whose URL its member Lease gives
 * (--advertise-url), and its answer comes back as it is: any replica
 * behind one Service answers for every application.
 *
 * The caller's own bearer token goes along, and the replica that syncs
 * checks it again, as it checks any. A session lives in the replica that
 * made it: for one (the web UI's), this replica has checked what the
 * caller may do, and passes the request on with admin's token (the
 * replicas share it) and the caller's name, which the other takes from
 * admin alone, for its history. A request passed on is marked, and is
 * never passed on again: two replicas that disagree on a holder answer
 * 409 rather than loop. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"
#include "plumb/forkgate.h"

#include "run/internal.h"

#define FORWARD_TIMEOUT_MS 10000
#define ANSWER_MAX (64 << 20) /* bytes of an answer: a diff or a tree is large */

static size_t keep(char *data, size_t size, size_t n, void *ctx) {
  buf *b = ctx;
  if (b->len + size * n > ANSWER_MAX) return 0;
  buf_put(b, data, size * n);
  return size * n;
}

/* url + the call's path, with its query again. */
static char *target(CURL *h, const char *url, const serve_call *call) {
  buf b = {0};
  buf_puts(&b, url);
  while (b.len && b.data[b.len - 1] == '/') b.len--;
  buf_puts(&b, call->path);
  const char *key;
  json_t *v;
  char sep = '?';
  json_object_foreach((json_t *)call->query, key, v) {
    char *k = curl_easy_escape(h, key, 0), *e = curl_easy_escape(h, json_string_value(v), 0);
    buf_printf(&b, "%c%s=%s", sep, k, e);
    curl_free(k);
    curl_free(e);
    sep = '&';
  }
  buf_putc(&b, '\0');
  return b.data;
}

int run_forward(const char *url, const char *replica, const serve_call *call, const char *token, char **text) {
  CURL *h = curl_easy_init();
  if (!h) abort();
  char *to = target(h, url, call);
  char *auth = token ? heap_printf("Authorization: Bearer %s", token) : heap_printf("Authorization: %s", call->authorization);
  char *user = token ? heap_printf(SERVE_ON_BEHALF ": %s", call->who->user) : NULL;
  char *body = call->body ? json_dumps(call->body, JSON_COMPACT) : NULL;
  struct curl_slist *hdrs = curl_slist_append(NULL, auth);
  if (user) hdrs = curl_slist_append(hdrs, user);
  hdrs = curl_slist_append(hdrs, SERVE_FORWARDED ": 1");
  hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
  buf answer = {0};
  curl_easy_setopt(h, CURLOPT_URL, to);
  /* HEAD as GET: the answer's body is what this server leaves out. */
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, strcmp(call->method, "HEAD") == 0 ? "GET" : call->method);
  if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)FORWARD_TIMEOUT_MS);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  /* Inside the fork gate, as the server's threads work; out of it while
   * it waits on the other replica. */
  CURLcode rc = forkgate_perform(h, NULL, NULL);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  buf_putc(&answer, '\0');
  json_t *doc = rc == CURLE_OK ? json_loads(answer.data, 0, NULL) : NULL;
  if (!doc || status < 200 || status > 599) {
    /* Never its URL or the token in the words: libcurl's, or the status. */
    json_t *why = json_pack("{s:s, s:s, s:s}", "error", "the replica that syncs this application did not answer",
                            "replica", replica, "reason",
                            rc != CURLE_OK ? curl_easy_strerror(rc) : "its answer was not JSON");
    *text = json_dumps(why, JSON_COMPACT);
    json_decref(why);
    status = 502;
  } else {
    *text = heap_strdup(answer.data);
  }
  json_decref(doc);
  buf_free(&answer);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  free(body);
  free(user);
  free(auth);
  free(to);
  return (int)status;
}
