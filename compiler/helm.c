/* helm.c: Helm charts, rendered by helm itself (see helm.h).
 *
 * Why helm rather than a reading of charts of plumb's own: a chart is Go
 * templates with Sprig, tpl, subcharts, library charts and a JSON schema
 * of its values, whose every corner users know from helm; Argo CD's
 * repository server renders one by running `helm template`, and so does
 * plumb. The build stays hermetic all the same: the chart is read through
 * the loader (inside the root, bounded, from a git tree as from disk) and
 * written into a scratch directory that is all helm sees, with an
 * environment of nothing but that directory (tool.h); values come from
 * the repository and the build, never from the machine, and `lookup`
 * finds nothing, as helm template has no cluster.
 *
 * A chart is rendered twice, by two helms at once. One that generates
 * values (randAlphaNum, genCA) renders otherwise each time, which the
 * runtime would take for drift on every pass: two renders that differ
 * are an error that names what differs, unless random: "keep-live" marks
 * the fields that differ for the runtime to keep as the cluster has them
 * (an annotation of JSON pointers, COMPILE_KEEP_LIVE in compile.h); a
 * resource named otherwise each time stays an error, as a name kept live
 * would be another object at every pass. Hooks (helm.sh/hook) that a
 * phase runs (pre- and post-install and upgrade, around a sync; pre- and
 * post-delete, around the deletion of the application) stay, for the
 * runtime to run in their phase (runtime/apply/hooks.c); the others (a
 * test) are left out, with a warning: applied as ordinary objects they
 * would run at the wrong time, on every change.
 *
 * Positions: helm's output names the template of each document ("#
 * Source: web/templates/deployment.yaml"). The documents of one template
 * are read as one file, named for the template and the release
 * ("charts/web/templates/deployment.yaml (release web)"), whose lines are
 * those of the rendered text, which a message quotes; every resource is
 * tagged with the chart and its version, which plumb explain shows. What
 * the chart was rendered with is remembered for plumb explain to name the
 * values that fed a field (helmvalues.h). */
#include "helm.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plumb/explain.h"
#include "plumb/yaml.h"
#include "archive.h"
#include "helmvalues.h"
#include "lock.h"
#include "renders.h"
#include "sha256.h"
#include "sops.h"
#include "suggest.h"
#include "plumb/tool.h"
#include "validate.h"

enum {
  HELM_SECONDS = 60,          /* of wall clock, and of CPU time, per render */
  HELM_MAX_OUTPUT = 64 << 20, /* bytes a render may write */
  HELM_MAX_ERRORS = 16 << 10, /* bytes of helm's messages kept */
  HELM_MAX_RELEASE = 53,      /* Helm's bound on a release name */
  HELM_MAX_DIFFS = 8,         /* fields a message on differing renders names */
};
#define HELM_MEMORY ((size_t)1 << 30) /* bytes of data helm may use */

#define HOOK "helm.sh/hook"
#define MISSING_DEPS "found in Chart.yaml, but missing in charts/ directory: "

typedef struct {
  const char *release, *namespace, *kube_version;
  const value *chart, *version; /* of a chart of a repository */
  value *values;                            /* an object, or NULL */
  const value *values_files, *api_versions; /* lists of strings, or NULL */
  bool include_crds;
  bool keep_live; /* random: "keep-live" */
} chart_opts;

/* A file helm is given: of the chart (chart/...) or of values (values/...). */
typedef helm_file given;

/* One chart being rendered. */
typedef struct {
  eval *ev;
  pos at;                     /* the call, or the directory built */
  const char *dir;            /* root-relative */
  const char *name, *version; /* Chart.yaml's, for messages and explain */
  const char *via;            /* the tag of its resources */
  const chart_opts *o;
  given *files; /* nfiles of them, written into the scratch directory */
  size_t nfiles;
  const char *scratch;
  const char *arg; /* the chart as helm is given it: "chart", or "chart.tgz" */
  const char **values_names; /* of values_files, as the repository names them */
  /* The texts of the values decrypted from values files SOPS encrypted
   * (sops.h), to be found again in what helm renders: a render given any
   * is kept in no cache, no message quotes its templates' lines, and its
   * fields that hold one are marked decrypted. */
  const char **secrets;
  size_t nsecrets;
} chart;

static arena *ar(const chart *c) { return eval_arena(c->ev); }

static void give(chart *c, const char *name, const char *text, size_t len) {
  c->files = arena_room_for_one(ar(c), c->files, c->nfiles, sizeof *c->files);
  c->files[c->nfiles++] = (given){name, text, len};
}

/* dir/rel, or rel for the root. */
static const char *in_dir(arena *a, const char *dir, const char *rel) {
  return *dir ? arena_printf(a, "%s/%s", dir, rel) : rel;
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* The release a chart's directory names by default, as Argo CD names one
 * after its application: the directory's name made a release name (lower
 * case, '-' for what a name may not hold, at most HELM_MAX_RELEASE
 * bytes); "release" for the root. */
static const char *release_of(arena *a, const char *dir) {
  const char *base = base_name(dir);
  char *name = arena_strndup(a, base, strnlen(base, HELM_MAX_RELEASE));
  for (char *p = name; *p; p++) {
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-.", *p)) *p = '-';
  }
  while (*name && !strchr("abcdefghijklmnopqrstuvwxyz0123456789", *name)) name++;
  for (size_t n = strlen(name); n && !strchr("abcdefghijklmnopqrstuvwxyz0123456789", name[n - 1]); n--)
    name[n - 1] = '\0';
  return *name ? name : "release";
}

bool helm_is_chart(loader *l, const char *dir) {
  arena *a = arena_new();
  const char *text, *err;
  size_t len;
  bool is = loader_read(l, in_dir(a, dir, "Chart.yaml"), &text, &len, &err) == 0;
  arena_free(a);
  return is;
}

/* ---- the chart's files ------------------------------------------------------ */

/* Its name and version, from Chart.yaml, which must be there; a Chart.yaml
 * helm cannot read is helm's to report. */
static bool read_metadata(chart *c) {
  const char *name = in_dir(ar(c), c->dir, "Chart.yaml"), *text, *err;
  size_t len;
  if (loader_read(eval_loader(c->ev), name, &text, &len, &err) != 0) {
    eval_fail(c->ev, c->at, "helm_chart: %s is no chart, which holds a Chart.yaml: %s", *c->dir ? c->dir : ".", err);
    return false;
  }
  diag_list quiet;
  diag_init(&quiet, ar(c));
  value *docs = NULL;
  const value *meta =
      yaml_read(ar(c), &quiet, name, text, len, &docs) == 0 && docs->u.list.len ? docs->u.list.items[0] : NULL;
  const char *n = meta ? value_get_string(meta, "name") : NULL, *v = meta ? value_get_string(meta, "version") : NULL;
  c->name = n ? n : base_name(c->dir);
  c->version = v ? v : "";
  c->via = arena_printf(ar(c), "chart %s%s%s", c->name, *c->version ? " " : "", c->version);
  return true;
}

/* Every file of the chart, to be helm's chart/, as the walk of a YAML
 * directory reads them (inside the root, its links followed there,
 * bounded), at most COMPILE_MAX_CHART bytes in all. */
