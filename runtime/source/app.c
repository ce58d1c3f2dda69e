/* app.c: applications and projects from compiled Plumb (see app.h). */
#include "plumb/app.h"

#include <ctype.h>
#include <limits.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/emit.h"
#include "plumb/health.h"
#include "plumb/notify.h"

bool app_is_definition(const value *res) {
  const value *api = value_object_get(res, "apiVersion"), *kind = value_object_get(res, "kind");
  return api && kind && api->kind == V_STRING && kind->kind == V_STRING && strcmp(api->u.str.s, APP_API_VERSION) == 0 &&
         (strcmp(kind->u.str.s, "Application") == 0 || strcmp(kind->u.str.s, "Project") == 0 ||
          strcmp(kind->u.str.s, "IgnoreDifferences") == 0 || strcmp(kind->u.str.s, "Health") == 0 ||
          strcmp(kind->u.str.s, "Notifier") == 0);
}

int app_parse_interval(const char *s) {
  long total = 0;
  if (!s || !*s) return -1;
  while (*s) {
    if (!isdigit((unsigned char)*s)) return -1;
    char *end;
    long n = strtol(s, &end, 10);
    long unit = *end == 'h' ? 3600 : *end == 'm' ? 60 : *end == 's' ? 1 : 0;
    if (!unit || n > 1000000) return -1;
    total += n * unit;
    s = end + 1;
  }
  return total > 0 && total < 1000000 ? (int)total : -1;
}

/* ---- reading fields, with errors where they were written ----------------- */

typedef struct {
  arena *a;
  diag_list *d;
  const char *what; /* "application shop" */
  pos at;           /* of the definition, for missing fields */
} reader;

/* Positions outlive the build they were read from: their file names too. */
static pos kept(arena *a, pos p) {
  p.file = p.file ? arena_strdup(a, p.file) : NULL;
  return p;
}

static const value *field_of(reader *r, const value *obj, const char *path, value_kind want, bool required) {
  const value *v = value_get_path(obj, path);
  if (!v) {
    if (required) diag_error(r->d, r->at, "%s: %s is missing", r->what, path);
    return NULL;
  }
  if (v->kind != want) {
    diag_error(r->d, v->at, "%s: %s must be %s, got %s", r->what, path, value_a(want), value_a(v->kind));
    return NULL;
  }
  return v;
}

static const char *string_at(reader *r, const value *obj, const char *path, const char *dflt) {
  const value *v = field_of(r, obj, path, V_STRING, dflt == NULL);
  return arena_strdup(r->a, v ? v->u.str.s : dflt ? dflt : "");
}

static bool bool_at(reader *r, const value *obj, const char *path) {
  const value *v = field_of(r, obj, path, V_BOOL, false);
  return v && v->u.b;
}

/* A list of strings; *n gets its length. */
static const char **strings_at(reader *r, const value *obj, const char *path, size_t *n) {
  const value *l = field_of(r, obj, path, V_LIST, false);
  *n = 0;
  if (!l) return NULL;
  const char **out = arena_alloc(r->a, (l->u.list.len + 1) * sizeof *out);
  for (size_t i = 0; i < l->u.list.len; i++) {
    const value *s = l->u.list.items[i];
    if (s->kind != V_STRING)
      diag_error(r->d, s->at, "%s: %s must hold strings, got %s", r->what, path, value_a(s->kind));
    else
      out[(*n)++] = arena_strdup(r->a, s->u.str.s);
  }
  return out;
}

/* A path inside the repository: relative, without "..". */
static bool inside_repo(const char *path) {
  if (path[0] == '/') return false;
  for (const char *p = path; (p = strstr(p, "..")); p += 2)
    if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/')) return false;
  return true;
}

static void read_credentials(reader *r, const value *spec, app_def *app) {
  const value *c = field_of(r, spec, "source.credentials", V_OBJECT, false);
  if (!c) return;
  app->credentials = arena_alloc(r->a, (c->u.obj.len + 1) * sizeof *app->credentials);
  static const char *const known[] = {"token_file", "username_file", "password_file", "ssh_key_file",
                                      "known_hosts_file", "secret"};
  for (size_t i = 0; i < c->u.obj.len; i++) {
    const field *f = &c->u.obj.fields[i];
    bool ok = false;
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) ok |= strcmp(known[k], f->key) == 0;
    if (!ok)
      diag_error(r->d, f->val->at, "%s: unknown credential \"%s\"; expected token_file, username_file, password_file, "
                 "ssh_key_file, known_hosts_file or secret", r->what, f->key);
    else if (f->val->kind != V_STRING)
      diag_error(r->d, f->val->at, "%s: credential %s must be a string", r->what, f->key);
    else
      app->credentials[app->ncredentials++] = (app_setting){arena_strdup(r->a, f->key), arena_strdup(r->a, f->val->u.str.s)};
  }
}

/* source.args: the env's parameters, each NAME=VALUE as `plumb build --arg`
 * takes it: a string as it is, a number or a bool as its literal. */
static void read_args(reader *r, const value *spec, app_def *app) {
  const value *o = field_of(r, spec, "source.args", V_OBJECT, false);
  if (!o) return;
  const char **args = arena_alloc(r->a, (o->u.obj.len + 1) * sizeof *args);
  for (size_t i = 0; i < o->u.obj.len; i++) {
    const field *f = &o->u.obj.fields[i];
    value_kind k = f->val->kind;
    if (k != V_STRING && k != V_INT && k != V_FLOAT && k != V_BOOL) {
      diag_error(r->d, f->val->at, "%s: args.%s must be a string, a number or a bool, got %s", r->what, f->key,
                 value_a(k));
      continue;
    }
    buf literal = {0};
    if (k == V_STRING) buf_puts(&literal, f->val->u.str.s);
    else emit_json(&literal, f->val, false, false);
    args[app->nargs++] = arena_printf(r->a, "%s=%s", f->key, literal.data);
    buf_free(&literal);
  }
  app->args = args;
}

/* source.directory: { recurse, include, exclude }, Argo CD's
 * spec.source.directory, which only a directory of YAML manifests takes
 * (the compile says so of another path). */
