/* lease.c: leader election through a Lease (see lease.h). */
#include "plumb/lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/arena.h"

struct lease {
  kube_client *c;
  char *ns, *name, *identity;
  int duration_s;
  char *path, *collection;
  json_t *record;      /* the Lease as last read or written, or NULL */
  double observed_at;  /* when record's holder and renewTime were first seen */
  bool leading;
  double renewed_at;   /* the last successful renewal of ours */
};

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A MicroTime, as the API server writes acquireTime and renewTime. */
static json_t *micro_time_now(void) {
  struct timespec ts;
  struct tm tm;
  char text[64], stamp[32];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(text, sizeof text, "%s.%06ldZ", stamp, ts.tv_nsec / 1000);
  return json_string(text);
}

lease *lease_new(kube_client *c, const lease_opts *o) {
  lease *l = heap_calloc(1, sizeof *l);
  *l = (lease){.c = c, .ns = heap_strdup(o->ns), .name = heap_strdup(o->name), .identity = heap_strdup(o->identity),
               .duration_s = o->duration_s > 0 ? o->duration_s : 15};
  l->collection = heap_printf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", o->ns);
  l->path = heap_printf("%s/%s", l->collection, o->name);
  return l;
}

void lease_free(lease *l) {
  if (!l) return;
  json_decref(l->record);
  free(l->ns);
  free(l->name);
  free(l->identity);
  free(l->path);
  free(l->collection);
  free(l);
}

static json_t *spec(const lease *l) { return json_object_get(l->record, "spec"); }
static const char *spec_str(const lease *l, const char *key) { return kube_str(spec(l), key); }

const char *lease_holder(const lease *l) {
  const char *h = spec_str(l, "holderIdentity");
  return h ? h : "";
}

/* Keeps what the server said; the expiry clock restarts when the holder or
 * its renewTime changed since the last look. */
static void observe(lease *l, json_t *record) {
  json_t *old = spec(l), *now = json_object_get(record, "spec");
  if (!json_equal(json_object_get(old, "holderIdentity"), json_object_get(now, "holderIdentity")) ||
      !json_equal(json_object_get(old, "renewTime"), json_object_get(now, "renewTime")) || !l->record)
    l->observed_at = mono();
  json_decref(l->record);
  l->record = record;
}

static bool expired(const lease *l) {
  json_int_t d = json_integer_value(json_object_get(spec(l), "leaseDurationSeconds"));
  return mono() > l->observed_at + (double)(d > 0 ? d : l->duration_s);
}

/* The spec that makes holder (NULL: nobody) hold it from now; a change of
 * holder counts as a transition, as client-go counts them. */
static json_t *new_spec(const lease *l, const char *holder, int duration_s) {
  json_int_t transitions = json_integer_value(json_object_get(spec(l), "leaseTransitions"));
  bool same = holder && strcmp(lease_holder(l), holder) == 0;
  json_t *s = json_pack("{s:s, s:i, s:o, s:I}", "holderIdentity", holder ? holder : "", "leaseDurationSeconds",
                        duration_s, "renewTime", micro_time_now(), "leaseTransitions",
                        transitions + (same || !holder || !l->record ? 0 : 1));
  json_t *acquired = json_object_get(spec(l), "acquireTime");
  json_object_set_new(s, "acquireTime", same && acquired ? json_incref(acquired) : micro_time_now());
  return s;
}

/* Writes s: a create when there was no Lease, else an update of the one
 * read (its resourceVersion makes a concurrent write a conflict). */
static int write_spec(lease *l, json_t *s) {
  json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
                           "metadata", "name", l->name, "namespace", l->ns, "spec", s);
  const char *rv = kube_meta_str(l->record, "resourceVersion");
  if (rv) json_object_set_new(json_object_get(body, "metadata"), "resourceVersion", json_string(rv));
  char *text = json_dumps(body, JSON_COMPACT);
  json_t *out = NULL;
  int rc = kube_request(l->c, rv ? "PUT" : "POST", rv ? l->path : l->collection, "application/json", text,
                        strlen(text), &out);
  if (rc == KUBE_OK) observe(l, out);
  free(text);
  json_decref(body);
  return rc;
}

/* Reads the Lease into l->record (NULL when there is none). */
static int read_lease(lease *l) {
  json_t *got = NULL;
  int rc = kube_request(l->c, "GET", l->path, NULL, NULL, 0, &got);
  if (rc == KUBE_ENOTFOUND) {
    json_decref(l->record);
    l->record = NULL;
    return KUBE_OK;
  }
  if (rc == KUBE_OK) observe(l, got);
  return rc;
}

/* Still leading on the last renewal, though this one failed? */
static bool lead_until_deadline(lease *l) {
  l->leading = l->leading && mono() < l->renewed_at + l->duration_s * 2.0 / 3;
  return l->leading;
}

bool lease_try(lease *l) {
  double t = mono();
  if (l->leading && t < l->renewed_at + l->duration_s / 3.0) return true;
  if (read_lease(l) != KUBE_OK) return lead_until_deadline(l);
  const char *holder = lease_holder(l);
  if (*holder && strcmp(holder, l->identity) != 0 && !expired(l)) return l->leading = false;
  int rc = write_spec(l, new_spec(l, l->identity, l->duration_s));
  if (rc == KUBE_ECONFLICT) return l->leading = false; /* another candidate wrote first */
  if (rc != KUBE_OK) return lead_until_deadline(l);
  l->renewed_at = t;
  return l->leading = true;
}

/* As client-go: no holder, and a duration of one second for those that
 * still read the old rules. */
int lease_release(lease *l) {
  if (!l->leading) return KUBE_OK;
  l->leading = false;
  int rc = write_spec(l, new_spec(l, NULL, 1));
  return rc == KUBE_ECONFLICT ? KUBE_OK : rc; /* taken already */
}
