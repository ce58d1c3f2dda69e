/* loop.c: `plumb run` (see run.h), its loop.
 *
 * One loop, one thread. It sleeps until the live cache sees a change, the
 * server queues a request, or a second passes; then, while it holds the
 * Lease, each application whose interval has passed, or whose objects
 * changed, goes through a pass (app.c), those a commit changed first;
 * then the set takes in the applications the passes found declared
 * (set.c). A runtime without the Lease stands by: it renews nothing,
 * writes nothing and is not ready. State worth keeping between passes is
 * small: per application the commit it last applied and what the last
 * pass said. The HTTP server sees that state only as the loop publishes
 * it (status.h). */
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/internal.h"

#define PASS_BUDGET_S 2.0 /* of passes in a round of the loop, when more are due */

/* Set by SIGTERM and SIGINT: the loop ends after the pass it is in. */
static volatile sig_atomic_t stopping;

static void stop(int sig) { stopping = 1; }

double run_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void run_set_error(app_state *st, const char *msg) {
  free(st->error);
  st->error = msg ? heap_strdup(msg) : NULL;
}

/* ---- repositories, one per URL ------------------------------------------- */

/* Credentials an application names (files, or a Secret in the namespace the
 * runtime runs in); NULL *out when it names none. */
static int app_creds(runner *r, const app_def *app, source_creds **out, char **err) {
  source_cred_files f = {0};
  const char *secret = NULL;
  *out = NULL;
  for (size_t i = 0; i < app->ncredentials; i++) {
    const char *k = app->credentials[i].key, *v = app->credentials[i].value;
    const char **slot = strcmp(k, "token_file") == 0         ? &f.token_file
                        : strcmp(k, "username_file") == 0    ? &f.username_file
                        : strcmp(k, "password_file") == 0    ? &f.password_file
                        : strcmp(k, "ssh_key_file") == 0     ? &f.ssh_key_file
                        : strcmp(k, "known_hosts_file") == 0 ? &f.known_hosts_file
                        : strcmp(k, "secret") == 0           ? &secret
                                                             : NULL;
    if (slot) *slot = v;
  }
  if (secret) return source_creds_from_secret(out, r->c, r->home, secret, err);
  if (app->ncredentials) return source_creds_from_files(out, &f, err);
  return SOURCE_OK;
}

static repo_entry *known_repo(runner *r, const char *url) {
  for (size_t i = 0; i < r->nrepos; i++)
    if (strcmp(r->repos[i].url, url) == 0) return &r->repos[i];
  return NULL;
}

/* The repository of url in *out, opened with app's credentials on first
 * use. */
static int open_repo(runner *r, const app_def *app, const char *url, repo_entry **out, char **err) {
  if ((*out = known_repo(r, url))) return SOURCE_OK;
  source_creds *creds = NULL;
  source_repo *s;
  source_opts so = {.url = url, .cache_dir = r->o->cache_dir};
  int rc = app ? app_creds(r, app, &creds, err) : SOURCE_OK;
  so.creds = creds;
  if (rc == SOURCE_OK) rc = source_open(&s, &so, err);
  source_creds_free(creds);
  if (rc != SOURCE_OK) return rc;
  r->repos = heap_realloc(r->repos, (r->nrepos + 1) * sizeof *r->repos);
  r->repos[r->nrepos] = (repo_entry){.url = heap_strdup(url), .repo = s};
  *out = &r->repos[r->nrepos++];
  return SOURCE_OK;
}

/* Fetches e unless it was fetched this round: the applications of one
 * repository share a fetch, and its failure. */
static int fetch_once(runner *r, repo_entry *e) {
  if (e->fetched == r->round) return e->rc;
  e->fetched = r->round;
  free(e->error);
  metrics_add(r->fam.fetches, (const char *[]){source_url(e->repo)}, 1);
  e->rc = source_fetch(e->repo, NULL);
  e->error = e->rc ? heap_strdup(source_last_error(e->repo)) : NULL;
  return e->rc;
}

/* The repository an application's chart is pinned in, for one whose
 * source is a chart: its revision there is the head of main. */
static int open_chart_app(runner *r, const app_def *app, bool fetch, const char **rev, repo_entry **out, char **err) {
  char *dir = run_chart_app_repo(r, app, fetch, err);
  if (!dir) return SOURCE_ERROR;
  if (strcmp(*rev, app->revision) == 0) *rev = "HEAD";
  int rc = open_repo(r, NULL, dir, out, err);
  free(dir);
  return rc;
}

