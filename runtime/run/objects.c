/* objects.c: applications and projects as objects of the runtime's own
 * cluster, beside the config repository's (docs/runtime.md, "Applications
 * as cluster objects"), and every application's status on such an object.
 *
 * Argo CD's users `kubectl apply` an Application. The runtime watches the
 * Application and Project objects (applications.plumb.dev,
 * projects.plumb.dev) of one namespace, and when one changed (and after
 * passes, and every 30 seconds) lists them and reads each as the resource
 * std/gitops's template would have built, with app_read_one: one reader,
 * the same checks, the same words. An object that does not read gets a
 * condition and is not managed; the others join the set after the
 * config's tree, which keeps its names (set.c). The watch only says when
 * to read: the list is the whole truth each time, with no state of the
 * watch's to keep right across restarts of the API server.
 *
 * The status subresource of each object is written when it differs from
 * what the list just read shows, never on every pass: the time of a pass
 * is not in it. The config's applications (and their children) get an
 * object too, a mirror labelled plumb.dev/source, so that kubectl sees
 * every application; mirrors are never read back as definitions, and the
 * runtime deletes the mirror of an application gone, never another object.
 * An object is user input: its spec's size, the objects read, the
 * messages written and the writes of one round are bounded. */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/arena.h"

#include "kube/convert.h"
#include "run/internal.h"

#define READ_EVERY_S 2.0 /* without a watch (--once has none) */
/* With one: what a lost event may cost. The watch lists again itself
 * when it breaks, so this is seldom; a read is pages in proportion to the
 * fleet, which at idle would be most of the requests. */
#define RELIST_S 300.0
#define READ_MIN_S 5.0   /* with one, between reads, whatever asks */
#define READ_SHARE 5.0   /* and at least this many times the last read's time */
#define OBJECTS_MAX 50000 /* of each kind, mirrors included: more is not read */
#define OBJECTS_TIMEOUT_MS 3000 /* of one read or write of them */
#define SPEC_MAX 65536   /* bytes of a spec as JSON */
#define MESSAGE_MAX 4096 /* bytes of a message written to a status */

#define SOURCE_LABEL "plumb.dev/source"
/* On an Application object whose spec says cascadeDelete, as Argo CD's
 * resources finalizer: deleting it waits until its objects are gone. */
#define FINALIZER "plumb.dev/resources-finalizer"
#define DECLARED_BY "plumb.dev/declared-by"
#define API_PATH "/apis/plumb.dev/v1/namespaces/"

/* ---- reading -------------------------------------------------------------- */

/* The words of d's messages, a line each: an object's have no position. */
static char *messages(const diag_list *d) {
  buf b = {0};
  for (const diag *g = d->first; g; g = g->next) {
    if (b.len) buf_putc(&b, '\n');
    buf_puts(&b, g->msg);
  }
  char *text = heap_strdup(b.data ? b.data : "");
  buf_free(&b);
  return text;
}

/* Reads obj, a cluster object of kind, into *app or *project (allocated in
 * a), as app_read_one reads a build's; -1 with the reason in *why (caller
 * frees). */
static int read_object(const json_t *obj, const char *kind, arena *a, app_def *app, app_project *project, char **why) {
  const char *name = kube_meta_str(obj, "name");
  json_t *spec = json_object_get(obj, "spec");
  char *text = spec ? json_dumps(spec, JSON_COMPACT) : NULL;
  size_t len = text ? strlen(text) : 0;
  free(text);
  *why = NULL;
  if (len > SPEC_MAX) {
    *why = heap_printf("%s %s: its spec is %zu bytes; at most %d are read",
                       strcmp(kind, "Project") ? "application" : "project", name ? name : "", len, SPEC_MAX);
    return -1;
  }
  json_t *def = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", APP_API_VERSION, "kind", kind, "metadata", "name",
                          name ? name : "");
  if (spec) json_object_set(def, "spec", spec);
  diag_list d;
  diag_init(&d, a);
  if (app_read_one(kube_json_to_value(a, def), a, app, project, &d)) *why = messages(&d);
  json_decref(def);
  return *why ? -1 : 0;
}

/* The client of the objects' reads and writes: one that neither retries
 * nor waits long, so that an API server away costs the loop seconds, not
 * the minutes of r->c's retries (the objects are read again soon).
 * r->c when none can be made. */
static kube_client *client(runner *r) {
  if (!r->objects_c && r->o->cfg) {
    char *err = NULL;
    kube_client_opts o = {.max_retries = -1, .timeout_ms = OBJECTS_TIMEOUT_MS};
    if (kube_client_new(&r->objects_c, r->o->cfg, &o, &err) != KUBE_OK) r->objects_c = NULL;
    free(err);
  }
  return r->objects_c ? r->objects_c : r->c;
}

/* A list being read: what it keeps of each object, as keep makes it (a
 * new reference; NULL: nothing), or the object whole. */
typedef struct {
  runner *r;
  json_t *items;
  json_t *(*keep)(runner *r, json_t *obj);
} listing;

static int keep_item(json_t *obj, void *ctx) {
  listing *l = ctx;
  json_t *kept = l->keep ? l->keep(l->r, obj) : json_incref(obj);
  if (kept) json_array_append_new(l->items, kept);
  return 0;
}

/* Up to OBJECTS_MAX objects of resource (applications, projects) in r's
 * namespace, by a path of its own: discovery would be asked again each
 * time when the CRD is not installed. Each is kept as keep makes it while
 * only its page is parsed: at thousands of applications the whole list
 * parsed at once is a hundred megabytes, every few seconds. NULL with the
 * reason in *why (caller frees) when the read failed; *rc KUBE_ENOTFOUND
 * when the CRD is not installed. */
static json_t *list(runner *r, const char *resource, json_t *(*keep)(runner *r, json_t *obj), int *rc, char **why) {
  char *path = heap_printf(API_PATH "%s/%s", r->objects_ns, resource);
  listing l = {r, json_array(), keep};
  *rc = kube_list_path(client(r), path, OBJECTS_MAX, keep_item, &l);
  free(path);
  if (*rc != KUBE_OK) json_decref(l.items), l.items = NULL;
  *why = *rc == KUBE_ENOTFOUND ? heap_printf("the CRD %s.plumb.dev is not installed: no Application objects are read, "
                                             "none are written",
                                             resource)
         : *rc != KUBE_OK
             ? heap_printf("cannot list the %s.plumb.dev of %s: %s", resource, r->objects_ns,
                           kube_last_error(client(r)))
             : NULL;
  return l.items;
}

