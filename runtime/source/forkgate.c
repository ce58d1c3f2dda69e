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

CURLcode forkgate_perform(CURL *h, bool (*stop)(void *ctx), void *ctx) {
  CURLM *m = curl_multi_init();
  if (!m) abort();
  curl_multi_add_handle(m, h);
  int running = 1, left;
  while (curl_multi_perform(m, &running) == CURLM_OK && running && !(stop && stop(ctx))) {
    forkgate_leave();
    curl_multi_poll(m, NULL, 0, 200, NULL);
    forkgate_enter();
  }
  CURLMsg *done = curl_multi_info_read(m, &left);
  CURLcode rc = done && done->msg == CURLMSG_DONE ? done->data.result : CURLE_FAILED_INIT;
  curl_multi_remove_handle(m, h);
  curl_multi_cleanup(m);
  return rc;
}

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