int run_fetch(runner *r, const app_def *app, const char *url, const char *rev, bool fetch, source_repo **s,
              source_rev *out, char **err) {
  repo_entry *e;
  *err = NULL;
  int rc = app && app->chart ? open_chart_app(r, app, fetch, &rev, &e, err) : open_repo(r, app, url, &e, err);
  if (rc != SOURCE_OK) return rc;
  *s = e->repo;
  if (fetch && fetch_once(r, e) != SOURCE_OK) {
    *err = heap_strdup(e->error);
    return e->rc;
  }
  rc = source_resolve(*s, rev, out);
  if (rc != SOURCE_OK) *err = heap_strdup(source_last_error(*s));
  return rc;
}

char *run_diagnostics(const diag_list *d) {
  char *text;
  size_t len;
  FILE *f = open_memstream(&text, &len);
  if (!f) abort();
  diag_print(d, f);
  fclose(f);
  return text;
}

/* ---- the config repository ---------------------------------------------- */

/* Reads the definitions; on any failure the previous ones stay in force.
 * False when it failed. */
static bool load_config(runner *r) {
  source_repo *s;
  source_rev rev;
  char *err;
  const compile_result *res;
  if (run_fetch(r, NULL, r->o->repo, r->o->revision ? r->o->revision : "HEAD", true, &s, &rev, &err) != SOURCE_OK) {
    fprintf(r->o->out, "config %s: %s\n", r->o->repo, err);
    free(err);
    return false;
  }
  /* The same tree makes the same definitions. */
  if (r->config_arena && strcmp(rev.tree, r->config_tree) == 0) return true;
  /* Its resources go to the runtime's own cluster. */
  compile_opts config = {.path = r->o->path ? r->o->path : ".",
                         .kube_version_default = run_dest_kube_version(r, r->dests[0])};
  if (source_compile(s, r->config_builds, rev.tree, &config, &res) != SOURCE_OK) {
    fprintf(r->o->out, "config %s: %s\n", r->o->repo, source_last_error(s));
    return false;
  }
  arena *a = arena_new();
  app_set defs;
  diag_list d;
  diag_init(&d, a);
  d.sources = res->diags.sources; /* to quote the lines */
  if (res->diags.errors || app_set_read(&defs, a, res, &d)) {
    char *text = run_diagnostics(res->diags.errors ? &res->diags : &d);
    fprintf(r->o->out, "config %s: the definitions do not compile; keeping the previous ones\n%s", r->o->repo, text);
    free(text);
    arena_free(a);
    return false;
  }
  bool first = !r->config_arena;
  run_set_config(r, a, &defs);
  memcpy(r->config_tree, rev.tree, sizeof r->config_tree);
  /* The definitions are copies, and the tree is not compiled again while
   * it stays: its build goes (at 10,000 applications, tens of megabytes).
   * One that failed stays, so that it is not compiled every 10 s. */
  source_builds_free(r->config_builds);
  r->config_builds = source_builds_new(1, &r->limits);
  /* What a runtime before this one was deleting, it goes on with. */
  if (first) run_delete_resume(r);
  return true;
}

/* ---- requests from the server ------------------------------------------- */

static bool same_repo(const char *url, const char *key) {
  char *k = source_url_key(url);
  bool same = strcmp(k, key) == 0;
  free(k);
  return same;
}

/* A push makes every source of its repository due now, and the config
 * repository too when it was pushed to. */
static void refresh(runner *r, const char *key, double *next_config) {
  if (same_repo(r->o->repo, key)) *next_config = 0;
  for (size_t i = 0; i < r->napps; i++)
    if (same_repo(r->defs.apps[i].repo, key)) {
      r->apps[i].due = 0;
      r->apps[i].stay_local = false;
    }
}

/* When st's next pass is due after one. A pass that ended in an error
 * (the API server away, a fetch or a sync that failed, prune put off)
 * comes again sooner, as the application's retry backoff says: after 5 s
 * by default, twice as long each time, up to the interval. */
static double next_pass(const app_def *app, app_state *st) {
  st->failures = st->error ? st->failures + 1 : 0;
  double wait = app->interval_s;
  /* One waiting for others looks again soon: they may be ready. */
  if ((st->waiting || st->window) && wait > 5) wait = 5;
  if (st->failures) {
    double retry = app->retry_s, most = app->retry_max_s ? app->retry_max_s : app->interval_s;
    for (int i = 1; i < st->failures && retry < most; i++) retry *= app->retry_factor;
    if (retry > most) retry = most;
    if (retry < wait) wait = retry;
  }
  /* Not later than on-out-of-sync falls due: that pass tells it. */
  if (st->notify_due && st->notify_due - run_now() < wait) wait = st->notify_due - run_now();
  return run_now() + wait;
}