static void read_directory(reader *r, const value *spec, app_def *app) {
  const value *o = field_of(r, spec, "source.directory", V_OBJECT, false);
  for (size_t i = 0; o && i < o->u.obj.len; i++) {
    const field *f = &o->u.obj.fields[i];
    bool flag = strcmp(f->key, "recurse") == 0, glob = strcmp(f->key, "include") == 0 || strcmp(f->key, "exclude") == 0;
    if (!flag && !glob)
      diag_error(r->d, f->val->at, "%s: unknown field \"%s\" of source.directory; expected recurse, include or exclude",
                 r->what, f->key);
    else if (f->val->kind != (flag ? V_BOOL : V_STRING))
      diag_error(r->d, f->val->at, "%s: source.directory.%s must be %s, got %s", r->what, f->key,
                 value_a(flag ? V_BOOL : V_STRING), value_a(f->val->kind));
    else if (flag)
      app->directory.recurse = f->val->u.b;
    else
      *(*f->key == 'i' ? &app->directory.include : &app->directory.exclude) = arena_strdup(r->a, f->val->u.str.s);
  }
}

#define CHART_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

/* A DNS subdomain of at most max bytes: a Secret's name (253), Helm's
 * release name (53). */
static bool subdomain_ok(const char *s, size_t max) {
  size_t n = strlen(s);
  if (!n || n > max || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1])) return false;
  for (; *s; s++)
    if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' || *s == '.')) return false;
  return true;
}

/* source.chart, source.values, source.release: a chart of the chart
 * repository repo, which takes no path, env, args or directory. */
static void read_chart(reader *r, const value *spec, app_def *app) {
  const value *c = field_of(r, spec, "source.chart", V_STRING, false);
  const value *v = field_of(r, spec, "source.values", V_OBJECT, false);
  const value *rel = field_of(r, spec, "source.release", V_STRING, false);
  if (!c) {
    const value *stray = v ? v : rel;
    if (stray) diag_error(r->d, stray->at, "%s: source.%s is for a chart (source.chart)", r->what, v ? "values" : "release");
    return;
  }
  app->chart = arena_strdup(r->a, c->u.str.s);
  if (!*app->chart || app->chart[strspn(app->chart, CHART_NAME_CHARS)] || *app->chart == '.' || *app->chart == '-')
    diag_error(r->d, c->at, "%s: source.chart \"%s\" is no chart name: letters, digits, '.', '_' or '-', not first '.' or '-'", r->what,
               app->chart);
  if (strncmp(app->repo, "oci://", 6) && strncmp(app->repo, "https://", 8) && strncmp(app->repo, "http://", 7))
    diag_error(r->d, c->at, "%s: a chart comes from a chart repository's https:// URL or an oci:// registry, not %s",
               r->what, app->repo);
  if (strpbrk(app->repo, "\"\\$") || strpbrk(app->revision, "\"\\$"))
    diag_error(r->d, c->at, "%s: the repository and revision of a chart hold no '\"', '\\' or '$'", r->what);
  if (strcmp(app->path, ".") || *app->env || app->nargs || app->directory.recurse || app->directory.include ||
      app->directory.exclude)
    diag_error(r->d, c->at, "%s: a chart takes no path, env, args or directory: values and release say how it renders",
               r->what);
  if (v) {
    buf json = {0};
    emit_json(&json, v, false, false);
    app->values = arena_strndup(r->a, json.data, json.len);
    buf_free(&json);
  }
  if (rel) app->release = arena_strdup(r->a, rel->u.str.s);
  if (rel && !subdomain_ok(app->release, 53))
    diag_error(r->d, rel->at, "%s: source.release \"%s\" is no release name: at most 53 lowercase letters, digits, '-' or "
               "'.', starting and ending with a letter or digit", r->what, app->release);
}

/* The sync options an application takes: Plumb's own, and Argo CD's whose
 * meaning Plumb has already (its apply is server-side, applies only what
 * differs, and prunes last). */
static const char *const sync_options[] = {"Recreate=true", "CreateNamespace=true", "ServerSideApply=true",
                                           "ApplyOutOfSyncOnly=true", "PruneLast=true",
                                           "SkipDryRunOnMissingResource=true", "RespectIgnoreDifferences=true"};

static void read_sync_options(reader *r, const value *spec, app_def *app) {
  app->sync_options = strings_at(r, spec, "sync.options", &app->nsync_options);
  const value *meta = field_of(r, spec, "sync.managedNamespaceMetadata", V_OBJECT, false);
  for (size_t i = 0; meta && i < meta->u.obj.len; i++) {
    const field *f = &meta->u.obj.fields[i];
    bool known = strcmp(f->key, "labels") == 0 || strcmp(f->key, "annotations") == 0;
    if (!known || f->val->kind != V_OBJECT)
      diag_error(r->d, f->val->at, "%s: managedNamespaceMetadata holds labels and annotations, objects of strings",
                 r->what);
    for (size_t k = 0; known && f->val->kind == V_OBJECT && k < f->val->u.obj.len; k++)
      if (f->val->u.obj.fields[k].val->kind != V_STRING)
        diag_error(r->d, f->val->u.obj.fields[k].val->at, "%s: managedNamespaceMetadata.%s.%s must be a string", r->what,
                   f->key, f->val->u.obj.fields[k].key);
  }
  if (meta) {
    buf json = {0};
    emit_json(&json, meta, false, false);
    app->namespace_metadata = arena_strndup(r->a, json.data, json.len);
    buf_free(&json);
  }
  const value *list = value_get_path(spec, "sync.options");
  for (size_t i = 0; i < app->nsync_options; i++) {
    size_t k = 0;
    while (k < sizeof sync_options / sizeof *sync_options && strcmp(sync_options[k], app->sync_options[i]) != 0) k++;
    if (k == sizeof sync_options / sizeof *sync_options)
      diag_error(r->d, list->u.list.items[i]->at,
                 "%s: unknown sync option \"%s\"; expected Recreate=true, CreateNamespace=true, "
                 "ServerSideApply=true, ApplyOutOfSyncOnly=true, PruneLast=true, SkipDryRunOnMissingResource=true or "
                 "RespectIgnoreDifferences=true",
                 r->what, app->sync_options[i]);
  }
}

/* A path of an ignore rule: a JSON pointer, or a jq-like path of names,
 * ["key"], [N] and [] (every item), as runtime/compare/live.c reads it. */
static bool ignore_path_ok(const char *p) {
  if (*p == '/') return true;
  if (*p != '.') return false;
  for (p++; *p;) {
    if (*p == '[') {
      const char *end = strchr(p, ']');
      if (!end) return false;
      p = end + 1;
    } else if (*p == '.') p++;
    else if (isalnum((unsigned char)*p) || *p == '_' || *p == '-') p++;
    else return false;
  }
  return true;
}