/* Says why a read failed, once until it changes; why is taken. */
static void say(runner *r, char *why) {
  if (why && (!r->objects_error || strcmp(why, r->objects_error) != 0)) fprintf(r->o->out, "plumb run: %s\n", why);
  free(r->objects_error);
  r->objects_error = why;
}

static bool is_mirror(const json_t *obj) {
  return json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), SOURCE_LABEL) != NULL;
}

static bool deleting(const json_t *obj) { return kube_meta_str(obj, "deletionTimestamp") != NULL; }

static bool finalized(const json_t *obj) {
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "finalizers"), i, f) {
    if (json_is_string(f) && strcmp(json_string_value(f), FINALIZER) == 0) return true;
  }
  return false;
}

/* Whether obj's spec asks for its objects to go with it. */
static bool cascades(const json_t *obj) {
  const char *c = kube_str(json_object_get(obj, "spec"), "cascadeDelete");
  return c && (strcmp(c, "background") == 0 || strcmp(c, "foreground") == 0);
}

bool run_object_finalizing(const runner *r, const char *name) {
  const json_t *obj = json_object_get(r->listed_by_name, name);
  return obj && !is_mirror(obj) && deleting(obj) && finalized(obj);
}

static void problem(json_t *problems, const char *name, const char *type, char *message) {
  json_object_set_new(problems, name, json_pack("{s:s, s:s}", "type", type, "message", message));
  free(message);
}

/* The definitions of kind among items that read, into *s (mirrors aside);
 * the others into problems. */
static void read_items(runner *r, const json_t *items, const char *kind, arena *a, app_set *s, json_t *problems) {
  size_t i;
  json_t *obj;
  bool apps = strcmp(kind, "Application") == 0;
  json_array_foreach(items, i, obj) {
    const char *name = kube_meta_str(obj, "name");
    char *why;
    if (!name || deleting(obj) || (apps && is_mirror(obj))) continue;
    const app_project *taken = apps ? NULL : app_set_project(&r->config, name);
    if (taken) {
      problem(problems, name, "NameConflict",
              taken->at.file ? heap_printf("project %s is refused: a project of that name is declared by the config "
                                           "repository at %s:%d:%d",
                                           name, taken->at.file, taken->at.line, taken->at.col)
                             : heap_printf("project %s is refused: it is the built-in project; declare it in the "
                                           "config repository to change it",
                                           name));
      continue;
    }
    app_def *app = apps ? &s->apps[s->napps] : NULL;
    if (read_object(obj, kind, a, app, apps ? NULL : &s->projects[s->nprojects], &why)) {
      problem(problems, name, "InvalidSpecError", why);
      continue;
    }
    if (!apps) {
      s->nprojects++;
      continue;
    }
    app->object = arena_printf(a, "%s/%s", r->objects_ns, name);
    /* Cluster objects have no file: messages that give a place give this. */
    app->at = app->project_at = (pos){.file = app->object};
    s->napps++;
  }
}

static bool projects_equal(const app_set *a, const app_set *b) {
  if (a->nprojects != b->nprojects) return false;
  for (size_t i = 0; i < a->nprojects; i++) {
    const app_project *p = &a->projects[i], *q = &b->projects[i];
    bool same = strcmp(p->name, q->name) == 0 && p->nrepos == q->nrepos && p->ndestinations == q->ndestinations &&
                p->ncluster_kinds == q->ncluster_kinds && p->nkinds == q->nkinds &&
                p->ndenied_kinds == q->ndenied_kinds && p->nwindows == q->nwindows &&
                (p->sops_secret ? q->sops_secret && strcmp(p->sops_secret, q->sops_secret) == 0 : !q->sops_secret);
    for (size_t k = 0; same && k < p->nrepos; k++) same = strcmp(p->repos[k], q->repos[k]) == 0;
    for (size_t k = 0; same && k < p->ncluster_kinds; k++) same = strcmp(p->cluster_kinds[k], q->cluster_kinds[k]) == 0;
    for (size_t k = 0; same && k < p->nkinds; k++) same = strcmp(p->kinds[k], q->kinds[k]) == 0;
    for (size_t k = 0; same && k < p->ndenied_kinds; k++) same = strcmp(p->denied_kinds[k], q->denied_kinds[k]) == 0;
    for (size_t k = 0; same && k < p->ndestinations; k++)
      same = strcmp(p->destinations[k].cluster, q->destinations[k].cluster) == 0 &&
             strcmp(p->destinations[k].namespace, q->destinations[k].namespace) == 0;
    /* A window's lists are few and short: written otherwise, read anew. */
    for (size_t k = 0; same && k < p->nwindows; k++)
      same = p->windows[k].deny == q->windows[k].deny && strcmp(p->windows[k].schedule, q->windows[k].schedule) == 0 &&
             p->windows[k].duration_s == q->windows[k].duration_s &&
             p->windows[k].manual_sync == q->windows[k].manual_sync &&
             p->windows[k].napplications == q->windows[k].napplications &&
             p->windows[k].nnamespaces == q->windows[k].nnamespaces && p->windows[k].nclusters == q->windows[k].nclusters;
    if (!same) return false;
  }
  return true;
}

static bool apps_equal(const app_set *a, const app_set *b) {
  if (a->napps != b->napps) return false;
  for (size_t i = 0; i < a->napps; i++)
    if (!app_def_equal(&a->apps[i], &b->apps[i])) return false;
  return true;
}

/* ---- the watch: when to read --------------------------------------------------- */

struct run_objects_watch {
  kube_client *c; /* the watch thread's */
  kube_watch_set *set;
  pthread_t thread;
  cache *wake;          /* the loop's sleep */
  atomic_ulong changes; /* events but bookmarks, since it started */
};

static int changed(const char *type, json_t *obj, void *ctx) {
  struct run_objects_watch *w = ctx;
  if (strcmp(type, "BOOKMARK") != 0 && strcmp(type, "LISTING") != 0) {
    atomic_fetch_add(&w->changes, 1);
    cache_wake(w->wake);
  }
  return 0;
}

