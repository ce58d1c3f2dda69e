/* main.c: plumb-runtime, the commands that talk to clusters. `plumb` runs
 * it for them (include/plumb/cli.h says why there are two programs). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "plumb/auth.h"
#include "plumb/cli.h"
#include "plumb/app.h"
#include "plumb/apply.h"
#include "plumb/ctl.h"
#include "plumb/run.h"

enum { MAX_SECRET_FILE = 64 << 10, WAIT_DEFAULT_S = 300 };

/* A client for the cluster the flags name. No kubeconfig anywhere and none
 * asked for: inside a pod, the service account (as client-go falls back). */
static bool connect(const cli *c, kube_config **cfg, kube_client **k) {
  char *err = NULL;
  int found = kube_config_load(cfg, c->kubeconfig, c->context, &err);
  if (found == KUBE_ENOTFOUND && !c->kubeconfig && !c->context) {
    free(err);
    err = NULL;
    found = kube_config_in_cluster(cfg, NULL, &err);
  }
  bool ok = found == 0 && kube_client_new(k, *cfg, NULL, &err) == 0;
  if (!ok) fprintf(stderr, "plumb: %s\n", err ? err : "cannot configure the client");
  free(err);
  return ok;
}

/* Whole seconds, bare or with the suffix s, or minutes with m: "90s",
 * "5m". False unless positive. */
static bool parse_duration(const char *s, double *seconds) {
  char *end;
  errno = 0;
  long n = strtol(s, &end, 10);
  int unit = strcmp(end, "m") == 0 ? 60 : !*end || strcmp(end, "s") == 0 ? 1 : 0;
  if (!isdigit((unsigned char)*s) || errno || n <= 0 || !unit) return false;
  *seconds = (double)n * unit;
  return true;
}

/* The embedded version nearest the cluster's, which the build checks
 * against unless --kube-version or the env's kube_version chooses, as
 * Argo CD gives Helm the cluster's version; said when it is not the
 * cluster's own. NULL (the newest) when the cluster does not say: the
 * requests that follow report why. */
static const char *cluster_version(kube_client *k) {
  char *served = NULL;
  bool exact = false;
  const char *v = kube_server_version(k, &served) == KUBE_OK ? compile_kube_version_nearest(served, &exact) : NULL;
  if (v && !exact)
    fprintf(stderr,
            "plumb: the cluster serves Kubernetes %s, whose schemas plumb does not have; an env that sets no "
            "kube_version is checked against %s\n",
            served, v);
  free(served);
  return v;
}

/* diff and apply: connect, compile, then act. Exit status 2 means the
 * cluster could not be reached or the input was wrong. */
static int cmd_cluster(cli *c, bool apply) {
  int bad = cli_want_path(c);
  if (bad) return bad;
  double wait_s = WAIT_DEFAULT_S;
  if (c->wait_timeout && !parse_duration(c->wait_timeout, &wait_s)) {
    fprintf(stderr, "plumb: --wait-timeout takes a duration such as 90s or 5m, not %s\n", c->wait_timeout);
    return 2;
  }
  kube_config *cfg = NULL;
  kube_client *k = NULL;
  bool connected = connect(c, &cfg, &k);
  if (connected && !c->copts.kube_version) c->copts.kube_version_default = cluster_version(k);
  compile_result *r = cli_compile(c);
  int rc = 2;
  diag_list served;
  diag_init(&served, r->arena);
  bool strict = !c->validate || strcmp(c->validate, "strict") == 0;
  if (!r->diags.errors && connected && strict && !apply_check_served(k, r, &served)) diag_print(&served, stderr);
  if (r->diags.errors || served.first) {
    if (apply && c->prune) fputs("plumb: not pruning: the compile failed\n", stderr);
    rc = apply ? 1 : 2;
  } else if (connected) {
    bool wait = c->wait || c->wait_timeout;
    apply_opts o = {.dry_run = c->dry_run, .force = c->force, .prune = c->prune, .out = stdout,
                    .wave_timeout_s = wait ? wait_s : 0, .wait_last = wait};
    rc = apply ? (apply_resources(k, r, &o) ? 1 : 0) : diff_resources(k, r, NULL, NULL, NULL, 0, stdout);
  }
  kube_client_free(k);
  kube_config_free(cfg);
  compile_free(r);
  return rc;
}