/* Does what the server was asked. */
static void answer_requests(runner *r, double *next_config) {
  size_t n;
  status_request *q = status_take(r->store, &n);
  for (size_t k = 0; k < n; k++) {
    if (q[k].kind == STATUS_REFRESH) {
      refresh(r, q[k].key, next_config);
      continue;
    }
    size_t i = run_set_index(r, q[k].app);
    if (i == r->napps) continue; /* gone with a new config since it was asked */
    if (!r->apps[i].owned) {
      char *holder = shard_holder(r->shards, run_shard(r, &r->defs.apps[i]));
      fprintf(r->o->out, "%s: not done what was asked: the replica %s syncs it\n", q[k].app, *holder ? holder : "(none yet)");
      free(holder);
      continue;
    }
    const app_def *app = &r->defs.apps[i];
    app_state *st = &r->apps[i];
    status_kind kind = q[k].kind;
    if (kind == STATUS_SUSPEND || kind == STATUS_RESUME) {
      run_app_suspend(r, app, st, kind == STATUS_SUSPEND, q[k].by);
    } else if (kind == STATUS_ROLLBACK) {
      run_app_rollback(r, app, st, q[k].revision, q[k].id, q[k].by);
    } else {
      run_pass p = {.asked = kind == STATUS_SYNC, .fetch = true, .dry_run = q[k].dry_run, .prune = q[k].prune,
                    .by = q[k].by};
      run_app_pass(r, app, st, &p);
    }
    /* After a rollback, a pass at once compares with the revision, so
     * that the status says how far behind it the cluster now is; after a
     * resume, it syncs what waited. */
    st->due = kind == STATUS_ROLLBACK || kind == STATUS_RESUME ? 0 : next_pass(app, st);
  }
  status_requests_free(q, n);
}

/* ---- leading ------------------------------------------------------------- */

/* Sharded, what is the whole runtime's (the Projects' statuses, the
 * mirrors of applications gone) falls to the holder of shard 0. */
bool run_may_write(runner *r) {
  if (r->shards) return shard_held(r->shards, 0);
  return !r->lease || lease_leading(r->lease, NULL);
}

/* What decides the shard of an application, or of a name that is no
 * application now (one being deleted, a mirror left behind). */
static int shard_of_named(runner *r, const char *name, const char *cluster) {
  return shard_of(r->shards, r->o->shard_by_cluster && cluster ? cluster : name);
}

int run_shard(runner *r, const app_def *app) {
  for (size_t hops = 0; app->parent && hops < r->napps; hops++) {
    size_t i = run_set_index(r, app->parent);
    if (i == r->napps) break;
    app = &r->defs.apps[i];
  }
  return shard_of_named(r, app->name, app->cluster);
}

bool run_owns(runner *r, const app_def *app) { return r->shards ? shard_held(r->shards, run_shard(r, app)) : run_may_write(r); }

bool run_holds(runner *r, const app_def *app, const app_state *st) {
  if (!r->shards) return run_may_write(r);
  int k = run_shard(r, app);
  return st->owned && st->term == shard_term(r->shards, k) && shard_held(r->shards, k);
}

bool run_owns_named(runner *r, const char *name, const char *cluster) {
  size_t i = run_set_index(r, name);
  if (!r->shards) return run_may_write(r);
  if (i < r->napps) return run_holds(r, &r->defs.apps[i], &r->apps[i]);
  return shard_held(r->shards, shard_of_named(r, name, cluster));
}

/* Unique among replicas: in a pod its host name is the pod's name. */
static char *identity(void) {
  char host[256] = "", *id;
  gethostname(host, sizeof host - 1);
  id = heap_printf("%s_%d", host, (int)getpid());
  return id;
}

/* The Lease, renewed by a thread with a client of its own that does not
 * retry by itself and waits for an answer no longer than the renewal's
 * deadline (two thirds of the duration): a renewal that fails is tried
 * again at once. */
