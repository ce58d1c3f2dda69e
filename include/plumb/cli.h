/* cli.h: what the two programs of the command line share.
 *
 * `plumb` holds the compiler's commands and stays light: it links no HTTP,
 * TLS or git library, so a build starts in a millisecond. The commands that
 * talk to clusters live in `plumb-runtime`, which `plumb` runs in its place
 * (it sits beside `plumb`). Both parse the same flags. */
#ifndef PLUMB_CLI_H
#define PLUMB_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "plumb/compile.h"

/* A command: its place in `plumb help`, its --help, and how many
 * positional arguments it takes (max_args -1: any number). */
typedef struct {
  const char *name, *synopsis, *summary, *help;
  int min_args, max_args;
} cli_command;

/* What cli_parse returns when the command is to run. */
enum { CLI_RUN = -1 };
/* Keys of files SOPS encrypted one command reads, and the bytes of one. */
enum { CLI_MAX_SOPS_KEYS = 32, CLI_MAX_KEY_FILE = 1 << 20 };

typedef struct {
  compile_opts copts;
  const char *output; /* "yaml" or "json" */
  const char *out_dir;
  const char *kubeconfig, *context;
  bool dry_run, force, prune;
  bool update; /* fetch: pin every chart of a repository anew */
  bool wait;                /* apply: for each wave to become healthy */
  const char *wait_timeout; /* apply: how long, per wave */
  const char *validate;     /* diff, apply: "strict" (NULL too) or "ignore" */
  /* run */
  const char *config_path, *revision, *cache_dir;
  bool once;
  const char *listen, *probe_listen, *token_file, *auth_file, *webhook_secret_file, *lease_duration, *compile_limits;
  const char *app_namespace, *public_url, *advertise_url;
  const char *shards, *shard_by;
  /* status, sync, history, rollback */
  const char *server, *username;
  char **args; /* positional arguments, nargs of them (read with cli_arg) */
  int nargs;
  /* Remote bases and charts of repositories are read from the cache
   * (--cache, else the user's), through copts.remote and copts.charts,
   * which point here. */
  compile_remote remote;
  compile_charts charts;
  char cache_buf[4096];
  /* The keys of files SOPS encrypted, which copts.sops_keys points to:
   * the files of --sops-age-key-file and --sops-pgp-key-file, and for a
   * command that takes them, the age keys of the environment, as sops
   * reads them ($SOPS_AGE_KEY_FILE, $SOPS_AGE_KEY, sops/age/keys.txt of
   * the user's configuration). The compiler reads no environment. */
  compile_sops_key sops_keys[CLI_MAX_SOPS_KEYS];
} cli;

/* NULL for a command neither program has. */
const cli_command *cli_command_find(const char *name);
/* `plumb help`: every command, its synopsis and what it does. */
void cli_print_usage(FILE *out);
/* `plumb CMD --help`: its synopsis, what it does and its flags. */
void cli_print_help(FILE *out, const cli_command *cmd);
bool cli_is_help(const char *arg);
/* Prints the message and the usage of cmd (of every command when NULL)
 * to standard error; returns 2, the exit status for it. */
int cli_fail_usage(const cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 0 when n positional arguments (args) suit cmd, else 2 after saying why. */
int cli_want_count(const cli_command *cmd, int n, char *const *args);
/* Parses argv (after the command), reordering it; returns CLI_RUN, or the
 * exit status to end with: 0 after printing the --help, 2 on a mistake. */
int cli_parse(cli *c, const cli_command *cmd, int argc, char **argv);
/* Wipes and frees the keys cli_parse read; c is not used after. */
void cli_free(cli *c);
/* Positional argument i, NULL past the last. */
const char *cli_arg(const cli *c, int i);
/* 0 when PATH exists, else an exit status after saying why. */
int cli_want_path(const cli *c);
/* rc once standard output is flushed, or 2, said, when any of it could not
 * be written: a build (a diff, a table) to a full disk must not pass for
 * one. The last call of both programs. */
int cli_flush_output(int rc);
/* Compiles c's PATH, printing diagnostics (warnings too); the caller frees
 * the result. */
compile_result *cli_compile(cli *c);

#endif