/* A token or secret from path, without the newline editors end it with;
 * NULL when there is no path. *bad when it cannot be read. Wipe and free
 * it with forget. */
static char *read_secret(const char *path, bool *bad) {
  size_t len = 0;
  char *s = path ? kube_read_file(path, MAX_SECRET_FILE, &len) : NULL;
  if (path && !s) {
    fprintf(stderr, "plumb: cannot read %s: %s\n", path, strerror(errno));
    *bad = true;
  }
  while (s && len > 0 && isspace((unsigned char)s[len - 1])) s[--len] = '\0';
  return s;
}

static void forget(char *secret) {
  if (secret) explicit_bzero(secret, strlen(secret));
  free(secret);
}

/* ADDR:PORT, :PORT or [V6]:PORT into *address (addr, or NULL for every
 * address) and *port; false when malformed. */
static bool parse_listen(const char *s, char *addr, size_t size, const char **address, unsigned *port) {
  const char *colon = strrchr(s, ':');
  char *end;
  if (!colon) return false;
  long number = strtol(colon + 1, &end, 10);
  if (colon[1] == '\0' || *end || number < 0 || number > 65535) return false;
  const char *host = s;
  size_t n = (size_t)(colon - s);
  if (n >= 2 && s[0] == '[' && s[n - 1] == ']') host++, n -= 2;
  if (n >= size) return false;
  memcpy(addr, host, n);
  addr[n] = '\0';
  *address = n ? addr : NULL;
  *port = (unsigned)number;
  return true;
}

/* As many open files as the hard limit allows: each connection of the
 * HTTP port is one (serve.h sizes its limit by it), and thousands may be
 * idle at once. */