static int start_lease(runner *r, char **err) {
  int duration_s = r->o->lease_duration_s;
  kube_client_opts o = {.max_retries = -1, .timeout_ms = duration_s * 2000L / 3};
  if (kube_client_new(&r->lease_c, r->o->cfg, &o, err) != KUBE_OK) return -1;
  char *id = identity();
  if (r->o->shards) {
    r->shards = shard_set_new(r->lease_c, &(shard_opts){.ns = r->home, .identity = id, .duration_s = duration_s,
                                                         .shards = r->o->shards, .url = r->o->advertise_url});
    fprintf(r->o->out, "plumb run: replica %s, the applications split in %d shards by %s\n", id, r->o->shards,
            r->o->shard_by_cluster ? "cluster" : "application");
    free(id);
    if (shard_set_start(r->shards) == 0) return 0;
    *err = heap_strdup("cannot start the thread that renews the Leases");
    return -1;
  }
  r->lease = lease_new(r->lease_c, &(lease_opts){.ns = r->home, .name = "plumb-leader", .identity = id,
                                                  .duration_s = duration_s});
  fprintf(r->o->out, "plumb run: candidate %s for the Lease %s/plumb-leader\n", id, r->home);
  free(id);
  if (lease_start(r->lease) == 0) return 0;
  *err = heap_strdup("cannot start the thread that renews the Lease");
  return -1;
}

/* Whether this runtime leads now. One that stops leading forgets its
 * applications: the new leader writes their histories, which are read
 * again if this one leads again. Requests that come to a standby are
 * dropped (it publishes nothing, so few come). */
static bool lead(runner *r, int *leading, double *next_config) {
  if (r->shards) return (*leading = 1); /* each application's writes ask its shard */
  char *holder;
  bool now = lease_leading(r->lease, &holder);
  if (now != *leading) {
    if (now) fprintf(r->o->out, "plumb run: leading\n");
    else fprintf(r->o->out, "plumb run: standing by; the leader is %s\n", *holder ? holder : "unknown");
    run_set_forget(r);
    run_publish(r);
    *next_config = r->objects_due = 0;
    metrics_set(r->fam.leader, NULL, now);
  }
  free(holder);
  *leading = now;
  if (!now) {
    size_t n;
    status_request *dropped = status_take(r->store, &n);
    status_requests_free(dropped, n);
  }
  return now;
}

/* ---- the loop ------------------------------------------------------------ */

static void runner_free(runner *r) {
  if (r->lease && lease_stop(r->lease) != KUBE_OK)
    fprintf(r->o->out, "plumb run: cannot release the Lease: %s\n", kube_last_error(r->lease_c));
  if (r->shards && shard_set_stop(r->shards) != KUBE_OK)
    fprintf(r->o->out, "plumb run: cannot release the Leases: %s\n", kube_last_error(r->lease_c));
  lease_free(r->lease);
  shard_set_free(r->shards);
  free(r->shards_held);
  json_decref(r->held);
  kube_client_free(r->lease_c);
  run_dest_free_all(r);
  run_objects_free(r); /* its watch wakes the cache */
  cache_free(r->cache);
  run_set_forget(r);
  free(r->apps);
  for (size_t i = 0; i < r->nrepos; i++) {
    free(r->repos[i].url);
    free(r->repos[i].error);
    source_free(r->repos[i].repo);
  }
  free(r->repos);
  source_builds_free(r->config_builds);
  run_chart_creds_free(r);
  run_delete_free(r);
  events_free(r->events); /* after the last pass that may tell */
  run_notify_stop(r);
  free(r->home);
  status_free(r->store);
  auth_free(r->auth);
  metrics_free(r->metrics);
}

/* Whether a commit changed app's path since its last pass (or cannot
 * tell): after a push, the applications it changed do not wait for the
 * others. One due for a change in the cluster alone does not look. */
static bool path_moved(runner *r, const app_def *app, const app_state *st) {
  source_repo *s;
  source_rev rev;
  char *err, id[41];
  if (st->stay_local) return false;
  bool moved = run_fetch(r, app, app->repo, app->revision, true, &s, &rev, &err) != SOURCE_OK ||
               source_path_id(s, rev.tree, app->path, id) != SOURCE_OK || strcmp(id, st->path_tree) != 0;
  free(err);
  return moved;
}

/* The passes that are due, those whose path moved first (one that never
 * passed has nothing to compare), until budget seconds have gone: the rest
 * are left to the next round, so that the loop answers the API and
 * webhooks, and publishes, between (a first sync of thousands takes
 * minutes); at least one. *more when some are due still. */
