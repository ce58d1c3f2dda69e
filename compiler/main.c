/* main.c: the `plumb` command line. Each command is a function; see
 * docs/cli.md for the manual. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plumb/apply.h"
#include "plumb/compile.h"
#include "plumb/emit.h"
#include "plumb/explain.h"

int fmt_main(int argc, char **argv);

static const char usage[] =
    "usage: plumb COMMAND [ARGS]\n"
    "\n"
    "  build PATH [-o yaml|json] [--out-dir DIR] [--env NAME] [--root DIR]\n"
    "                       print the resources of an environment\n"
    "  check PATH [--env NAME] [--root DIR]\n"
    "                       compile and report errors, print nothing\n"
    "  explain PATH KIND/NAME [FIELD] [--env NAME] [--root DIR]\n"
    "                       show where each field's value came from\n"
    "  diff PATH [--kubeconfig F] [--context C] [--env NAME] [--root DIR]\n"
    "                       show what apply would change in the cluster\n"
    "  apply PATH [--kubeconfig F] [--context C] [--dry-run] [--force-conflicts]\n"
    "        [--prune] [--env NAME] [--root DIR]\n"
    "                       server-side apply the environment to a cluster\n"
    "  eval (-e EXPR | FILE) evaluate one expression and print it as JSON\n"
    "  fmt [--check] PATH... rewrite .plumb files in the canonical layout\n"
    "  version              print the version\n";

typedef struct {
  compile_opts copts;
  const char *output; /* "yaml" or "json" */
  const char *out_dir;
  const char *kubeconfig, *context;
  bool dry_run, force, prune;
  const char *args[4]; /* positional arguments */
  int nargs;
} cli;

static int fail_usage(const char *msg) {
  fprintf(stderr, "plumb: %s\n\n%s", msg, usage);
  return 2;
}

/* Parses the flags shared by the compile commands. Returns 0 or exit code. */
static int parse_args(cli *c, int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ? &c->output
                        : strcmp(a, "--out-dir") == 0                      ? &c->out_dir
                        : strcmp(a, "--env") == 0                          ? &c->copts.env
                        : strcmp(a, "--root") == 0                         ? &c->copts.root
                        : strcmp(a, "--kubeconfig") == 0                   ? &c->kubeconfig
                        : strcmp(a, "--context") == 0                      ? &c->context
                                                                           : NULL;
    bool *flag = strcmp(a, "--dry-run") == 0           ? &c->dry_run
                 : strcmp(a, "--force-conflicts") == 0 ? &c->force
                 : strcmp(a, "--prune") == 0           ? &c->prune
                                                       : NULL;
    if (flag) {
      *flag = true;
      continue;
    }
    if (slot) {
      if (i + 1 >= argc) {
        fprintf(stderr, "plumb: %s needs a value\n", a);
        return 2;
      }
      *slot = argv[++i];
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "plumb: unknown flag %s\n", a);
      return 2;
    } else if (c->nargs < 4) {
      c->args[c->nargs++] = a;
    }
  }
  if (c->output && strcmp(c->output, "yaml") && strcmp(c->output, "json")) {
    fprintf(stderr, "plumb: -o takes yaml or json, not %s\n", c->output);
    return 2;
  }
  c->copts.path = c->args[0];
  return 0;
}

static compile_result *compile_or_report(cli *c) {
  compile_result *r = compile_build(&c->copts);
  if (r->diags.errors) diag_print(&r->diags, stderr);
  return r;
}

/* One resource at a time through one buffer: the whole stream is never
 * held in memory. */
static void print_yaml_stream(FILE *out, const compile_result *r) {
  buf b = {0};
  for (size_t i = 0; i < r->nres; i++) {
    b.len = 0;
    if (i) buf_puts(&b, "---\n");
    emit_yaml_resource(&b, r->res[i].obj);
    fwrite(b.data, 1, b.len, out);
  }
  buf_free(&b);
}

