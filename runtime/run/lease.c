/* lease.c: leader election through a Lease (see lease.h). */
#include "plumb/lease.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/arena.h"

struct lease {
  kube_client *c;
  char *ns, *name, *identity, *url;
  int duration_s;
  char *path, *collection;
  json_t *record;      /* the Lease as last read or written, or NULL */
  double observed_at;  /* when record's holder and renewTime were first seen */
  bool leading;
  double renewed_at;   /* the last successful renewal of ours */
  /* What lease_leading reads from other threads: a copy of the above made
   * after each lease_try, under mu. */
  pthread_mutex_t mu;
  pthread_cond_t wake;  /* lease_stop's signal to the thread */
  pthread_t thread;
  bool running, stop;
  bool shown_leading;
  double shown_renewed_at;
  char *shown_holder;
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
               .url = heap_strdup(o->url), .duration_s = o->duration_s > 0 ? o->duration_s : 15};
  l->collection = heap_printf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", o->ns);
  l->path = heap_printf("%s/%s", l->collection, o->name);
  l->shown_holder = heap_strdup("");
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC); /* waits that a clock step does not stretch */
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->wake, &a);
  pthread_condattr_destroy(&a);
  return l;
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

void lease_observe(lease *l, json_t *record) { observe(l, json_incref(record)); }

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
  if (l->url) json_object_set_new(json_object_get(body, "metadata"), "annotations", json_pack("{s:s}", LEASE_URL, l->url));
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

static bool try_once(lease *l) {
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

/* Makes what try_once found visible to lease_leading. */
static void show(lease *l) {
  pthread_mutex_lock(&l->mu);
  l->shown_leading = l->leading;
  l->shown_renewed_at = l->renewed_at;
  if (strcmp(l->shown_holder, lease_holder(l)) != 0) {
    free(l->shown_holder);
    l->shown_holder = heap_strdup(lease_holder(l));
  }
  pthread_mutex_unlock(&l->mu);
}

bool lease_try(lease *l) {
  bool leading = try_once(l);
  show(l);
  return leading;
}

/* As client-go: no holder, and a duration of one second for those that
 * still read the old rules. */
int lease_release(lease *l) {
  if (!l->leading) return KUBE_OK;
  l->leading = false;
  int rc = write_spec(l, new_spec(l, NULL, 1));
  show(l);
  return rc == KUBE_ECONFLICT ? KUBE_OK : rc; /* taken already */
}

/* Until lease_stop: a renewal when a third of the duration has passed
 * since the last one; a failed renewal is tried again at once (a fifth of
 * a second later), until its deadline, so that one slow answer of an API
 * server just back does not cost the Lease; a standby tries each second. */
static void *renew(void *arg) {
  lease *l = arg;
  pthread_mutex_lock(&l->mu);
  while (!l->stop) {
    pthread_mutex_unlock(&l->mu);
    bool was = l->leading, leading = lease_try(l);
    double wait = leading ? l->renewed_at + l->duration_s / 3.0 - mono() : was ? 0.2 : 1;
    if (wait < 0.05) wait = 0.05;
    struct timespec until;
    double at = mono() + wait;
    until.tv_sec = (time_t)at;
    until.tv_nsec = (long)((at - (double)until.tv_sec) * 1e9);
    pthread_mutex_lock(&l->mu);
    if (!l->stop) pthread_cond_timedwait(&l->wake, &l->mu, &until);
  }
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

static void end_thread(lease *l) {
  if (!l->running) return;
  pthread_mutex_lock(&l->mu);
  l->stop = true;
  pthread_cond_signal(&l->wake);
  pthread_mutex_unlock(&l->mu);
  pthread_join(l->thread, NULL);
  l->running = false;
}

int lease_start(lease *l) {
  if (l->running) return 0;
  l->stop = false;
  if (pthread_create(&l->thread, NULL, renew, l) != 0) return -1;
  l->running = true;
  return 0;
}

bool lease_leading(lease *l, char **holder) {
  pthread_mutex_lock(&l->mu);
  bool leading = l->shown_leading && mono() < l->shown_renewed_at + l->duration_s * 2.0 / 3;
  if (holder) *holder = heap_strdup(l->shown_holder);
  pthread_mutex_unlock(&l->mu);
  return leading;
}

int lease_stop(lease *l) {
  end_thread(l);
  return lease_release(l);
}

void lease_free(lease *l) {
  if (!l) return;
  end_thread(l);
  pthread_mutex_destroy(&l->mu);
  pthread_cond_destroy(&l->wake);
  free(l->shown_holder);
  json_decref(l->record);
  free(l->ns);
  free(l->name);
  free(l->identity);
  free(l->url);
  free(l->path);
  free(l->collection);
  free(l);
}
