/* tool.c: another program, run from a compile under limits (see tool.h).
 *
 * A fork and an exec: the compiler is single-threaded (the runtime
 * compiles in a child of one thread, isolate.c), so the child may do what
 * it needs between the two. It is made the leader of a process group, so
 * that a kill reaches whatever the program starts in turn, and asks to
 * die with plumb (PR_SET_PDEATHSIG). Its limits are set with setrlimit,
 * as the runtime's compile child's are: RLIMIT_DATA rather than RLIMIT_AS,
 * which Go's runtime (helm's) reserves far more of than it uses. */
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Descriptors the program may open: helm reads a chart's files one by
 * one, and Go's runtime takes a few. */
enum { TOOL_FILES = 256 };

/* ---- the child -------------------------------------------------------------- */

/* The lower of want and what plumb itself may have of resource: a limit
 * plumb runs under binds what it starts too. */
static rlim_t lowered(int resource, rlim_t want) {
  struct rlimit now;
  if (getrlimit(resource, &now) != 0) return want;
  return now.rlim_cur != RLIM_INFINITY && now.rlim_cur < want ? now.rlim_cur : want;
}

static void limit(int resource, rlim_t soft, rlim_t hard) {
  if (setrlimit(resource, &(struct rlimit){soft, hard}) != 0) _exit(127);
}

/* l as the program runs under it: each limit lowered to plumb's own. */
static tool_limits effective(const tool_limits *l) {
  tool_limits e = *l;
  e.cpu = (int)lowered(RLIMIT_CPU, (rlim_t)l->cpu);
  e.memory = lowered(RLIMIT_DATA, l->memory);
  return e;
}

/* SIGXCPU at the CPU limit, SIGKILL a second later if it is caught. */
static void set_limits(const tool_limits *l) {
  limit(RLIMIT_CPU, (rlim_t)l->cpu, lowered(RLIMIT_CPU, (rlim_t)l->cpu + 1));
  limit(RLIMIT_DATA, l->memory, l->memory);
  rlim_t files = lowered(RLIMIT_NOFILE, TOOL_FILES);
  limit(RLIMIT_NOFILE, files, files);
  rlim_t size = lowered(RLIMIT_FSIZE, l->output);
  limit(RLIMIT_FSIZE, size, size);
  limit(RLIMIT_CORE, 0, 0);
}

/* Never returns: the program, or the errno of its exec on report. */
static _Noreturn void run_child(const char *path, char *const argv[], char *const envp[], const char *dir,
                                const tool_limits *l, int out, int err, int report) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int null = open("/dev/null", O_RDONLY);
  if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || chdir(dir) != 0) goto fail;
  if (report != 3 && dup2(report, 3) < 0) goto fail;
  close_range(4, ~0u, 0);
  fcntl(3, F_SETFD, FD_CLOEXEC);
  set_limits(l);
  execve(path, argv, envp);
fail:;
  int e = errno;
  if (write(report, &e, sizeof e) < 0) _exit(127);
  _exit(127);
}

/* ---- the parent --------------------------------------------------------------- */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads what fd has into b, keeping up to keep bytes in all (the rest is
 * counted in *seen only); false at its end. */
static bool drain(int fd, buf *b, size_t keep, size_t *seen) {
  long n = buf_read_fd(b, fd, keep);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  *seen += (size_t)n;
  return n > 0;
}

/* Reads both pipes to their ends, or until the program writes too much
 * or outlives the wall clock. */
static tool_end read_both(int out, int err, const tool_limits *l, tool_result *r) {
  double deadline = now() + l->wall;
  struct pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
  size_t seen_out = 0, seen_err = 0;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    double left = deadline - now();
    if (left <= 0) return TOOL_TIMED_OUT;
    int n = poll(fds, 2, (int)(left * 1000) + 1);
    if (n < 0 && errno != EINTR) return TOOL_TIMED_OUT;
    if (n <= 0) continue;
    if (fds[0].revents && !drain(out, &r->out, l->output, &seen_out)) fds[0].fd = -1;
    if (seen_out > l->output) return TOOL_TOO_MUCH;
    if (fds[1].revents && !drain(err, &r->err, l->errors, &seen_err)) fds[1].fd = -1;
  }
  return TOOL_EXITED;
}

static void close_pair(int p[2]) {
  if (p[0] >= 0) close(p[0]);
  if (p[1] >= 0) close(p[1]);
}

void tool_run(const char *path, char *const argv[], char *const envp[], const char *dir, const tool_limits *l,
              tool_result *r) {
  *r = (tool_result){.limits = effective(l)};
  l = &r->limits;
  int out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
  pid_t pid = -1;
  if (pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0 && pipe2(report, O_CLOEXEC) == 0) pid = fork();
  if (pid == 0) run_child(path, argv, envp, dir, l, out[1], err[1], report[1]);
  if (pid < 0) {
    r->end = TOOL_NOT_RUN;
    r->status = errno;
    close_pair(out), close_pair(err), close_pair(report);
    return;
  }
  close(out[1]), close(err[1]), close(report[1]);
  int e;
  /* Nothing to read once the exec has closed the report's copy. */
  if (read(report[0], &e, sizeof e) == (ssize_t)sizeof e) r->end = TOOL_NOT_RUN, r->status = e;
  else r->end = read_both(out[0], err[0], l, r);
  if (r->end != TOOL_EXITED) kill(-pid, SIGKILL);
  close(out[0]), close(err[0]), close(report[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) continue;
  if (r->end != TOOL_EXITED) return;
  r->end = WIFSIGNALED(status) ? TOOL_SIGNALLED : TOOL_EXITED;
  r->status = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
}

/* ---- finding it --------------------------------------------------------------- */

const char *tool_find(arena *a, const char *dirs, const char *name) {
  for (const char *p = dirs; p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
    size_t n = strcspn(p, ":");
    const char *file = n ? arena_printf(a, "%.*s/%s", (int)n, p, name) : name;
    struct stat st;
    if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && access(file, X_OK) == 0) return file;
  }
  return NULL;
}

/* ---- its files ---------------------------------------------------------------- */

const char *tool_scratch_new(arena *a, const char *tmp, const char **err) {
  char *dir = arena_printf(a, "%s/plumb-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (mkdtemp(dir)) return dir;
  *err = arena_printf(a, "cannot make a directory in %s: %s", tmp && *tmp ? tmp : "/tmp", strerror(errno));
  return NULL;
}

static int scratch_fail(arena *a, const char *rel, const char **err) {
  *err = arena_printf(a, "cannot write %s: %s", rel, strerror(errno));
  return -1;
}

int tool_scratch_write(arena *a, const char *dir, const char *rel, const char *text, size_t len, const char **err) {
  char *path = arena_printf(a, "%s/%s", dir, rel);
  for (char *slash = path + strlen(dir) + 1; (slash = strchr(slash, '/')); *slash++ = '/') {
    *slash = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST) return scratch_fail(a, rel, err);
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return scratch_fail(a, rel, err);
  for (size_t done = 0; done < len;) {
    ssize_t n = write(fd, text + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : ENOSPC;
      close(fd);
      errno = e;
      return scratch_fail(a, rel, err);
    }
    done += (size_t)n;
  }
  return close(fd) == 0 ? 0 : scratch_fail(a, rel, err);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) { return remove(path), 0; }

void tool_scratch_remove(const char *dir) { nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS); }
