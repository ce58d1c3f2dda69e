/* cli.c: the flags and usage both command-line programs share (cli.h). */
#include "plumb/cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Flags several commands share, for their --help. */
#define COMPILE_FLAGS                                                                    \
  "  --env NAME         the env block to use, when the files declare several\n"         \
  "  --arg NAME=VALUE   a parameter of the env, read by its type: a string as\n"       \
  "                     it is, anything else as JSON (repeat it for each one)\n"      \
  "  --root DIR         the repository root: files outside it are not read\n"          \
  "                     (default: the nearest directory above PATH holding .git)\n"  \
  "  --kube-version V   check against the schemas of Kubernetes V (1.35, v1.35.2;\n"   \
  "                     default: the env's kube_version, else the newest)\n"         \
  "  --cache DIR        where plumb fetch keeps remote kustomization bases, and\n"   \
  "                     helm's renders of charts are kept\n"                       \
  "                     (default: $XDG_CACHE_HOME/plumb, else ~/.cache/plumb)\n"  \
  "  --sops-age-key-file F  age keys that open files SOPS encrypted (repeat it;\n" \
  "                     also $SOPS_AGE_KEY_FILE, $SOPS_AGE_KEY and sops' own\n"   \
  "                     keys.txt, as sops reads them)\n"                          \
  "  --sops-pgp-key-file F  an OpenPGP secret key that opens them (repeat it)\n"
/* A directory of YAML manifests, read as Argo CD's directory source. */
#define DIR_FLAGS                                                                        \
  "  --recurse          a directory of YAML manifests: read its subdirectories too\n" \
  "  --include GLOB     ...only the files whose path from it matches GLOB\n"          \
  "  --exclude GLOB     ...and not those matching GLOB ('*.yaml', '{a.yaml,b/*}')\n"
#define CLUSTER_FLAGS                                                                    \
  "  --kubeconfig F     the kubeconfig (default: $KUBECONFIG, ~/.kube/config)\n"      \
  "  --context C        its context to use (default: its current context)\n"
#define VALIDATE_FLAG                                                                    \
  "  --validate MODE    strict (the default): custom resources whose CRD the\n"       \
  "                     cluster has are checked against its schemas; or ignore\n"
#define API_FLAGS                                                                        \
  "  -o json            print the API's answer instead of a table\n"                    \
  "  --server URL       the plumb run to ask (default http://127.0.0.1:8080)\n"         \
  "  --token-file F     the API's token (default: $PLUMB_TOKEN, else plumb login's)\n"

/* The keys of files SOPS encrypted, for each command that compiles. */
#define SOPS_SYNOPSIS "[--sops-age-key-file F]... [--sops-pgp-key-file F]..."

/* In the order `plumb help` lists them. A synopsis goes on over lines
 * after a '\n', indented under its first word. */