static void print_json_list(FILE *out, const compile_result *r) {
  arena *a = r->arena;
  value *list = value_object(a, (pos){0});
  value *items = value_list(a, (pos){0});
  for (size_t i = 0; i < r->nres; i++) value_list_push(a, items, r->res[i].obj);
  value_object_set(a, list, "apiVersion", value_cstring(a, (pos){0}, "v1"));
  value_object_set(a, list, "items", items);
  value_object_set(a, list, "kind", value_cstring(a, (pos){0}, "List"));
  buf b = {0};
  emit_json(&b, list, true, true);
  buf_putc(&b, '\n');
  fwrite(b.data, 1, b.len, out);
  buf_free(&b);
}

static const char *field_str(const value *res, const char *path) {
  const value *v = value_get_path(res, path);
  return v && v->kind == V_STRING ? v->u.str.s : "";
}

/* NNN_kind_[namespace_]name.yaml: the number keeps install order. */
static int write_out_dir(const cli *c, const compile_result *r) {
  if (mkdir(c->out_dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "plumb: cannot create %s: %s\n", c->out_dir, strerror(errno));
    return 2;
  }
  for (size_t i = 0; i < r->nres; i++) {
    const value *res = r->res[i].obj;
    const char *ns = field_str(res, "metadata.namespace");
    char kind[128];
    snprintf(kind, sizeof kind, "%s", field_str(res, "kind"));
    for (char *p = kind; *p; p++) *p = (char)tolower((unsigned char)*p);
    char *path = arena_printf(r->arena, "%s/%03zu_%s_%s%s%s.yaml", c->out_dir, i + 1, kind, ns, *ns ? "_" : "",
                              field_str(res, "metadata.name"));
    FILE *f = fopen(path, "w");
    if (!f) {
      fprintf(stderr, "plumb: cannot write %s: %s\n", path, strerror(errno));
      return 2;
    }
    buf b = {0};
    emit_yaml_resource(&b, res);
    fwrite(b.data, 1, b.len, f);
    buf_free(&b);
    fclose(f);
  }
  return 0;
}

/* A PATH that is not there is a usage mistake (2), not a compile error (1). */
static int want_path(const cli *c) {
  struct stat st;
  if (!c->copts.path) return fail_usage("missing PATH");
  if (stat(c->copts.path, &st) != 0) {
    fprintf(stderr, "plumb: cannot open %s: %s\n", c->copts.path, strerror(errno));
    return 2;
  }
  return 0;
}

static int cmd_build(cli *c, bool print) {
  int bad = want_path(c);
  if (bad) return bad;
  compile_result *r = compile_or_report(c);
  int rc = r->diags.errors ? 1 : 0;
  if (!rc && print) {
    if (c->out_dir)
      rc = write_out_dir(c, r);
    else if (c->output && strcmp(c->output, "json") == 0)
      print_json_list(stdout, r);
    else
      print_yaml_stream(stdout, r);
  }
  compile_free(r);
  return rc;
}

static const value *find_resource(const compile_result *r, const char *ref) {
  const char *slash = strrchr(ref, '/');
  if (!slash) return NULL;
  size_t kl = (size_t)(slash - ref);
  for (size_t i = 0; i < r->nres; i++) {
    const value *res = r->res[i].obj;
    const char *kind = field_str(res, "kind");
    if (strlen(kind) == kl && strncasecmp(kind, ref, kl) == 0 && strcmp(field_str(res, "metadata.name"), slash + 1) == 0)
      return res;
  }
  return NULL;
}

static int cmd_explain(cli *c) {
  if (c->nargs < 2) return fail_usage("explain needs PATH and KIND/NAME");
  int bad = want_path(c);
  if (bad) return bad;
  compile_result *r = compile_or_report(c);
  int rc = 1;
  if (!r->diags.errors) {
    const value *res = find_resource(r, c->args[1]);
    buf b = {0};
    if (!res)
      fprintf(stderr, "plumb: no resource %s in env %s\n", c->args[1], r->env);
    else if (explain_resource(&b, res, c->args[2]) != 0)
      fprintf(stderr, "plumb: %s has no field %s\n", c->args[1], c->args[2]);
    else
      fwrite(b.data, 1, b.len, stdout), rc = 0;
    buf_free(&b);
  }
  compile_free(r);
  return rc;
}

