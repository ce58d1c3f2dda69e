/* openapi.c: the OpenAPI v3 documents a server serves (kube.h).
 *
 * /openapi/v3 lists one document per group-version, at a URL that carries
 * a hash of its content (?hash=...), as kubectl's cache keys them: a
 * client keeps each document it read with its URL, and reads it again
 * only when the index gives another (a CRD changed). The index itself is
 * read again once it is INDEX_TTL_S old, so that the passes of a run
 * share it and still see a CRD installed since. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

enum { INDEX_TTL_S = 10, INDEX_RETRIES = 4 };

typedef struct openapi_doc {
  char *api, *url; /* "apps/v1", and the URL it was read from */
  char *text;
  size_t len;
  struct openapi_doc *next;
} openapi_doc;

struct kube_openapi {
  json_t *index;
  double read_at;
  openapi_doc *docs;
};

void kube_openapi_free(kube_client *c) {
  if (!c->openapi) return;
  for (openapi_doc *d = c->openapi->docs, *next; d; d = next) {
    next = d->next;
    free(d->api);
    free(d->url);
    free(d->text);
    free(d);
  }
  json_decref(c->openapi->index);
  free(c->openapi);
  c->openapi = NULL;
}

/* The URL the index gives api's document (NULL for none) as *url,
 * borrowed from the index. */
static int doc_url(kube_client *c, const char *api, const char **url) {
  kube_openapi *o = c->openapi ? c->openapi : (c->openapi = heap_calloc(1, sizeof *c->openapi));
  if (!o->index || kube_now() - o->read_at > INDEX_TTL_S) {
    json_t *index = NULL;
    int rc = kube_request(c, "GET", "/openapi/v3", NULL, NULL, 0, &index);
    if (rc != KUBE_OK) return rc;
    json_decref(o->index);
    o->index = index;
    o->read_at = kube_now();
  }
  char *key = heap_printf("%s/%s", strchr(api, '/') ? "apis" : "api", api);
  *url = kube_str(json_object_get(json_object_get(o->index, "paths"), key), "serverRelativeURL");
  free(key);
  return KUBE_OK;
}

static int read_doc(kube_client *c, const char *api, const char **text, size_t *len);

int kube_openapi_doc(kube_client *c, const char *api, const char **text, size_t *len) {
  int rc = read_doc(c, api, text, len);
  /* An index read before a CRD changed names its old hash, which the
   * server answers with a redirect to the new one: read the index again.
   * Just after a CRD is made or changed its document may change again
   * between the two reads, so a few times, a moment apart. */
  for (int again = 0; rc == KUBE_ERROR && again < INDEX_RETRIES && c->openapi && c->openapi->index; again++) {
    json_decref(c->openapi->index);
    c->openapi->index = NULL;
    if (again) nanosleep(&(struct timespec){.tv_nsec = 200 * 1000 * 1000}, NULL);
    rc = read_doc(c, api, text, len);
  }
  return rc;
}

static int read_doc(kube_client *c, const char *api, const char **text, size_t *len) {
  const char *url;
  int rc = doc_url(c, api, &url);
  if (rc != KUBE_OK) return rc;
  if (!url) return KUBE_ENOTFOUND;
  openapi_doc **p = &c->openapi->docs;
  while (*p && strcmp((*p)->api, api) != 0) p = &(*p)->next;
  if (*p && strcmp((*p)->url, url) == 0) {
    *text = (*p)->text, *len = (*p)->len;
    return KUBE_OK;
  }
  json_t *doc = NULL;
  if ((rc = kube_request(c, "GET", url, NULL, NULL, 0, &doc)) != KUBE_OK) return rc;
  char *dumped = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  if (!dumped) {
    kube_fail(c, "cannot read the OpenAPI document of %s", api);
    return KUBE_ERROR;
  }
  openapi_doc *d = *p ? *p : (*p = heap_calloc(1, sizeof **p));
  if (!d->api) d->api = heap_strdup(api);
  free(d->url);
  free(d->text);
  d->url = heap_strdup(url);
  d->text = dumped, d->len = strlen(dumped);
  *text = d->text, *len = d->len;
  return KUBE_OK;
}
