/* cli.h: what the two programs of the command line share.
 *
 * `plumb` holds the compiler's commands and stays light: it links no HTTP,
 * TLS or git library, so a build starts in a millisecond. The commands that
 * talk to clusters live in `plumb-runtime`, which `plumb` runs in its place
 * (it sits beside `plumb`). Both parse the same flags. */
#ifndef PLUMB_CLI_H
#define PLUMB_CLI_H

#include <stdbool.h>

#include "plumb/compile.h"

extern const char cli_usage[];

typedef struct {
  compile_opts copts;
  const char *output; /* "yaml" or "json" */
  const char *out_dir;
  const char *kubeconfig, *context;
  bool dry_run, force, prune;
  bool wait;                /* apply: for each wave to become healthy */
  const char *wait_timeout; /* apply: how long, per wave */
  /* run */
  const char *config_path, *revision, *cache_dir;
  bool once;
  const char *listen, *token_file, *webhook_secret_file, *lease_duration, *compile_limits;
  /* status, sync, history, rollback */
  const char *server;
  const char *args[4]; /* positional arguments */
  int nargs;
} cli;

/* Prints msg and the usage; returns 2, the exit status for it. */
int cli_fail_usage(const char *msg);
/* Parses argv (after the command); returns 0 or an exit status. */
int cli_parse(cli *c, int argc, char **argv);
/* 0 when PATH exists, else an exit status after saying why. */
int cli_want_path(const cli *c);
/* Compiles c's PATH, printing diagnostics; the caller frees the result. */
compile_result *cli_compile(cli *c);

#endif