static void *run_watch(void *set) {
  kube_watch_set_run(set);
  return NULL;
}

void run_objects_start_watch(runner *r) {
  struct run_objects_watch *w = heap_calloc(1, sizeof *w);
  char *err = NULL;
  if (kube_client_new(&w->c, r->o->cfg, NULL, &err) != KUBE_OK) {
    fprintf(r->o->out, "plumb run: cannot watch Application objects, reading them every %.0f s: %s\n", READ_EVERY_S,
            err);
    free(err);
    free(w);
    return;
  }
  w->wake = r->cache;
  atomic_init(&w->changes, 0);
  w->set = kube_watch_set_new(w->c);
  /* A kind not served (the CRDs not installed) is tried again, backing off. */
  for (int k = 0; k < 2; k++)
    kube_watch_set_add(w->set, &(kube_watch_spec){.api_version = APP_API_VERSION,
                                                  .kind = k ? "Project" : "Application",
                                                  .ns = r->objects_ns,
                                                  .fn = changed,
                                                  .ctx = w});
  if (pthread_create(&w->thread, NULL, run_watch, w->set) != 0) abort();
  r->objects_watch = w;
}

static void stop_watch(runner *r) {
  struct run_objects_watch *w = r->objects_watch;
  if (!w) return;
  kube_watch_set_stop(w->set);
  pthread_join(w->thread, NULL);
  kube_watch_set_free(w->set);
  kube_client_free(w->c);
  free(w);
  r->objects_watch = NULL;
}

/* Of managedFields, only what kube_owned_fields(obj, "plumb", ...) asks:
 * plumb's own applies, the fields they own left out. Half of what is read
 * of an object, and at thousands of applications every replica reads
 * every object. */
static void trim_managers(json_t *obj) {
  json_t *meta = json_object_get(obj, "metadata"), *kept = json_array(), *e;
  size_t i;
  json_array_foreach(json_object_get(meta, "managedFields"), i, e) {
    if (!kube_str_is(e, "manager", "plumb") || !kube_str_is(e, "operation", "Apply")) continue;
    json_t *mine = json_copy(e);
    if (json_is_object(json_object_get(mine, "fieldsV1"))) json_object_set_new(mine, "fieldsV1", json_object());
    json_array_append_new(kept, mine);
  }
  json_object_set_new(meta, "managedFields", kept);
}

#define CANONICAL (JSON_COMPACT | JSON_SORT_KEYS) /* one text for equal objects */

/* obj's key, an object, as its canonical JSON text. */
static void compact(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (json_is_object(v)) json_object_set_new(obj, key, run_json_text(v, CANONICAL));
}

/* Whether have, an object or compact's text of one, is want. */
static bool same_as(const json_t *have, const json_t *want) {
  if (!json_is_string(have)) return json_equal(have, want);
  json_t *text = run_json_text(want, CANONICAL);
  bool same = json_equal(have, text);
  json_decref(text);
  return same;
}

/* obj's status, parsed again when compact made it text (caller decrefs). */
static json_t *live_status(const json_t *obj) {
  const json_t *s = json_object_get(obj, "status");
  return json_is_string(s) ? json_loads(json_string_value(s), 0, NULL) : json_incref((json_t *)s);
}

/* Of the mirror of an application another replica holds, only what
 * from_cluster shows (report.c), its status as text (compact), and what
 * tells a mirror: a parsed object is some 6 KB, and every replica lists
 * every application's. */
static json_t *shown_part(const json_t *obj) {
  const json_t *meta = json_object_get(obj, "metadata"), *st = json_object_get(obj, "status");
  json_t *part = json_pack("{s:{s:O?, s:{s:O?}}}", "metadata", "name", json_object_get(meta, "name"), "labels",
                           SOURCE_LABEL, json_object_get(json_object_get(meta, "labels"), SOURCE_LABEL));
  if (json_object_get(meta, "deletionTimestamp"))
    json_object_set(json_object_get(part, "metadata"), "deletionTimestamp", json_object_get(meta, "deletionTimestamp"));
  if (st)
    json_object_set_new(part, "status",
                        json_pack("{s:{s:O?, s:O?}, s:{s:O?}, s:O?, s:{s:O?}}", "sync", "status",
                                  json_object_get(json_object_get(st, "sync"), "status"), "revision",
                                  json_object_get(json_object_get(st, "sync"), "revision"), "health", "status",
                                  json_object_get(json_object_get(st, "health"), "status"), "message",
                                  json_object_get(st, "message"), "lastSync", "time",
                                  json_object_get(json_object_get(st, "lastSync"), "time")));
  compact(part, "status");
  return part;
}

/* What is kept of an Application object as it is listed: what is read
 * of it. Sharded, the mirror of an application another replica holds
 * keeps its shown part alone, no spec; run_objects_write leaves such a one
 * to a read made after its shard is taken. A mirror this replica writes
 * keeps its spec and status as text: they are only compared with what
 * they should be (same_as), and parsed they take some six times as much,
 * a sixth of a replica's heap at thousands of applications. */
static json_t *trimmed(runner *r, json_t *obj) {
  const char *name = kube_meta_str(obj, "name");
  if (!name) return NULL;
  if (r->shards && is_mirror(obj) && !run_owns_named(r, name, NULL)) return shown_part(obj);
  trim_managers(obj);
  if (is_mirror(obj)) compact(obj, "spec"), compact(obj, "status");
  return json_incref(obj);
}

static json_t *by_name(const json_t *items) {
  json_t *named = json_object(), *obj;
  size_t i;
  json_array_foreach(items, i, obj) json_object_set(named, kube_meta_str(obj, "name"), obj);
  return named;
}

/* Sharded, marks dirty each application another replica syncs whose
 * status on its object the read changed: its document shows it
 * (report.c's from_cluster). */
static void note_statuses(runner *r, const json_t *was, const json_t *now) {
  if (!r->shards) return;
  for (size_t i = 0; i < r->napps; i++) {
    const app_def *app = &r->defs.apps[i];
    const char *name = app->object ? strchr(app->object, '/') + 1 : app->name;
    const json_t *a = json_object_get(json_object_get(was, name), "status"),
                 *b = json_object_get(json_object_get(now, name), "status");
    if (!r->apps[i].owned && a != b && !(a && b && json_equal(a, b))) r->apps[i].dirty = true;
  }
}