static bool read_chart(chart *c) {
  loader *l = eval_loader(c->ev);
  const char **names, *text, *err;
  size_t len, total = 0, skip = *c->dir ? strlen(c->dir) + 1 : 0;
  int n = loader_walk(l, c->dir, true, &names, &err);
  if (n < 0) return eval_fail(c->ev, c->at, "helm_chart: %s", err), false;
  for (int i = 0; i < n; i++) {
    if (loader_read(l, names[i], &text, &len, &err) != 0) return eval_fail(c->ev, c->at, "helm_chart: %s", err), false;
    if ((total += len) > COMPILE_MAX_CHART) {
      eval_fail(c->ev, c->at, "helm_chart: chart %s holds more than %d MiB of files, Helm's bound on a chart", c->name,
                COMPILE_MAX_CHART >> 20);
      return false;
    }
    if (!eval_charge(c->ev, c->at, len / SCAN_BYTES + 1)) return false;
    give(c, arena_printf(ar(c), "chart/%s", names[i] + skip), text, len);
  }
  return true;
}

/* The files helm is given, in the scratch directory. */
static bool write_files(chart *c) {
  const char *err;
  for (size_t i = 0; i < c->nfiles; i++)
    if (tool_scratch_write(ar(c), c->scratch, c->files[i].name, c->files[i].text, c->files[i].len, &err) != 0)
      return eval_fail(c->ev, c->at, "helm_chart: %s", err), false;
  return true;
}

/* ---- helm's command line -------------------------------------------------------- */

typedef struct {
  char **items;
  size_t n;
} args;

static void add(arena *a, args *v, const char *arg) {
  v->items = arena_room_for_one(a, v->items, v->n, sizeof *v->items);
  v->items[v->n++] = (char *)arg;
}

/* Keeps the text of every decrypted value of v. */
static void keep_secrets(chart *c, const value *v) {
  size_t n = v->kind == V_LIST ? v->u.list.len : v->kind == V_OBJECT ? v->u.obj.len : 0;
  for (size_t i = 0; i < n; i++) keep_secrets(c, v->kind == V_LIST ? v->u.list.items[i] : v->u.obj.fields[i].val);
  buf b = {0};
  if (!v->secret || !value_put_text(&b, v)) return;
  c->secrets = arena_room_for_one(ar(c), c->secrets, c->nsecrets, sizeof *c->secrets);
  c->secrets[c->nsecrets++] = arena_strndup(ar(c), b.data ? b.data : "", b.len);
  if (b.data) explicit_bzero(b.data, b.len);
  buf_free(&b);
}

/* The values of a file SOPS encrypted, decrypted, as JSON text (which
 * helm reads as YAML); NULL after reporting. */
static const char *decrypted_values(chart *c, const char *name, const char *text, size_t *len) {
  value *docs;
  if (yaml_read(ar(c), eval_diags(c->ev), name, text, *len, &docs) < 0 ||
      !(docs = sops_docs(c->ev, name, text, *len, docs)))
    return NULL;
  value *doc = docs->u.list.len ? docs->u.list.items[0] : value_object(ar(c), c->at);
  keep_secrets(c, doc);
  const value *json = builtin_to_json(c->ev, c->at, "helm_chart", doc);
  if (!json) return NULL;
  *len = json->u.str.len;
  return json->u.str.s;
}

/* The values files, each -f in the order given, then the values object
 * as the last: Helm merges the chart's values.yaml first, then each file
 * in turn. Paths are relative to the calling file, as file()'s. */
static bool add_values(chart *c, args *v) {
  arena *a = ar(c);
  size_t n = c->o->values_files ? c->o->values_files->u.list.len : 0;
  for (size_t i = 0; i < n; i++) {
    const value *p = c->o->values_files->u.list.items[i];
    const char *name, *text, *to = arena_printf(a, "values/%zu.yaml", i);
    size_t len;
    if (!eval_read_source(c->ev, c->at, "helm_chart", p->u.str.s, &name, &text, &len)) return false;
    bool encrypted = sops_text_encrypted(c->ev, name, text, len);
    if (encrypted && !(text = decrypted_values(c, name, text, &len))) return false;
    give(c, to, text, len);
    c->values_names = arena_room_for_one(a, c->values_names, i, sizeof *c->values_names);
    c->values_names[i] = encrypted ? NULL : name;
    add(a, v, arena_printf(a, "--values=%s", to));
  }
  if (!c->o->values) return true;
  const value *json = builtin_to_json(c->ev, c->o->values->at, "helm_chart", c->o->values);
  if (!json) return false;
  give(c, "values/plumb.json", json->u.str.s, json->u.str.len);
  add(a, v, "--values=values/plumb.json");
  return true;
}

/* `helm template` of the chart: each option as --flag=VALUE, and the
 * release after --, so that nothing given is ever read as a flag. */
static char **command(chart *c, const char *helm) {
  arena *a = ar(c);
  args v = {0};
  add(a, &v, helm);
  add(a, &v, "template");
  add(a, &v, arena_printf(a, "--namespace=%s", c->o->namespace));
  add(a, &v, arena_printf(a, "--kube-version=%s", c->o->kube_version));
  for (size_t i = 0; c->o->api_versions && i < c->o->api_versions->u.list.len; i++)
    add(a, &v, arena_printf(a, "--api-versions=%s", c->o->api_versions->u.list.items[i]->u.str.s));
  if (c->o->include_crds) add(a, &v, "--include-crds");
  if (!add_values(c, &v)) return NULL;
  add(a, &v, "--");
  add(a, &v, c->o->release);
  add(a, &v, c->arg);
  add(a, &v, NULL);
  return v.items;
}

/* Nothing of the machine: helm's homes are in the scratch directory,
 * which holds no repositories, plugins or registry logins, and there is
 * no kubeconfig, proxy or PATH. */
static char **environment(chart *c) {
  arena *a = ar(c);
  const char *s = c->scratch;
  char **env = arena_alloc(a, 7 * sizeof *env);
  env[0] = arena_printf(a, "HOME=%s", s);
  env[1] = arena_printf(a, "HELM_CACHE_HOME=%s/cache", s);
  env[2] = arena_printf(a, "HELM_CONFIG_HOME=%s/config", s);
  env[3] = arena_printf(a, "HELM_DATA_HOME=%s/data", s);
  env[4] = arena_printf(a, "TMPDIR=%s", s);
  env[5] = "LANG=C";
  return env;
}

/* helm on the caller's PATH, looked for only when a build renders a
 * chart; NULL after saying how to get it. */
static const char *find_helm(chart *c) {
  const compile_opts *o = eval_opts(c->ev);
  if (!o)
    return eval_fail(
               c->ev, c->at,
               "helm_chart: charts are rendered by a build (plumb build, check, explain, diff, apply, run), not here"),
           NULL;
  const char *helm = o->helm.path ? tool_find(ar(c), o->helm.path, "helm") : NULL;
  if (!helm)
    eval_fail(c->ev, c->at,
              "helm_chart: plumb renders charts with helm, which is not on the PATH: install helm v4 "
              "(https://helm.sh/docs/intro/install/)");
  return helm;
}

/* ---- what helm said --------------------------------------------------------------- */

/* The file of the chart given helm as name, or NULL. */
static const given *chart_file(const chart *c, const char *name) {
  for (size_t i = 0; i < c->nfiles; i++)
    if (strcmp(c->files[i].name, name) == 0) return &c->files[i];
  return NULL;
}

/* The first template position helm's message names (CHART/templates/
 * x.yaml:6:15, or :6 alone), as a position in the repository: a note
 * there quotes the template. Only a file of the chart is quoted (not one
 * of a subchart's archive, nor what a message a template makes up names
 * beyond the chart). */
