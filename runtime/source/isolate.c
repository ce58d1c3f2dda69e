/* isolate.c: a compile in a child process, under limits (see source.h).
 *
 * The runtime compiles what anyone with push access to a repository
 * commits; as Argo CD generates manifests in its repo server, apart from
 * the controller, the compile runs in a child of its own: a commit that
 * loops or swallows memory costs the child, which the limits stop, and the
 * runtime reads a clear error instead of dying.
 *
 * The child is a fork without exec: it reads the tree through the
 * parent's open repository, and nothing crosses back but the result's
 * bytes (compile_result_encode). Before compiling it closes every file but
 * the result's pipe and the repository's own (its packs, which libgit2
 * reads through descriptors it holds), so no connection of the runtime
 * (API servers, git remotes, its HTTP port) is in its reach; it empties
 * its environment, and dies with the runtime. Only the thread that forks
 * exists in the child: it is the one thread that uses libgit2, and the
 * fork waits until no other thread is inside a piece of work
 * (forkgate.h), where it could hold a lock the child would need (the
 * allocator's, OpenSSL's). Should one still be held (a thread of a
 * library's own), the wall clock ends the child, and the compile is tried
 * again, as a failure of the moment. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plumb/app.h"
#include "plumb/forkgate.h"
#include "internal.h"

/* Of the child's stderr, the start: where an allocator says it ran out
 * ("plumb: out of memory", AddressSanitizer's report) before its stack. */
enum { STDERR_KEPT = 16 << 10 };

const source_limits source_default_limits = {.memory_mib = 1536, .cpu_s = 60, .wall_s = 90, .files = 64};

/* ---- the settings ------------------------------------------------------------- */

/* "512Mi" or "2Gi" in MiB; 0 when malformed. */
static size_t parse_mib(const char *s) {
  char *end;
  errno = 0;
  unsigned long long n = strtoull(s, &end, 10);
  size_t unit = strcmp(end, "Mi") == 0 ? 1 : strcmp(end, "Gi") == 0 ? 1024 : 0;
  if (!isdigit((unsigned char)*s) || errno || !unit || n == 0 || n > (1u << 20)) return 0;
  return (size_t)n * unit;
}

static bool parse_limit(source_limits *l, const char *key, const char *val) {
  if (strcmp(key, "memory") == 0) return (l->memory_mib = parse_mib(val)) > 0;
  int *n = strcmp(key, "cpu") == 0 ? &l->cpu_s : strcmp(key, "wall") == 0 ? &l->wall_s : NULL;
  if (n) return (*n = app_parse_interval(val)) > 0;
  if (strcmp(key, "files") != 0) return false;
  char *end;
  long files = strtol(val, &end, 10);
  l->files = (int)files;
  return isdigit((unsigned char)*val) && !*end && files >= 16 && files <= 65536;
}

int source_limits_parse(source_limits *l, const char *text, char **err) {
  char *copy = heap_strdup(text), *save = NULL;
  int rc = 0;
  for (char *item = strtok_r(copy, ",", &save); item && !rc; item = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(item, '=');
    if (eq) *eq = '\0';
    if (!eq || !parse_limit(l, item, eq + 1)) rc = -1;
  }
  free(copy);
  if (rc)
    *err = heap_printf("--compile-limits takes memory=SIZE (512Mi, 2Gi), cpu=D, wall=D (30s, 2m) and files=N "
                       "(16 or more), separated by commas, not %s",
                       text);
  return rc;
}

/* ---- the child ------------------------------------------------------------------ */

/* What the process has of data (heap, anonymous maps, thread stacks):
 * the child's memory limit counts from there. 0 when unknown. */
static size_t data_size(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  size_t kib = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmData: %zu kB", &kib) == 1) break;
  if (f) fclose(f);
  return kib << 10;
}

static bool under(const char *dir, int fd) {
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  size_t len = strlen(dir);
  if (n < 0) return false;
  target[n] = '\0';
  return strncmp(target, dir, len) == 0 && (target[len] == '/' || target[len] == '\0');
}

/* Every descriptor but stdin, stdout and stderr, keep and those of files
 * under dir. Without /proc, every one but keep. */