void run_objects_read(runner *r, bool now) {
  unsigned long changes = r->objects_watch ? atomic_load(&r->objects_watch->changes) : 0;
  if (!now && changes == r->objects_seen && run_now() < r->objects_due) return;
  /* At thousands of applications a read is megabytes to parse, and while
   * they sync every round changes some (the replicas' own status writes
   * among them): the read asked for comes when READ_MIN_S has passed, and
   * READ_SHARE times what the last one took, so that reads take at most
   * a share of the loop whatever the fleet. */
  double gap = r->objects_read_took * READ_SHARE > READ_MIN_S ? r->objects_read_took * READ_SHARE : READ_MIN_S;
  if (r->objects_watch && run_now() < r->objects_read_at + gap) {
    r->objects_due = r->objects_read_at + gap;
    return;
  }
  r->objects_read_at = run_now();
  r->objects_seen = changes;
  r->objects_due = run_now() + (r->objects_watch ? RELIST_S : READ_EVERY_S);
  int rc;
  char *why;
  json_t *apps = list(r, "applications", trimmed, &rc, &why), *projects = NULL;
  if (apps && !(projects = list(r, "projects", NULL, &rc, &why))) {
    json_decref(apps);
    apps = NULL;
  }
  say(r, why);
  /* The API server away: the objects stay as they were. Without the CRDs
   * there are none. */
  if (!apps && rc != KUBE_ENOTFOUND) return;
  arena *a = arena_new();
  app_set s = {0};
  json_t *problems = json_object(), *project_problems = json_object();
  if (apps) {
    s.projects = arena_alloc(a, (json_array_size(projects) + 1) * sizeof *s.projects);
    s.apps = arena_alloc(a, (json_array_size(apps) + 1) * sizeof *s.apps);
    read_items(r, projects, "Project", a, &s, project_problems);
    read_items(r, apps, "Application", a, &s, problems);
  }
  json_decref(r->listed_projects);
  json_t *named = apps ? by_name(apps) : json_object();
  note_statuses(r, r->listed_by_name, named);
  json_decref(r->listed);
  json_decref(r->listed_by_name);
  json_decref(r->problems);
  json_decref(r->project_problems);
  r->listed_projects = projects;
  r->listed = apps;
  r->listed_by_name = named;
  r->objects_read_took = run_now() - r->objects_read_at;
  /* The pages' parse trees, and the old objects, left holes. */
  malloc_trim(0);
  r->problems = problems;
  r->project_problems = project_problems;
  r->objects_fresh = r->listed != NULL;
  if (!r->objects_written) r->objects_written = json_object();
  json_object_clear(r->objects_written);
  if (r->objects_arena && apps_equal(&s, &r->objects) && projects_equal(&s, &r->objects)) {
    arena_free(a);
    return;
  }
  run_set_objects(r, a, &s);
}

/* ---- what an object shows --------------------------------------------------- */

/* s as a JSON string of at most MESSAGE_MAX bytes of UTF-8: a message may
 * quote a file of any bytes, and the API server takes UTF-8 alone. */
static json_t *text(const char *s) {
  char *t = heap_utf8(s, MESSAGE_MAX);
  json_t *j = json_string(t);
  free(t);
  return j;
}

static void iso_now(char out[32]) {
  time_t t = time(NULL);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
}

/* A condition of type, true, with message; it keeps the time live gives it
 * when live has it with the same message. */
static void add_condition(json_t *status, const json_t *live, const char *type, const char *message) {
  json_t *conds = json_object_get(status, "conditions"),
         *c = json_pack("{s:s, s:s, s:o}", "type", type, "status", "True", "message", text(message));
  size_t i;
  json_t *old;
  char when[32];
  iso_now(when);
  json_array_foreach(json_object_get(live, "conditions"), i,
                     old) if (json_equal(json_object_get(old, "type"), json_object_get(c, "type")) &&
                              json_equal(json_object_get(old, "message"), json_object_get(c, "message")) &&
                              kube_str(old, "lastTransitionTime"))
      snprintf(when, sizeof when, "%s", kube_str(old, "lastTransitionTime"));
  json_object_set_new(c, "lastTransitionTime", json_string(when));
  json_array_append_new(conds, c);
}

/* The last entry of st's history: the last sync's result and time. */
static json_t *last_sync(const app_state *st) {
  json_t *entries = st->hist.entries ? json_loads(st->hist.entries, 0, NULL) : NULL;
  json_t *e = json_array_get(entries, json_array_size(entries) - 1), *out = NULL;
  if (e)
    out = json_pack("{s:s?, s:s?, s:s?}", "revision", kube_str(e, "revision"), "result", kube_str(e, "result"), "time",
                    kube_str(e, "time"));
  json_decref(entries);
  return out;
}

/* Application i's status, as its document says it (report.c) but for the
 * time of the last pass, which would make a write of every pass. */
static json_t *app_status(const runner *r, size_t i, const json_t *live) {
  const app_def *app = &r->defs.apps[i];
  const app_state *st = &r->apps[i];
  char *msg = run_message(st), *by = run_declarer(app);
  json_t *s = json_pack("{s:{s:s, s:s}, s:{s:s}, s:s, s:o, s:b, s:[]}", "sync", "status", sync_status_name(st->status),
                        "revision", st->commit, "health", "status", health_name(st->health), "declaredBy", by,
                        "message", text(msg), "autoSync",
                        app->automated && !*st->hist.rollback && !st->hist.suspended, "conditions");
  if (*st->commit)
    json_object_set_new(
        s, "commit",
        json_pack("{s:s, s:s%, s:o}", "id", st->commit, "short", st->commit, 7, "message", text(st->subject)));
  json_t *last = last_sync(st);
  if (last) json_object_set_new(s, "lastSync", last);
  if (st->error || st->refused) add_condition(s, live, "ComparisonError", msg);
  if (st->warnings) add_condition(s, live, "BuildWarning", st->warnings);
  free(msg);
  free(by);
  return s;
}