static const cli_command commands[] = {
    {"build",
     "PATH [-o yaml|json] [--out-dir DIR] [--env NAME] [--arg NAME=VALUE]...\n[--root DIR] [--kube-version V] [--cache DIR]\n"
     "[--recurse] [--include GLOB] [--exclude GLOB]\n" SOPS_SYNOPSIS,
     "print the resources of an environment",
     "  -o, --output FMT   yaml (a stream of documents, the default) or json (a List)\n"
     "  --out-dir DIR      write one file per resource into DIR, which is replaced\n"
     "                     whole (docs/cli.md: only a DIR plumb wrote, or an empty one)\n" COMPILE_FLAGS DIR_FLAGS,
     1, 1},
    {"check",
     "PATH... [--env NAME] [--arg NAME=VALUE]... [--root DIR]\n[--kube-version V] [--cache DIR]\n"
     "[--recurse] [--include GLOB] [--exclude GLOB]\n" SOPS_SYNOPSIS,
     "compile and report errors, print nothing",
     "Every PATH is compiled: exit 1 when any does not compile, 2 when one does\nnot exist.\n\n" COMPILE_FLAGS DIR_FLAGS,
     1, -1},
    {"explain",
     "PATH KIND/NAME [FIELD] [--env NAME]\n[--arg NAME=VALUE]... [--root DIR] [--kube-version V]\n[--cache DIR] "
     "[--recurse] [--include GLOB] [--exclude GLOB]\n" SOPS_SYNOPSIS,
     "show where each field's value came from",
     "  KIND/NAME          the resource (the kind in any case: deployment/web)\n"
     "  FIELD              only this field: spec.template, containers[0].image\n" COMPILE_FLAGS DIR_FLAGS,
     2, 3},
    {"diff",
     "PATH [--kubeconfig F] [--context C] [--validate MODE] [--env NAME]\n[--arg NAME=VALUE]... [--root DIR] "
     "[--kube-version V] [--cache DIR]\n[--recurse] [--include GLOB] [--exclude GLOB]\n" SOPS_SYNOPSIS,
     "show what apply would change in the cluster",
     "Exit 0 when the cluster matches, 1 when it differs, 2 on an error.\n\n" CLUSTER_FLAGS VALIDATE_FLAG COMPILE_FLAGS
         DIR_FLAGS,
     1, 1},
    {"apply",
     "PATH [--kubeconfig F] [--context C] [--dry-run] [--force-conflicts]\n"
     "[--prune] [--wait] [--wait-timeout DURATION] [--validate MODE]\n[--env NAME] [--arg NAME=VALUE]... [--root DIR]\n"
     "[--kube-version V] [--cache DIR] [--recurse] [--include GLOB]\n[--exclude GLOB] " SOPS_SYNOPSIS,
     "server-side apply the environment to a cluster",
     "  --dry-run          the server checks everything and changes nothing\n"
     "  --force-conflicts  take over fields another field manager owns\n"
     "  --prune            delete what plumb applied for this env and it no longer has\n"
     "  --wait             after each wave, wait until its objects are healthy\n"
     "  --wait-timeout D   how long each wave may take (90s, 5m; implies --wait)\n" CLUSTER_FLAGS VALIDATE_FLAG
         COMPILE_FLAGS DIR_FLAGS,
     1, 1},
    {"run",
     "REPO [--config-path PATH] [--revision REV] [--cache DIR] [--once]\n"
     "[--listen ADDR:PORT] [--probe-listen ADDR:PORT] [--token-file F]\n"
     "[--auth-file F] [--webhook-secret-file F] [--lease-duration D]\n"
     "[--compile-limits LIST] [--app-namespace NS] [--public-url URL]\n"
     "[--shards N] [--shard-by application|cluster] [--advertise-url URL]\n"
     "[--kubeconfig F] [--context C]",
     "keep clusters equal to git: the applications\n"
     "REPO declares at PATH (docs/runtime.md)",
     "  --config-path PATH the env of REPO that declares the applications (default .)\n"
     "  --revision REV     the branch, tag or commit to follow (default HEAD)\n"
     "  --cache DIR        where fetched repositories are kept (/var/cache/plumb)\n"
     "  --once             one pass over every application, then a table; exit\n"
     "  --listen ADDR:PORT where to serve the API, probes, metrics (default :8080)\n"
     "  --probe-listen ADDR:PORT  also serve the probes and metrics here, apart\n"
     "                     from whatever load the main port has (:8081 in deploy/)\n"
     "  --token-file F     an API token of admin's\n"
     "  --auth-file F      accounts, roles and grants of the API and web UI\n"
     "  --webhook-secret-file F   the git webhooks' shared secret\n"
     "  --lease-duration D how long the leader's Lease holds (default 15s)\n"
     "  --compile-limits LIST  what one compile may use, in a child process:\n"
     "                     memory=1536Mi,cpu=60s,wall=90s,files=64 (docs/runtime.md)\n"
     "  --app-namespace NS where Application objects are read and mirrored\n"
     "                     (default: the runtime's namespace)\n"
     "  --public-url URL   where people reach the web UI: notifications link there\n"
     "  --shards N         split the applications among the replicas in N shards,\n"
     "                     each a Lease, instead of electing one leader\n"
     "  --shard-by KEY     what decides an application's shard: its name\n"
     "                     (application, the default) or its cluster\n"
     "  --advertise-url URL  where the other replicas reach this one's API: they\n"
     "                     forward there what is asked of its applications\n" CLUSTER_FLAGS,
     1, 1},
    {"status", "[APP] [-o json] [--server URL] [--token-file F]", "show the applications of a running plumb run",
     "Without APP, every application; with it, its objects too.\n\n" API_FLAGS, 0, 1},
    {"sync", "APP [-o json] [--server URL] [--token-file F]", "sync an application now", API_FLAGS, 1, 1},
    {"history", "APP [-o json] [--server URL] [--token-file F]", "list an application's past syncs", API_FLAGS, 1,
     1},
    {"suspend", "APP [-o json] [--server URL] [--token-file F]", "stop an application's automated sync",
     "Its automated sync and self-heal stop until plumb resume; it is still built\n"
     "and compared, so its status shows the difference.\n\n" API_FLAGS,
     1, 1},
    {"resume", "APP [-o json] [--server URL] [--token-file F]", "let a suspended application sync again", API_FLAGS,
     1, 1},
    {"rollback", "APP [ID] [-o json] [--server URL] [--token-file F]",
     "re-apply a past sync and pause automated sync",
     "  ID                 the history entry (default: the latest successful sync\n"
     "                     of another revision than the one applied)\n" API_FLAGS,
     1, 2},
    {"login", "[--server URL] [--username NAME]", "sign in to a running plumb run",
     "Reads the password from standard input (asks for it on a terminal), signs\n"
     "in, and keeps the session (a day) for status, sync, history and rollback\n"
     "to send to that server, in ~/.config/plumb/sessions.json.\n\n"
     "  --server URL       the plumb run (default http://127.0.0.1:8080)\n"
     "  --username NAME    the account (default admin)\n",
     0, 0},
    {"logout", "[--server URL]", "sign out of a running plumb run",
     "Ends the session plumb login kept for the server and forgets it.\n\n"
     "  --server URL       the plumb run (default http://127.0.0.1:8080)\n",
     0, 0},
    {"passwd", "", "print the bcrypt hash of a password, for the auth file",
     "Reads a password from the first line of standard input and prints its\n"
     "bcrypt hash, as an account of plumb run's --auth-file takes it (docs/ui.md).\n",
     0, 0},
    {"eval", "(-e EXPR | FILE | -)", "evaluate one expression and print it as JSON",
     "  -e EXPR            the expression; FILE holds one; - reads standard input\n", 0, 1},
    {"fmt", "[--check] PATH...", "rewrite .plumb files in the canonical layout",
     "A PATH that is a directory is walked for its .plumb files.\n\n"
     "  --check            change nothing: list the files not in the layout, exit 1\n",
     1, -1},
    {"convert", "DIR [--root DIR]", "write the Plumb equivalent of a kustomization tree",
     "Writes main.plumb beside DIR's kustomization.yaml and beside each one its\n"
     "resources and components reach (docs/kustomize.md); writes nothing when\n"
     "any part cannot be converted, or a directory already holds .plumb files.\n\n"
     "  --root DIR         the repository root: files outside it are not read\n"
     "                     (default: the nearest directory above DIR holding .git)\n",
     1, 1},
    {"fetch", "PATH [--update] [--env NAME] [--arg NAME=VALUE]... [--root DIR] [--cache DIR]\n" SOPS_SYNOPSIS,
     "fetch the remote bases and charts a build needs",
     "Fetches each repository that PATH's kustomizations list as a remote base\n"
     "(github.com/org/repo//dir?ref=v1 and the like, and those the fetched ones\n"
     "list) into the cache, at the commit its ref names now, and each chart of a\n"
     "chart repository or OCI registry that helm_chart() renders, at the version\n"
     "plumb.lock pins, pinning in plumb.lock those it does not; prints them.\n"
     "build and the others read them from there and reach no network\n"
     "(docs/kustomize.md, docs/language.md 8.5).\n\n"
     "  --update           pin every chart anew: the newest version its range allows\n" COMPILE_FLAGS,
     1, 1},
    {"version", "", "print the version", "", 0, 0},
};

