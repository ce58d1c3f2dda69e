/* isolate.c: what compiling in a child process costs the runtime per
 * compile (bench/README.md, "Compiling in a child process").
 *
 *   make build/bench/isolate && build/bench/isolate PATH [ROUNDS]
 *
 * Compiles PATH ROUNDS times (default 200) as the runtime did before,
 * compile_keep(compile_build()) in its own process, then ROUNDS times
 * through source_isolate with the default limits (fork, limits, compile,
 * result written, read back and kept), and prints the fastest, the median
 * and the 90th percentile of each, and the difference of the medians. The process
 * first allocates and touches BENCH_RSS_MIB MiB (default 25, the idle
 * runtime's at 100 applications of 30 objects): a fork copies the page
 * tables of what the parent holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb/source.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static compile_result *compile_path(void *path) { return compile_build(&(compile_opts){.path = path}); }

/* As the runtime kept a result: compile_keep's copy. source_isolate's
 * parent makes it of what it reads back. */
static compile_result *in_process(const char *path) { return compile_keep(compile_path((void *)path)); }

static compile_result *in_child(const char *path) {
  char *why;
  bool lasting;
  compile_result *r = source_isolate(&source_default_limits, NULL, compile_path, (void *)path, &why, &lasting);
  if (!r) {
    fprintf(stderr, "isolate: the compile %s\n", why);
    exit(1);
  }
  return r;
}

static int by_value(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* The fastest, median and 90th percentile of ROUNDS compiles, in ms. */
static double measure(const char *what, compile_result *(*compile)(const char *), const char *path, int rounds) {
  double *ms = malloc((size_t)rounds * sizeof *ms);
  size_t nres = 0;
  for (int i = 0; i < rounds; i++) {
    double t = now();
    compile_result *r = compile(path);
    ms[i] = (now() - t) * 1e3;
    if (r->diags.errors) {
      diag_print(&r->diags, stderr);
      exit(1);
    }
    nres = r->nres;
    compile_free(r);
  }
  qsort(ms, (size_t)rounds, sizeof *ms, by_value);
  double median = ms[rounds / 2];
  printf("%-12s %zu objects  min %.3f ms  median %.3f ms  p90 %.3f ms\n", what, nres, ms[0], median,
         ms[rounds * 9 / 10]);
  free(ms);
  return median;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PATH [ROUNDS]\n", argv[0]);
    return 2;
  }
  int rounds = argc > 2 ? atoi(argv[2]) : 200;
  const char *rss = getenv("BENCH_RSS_MIB");
  size_t ballast = (size_t)(rss ? atol(rss) : 25) << 20;
  char *held = malloc(ballast ? ballast : 1);
  memset(held, 1, ballast);
  if (rounds < 1) rounds = 1;
  double before = measure("in process", in_process, argv[1], rounds);
  double after = measure("in a child", in_child, argv[1], rounds);
  printf("added        %.3f ms per compile (%zu MiB held by the parent)\n", after - before, ballast >> 20);
  free(held);
  return 0;
}