/* The status of an object the runtime does not manage: why. */
static json_t *refused_status(const json_t *live, const char *type, const char *message) {
  json_t *s = json_pack("{s:{s:s}, s:{s:s}, s:o, s:[]}", "sync", "status", "Unknown", "health", "status", "Unknown",
                        "message", text(message), "conditions");
  add_condition(s, live, type, message);
  return s;
}

/* What application object obj, whose status is live, should show, NULL
 * for nothing (a mirror of an application gone, an object being deleted). */
static json_t *wanted_status(const runner *r, const json_t *obj, const json_t *live) {
  const char *name = kube_meta_str(obj, "name");
  size_t i = run_set_index(r, name);
  if (deleting(obj)) return NULL;
  if (is_mirror(obj)) return i < r->napps && !r->defs.apps[i].object ? app_status(r, i, live) : NULL;
  if (i < r->napps && r->defs.apps[i].object && strcmp(strchr(r->defs.apps[i].object, '/') + 1, name) == 0)
    return app_status(r, i, live);
  json_t *p = json_object_get(r->problems, name);
  if (p) return refused_status(live, kube_str(p, "type"), kube_str(p, "message"));
  for (size_t j = 0; j < r->objects.napps; j++)
    if (r->objects_refused[j] && strcmp(r->objects.apps[j].name, name) == 0)
      return refused_status(live, i < r->napps ? "NameConflict" : "InvalidSpecError", r->objects_refused[j]);
  return NULL;
}

/* ---- writing ------------------------------------------------------------------ */

/* Replaces obj's status, live, with status (taken) unless it shows it
 * already; true when it wrote. */
static bool put_status(runner *r, const char *resource, const json_t *obj, const json_t *live, json_t *status) {
  json_t *empty = json_object();
  bool same = json_equal(live ? live : empty, status);
  json_decref(empty);
  if (same) {
    json_decref(status);
    return false;
  }
  const char *name = kube_meta_str(obj, "name");
  char *path = heap_printf(API_PATH "%s/%s/%s/status", r->objects_ns, resource, name);
  json_t *patch = json_pack("[{s:s, s:s, s:o}]", "op", "add", "path", "/status", "value", status);
  char *body = json_dumps(patch, JSON_COMPACT);
  json_t *out = NULL;
  int rc = kube_request(client(r), "PATCH", path, "application/json-patch+json", body, strlen(body), &out);
  /* Deleted since the list: nothing to show it on. */
  if (rc != KUBE_OK && rc != KUBE_ENOTFOUND)
    fprintf(r->o->out, "%s: cannot write the status of its %s object: %s\n", name, resource,
            kube_last_error(client(r)));
  json_decref(out);
  json_decref(patch);
  free(body);
  free(path);
  return true;
}

/* "3m", "1h30m": an interval as std/gitops takes it. */
static char *interval_text(int s) {
  buf b = {0};
  if (s >= 3600) buf_printf(&b, "%dh", s / 3600);
  if (s % 3600 >= 60) buf_printf(&b, "%dm", s % 3600 / 60);
  if (s % 60 || !b.len) buf_printf(&b, "%ds", s % 60);
  char *t = heap_strdup(b.data);
  buf_free(&b);
  return t;
}

json_t *run_directory_json(const compile_yaml_dir *d) {
  json_t *o = json_object();
  if (d->recurse) json_object_set_new(o, "recurse", json_true());
  if (d->include) json_object_set_new(o, "include", json_string(d->include));
  if (d->exclude) json_object_set_new(o, "exclude", json_string(d->exclude));
  return o;
}

static json_t *strings_json(const char *const *s, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(s[i]));
  return a;
}

/* app's ignoreDifferences, its paths as JSON pointers and jq-like paths. */
static json_t *ignores_json(const app_def *app) {
  json_t *list = json_array();
  for (size_t i = 0; i < app->nignore; i++) {
    const app_ignore *g = &app->ignore[i];
    json_t *rule = json_pack("{s:s, s:s}", "group", g->group, "kind", g->kind), *ptrs = json_array(), *jq = json_array();
    if (g->name) json_object_set_new(rule, "name", json_string(g->name));
    if (g->namespace) json_object_set_new(rule, "namespace", json_string(g->namespace));
    for (size_t k = 0; k < g->npaths; k++) json_array_append_new(*g->paths[k] == '/' ? ptrs : jq, json_string(g->paths[k]));
    json_object_set_new(rule, "jsonPointers", ptrs);
    json_object_set_new(rule, "jqPathExpressions", jq);
    json_object_set_new(rule, "managedFieldsManagers", strings_json(g->managers, g->nmanagers));
    json_array_append_new(list, rule);
  }
  return list;
}

/* app's subscribe: trigger -> the notifiers' names. */
static json_t *subscriptions_json(const app_def *app) {
  json_t *out = json_object();
  for (size_t i = 0; i < app->nsubscribe; i++) {
    const char *eq = strchr(app->subscribe[i], '=');
    char *trigger = heap_strndup(app->subscribe[i], (size_t)(eq - app->subscribe[i]));
    json_t *list = json_object_get(out, trigger);
    if (!list) json_object_set_new(out, trigger, list = json_array());
    json_array_append_new(list, json_string(eq + 1));
    free(trigger);
  }
  return out;
}

/* app's spec, as std/gitops's template writes it; its repository's URL
 * without credentials, args as strings (NAME=VALUE builds the same). */