static void close_others(int keep, const char *dir) {
  DIR *d = opendir("/proc/self/fd");
  int *fds = NULL;
  size_t n = 0, cap = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    int fd = atoi(e->d_name);
    if (fd <= 2 || fd == keep || fd == dirfd(d) || (dir && under(dir, fd))) continue;
    if (n == cap && !(fds = realloc(fds, (cap = cap ? 2 * cap : 64) * sizeof *fds))) _exit(1);
    fds[n++] = fd;
  }
  if (d) {
    closedir(d);
  } else {
    close_range(3, (unsigned)keep - 1, 0);
    close_range((unsigned)keep + 1, ~0u, 0);
  }
  for (size_t i = 0; i < n; i++) close(fds[i]);
  free(fds);
}

static void set_limit(int resource, rlim_t soft, rlim_t hard) {
  if (setrlimit(resource, &(struct rlimit){soft, hard}) != 0) _exit(1);
}

/* When the container's memory runs out before the limit, the kernel
 * kills the child, not the runtime: any process may raise its own score. */
static void die_first(void) {
  int fd = open("/proc/self/oom_score_adj", O_WRONLY);
  if (fd >= 0 && write(fd, "1000", 4) < 0) _exit(1);
  if (fd >= 0) close(fd);
}

static void limit(const source_limits *l, size_t data) {
  set_limit(RLIMIT_CORE, 0, 0);
  /* SIGXCPU at the limit; SIGKILL a second later if it is caught. */
  if (l->cpu_s) set_limit(RLIMIT_CPU, (rlim_t)l->cpu_s, (rlim_t)l->cpu_s + 1);
  if (l->files) set_limit(RLIMIT_NOFILE, (rlim_t)l->files, (rlim_t)l->files);
  /* RLIMIT_DATA rather than RLIMIT_AS: it counts what is allocated, not
   * what is mapped from files (the packs) or reserved (AddressSanitizer
   * reserves terabytes), so it holds under the sanitizers too. */
  if (l->memory_mib && data) set_limit(RLIMIT_DATA, data + (l->memory_mib << 20), data + (l->memory_mib << 20));
}

typedef struct {
  const source_limits *l;
  const char *keep_dir;
  compile_result *(*compile)(void *ctx);
  void *ctx;
  size_t data;
} job;

static _Noreturn void run_child(const job *j, pid_t parent, int out, int err) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1); /* the runtime died before prctl */
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  sigaction(SIGTERM, &dfl, NULL);
  sigaction(SIGINT, &dfl, NULL);
  int null = open("/dev/null", O_RDWR);
  if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(err, 2) < 0) _exit(1);
  char *dir = j->keep_dir ? realpath(j->keep_dir, NULL) : NULL; /* as /proc shows it */
  close_others(out, dir);
  free(dir);
  limit(j->l, j->data);
  die_first();
  clearenv();
  compile_result *r = j->compile(j->ctx);
  _exit(compile_result_write(out, r) == 0 ? 0 : 1);
}

/* ---- the parent ----------------------------------------------------------------- */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the child sent: its result's bytes, the start of its stderr. */
typedef struct {
  buf result, err;
  size_t max; /* of result */
  bool too_large, timed_out;
} reading;

/* Reads what is there of fd into b, up to keep bytes in all; false at
 * its end. */
static bool drain(int fd, buf *b, size_t keep) {
  long n = buf_read_fd(b, fd, keep);
  return n < 0 ? errno == EINTR || errno == EAGAIN : n > 0;
}

/* Until both pipes end, the result grows too large or the wall clock
 * runs out. */
static void read_child(const source_limits *l, int out, int err, reading *rd) {
  struct pollfd p[2] = {{.fd = out, .events = POLLIN}, {.fd = err, .events = POLLIN}};
  double deadline = l->wall_s ? now() + l->wall_s : 0;
  while (p[0].fd >= 0 || p[1].fd >= 0) {
    double t = now();
    if (deadline && t >= deadline) {
      rd->timed_out = true;
      return;
    }
    int ready = poll(p, 2, deadline ? (int)((deadline - t) * 1000) + 1 : -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return;
    if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !drain(out, &rd->result, SIZE_MAX)) p[0].fd = -1;
    if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) && !drain(err, &rd->err, STDERR_KEPT)) p[1].fd = -1;
    if (rd->result.len > rd->max) {
      rd->too_large = true;
      return;
    }
  }
}