const cli_command *cli_command_find(const char *name) {
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

/* text's lines, each after the first one indented by indent spaces. */
static void put_indented(FILE *out, const char *text, int indent) {
  for (const char *nl; (nl = strchr(text, '\n')); text = nl + 1)
    fprintf(out, "%.*s\n%*s", (int)(nl - text), text, indent, "");
  fputs(text, out);
}

/* "  NAME SYNOPSIS", then the summary from column SUMMARY_COL: on the same
 * line when there is room, else on the next. */
static void print_entry(FILE *out, const cli_command *c) {
  enum { SUMMARY_COL = 23 };
  int n = fprintf(out, "  %s%s", c->name, *c->synopsis ? " " : "");
  put_indented(out, c->synopsis, n);
  const char *last = strrchr(c->synopsis, '\n');
  int end = n + (int)strlen(last ? last + 1 : c->synopsis);
  if (end < SUMMARY_COL)
    fprintf(out, "%*s", SUMMARY_COL - end, "");
  else
    fprintf(out, "\n%*s", SUMMARY_COL, "");
  put_indented(out, c->summary, SUMMARY_COL);
  fputc('\n', out);
}

void cli_print_usage(FILE *out) {
  fputs("usage: plumb COMMAND [ARGS]\n\n", out);
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) print_entry(out, &commands[i]);
  fputs("\nplumb COMMAND --help tells more; docs/cli.md is the manual.\n", out);
}

