/* forkgate.c: forks that find no lock held (forkgate.h). A read-write
 * lock: work holds it shared, a fork whole; writers go first, so that a
 * fork is not held off by work that keeps starting. */
#include "plumb/forkgate.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_rwlock_t gate;
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;

static void gate_init(void) {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  if (pthread_rwlock_init(&gate, &attr) != 0) abort();
  pthread_rwlockattr_destroy(&attr);
}

void forkgate_enter(void) {
  pthread_once(&gate_once, gate_init);
  pthread_rwlock_rdlock(&gate);
}

void forkgate_leave(void) { pthread_rwlock_unlock(&gate); }

pid_t forkgate_fork(void) {
  pthread_once(&gate_once, gate_init);
  pthread_rwlock_wrlock(&gate);
  pid_t pid = fork();
  int failure = errno;
  /* The child's copy of the lock is the parent's, held whole: it never
   * forks through the gate, nor enters it. */
  if (pid != 0) pthread_rwlock_unlock(&gate);
  errno = failure;
  return pid;
}