static json_t *spec_of(const app_def *app) {
  char *repo = source_scrub_url(app->repo), *every = interval_text(app->interval_s);
  json_t *creds = json_object();
  for (size_t i = 0; i < app->ncredentials; i++)
    json_object_set_new(creds, app->credentials[i].key, json_string(app->credentials[i].value));
  json_t *spec = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:o}, s:{s:s, s:s}, s:{s:b, s:b, s:b, s:b, s:s}}", "project",
                           app->project, "source", "repo", repo, "revision", app->revision, "path", app->path, "env",
                           app->env, "credentials", creds, "destination", "cluster", app->cluster, "namespace",
                           app->namespace, "sync", "automated", app->automated, "prune", app->prune, "selfHeal",
                           app->self_heal, "allowEmpty", app->allow_empty, "interval", every);
  if (app->nargs) {
    json_t *args = json_object();
    for (size_t i = 0; i < app->nargs; i++) {
      const char *eq = strchr(app->args[i], '=');
      char *key = heap_printf("%.*s", (int)(eq - app->args[i]), app->args[i]);
      json_object_set_new(args, key, json_string(eq + 1));
      free(key);
    }
    json_object_set_new(json_object_get(spec, "source"), "args", args);
  }
  json_t *dir = run_directory_json(&app->directory);
  if (json_object_size(dir)) json_object_set(json_object_get(spec, "source"), "directory", dir);
  json_decref(dir);
  json_t *source = json_object_get(spec, "source");
  if (app->chart) json_object_set_new(source, "chart", json_string(app->chart));
  if (app->values) json_object_set_new(source, "values", json_loads(app->values, 0, NULL));
  if (app->release) json_object_set_new(source, "release", json_string(app->release));
  if (app->retry_limit != -1 || app->retry_s != 5 || app->retry_factor != 2 || app->retry_max_s) {
    char *dur = interval_text(app->retry_s), *most = app->retry_max_s ? interval_text(app->retry_max_s) : NULL;
    json_t *backoff = json_pack("{s:s, s:i}", "duration", dur, "factor", app->retry_factor);
    if (most) json_object_set_new(backoff, "maxDuration", json_string(most));
    json_t *retry = json_pack("{s:o}", "backoff", backoff);
    if (app->retry_limit != -1) json_object_set_new(retry, "limit", json_integer(app->retry_limit));
    json_object_set_new(json_object_get(spec, "sync"), "retry", retry);
    free(dur), free(most);
  }
  if (app->cascade) json_object_set_new(spec, "cascadeDelete", json_string(app->cascade));
  if (app->nsubscribe) json_object_set_new(spec, "subscribe", subscriptions_json(app));
  if (app->out_of_sync_s) {
    char *after = interval_text(app->out_of_sync_s);
    json_object_set_new(spec, "outOfSyncFor", json_string(after));
    free(after);
  }
  if (app->sops_secret)
    json_object_set_new(spec, "decryption",
                        json_pack("{s:s, s:{s:s}}", "provider", "sops", "secretRef", "name", app->sops_secret));
  if (app->nignore) json_object_set_new(spec, "ignoreDifferences", ignores_json(app));
  if (app->namespace_metadata)
    json_object_set_new(json_object_get(spec, "sync"), "managedNamespaceMetadata", json_loads(app->namespace_metadata, 0, NULL));
  if (app->field_manager)
    json_object_set_new(json_object_get(spec, "sync"), "fieldManager", json_string(app->field_manager));
  /* Always, empty too: the CRD defaults it to [], and a spec without it
   * would never equal the object's, so mirror would apply it again on
   * every read of the objects. */
  json_t *opts = json_array();
  for (size_t i = 0; i < app->nsync_options; i++) json_array_append_new(opts, json_string(app->sync_options[i]));
  json_object_set_new(json_object_get(spec, "sync"), "options", opts);
  if (app->ndepends_on) {
    json_t *deps = json_array();
    for (size_t i = 0; i < app->ndepends_on; i++) json_array_append_new(deps, json_string(app->depends_on[i]));
    json_object_set_new(spec, "dependsOn", deps);
  }
  free(repo);
  free(every);
  return spec;
}

/* Makes or updates the mirror of application i, unless obj (its name's
 * object, NULL when none) is one already equal; true when it wrote. */
static bool mirror(runner *r, size_t i, const json_t *obj) {
  const app_def *app = &r->defs.apps[i];
  char *by = run_declarer(app);
  const char *source = app->parent ? "application" : "config";
  json_t *want = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}, s:{s:s}}, s:o}", "apiVersion", APP_API_VERSION, "kind",
                           "Application", "metadata", "name", app->name, "namespace", r->objects_ns, "labels",
                           SOURCE_LABEL, source, "annotations", DECLARED_BY, by, "spec", spec_of(app));
  free(by);
  const json_t *meta = json_object_get(obj, "metadata"), *wmeta = json_object_get(want, "metadata");
  bool same = obj && same_as(json_object_get(obj, "spec"), json_object_get(want, "spec")) &&
              json_equal(json_object_get(json_object_get(meta, "labels"), SOURCE_LABEL),
                         json_object_get(json_object_get(wmeta, "labels"), SOURCE_LABEL)) &&
              json_equal(json_object_get(json_object_get(meta, "annotations"), DECLARED_BY),
                         json_object_get(json_object_get(wmeta, "annotations"), DECLARED_BY));
  if (!same) {
    json_t *out = NULL;
    if (kube_apply(client(r), want, &(kube_apply_opts){.force = true}, &out) != KUBE_OK)
      fprintf(r->o->out, "%s: cannot mirror it as an Application object: %s\n", app->name,
              kube_last_error(client(r)));
    json_decref(out);
  }
  json_decref(want);
  return !same;
}


/* Deletes mirror obj, whose application is gone; true when it wrote. Only
 * what the runtime applied (the fields of its apply), never an object
 * someone labelled by hand. */
static bool unmirror(runner *r, const json_t *obj) {
  const char *name = kube_meta_str(obj, "name");
  size_t i = run_set_index(r, name);
  if (deleting(obj) || (i < r->napps && !r->defs.apps[i].object) || !kube_owned_fields(obj, "plumb", APP_API_VERSION))
    return false;
  int rc = kube_delete(client(r), APP_API_VERSION, "Application", r->objects_ns, name,
                       &(kube_delete_opts){.uid = kube_meta_str(obj, "uid")});
  if (rc != KUBE_OK && rc != KUBE_ENOTFOUND)
    fprintf(r->o->out, "%s: cannot delete the Application object that mirrored it: %s\n", name,
            kube_last_error(client(r)));
  return true;
}

/* Gives obj the finalizer, or takes it away (want false), by a JSON patch
 * of the object as it was read: one changed since is left to the next
 * read. True when it wrote. */