/* diff and apply: compile, connect, then act. Exit status 2 means the
 * cluster could not be reached or the input was wrong. */
static int cmd_cluster(cli *c, bool apply) {
  int bad = want_path(c);
  if (bad) return bad;
  compile_result *r = compile_or_report(c);
  if (r->diags.errors) {
    if (apply && c->prune) fputs("plumb: not pruning: the compile failed\n", stderr);
    compile_free(r);
    return apply ? 1 : 2;
  }
  kube_config *cfg = NULL;
  kube_client *k = NULL;
  char *err = NULL;
  int rc = 2;
  /* No kubeconfig anywhere: inside a pod, the service account (as
   * client-go falls back). */
  int found = kube_config_load(&cfg, c->kubeconfig, c->context, &err);
  if (found == KUBE_ENOTFOUND && !c->kubeconfig) {
    free(err);
    err = NULL;
    found = kube_config_in_cluster(&cfg, NULL, &err);
  }
  if (found != 0 || kube_client_new(&k, cfg, NULL, &err) != 0) {
    fprintf(stderr, "plumb: %s\n", err ? err : "cannot configure the client");
  } else if (apply) {
    apply_opts o = {.dry_run = c->dry_run, .force = c->force, .prune = c->prune, .out = stdout};
    rc = apply_resources(k, r, &o) ? 1 : 0;
  } else {
    rc = diff_resources(k, r, stdout);
  }
  free(err);
  kube_client_free(k);
  kube_config_free(cfg);
  compile_free(r);
  return rc;
}

static char *read_all(FILE *f, size_t *len) {
  buf b = {0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_put(&b, chunk, n);
  buf_puts(&b, "");
  *len = b.len;
  return b.data;
}

static int cmd_eval(int argc, char **argv) {
  const char *name;
  char *text;
  size_t len;
  if (argc == 2 && strcmp(argv[0], "-e") == 0) {
    name = "<expr>";
    text = strdup(argv[1]);
    len = strlen(text);
  } else if (argc == 1) {
    name = argv[0];
    FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
    if (!f) {
      fprintf(stderr, "plumb: cannot read %s: %s\n", name, strerror(errno));
      return 2;
    }
    text = read_all(f, &len);
    if (f != stdin) fclose(f);
  } else {
    return fail_usage("eval takes -e EXPR or one FILE");
  }
  /* A file's own directory is the root its file() calls read from. */
  char *dir = strdup(name), *slash = strrchr(dir, '/');
  const char *root = ".";
  if (slash) {
    *slash = '\0';
    root = *dir ? dir : "/";
    name += slash + 1 - dir;
  }
  compile_result *r = compile_eval(root, name, text, len);
  int rc = 0;
  if (r->diags.errors || !r->value) {
    diag_print(&r->diags, stderr);
    rc = 1;
  } else {
    buf b = {0};
    emit_json(&b, r->value, true, false);
    puts(b.data);
    buf_free(&b);
  }
  compile_free(r);
  free(text);
  free(dir);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    puts("plumb " PLUMB_VERSION);
    return 0;
  }
  if (strcmp(cmd, "eval") == 0) return cmd_eval(argc - 2, argv + 2);
  if (strcmp(cmd, "fmt") == 0) return fmt_main(argc - 2, argv + 2);
  cli c = {0};
  int rc = parse_args(&c, argc - 2, argv + 2);
  if (rc) return rc;
  if (strcmp(cmd, "build") == 0) return cmd_build(&c, true);
  if (strcmp(cmd, "check") == 0) return cmd_build(&c, false);
  if (strcmp(cmd, "explain") == 0) return cmd_explain(&c);
  if (strcmp(cmd, "diff") == 0) return cmd_cluster(&c, false);
  if (strcmp(cmd, "apply") == 0) return cmd_cluster(&c, true);
  return fail_usage("unknown command");
}
