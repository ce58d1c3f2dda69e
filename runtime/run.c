/* run.c: `plumb run` (see run.h).
 *
 * One loop, one thread: every second, each application whose interval has
 * passed goes through fetch -> resolve -> compile -> sync. State worth
 * keeping between passes is small: per application the commit it last
 * applied and what the last pass said. */
#include "plumb/run.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/app.h"
#include "plumb/history.h"
#include "plumb/source.h"
#include "plumb/sync.h"

typedef struct {
  char *name;
  history hist;     /* hist.applied: the commit last applied in full */
  char commit[41];  /* the commit of the last pass */
  sync_status status;
  char *error;      /* fetch, compile, project or apply failure */
  double due;       /* monotonic seconds of the next pass */
  source_builds *builds;
} app_state;

typedef struct {
  char *url;
  source_repo *repo;
} repo_entry;

typedef struct {
  kube_client *c;
  const run_opts *o;
  char *home;          /* the runtime's namespace: histories live there */
  arena *defs_arena;   /* the app set's strings; replaced with the set */
  app_set defs;
  app_state *apps;     /* apps[i] follows defs.apps[i] */
  size_t napps;
  repo_entry *repos;
  size_t nrepos;
  source_builds *config_builds;
} runner;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *dup_str(const char *s) {
  char *d = strdup(s);
  if (!d) abort();
  return d;
}

static void set_error(app_state *st, const char *msg) {
  free(st->error);
  st->error = msg ? dup_str(msg) : NULL;
}

/* ---- repositories, one per URL ------------------------------------------- */

/* Credentials an application names (files, or a Secret in the namespace the
 * runtime runs in); NULL *out when it names none. */
static int app_creds(kube_client *c, const app_def *app, source_creds **out, char **err) {
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
  if (secret) return source_creds_from_secret(out, c, kube_default_namespace(c), secret, err);
  if (app->ncredentials) return source_creds_from_files(out, &f, err);
  return SOURCE_OK;
}

/* The cached repository of url, opened on first use; NULL with *err. */
static source_repo *repo_for(runner *r, const char *url, const source_creds *creds, char **err) {
  for (size_t i = 0; i < r->nrepos; i++)
    if (strcmp(r->repos[i].url, url) == 0) return r->repos[i].repo;
  source_opts so = {.url = url, .cache_dir = r->o->cache_dir, .creds = creds};
  source_repo *s;
  if (source_open(&s, &so, err) != SOURCE_OK) return NULL;
  if (!(r->repos = realloc(r->repos, (r->nrepos + 1) * sizeof *r->repos))) abort();
  r->repos[r->nrepos++] = (repo_entry){dup_str(url), s};
  return s;
}

/* Fetches and resolves; the words for a failure in *err (caller frees). */
static int fetch_rev(runner *r, const app_def *app, const char *url, const char *rev, source_repo **s, source_rev *out,
                     char **err) {
  source_creds *creds = NULL;
  *err = NULL;
  int rc = app ? app_creds(r->c, app, &creds, err) : SOURCE_OK;
  if (rc == SOURCE_OK) *s = repo_for(r, url, creds, err);
  source_creds_free(creds);
  if (rc != SOURCE_OK || !*s) return rc ? rc : SOURCE_ERROR;
  if ((rc = source_fetch(*s, NULL)) == SOURCE_OK) rc = source_resolve(*s, rev, out);
  if (rc != SOURCE_OK) *err = dup_str(source_last_error(*s));
  return rc;
}

/* Errors as the user sees them: file:line:col, the line, a caret. */
static char *diagnostics(const diag_list *d) {
  char *text;
  size_t len;
  FILE *f = open_memstream(&text, &len);
  if (!f) abort();
  diag_print(d, f);
  fclose(f);
  return text;
}

/* ---- the config repository ---------------------------------------------- */