/* One rule: { group, kind, name, namespace, jsonPointers,
 * jqPathExpressions, managedFieldsManagers }, as Argo CD's. */
static bool read_ignore(reader *r, const value *o, app_ignore *out) {
  if (o->kind != V_OBJECT)
    return diag_error(r->d, o->at, "%s: an ignore rule must be an object { kind, jsonPointers, ... }", r->what), false;
  *out = (app_ignore){.group = string_at(r, o, "group", ""), .kind = string_at(r, o, "kind", NULL)};
  const value *name = field_of(r, o, "name", V_STRING, false), *ns = field_of(r, o, "namespace", V_STRING, false);
  if (name) out->name = arena_strdup(r->a, name->u.str.s);
  if (ns) out->namespace = arena_strdup(r->a, ns->u.str.s);
  size_t np = 0, nq = 0;
  const char **ptrs = strings_at(r, o, "jsonPointers", &np), **jq = strings_at(r, o, "jqPathExpressions", &nq);
  out->managers = strings_at(r, o, "managedFieldsManagers", &out->nmanagers);
  out->paths = arena_alloc(r->a, (np + nq + 1) * sizeof *out->paths);
  for (size_t i = 0; i < np + nq; i++) {
    const char *p = i < np ? ptrs[i] : jq[i - np];
    if (!ignore_path_ok(p) || (i < np) != (*p == '/'))
      diag_error(r->d, o->at, "%s: \"%s\" is no %s", r->what, p,
                 i < np ? "JSON pointer (\"/spec/replicas\")" : "path Plumb reads (\".spec.replicas\", \".a[].b\", \".a[\\\"k\\\"]\")");
    out->paths[out->npaths++] = p;
  }
  if (!out->npaths && !out->nmanagers)
    diag_error(r->d, o->at, "%s: an ignore rule names fields: jsonPointers, jqPathExpressions or managedFieldsManagers",
               r->what);
  return true;
}

/* spec.ignoreDifferences: a list of rules. */
static void read_ignores(reader *r, const value *spec, const char *path, app_ignore **out, size_t *n) {
  const value *list = field_of(r, spec, path, V_LIST, false);
  if (!list) return;
  app_ignore *rules = arena_alloc(r->a, (list->u.list.len + 1) * sizeof *rules);
  for (size_t i = 0; i < list->u.list.len; i++)
    if (read_ignore(r, list->u.list.items[i], &rules[*n])) ++*n;
  *out = rules;
}

/* spec.cascadeDelete: background, foreground, or orphan (the default). */
static void read_cascade(reader *r, const value *spec, app_def *app) {
  const value *v = field_of(r, spec, "cascadeDelete", V_STRING, false);
  const char *s = v ? v->u.str.s : "orphan";
  if (strcmp(s, "background") == 0 || strcmp(s, "foreground") == 0) app->cascade = arena_strdup(r->a, s);
  else if (strcmp(s, "orphan") != 0 && *s)
    diag_error(r->d, v->at, "%s: cascade_delete is background, foreground or orphan, not \"%s\"", r->what, s);
}

/* sync.fieldManager: a name the API server takes as a field manager (at
 * most 128 printable characters); "plumb", the default, is NULL. */
static void read_field_manager(reader *r, const value *spec, app_def *app) {
  const value *v = field_of(r, spec, "sync.fieldManager", V_STRING, false);
  if (!v || strcmp(v->u.str.s, "plumb") == 0) return;
  size_t n = strlen(v->u.str.s);
  bool printable = n > 0 && n <= 128;
  for (size_t i = 0; printable && i < n; i++) printable = isprint((unsigned char)v->u.str.s[i]);
  if (!printable)
    diag_error(r->d, v->at, "%s: field_manager must be 1 to 128 printable ASCII characters", r->what);
  else app->field_manager = arena_strdup(r->a, v->u.str.s);
}

/* spec.decryption: { provider: "sops", secretRef: { name } }, as Flux's;
 * the Secret's name, NULL without one. */
static const char *read_decryption(reader *r, const value *spec) {
  const value *dec = field_of(r, spec, "decryption", V_OBJECT, false);
  if (!dec) return NULL;
  const char *provider = string_at(r, dec, "provider", "sops"), *name = string_at(r, dec, "secretRef.name", "");
  const value *at = value_get_path(dec, "secretRef.name");
  if (strcmp(provider, "sops") != 0)
    diag_error(r->d, dec->at, "%s: decryption.provider is \"sops\", not \"%s\"", r->what, provider);
  else if (!subdomain_ok(name, 253))
    diag_error(r->d, at ? at->at : dec->at, "%s: decryption.secretRef.name \"%s\" is no Secret's name", r->what, name);
  return *name ? name : NULL;
}

bool app_sync_option(const app_def *app, const char *option) {
  for (size_t i = 0; i < app->nsync_options; i++)
    if (strcmp(app->sync_options[i], option) == 0) return true;
  return false;
}

/* A duration of sync.retry.backoff, in seconds; dflt when not given. */
static int retry_duration(reader *r, const value *o, const char *key, int dflt) {
  const value *v = o ? value_object_get(o, key) : NULL;
  if (!v) return dflt;
  int s = v->kind == V_STRING ? app_parse_interval(v->u.str.s) : -1;
  if (s <= 0)
    diag_error(r->d, v->at, "%s: sync.retry.backoff.%s must be a duration like 5s, 3m or 1h", r->what, key);
  return s > 0 ? s : dflt;
}

/* sync.retry: { limit, backoff: { duration, factor, maxDuration } }, as
 * Argo CD's; without it, the backoff of every failed pass (5s, twice as
 * long each time, up to the interval) and no limit. */
