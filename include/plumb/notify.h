/* notify.h: notifications about applications, sent to receivers outside
 * the cluster, as Argo CD's notifications: a generic webhook, Slack and
 * Microsoft Teams incoming webhooks, and commit statuses on GitHub,
 * GitLab and Gitea.
 *
 * The caller's thread renders a notification into the request to send
 * (notify_render) and queues it (notify_queue), which never blocks: a
 * sender thread of its own sends, and a receiver slow, hanging or down
 * delays only the notifications to it, never a sync. The queue is bounded;
 * a request that fails is tried again later with a backoff that doubles,
 * each request on its own clock, so one receiver's retries do not hold
 * another's requests back. After the last attempt, or when the queue is
 * full, the notification is lost: counted, and said once in the log.
 *
 * A notifier's URL and token may hold secrets: nothing here logs them,
 * and a failure is told by libcurl's words for its code or the HTTP
 * status, never with the URL. */
#ifndef PLUMB_NOTIFY_H
#define PLUMB_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "plumb/metrics.h"

typedef enum { NOTIFY_WEBHOOK, NOTIFY_SLACK, NOTIFY_TEAMS, NOTIFY_GITHUB, NOTIFY_GITLAB, NOTIFY_GITEA } notify_type;

/* A notifier, its credentials read: url (the webhook's, or the API's base
 * for a commit status: https://api.github.com, https://gitlab.com/api/v4,
 * https://gitea.example.com/api/v1), token (a commit status's), hmac_key
 * (a webhook's signature, NULL: none), headers ("Name: value"), template
 * (a webhook's body, NULL: the default JSON). All borrowed. */
typedef struct {
  const char *name;
  notify_type type;
  const char *url, *token, *hmac_key, *template;
  const char *const *headers;
  size_t nheaders;
} notify_target;

/* What happened: the trigger (notify_triggers), the application, its
 * project, repository (a URL) and commit, its health, a message for
 * people and a link to the application (NULL: none). All borrowed. */
typedef struct {
  const char *trigger, *app, *project, *repo, *commit, *health, *message, *link;
} notify_event;

/* One HTTP request (caller frees with notify_request_free). */
typedef struct {
  char *method, *url, *body;
  char **headers; /* "Name: value" */
  size_t nheaders;
} notify_request;

/* The triggers, as Argo CD's catalog names them. */
extern const char *const notify_triggers[];
extern const size_t notify_ntriggers;

/* The link to application app in the web UI served at public_url
 * (https://plumb.example.com, a trailing slash or none): its page,
 * PUBLIC_URL/apps/APP, the name percent-encoded (caller frees); NULL
 * without a public_url. */
char *notify_app_link(const char *public_url, const char *app);

/* Reads a type's name ("webhook", "slack"...); false when unknown. */
bool notify_type_parse(const char *name, notify_type *out);

/* The request that tells ev to t, in *out. A webhook's template is JSON
 * text with {{app}}, {{project}}, {{trigger}}, {{commit}}, {{health}},
 * {{message}}, {{link}} and {{repo}} replaced by their values as JSON
 * strings' contents; with hmac_key, the header X-Plumb-Signature-256 is
 * "sha256=" and the hex of the body's HMAC-SHA256. A commit status's
 * repository is ev->repo's path (owner/name). Returns NULL, or why there
 * is no request (a template that is not JSON once filled, a repository
 * without owner/name, no commit): a static string. */
const char *notify_render(const notify_target *t, const notify_event *ev, notify_request *out);
void notify_request_free(notify_request *r);

/* The sender. */
typedef struct notify_sender notify_sender;

typedef struct {
  int attempts;        /* per notification; 0: 6 */
  int backoff_ms;      /* before the second attempt, doubled after each; 0: 1000 */
  int timeout_ms;      /* of one attempt; 0: 10000 */
  size_t queue_max;    /* 0: 256 */
  FILE *log;           /* where losses are told; NULL: nowhere */
  metrics_family *sent; /* {notifier, result}: "sent", "retried" */
  metrics_family *lost; /* {notifier, reason}: "attempts", "queue" */
} notify_opts;

/* Starts the sender thread; o is copied. Caller frees with notify_free,
 * which waits 2 s at most for what is queued. */
notify_sender *notify_new(const notify_opts *o);
void notify_free(notify_sender *s);
/* Queues req for notifier name (consumed, even when the queue is full and
 * it is lost); app names it in the log. Never blocks on a receiver. */
void notify_queue(notify_sender *s, const char *name, const char *app, notify_request *req);
/* Notifications queued or being sent, not yet sent nor lost. */
size_t notify_pending(notify_sender *s);

#endif