static void pass_due(runner *r, double budget, bool *more) {
  bool passed = false;
  double now = run_now(), end = now + budget;
  bool *first = heap_calloc(r->napps + 1, sizeof *first);
  *more = false;
  for (size_t i = 0; i < r->napps; i++)
    first[i] = r->apps[i].owned && r->apps[i].due <= now && r->apps[i].passed_at &&
               path_moved(r, &r->defs.apps[i], &r->apps[i]);
  for (int sweep = 0; sweep < 2 && !*more; sweep++)
    for (size_t i = 0; i < r->napps && !*more; i++) {
      if (!r->apps[i].owned || (sweep == 0 ? !first[i] : first[i] || r->apps[i].due > now)) continue;
      if (passed && run_now() >= end) *more = true;
      else {
        run_app_pass(r, &r->defs.apps[i], &r->apps[i], &(run_pass){0});
        r->apps[i].due = next_pass(&r->defs.apps[i], &r->apps[i]);
        passed = true;
      }
    }
  free(first);
}

/* Says which shards this replica holds when that changes: before any
 * write of a shard taken, so a log tells what was written while held. */
static void note_shards(runner *r) {
  char *held = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&held, &len);
  if (!f) abort();
  for (int k = 0, n = 0; k < r->o->shards; k++)
    if (shard_held(r->shards, k)) fprintf(f, "%s%d", n++ ? "," : "", k);
  fclose(f);
  if (!r->shards_held || strcmp(r->shards_held, held) != 0)
    fprintf(r->o->out, "plumb run: holding shards %s of %d\n", *held ? held : "(none)", r->o->shards);
  free(r->shards_held);
  r->shards_held = held;
}

/* The caches keep the objects of the applications this replica holds and
 * no others (cache_keep): its memory follows its shards, not the fleet.
 * Made again when what it holds, or the set, changed. */
static void keep_held(runner *r, bool flipped) {
  if (!flipped && r->held && r->held_at == r->adopted) return;
  json_t *held = json_object();
  for (size_t i = 0; i < r->napps; i++)
    if (r->apps[i].owned) json_object_set_new(held, r->apps[i].name, json_true());
  json_decref(r->held);
  r->held = held;
  r->held_at = r->adopted;
  for (size_t i = 0; i < r->ndests; i++)
    if (r->dests[i]->cache) cache_keep(r->dests[i]->cache, json_copy(held));
}

/* Sharded: the applications of the shards this replica holds now. One it
 * takes reads its history again and has a pass at once; one it gives up
 * has none until it comes back. Deletions are read again from the
 * histories when any was taken: some may be of its shards. Each one taken
 * or given up is marked dirty; when the holders changed, which every
 * document shows, all are published again. */
static void take_shards(runner *r) {
  bool took = false, flipped = false;
  if (!r->shards) return;
  note_shards(r);
  unsigned long version = shard_version(r->shards);
  r->republish |= version != r->shards_version;
  r->shards_version = version;
  for (size_t i = 0; i < r->napps; i++) {
    app_state *st = &r->apps[i];
    int k = run_shard(r, &r->defs.apps[i]);
    bool owned = shard_held(r->shards, k);
    unsigned term = shard_term(r->shards, k);
    flipped |= owned != st->owned;
    st->dirty |= owned != st->owned;
    if (owned && (!st->owned || st->term != term)) run_app_take(r, st), took = true;
    st->owned = owned;
    st->term = term;
  }
  keep_held(r, flipped);
  if (took) run_delete_resume(r);
}

static void wake_loop(void *cache) { cache_wake(cache); }

/* Until SIGTERM or SIGINT; ready once it leads and the config has been
 * read (definitions once read stay). */
static void serve_until_stopped(runner *r, serve *srv) {
  uint64_t seen = 0;
  int leading = -1;   /* not known yet */
  bool stale = false; /* the objects show less than the loop did since their read */
  bool more = false;  /* passes due still: the next round comes at once */
  for (double next_config = 0; !stopping; seen = cache_wait(r->cache, seen, more ? 0 : 1)) {
    more = false;
    if (lead(r, &leading, &next_config)) {
      r->round++;
      answer_requests(r, &next_config);
      if (run_now() >= next_config) {
        load_config(r);
        run_dest_refresh(r);
        next_config = run_now() + 10;
      }
      run_objects_read(r, stale);
      /* What passes change goes to the objects after the next read, which
       * the writes of a round cut short bring too. */
      stale = run_objects_write(r, RUN_OBJECT_WRITES) == RUN_OBJECT_WRITES;
      run_view_note_changes(r);
      run_metrics_cached(r);
      take_shards(r);
      pass_due(r, PASS_BUDGET_S, &more);
      run_set_regroup(r);
      r->republish |= run_delete_step(r);
      stale |= run_publish(r);
    }
    serve_set_ready(srv, leading == 1 && r->config_arena != NULL);
    fflush(r->o->out);
  }
}