static void read_retry(reader *r, const value *spec, app_def *app) {
  app->retry_limit = -1, app->retry_s = 5, app->retry_factor = 2, app->retry_max_s = 0;
  const value *o = field_of(r, spec, "sync.retry", V_OBJECT, false);
  const value *limit = o ? value_object_get(o, "limit") : NULL;
  const value *backoff = o ? field_of(r, o, "backoff", V_OBJECT, false) : NULL;
  const value *factor = backoff ? value_object_get(backoff, "factor") : NULL;
  if (limit && (limit->kind != V_INT || limit->u.i < -1 || limit->u.i > 1000))
    diag_error(r->d, limit->at, "%s: sync.retry.limit must be an integer from -1 (no limit) to 1000", r->what);
  else if (limit) app->retry_limit = (int)limit->u.i;
  if (factor && (factor->kind != V_INT || factor->u.i < 1 || factor->u.i > 100))
    diag_error(r->d, factor->at, "%s: sync.retry.backoff.factor must be an integer from 1 to 100", r->what);
  else if (factor) app->retry_factor = (int)factor->u.i;
  app->retry_s = retry_duration(r, backoff, "duration", 5);
  app->retry_max_s = retry_duration(r, backoff, "maxDuration", 0);
}

/* The sync wave an annotation gives, Plumb's before Argo CD's: an
 * integer, as Argo CD reads it. */
static void read_wave(reader *r, const value *res, app_def *app) {
  const value *notes = value_get_path(res, "metadata.annotations");
  const value *w = notes && notes->kind == V_OBJECT ? value_object_get(notes, "plumb.dev/sync-wave") : NULL;
  if (!w && notes && notes->kind == V_OBJECT) w = value_object_get(notes, "argocd.argoproj.io/sync-wave");
  if (!w) return;
  char *end;
  long n = w->kind == V_STRING ? strtol(w->u.str.s, &end, 10) : 0;
  if (w->kind != V_STRING || !*w->u.str.s || *end || n < INT_MIN / 2 || n > INT_MAX / 2)
    diag_error(r->d, w->at, "%s: its sync wave must be an integer, as a string", r->what);
  else app->wave = (int)n;
}

static bool is_trigger(const char *s) {
  for (size_t i = 0; i < notify_ntriggers; i++)
    if (strcmp(notify_triggers[i], s) == 0) return true;
  return false;
}

/* spec.subscribe: { TRIGGER: [NOTIFIER...] } (or one NOTIFIER) as
 * "TRIGGER=NOTIFIER" each; whether the notifiers exist is checked with
 * the set (check_subscriptions). */
static const char **read_subscribe(reader *r, const value *spec, size_t *n) {
  const value *o = field_of(r, spec, "subscribe", V_OBJECT, false);
  *n = 0;
  if (!o) return NULL;
  size_t room = 1;
  for (size_t i = 0; i < o->u.obj.len; i++)
    room += o->u.obj.fields[i].val->kind == V_LIST ? o->u.obj.fields[i].val->u.list.len : 1;
  const char **out = arena_alloc(r->a, room * sizeof *out);
  for (size_t i = 0; i < o->u.obj.len; i++) {
    const field *f = &o->u.obj.fields[i];
    if (!is_trigger(f->key)) {
      diag_error(r->d, f->val->at, "%s: unknown trigger \"%s\"; expected on-sync-running, on-sync-succeeded, on-sync-failed, "
                 "on-health-degraded, on-drift-reverted, on-deployed or on-out-of-sync", r->what, f->key);
      continue;
    }
    bool one = f->val->kind == V_STRING;
    size_t len = one ? 1 : f->val->kind == V_LIST ? f->val->u.list.len : 0;
    if (!one && f->val->kind != V_LIST)
      diag_error(r->d, f->val->at, "%s: subscribe.%s must be a notifier's name or a list of them", r->what, f->key);
    for (size_t k = 0; k < len; k++) {
      const value *v = one ? f->val : f->val->u.list.items[k];
      if (v->kind != V_STRING) diag_error(r->d, v->at, "%s: subscribe.%s must hold notifiers' names", r->what, f->key);
      else out[(*n)++] = arena_printf(r->a, "%s=%s", f->key, v->u.str.s);
    }
  }
  return out;
}

/* spec.outOfSyncFor, in seconds; 0 when not given. */
static int read_out_of_sync(reader *r, const value *spec) {
  const char *text = string_at(r, spec, "outOfSyncFor", "");
  if (!*text) return 0;
  int s = app_parse_interval(text);
  if (s > 0) return s;
  diag_error(r->d, value_object_get(spec, "outOfSyncFor")->at, "%s: outOfSyncFor \"%s\" is not a duration like 30s, 5m or 1h",
             r->what, text);
  return 0;
}

static void read_app(reader *r, const value *res, const char *name, app_def *app) {
  const value *spec = field_of(r, res, "spec", V_OBJECT, true);
  if (!spec) return;
  *app = (app_def){.name = name, .at = r->at};
  app->project = string_at(r, spec, "project", "default");
  const value *at = value_get_path(spec, "project");
  app->project_at = at ? kept(r->a, at->at) : r->at;
  app->repo = string_at(r, spec, "source.repo", NULL);
  app->revision = string_at(r, spec, "source.revision", "HEAD");
  app->path = string_at(r, spec, "source.path", ".");
  app->env = string_at(r, spec, "source.env", "");
  app->cluster = string_at(r, spec, "destination.cluster", "in-cluster");
  app->namespace = string_at(r, spec, "destination.namespace", "");
  app->automated = bool_at(r, spec, "sync.automated");
  app->prune = bool_at(r, spec, "sync.prune");
  app->self_heal = bool_at(r, spec, "sync.selfHeal");
  app->allow_empty = bool_at(r, spec, "sync.allowEmpty");
  const char *interval = string_at(r, spec, "sync.interval", "3m");
  app->interval_s = app_parse_interval(interval);
  at = value_get_path(spec, "source.path");
  if (!inside_repo(app->path)) diag_error(r->d, at ? at->at : r->at, "%s: source.path must stay inside the repository", r->what);
  if (!*app->repo) diag_error(r->d, r->at, "%s: source.repo is empty", r->what);
  if (app->interval_s < 0) {
    at = value_get_path(spec, "sync.interval");
    diag_error(r->d, at ? at->at : r->at, "%s: sync.interval \"%s\" is not a duration like 30s, 3m or 1h", r->what, interval);
  }
  read_retry(r, spec, app);
  read_sync_options(r, spec, app);
  read_cascade(r, spec, app);
  read_field_manager(r, spec, app);
  app->sops_secret = read_decryption(r, spec);
  app_ignore *rules = NULL;
  read_ignores(r, spec, "ignoreDifferences", &rules, &app->nignore);
  app->ignore = rules;
  app->subscribe = read_subscribe(r, spec, &app->nsubscribe);
  app->out_of_sync_s = read_out_of_sync(r, spec);
  read_credentials(r, spec, app);
  read_args(r, spec, app);
  read_directory(r, spec, app);
  read_chart(r, spec, app);
  app->depends_on = strings_at(r, spec, "dependsOn", &app->ndepends_on);
  at = value_get_path(spec, "dependsOn");
  app->depends_at = at ? kept(r->a, at->at) : r->at;
  read_wave(r, res, app);
}

