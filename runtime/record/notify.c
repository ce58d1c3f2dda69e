/* notify.c: notifications to receivers outside the cluster (see notify.h).
 *
 * Bodies follow each receiver's documented API: Slack's incoming webhook
 * ({text, attachments}), Teams' connector MessageCard, GitHub's and
 * Gitea's POST /repos/OWNER/NAME/statuses/SHA with a JSON body, GitLab's
 * POST /projects/ID/statuses/SHA with the fields in the query string. */
#include "plumb/notify.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/arena.h"
#include "plumb/forkgate.h"

#define DRAIN_S 2 /* what notify_free waits for the queue */

const char *const notify_triggers[] = {"on-sync-running",    "on-sync-succeeded", "on-sync-failed",
                                       "on-health-degraded", "on-drift-reverted", "on-deployed",
                                       "on-out-of-sync"};
const size_t notify_ntriggers = sizeof notify_triggers / sizeof notify_triggers[0];

static const char *const type_names[] = {"webhook", "slack", "teams", "github", "gitlab", "gitea"};

bool notify_type_parse(const char *name, notify_type *out) {
  for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
    if (strcmp(type_names[i], name) == 0) return *out = (notify_type)i, true;
  return false;
}

/* ---- rendering ------------------------------------------------------------ */

char *notify_app_link(const char *public_url, const char *app) {
  if (!public_url || !*public_url) return NULL;
  size_t n = strlen(public_url);
  while (n && public_url[n - 1] == '/') n--;
  buf b = {0};
  buf_printf(&b, "%.*s/apps/", (int)n, public_url);
  /* As the UI's encodeURIComponent: names are DNS labels, but a link must
   * not break on whatever else one day holds. */
  for (const unsigned char *p = (const unsigned char *)app; *p; p++)
    if (isalnum(*p) || strchr("-_.!~*'()", *p)) buf_putc(&b, (char)*p);
    else buf_printf(&b, "%%%02X", *p);
  return b.data;
}

static const char *or_empty(const char *s) { return s ? s : ""; }

static bool failed(const char *trigger) {
  return strcmp(trigger, "on-sync-failed") == 0 || strcmp(trigger, "on-health-degraded") == 0 ||
         strcmp(trigger, "on-out-of-sync") == 0;
}

/* The words people read, the same in every receiver. */
static char *summary(const notify_event *ev) {
  return heap_printf("%s: %s at %.7s (%s)%s%s", or_empty(ev->app), ev->trigger + 3, or_empty(ev->commit),
                     ev->health ? ev->health : "health unknown", ev->message ? ": " : "", or_empty(ev->message));
}

static void add_header(notify_request *r, char *h) {
  r->headers = heap_realloc(r->headers, (r->nheaders + 1) * sizeof *r->headers);
  r->headers[r->nheaders++] = h;
}

static void set_json(notify_request *r, json_t *body) {
  r->body = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  add_header(r, heap_strdup("Content-Type: application/json"));
}

/* The contents of s as a JSON string, without its quotes. */
static void put_escaped(buf *b, const char *s) {
  json_t *j = json_string(or_empty(s));
  if (!j) j = json_string(""); /* not UTF-8: said as nothing rather than as a broken body */
  char *text = json_dumps(j, JSON_ENCODE_ANY);
  buf_put(b, text + 1, strlen(text) - 2);
  free(text);
  json_decref(j);
}

static const char *fill(const char *template, const notify_event *ev, char **out) {
  const struct {
    const char *name, *value;
  } vars[] = {{"app", ev->app},       {"project", ev->project}, {"trigger", ev->trigger}, {"commit", ev->commit},
              {"health", ev->health}, {"message", ev->message}, {"link", ev->link},       {"repo", ev->repo}};
  buf b = {0};
  for (const char *p = template; *p;) {
    const char *open = strstr(p, "{{");
    if (!open) {
      buf_puts(&b, p);
      break;
    }
    buf_put(&b, p, (size_t)(open - p));
    const char *close = strstr(open, "}}");
    size_t i = 0, len = close ? (size_t)(close - open - 2) : 0;
    while (close && i < sizeof vars / sizeof vars[0] && (strlen(vars[i].name) != len || strncmp(open + 2, vars[i].name, len)))
      i++;
    if (!close || i == sizeof vars / sizeof vars[0]) {
      buf_free(&b);
      return "the template names a value other than app, project, trigger, commit, health, message, link and repo";
    }
    put_escaped(&b, vars[i].value);
    p = close + 2;
  }
  json_t *check = json_loads(b.data ? b.data : "", JSON_DECODE_ANY, NULL);
  json_decref(check);
  if (!check) {
    buf_free(&b);
    return "the template is not JSON once filled";
  }
  *out = b.data;
  return NULL;
}