static void raise_file_limit(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

/* run: the operator, on the cluster the flags name. */
static int cmd_run(cli *c) {
  /* Its log is read as it is written (kubectl logs, a file being
   * followed): a line must not wait in a buffer for the next 4 KiB. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  raise_file_limit();
  run_opts o = {.repo = cli_arg(c, 0), .path = c->config_path, .revision = c->revision,
                .cache_dir = c->cache_dir ? c->cache_dir : "/var/cache/plumb", .once = c->once, .out = stdout};
  char addr[64], probe_addr[64];
  if (!parse_listen(c->listen ? c->listen : ":8080", addr, sizeof addr, &o.address, &o.port)) {
    fprintf(stderr, "plumb: --listen takes ADDR:PORT, :PORT or [ADDR]:PORT, not %s\n", c->listen);
    return 2;
  }
  o.probes = c->probe_listen != NULL;
  if (o.probes && !parse_listen(c->probe_listen, probe_addr, sizeof probe_addr, &o.probe_address, &o.probe_port)) {
    fprintf(stderr, "plumb: --probe-listen takes ADDR:PORT, :PORT or [ADDR]:PORT, not %s\n", c->probe_listen);
    return 2;
  }
  o.lease_duration_s = c->lease_duration ? app_parse_interval(c->lease_duration) : 15;
  if (o.lease_duration_s < 3) {
    fprintf(stderr, "plumb: --lease-duration takes a duration of at least 3s like 15s or 1m, not %s\n",
            c->lease_duration);
    return 2;
  }
  if (c->shards) {
    char *end;
    long n = strtol(c->shards, &end, 10);
    if (*end || end == c->shards || n < 1 || n > 1024) {
      fprintf(stderr, "plumb: --shards takes a number from 1 to 1024, not %s\n", c->shards);
      return 2;
    }
    o.shards = (int)n;
  }
  if (c->shard_by && strcmp(c->shard_by, "application") != 0 && strcmp(c->shard_by, "cluster") != 0) {
    fprintf(stderr, "plumb: --shard-by takes application or cluster, not %s\n", c->shard_by);
    return 2;
  }
  o.shard_by_cluster = c->shard_by && strcmp(c->shard_by, "cluster") == 0;
  if (c->public_url && strncmp(c->public_url, "https://", 8) != 0 && strncmp(c->public_url, "http://", 7) != 0) {
    fprintf(stderr, "plumb: --public-url takes an http:// or https:// URL, not %s\n", c->public_url);
    return 2;
  }
  o.public_url = c->public_url;
  if (c->advertise_url && strncmp(c->advertise_url, "https://", 8) != 0 &&
      strncmp(c->advertise_url, "http://", 7) != 0) {
    fprintf(stderr, "plumb: --advertise-url takes an http:// or https:// URL, not %s\n", c->advertise_url);
    return 2;
  }
  o.advertise_url = c->advertise_url;
  o.limits = source_default_limits;
  char *err;
  if (c->compile_limits && source_limits_parse(&o.limits, c->compile_limits, &err) != 0) {
    fprintf(stderr, "plumb: %s\n", err);
    free(err);
    return 2;
  }
  bool bad = false;
  char *token = read_secret(c->token_file, &bad), *secret = read_secret(c->webhook_secret_file, &bad);
  o.token = token;
  o.auth_file = c->auth_file;
  o.webhook_secret = secret;
  kube_config *cfg = NULL;
  kube_client *k = NULL;
  int rc = 2;
  if (!bad && connect(c, &cfg, &k)) {
    o.cfg = cfg;
    o.kubeconfig = c->kubeconfig;
    o.app_namespace = c->app_namespace;
    rc = run_main(k, &o);
  }
  kube_client_free(k);
  kube_config_free(cfg);
  forget(token);
  forget(secret);
  return rc;
}

/* A compile_remote.dir that fetches into the cache (ctx) and says what. */
static const char *fetch_remote(void *cache, arena *a, const char *url, const char *ref, const char **err) {
  source_rev rev;
  char *why = NULL;
  if (source_remote_fetch(cache, url, ref, &rev, &why) != 0) {
    *err = arena_strdup(a, why);
    free(why);
    return NULL;
  }
  printf("%s%s%s %s\n", url, ref ? "?ref=" : "", ref ? ref : "", rev.commit);
  return compile_remote_tree_dir(a, cache, rev.commit);
}

/* The charts plumb fetch pinned, to be written into their plumb.lock. */
typedef struct {
  arena *a;
  compile_chart *pins;
  size_t n;
} pins_seen;

static void note_pin(void *ctx, const compile_chart *c) {
  pins_seen *p = ctx;
  p->pins = arena_room_for_one(p->a, p->pins, p->n, sizeof *p->pins);
  compile_chart *k = &p->pins[p->n++];
  *k = (compile_chart){arena_strdup(p->a, c->repo),   arena_strdup(p->a, c->chart),  arena_strdup(p->a, c->version),
                       arena_strdup(p->a, c->pinned), arena_strdup(p->a, c->digest), arena_strdup(p->a, c->lock),
                       c->lock_file ? arena_strdup(p->a, c->lock_file) : NULL};
  printf("%s %s %s %s\n", k->repo, k->chart, k->pinned, k->digest);
}

/* Writes the pins of lock_file among p's into it, as a whole file. */
static bool write_lock(const pins_seen *p, const char *lock_file) {
  compile_chart *mine = arena_alloc(p->a, (p->n + 1) * sizeof *mine);
  size_t n = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->pins[i].lock_file && strcmp(p->pins[i].lock_file, lock_file) == 0) mine[n++] = p->pins[i];
  size_t len = 0;
  char *old = kube_read_file(lock_file, COMPILE_MAX_FILE, &len);
  const char *err = NULL, *text = compile_lock_text(p->a, old, len, mine, n, &err);
  free(old);
  char *tmp = heap_printf("%s.%ld.tmp", lock_file, (long)getpid());
  FILE *f = text ? fopen(tmp, "w") : NULL;
  bool ok = f && fputs(text, f) >= 0;
  ok = f && fclose(f) == 0 && ok && rename(tmp, lock_file) == 0;
  if (!ok) fprintf(stderr, "plumb: cannot write %s: %s\n", lock_file, err ? err : strerror(errno));
  unlink(tmp);
  free(tmp);
  return ok;
}

/* helm's repositories.yaml, as helm finds it (its own environment
 * variables, then XDG's), in a; NULL without a home. */
static const char *helm_repositories(arena *a) {
  const char *file = getenv("HELM_REPOSITORY_CONFIG"), *helm = getenv("HELM_CONFIG_HOME");
  const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
  if (file && *file) return file;
  if (helm && *helm) return arena_printf(a, "%s/repositories.yaml", helm);
  if (xdg && *xdg) return arena_printf(a, "%s/helm/repositories.yaml", xdg);
  return home && *home ? arena_printf(a, "%s/.config/helm/repositories.yaml", home) : NULL;
}

/* fetch: the remote bases and charts PATH reaches, into the cache,
 * through a build that fetches each as it meets it (a fetched base may
 * list more), then the pins of the charts into their plumb.lock files. */
static int cmd_fetch(cli *c) {
  int bad = cli_want_path(c);
  if (bad) return bad;
  if (!c->copts.remote) {
    fprintf(stderr, "plumb: there is no home directory to keep a cache in: give --cache DIR\n");
    return 2;
  }
  compile_remote fetching = {fetch_remote, c->remote.ctx};
  c->copts.remote = &fetching;
  pins_seen seen = {arena_new(), NULL, 0};
  /* The repositories of helm repo add serve with their credentials. */
  const char *helm_repos = helm_repositories(seen.a), *err;
  source_chart_creds *creds = NULL;
  size_t ncreds = 0;
  if (helm_repos && source_chart_creds_from_helm(seen.a, helm_repos, &creds, &ncreds, &err) != 0) {
    fprintf(stderr, "plumb: %s\n", err);
    arena_free(seen.a);
    return 1;
  }
  source_charts pulling = {.cache = c->remote.ctx,
                           .creds = creds,
                           .ncreds = ncreds,
                           .path = getenv("PATH"),
                           .tmp = getenv("TMPDIR"),
                           .env = environ,
                           .pinned = note_pin,
                           .ctx = &seen};
  compile_charts charts = {source_chart_get, &pulling, true, c->update};
  c->copts.charts = &charts;
  compile_result *r = cli_compile(c);
  int rc = r->diags.errors ? 1 : 0;
  for (size_t i = 0; i < seen.n; i++) {
    const char *lock = seen.pins[i].lock_file;
    size_t j = 0;
    while (j < i && !(lock && seen.pins[j].lock_file && strcmp(lock, seen.pins[j].lock_file) == 0)) j++;
    if (lock && j == i && !write_lock(&seen, lock)) rc = 1;
  }
  compile_free(r);
  arena_free(seen.a);
  return rc;
}

/* Where plumb login keeps its sessions (malloc'd): the XDG config home's
 * plumb/sessions.json; NULL without a home. */
static char *sessions_path(void) {
  const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
  if (xdg && *xdg) return heap_printf("%s/plumb/sessions.json", xdg);
  return home && *home ? heap_printf("%s/.config/plumb/sessions.json", home) : NULL;
}

/* The password, from standard input's first line; asked for without echo
 * when it is a terminal. */
static char *read_password(void) {
  if (isatty(STDIN_FILENO)) {
    char *p = getpass("Password: ");
    return p ? heap_strdup(p) : NULL;
  }
  char line[1024];
  if (!fgets(line, sizeof line, stdin)) return NULL;
  line[strcspn(line, "\r\n")] = '\0';
  char *p = heap_strdup(line);
  explicit_bzero(line, sizeof line);
  return p;
}

/* login, logout: a session with a running plumb run, kept for the others. */
static int cmd_session(bool login, cli *c) {
  char *path = sessions_path(), *password = NULL;
  ctl_opts o = {.server = c->server ? c->server : "http://127.0.0.1:8080", .out = stdout};
  int rc = 2;
  if (!path) fprintf(stderr, "plumb: there is no home directory to keep the session in\n");
  else if (login && !(password = read_password()))
    fprintf(stderr, "plumb: login reads the password from standard input\n");
  else rc = login ? ctl_login(&o, c->username ? c->username : "admin", password, path) : ctl_logout(&o, path);
  forget(password);
  free(path);
  return rc;
}

/* status, sync, history, rollback, suspend, resume: the API of a running plumb run, with
 * --token-file's token, else $PLUMB_TOKEN, else plumb login's session. */
static int cmd_ctl(const char *cmd, cli *c) {
  bool status = strcmp(cmd, "status") == 0, bad = false;
  char *token = read_secret(c->token_file, &bad);
  if (bad) return 2;
  const char *server = c->server ? c->server : "http://127.0.0.1:8080";
  char *path = token || getenv("PLUMB_TOKEN") ? NULL : sessions_path();
  char *session = path ? ctl_session(path, server) : NULL;
  free(path);
  ctl_opts o = {.server = server,
                .token = token ? token : getenv("PLUMB_TOKEN") ? getenv("PLUMB_TOKEN") : session,
                .json = c->output && strcmp(c->output, "json") == 0,
                .out = stdout};
  const char *app = cli_arg(c, 0);
  int rc = status                        ? ctl_status(&o, app)
           : strcmp(cmd, "sync") == 0    ? ctl_sync(&o, app)
           : strcmp(cmd, "history") == 0 ? ctl_history(&o, app)
           : strcmp(cmd, "suspend") == 0 ? ctl_suspend(&o, app, true)
           : strcmp(cmd, "resume") == 0  ? ctl_suspend(&o, app, false)
                                         : ctl_rollback(&o, app, cli_arg(c, 1));
  forget(token);
  forget(session);
  return rc;
}

/* passwd: the bcrypt hash of the password on standard input's first line. */
static int cmd_passwd(void) {
  char line[1024];
  if (!fgets(line, sizeof line, stdin) || !*line || *line == '\n') {
    fprintf(stderr, "plumb: passwd reads the password from standard input\n");
    return 2;
  }
  line[strcspn(line, "\r\n")] = '\0';
  char *hash = auth_hash_password(line);
  explicit_bzero(line, sizeof line);
  printf("%s\n", hash);
  free(hash);
  return 0;
}

/* The command argv[1] names, its flags parsed into c. */
static int run_parsed(const char *name, cli *c) {
  if (strcmp(name, "diff") == 0) return cmd_cluster(c, false);
  if (strcmp(name, "apply") == 0) return cmd_cluster(c, true);
  if (strcmp(name, "run") == 0) return cmd_run(c);
  if (strcmp(name, "fetch") == 0) return cmd_fetch(c);
  if (strcmp(name, "passwd") == 0) return cmd_passwd();
  if (strcmp(name, "login") == 0 || strcmp(name, "logout") == 0) return cmd_session(strcmp(name, "login") == 0, c);
  static const char *const ctl[] = {"status", "sync", "history", "rollback", "suspend", "resume"};
  for (size_t i = 0; i < sizeof ctl / sizeof *ctl; i++)
    if (strcmp(name, ctl[i]) == 0) return cmd_ctl(name, c);
  return cli_fail_usage(NULL, "unknown command");
}

static int run_command(int argc, char **argv) {
  const cli_command *cmd = argc < 2 ? NULL : cli_command_find(argv[1]);
  if (!cmd) return cli_fail_usage(NULL, argc < 2 ? "missing command" : "unknown command");
  cli c = {0};
  int rc = cli_parse(&c, cmd, argc - 2, argv + 2);
  if (rc == CLI_RUN) rc = run_parsed(argv[1], &c);
  cli_free(&c);
  return rc;
}

int main(int argc, char **argv) { return cli_flush_output(run_command(argc, argv)); }