/* One of spec.syncWindows: { kind, schedule, duration, applications,
 * namespaces, clusters, manualSync, timeZone }, as Argo CD's. */
static void read_window(reader *r, const value *o, app_window *w) {
  const char *kind = string_at(r, o, "kind", "");
  w->schedule = string_at(r, o, "schedule", NULL);
  const char *duration = string_at(r, o, "duration", NULL), *zone = string_at(r, o, "timeZone", "UTC");
  w->deny = strcmp(kind, "deny") == 0;
  w->duration_s = app_parse_interval(duration);
  w->applications = strings_at(r, o, "applications", &w->napplications);
  w->namespaces = strings_at(r, o, "namespaces", &w->nnamespaces);
  w->clusters = strings_at(r, o, "clusters", &w->nclusters);
  const value *manual = field_of(r, o, "manualSync", V_BOOL, false);
  w->manual_sync = manual && manual->u.b;
  if (!w->deny && strcmp(kind, "allow") != 0)
    diag_error(r->d, o->at, "%s: a sync window's kind is allow or deny, not \"%s\"", r->what, kind);
  if (*w->schedule && !app_cron_parse(w->schedule, &w->cron))
    diag_error(r->d, value_object_get(o, "schedule")->at,
               "%s: \"%s\" is no cron schedule: minute hour day-of-month month day-of-week, as \"0 22 * * 1-5\"",
               r->what, w->schedule);
  if (*duration && w->duration_s <= 0)
    diag_error(r->d, value_object_get(o, "duration")->at, "%s: a sync window's duration is like 30m or 1h, not \"%s\"",
               r->what, duration);
  if (strcmp(zone, "UTC") != 0 && strcmp(zone, "Etc/UTC") != 0)
    diag_error(r->d, value_object_get(o, "timeZone")->at, "%s: sync windows run in UTC; timeZone \"%s\" is not read",
               r->what, zone);
}

static void read_windows(reader *r, const value *spec, app_project *p) {
  const value *ws = field_of(r, spec, "syncWindows", V_LIST, false);
  if (!ws) return;
  p->windows = arena_alloc(r->a, (ws->u.list.len + 1) * sizeof *p->windows);
  for (size_t i = 0; i < ws->u.list.len; i++) {
    const value *o = ws->u.list.items[i];
    if (o->kind != V_OBJECT) {
      diag_error(r->d, o->at, "%s: a sync window must be an object { kind, schedule, duration, ... }", r->what);
      continue;
    }
    p->windows[p->nwindows] = (app_window){0};
    read_window(r, o, &p->windows[p->nwindows++]);
  }
}

static void read_project(reader *r, const value *res, const char *name, app_project *p) {
  const value *spec = field_of(r, res, "spec", V_OBJECT, true);
  *p = (app_project){.name = name, .at = r->at};
  if (!spec) return;
  read_windows(r, spec, p);
  p->sops_secret = read_decryption(r, spec);
  p->subscribe = read_subscribe(r, spec, &p->nsubscribe);
  p->out_of_sync_s = read_out_of_sync(r, spec);
  p->repos = strings_at(r, spec, "sourceRepos", &p->nrepos);
  p->cluster_kinds = strings_at(r, spec, "clusterKinds", &p->ncluster_kinds);
  p->kinds = strings_at(r, spec, "namespaceKinds", &p->nkinds);
  p->denied_kinds = strings_at(r, spec, "deniedKinds", &p->ndenied_kinds);
  const value *ds = field_of(r, spec, "destinations", V_LIST, false);
  if (!ds) return;
  p->destinations = arena_alloc(r->a, (ds->u.list.len + 1) * sizeof *p->destinations);
  for (size_t i = 0; i < ds->u.list.len; i++) {
    const value *d = ds->u.list.items[i];
    if (d->kind != V_OBJECT) {
      diag_error(r->d, d->at, "%s: a destination must be an object { cluster, namespace }", r->what);
      continue;
    }
    p->destinations[p->ndestinations++] = (app_destination){string_at(r, d, "cluster", "*"), string_at(r, d, "namespace", "*")};
  }
}

/* ---- health scripts ------------------------------------------------------- */

static bool is_health(const value *res) { return strcmp(value_object_get(res, "kind")->u.str.s, "Health") == 0; }

/* A reader of res, a definition only the config declares (a Health, an
 * IgnoreDifferences), as "WHAT NAME" at at (else at its name); its spec,
 * NULL (said) without one. */
static const value *config_spec(reader *rd, arena *a, diag_list *d, const char *what, const value *res,
                                const value *at) {
  const value *nv = value_get_path(res, "metadata.name");
  *rd = (reader){a, d, arena_printf(a, "%s %s", what, nv && nv->kind == V_STRING ? nv->u.str.s : ""),
                 kept(a, at ? at->at : nv ? nv->at : res->at)};
  return field_of(rd, res, "spec", V_OBJECT, true);
}

/* One Health: its group and kind, and a script that compiles (as Argo CD
 * names it: "group/Kind", "Kind" for the core group). Two for the same
 * group and kind would leave the choice to their order. Its errors are
 * where its kind was written: health() makes its name itself. */
static void read_health(app_set *s, arena *a, const value *res, diag_list *d) {
  reader r;
  const value *spec = config_spec(&r, a, d, "health", res, value_get_path(res, "spec.kind"));
  if (!spec) return;
  const char *name = r.what + strlen("health ");
  app_health h = {.name = name, .at = r.at};
  h.group = string_at(&r, spec, "group", "");
  h.kind = string_at(&r, spec, "kind", NULL);
  const value *lua = field_of(&r, spec, "lua", V_STRING, true);
  if (!*h.kind || !lua) return;
  const char *key = *h.group ? arena_printf(a, "%s/%s", h.group, h.kind) : h.kind;
  health_lua *script;
  char *err;
  if (health_lua_new(key, lua->u.str.s, lua->u.str.len, &script, &err) != 0) {
    diag_error(d, lua->at, "health %s: the script does not compile: %s", key, err);
    free(err);
    return;
  }
  health_lua_free(script);
  for (size_t i = 0; i < s->nhealths; i++)
    if (strcmp(s->healths[i].group, h.group) == 0 && strcmp(s->healths[i].kind, h.kind) == 0) {
      diag_error(d, r.at, "health %s: %s has a script already, health %s", name, key, s->healths[i].name);
      return;
    }
  h.lua = arena_strndup(a, lua->u.str.s, lua->u.str.len);
  h.lua_len = lua->u.str.len;
  s->healths[s->nhealths++] = h;
}