static void sign(notify_request *r, const char *key) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)r->body, strlen(r->body), mac, &n)) abort();
  buf h = {0};
  buf_puts(&h, "X-Plumb-Signature-256: sha256=");
  for (unsigned int i = 0; i < n; i++) buf_printf(&h, "%02x", mac[i]);
  add_header(r, h.data);
}

static const char *webhook(const notify_target *t, const notify_event *ev, notify_request *r) {
  if (t->template) {
    const char *why = fill(t->template, ev, &r->body);
    if (why) return why;
    add_header(r, heap_strdup("Content-Type: application/json"));
  } else {
    char *text = summary(ev);
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "trigger", ev->trigger, "app",
                             or_empty(ev->app), "project", or_empty(ev->project), "repo", or_empty(ev->repo), "commit",
                             or_empty(ev->commit), "health", or_empty(ev->health), "message", or_empty(ev->message),
                             "summary", text);
    if (ev->link) json_object_set_new(body, "link", json_string(ev->link));
    set_json(r, body);
    free(text);
  }
  if (t->hmac_key) sign(r, t->hmac_key);
  return NULL;
}

static const char *slack(const notify_event *ev, notify_request *r) {
  char *text = summary(ev);
  json_t *att = json_pack("{s:s, s:s, s:s}", "color", failed(ev->trigger) ? "#E96D76" : "#18be52", "title",
                          or_empty(ev->app), "text", text);
  if (ev->link) json_object_set_new(att, "title_link", json_string(ev->link));
  set_json(r, json_pack("{s:s, s:[o]}", "text", text, "attachments", att));
  free(text);
  return NULL;
}

static const char *teams(const notify_event *ev, notify_request *r) {
  char *text = summary(ev);
  json_t *card = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "@type", "MessageCard", "@context",
                           "https://schema.org/extensions", "summary", text, "themeColor",
                           failed(ev->trigger) ? "E96D76" : "18BE52", "title", or_empty(ev->app), "text", text);
  if (ev->link)
    json_object_set_new(card, "potentialAction",
                        json_pack("[{s:s, s:s, s:[{s:s, s:s}]}]", "@type", "OpenUri", "name", "Open in Plumb",
                                  "targets", "os", "default", "uri", ev->link));
  set_json(r, card);
  free(text);
  return NULL;
}

/* owner/name of a repository URL (https://host/owner/name.git,
 * git@host:owner/name, ssh://git@host/owner/name); NULL when it has none. */
static char *repo_path(const char *url) {
  const char *p = strstr(url, "://");
  p = p ? strchr(p + 3, '/') : strchr(url, ':'); /* scp-like: after the colon */
  if (!p) return NULL;
  p++;
  size_t n = strlen(p);
  while (n && p[n - 1] == '/') n--;
  if (n > 4 && strncmp(p + n - 4, ".git", 4) == 0) n -= 4;
  char *path = heap_printf("%.*s", (int)n, p);
  if (!strchr(path, '/') || *path == '/') {
    free(path);
    return NULL;
  }
  return path;
}

/* The commit status's state: GitHub's and Gitea's words, or GitLab's. */
static const char *state_of(const char *trigger, bool gitlab) {
  if (failed(trigger)) return gitlab ? "failed" : "failure";
  if (strcmp(trigger, "on-sync-running") == 0) return gitlab ? "running" : "pending";
  return "success";
}

static char *escaped(CURL *h, const char *s) {
  char *e = curl_easy_escape(h, or_empty(s), 0);
  char *copy = heap_strdup(e);
  curl_free(e);
  return copy;
}

static void gitlab_status(const notify_target *t, const notify_event *ev, const char *path, const char *text,
                          notify_request *r) {
  CURL *h = curl_easy_init();
  if (!h) abort();
  char *id = escaped(h, path), *name = heap_printf("plumb/%s", or_empty(ev->app)), *ename = escaped(h, name),
       *desc = escaped(h, text), *link = escaped(h, ev->link);
  r->url = heap_printf("%s/projects/%s/statuses/%s?state=%s&name=%s&description=%s%s%s", t->url, id, ev->commit,
                       state_of(ev->trigger, true), ename, desc, ev->link ? "&target_url=" : "", ev->link ? link : "");
  add_header(r, heap_printf("PRIVATE-TOKEN: %s", or_empty(t->token)));
  r->body = heap_strdup("");
  free(id), free(name), free(ename), free(desc), free(link);
  curl_easy_cleanup(h);
}