/* --once: a pass of each application that has had none, those the last
 * regrouping added. */
static void pass_new(runner *r) {
  for (size_t i = 0; i < r->napps; i++)
    if (!r->apps[i].passed_at) run_app_pass(r, &r->defs.apps[i], &r->apps[i], &(run_pass){0});
}

/* --once: another pass of each application that waited for others and
 * need wait no longer; true when there was any. */
static bool pass_ready(runner *r) {
  bool passed = false;
  for (size_t i = 0; i < r->napps; i++) {
    if (!r->apps[i].waiting) continue;
    char *still = run_app_waiting(r, &r->defs.apps[i]);
    if (!still) run_app_pass(r, &r->defs.apps[i], &r->apps[i], &(run_pass){0});
    passed |= !still;
    free(still);
  }
  return passed;
}

/* One pass of every application, children (and theirs) included; those
 * that waited for others again once those are ready, in as many rounds
 * as a chain of dependencies is long. */
static int run_once(runner *r) {
  r->round++;
  bool config_ok = load_config(r);
  run_objects_read(r, true);
  bool more;
  pass_due(r, INFINITY, &more);
  do {
    while (run_set_regroup(r)) pass_new(r);
  } while (pass_ready(r));
  run_delete_step(r);
  run_print_table(r, r->o->out);
  /* The statuses, and the mirrors made then theirs. */
  if (run_objects_write(r, (size_t)-1)) {
    run_objects_read(r, true);
    run_objects_write(r, (size_t)-1);
  }
  int rc = !config_ok;
  for (size_t i = 0; i < r->napps; i++) rc |= r->apps[i].status != SYNC_SYNCED || r->apps[i].refused;
  return rc;
}

/* The events' writer; without it (no configuration to make its client)
 * the runtime tells nothing, and says so. */
static void start_events(runner *r) {
  char *err = NULL, *id = identity();
  if (r->o->cfg && events_new(r->o->cfg, id, r->fam.events_dropped, &r->events, &err) != 0) {
    fprintf(r->o->out, "plumb run: no Kubernetes events will be written: %s\n", err);
    free(err);
  }
  free(id);
}

/* Unless --once: the API, the Lease and the loop, until a signal. */
static int run_serving(runner *r) {
  serve *srv = NULL;
  char *err = NULL;
  /* The Lease first: the API passes requests on with the shards' view. */
  if (start_lease(r, &err) != 0 || run_api_start(r, &srv, &err) != 0) {
    fprintf(r->o->out, "plumb run: %s\n", err);
    free(err);
    serve_stop(srv);
    return 2;
  }
  struct sigaction sa = {.sa_handler = stop};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  fprintf(r->o->out, "plumb run: serving on port %u\n", serve_port(srv));
  if (r->o->probes) fprintf(r->o->out, "plumb run: serving the probes on port %u\n", serve_probe_port(srv));
  run_objects_start_watch(r);
  serve_until_stopped(r, srv);
  serve_stop(srv);
  return 0;
}

/* The heap of a runtime that runs for weeks. glibc raises its threshold
 * for serving a buffer from the kernel to the largest one freed (a page of
 * a list, a response: megabytes), after which such buffers come from the
 * heap, and the long-lived pieces allocated between them (statuses, the
 * live view's objects) keep its pages from going back; and it gives each
 * thread a heap of its own, most of it free. Fixed thresholds and two
 * heaps keep what the runtime takes near what it uses. */
static void tune_heap(void) {
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
  mallopt(M_ARENA_MAX, 2);
}

int run_main(kube_client *c, const run_opts *o) {
  if (!o->once) tune_heap();
  runner r = {.c = c, .o = o, .home = heap_strdup(kube_default_namespace(c)), .limits = o->limits,
              .store = status_new(), .metrics = metrics_new()};
  r.objects_ns = o->app_namespace ? o->app_namespace : r.home;
  r.config_builds = source_builds_new(1, &r.limits);
  run_metrics_declare(&r);
  start_events(&r);
  run_notify_start(&r);
  if (!o->once) {
    r.cache = cache_new(o->cfg);
    status_on_ask(r.store, wake_loop, r.cache);
  }
  run_dest_init(&r);
  int rc = o->once ? run_once(&r) : run_serving(&r);
  runner_free(&r);
  return rc;
}