/* ---- notifiers ------------------------------------------------------------- */

static bool is_notifier(const value *res) { return strcmp(value_object_get(res, "kind")->u.str.s, "Notifier") == 0; }

/* A webhook's body template must make JSON whatever the values: filled
 * with some, it is rendered as it will be. */
static const char *body_error(const char *body) {
  notify_target t = {.name = "check", .type = NOTIFY_WEBHOOK, .url = "", .template = body};
  notify_event ev = {"on-sync-failed", "app", "default", "https://git.example.com/o/r.git", "0123456789abcdef",
                     "Degraded", "a \"quoted\" message", "https://plumb.example.com/"};
  notify_request req;
  const char *why = notify_render(&t, &ev, &req);
  if (!why) notify_request_free(&req);
  return why;
}

static void read_headers(reader *r, const value *spec, app_notifier *n) {
  const value *o = field_of(r, spec, "headers", V_OBJECT, false);
  if (!o) return;
  n->headers = arena_alloc(r->a, (o->u.obj.len + 1) * sizeof *n->headers);
  for (size_t i = 0; i < o->u.obj.len; i++) {
    const field *f = &o->u.obj.fields[i];
    if (f->val->kind != V_STRING || strpbrk(f->key, ": \r\n") || strpbrk(f->val->u.str.s, "\r\n"))
      diag_error(r->d, f->val->at, "%s: header %s must be a name and a string of one line", r->what, f->key);
    else n->headers[n->nheaders++] = arena_printf(r->a, "%s: %s", f->key, f->val->u.str.s);
  }
}

static void read_notifier(app_set *s, arena *a, const value *res, diag_list *d) {
  const value *nv = value_get_path(res, "metadata.name");
  const char *name = arena_strdup(a, nv && nv->kind == V_STRING ? nv->u.str.s : "");
  reader r = {a, d, arena_printf(a, "notifier %s", name), kept(a, nv ? nv->at : res->at)};
  const value *spec = field_of(&r, res, "spec", V_OBJECT, true);
  if (!spec) return;
  app_notifier n = {.name = name, .at = r.at};
  n.type = string_at(&r, spec, "type", NULL);
  const value *sv = value_get_path(spec, "secret"), *uv = value_get_path(spec, "url"), *bv = value_get_path(spec, "body");
  n.secret = sv ? string_at(&r, spec, "secret", "") : NULL;
  n.url = uv ? string_at(&r, spec, "url", "") : NULL;
  n.body = bv ? string_at(&r, spec, "body", "") : NULL;
  read_headers(&r, spec, &n);
  notify_type type;
  const char *why = NULL;
  if (!notify_type_parse(n.type, &type))
    diag_error(d, r.at, "%s: type \"%s\" is none of webhook, slack, teams, github, gitlab and gitea", r.what, n.type);
  else if (!n.secret && !n.url)
    diag_error(d, r.at, "%s: needs a secret (that holds its url or token) or a url", r.what);
  else if (type >= NOTIFY_GITHUB && !n.secret)
    diag_error(d, r.at, "%s: a commit status needs a secret that holds its token", r.what);
  else if (n.body && type != NOTIFY_WEBHOOK)
    diag_error(d, bv->at, "%s: only a webhook's body is a template", r.what);
  else if (n.body && (why = body_error(n.body)))
    diag_error(d, bv->at, "%s: body: %s", r.what, why);
  s->notifiers[s->nnotifiers++] = n;
}

static const app_notifier *find_notifier(const app_notifier *list, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i].name, name) == 0) return &list[i];
  return NULL;
}

/* Each subscription names a notifier of the config. */
static void check_subscriptions(const app_notifier *notifiers, size_t nn, const char *what, const char *name,
                                const char **subs, size_t nsubs, pos at, diag_list *d) {
  for (size_t i = 0; i < nsubs; i++) {
    const char *notifier = strchr(subs[i], '=') + 1;
    if (!find_notifier(notifiers, nn, notifier))
      diag_error(d, at, "%s %s: subscribes to \"%s\", which is no notifier of the config", what, name, notifier);
  }
}

/* Its projects too when they are its own (not a build's, which has the
 * config's). */
static void check_all_subscriptions(const app_set *s, const app_notifier *notifiers, size_t nn, bool projects,
                                    diag_list *d) {
  for (size_t i = 0; i < s->napps; i++)
    check_subscriptions(notifiers, nn, "application", s->apps[i].name, s->apps[i].subscribe, s->apps[i].nsubscribe,
                        s->apps[i].at, d);
  for (size_t i = 0; projects && i < s->nprojects; i++)
    check_subscriptions(notifiers, nn, "project", s->projects[i].name, s->projects[i].subscribe,
                        s->projects[i].nsubscribe, s->projects[i].at, d);
}

/* ---- the set ------------------------------------------------------------- */

/* Anything namespaced from anywhere; nothing cluster-scoped. */
static app_project default_project(void) {
  static const char *const any[] = {"*"};
  static app_destination anywhere[] = {{"*", "*"}};
  return (app_project){.name = "default", .repos = (const char **)any, .nrepos = 1, .destinations = anywhere,
                       .ndestinations = 1, .kinds = (const char **)any, .nkinds = 1};
}

const app_project *app_set_project(const app_set *s, const char *name) {
  for (size_t i = 0; i < s->nprojects; i++)
    if (strcmp(s->projects[i].name, name) == 0) return &s->projects[i];
  return NULL;
}

int app_read_one(const value *res, arena *a, app_def *app, app_project *project, diag_list *d) {
  int errors = d->errors;
  const value *nv = value_get_path(res, "metadata.name");
  const char *name = arena_strdup(a, nv && nv->kind == V_STRING ? nv->u.str.s : "");
  bool is_app = strcmp(value_object_get(res, "kind")->u.str.s, "Application") == 0;
  /* The name was written where the definition was made; the resource
   * itself may come from a template in the standard library. */
  reader rd = {a, d, arena_printf(a, "%s %s", is_app ? "application" : "project", name), kept(a, nv ? nv->at : res->at)};
  if (is_app) read_app(&rd, res, name, app);
  else read_project(&rd, res, name, project);
  return d->errors - errors;
}