static void print_synopsis(FILE *out, const cli_command *cmd) {
  int n = fprintf(out, "usage: plumb %s%s", cmd->name, *cmd->synopsis ? " " : "");
  put_indented(out, cmd->synopsis, n);
  fputc('\n', out);
}

void cli_print_help(FILE *out, const cli_command *cmd) {
  print_synopsis(out, cmd);
  fprintf(out, "\n%c", toupper((unsigned char)cmd->summary[0]));
  put_indented(out, cmd->summary + 1, 0);
  fprintf(out, ".\n\n%s", cmd->help);
}

int cli_fail_usage(const cli_command *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("plumb: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\n\n", stderr);
  va_end(ap);
  if (cmd)
    print_synopsis(stderr, cmd);
  else
    cli_print_usage(stderr);
  return 2;
}

bool cli_is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

/* Too few or too many positional arguments is a usage error: an argument
 * left over would be ignored, and a CI step that names two environments
 * would pass having checked one. */
int cli_want_count(const cli_command *cmd, int n, char *const *args) {
  if (n < cmd->min_args) return cli_fail_usage(cmd, n ? "missing arguments" : "missing argument");
  if (cmd->max_args >= 0 && n > cmd->max_args) return cli_fail_usage(cmd, "unexpected argument %s", args[cmd->max_args]);
  return 0;
}

/* Whether cmd takes flag: its synopsis names it, as "[--flag" followed by
 * ' ' or ']'. The synopsis is the one list of a command's flags. */
static bool takes_flag(const cli_command *cmd, const char *flag) {
  if (strcmp(flag, "--output") == 0) flag = "-o";
  size_t n = strlen(flag);
  for (const char *p = cmd->synopsis; (p = strstr(p, flag)); p += n)
    if (p > cmd->synopsis && p[-1] == '[' && (p[n] == ' ' || p[n] == ']')) return true;
  return false;
}