static bool finalize(runner *r, const json_t *obj, bool want) {
  json_t *list = json_array(), *f;
  size_t i;
  json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "finalizers"), i, f) {
    if (!json_is_string(f) || strcmp(json_string_value(f), FINALIZER) != 0) json_array_append(list, f);
  }
  if (want) json_array_append_new(list, json_string(FINALIZER));
  json_t *patch = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:o}]", "op", "test", "path", "/metadata/resourceVersion",
                            "value", kube_meta_str(obj, "resourceVersion") ? kube_meta_str(obj, "resourceVersion") : "",
                            "op", "add", "path", "/metadata/finalizers", "value", list);
  char *body = json_dumps(patch, JSON_COMPACT);
  char *path = heap_printf(API_PATH "%s/applications/%s", r->objects_ns, kube_meta_str(obj, "name"));
  json_t *out = NULL;
  int rc = kube_request(client(r), "PATCH", path, "application/json-patch+json", body, strlen(body), &out);
  if (rc != KUBE_OK && rc != KUBE_ENOTFOUND && rc != KUBE_ECONFLICT)
    fprintf(r->o->out, "%s: cannot %s the finalizer %s: %s\n", kube_meta_str(obj, "name"), want ? "add" : "remove",
            FINALIZER, kube_last_error(client(r)));
  json_decref(out);
  json_decref(patch);
  free(body);
  free(path);
  return true;
}

/* The finalizer on obj, a definition, as its spec says: put on while it
 * asks for cascadeDelete, taken off when it stops asking. Once obj is
 * being deleted, its application's deletion begins, here when the runtime
 * did not manage it (it started after the deletion did); true when it
 * wrote. */
static bool keep_finalizer(runner *r, const json_t *obj) {
  const char *name = kube_meta_str(obj, "name");
  if (!deleting(obj)) return cascades(obj) != finalized(obj) && finalize(r, obj, cascades(obj));
  if (!finalized(obj) || run_set_index(r, name) < r->napps || run_delete_pending(r, name)) return false;
  arena *a = arena_new();
  app_def app = {0};
  char *why = NULL;
  if (read_object(obj, "Application", a, &app, NULL, &why) == 0 && app.cascade) {
    app.object = arena_printf(a, "%s/%s", r->objects_ns, name);
    run_delete_object(r, &app);
  } else {
    fprintf(r->o->out, "%s: its Application object is being deleted, and its spec does not say how its objects go "
                       "(%s); they stay\n", name, why ? why : "no cascadeDelete");
    finalize(r, obj, false);
  }
  free(why);
  arena_free(a);
  return true;
}

void run_objects_release(runner *r, const char *name) {
  if (!r->objects_ns) return;
  json_t *obj = NULL;
  char *path = heap_printf(API_PATH "%s/applications/%s", r->objects_ns, name);
  if (kube_request(client(r), "GET", path, NULL, NULL, 0, &obj) == KUBE_OK && deleting(obj) && finalized(obj) &&
      !is_mirror(obj))
    finalize(r, obj, false);
  json_decref(obj);
  free(path);
}

/* The key of kind/name among the objects written since the read. */
static const char *written_key(char key[300], const char *kind, const char *name) {
  snprintf(key, 300, "%s/%s", kind, name ? name : "");
  return key;
}

/* Whether an earlier round wrote kind/name since the read. */
static bool written(const runner *r, const char *kind, const char *name) {
  char key[300];
  json_t *round = json_object_get(r->objects_written, written_key(key, kind, name));
  return round && (unsigned long)json_integer_value(round) != r->objects_rounds;
}

/* Notes a write of kind/name this round; returns it (0 or 1). */
static size_t wrote(runner *r, const char *kind, const char *name, size_t n) {
  char key[300];
  if (n)
    json_object_set_new(r->objects_written, written_key(key, kind, name), json_integer((json_int_t)r->objects_rounds));
  return n;
}

/* Projects show the condition that keeps them out, and nothing else. */
static size_t project_statuses(runner *r, size_t budget) {
  size_t writes = 0, i;
  json_t *obj;
  json_array_foreach(r->listed_projects, i, obj) {
    if (writes >= budget) break;
    const char *name = kube_meta_str(obj, "name");
    if (deleting(obj) || written(r, "Project", name)) continue;
    json_t *p = json_object_get(r->project_problems, name), *want = json_object();
    if (p) {
      json_object_set_new(want, "conditions", json_array());
      add_condition(want, json_object_get(obj, "status"), kube_str(p, "type"), kube_str(p, "message"));
    }
    writes += wrote(r, "Project", name, put_status(r, "projects", obj, json_object_get(obj, "status"), want));
  }
  return writes;
}

json_t *run_object_status(const runner *r, const app_def *app) {
  const char *name = app->object ? strchr(app->object, '/') + 1 : app->name;
  return live_status(json_object_get(r->listed_by_name, name));
}

size_t run_objects_write(runner *r, size_t budget) {
  size_t writes = 0, i;
  json_t *obj;
  if (!r->objects_fresh || !r->listed || !(r->shards || run_may_write(r))) return 0;
  r->objects_rounds++;
  /* Each write asks whether this runtime still leads, or holds the
   * application's shard: a round of writes to an API server just back may
   * outlast the Lease it could not renew. */
  for (i = 0; i < r->napps && writes < budget; i++) {
    const char *name = r->defs.apps[i].name;
    if (r->defs.apps[i].object || !run_owns_named(r, name, NULL) || written(r, "Application", name)) continue;
    obj = json_object_get(r->listed_by_name, name);
    /* Trimmed when read (trimmed): its spec cannot be compared. */
    if (obj && is_mirror(obj) && !json_object_get(obj, "spec")) {
      r->objects_due = 0;
      continue;
    }
    if (!obj || is_mirror(obj)) writes += wrote(r, "Application", name, mirror(r, i, obj));
  }
  json_array_foreach(r->listed, i, obj) {
    if (writes >= budget) break;
    const char *name = kube_meta_str(obj, "name");
    if (!run_owns_named(r, name, NULL) || written(r, "Application", name)) continue;
    if (is_mirror(obj) && unmirror(r, obj)) {
      writes += wrote(r, "Application", name, 1);
      continue;
    }
    if (!is_mirror(obj) && keep_finalizer(r, obj)) writes += wrote(r, "Application", name, 1);
    json_t *live = live_status(obj), *want = wanted_status(r, obj, live);
    if (want) writes += wrote(r, "Application", name, put_status(r, "applications", obj, live, want));
    json_decref(live);
  }
  if (writes < budget && run_may_write(r)) writes += project_statuses(r, budget - writes);
  /* All that read showed is written: the next writes wait for a read. */
  if (writes < budget) r->objects_fresh = false;
  return writes;
}