static const char *commit_status(const notify_target *t, const notify_event *ev, notify_request *r) {
  if (!ev->commit || !*ev->commit) return "no commit to set a status on";
  char *path = ev->repo ? repo_path(ev->repo) : NULL;
  if (!path) return "the repository's URL has no owner/name";
  char *text = summary(ev);
  text[strnlen(text, 140)] = '\0'; /* GitHub refuses a longer description */
  if (t->type == NOTIFY_GITLAB) {
    gitlab_status(t, ev, path, text, r);
  } else {
    r->url = heap_printf("%s/repos/%s/statuses/%s", t->url, path, ev->commit);
    char *context = heap_printf("plumb/%s", or_empty(ev->app));
    json_t *body = json_pack("{s:s, s:s, s:s}", "state", state_of(ev->trigger, false), "description", text, "context",
                             context);
    free(context);
    if (ev->link) json_object_set_new(body, "target_url", json_string(ev->link));
    set_json(r, body);
    if (t->type == NOTIFY_GITHUB) {
      add_header(r, heap_printf("Authorization: Bearer %s", or_empty(t->token)));
      add_header(r, heap_strdup("Accept: application/vnd.github+json"));
      add_header(r, heap_strdup("X-GitHub-Api-Version: 2022-11-28"));
    } else {
      add_header(r, heap_printf("Authorization: token %s", or_empty(t->token)));
    }
  }
  free(text);
  free(path);
  return NULL;
}

const char *notify_render(const notify_target *t, const notify_event *ev, notify_request *out) {
  *out = (notify_request){.method = heap_strdup("POST")};
  const char *why = NULL;
  switch (t->type) {
  case NOTIFY_WEBHOOK: why = webhook(t, ev, out); break;
  case NOTIFY_SLACK: why = slack(ev, out); break;
  case NOTIFY_TEAMS: why = teams(ev, out); break;
  default: why = commit_status(t, ev, out); break;
  }
  if (!out->url) out->url = heap_strdup(or_empty(t->url));
  for (size_t i = 0; !why && i < t->nheaders; i++) add_header(out, heap_strdup(t->headers[i]));
  if (why) notify_request_free(out);
  return why;
}

void notify_request_free(notify_request *r) {
  for (size_t i = 0; i < r->nheaders; i++) free(r->headers[i]);
  free(r->headers);
  free(r->method), free(r->url), free(r->body);
  *r = (notify_request){0};
}

/* ---- sending ---------------------------------------------------------------- */

/* A request waiting for its next attempt, due at `at` (ms, monotonic). */
typedef struct {
  char *name, *app;
  notify_request req;
  int attempt;
  long long at;
} job;

struct notify_sender {
  notify_opts o;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t wake;
  job *jobs;
  size_t n, busy; /* queued; being sent */
  bool stop;
  long long drain_until;
};

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void job_free(job *j) {
  free(j->name), free(j->app);
  notify_request_free(&j->req);
}

/* Whether notify_free has waited long enough: a receiver that hangs does
 * not hold the runtime's exit either. */
static bool past_drain(void *ctx) {
  notify_sender *s = ctx;
  pthread_mutex_lock(&s->mu);
  bool past = s->stop && now_ms() > s->drain_until;
  pthread_mutex_unlock(&s->mu);
  return past;
}

static size_t discard(void *data, size_t size, size_t n, void *arg) {
  (void)data, (void)arg;
  return size * n;
}

/* One attempt: true when the receiver took it (2xx), else false and why
 * (libcurl's words for its code, or the status: never the URL). Called
 * inside the fork gate, which it leaves while it waits on the receiver:
 * a compile's fork never waits behind a receiver that hangs, and never
 * finds a lock of a TLS read held (forkgate.h). */
static bool attempt(notify_sender *s, const notify_request *r, char *why, size_t len) {
  CURL *h = curl_easy_init();
  if (!h) abort();
  struct curl_slist *hdrs = NULL;
  for (size_t i = 0; i < r->nheaders; i++) hdrs = curl_slist_append(hdrs, r->headers[i]);
  hdrs = curl_slist_append(hdrs, "User-Agent: plumb");
  curl_easy_setopt(h, CURLOPT_URL, r->url);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)s->o.timeout_ms);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = forkgate_perform(h, past_drain, s);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  if (rc != CURLE_OK) snprintf(why, len, "%s", curl_easy_strerror(rc));
  else if (status < 200 || status > 299) snprintf(why, len, "HTTP status %ld", status);
  return rc == CURLE_OK && status >= 200 && status <= 299;
}