/* The value slot of flag a, or NULL when a takes none. */
static const char **value_slot(cli *c, const char *a) {
  return strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ? &c->output
         : strcmp(a, "--out-dir") == 0                      ? &c->out_dir
         : strcmp(a, "--env") == 0                          ? &c->copts.env
         : strcmp(a, "--root") == 0                         ? &c->copts.root
         : strcmp(a, "--kube-version") == 0                 ? &c->copts.kube_version
         : strcmp(a, "--kubeconfig") == 0                   ? &c->kubeconfig
         : strcmp(a, "--context") == 0                      ? &c->context
         : strcmp(a, "--config-path") == 0                  ? &c->config_path
         : strcmp(a, "--revision") == 0                     ? &c->revision
         : strcmp(a, "--cache") == 0                        ? &c->cache_dir
         : strcmp(a, "--listen") == 0                       ? &c->listen
         : strcmp(a, "--probe-listen") == 0                 ? &c->probe_listen
         : strcmp(a, "--token-file") == 0                   ? &c->token_file
         : strcmp(a, "--auth-file") == 0                    ? &c->auth_file
         : strcmp(a, "--webhook-secret-file") == 0          ? &c->webhook_secret_file
         : strcmp(a, "--lease-duration") == 0               ? &c->lease_duration
         : strcmp(a, "--compile-limits") == 0               ? &c->compile_limits
         : strcmp(a, "--app-namespace") == 0                ? &c->app_namespace
         : strcmp(a, "--shards") == 0                       ? &c->shards
         : strcmp(a, "--shard-by") == 0                     ? &c->shard_by
         : strcmp(a, "--public-url") == 0                   ? &c->public_url
         : strcmp(a, "--advertise-url") == 0                ? &c->advertise_url
         : strcmp(a, "--server") == 0                       ? &c->server
         : strcmp(a, "--username") == 0                     ? &c->username
         : strcmp(a, "--wait-timeout") == 0                 ? &c->wait_timeout
         : strcmp(a, "--validate") == 0                     ? &c->validate
         : strcmp(a, "--include") == 0                      ? &c->copts.yaml_dir.include
         : strcmp(a, "--exclude") == 0                      ? &c->copts.yaml_dir.exclude
                                                            : NULL;
}

static bool *bool_flag(cli *c, const char *a) {
  return strcmp(a, "--dry-run") == 0           ? &c->dry_run
         : strcmp(a, "--force-conflicts") == 0 ? &c->force
         : strcmp(a, "--prune") == 0           ? &c->prune
         : strcmp(a, "--once") == 0            ? &c->once
         : strcmp(a, "--wait") == 0            ? &c->wait
         : strcmp(a, "--recurse") == 0         ? &c->copts.yaml_dir.recurse
         : strcmp(a, "--update") == 0          ? &c->update
                                               : NULL;
}

/* The positional arguments are gathered at the front of argv's own array,
 * the values of --arg right after them: each takes the place of an
 * argument already read (a flag's value is kept by pointer, so the slots
 * it leaves are free). */
static void keep_positional(cli *c, char **argv, char *a) {
  memmove(argv + c->nargs + 1, argv + c->nargs, c->copts.nargs * sizeof *argv);
  argv[c->nargs++] = a;
}

static void keep_arg(cli *c, char **argv, char *a) { argv[c->nargs + c->copts.nargs++] = a; }

/* Where remote bases are kept when --cache does not say: the user's cache
 * directory, as XDG names it. NULL without a home. */
static const char *user_cache(cli *c) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  if (xdg && xdg[0] == '/') snprintf(c->cache_buf, sizeof c->cache_buf, "%s/plumb", xdg);
  else if (home && home[0] == '/') snprintf(c->cache_buf, sizeof c->cache_buf, "%s/.cache/plumb", home);
  return c->cache_buf[0] ? c->cache_buf : NULL;
}

