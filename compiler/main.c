/* main.c: the `plumb` command line. Each command is a function; see
 * docs/cli.md for the manual. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmt.h"
#include "plumb/cli.h"
#include "save.h"
#include "plumb/compile.h"
#include "plumb/emit.h"
#include "plumb/explain.h"


/* One resource at a time through one buffer: the whole stream is never
 * held in memory. */
static void print_yaml_stream(FILE *out, const compile_result *r) {
  buf b = {0};
  emit_memo *memo = emit_memo_new();
  for (size_t i = 0; i < r->nres; i++) {
    b.len = 0;
    if (i) buf_puts(&b, "---\n");
    emit_yaml_resource(&b, r->res[i].obj, memo);
    if (fwrite(b.data, 1, b.len, out) != b.len) break; /* main says why */
  }
  emit_memo_free(memo);
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

static int cmd_build(cli *c) {
  int bad = cli_want_path(c);
  if (bad) return bad;
  compile_result *r = cli_compile(c);
  int rc = r->diags.errors ? 1 : 0;
  if (!rc) {
    if (c->out_dir)
      rc = save_dir(c->out_dir, r);
    else if (c->output && strcmp(c->output, "json") == 0)
      print_json_list(stdout, r);
    else
      print_yaml_stream(stdout, r);
  }
  compile_free(r);
  return rc;
}

/* Every PATH, each on its own: the status is the worst of them. */
static int cmd_check(cli *c) {
  int rc = 0;
  for (int i = 0; i < c->nargs; i++) {
    c->copts.path = c->args[i];
    int one = cli_want_path(c);
    if (!one) {
      compile_result *r = cli_compile(c);
      one = r->diags.errors ? 1 : 0;
      compile_free(r);
    }
    if (one > rc) rc = one;
  }
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
  int bad = cli_want_path(c);
  if (bad) return bad;
  compile_result *r = cli_compile(c);
  int rc = 1;
  if (!r->diags.errors) {
    const char *ref = cli_arg(c, 1), *field = cli_arg(c, 2);
    const value *res = find_resource(r, ref);
    buf b = {0};
    if (!res)
      fprintf(stderr, "plumb: no resource %s in env %s\n", ref, r->env);
    else if (explain_resource(&b, r, res, field) != 0)
      fprintf(stderr, "plumb: %s has no field %s%s\n", ref, field, b.len ? b.data : "");
    else
      fwrite(b.data, 1, b.len, stdout), rc = 0;
    buf_free(&b);
  }
  compile_free(r);
  return rc;
}


/* All of f, NUL-terminated, or NULL with errno when reading fails (a
 * directory reads as an error, not as an empty file). */
static char *read_all(FILE *f, size_t *len) {
  buf b = {0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_put(&b, chunk, n);
  if (ferror(f)) {
    int e = errno;
    buf_free(&b);
    errno = e;
    return NULL;
  }
  buf_puts(&b, "");
  *len = b.len;
  return b.data;
}

/* eval (-e EXPR | FILE | -): the expression, or the FILE read, into
 * *text; returns CLI_RUN or the exit status to end with. */
static int eval_args(const cli_command *cmd, int argc, char **argv, const char **name, char **text, size_t *len) {
  const char *expr = NULL, *file = NULL;
  for (int i = 0; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      cli_print_help(stdout, cmd);
      return 0;
    }
    if (strcmp(argv[i], "-e") == 0 && i + 1 < argc && !expr && !file)
      expr = argv[++i];
    else if ((argv[i][0] == '-' && argv[i][1]) || expr || file)
      return cli_fail_usage(cmd, "eval takes -e EXPR or one FILE");
    else
      file = argv[i];
  }
  if (!expr && !file) return cli_fail_usage(cmd, "eval takes -e EXPR or one FILE");
  if (expr) {
    *name = "<expr>";
    *text = heap_strdup(expr);
    *len = strlen(expr);
    return CLI_RUN;
  }
  *name = file;
  FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
  if (!f) {
    fprintf(stderr, "plumb: cannot read %s: %s\n", file, strerror(errno));
    return 2;
  }
  *text = read_all(f, len);
  if (!*text) fprintf(stderr, "plumb: cannot read %s: %s\n", file, strerror(errno));
  if (f != stdin) fclose(f);
  return *text ? CLI_RUN : 2;
}

static int cmd_eval(const cli_command *cmd, int argc, char **argv) {
  const char *name = NULL;
  char *text = NULL;
  size_t len = 0;
  int rc = eval_args(cmd, argc, argv, &name, &text, &len);
  if (rc != CLI_RUN) return rc;
  /* A file's own directory is the root its file() calls read from. */
  char *dir = heap_strdup(name), *slash = strrchr(dir, '/');
  const char *root = ".";
  if (slash) {
    *slash = '\0';
    root = *dir ? dir : "/";
    name += slash + 1 - dir;
  }
  compile_result *r = compile_eval(root, name, text, len);
  rc = 0;
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

/* The cluster commands are plumb-runtime's: run it, from beside this
 * program, with the same arguments. */
static int run_runtime(char **argv) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 32);
  if (n < 0) {
    fprintf(stderr, "plumb: cannot find my own directory: %s\n", strerror(errno));
    return 2;
  }
  self[n] = '\0';
  strcpy(strrchr(self, '/') + 1, "plumb-runtime");
  execv(self, argv);
  fprintf(stderr, "plumb: cannot run %s: %s\n", self, strerror(errno));
  return 2;
}

static bool is_runtime_command(const char *name) {
  static const char *const runtime_cmds[] = {"diff",   "apply",   "run",      "fetch", "status",
                                             "sync",   "history", "rollback", "passwd", "login", "logout",
                                             "suspend", "resume"};
  for (size_t i = 0; i < sizeof runtime_cmds / sizeof *runtime_cmds; i++)
    if (strcmp(name, runtime_cmds[i]) == 0) return true;
  return false;
}

static int run_command(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "help") == 0 || cli_is_help(argv[1])) {
    cli_print_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char *name = strcmp(argv[1], "--version") == 0 ? "version" : argv[1];
  const cli_command *cmd = cli_command_find(name);
  if (!cmd) return cli_fail_usage(NULL, "unknown command");
  if (is_runtime_command(name)) return run_runtime(argv);
  if (strcmp(name, "eval") == 0) return cmd_eval(cmd, argc - 2, argv + 2);
  if (strcmp(name, "fmt") == 0) return fmt_main(cmd, argc - 2, argv + 2);
  if (strcmp(name, "convert") == 0) return convert_main(cmd, argc - 2, argv + 2);
  cli c = {0};
  int rc = cli_parse(&c, cmd, argc - 2, argv + 2);
  if (rc == CLI_RUN) rc = strcmp(name, "build") == 0 ? cmd_build(&c)
                          : strcmp(name, "check") == 0 ? cmd_check(&c)
                          : strcmp(name, "explain") == 0 ? cmd_explain(&c)
                          : (puts("plumb " PLUMB_VERSION), 0); /* version: the one command left */
  cli_free(&c);
  return rc;
}

int main(int argc, char **argv) {
  signal(SIGXFSZ, SIG_IGN); /* a file-size limit is a write error to report, not a kill */
  return cli_flush_output(run_command(argc, argv));
}
