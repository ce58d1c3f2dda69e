/* main.c: plumb-runtime, the commands that talk to clusters. `plumb` runs
 * it for them (compiler/cli.h says why there are two programs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plumb/apply.h"
#include "plumb/run.h"

/* A client for the cluster the flags name. No kubeconfig anywhere: inside
 * a pod, the service account (as client-go falls back). */
static bool connect(const cli *c, kube_config **cfg, kube_client **k) {
  char *err = NULL;
  int found = kube_config_load(cfg, c->kubeconfig, c->context, &err);
  if (found == KUBE_ENOTFOUND && !c->kubeconfig) {
    free(err);
    err = NULL;
    found = kube_config_in_cluster(cfg, NULL, &err);
  }
  bool ok = found == 0 && kube_client_new(k, *cfg, NULL, &err) == 0;
  if (!ok) fprintf(stderr, "plumb: %s\n", err ? err : "cannot configure the client");
  free(err);
  return ok;
}

/* diff and apply: compile, connect, then act. Exit status 2 means the
 * cluster could not be reached or the input was wrong. */
static int cmd_cluster(cli *c, bool apply) {
  int bad = cli_want_path(c);
  if (bad) return bad;
  compile_result *r = cli_compile(c);
  if (r->diags.errors) {
    if (apply && c->prune) fputs("plumb: not pruning: the compile failed\n", stderr);
    compile_free(r);
    return apply ? 1 : 2;
  }
  kube_config *cfg = NULL;
  kube_client *k = NULL;
  int rc = 2;
  if (connect(c, &cfg, &k)) {
    apply_opts o = {.dry_run = c->dry_run, .force = c->force, .prune = c->prune, .out = stdout};
    rc = apply ? (apply_resources(k, r, &o) ? 1 : 0) : diff_resources(k, r, NULL, stdout);
  }
  kube_client_free(k);
  kube_config_free(cfg);
  compile_free(r);
  return rc;
}

/* run: the operator, on the cluster the flags name. */
static int cmd_run(cli *c) {
  if (!c->args[0]) return cli_fail_usage("missing REPO");
  kube_config *cfg = NULL;
  kube_client *k = NULL;
  int rc = 2;
  if (connect(c, &cfg, &k)) {
    run_opts o = {.repo = c->args[0], .path = c->config_path, .revision = c->revision,
                  .cache_dir = c->cache_dir ? c->cache_dir : "/var/cache/plumb", .once = c->once, .out = stdout};
    rc = run_main(k, &o);
  }
  kube_client_free(k);
  kube_config_free(cfg);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) return cli_fail_usage("missing command");
  cli c = {0};
  int rc = cli_parse(&c, argc - 2, argv + 2);
  if (rc) return rc;
  if (strcmp(argv[1], "diff") == 0) return cmd_cluster(&c, false);
  if (strcmp(argv[1], "apply") == 0) return cmd_cluster(&c, true);
  if (strcmp(argv[1], "run") == 0) return cmd_run(&c);
  return cli_fail_usage("unknown command");
}
