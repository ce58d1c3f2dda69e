/* internal.h: what the files of the Kubernetes client share. */
#ifndef PLUMB_KUBE_INTERNAL_H
#define PLUMB_KUBE_INTERNAL_H

#include <curl/curl.h>

#include "plumb/arena.h"
#include "plumb/kube.h"

typedef struct discovery discovery;

struct kube_client {
  kube_config *cfg;
  kube_client_opts opts;
  CURL *curl;
  struct curl_slist *connect_to;
  char *base; /* scheme://host:port requests go to */
  char error[1024];
  char curl_error[CURL_ERROR_SIZE];
  long requests;
  double retry_after;
  double tokens, last_fill; /* rate limiter */
  discovery *disc;
};

void kube_fail(kube_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* kube_request with an Accept header of the caller's choice. */
int kube_request_accept(kube_client *c, const char *method, const char *path, const char *content_type,
                        const char *accept, const char *body, size_t len, json_t **out);
void kube_discovery_free(kube_client *c);
/* Authorization, Accept and Content-Type headers for one request (caller
 * frees with curl_slist_free_all); NULL with *err when no credential. */
struct curl_slist *kube_headers(kube_client *c, const char *content_type, const char *accept, char **err);
/* The URL path of a resource collection or, with name, of one object. */
char *kube_path(const kube_resource *r, const char *ns, const char *name);

#endif