void run_objects_free(runner *r) {
  stop_watch(r);
  kube_client_free(r->objects_c);
  r->objects_c = NULL;
  json_decref(r->listed);
  json_decref(r->listed_by_name);
  json_decref(r->listed_projects);
  json_decref(r->problems);
  json_decref(r->project_problems);
  json_decref(r->objects_written);
  r->objects_written = NULL;
  free(r->objects_error);
  r->listed = r->listed_by_name = r->listed_projects = r->problems = r->project_problems = NULL;
  r->objects_error = NULL;
}

/* ---- for the API's forms (run.h) ------------------------------------------------ */

/* Whether ns and name are names; else *err says which is not (caller
 * frees). */
static bool names_ok(const char *ns, const char *name, char **err) {
  *err = NULL;
  if (run_dns_name(ns) && run_dns_name(name)) return true;
  *err = heap_printf("\"%s\" is not a name Kubernetes takes: lower-case letters, digits, '-' and '.'",
                     run_dns_name(ns) ? name : ns);
  return false;
}

/* The object name of ns with spec, once spec reads as the runtime would read
 * it; NULL with the reason in *err (caller frees). */
static json_t *checked(const char *ns, const char *name, const char *spec, char **err) {
  if (!names_ok(ns, name, err)) return NULL;
  json_error_t je;
  json_t *s = strlen(spec) > SPEC_MAX ? NULL : json_loads(spec, JSON_REJECT_DUPLICATES, &je);
  if (!s || !json_is_object(s)) {
    *err = strlen(spec) > SPEC_MAX
               ? heap_printf("application %s: its spec is %zu bytes; at most %d are read", name, strlen(spec), SPEC_MAX)
           : s ? heap_printf("application %s: the spec must be an object", name)
               : heap_printf("application %s: the spec is not JSON: %s", name, je.text);
    json_decref(s);
    return NULL;
  }
  json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", APP_API_VERSION, "kind", "Application",
                          "metadata", "name", name, "namespace", ns, "spec", s);
  arena *a = arena_new();
  app_def app = {0};
  if (read_object(obj, "Application", a, &app, NULL, err)) {
    json_decref(obj);
    obj = NULL;
  }
  arena_free(a);
  return obj;
}

static kube_client *client_for(kube_config *cfg, char **err) {
  kube_client *c = NULL;
  *err = NULL;
  if (kube_client_new(&c, cfg, NULL, err) != KUBE_OK) return NULL;
  return c;
}

/* The object name in ns, for an update or a delete: KUBE_ECONFLICT for a
 * mirror, which git declares. */
static int editable(kube_client *c, const char *ns, const char *name, json_t **out, char **err) {
  int rc = kube_get(c, APP_API_VERSION, "Application", ns, name, out);
  if (rc == KUBE_OK && is_mirror(*out)) {
    const char *by = json_string_value(
        json_object_get(json_object_get(json_object_get(*out, "metadata"), "annotations"), DECLARED_BY));
    *err = heap_printf("application %s is declared by %s; change it there", name, by ? by : "the config repository");
    return KUBE_ECONFLICT;
  }
  if (rc == KUBE_ENOTFOUND) *err = heap_printf("there is no Application object %s in %s", name, ns);
  else if (rc != KUBE_OK) *err = heap_strdup(kube_last_error(c));
  return rc;
}

/* Sends obj with method to path, fields the CRD does not know refused. */
static int send(kube_client *c, const char *method, const char *path, json_t *obj, char **err) {
  char *body = json_dumps(obj, JSON_COMPACT);
  json_t *out = NULL;
  int rc = kube_request(c, method, path, "application/json", body, strlen(body), &out);
  if (rc != KUBE_OK) *err = heap_strdup(kube_last_error(c));
  json_decref(out);
  free(body);
  return rc;
}

int run_object_create(kube_config *cfg, const char *ns, const char *name, const char *spec, char **err) {
  json_t *obj = checked(ns, name, spec, err);
  if (!obj) return RUN_EINVALID;
  kube_client *c = client_for(cfg, err);
  int rc = KUBE_ERROR;
  if (c) {
    char *path = heap_printf(API_PATH "%s/applications?fieldValidation=Strict", ns);
    rc = send(c, "POST", path, obj, err);
    if (rc == KUBE_ECONFLICT) {
      free(*err);
      *err = heap_printf("an Application object %s exists in %s already", name, ns);
    }
    free(path);
  }
  kube_client_free(c);
  json_decref(obj);
  return rc;
}

int run_object_update(kube_config *cfg, const char *ns, const char *name, const char *spec, char **err) {
  json_t *obj = checked(ns, name, spec, err), *live = NULL;
  if (!obj) return RUN_EINVALID;
  kube_client *c = client_for(cfg, err);
  int rc = c ? editable(c, ns, name, &live, err) : KUBE_ERROR;
  if (rc == KUBE_OK) {
    /* Its metadata (resourceVersion: no update lost to another) and status
     * stay; the spec is replaced. */
    json_object_set(live, "spec", json_object_get(obj, "spec"));
    char *path = heap_printf(API_PATH "%s/applications/%s?fieldValidation=Strict", ns, name);
    rc = send(c, "PUT", path, live, err);
    free(path);
  }
  json_decref(live);
  kube_client_free(c);
  json_decref(obj);
  return rc;
}

int run_object_delete(kube_config *cfg, const char *ns, const char *name, char **err) {
  json_t *live = NULL;
  if (!names_ok(ns, name, err)) return RUN_EINVALID;
  kube_client *c = client_for(cfg, err);
  int rc = c ? editable(c, ns, name, &live, err) : KUBE_ERROR;
  if (rc == KUBE_OK) {
    rc = kube_delete(c, APP_API_VERSION, "Application", ns, name,
                     &(kube_delete_opts){.uid = kube_meta_str(live, "uid")});
    if (rc != KUBE_OK) *err = heap_strdup(kube_last_error(c));
  }
  json_decref(live);
  kube_client_free(c);
  return rc;
}