/* An IgnoreDifferences definition: its spec.rules, for every application. */
static void read_global_ignores(app_set *s, arena *a, const value *res, diag_list *d) {
  reader rd;
  const value *spec = config_spec(&rd, a, d, "ignore rules", res, NULL);
  app_ignore *rules = NULL;
  size_t n = 0;
  if (spec) read_ignores(&rd, spec, "rules", &rules, &n);
  for (size_t i = 0; i < n; i++) {
    s->ignore = arena_room_for_one(a, s->ignore, s->nignore, sizeof *s->ignore);
    s->ignore[s->nignore++] = rules[i];
  }
}

/* Every definition among r's resources, as they are written. */
static void read_definitions(app_set *s, arena *a, const compile_result *r, diag_list *d) {
  *s = (app_set){0};
  s->apps = arena_alloc(a, (r->nres + 1) * sizeof *s->apps);
  s->projects = arena_alloc(a, (r->nres + 2) * sizeof *s->projects);
  s->healths = arena_alloc(a, (r->nres + 1) * sizeof *s->healths);
  s->notifiers = arena_alloc(a, (r->nres + 1) * sizeof *s->notifiers);
  for (size_t i = 0; i < r->nres; i++) {
    const value *res = r->res[i].obj;
    if (!app_is_definition(res)) continue;
    if (is_health(res)) {
      read_health(s, a, res, d);
      continue;
    }
    if (is_notifier(res)) {
      read_notifier(s, a, res, d);
      continue;
    }
    /* The compiler has refused two definitions of one name already. */
    const char *kind = value_object_get(res, "kind")->u.str.s;
    if (strcmp(kind, "IgnoreDifferences") == 0) {
      read_global_ignores(s, a, res, d);
      continue;
    }
    bool is_app = strcmp(kind, "Application") == 0;
    app_read_one(res, a, &s->apps[s->napps], &s->projects[s->nprojects], d);
    if (is_app) s->napps++;
    else s->nprojects++;
  }
}

/* The applications of a set by name, for the walk of their dependencies. */
typedef struct {
  const char *name;
  size_t i;
} named;

static int by_named(const void *a, const void *b) { return strcmp(((const named *)a)->name, ((const named *)b)->name); }

typedef struct {
  const app_set *s;
  named *index;
  unsigned char *state; /* 0 not seen, 1 on the path walked, 2 done */
  size_t *path, depth;
  diag_list *d;
} dep_walk;

static const named *find_named(const dep_walk *w, const char *name) {
  named key = {name, 0};
  return bsearch(&key, w->index, w->s->napps, sizeof *w->index, by_named);
}

/* Depth first from app i: an application met again on the path walked
 * closes a circle, said once, at the first of it to name the next. */
static void walk_dependencies(dep_walk *w, size_t i) {
  const app_def *a = &w->s->apps[i];
  w->state[i] = 1;
  w->path[w->depth++] = i;
  for (size_t k = 0; k < a->ndepends_on; k++) {
    const named *n = find_named(w, a->depends_on[k]);
    if (!n) {
      diag_error(w->d, a->depends_at, "application %s: depends on \"%s\", which is no application here", a->name,
                 a->depends_on[k]);
    } else if (w->state[n->i] == 1) {
      size_t from = w->depth;
      while (w->path[from - 1] != n->i) from--;
      buf circle = {0};
      for (size_t j = from - 1; j < w->depth; j++) buf_printf(&circle, "%s -> ", w->s->apps[w->path[j]].name);
      buf_puts(&circle, n->name);
      const app_def *first = &w->s->apps[w->path[from - 1]];
      diag_error(w->d, first->depends_at, "application %s: its dependencies go round: %s", first->name, circle.data);
      buf_free(&circle);
    } else if (w->state[n->i] == 0) {
      walk_dependencies(w, n->i);
    }
  }
  w->depth--;
  w->state[i] = 2;
}

/* Every dependency is an application of the set, and none depends on
 * itself, however far round. */
static void check_dependencies(const app_set *s, diag_list *d) {
  dep_walk w = {s, heap_calloc(s->napps + 1, sizeof *w.index), heap_calloc(s->napps + 1, 1),
                heap_calloc(s->napps + 1, sizeof *w.path), 0, d};
  for (size_t i = 0; i < s->napps; i++) w.index[i] = (named){s->apps[i].name, i};
  qsort(w.index, s->napps, sizeof *w.index, by_named);
  for (size_t i = 0; i < s->napps; i++)
    if (!w.state[i]) walk_dependencies(&w, i);
  free(w.index), free(w.state), free(w.path);
}

static void check_projects(const app_set *s, diag_list *d) {
  for (size_t i = 0; i < s->napps; i++)
    if (!app_set_project(s, s->apps[i].project))
      diag_error(d, s->apps[i].project_at, "application %s: project \"%s\" is not defined", s->apps[i].name, s->apps[i].project);
}

int app_set_read(app_set *s, arena *a, const compile_result *r, diag_list *d) {
  int errors = d->errors;
  read_definitions(s, a, r, d);
  if (!app_set_project(s, "default")) s->projects[s->nprojects++] = default_project();
  check_projects(s, d);
  check_dependencies(s, d);
  check_all_subscriptions(s, s->notifiers, s->nnotifiers, true, d);
  return d->errors - errors;
}

int app_set_read_children(app_set *s, arena *a, const compile_result *r, const app_set *config, const char *parent,
                          diag_list *d) {
  int errors = d->errors;
  read_definitions(s, a, r, d);
  /* Who may push to an application's repository must not widen what
   * applications may do. */
  for (size_t i = 0; i < s->nprojects; i++)
    diag_error(d, s->projects[i].at, "project %s: projects may be declared only in the config repository",
               s->projects[i].name);
  if (s->nignore)
    diag_error(d, (pos){0}, "ignore rules for every application may be declared only in the config repository");
  s->nignore = 0;
  /* Nor the health of every object of a kind. */
  for (size_t i = 0; i < s->nhealths; i++)
    diag_error(d, s->healths[i].at, "health %s: health scripts may be declared only in the config repository",
               s->healths[i].name);
  s->nhealths = 0;
  /* Nor where notifications go, with the config's credentials. */
  for (size_t i = 0; i < s->nnotifiers; i++)
    diag_error(d, s->notifiers[i].at, "notifier %s: notifiers may be declared only in the config repository",
               s->notifiers[i].name);
  s->nnotifiers = 0;
  s->projects = config->projects;
  s->nprojects = config->nprojects;
  parent = arena_strdup(a, parent);
  for (size_t i = 0; i < s->napps; i++) s->apps[i].parent = parent;
  check_projects(s, d);
  check_dependencies(s, d);
  check_all_subscriptions(s, config->notifiers, config->nnotifiers, false, d);
  return d->errors - errors;
}

