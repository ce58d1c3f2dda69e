/* feed.c: answers whose body is written as it comes by a thread of the
 * owner's (serve_feed_write), as a Pod's log followed is.
 *
 * The writer and the connection meet in the feed's buffer. Between pieces
 * the connection is suspended (libmicrohttpd's suspend/resume), so a quiet
 * log costs no polling; a write resumes it. A writer far ahead of its
 * client waits for it (BEHIND bytes at most are buffered), and learns
 * from its writes that the client went away or the server stops. The feed
 * is freed by the last of the two to be done with it. */
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"
#include "serve/internal.h"

enum { MAX_FEEDS = 64, BEHIND = 1 << 20 };

struct serve_feed {
  serve *s;
  struct MHD_Connection *conn;
  serve_feed_fn fn;
  void *job;
  pthread_mutex_t mu; /* the fields below */
  pthread_cond_t drained;
  buf out; /* what is to be sent, from sent on */
  size_t sent;
  bool suspended; /* the connection waits for a write */
  bool done;      /* the writer returned */
  bool gone;      /* the connection is over */
  bool closing;   /* the server stops */
  int refs;       /* the writer's and the connection's */
  serve_feed *prev, *next;
};

static void unref(serve_feed *f) {
  pthread_mutex_lock(&f->mu);
  bool last = --f->refs == 0;
  pthread_mutex_unlock(&f->mu);
  if (!last) return;
  pthread_mutex_destroy(&f->mu);
  pthread_cond_destroy(&f->drained);
  buf_free(&f->out);
  free(f);
}

/* Under f->mu: the connection sends what there is now. */
static void wake_connection(serve_feed *f) {
  if (!f->suspended || f->gone) return;
  f->suspended = false;
  MHD_resume_connection(f->conn);
}

bool serve_feed_write(serve_feed *f, const char *data, size_t len) {
  pthread_mutex_lock(&f->mu);
  while (!f->gone && !f->closing && f->out.len - f->sent > BEHIND) pthread_cond_wait(&f->drained, &f->mu);
  bool open = !f->gone && !f->closing;
  if (open && len) {
    if (f->sent == f->out.len) f->sent = f->out.len = 0;
    buf_put(&f->out, data, len);
    wake_connection(f);
  }
  pthread_mutex_unlock(&f->mu);
  return open;
}

/* The writer's thread; the last thing it touches of the server is the
 * count serve_feeds_stop waits on. */
static void *write_feed(void *arg) {
  serve_feed *f = arg;
  f->fn(f, f->job);
  pthread_mutex_lock(&f->mu);
  f->done = true;
  wake_connection(f);
  pthread_mutex_unlock(&f->mu);
  serve *s = f->s;
  pthread_mutex_lock(&s->streams_lock);
  if (f->prev) f->prev->next = f->next;
  else s->feeds = f->next;
  if (f->next) f->next->prev = f->prev;
  s->nfeeds--;
  pthread_cond_broadcast(&s->feeds_done);
  pthread_mutex_unlock(&s->streams_lock);
  unref(f);
  return NULL;
}

static ssize_t read_feed(void *cls, uint64_t pos, char *to, size_t max) {
  serve_feed *f = cls;
  ssize_t n = 0;
  pthread_mutex_lock(&f->mu);
  if (f->sent < f->out.len) {
    n = (ssize_t)(f->out.len - f->sent < max ? f->out.len - f->sent : max);
    memcpy(to, f->out.data + f->sent, (size_t)n);
    f->sent += (size_t)n;
    pthread_cond_broadcast(&f->drained);
  } else if (f->done || f->closing) {
    n = MHD_CONTENT_READER_END_OF_STREAM;
  } else {
    f->suspended = true;
    MHD_suspend_connection(f->conn);
  }
  pthread_mutex_unlock(&f->mu);
  return n;
}

/* When the connection is done with the response. */
static void end_feed(void *cls) {
  serve_feed *f = cls;
  pthread_mutex_lock(&f->mu);
  f->gone = true;
  pthread_cond_broadcast(&f->drained);
  pthread_mutex_unlock(&f->mu);
  unref(f);
}

serve_reply serve_feed_answer(serve *s, struct MHD_Connection *conn, serve_feed_fn fn, void *job) {
  serve_feed *f = heap_calloc(1, sizeof *f);
  *f = (serve_feed){.s = s, .conn = conn, .fn = fn, .job = job, .refs = 2};
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->drained, NULL);
  pthread_mutex_lock(&s->streams_lock);
  bool full = s->nfeeds >= MAX_FEEDS || s->closing;
  if (!full) {
    f->next = s->feeds;
    if (s->feeds) s->feeds->prev = f;
    s->feeds = f;
    s->nfeeds++;
  }
  pthread_mutex_unlock(&s->streams_lock);
  if (!full) return (serve_reply){.status = MHD_HTTP_OK, .feed = f};
  f->gone = true;
  fn(f, job);
  f->refs = 1;
  unref(f);
  return serve_error(MHD_HTTP_SERVICE_UNAVAILABLE, "too many streams at once; try again later");
}

struct MHD_Response *serve_feed_response(serve_feed *f) {
  struct MHD_Response *res = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 << 10, read_feed, f, end_feed);
  MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  MHD_add_response_header(res, "X-Accel-Buffering", "no");
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&t, &a, write_feed, f) != 0) abort();
  pthread_attr_destroy(&a);
  return res;
}

void serve_feeds_stop(serve *s) {
  pthread_mutex_lock(&s->streams_lock);
  for (serve_feed *f = s->feeds; f; f = f->next) {
    pthread_mutex_lock(&f->mu);
    f->closing = true;
    pthread_cond_broadcast(&f->drained);
    wake_connection(f);
    pthread_mutex_unlock(&f->mu);
  }
  while (s->nfeeds) pthread_cond_wait(&s->feeds_done, &s->streams_lock);
  pthread_mutex_unlock(&s->streams_lock);
}
