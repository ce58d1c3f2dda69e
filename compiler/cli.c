/* cli.c: the flags and usage both command-line programs share (cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

const char cli_usage[] =
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
    "        [--prune] [--wait] [--wait-timeout DURATION] [--env NAME] [--root DIR]\n"
    "                       server-side apply the environment to a cluster\n"
    "  run REPO [--config-path PATH] [--revision REV] [--cache DIR] [--once]\n"
    "      [--listen ADDR:PORT] [--token-file F] [--webhook-secret-file F]\n"
    "      [--lease-duration D] [--compile-limits LIST] [--kubeconfig F] [--context C]\n"
    "                       keep clusters equal to git: the applications\n"
    "                       REPO declares at PATH (docs/runtime.md)\n"
    "  status [APP] [-o json] [--server URL] [--token-file F]\n"
    "                       show the applications of a running plumb run\n"
    "  sync APP | history APP | rollback APP [ID]\n"
    "      [-o json] [--server URL] [--token-file F]\n"
    "                       sync now, list past syncs, re-apply a past one\n"
    "  eval (-e EXPR | FILE) evaluate one expression and print it as JSON\n"
    "  fmt [--check] PATH... rewrite .plumb files in the canonical layout\n"
    "  version              print the version\n";

int cli_fail_usage(const char *msg) {
  fprintf(stderr, "plumb: %s\n\n%s", msg, cli_usage);
  return 2;
}

/* Parses the flags shared by the compile commands. Returns 0 or exit code. */
int cli_parse(cli *c, int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ? &c->output
                        : strcmp(a, "--out-dir") == 0                      ? &c->out_dir
                        : strcmp(a, "--env") == 0                          ? &c->copts.env
                        : strcmp(a, "--root") == 0                         ? &c->copts.root
                        : strcmp(a, "--kubeconfig") == 0                   ? &c->kubeconfig
                        : strcmp(a, "--context") == 0                      ? &c->context
                        : strcmp(a, "--config-path") == 0                  ? &c->config_path
                        : strcmp(a, "--revision") == 0                     ? &c->revision
                        : strcmp(a, "--cache") == 0                        ? &c->cache_dir
                        : strcmp(a, "--listen") == 0                       ? &c->listen
                        : strcmp(a, "--token-file") == 0                   ? &c->token_file
                        : strcmp(a, "--webhook-secret-file") == 0          ? &c->webhook_secret_file
                        : strcmp(a, "--lease-duration") == 0               ? &c->lease_duration
                        : strcmp(a, "--compile-limits") == 0               ? &c->compile_limits
                        : strcmp(a, "--server") == 0                       ? &c->server
                        : strcmp(a, "--wait-timeout") == 0                 ? &c->wait_timeout
                                                                           : NULL;
    bool *flag = strcmp(a, "--dry-run") == 0           ? &c->dry_run
                 : strcmp(a, "--force-conflicts") == 0 ? &c->force
                 : strcmp(a, "--prune") == 0           ? &c->prune
                 : strcmp(a, "--once") == 0            ? &c->once
                 : strcmp(a, "--wait") == 0            ? &c->wait
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

compile_result *cli_compile(cli *c) {
  compile_result *r = compile_build(&c->copts);
  if (r->diags.errors) diag_print(&r->diags, stderr);
  return r;
}

/* A PATH that is not there is a usage mistake (2), not a compile error (1). */
int cli_want_path(const cli *c) {
  struct stat st;
  if (!c->copts.path) return cli_fail_usage("missing PATH");
  if (stat(c->copts.path, &st) != 0) {
    fprintf(stderr, "plumb: cannot open %s: %s\n", c->copts.path, strerror(errno));
    return 2;
  }
  return 0;
}