static void lose(notify_sender *s, const job *j, const char *reason, const char *why) {
  metrics_add(s->o.lost, (const char *[]){j->name, reason}, 1);
  if (s->o.log) {
    fprintf(s->o.log, "notifier %s: a notification about %s is lost: %s\n", j->name, j->app, why);
    fflush(s->o.log);
  }
}

/* The job due first, if due by now; its index, or -1 with *wait_ms until
 * the first is due. */
static long due(notify_sender *s, long long now, long long *wait_ms) {
  long first = -1;
  for (size_t i = 0; i < s->n; i++)
    if (first < 0 || s->jobs[i].at < s->jobs[first].at) first = (long)i;
  if (first >= 0 && s->jobs[first].at > now) {
    *wait_ms = s->jobs[first].at - now;
    return -1;
  }
  return first;
}

static void wait_ms(notify_sender *s, long long ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long long ns = ts.tv_nsec + (ms % 1000) * 1000000;
  ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
  ts.tv_nsec = (long)(ns % 1000000000);
  pthread_cond_timedwait(&s->wake, &s->mu, &ts);
}

/* Sends j; true when it is done with (sent or lost), and freed. */
static bool send_job(notify_sender *s, job *j) {
  char why[256];
  bool done = true;
  forkgate_enter();
  if (attempt(s, &j->req, why, sizeof why)) {
    metrics_add(s->o.sent, (const char *[]){j->name, "sent"}, 1);
  } else if (++j->attempt >= s->o.attempts) {
    char *told = heap_printf("%d attempts failed, the last: %s", j->attempt, why);
    lose(s, j, "attempts", told);
    free(told);
  } else {
    metrics_add(s->o.sent, (const char *[]){j->name, "retried"}, 1);
    j->at = now_ms() + ((long long)s->o.backoff_ms << (j->attempt - 1));
    done = false;
  }
  if (done) job_free(j);
  forkgate_leave();
  return done;
}

static void *sender(void *arg) {
  notify_sender *s = arg;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    long long now = now_ms(), wait = 1000;
    if (s->stop && (!s->n || now > s->drain_until)) break;
    long i = due(s, now, &wait);
    if (i < 0) {
      wait_ms(s, s->stop && s->drain_until - now < wait ? s->drain_until - now : wait);
      continue;
    }
    job j = s->jobs[i];
    s->jobs[i] = s->jobs[--s->n];
    s->busy++;
    pthread_mutex_unlock(&s->mu);
    bool done = send_job(s, &j);
    pthread_mutex_lock(&s->mu);
    s->busy--;
    if (!done) s->jobs[s->n++] = j; /* its room was kept: busy counts against the bound */
  }
  for (; s->n; s->n--) { /* past the drain */
    lose(s, &s->jobs[s->n - 1], "queue", "the runtime stopped before it was sent");
    job_free(&s->jobs[s->n - 1]);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

notify_sender *notify_new(const notify_opts *o) {
  notify_sender *s = heap_calloc(1, sizeof *s);
  s->o = *o;
  if (s->o.attempts <= 0) s->o.attempts = 6;
  if (s->o.backoff_ms <= 0) s->o.backoff_ms = 1000;
  if (s->o.timeout_ms <= 0) s->o.timeout_ms = 10000;
  if (!s->o.queue_max) s->o.queue_max = 256;
  s->jobs = heap_calloc(s->o.queue_max, sizeof *s->jobs);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->wake, NULL);
  if (pthread_create(&s->thread, NULL, sender, s) != 0) abort();
  return s;
}

void notify_free(notify_sender *s) {
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  s->stop = true;
  s->drain_until = now_ms() + DRAIN_S * 1000;
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->thread, NULL);
  free(s->jobs);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->wake);
  free(s);
}

void notify_queue(notify_sender *s, const char *name, const char *app, notify_request *req) {
  job j = {heap_strdup(name), heap_strdup(app), *req, 0, now_ms()};
  *req = (notify_request){0};
  pthread_mutex_lock(&s->mu);
  if (s->n + s->busy >= s->o.queue_max || s->stop) {
    lose(s, &j, "queue", "the queue is full");
    job_free(&j);
  } else {
    s->jobs[s->n++] = j;
    pthread_cond_signal(&s->wake);
  }
  pthread_mutex_unlock(&s->mu);
}

size_t notify_pending(notify_sender *s) {
  pthread_mutex_lock(&s->mu);
  size_t n = s->n + s->busy;
  pthread_mutex_unlock(&s->mu);
  return n;
}
