/* tool.h: another program, run under limits.
 *
 * A build that renders a Helm chart runs helm (helm.h), the one program a
 * compile starts, and a fetch of a chart of a repository runs helm pull
 * (runtime/source/chart.c): the compiler reads no environment, so the program's
 * environment is exactly what the caller gives, its files are in a
 * directory of its own (a scratch directory, made and removed here), its
 * input is /dev/null and no descriptor of plumb's reaches it. It runs in
 * a process group of its own, which dies with plumb (the runtime's
 * compile child is killed at its wall clock, and helm with it), under a
 * wall clock, a limit of CPU time and of memory, and its output is read
 * up to a bound: a program that loops, swallows memory or writes without
 * end is stopped, and the caller is told which. */
#ifndef PLUMB_TOOL_H
#define PLUMB_TOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "plumb/arena.h"

typedef struct {
  int wall, cpu; /* seconds of wall clock, of CPU time */
  size_t memory; /* bytes of data (RLIMIT_DATA: heap and anonymous maps) */
  size_t output; /* bytes of standard output; one more stops the program */
  size_t errors; /* bytes of standard error kept; the rest is dropped */
} tool_limits;

typedef enum {
  TOOL_EXITED,    /* status: its exit status */
  TOOL_TIMED_OUT, /* still running at the wall clock */
  TOOL_TOO_MUCH,  /* wrote more than limits.output */
  TOOL_SIGNALLED, /* status: the signal (SIGXCPU, SIGKILL: past its CPU time) */
  TOOL_NOT_RUN,   /* status: the errno of fork or exec */
} tool_end;

typedef struct {
  tool_end end;
  int status;
  buf out, err;       /* caller frees both (buf_free) */
  tool_limits limits; /* those it ran under, for messages */
} tool_result;

/* Runs n copies (at most TOOL_MAX_COPIES) of the program at path with
 * argv and exactly envp (both NULL-terminated) in dir at once, under l,
 * and waits for them: r[i] says how copy i ended and holds what it wrote.
 * l's CPU time and memory are lowered to plumb's own where those are
 * lower (the runtime's compile child has its own, and `ulimit -t` binds
 * what plumb starts too). */
enum { TOOL_MAX_COPIES = 2 };
void tool_run(const char *path, char *const argv[], char *const envp[], const char *dir, const tool_limits *l, int n,
              tool_result *r);

/* The first executable regular file called name in the directories of
 * dirs (':'-separated, as PATH; an empty one is the current directory, as
 * for execvp), in a; NULL when there is none. */
const char *tool_find(arena *a, const char *dirs, const char *name);

/* A new directory only plumb may enter, under tmp (NULL: /tmp), in a;
 * NULL with *err (in a). */
const char *tool_scratch_new(arena *a, const char *tmp, const char **err);
/* Writes a file of the scratch directory dir, at rel ("/"-separated, no
 * "." or ".." part), making the directories it is in: 0, or -1 with *err.
 * The file is new: nothing there is overwritten, and no link followed. */
int tool_scratch_write(arena *a, const char *dir, const char *rel, const char *text, size_t len, const char **err);
/* What a Go program such as helm wrote to standard error, on one line, in
 * a: its lines joined, without the "Error: " that leads a message and
 * helm's advice to run again with --debug, which plumb does not take. */
const char *tool_said(arena *a, const buf *err);
/* Removes dir and all in it, following no link. */
void tool_scratch_remove(const char *dir);

#endif