/* Takes the new definitions, keeping the state of applications that stay. */
static void adopt(runner *r, arena *a, app_set *defs) {
  app_state *apps = calloc(defs->napps + 1, sizeof *apps);
  if (!apps) abort();
  for (size_t i = 0; i < defs->napps; i++) {
    apps[i] = (app_state){.name = dup_str(defs->apps[i].name)};
    for (size_t k = 0; k < r->napps; k++)
      if (r->apps[k].name && strcmp(r->apps[k].name, apps[i].name) == 0) {
        free(apps[i].name);
        apps[i] = r->apps[k];
        r->apps[k] = (app_state){0};
      }
    if (apps[i].builds) continue;
    apps[i].builds = source_builds_new(2);
    if (history_load(r->c, r->home, apps[i].name, &apps[i].hist) != KUBE_OK)
      fprintf(r->o->out, "%s: cannot read its history: %s\n", apps[i].name, kube_last_error(r->c));
  }
  for (size_t k = 0; k < r->napps; k++) {
    free(r->apps[k].name);
    free(r->apps[k].error);
    source_builds_free(r->apps[k].builds);
    history_free(&r->apps[k].hist);
  }
  free(r->apps);
  arena_free(r->defs_arena);
  r->apps = apps;
  r->napps = defs->napps;
  r->defs = *defs;
  r->defs_arena = a;
}

/* Reads the definitions; on any failure the previous ones stay in force.
 * False when it failed. */
static bool load_config(runner *r) {
  source_repo *s;
  source_rev rev;
  char *err;
  const compile_result *res;
  if (fetch_rev(r, NULL, r->o->repo, r->o->revision ? r->o->revision : "HEAD", &s, &rev, &err) != SOURCE_OK) {
    fprintf(r->o->out, "config %s: %s\n", r->o->repo, err);
    free(err);
    return false;
  }
  if (source_compile(s, r->config_builds, rev.tree, r->o->path ? r->o->path : ".", NULL, &res) != SOURCE_OK) {
    fprintf(r->o->out, "config %s: %s\n", r->o->repo, source_last_error(s));
    return false;
  }
  arena *a = arena_new();
  app_set defs;
  diag_list d;
  diag_init(&d, a);
  d.sources = res->diags.sources; /* to quote the lines */
  if (res->diags.errors || app_set_read(&defs, a, res, &d)) {
    char *text = diagnostics(res->diags.errors ? &res->diags : &d);
    fprintf(r->o->out, "config %s: the definitions do not compile; keeping the previous ones\n%s", r->o->repo, text);
    free(text);
    arena_free(a);
    return false;
  }
  adopt(r, a, &defs);
  return true;
}

/* ---- one application ----------------------------------------------------- */

/* r's resources without the runtime's own definitions (caller frees res). */
static compile_result objects_of(const compile_result *r) {
  compile_result out = *r;
  out.res = malloc((r->nres + 1) * sizeof *out.res);
  if (!out.res) abort();
  out.nres = 0;
  for (size_t i = 0; i < r->nres; i++)
    if (!app_is_definition(r->res[i].obj)) out.res[out.nres++] = r->res[i];
  return out;
}