static const char *mem_text(const source_limits *l, char *text, size_t size) {
  if (l->memory_mib % 1024 == 0) snprintf(text, size, "%zu GiB", l->memory_mib / 1024);
  else snprintf(text, size, "%zu MiB", l->memory_mib);
  return text;
}

/* Why the child gave no result (caller frees), or NULL when it did; *lasting when the same
 * compile would fail again (a limit it exceeds, a crash), not when it was
 * the moment's (the wall clock, a kill from outside). */
static char *judge(const source_limits *l, const reading *rd, int status, const struct rusage *ru, bool *lasting) {
  char mem[32];
  double cpu = (double)ru->ru_utime.tv_sec + (double)ru->ru_stime.tv_sec;
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  *lasting = true;
  if (rd->timed_out) {
    *lasting = false;
    return heap_printf("was stopped after %d s, its time limit", l->wall_s);
  }
  if (rd->too_large) return heap_printf("gave a result larger than %s", mem_text(l, mem, sizeof mem));
  if (sig == SIGXCPU || (sig == SIGKILL && l->cpu_s && cpu >= l->cpu_s))
    return heap_printf("exceeded its CPU time limit of %d s", l->cpu_s);
  if (rd->err.data && strstr(rd->err.data, "out of memory"))
    return heap_printf("exceeded its memory limit of %s", mem_text(l, mem, sizeof mem));
  if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT)
    return heap_printf("crashed (%s)", strsignal(sig));
  /* Not by the runtime, nor for CPU: what the kernel does when a
   * container's memory runs out, which the next try would meet again. */
  if (sig == SIGKILL) return heap_printf("was killed (SIGKILL): its container ran out of memory?");
  if (sig) {
    *lasting = false;
    return heap_printf("was killed (%s)", strsignal(sig));
  }
  if (WEXITSTATUS(status) == SOURCE_EXIT_AGAIN && rd->err.data) {
    *lasting = false;
    return heap_printf("failed: %s", rd->err.data);
  }
  if (WEXITSTATUS(status)) return heap_printf("ended with status %d", WEXITSTATUS(status));
  return NULL;
}

static pid_t start(const job *j, int out[2], int err[2]) {
  if (pipe2(out, O_CLOEXEC) != 0) return -1;
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return -1;
  }
  pid_t parent = getpid(), pid = forkgate_fork();
  int failure = errno;
  if (pid == 0) run_child(j, parent, out[1], err[1]);
  close(out[1]);
  close(err[1]);
  if (pid < 0) {
    close(out[0]);
    close(err[0]);
  }
  errno = failure;
  return pid;
}

compile_result *source_isolate(const source_limits *l, const char *keep_dir, compile_result *(*compile)(void *ctx),
                               void *ctx, char **why, bool *lasting) {
  job j = {l, keep_dir, compile, ctx, l->memory_mib ? data_size() : 0};
  int out[2], err[2];
  *why = NULL;
  *lasting = false;
  pid_t pid = start(&j, out, err);
  if (pid < 0) {
    *why = heap_printf("could not start: %s", strerror(errno));
    return NULL;
  }
  reading rd = {.max = l->memory_mib ? l->memory_mib << 20 : SIZE_MAX};
  read_child(l, out[0], err[0], &rd);
  close(out[0]);
  close(err[0]);
  if (rd.timed_out || rd.too_large) kill(pid, SIGKILL);
  int status;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) continue;
  *why = judge(l, &rd, status, &ru, lasting);
  compile_result *r = NULL;
  const char *garbled;
  if (!*why && !(r = compile_result_decode(rd.result.data, rd.result.len, &garbled)))
    *why = heap_printf("gave a result that cannot be read: %s", garbled);
  buf_free(&rd.result);
  buf_free(&rd.err);
  return r ? compile_keep(r) : NULL;
}