/* The embedded version --kube-version names, or NULL after saying why. */
static const char *kube_version(const char *text) {
  bool malformed;
  const char *v = compile_kube_version(text, &malformed);
  if (v) return v;
  if (malformed) {
    fprintf(stderr, "plumb: --kube-version takes a Kubernetes version such as 1.35, v1.35 or v1.35.2, not %s\n", text);
    return NULL;
  }
  arena *a = arena_new();
  fprintf(stderr, "plumb: --kube-version %s is not embedded; plumb has the schemas of Kubernetes %s\n", text,
          compile_kube_versions_text(a));
  arena_free(a);
  return NULL;
}

static bool is_key_flag(const char *a) {
  return strcmp(a, "--sops-age-key-file") == 0 || strcmp(a, "--sops-pgp-key-file") == 0;
}

/* Adds a key whose from and data are the cli's now (cli_free frees them). */
static bool add_key(cli *c, compile_sops_kind kind, char *from, char *data, size_t len) {
  if (c->copts.nsops_keys == CLI_MAX_SOPS_KEYS) {
    fprintf(stderr, "plumb: more than %d SOPS keys\n", CLI_MAX_SOPS_KEYS);
    explicit_bzero(data, len);
    free(data);
    free(from);
    return false;
  }
  c->sops_keys[c->copts.nsops_keys++] = (compile_sops_key){kind, from, data, len};
  c->copts.sops_keys = c->sops_keys;
  return true;
}

/* The key file at path, read whole into a block of its size (a buffer
 * that grows would leave copies of the key behind). missing_ok: a file
 * that is not there is no key and no error. False after saying why. */
static bool read_key(cli *c, compile_sops_kind kind, const char *from, const char *path, bool missing_ok) {
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && missing_ok && errno == ENOENT) return true;
  const char *why = fd < 0 || fstat(fd, &st) != 0 ? strerror(errno)
                    : !S_ISREG(st.st_mode)         ? "not a file"
                    : st.st_size > CLI_MAX_KEY_FILE ? "larger than a key file may be (1 MiB)"
                                                    : NULL;
  size_t len = why ? 0 : (size_t)st.st_size, got = 0;
  char *data = heap_alloc(len + 1);
  while (!why && got < len) {
    ssize_t n = read(fd, data + got, len - got);
    if (n <= 0 && !(n < 0 && errno == EINTR)) why = n < 0 ? strerror(errno) : "it shrank while read";
    if (n > 0) got += (size_t)n;
  }
  if (fd >= 0) close(fd);
  if (!why) return add_key(c, kind, heap_printf("%s %s", from, path), data, len);
  fprintf(stderr, "plumb: cannot read the key file %s (%s): %s\n", path, from, why);
  free(data);
  return false;
}

/* The age keys sops would read from the environment, after those of the
 * flags: $SOPS_AGE_KEY_FILE, $SOPS_AGE_KEY, and sops/age/keys.txt in the
 * user's configuration directory when it is there. */
static bool read_env_keys(cli *c) {
  const char *file = getenv("SOPS_AGE_KEY_FILE"), *text = getenv("SOPS_AGE_KEY");
  const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
  if (file && *file && !read_key(c, COMPILE_SOPS_AGE, "SOPS_AGE_KEY_FILE", file, false)) return false;
  if (text && *text && !add_key(c, COMPILE_SOPS_AGE, heap_strdup("SOPS_AGE_KEY"), heap_strdup(text), strlen(text)))
    return false;
  char *dflt = xdg && xdg[0] == '/' ? heap_printf("%s/sops/age/keys.txt", xdg)
               : home && home[0] == '/' ? heap_printf("%s/.config/sops/age/keys.txt", home)
                                        : NULL;
  bool ok = !dflt || read_key(c, COMPILE_SOPS_AGE, "sops' keys.txt", dflt, true);
  free(dflt);
  return ok;
}