static void note_template(chart *c, const char *msg) {
  size_t prefix = strlen(c->name);
  for (const char *p = strstr(msg, c->name); p; p = strstr(p + 1, c->name)) {
    if (p[prefix] != '/' || (p > msg && !strchr(" (\"", p[-1]))) continue;
    size_t n = strcspn(p, " :()\"");
    int line = 0, col = 1;
    if (p[n] != ':' || sscanf(p + n, ":%d:%d", &line, &col) < 1 || line <= 0) continue;
    const char *rel = arena_strndup(ar(c), p + prefix + 1, n - prefix - 1);
    const given *f = chart_file(c, arena_printf(ar(c), "chart/%s", rel));
    if (!f) return;
    const char *name = in_dir(ar(c), c->dir, rel);
    diag_add_source(eval_diags(c->ev), name, f->text, f->len);
    diag_note(eval_diags(c->ev), (pos){name, line, col > 0 ? col : 1}, "the template helm names");
    return;
  }
}

/* The value at the JSON pointer ptr ("/a/0/b", RFC 6901) in v, or NULL. */
static const value *at_pointer(arena *a, const value *v, const char *ptr) {
  while (v && *ptr == '/') {
    size_t n = strcspn(++ptr, "/");
    buf key = {0};
    for (size_t i = 0; i < n; i++)
      if (ptr[i] == '~' && i + 1 < n && (ptr[i + 1] == '0' || ptr[i + 1] == '1')) buf_putc(&key, ptr[++i] == '0' ? '~' : '/');
      else buf_putc(&key, ptr[i]);
    const char *k = arena_strndup(a, key.data ? key.data : "", key.len);
    buf_free(&key);
    char *end;
    long i = strtol(k, &end, 10);
    v = v->kind == V_OBJECT                                                        ? value_object_get(v, k)
        : v->kind == V_LIST && *k && !*end && i >= 0 && (size_t)i < v->u.list.len ? v->u.list.items[i]
                                                                                  : NULL;
    ptr += n;
  }
  return *ptr ? NULL : v;
}

/* The position of ptr in the values file f (YAML), or NULL. */
static const value *in_values_file(chart *c, const char *name, const given *f, const char *ptr) {
  diag_list quiet;
  diag_init(&quiet, ar(c));
  value *docs;
  if (yaml_read(ar(c), &quiet, name, f->text, f->len, &docs) < 0 || !docs->u.list.len) return NULL;
  const value *v = at_pointer(ar(c), docs->u.list.items[0], ptr);
  if (v) diag_add_source(eval_diags(c->ev), name, f->text, f->len);
  return v;
}

/* A note at the value values.schema.json refuses ("at '/replicas'" in
 * helm's message), where Helm took it from: the last of the call's
 * values, its values files and the chart's values.yaml that sets it.
 * False when the message names none, or none sets it. */
static bool note_schema(chart *c, const char *msg) {
  const char *at = strstr(msg, "specifications of the schema") ? strstr(msg, "at '/") : NULL;
  if (!at) return false;
  at += 4;
  const char *ptr = arena_strndup(ar(c), at, strcspn(at, "'"));
  const value *v = c->o->values ? at_pointer(ar(c), c->o->values, ptr) : NULL;
  size_t n = c->o->values_files ? c->o->values_files->u.list.len : 0;
  for (size_t i = n; !v && i-- > 0;) {
    const given *f = chart_file(c, arena_printf(ar(c), "values/%zu.yaml", i));
    if (f && c->values_names[i]) v = in_values_file(c, c->values_names[i], f, ptr);
  }
  const given *own = v || !c->dir || strcmp(c->arg, "chart") ? NULL : chart_file(c, "chart/values.yaml");
  if (own) v = in_values_file(c, in_dir(ar(c), c->dir, "values.yaml"), own, ptr);
  if (v) diag_note(eval_diags(c->ev), v->at, "the value the chart's values.schema.json refuses");
  return v != NULL;
}

/* Why a render failed, said at the call; false. */
/* msg with each decrypted value of 4 bytes or more in it said so. */
static const char *scrubbed(chart *c, const char *msg) {
  for (size_t i = 0; i < c->nsecrets; i++) {
    size_t k = strlen(c->secrets[i]);
    for (char *p; k >= 4 && (p = strstr(msg, c->secrets[i]));)
      msg = arena_printf(ar(c), "%.*s(a decrypted value)%s", (int)(p - msg), msg, p + k);
  }
  return msg;
}

static bool report_failure(chart *c, const tool_result *r) {
  eval *ev = c->ev;
  const char *msg = scrubbed(c, tool_said(ar(c), &r->err)), *missing = strstr(msg, MISSING_DEPS);
  switch (r->end) {
  case TOOL_NOT_RUN: eval_fail(ev, c->at, "helm_chart: cannot run helm: %s", strerror(r->status)); break;
  case TOOL_TIMED_OUT:
    eval_fail(ev, c->at, "helm_chart: helm did not render chart %s within %d seconds: does a template loop?", c->name,
              r->limits.wall);
    break;
  case TOOL_TOO_MUCH:
    eval_fail(ev, c->at, "helm_chart: chart %s renders more than %zu MiB; a chart may render at most that", c->name,
              r->limits.output >> 20);
    break;
  case TOOL_SIGNALLED:
    eval_fail(
        ev, c->at, "helm_chart: helm was stopped rendering chart %s: %s", c->name,
        r->status == SIGXCPU || r->status == SIGKILL
            ? arena_printf(ar(c), "it used more than %d seconds of CPU time; does a template loop?", r->limits.cpu)
            : arena_printf(ar(c), "signal %d", r->status));
    break;
  case TOOL_EXITED:
    if (strstr(msg, "out of memory"))
      eval_fail(ev, c->at, "helm_chart: helm ran out of memory rendering chart %s: it may use %zu MiB", c->name,
                r->limits.memory >> 20);
    else if (missing)
      eval_fail(ev, c->at,
                "helm_chart: chart %s depends on %s, which its charts/ directory does not hold: plumb fetches no "
                "chart, so vendor them (helm dependency build %s, then commit %s)",
                c->name, missing + strlen(MISSING_DEPS), *c->dir ? c->dir : ".", in_dir(ar(c), c->dir, "charts"));
    else {
      eval_fail(ev, c->at, "helm_chart: helm template of chart %s failed: %s", c->name, msg);
      if (!note_schema(c, msg)) note_template(c, msg);
    }
    break;
  }
  return false;
}

/* ---- its output ------------------------------------------------------------------------- */

/* A document of the output, and the template it came from. */
typedef struct {
  const char *source, *text;
  size_t len, seq;
} piece;

