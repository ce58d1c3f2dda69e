/* shard.c: applications split among replicas through Leases (see shard.h). */
#include "plumb/shard.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/arena.h"
#include "plumb/lease.h"

/* A member Lease as this replica saw it: when its renewTime last changed,
 * on this replica's monotonic clock, as lease.c decides expiry. */
typedef struct {
  char *name, *holder, *renewed;
  char *url; /* its annotation LEASE_URL; NULL: none */
  double seen_at;
  int duration_s;
  bool listed; /* in the last list */
} member_seen;

struct shard_set {
  kube_client *c;
  char *ns, *identity, *collection;
  int duration_s, nshards;
  lease *member;  /* plumb-member-IDENTITY */
  lease **shards; /* plumb-shard-K */
  member_seen *seen;
  size_t nseen;
  /* What other threads read (shard_holder, shard_members), under mu. */
  pthread_mutex_t mu;
  pthread_cond_t wake;
  pthread_t thread;
  bool running, stop;
  char **holders;
  char *members;
  json_t *urls;    /* live member: its URL */
  unsigned *terms; /* per shard: how many times this replica took it */
  unsigned long version; /* of holders and members: counts their changes */
};

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* FNV-1a, then a finalizer that spreads its low bits (splitmix64's): a
 * hash every replica computes alike, whatever its build. */
static uint64_t hash(const char *a, const char *b) {
  uint64_t h = 1469598103934665603ULL;
  for (const char *p = a; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  if (b) {
    h = (h ^ '/') * 1099511628211ULL;
    for (const char *p = b; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  }
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

int shard_of(const shard_set *s, const char *key) { return (int)(hash(key, NULL) % (uint64_t)s->nshards); }

/* Each member's share: shards / n, and one more for the shards % n that
 * hold most now (the first by name among equals), so that as few shards
 * as can be move. */
static void shares(size_t n, int shards, const int *held, int *share) {
  int *now = heap_calloc(n + 1, sizeof *now);
  for (int k = 0; k < shards; k++)
    if (held[k] >= 0 && (size_t)held[k] < n) now[held[k]]++;
  for (size_t m = 0; m < n; m++) {
    size_t above = 0; /* members before m in that order */
    for (size_t o = 0; o < n; o++) above += now[o] > now[m] || (now[o] == now[m] && o < m);
    share[m] = shards / (int)n + (above < (size_t)shards % n);
  }
  free(now);
}

void shard_assign(const char *const *members, size_t n, int shards, const int *held, int *out) {
  int *load = heap_calloc(n + 1, sizeof *load), *share = heap_calloc(n + 1, sizeof *share);
  if (n) shares(n, shards, held, share);
  /* A holder keeps what it holds, up to its share... */
  for (int k = 0; k < shards; k++) {
    out[k] = -1;
    if (held[k] >= 0 && (size_t)held[k] < n && load[held[k]] < share[held[k]]) load[out[k] = held[k]]++;
  }
  /* ...and the rest go to the member furthest below its share, the tie
   * broken by a hash of member and shard so that no replica is always
   * first. */
  char key[16];
  for (int k = 0; k < shards && n; k++) {
    if (out[k] >= 0) continue;
    snprintf(key, sizeof key, "%d", k);
    size_t best = 0;
    for (size_t m = 1; m < n; m++) {
      int gap = share[m] - load[m], best_gap = share[best] - load[best];
      if (gap > best_gap || (gap == best_gap && hash(members[m], key) > hash(members[best], key))) best = m;
    }
    load[out[k] = (int)best]++;
  }
  free(load);
  free(share);
}

/* A Lease name of an identity: lower case, and what else a name may not
 * hold turned into '-'. */
static char *member_name(const char *identity) {
  char *name = heap_printf("plumb-member-%.200s", identity), *p;
  for (p = name; *p; p++) {
    *p = (char)tolower((unsigned char)*p);
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.') *p = '-';
  }
  while (p > name && !isalnum((unsigned char)p[-1])) *--p = '\0';
  return name;
}

shard_set *shard_set_new(kube_client *c, const shard_opts *o) {
  shard_set *s = heap_calloc(1, sizeof *s);
  *s = (shard_set){.c = c, .ns = heap_strdup(o->ns), .identity = heap_strdup(o->identity),
                   .duration_s = o->duration_s > 0 ? o->duration_s : 15, .nshards = o->shards > 0 ? o->shards : 1};
  s->collection = heap_printf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", o->ns);
  char *name = member_name(o->identity);
  s->member = lease_new(c, &(lease_opts){.ns = o->ns, .name = name, .identity = o->identity,
                                         .duration_s = s->duration_s, .url = o->url});
  free(name);
  s->shards = heap_calloc((size_t)s->nshards, sizeof *s->shards);
  s->holders = heap_calloc((size_t)s->nshards, sizeof *s->holders);
  s->terms = heap_calloc((size_t)s->nshards, sizeof *s->terms);
  for (int k = 0; k < s->nshards; k++) {
    char *shard = heap_printf("plumb-shard-%d", k);
    s->shards[k] = lease_new(c, &(lease_opts){.ns = o->ns, .name = shard, .identity = o->identity,
                                              .duration_s = s->duration_s});
    s->holders[k] = heap_strdup("");
    free(shard);
  }
  s->members = heap_strdup("");
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->wake, &a);
  pthread_condattr_destroy(&a);
  return s;
}

/* ---- reading the Leases ---------------------------------------------------- */

static member_seen *seen_named(shard_set *s, const char *name) {
  for (size_t i = 0; i < s->nseen; i++)
    if (strcmp(s->seen[i].name, name) == 0) return &s->seen[i];
  s->seen = heap_realloc(s->seen, (s->nseen + 1) * sizeof *s->seen);
  s->seen[s->nseen] = (member_seen){.name = heap_strdup(name), .holder = heap_strdup(""), .renewed = heap_strdup("")};
  return &s->seen[s->nseen++];
}

static void seen_free(member_seen *m) {
  free(m->url);
  free(m->name);
  free(m->holder);
  free(m->renewed);
}

/* Notes a member Lease as listed; its expiry clock restarts when its
 * holder or renewTime changed. */
static void observe_member(shard_set *s, json_t *item) {
  json_t *spec = json_object_get(item, "spec");
  const char *holder = kube_str(spec, "holderIdentity"), *renewed = kube_str(spec, "renewTime");
  member_seen *m = seen_named(s, kube_meta_str(item, "name"));
  holder = holder ? holder : "", renewed = renewed ? renewed : "";
  if (strcmp(m->holder, holder) != 0 || strcmp(m->renewed, renewed) != 0) {
    free(m->holder), free(m->renewed);
    m->holder = heap_strdup(holder), m->renewed = heap_strdup(renewed);
    m->seen_at = mono();
  }
  json_int_t d = json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
  m->duration_s = d > 0 ? (int)d : s->duration_s;
  const char *url = kube_str(json_object_get(json_object_get(item, "metadata"), "annotations"), LEASE_URL);
  free(m->url);
  m->url = heap_strdup(url);
  m->listed = true;
}

/* Forgets members no longer listed. */
static void sweep_members(shard_set *s) {
  size_t k = 0;
  for (size_t i = 0; i < s->nseen; i++) {
    if (s->seen[i].listed) s->seen[k++] = s->seen[i];
    else seen_free(&s->seen[i]);
  }
  s->nseen = k;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The live members, sorted (borrowed from s->seen, and this replica's
 * identity): those whose Lease has a holder and has not expired. */
static size_t live_members(shard_set *s, bool self, const char ***out) {
  const char **live = heap_calloc(s->nseen + 2, sizeof *live);
  size_t n = 0;
  double now = mono();
  if (self) live[n++] = s->identity;
  for (size_t i = 0; i < s->nseen; i++) {
    member_seen *m = &s->seen[i];
    if (*m->holder && strcmp(m->holder, s->identity) != 0 && now < m->seen_at + m->duration_s) live[n++] = m->holder;
  }
  qsort(live, n, sizeof *live, compare_names);
  size_t k = 0; /* one holder of two member Leases counts once */
  for (size_t i = 0; i < n; i++)
    if (!k || strcmp(live[k - 1], live[i]) != 0) live[k++] = live[i];
  *out = live;
  return k;
}

static int member_index(const char *const *members, size_t n, const char *holder) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(members[i], holder) == 0) return (int)i;
  return -1;
}

/* The shard a Lease name stands for, or -1. */
static int shard_named(const shard_set *s, const char *name) {
  char *end;
  if (strncmp(name, "plumb-shard-", 12) != 0) return -1;
  long k = strtol(name + 12, &end, 10);
  return *end || end == name + 12 || k < 0 || k >= s->nshards ? -1 : (int)k;
}

/* The URL of each live member, as its member Lease was last read (this
 * replica's own too: it writes its URL there). */
static json_t *member_urls(const shard_set *s, const char *const *live, size_t n) {
  json_t *urls = json_object();
  for (size_t i = 0; i < s->nseen; i++) {
    const member_seen *m = &s->seen[i];
    if (m->url && member_index(live, n, m->holder) >= 0) json_object_set_new(urls, m->holder, json_string(m->url));
  }
  return urls;
}

/* Makes holders, members and their URLs visible to other threads. */
static void show(shard_set *s, json_t **holder, const char *const *live, size_t n) {
  json_t *urls = member_urls(s, live, n);
  char *members = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&members, &len);
  if (!f) abort();
  for (size_t i = 0; i < n; i++) fprintf(f, "%s%s", i ? "," : "", live[i]);
  fclose(f);
  pthread_mutex_lock(&s->mu);
  bool changed = strcmp(s->members, members) != 0;
  for (int k = 0; k < s->nshards; k++) {
    const char *h = holder[k] ? json_string_value(holder[k]) : NULL;
    if (strcmp(s->holders[k], h ? h : "") == 0) continue;
    free(s->holders[k]);
    s->holders[k] = heap_strdup(h ? h : "");
    changed = true;
  }
  free(s->members);
  s->members = members;
  s->version += changed;
  json_decref(s->urls);
  s->urls = urls;
  pthread_mutex_unlock(&s->mu);
}

/* One round: renews this replica's member Lease, reads every Lease, and
 * takes or releases shards as the assignment says. When the Leases cannot
 * be read, only renewals are made: no shard is taken on an old reading. */
static void tick(shard_set *s) {
  bool member = lease_try(s->member);
  json_t *list = NULL;
  if (kube_request(s->c, "GET", s->collection, NULL, NULL, 0, &list) != KUBE_OK) {
    for (int k = 0; k < s->nshards; k++)
      if (lease_leading(s->shards[k], NULL)) lease_try(s->shards[k]);
    return;
  }
  json_t **holder = heap_calloc((size_t)s->nshards + 1, sizeof *holder), *item;
  size_t i;
  for (i = 0; i < s->nseen; i++) s->seen[i].listed = false;
  json_array_foreach(json_object_get(list, "items"), i, item) {
    const char *name = kube_meta_str(item, "name");
    int k = name ? shard_named(s, name) : -1;
    if (k >= 0) {
      holder[k] = json_object_get(json_object_get(item, "spec"), "holderIdentity");
      lease_observe(s->shards[k], item);
    }
    else if (name && strncmp(name, "plumb-member-", 13) == 0) observe_member(s, item);
  }
  sweep_members(s);
  const char **live;
  size_t n = live_members(s, member, &live);
  int *held = heap_calloc((size_t)s->nshards + 1, sizeof *held), *to = heap_calloc((size_t)s->nshards + 1, sizeof *to);
  for (int k = 0; k < s->nshards; k++) {
    const char *h = holder[k] ? json_string_value(holder[k]) : NULL;
    held[k] = h && *h ? member_index(live, n, h) : -1;
  }
  shard_assign(live, n, s->nshards, held, to);
  int me = member ? member_index(live, n, s->identity) : -1;
  show(s, holder, live, n);
  for (int k = 0; k < s->nshards; k++) {
    bool was = lease_leading(s->shards[k], NULL);
    /* Its own member Lease not renewed (a slow API server): it takes
     * nothing new, and gives nothing up either, since the others, not
     * seeing it live, would move its shards for no one's good; it renews
     * what it holds, which no other may take while it does. */
    if (me < 0) {
      if (was) lease_try(s->shards[k]);
    } else if (to[k] == me && lease_try(s->shards[k]) && !was) {
      pthread_mutex_lock(&s->mu);
      s->terms[k]++;
      pthread_mutex_unlock(&s->mu);
    } else if (was && to[k] != me) {
      lease_release(s->shards[k]);
    }
  }
  free(held);
  free(to);
  free(live);
  free(holder);
  json_decref(list);
}

/* ---- the thread ------------------------------------------------------------ */

static void *run(void *arg) {
  shard_set *s = arg;
  pthread_mutex_lock(&s->mu);
  while (!s->stop) {
    pthread_mutex_unlock(&s->mu);
    tick(s);
    struct timespec until;
    double at = mono() + 1;
    until.tv_sec = (time_t)at;
    until.tv_nsec = (long)((at - (double)until.tv_sec) * 1e9);
    pthread_mutex_lock(&s->mu);
    if (!s->stop) pthread_cond_timedwait(&s->wake, &s->mu, &until);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

int shard_set_start(shard_set *s) {
  if (s->running) return 0;
  s->stop = false;
  if (pthread_create(&s->thread, NULL, run, s) != 0) return -1;
  s->running = true;
  return 0;
}

static void end_thread(shard_set *s) {
  if (!s->running) return;
  pthread_mutex_lock(&s->mu);
  s->stop = true;
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->thread, NULL);
  s->running = false;
}

int shard_set_stop(shard_set *s) {
  end_thread(s);
  int rc = KUBE_OK;
  for (int k = 0; k < s->nshards; k++) {
    int one = lease_release(s->shards[k]);
    if (one != KUBE_OK) rc = one;
  }
  int one = lease_release(s->member);
  return one != KUBE_OK ? one : rc;
}

bool shard_held(shard_set *s, int k) { return k >= 0 && k < s->nshards && lease_leading(s->shards[k], NULL); }

unsigned long shard_version(shard_set *s) {
  pthread_mutex_lock(&s->mu);
  unsigned long v = s->version;
  pthread_mutex_unlock(&s->mu);
  return v;
}

unsigned shard_term(shard_set *s, int k) {
  pthread_mutex_lock(&s->mu);
  unsigned t = k >= 0 && k < s->nshards ? s->terms[k] : 0;
  pthread_mutex_unlock(&s->mu);
  return t;
}

char *shard_holder(shard_set *s, int k) {
  pthread_mutex_lock(&s->mu);
  char *h = heap_strdup(k >= 0 && k < s->nshards ? s->holders[k] : "");
  pthread_mutex_unlock(&s->mu);
  return h;
}

char *shard_url(shard_set *s, const char *replica) {
  pthread_mutex_lock(&s->mu);
  char *url = heap_strdup(json_string_value(json_object_get(s->urls, replica)));
  pthread_mutex_unlock(&s->mu);
  return url;
}

char *shard_members(shard_set *s) {
  pthread_mutex_lock(&s->mu);
  char *m = heap_strdup(s->members);
  pthread_mutex_unlock(&s->mu);
  return m;
}

void shard_set_free(shard_set *s) {
  if (!s) return;
  end_thread(s);
  for (int k = 0; k < s->nshards; k++) {
    lease_free(s->shards[k]);
    free(s->holders[k]);
  }
  lease_free(s->member);
  for (size_t i = 0; i < s->nseen; i++) seen_free(&s->seen[i]);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->wake);
  free(s->seen);
  free(s->shards);
  free(s->holders);
  free(s->terms);
  json_decref(s->urls);
  free(s->members);
  free(s->ns);
  free(s->identity);
  free(s->collection);
  free(s);
}