static void sync_once(runner *r, const app_def *app, app_state *st) {
  source_repo *s;
  source_rev rev;
  char *err;
  const compile_result *res;
  if (fetch_rev(r, app, app->repo, app->revision, &s, &rev, &err) != SOURCE_OK) {
    st->status = SYNC_UNKNOWN;
    set_error(st, err);
    free(err);
    return;
  }
  memcpy(st->commit, rev.commit, sizeof st->commit);
  if (source_compile(s, st->builds, rev.tree, app->path, *app->env ? app->env : NULL, &res) != SOURCE_OK) {
    st->status = SYNC_UNKNOWN;
    set_error(st, source_last_error(s));
    return;
  }
  if (res->diags.errors) {
    char *text = diagnostics(&res->diags);
    st->status = SYNC_UNKNOWN;
    set_error(st, text);
    free(text);
    return;
  }
  compile_result objs = objects_of(res);
  if (objs.nres == 0 && !app->allow_empty) {
    /* An empty build is far more often a mistake than a wish: compare
     * nothing, prune nothing. */
    st->status = SYNC_UNKNOWN;
    set_error(st, "the build produced no resources; nothing is synced or pruned (allow_empty permits it)");
    free(objs.res);
    return;
  }
  const app_project *p = app_set_project(&r->defs, app->project);
  char *refused = sync_check_project(r->c, app, p, &objs);
  if (refused) {
    st->status = SYNC_UNKNOWN;
    set_error(st, refused);
    free(refused);
    free(objs.res);
    return;
  }
  /* Never applied: the first sync goes ahead without a dry run, which
   * would fail anyway for objects of a namespace not yet made. */
  sync_report rep = {.status = SYNC_OUT_OF_SYNC};
  if (*st->hist.applied || !app->automated) sync_compare(r->c, app, &objs, &rep);
  bool new_commit = strcmp(st->hist.applied, rev.commit) != 0;
  bool record = new_commit && rep.status == SYNC_SYNCED;
  if (app->automated && rep.status != SYNC_SYNCED && (new_commit || app->self_heal || rep.status == SYNC_UNKNOWN)) {
    sync_report_free(&rep);
    sync_apply(r->c, app, p, &objs, &rep);
    for (size_t i = 0; i < rep.objects.n; i++) {
      const apply_outcome *oc = &rep.objects.items[i];
      fprintf(r->o->out, "%s: %s %s%s\n", app->name, oc->ref, oc->verb ? oc->verb : "failed: ", oc->error ? oc->error : "");
    }
    record = true;
  }
  if (record && history_record(r->c, r->home, app->name, &st->hist, rev.commit, &rep) != KUBE_OK)
    fprintf(r->o->out, "%s: cannot write its history: %s\n", app->name, kube_last_error(r->c));
  st->status = rep.status;
  set_error(st, rep.error);
  sync_report_free(&rep);
  free(objs.res);
}

/* ---- the loop ------------------------------------------------------------ */

static void report(runner *r) {
  fprintf(r->o->out, "%-24s %-10s %-8s %s\n", "APP", "SYNC", "COMMIT", "MESSAGE");
  for (size_t i = 0; i < r->napps; i++) {
    app_state *st = &r->apps[i];
    fprintf(r->o->out, "%-24s %-10s %-8.7s %s\n", st->name, sync_status_name(st->status),
            *st->commit ? st->commit : "-", st->error ? st->error : "");
  }
}

static void runner_free(runner *r) {
  adopt(r, NULL, &(app_set){0});
  free(r->apps);
  for (size_t i = 0; i < r->nrepos; i++) {
    free(r->repos[i].url);
    source_free(r->repos[i].repo);
  }
  free(r->repos);
  source_builds_free(r->config_builds);
  free(r->home);
}

int run_main(kube_client *c, const run_opts *o) {
  runner r = {.c = c, .o = o, .home = dup_str(kube_default_namespace(c)), .config_builds = source_builds_new(2)};
  bool config_ok = true;
  for (double next_config = 0;;) {
    double t = now();
    if (t >= next_config) {
      config_ok = load_config(&r);
      next_config = t + 10;
    }
    for (size_t i = 0; i < r.napps; i++) {
      if (r.apps[i].due > t) continue;
      sync_once(&r, &r.defs.apps[i], &r.apps[i]);
      r.apps[i].due = t + r.defs.apps[i].interval_s;
    }
    if (o->once) break;
    fflush(o->out);
    nanosleep(&(struct timespec){1, 0}, NULL);
  }
  report(&r);
  int rc = !config_ok;
  for (size_t i = 0; i < r.napps; i++) rc |= r.apps[i].status != SYNC_SYNCED;
  runner_free(&r);
  return rc;
}