static bool same_string(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

static bool same_pos(pos a, pos b) { return same_string(a.file, b.file) && a.line == b.line && a.col == b.col; }

bool app_def_equal(const app_def *a, const app_def *b) {
  const char *const sa[] = {a->name,    a->project, a->repo,      a->revision, a->path,
                            a->env,     a->cluster, a->namespace, a->parent,   a->object,
                            a->directory.include, a->directory.exclude, a->chart, a->values, a->release, a->cascade,
                            a->namespace_metadata, a->field_manager, a->sops_secret};
  const char *const sb[] = {b->name,    b->project, b->repo,      b->revision, b->path,
                            b->env,     b->cluster, b->namespace, b->parent,   b->object,
                            b->directory.include, b->directory.exclude, b->chart, b->values, b->release, b->cascade,
                            b->namespace_metadata, b->field_manager, b->sops_secret};
  for (size_t i = 0; i < sizeof sa / sizeof *sa; i++)
    if (!same_string(sa[i], sb[i])) return false;
  if (a->automated != b->automated || a->prune != b->prune || a->self_heal != b->self_heal ||
      a->directory.recurse != b->directory.recurse ||
      a->allow_empty != b->allow_empty || a->interval_s != b->interval_s || a->ncredentials != b->ncredentials ||
      a->nargs != b->nargs || !same_pos(a->at, b->at) || !same_pos(a->project_at, b->project_at) ||
      a->ndepends_on != b->ndepends_on || a->wave != b->wave || a->retry_limit != b->retry_limit ||
      a->nsync_options != b->nsync_options || a->nignore != b->nignore || a->nsubscribe != b->nsubscribe ||
      a->out_of_sync_s != b->out_of_sync_s ||
      a->retry_s != b->retry_s || a->retry_factor != b->retry_factor || a->retry_max_s != b->retry_max_s)
    return false;
  for (size_t i = 0; i < a->ndepends_on; i++)
    if (!same_string(a->depends_on[i], b->depends_on[i])) return false;
  for (size_t i = 0; i < a->nsync_options; i++)
    if (!same_string(a->sync_options[i], b->sync_options[i])) return false;
  for (size_t i = 0; i < a->nsubscribe; i++)
    if (!same_string(a->subscribe[i], b->subscribe[i])) return false;
  for (size_t i = 0; i < a->nignore; i++) {
    const app_ignore *x = &a->ignore[i], *y = &b->ignore[i];
    if (!same_string(x->group, y->group) || !same_string(x->kind, y->kind) || !same_string(x->name, y->name) ||
        !same_string(x->namespace, y->namespace) || x->npaths != y->npaths || x->nmanagers != y->nmanagers)
      return false;
    for (size_t k = 0; k < x->npaths; k++)
      if (!same_string(x->paths[k], y->paths[k])) return false;
    for (size_t k = 0; k < x->nmanagers; k++)
      if (!same_string(x->managers[k], y->managers[k])) return false;
  }
  for (size_t i = 0; i < a->nargs; i++)
    if (!same_string(a->args[i], b->args[i])) return false;
  for (size_t i = 0; i < a->ncredentials; i++)
    if (!same_string(a->credentials[i].key, b->credentials[i].key) ||
        !same_string(a->credentials[i].value, b->credentials[i].value))
      return false;
  return true;
}

/* ---- what a project permits ------------------------------------------------ */

static bool matches_any(const char *const *patterns, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (fnmatch(patterns[i], s, 0) == 0) return true;
  return false;
}

const char *app_check_source(const app_project *p, const app_def *app, arena *a) {
  if (!matches_any(p->repos, p->nrepos, app->repo))
    return arena_printf(a, "project %s does not allow the repository %s", p->name, app->repo);
  return NULL;
}

/* "Kind" patterns match any group; "group/Kind" one group ("" the core). */
static bool kind_matches(const char *const *patterns, size_t n, const char *group, const char *kind) {
  for (size_t i = 0; i < n; i++) {
    const char *slash = strchr(patterns[i], '/');
    if (!slash) {
      if (fnmatch(patterns[i], kind, 0) == 0) return true;
      continue;
    }
    char g[256];
    snprintf(g, sizeof g, "%.*s", (int)(slash - patterns[i]), patterns[i]);
    if (fnmatch(g, group, 0) == 0 && fnmatch(slash + 1, kind, 0) == 0) return true;
  }
  return false;
}

const char *app_check_object(const app_project *p, const app_def *app, const char *api_version, const char *kind,
                             const char *ns, arena *a) {
  const char *slash = strchr(api_version, '/');
  const char *group = slash ? arena_printf(a, "%.*s", (int)(slash - api_version), api_version) : "";
  const char *gk = *group ? arena_printf(a, "%s/%s", group, kind) : kind;
  if (!ns) {
    if (!kind_matches(p->cluster_kinds, p->ncluster_kinds, group, kind))
      return arena_printf(a, "project %s does not allow the cluster-scoped kind %s", p->name, gk);
  } else if (!kind_matches(p->kinds, p->nkinds, group, kind) ||
             kind_matches(p->denied_kinds, p->ndenied_kinds, group, kind)) {
    return arena_printf(a, "project %s does not allow the kind %s", p->name, gk);
  }
  for (size_t i = 0; i < p->ndestinations; i++)
    if (fnmatch(p->destinations[i].cluster, app->cluster, 0) == 0 &&
        (!ns || fnmatch(p->destinations[i].namespace, ns, 0) == 0))
      return NULL;
  if (ns) return arena_printf(a, "project %s does not allow the destination %s, namespace %s", p->name, app->cluster, ns);
  return arena_printf(a, "project %s does not allow the destination %s", p->name, app->cluster);
}
