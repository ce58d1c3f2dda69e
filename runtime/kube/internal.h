/* internal.h: what the files of the Kubernetes client share. */
#ifndef PLUMB_KUBE_INTERNAL_H
#define PLUMB_KUBE_INTERNAL_H

#include <curl/curl.h>
#include <stdatomic.h>

#include "plumb/arena.h"
#include "plumb/kube.h"

typedef struct discovery discovery;
typedef struct kube_openapi kube_openapi;

enum { KUBE_IDLE_MAX = 4 }; /* copies of the template kept between requests */

struct kube_client {
  kube_config *cfg;
  kube_client_opts opts;
  CURL *curl; /* the template: TLS and address set, never performed itself */
  CURLM *multi; /* every request goes through it: it keeps the connection */
  CURL *idle[KUBE_IDLE_MAX]; /* copies of the template between requests */
  size_t nidle;
  struct curl_slist *connect_to;
  char *base; /* scheme://host:port requests go to */
  char error[1024];
  long requests;
  long cred_epoch; /* bumped when a refused exec credential is thrown away */
  double tokens, last_fill; /* rate limiter */
  discovery *disc;
  kube_openapi *openapi; /* the OpenAPI documents read (openapi.c) */
  char *namespace; /* kube_client_set_namespace's, or NULL */
  atomic_bool interrupted; /* kube_client_interrupt's, from any thread */
};

void kube_fail(kube_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A failed answer into kube_last_error: an API Status body says what went
 * wrong in the server's own words; the code returned names the kind of
 * failure for the caller. */
int kube_status_error(kube_client *c, long code, json_t *body, const char *method, const char *path);
/* No answer (connection, TLS, timeout) into kube_last_error: KUBE_EUNREACHABLE. */
int kube_transport_error(kube_client *c, CURLcode rc, const char *errbuf);
/* Sends r alone; its answer goes to *out (or is dropped) and its words for a
 * failure to kube_last_error. */
int kube_request_one(kube_client *c, kube_req *r, json_t **out);
/* kube_request with an Accept header of the caller's choice. */
int kube_request_accept(kube_client *c, const char *method, const char *path, const char *content_type,
                        const char *accept, const char *body, size_t len, json_t **out);
void kube_discovery_free(kube_client *c);
void kube_openapi_free(kube_client *c);
/* Authorization, Accept and Content-Type headers for one request (caller
 * frees with curl_slist_free_all); NULL with *err when no credential. */
struct curl_slist *kube_headers(kube_client *c, const char *content_type, const char *accept, char **err);
/* An exec plugin's client certificate, onto a handle about to send. */
void kube_exec_cert(kube_client *c, CURL *h);
/* Throws away the exec credential the server refused, so the next request
 * fetches a new one. */
void kube_exec_expire(kube_client *c);
bool kube_interrupted(const kube_client *c);
/* The URL path of a resource collection or, with name, of one object. */
char *kube_path(const kube_resource *r, const char *ns, const char *name);
/* Token bucket of opts.qps and opts.burst: waits until a request may go. */
void kube_rate_limit(kube_client *c);
/* An answer's JSON, or NULL when it is none (caller decrefs). */
json_t *kube_json_read(const char *text, size_t len);
double kube_now(void);
void kube_sleep(double seconds);
/* Marks r as never sent (KUBE_ECANCELED, with words to say so). */
void kube_cancel(kube_req *r);
/* Closes the request engine (request.c): the multi handle and idle copies. */
void kube_requests_free(kube_client *c);

#endif
