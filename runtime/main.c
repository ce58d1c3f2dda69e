/* main.c: plumb-runtime, the commands that talk to clusters. `plumb` runs
 * it for them (compiler/cli.h says why there are two programs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plumb/apply.h"

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

int main(int argc, char **argv) {
  if (argc < 2) return cli_fail_usage("missing command");
  cli c = {0};
  int rc = cli_parse(&c, argc - 2, argv + 2);
  if (rc) return rc;
  if (strcmp(argv[1], "diff") == 0) return cmd_cluster(&c, false);
  if (strcmp(argv[1], "apply") == 0) return cmd_cluster(&c, true);
  return cli_fail_usage("unknown command");
}