int cli_parse(cli *c, const cli_command *cmd, int argc, char **argv) {
  c->args = argv;
  for (int i = 0; i < argc; i++) {
    char *a = argv[i];
    const char **slot = value_slot(c, a);
    bool *flag = bool_flag(c, a);
    bool is_arg = strcmp(a, "--arg") == 0, is_key = is_key_flag(a);
    if (cli_is_help(a)) {
      cli_print_help(stdout, cmd);
      return 0;
    } else if ((flag || slot || is_arg || is_key) && !takes_flag(cmd, a)) {
      return cli_fail_usage(cmd, "%s takes no flag %s", cmd->name, a);
    } else if (flag) {
      *flag = true;
    } else if (slot || is_arg || is_key) {
      if (i + 1 >= argc) {
        fprintf(stderr, "plumb: %s needs a value\n", a);
        return 2;
      }
      if (is_arg) keep_arg(c, argv, argv[++i]);
      else if (!is_key) *slot = argv[++i];
      else if (!read_key(c, a[7] == 'a' ? COMPILE_SOPS_AGE : COMPILE_SOPS_PGP, a, argv[++i], false)) return 2;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "plumb: unknown flag %s\n", a);
      return 2;
    } else {
      keep_positional(c, argv, a);
    }
  }
  c->copts.args = (const char *const *)argv + c->nargs;
  if (c->output && strcmp(c->output, "yaml") && strcmp(c->output, "json")) {
    fprintf(stderr, "plumb: -o takes yaml or json, not %s\n", c->output);
    return 2;
  }
  if (c->validate && strcmp(c->validate, "strict") && strcmp(c->validate, "ignore")) {
    fprintf(stderr, "plumb: --validate takes strict or ignore, not %s\n", c->validate);
    return 2;
  }
  int bad = cli_want_count(cmd, c->nargs, c->args);
  if (bad) return bad;
  if (takes_flag(cmd, "--sops-age-key-file") && !read_env_keys(c)) return 2;
  if (c->copts.kube_version && !(c->copts.kube_version = kube_version(c->copts.kube_version))) return 2;
  c->copts.path = cli_arg(c, 0);
  const char *cache = c->cache_dir ? c->cache_dir : user_cache(c);
  c->remote = (compile_remote){compile_remote_cached, (void *)cache};
  c->copts.remote = cache ? &c->remote : NULL;
  c->charts = (compile_charts){.get = compile_charts_cached, .ctx = (void *)cache};
  c->copts.charts = cache ? &c->charts : NULL;
  /* helm_chart() runs helm from the PATH, and keeps its renders beside
   * the remote bases; the compiler itself reads no environment. */
  c->copts.helm = (compile_helm){.path = getenv("PATH"), .tmp = getenv("TMPDIR"), .cache = cache};
  return CLI_RUN;
}

const char *cli_arg(const cli *c, int i) { return i < c->nargs ? c->args[i] : NULL; }

void cli_free(cli *c) {
  for (size_t i = 0; i < c->copts.nsops_keys; i++) {
    explicit_bzero((char *)c->sops_keys[i].data, c->sops_keys[i].len);
    free((char *)c->sops_keys[i].data);
    free((char *)c->sops_keys[i].from);
  }
  c->copts.nsops_keys = 0;
}

compile_result *cli_compile(cli *c) {
  compile_result *r = compile_build(&c->copts);
  if (r->diags.first) diag_print(&r->diags, stderr); /* errors, or warnings of a build that passed */
  return r;
}

/* A PATH that is not there is a usage mistake (2), not a compile error (1). */
int cli_want_path(const cli *c) {
  struct stat st;
  if (stat(c->copts.path, &st) != 0) {
    fprintf(stderr, "plumb: cannot open %s: %s\n", c->copts.path, strerror(errno));
    return 2;
  }
  return 0;
}

int cli_flush_output(int rc) {
  if (fflush(stdout) == 0 && !ferror(stdout)) return rc;
  fprintf(stderr, "plumb: cannot write the output: %s\n", strerror(errno));
  return 2;
}