static int by_source(const void *pa, const void *pb) {
  const piece *x = pa, *y = pb;
  int c = strcmp(x->source, y->source);
  return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The start of the line after the one at p. */
static const char *next_line(const char *p, const char *end) {
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  return nl ? nl + 1 : end;
}

/* Whether the line at p opens a document: "---" alone, or before a space. */
static bool separator(const char *p, const char *end) {
  return end - p >= 3 && strncmp(p, "---", 3) == 0 && (end - p == 3 || strchr(" \t\r\n", p[3]));
}

/* The output's documents, each with the template its "# Source:" line
 * names (that of the one before, for one without). */
static piece *split(chart *c, const char *text, size_t len, size_t *n) {
  const char *p = text, *end = text + len, *source = "";
  piece *pieces = NULL;
  *n = 0;
  while (p < end) {
    if (separator(p, end)) p = next_line(p, end);
    const char *start = p;
    while (p < end && !separator(p, end)) p = next_line(p, end);
    if (end - start > 10 && strncmp(start, "# Source: ", 10) == 0)
      source = arena_strndup(ar(c), start + 10, strcspn(start + 10, "\n"));
    pieces = arena_room_for_one(ar(c), pieces, *n, sizeof *pieces);
    pieces[*n] = (piece){source, start, (size_t)(p - start), *n};
    ++*n;
  }
  return pieces;
}

/* The words after a template's path that make the name its rendered
 * documents stand in. */
static const char *release_words(chart *c) { return arena_printf(ar(c), " (release %s)", c->o->release); }

/* Where the documents of a template stand: the template's path in the
 * repository (its chart's name, which helm's path starts with, is the
 * chart's directory), for this release. */
static const char *rendered_name(chart *c, const char *source) {
  const char *slash = strchr(source, '/');
  const char *rel = slash ? slash + 1 : source;
  return arena_printf(ar(c), "%s%s", in_dir(ar(c), c->dir, *rel ? rel : "templates"), release_words(c));
}

/* The template a resource was rendered from, as its path in the
 * repository. */
static const char *template_of(chart *c, const value *res) {
  const char *name = res->at.file;
  return arena_strndup(ar(c), name, strlen(name) - strlen(release_words(c)));
}

/* The resources of one template's documents, read as one file of name. */
static bool read_template(chart *c, diag_list *d, const char *name, const piece *p, size_t n, value *out) {
  buf text = {0};
  for (size_t i = 0; i < n; i++) {
    if (i) buf_puts(&text, "---\n");
    buf_put(&text, p[i].text, p[i].len);
  }
  const char *kept = arena_strndup(ar(c), text.data ? text.data : "", text.len);
  size_t len = text.len;
  buf_free(&text);
  if (!c->nsecrets) diag_add_source(d, name, kept, len);
  value *docs, *res;
  if (yaml_read(ar(c), d, name, kept, len, &docs) < 0 || !(res = builtin_resources_of(c->ev, "helm_chart", name, docs)))
    return false;
  for (size_t i = 0; i < res->u.list.len; i++) value_list_push(ar(c), out, res->u.list.items[i]);
  return true;
}

/* The resources of a render's output, in the order of their templates'
 * names; NULL after reporting into d. */
static value *read_output(chart *c, diag_list *d, const buf *out) {
  if (!eval_charge(c->ev, c->at, out->len / SCAN_BYTES + 1)) return NULL;
  size_t n;
  piece *pieces = split(c, out->data ? out->data : "", out->len, &n);
  if (n) qsort(pieces, n, sizeof *pieces, by_source);
  value *res = value_list(ar(c), c->at);
  for (size_t i = 0, j; i < n; i = j) {
    for (j = i + 1; j < n && strcmp(pieces[j].source, pieces[i].source) == 0; j++) continue;
    if (!read_template(c, d, rendered_name(c, pieces[i].source), pieces + i, j - i, res)) return NULL;
  }
  return res;
}

/* ---- hooks ------------------------------------------------------------------------------ */

static const char *hook_of(const value *res) {
  const value *notes = value_get_path(res, "metadata.annotations");
  const value *h = notes && notes->kind == V_OBJECT ? value_object_get(notes, HOOK) : NULL;
  return h && h->kind == V_STRING ? h->u.str.s : NULL;
}

static const char *resource_words(arena *a, const value *res) {
  return arena_printf(a, "%s \"%s\"", value_get_string(res, "kind"), value_get_string(res, "metadata.name"));
}

/* A hook by its kind and template, which stay the same where names often
 * do not (a test's Pod is named at random): a message is the same on
 * every build. */
static const char *hook_words(chart *c, const value *res, const char *hook) {
  return arena_printf(ar(c), "%s of %s (%s)", value_get_string(res, "kind"), template_of(c, res), hook);
}

/* Tags v and every value in it, so that plumb explain names the chart
 * wherever it shows one of them (an `overrode` line too). */
static void tag(value *v, const char *via) {
  v->via = via;
  if (v->kind == V_LIST)
    for (size_t i = 0; i < v->u.list.len; i++) tag(v->u.list.items[i], via);
  if (v->kind == V_OBJECT)
    for (size_t i = 0; i < v->u.obj.len; i++) tag(v->u.obj.fields[i].val, via);
}

/* Whether a chart's hook runs in a phase of plumb's, as Argo CD maps
 * Helm's: pre-install and pre-upgrade PreSync, post-install and
 * post-upgrade PostSync, pre-delete PreDelete, post-delete PostDelete
 * (runtime/apply/hooks.c). */
static bool runs_in_a_phase(const char *hook) {
  static const char *const phased[] = {"pre-install", "pre-upgrade", "post-install", "post-upgrade", "pre-delete",
                                       "post-delete"};
  for (const char *s = hook; *s; s += strcspn(s, ","), s += *s == ',') {
    while (*s == ' ') s++;
    for (size_t k = 0; k < sizeof phased / sizeof *phased; k++)
      if (strncmp(s, phased[k], strlen(phased[k])) == 0 && strchr(", ", s[strlen(phased[k])])) return true;
  }
  return false;
}

/* The resources of a render: with warn, each tagged with the chart, its
 * hooks of a phase kept (the runtime runs them there), the others (a
 * test, a rollback's) left out and said in one warning at the
 * call; without, no hook at all (two renders are compared without them: a
 * hook runs anew at each sync, and a test's Pod is named at random). */
static value *without_hooks(chart *c, const value *res, bool warn) {
  value *out = value_list(ar(c), c->at);
  buf hooks = {0};
  size_t nhooks = 0;
  for (size_t i = 0; i < res->u.list.len; i++) {
    value *r = res->u.list.items[i];
    const char *hook = hook_of(r);
    if (hook && (!warn || !runs_in_a_phase(hook))) {
      buf_printf(&hooks, "%s%s", nhooks++ ? ", " : "", hook_words(c, r, hook));
      continue;
    }
    if (warn) tag(r, c->via);
    value_list_push(ar(c), out, r);
  }
  if (warn && nhooks)
    diag_warning(eval_diags(c->ev), c->at,
                 "helm_chart: chart %s has %zu hook%s that no sync phase runs, left out: plumb runs a chart's "
                 "pre- and post-install and upgrade hooks as PreSync and PostSync hooks and its pre- and post-delete "
                 "hooks as PreDelete and PostDelete hooks, not %s: %s",
                 c->name, nhooks, nhooks == 1 ? "" : "s", nhooks == 1 ? "this" : "these", hooks.data);
  buf_free(&hooks);
  return out;
}

/* ---- two renders that differ ------------------------------------------------------ */

static const char *key_of(arena *a, const value *r) {
  const char *api = value_get_string(r, "apiVersion"), *ns = value_get_string(r, "metadata.namespace");
  return arena_printf(a, "%s %s %s %s", value_get_string(r, "kind"), ns ? ns : "", value_get_string(r, "metadata.name"),
                      api ? api : "");
}

typedef struct {
  const char *key;
  const value *res;
} keyed;

static int by_key(const void *pa, const void *pb) { return strcmp(((const keyed *)pa)->key, ((const keyed *)pb)->key); }

static keyed *sorted_by_key(arena *a, const value *res) {
  keyed *k = arena_alloc(a, (res->u.list.len + 1) * sizeof *k);
  for (size_t i = 0; i < res->u.list.len; i++) k[i] = (keyed){key_of(a, res->u.list.items[i]), res->u.list.items[i]};
  qsort(k, res->u.list.len, sizeof *k, by_key);
  return k;
}

/* What differs, named for a message: at most HELM_MAX_DIFFS. The message
 * quotes no value, which would be another at every build. */
typedef struct {
  chart *c;
  buf words, renamed; /* what differs; of it, the resources named otherwise */
  int n, nrenamed;
  buf path, ptr;      /* the field compared, as explain writes it and as a JSON pointer */
  const char **keep;  /* the pointers of the fields of one resource that differ */
  size_t nkeep;
} diffs;

static void say(diffs *d, const char *words) {
  if (++d->n <= HELM_MAX_DIFFS) buf_printf(&d->words, "%s%s", d->n > 1 ? ", " : "", words);
}

/* ptr, to be kept live, among d's pointers. The annotation separates them
 * with commas, so one whose key holds a comma is that key's object, kept
 * live whole; a pointer inside one already kept adds nothing, and one
 * around others takes their place. */
static void keep(diffs *d, const char *ptr) {
  const char *comma = strchr(ptr, ',');
  size_t n = comma ? (size_t)((const char *)memrchr(ptr, '/', (size_t)(comma - ptr)) - ptr) : strlen(ptr);
  if (!n) return; /* a key of the resource itself: Kubernetes has none that holds a comma */
  const char *p = arena_strndup(ar(d->c), ptr, n);
  size_t kept = 0;
  for (size_t i = 0; i < d->nkeep; i++) {
    size_t k = strlen(d->keep[i]);
    if (!strncmp(p, d->keep[i], k) && (p[k] == '/' || !p[k])) return;
    if (strncmp(d->keep[i], p, n) || d->keep[i][n] != '/') d->keep[kept++] = d->keep[i];
  }
  d->keep = arena_room_for_one(ar(d->c), d->keep, kept, sizeof *d->keep);
  d->keep[kept] = p;
  d->nkeep = kept + 1;
}

/* The field of res at d's path differs. */
static void differs(diffs *d, const value *res) {
  const char *path = d->path.data ? d->path.data : "";
  say(d, arena_printf(ar(d->c), "%s%s%s", resource_words(ar(d->c), res), *path ? " " : "", path));
  keep(d, d->ptr.data ? d->ptr.data : "");
}

/* res has another name in the other render, so is named by its template;
 * it is met in each render, and said once. */
static void renamed(diffs *d, const value *res) {
  const char *words = arena_printf(ar(d->c), "a %s of %s named otherwise each time", value_get_string(res, "kind"),
                                   template_of(d->c, res));
  if (d->renamed.data && strstr(d->renamed.data, words)) return;
  say(d, words);
  buf_printf(&d->renamed, "%s%s", d->nrenamed++ ? ", " : "", words);
}

static void cut(buf *b, size_t mark) {
  b->len = mark;
  if (b->data) b->data[mark] = '\0';
}

static void compare(diffs *d, const value *res, const value *x, const value *y);

/* Appends key or [i] to d's path and pointer for the call, then cuts them
 * back. */
static void compare_part(diffs *d, const value *res, const char *key, size_t i, const value *x, const value *y) {
  size_t mark = d->path.len, pmark = d->ptr.len;
  if (key) {
    explain_path_key(&d->path, key);
    buf_putc(&d->ptr, '/');
    for (const char *k = key; *k; k++) /* RFC 6901's escapes */
      if (*k == '~' || *k == '/') buf_puts(&d->ptr, *k == '~' ? "~0" : "~1");
      else buf_putc(&d->ptr, *k);
  } else {
    buf_printf(&d->path, "[%zu]", i);
    buf_printf(&d->ptr, "/%zu", i);
  }
  if (x && y) compare(d, res, x, y);
  else differs(d, res);
  cut(&d->path, mark);
  cut(&d->ptr, pmark);
}

static void compare(diffs *d, const value *res, const value *x, const value *y) {
  if (x->kind == V_OBJECT && y->kind == V_OBJECT) {
    for (size_t i = 0; i < x->u.obj.len; i++)
      compare_part(d, res, x->u.obj.fields[i].key, 0, x->u.obj.fields[i].val,
                   value_object_get(y, x->u.obj.fields[i].key));
    for (size_t i = 0; i < y->u.obj.len; i++)
      if (!value_object_get(x, y->u.obj.fields[i].key)) compare_part(d, res, y->u.obj.fields[i].key, 0, NULL, x);
  } else if (x->kind == V_LIST && y->kind == V_LIST && x->u.list.len == y->u.list.len) {
    for (size_t i = 0; i < x->u.list.len; i++) compare_part(d, res, NULL, i, x->u.list.items[i], y->u.list.items[i]);
  } else if (!value_equal(x, y)) {
    differs(d, res);
  }
}

/* res with the annotation that names d's pointers: the runtime keeps the
 * live object's values there (compile.h). One the chart wrote itself
 * keeps its own pointers first, and explain shows it overridden. The
 * annotation stands at the call, tagged as random: "keep-live"'s. */
static void annotate(diffs *d, value *res) {
  arena *a = ar(d->c);
  buf list = {0};
  value *meta = value_object_get(res, "metadata"), *notes = meta ? value_object_get(meta, "annotations") : NULL;
  const value *had = notes && notes->kind == V_OBJECT ? value_object_get(notes, COMPILE_KEEP_LIVE) : NULL;
  if (had && had->kind == V_STRING && had->u.str.len) buf_printf(&list, "%s,", had->u.str.s);
  for (size_t i = 0; i < d->nkeep; i++) buf_printf(&list, "%s%s", i ? "," : "", d->keep[i]);
  value *s = value_string(a, d->c->at, list.data, list.len);
  buf_free(&list);
  s->via = arena_printf(a, "keep-live of %s", d->c->via);
  s->prev = had;
  meta = meta && meta->kind == V_OBJECT ? value_clone(a, meta) : value_object(a, d->c->at);
  notes = notes && notes->kind == V_OBJECT ? value_clone(a, notes) : value_object(a, d->c->at);
  if (!notes->via) notes->via = d->c->via;
  value_object_set(a, notes, COMPILE_KEEP_LIVE, s);
  value_object_set(a, meta, "annotations", notes);
  value_object_set(a, res, "metadata", meta);
}

typedef enum { SAME, KEPT_LIVE, DIFFERENT } sameness;

/* Whether the resources res of the first render, hooks aside, are those
 * of the second's output, again: matched by kind, namespace, name and
 * apiVersion (the hooks of charts' tests are often named at random).
 * With random: "keep-live", fields that differ are marked to be kept
 * live (KEPT_LIVE); resources that differ are not. DIFFERENT after
 * reporting what differs. */
static sameness renders_same(chart *c, const value *res, const buf *again) {
  diag_list quiet;
  diag_init(&quiet, ar(c));
  value *other = read_output(c, &quiet, again);
  if (!other) {
    eval_fail(c->ev, c->at, "helm_chart: chart %s renders otherwise each time, the second time no resources: %s",
              c->name, quiet.first ? quiet.first->msg : "");
    return DIFFERENT;
  }
  other = without_hooks(c, other, false);
  /* Hooks run anew at each sync: two renders are compared without them. */
  const value *mine = without_hooks(c, res, false);
  keyed *x = sorted_by_key(ar(c), mine), *y = sorted_by_key(ar(c), other);
  diffs d = {.c = c};
  size_t i = 0, j = 0, nx = mine->u.list.len, ny = other->u.list.len;
  while (i < nx || j < ny) {
    int cmp = i == nx ? 1 : j == ny ? -1 : strcmp(x[i].key, y[j].key);
    d.nkeep = 0;
    if (cmp == 0) compare(&d, x[i].res, x[i].res, y[j].res);
    else renamed(&d, cmp < 0 ? x[i].res : y[j].res);
    if (cmp == 0 && d.nkeep && c->o->keep_live) annotate(&d, (value *)x[i].res);
    i += cmp <= 0, j += cmp >= 0;
  }
  buf_free(&d.path);
  buf_free(&d.ptr);
  sameness same = !d.n ? SAME : c->o->keep_live && !d.nrenamed ? KEPT_LIVE : DIFFERENT;
  if (same == DIFFERENT && c->o->keep_live)
    eval_fail(c->ev, c->at,
              "helm_chart: chart %s renders otherwise each time, as random values (randAlphaNum, genCA, ...) do: "
              "%s; random: \"keep-live\" keeps the cluster's values of fields, not of names, which would make "
              "other objects at every pass: give the chart these names (values, values_files) so that it renders "
              "the same",
              c->name, d.renamed.data);
  else if (same == DIFFERENT)
    eval_fail(c->ev, c->at,
              "helm_chart: chart %s renders otherwise each time, as random values (randAlphaNum, genCA, ...) do: %s%s "
              "differ%s between two renders, which the runtime would take for drift on every pass; give the chart "
              "these values (values, values_files) so that it renders the same%s",
              c->name, d.words.data, d.n > HELM_MAX_DIFFS ? ", ..." : "", d.n == 1 ? "s" : "",
              d.nrenamed ? "" : ", or keep those the cluster has with random: \"keep-live\"");
  buf_free(&d.words);
  buf_free(&d.renamed);
  return same;
}

/* ---- a render ------------------------------------------------------------------------- */

static bool rendered(const tool_result *r) { return r->end == TOOL_EXITED && r->status == 0; }

static bool same_output(const tool_result *x, const tool_result *y) {
  return x->out.len == y->out.len && (!x->out.len || memcmp(x->out.data, y->out.data, x->out.len) == 0);
}

/* Whether the text t (n bytes) holds a decrypted value: is one, holds one
 * of 4 bytes or more, or is base64 of such text (a Secret's data). */
static bool holds_secret(chart *c, const char *t, size_t n) {
  buf plain = {0};
  size_t bad;
  bool decoded = n >= 4 && builtin_base64_decode(&plain, t, n, &bad);
  bool found = false;
  for (size_t i = 0; i < c->nsecrets && !found; i++) {
    size_t k = strlen(c->secrets[i]);
    found = (k == n && !memcmp(t, c->secrets[i], k)) || (k >= 4 && memmem(t, n, c->secrets[i], k)) ||
            (decoded && k >= 4 && memmem(plain.data, plain.len, c->secrets[i], k));
  }
  if (plain.data) explicit_bzero(plain.data, plain.len);
  buf_free(&plain);
  return found;
}

/* Marks decrypted the fields of v that hold a decrypted value. */
static void mark_secrets(chart *c, value *v) {
  size_t n = v->kind == V_LIST ? v->u.list.len : v->kind == V_OBJECT ? v->u.obj.len : 0;
  for (size_t i = 0; i < n; i++) mark_secrets(c, v->kind == V_LIST ? v->u.list.items[i] : v->u.obj.fields[i].val);
  buf b = {0};
  if (!n && value_put_text(&b, v) && eval_charge(c->ev, c->at, c->nsecrets * (b.len / SCAN_BYTES + 1)))
    v->secret = holds_secret(c, b.data ? b.data : "", b.len);
  buf_free(&b);
}

/* Renders c twice with helm, both at once: the first render's output,
 * kept under key when there is one (NULL: no cache); NULL after
 * reporting. */
static value *render_twice(chart *c, const char *helm, char **argv, const char *key) {
  tool_limits limits = {HELM_SECONDS, HELM_SECONDS, HELM_MEMORY, HELM_MAX_OUTPUT, HELM_MAX_ERRORS};
  tool_result r[2];
  tool_run(helm, argv, environment(c), c->scratch, &limits, 2, r);
  bool ok = (rendered(&r[0]) || report_failure(c, &r[0])) && (rendered(&r[1]) || report_failure(c, &r[1]));
  value *res = ok ? read_output(c, eval_diags(c->ev), &r[0].out) : NULL;
  if (res && c->nsecrets) mark_secrets(c, res);
  if (res) res = without_hooks(c, res, true);
  sameness same = res && !same_output(&r[0], &r[1]) ? renders_same(c, res, &r[1].out) : SAME;
  if (same == DIFFERENT) res = NULL;
  /* A render kept live is another at every build: none is the one to keep. */
  if (res && key && same == SAME)
    renders_put(eval_opts(c->ev)->helm.cache, key, r[0].out.data ? r[0].out.data : "", r[0].out.len);
  for (int i = 0; i < 2; i++) buf_free(&r[i].out), buf_free(&r[i].err);
  return res;
}

/* What the render of c by helm with argv depends on, as a key of the
 * cache; NULL when there is no cache, or helm cannot be told apart from
 * another. */
static const char *render_key(chart *c, const char *helm, char **argv) {
  const char *cache = eval_opts(c->ev)->helm.cache;
  struct stat st;
  if (!cache || c->nsecrets || stat(helm, &st) != 0) return NULL;
  renders_key k = {0};
  buf id = {0};
  buf_printf(&id, "%s %lld %lld.%09ld %llu", helm, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
             st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
  renders_key_add(&k, "helm", id.data, id.len);
  buf_free(&id);
  for (size_t i = 1; argv[i]; i++) renders_key_add(&k, "argument", argv[i], strlen(argv[i]));
  for (size_t i = 0; i < c->nfiles; i++) renders_key_add(&k, c->files[i].name, c->files[i].text, c->files[i].len);
  return renders_key_end(ar(c), &k);
}

/* The render kept under key, as resources; NULL when there is none. */
static value *kept_render(chart *c, const char *key) {
  const char *text;
  size_t len;
  if (!key || !renders_get(ar(c), eval_opts(c->ev)->helm.cache, key, HELM_MAX_OUTPUT, &text, &len)) return NULL;
  buf out = {(char *)text, len, len};
  value *res = read_output(c, eval_diags(c->ev), &out);
  return res ? without_hooks(c, res, true) : NULL;
}

/* c, rendered into res, for plumb explain to say which values fed its
 * fields; res. */
static value *rendered_chart(chart *c, value *res) {
  if (res)
    helmvalues_add(c->ev, &(helmvalues_chart){c->via, c->dir, release_words(c), c->files, c->nfiles,
                                              c->values_names, c->o->values});
  return res;
}

/* The render of c, whose files are given. */
static value *render_chart(chart *c, const char *helm) {
  const char *err;
  char **argv = command(c, helm);
  if (!argv) return NULL;
  const char *key = render_key(c, helm, argv);
  int errors = eval_diags(c->ev)->errors;
  value *res = kept_render(c, key);
  if (res || eval_diags(c->ev)->errors > errors) return rendered_chart(c, res);
  if (!(c->scratch = tool_scratch_new(ar(c), eval_opts(c->ev)->helm.tmp, &err)))
    return eval_fail(c->ev, c->at, "helm_chart: %s", err);
  res = write_files(c) ? render_twice(c, helm, argv, key) : NULL;
  tool_scratch_remove(c->scratch);
  return rendered_chart(c, res);
}

static value *render(eval *ev, pos at, const char *dir, const chart_opts *o) {
  chart c = {.ev = ev, .at = at, .dir = dir, .o = o, .arg = "chart"};
  const char *helm = find_helm(&c);
  return helm && read_metadata(&c) && read_chart(&c) ? render_chart(&c, helm) : NULL;
}

/* The Kubernetes version a chart sees by default: that of the build's
 * schemas, as --kube-version or the destination cluster chose it, else
 * the newest embedded. */
static const char *default_kube_version(eval *ev) {
  const compile_opts *o = eval_opts(ev);
  size_t n;
  const char *const *embedded = compile_kube_versions(&n);
  return o && o->kube_version           ? o->kube_version
         : o && o->kube_version_default ? o->kube_version_default
                                        : embedded[n - 1];
}

/* What a chart in dir renders with unless told otherwise: Argo CD's
 * defaults, CRDs included (helm install installs those of crds/); dir
 * NULL: a release named later. */
static chart_opts default_opts(eval *ev, const char *dir) {
  return (chart_opts){.release = dir ? release_of(eval_arena(ev), dir) : NULL,
                      .namespace = "default",
                      .kube_version = default_kube_version(ev),
                      .include_crds = true};
}

value *helm_render_dir(eval *ev, pos at, const char *dir, const char *release, const char *namespace) {
  chart_opts o = default_opts(ev, dir);
  if (release) o.release = release;
  if (namespace && *namespace) o.namespace = namespace;
  return render(ev, at, dir, &o);
}

/* ---- charts of repositories ------------------------------------------------------------ */

static bool is_remote(const char *s) {
  return !strncmp(s, "oci://", 6) || !strncmp(s, "https://", 8) || !strncmp(s, "http://", 7);
}

#define CHART_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

/* The chart ref and o name: an oci:// reference, whose last segment is
 * the chart, or a repository's URL and o's chart; with o's version. */
static bool remote_ref(eval *ev, pos at, const char *ref, const chart_opts *o, compile_chart *out) {
  arena *a = eval_arena(ev);
  bool oci = !strncmp(ref, "oci://", 6);
  size_t n = strlen(ref);
  while (n > 8 && ref[n - 1] == '/') n--;
  const char *repo = arena_strndup(a, ref, n), *slash = strrchr(repo, '/');
  const char *host = repo + (oci ? 6 : strchr(repo, ':') - repo + 3);
  if (!*host || *host == '/' || strpbrk(repo, " ?#\\") || (oci && (slash < host || strchr(slash, ':') || strchr(slash, '@'))))
    return eval_fail(ev, at,
                     "helm_chart: \"%s\" is no chart reference: oci://REGISTRY/PATH/CHART (its version in "
                     "version:), or a chart repository's https:// URL with the chart in chart:",
                     ref),
           false;
  if (oci && o->chart)
    return eval_fail(ev, o->chart->at, "helm_chart: the chart of an oci:// reference is its last segment, not chart:"),
           false;
  if (!oci && !o->chart)
    return eval_fail(ev, at, "helm_chart: which chart of repository %s? Name it in chart:", repo), false;
  const char *name = oci ? slash + 1 : o->chart->u.str.s;
  if (!*name || name[strspn(name, CHART_NAME_CHARS)] || *name == '.' || *name == '-')
    return eval_fail(ev, oci ? at : o->chart->at,
                     "helm_chart: \"%s\" is no chart name: letters, digits, '.', '_' or '-', not first '.' or '-'", name),
           false;
  const char *version = o->version ? o->version->u.str.s : "";
  for (const char *p = version; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
      return eval_fail(ev, o->version->at, "helm_chart: version \"%s\" is no version or range of versions", version),
             false;
  *out = (compile_chart){.repo = repo, .chart = name, .version = version};
  return true;
}

/* The root-relative plumb.lock beside file. */
static const char *lock_beside(arena *a, const char *file) {
  const char *slash = strrchr(file, '/');
  return slash ? arena_printf(a, "%.*s/plumb.lock", (int)(slash - file), file) : "plumb.lock";
}

static const char *hex_digest(arena *a, const char *data, size_t len) {
  unsigned char sum[SHA256_BYTES];
  sha256(data, len, sum);
  char *s = arena_alloc(a, 7 + 2 * SHA256_BYTES + 1);
  memcpy(s, "sha256:", 7);
  for (int i = 0; i < SHA256_BYTES; i++) snprintf(s + 7 + 2 * i, 3, "%02x", sum[i]);
  return s;
}

/* want pinned by its lock (or, when charts resolve, anew): false after
 * reporting. */
static bool pin(eval *ev, pos at, const compile_charts *charts, compile_chart *want) {
  loader *l = eval_loader(ev);
  arena *a = eval_arena(ev);
  want->lock = lock_beside(a, at.file);
  want->lock_file = loader_disk_path(l, want->lock);
  compile_chart *pins;
  size_t n;
  if (lock_read(l, a, eval_diags(ev), want->lock, &pins, &n) < 0) return false;
  const compile_chart *p = charts->update ? NULL : lock_find(pins, n, want->repo, want->chart, want->version);
  if (p) want->pinned = p->pinned, want->digest = p->digest;
  else if (!charts->resolve)
    return eval_fail(ev, at,
                     "helm_chart: chart %s%s%s of %s is not pinned in %s: run plumb fetch on what you build, and "
                     "commit %s",
                     want->chart, *want->version ? " " : "", want->version, want->repo, want->lock, want->lock),
           false;
  return true;
}

/* The archive of the chart want names, checked against its pin. */
static bool fetch_archive(eval *ev, pos at, const compile_charts *charts, compile_chart *want, const char **data,
                          size_t *len) {
  const char *err, *pinned = want->digest;
  if (charts->get(charts->ctx, eval_arena(ev), want, data, len, &err) != 0)
    return eval_fail(ev, at, "helm_chart: %s", err), false;
  const char *sum = hex_digest(eval_arena(ev), *data, *len);
  const char *why;
  if (strcmp(sum, want->digest) == 0 && archive_check(eval_arena(ev), *data, *len, &why)) return true;
  if (strcmp(sum, want->digest) == 0)
    return eval_fail(ev, at, "helm_chart: the archive of chart %s %s of %s is refused: %s", want->chart,
                     want->pinned, want->repo, why),
           false;
  eval_fail(ev, at,
            "helm_chart: the archive of chart %s %s of %s has digest %s, but %s pins %s: it is not the archive that "
            "was pinned (pushed again, or tampered with); if it is to be trusted, pin it anew with plumb fetch "
            "--update",
            want->chart, want->pinned, want->repo, sum, pinned ? want->lock : "the fetch", want->digest);
  return false;
}

static value *render_remote(eval *ev, pos at, const char *ref, const chart_opts *o) {
  const compile_opts *co = eval_opts(ev);
  compile_chart want;
  if (!remote_ref(ev, at, ref, o, &want)) return NULL;
  if (!co || !co->charts)
    return eval_fail(ev, at, "helm_chart: a chart of a repository is read from plumb's cache, which this build has "
                             "none of (give --cache DIR)");
  chart c = {.ev = ev, .at = at, .o = o, .arg = "chart.tgz", .name = want.chart};
  const char *helm = find_helm(&c), *data;
  size_t len;
  if (!helm || !pin(ev, at, co->charts, &want) || !fetch_archive(ev, at, co->charts, &want, &data, &len)) return NULL;
  arena *a = eval_arena(ev);
  chart_opts named = *o;
  if (!named.release) named.release = release_of(a, want.chart);
  c.o = &named;
  c.version = want.pinned;
  c.dir = arena_printf(a, "%s-%s.tgz", want.chart, want.pinned);
  c.via = arena_printf(a, "chart %s %s of %s", want.chart, want.pinned, want.repo);
  give(&c, "chart.tgz", data, len);
  return render_chart(&c, helm);
}

/* ---- the built-in ------------------------------------------------------------------------ */

static const char *const option_names[] = {"api_versions", "chart",   "include_crds", "kube_version", "namespace",
                                           "random",       "release", "values",       "values_files", "version"};
enum { NOPTIONS = sizeof option_names / sizeof *option_names };

static int by_name(const void *key, const void *elem) {
  return strcmp(*(const char *const *)key, *(const char *const *)elem);
}

#define API_VERSION_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./-_"
#define KUBE_VERSION_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-+"

static bool option_kind(eval *ev, const field *f, value_kind want) {
  if (f->val->kind == want) return true;
  eval_fail(ev, f->val->at, "helm_chart: %s must be %s, got %s", f->key, value_a(want), value_kind_name(f->val->kind));
  return false;
}

/* A list of strings without NUL bytes. */
static bool string_list(eval *ev, const field *f) {
  if (!option_kind(ev, f, V_LIST)) return false;
  for (size_t i = 0; i < f->val->u.list.len; i++) {
    const value *s = f->val->u.list.items[i];
    if (s->kind != V_STRING)
      return eval_fail(ev, s->at, "helm_chart: %s must be a list of strings, got %s in it", f->key, value_a(s->kind)),
             false;
    if (memchr(s->u.str.s, '\0', s->u.str.len))
      return eval_fail(ev, s->at, "helm_chart: %s: a string contains a NUL byte", f->key), false;
  }
  return true;
}

/* "monitoring.coreos.com/v1", or with a kind: what Capabilities.APIVersions
 * holds. */
static bool api_versions(eval *ev, const field *f) {
  if (!string_list(ev, f)) return false;
  for (size_t i = 0; i < f->val->u.list.len; i++) {
    const value *s = f->val->u.list.items[i];
    if (!s->u.str.len || s->u.str.s[strspn(s->u.str.s, API_VERSION_CHARS)])
      return eval_fail(ev, s->at,
                       "helm_chart: api_versions: \"%s\" is no API version, such as "
                       "\"monitoring.coreos.com/v1\" or \"policy/v1/PodDisruptionBudget\"",
                       s->u.str.s),
             false;
  }
  return true;
}

/* "1.35", "v1.35.2", "1.30.0-gke.1": what helm's --kube-version reads. */
static bool kube_version_like(const char *s) {
  if (*s == 'v') s++;
  return *s >= '0' && *s <= '9' && strchr(s, '.') && !s[strspn(s, KUBE_VERSION_CHARS)];
}

/* release, namespace and kube_version, each checked so that helm takes
 * it for what it is; random, "fail" or "keep-live". */
static bool read_string_option(eval *ev, const field *f, chart_opts *o) {
  const char *s = f->val->u.str.s, *k = f->key;
  pos at = f->val->at;
  if (strcmp(k, "release") == 0) {
    if (validate_dns_subdomain(s) && f->val->u.str.len <= HELM_MAX_RELEASE) return (o->release = s), true;
    eval_fail(ev, at,
              "helm_chart: release \"%s\" is no release name: at most %d lowercase letters, digits, '-' or "
              "'.', starting and ending with a letter or digit",
              s, HELM_MAX_RELEASE);
  } else if (strcmp(k, "namespace") == 0) {
    if (validate_dns_label(s)) return (o->namespace = s), true;
    eval_fail(ev, at,
              "helm_chart: namespace \"%s\" is no namespace name: at most 63 lowercase letters, digits or "
              "'-', starting and ending with a letter or digit",
              s);
  } else if (strcmp(k, "kube_version") == 0) {
    if (kube_version_like(s)) return (o->kube_version = s), true;
    eval_fail(ev, at, "helm_chart: kube_version takes a Kubernetes version such as \"1.35\" or \"v1.35.2\", not \"%s\"",
              s);
  } else {
    if (strcmp(s, "fail") == 0 || strcmp(s, "keep-live") == 0) return (o->keep_live = s[0] == 'k'), true;
    eval_fail(ev, at, "helm_chart: random takes \"fail\" or \"keep-live\", not \"%s\"", s);
  }
  return false;
}

static bool read_option(eval *ev, const field *f, chart_opts *o) {
  const char *k = f->key;
  if (strcmp(k, "values") == 0) {
    if (!option_kind(ev, f, V_OBJECT)) return false;
    o->values = f->val;
  } else if (strcmp(k, "values_files") == 0) {
    if (!string_list(ev, f)) return false;
    o->values_files = f->val;
  } else if (strcmp(k, "api_versions") == 0) {
    if (!api_versions(ev, f)) return false;
    o->api_versions = f->val;
  } else if (strcmp(k, "chart") == 0 || strcmp(k, "version") == 0) {
    if (!option_kind(ev, f, V_STRING)) return false;
    *(k[0] == 'c' ? &o->chart : &o->version) = f->val;
  } else if (strcmp(k, "include_crds") == 0) {
    if (!option_kind(ev, f, V_BOOL)) return false;
    o->include_crds = f->val->u.b;
  } else if (bsearch(&k, option_names, NOPTIONS, sizeof *option_names, by_name)) {
    return option_kind(ev, f, V_STRING) && read_string_option(ev, f, o);
  } else {
    const char *near = nearest_word(k, option_names, NOPTIONS);
    eval_fail(ev, f->val->at, "helm_chart: unknown option \"%s\"; %s%s%s", k, near ? "did you mean \"" : "",
              near ? near
                   : "expected api_versions, chart, include_crds, kube_version, namespace, random, release, "
                     "values, values_files or version",
              near ? "\"?" : "");
    return false;
  }
  return true;
}

value *helm_builtin(eval *ev, pos at, value **argv, int argc) {
  const value *p = argv[0];
  if (p->kind != V_STRING)
    return eval_fail(ev, at, "helm_chart: argument 1 must be a string, got %s", value_kind_name(p->kind));
  if (memchr(p->u.str.s, '\0', p->u.str.len)) return eval_fail(ev, at, "helm_chart: the path contains a NUL byte");
  if (argc > 1 && argv[1]->kind != V_OBJECT)
    return eval_fail(ev, at, "helm_chart: argument 2 must be an object, got %s", value_kind_name(argv[1]->kind));
  chart_opts o = default_opts(ev, NULL);
  for (size_t i = 0; argc > 1 && i < argv[1]->u.obj.len; i++)
    if (!read_option(ev, &argv[1]->u.obj.fields[i], &o)) return NULL;
  if (is_remote(p->u.str.s)) return render_remote(ev, at, p->u.str.s, &o);
  const value *remote_only = o.chart ? o.chart : o.version;
  if (remote_only)
    return eval_fail(ev, remote_only->at, "helm_chart: %s is for a chart of a repository; %s is a directory",
                     o.chart ? "chart" : "version", p->u.str.s);
  /* A directory of the repository, whatever its name: std/ is no module. */
  const char *path = strncmp(p->u.str.s, "std/", 4) ? p->u.str.s : arena_printf(eval_arena(ev), "./%s", p->u.str.s);
  const char *dir, *err;
  if (loader_resolve(eval_loader(ev), at.file, path, &dir, &err) != 0) return eval_fail(ev, at, "helm_chart: %s", err);
  if (!o.release) o.release = release_of(eval_arena(ev), dir);
  return render(ev, at, dir, &o);
}
