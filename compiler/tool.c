/* tool.c: another program, run from a compile under limits (see tool.h).
 *
 * A fork and an exec: the compiler is single-threaded (the runtime
 * compiles in a child of one thread, isolate.c), so the child may do what
 * it needs between the two. It is made the leader of a process group, so
 * that a kill reaches whatever the program starts in turn, and asks to
 * die with plumb (PR_SET_PDEATHSIG). Its limits are set with setrlimit,
 * as the runtime's compile child's are: RLIMIT_DATA rather than RLIMIT_AS,
 * which Go's runtime (helm's) reserves far more of than it uses. Copies
 * of a program run at once are read with one poll over all their pipes,
 * under one wall clock. */
#include "plumb/tool.h"

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

/* One copy of the program, running. */
typedef struct {
  pid_t pid;
  int out, err; /* the ends of its pipes, -1 once at their end */
  size_t seen_out, seen_err;
  tool_result *r;
} copy;

static void close_pair(int p[2]) {
  if (p[0] >= 0) close(p[0]);
  if (p[1] >= 0) close(p[1]);
}

/* Forks and execs one copy; false, with r saying why, when it did not
 * start. */
static bool start(copy *c, const char *path, char *const argv[], char *const envp[], const char *dir,
                  const tool_limits *l) {
  int out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
  c->pid = -1;
  if (pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0 && pipe2(report, O_CLOEXEC) == 0) c->pid = fork();
  if (c->pid == 0) run_child(path, argv, envp, dir, l, out[1], err[1], report[1]);
  if (c->pid < 0) {
    c->r->end = TOOL_NOT_RUN;
    c->r->status = errno;
    close_pair(out), close_pair(err), close_pair(report);
    return false;
  }
  close(out[1]), close(err[1]), close(report[1]);
  c->out = out[0], c->err = err[0];
  int e;
  /* Nothing to read once the exec has closed the report's copy. */
  bool failed = read(report[0], &e, sizeof e) == (ssize_t)sizeof e;
  close(report[0]);
  if (!failed) return true;
  c->r->end = TOOL_NOT_RUN;
  c->r->status = e;
  close(c->out), close(c->err);
  return false;
}

/* Stops c, which ends so, and reads no more of it. */
static void stop(copy *c, tool_end end) {
  c->r->end = end;
  kill(-c->pid, SIGKILL);
  if (c->out >= 0) close(c->out);
  if (c->err >= 0) close(c->err);
  c->out = c->err = -1;
}

/* Reads what *fd has into b, keeping up to keep bytes in all (the rest
 * is counted in *seen only); at its end, closes it and makes it -1. */
static void drain(int *fd, buf *b, size_t keep, size_t *seen) {
  long n = buf_read_fd(b, *fd, keep);
  if (n > 0) *seen += (size_t)n;
  else if (n == 0 || (errno != EINTR && errno != EAGAIN)) close(*fd), *fd = -1;
}

/* Reads the pipes of the n copies to their ends, stopping a copy that
 * writes too much, and every copy still running at the wall clock. */
static void read_all(copy *cs, int n, const tool_limits *l) {
  double deadline = now() + l->wall;
  struct pollfd fds[2 * TOOL_MAX_COPIES];
  for (;;) {
    int nfds = 0;
    for (int i = 0; i < n; i++) {
      fds[nfds++] = (struct pollfd){cs[i].out, POLLIN, 0};
      fds[nfds++] = (struct pollfd){cs[i].err, POLLIN, 0};
    }
    double left = deadline - now();
    bool reading = false;
    for (int i = 0; i < nfds; i++) reading = reading || fds[i].fd >= 0;
    if (!reading) return;
    int ready = left > 0 ? poll(fds, (nfds_t)nfds, (int)(left * 1000) + 1) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      for (int i = 0; i < n; i++)
        if (cs[i].out >= 0 || cs[i].err >= 0) stop(&cs[i], TOOL_TIMED_OUT);
      return;
    }
    for (int i = 0; i < n; i++) {
      copy *c = &cs[i];
      if (fds[2 * i].revents) drain(&c->out, &c->r->out, l->output, &c->seen_out);
      if (c->seen_out > l->output) stop(c, TOOL_TOO_MUCH);
      if (fds[2 * i + 1].revents && c->err >= 0) drain(&c->err, &c->r->err, l->errors, &c->seen_err);
    }
  }
}

/* Waits for c and says how it ended, where nothing stopped it. */
static void reap(copy *c) {
  int status;
  while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR) continue;
  if (c->r->end != TOOL_EXITED) return;
  c->r->end = WIFSIGNALED(status) ? TOOL_SIGNALLED : TOOL_EXITED;
  c->r->status = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
}

void tool_run(const char *path, char *const argv[], char *const envp[], const char *dir, const tool_limits *l, int n,
              tool_result *r) {
  copy cs[TOOL_MAX_COPIES];
  int started = 0;
  tool_limits e = effective(l);
  for (int i = 0; i < n; i++) r[i] = (tool_result){.limits = e};
  for (int i = 0; i < n; i++) {
    cs[started] = (copy){.out = -1, .err = -1, .r = &r[i]};
    if (start(&cs[started], path, argv, envp, dir, &e)) started++;
    else if (cs[started].pid > 0) reap(&cs[started]);
  }
  read_all(cs, started, &e);
  for (int i = 0; i < started; i++) reap(&cs[i]);
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

/* ---- what it said -------------------------------------------------------------- */

#define DEBUG_ADVICE "Use --debug flag"

const char *tool_said(arena *a, const buf *err) {
  buf out = {0};
  const char *p = err->data ? err->data : "", *end = p + err->len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
    while (p < eol && (*p == ' ' || *p == '\t')) p++;
    size_t n = (size_t)(eol - p);
    if (n >= 7 && strncmp(p, "Error: ", 7) == 0) p += 7, n -= 7;
    if (n && strncmp(p, DEBUG_ADVICE, strlen(DEBUG_ADVICE)) != 0) {
      if (out.len) buf_putc(&out, ' ');
      buf_put(&out, p, n);
    }
    p = eol + 1;
  }
  const char *s = arena_strndup(a, out.data ? out.data : "", out.len);
  buf_free(&out);
  return *s ? s : "it gave no reason";
}
