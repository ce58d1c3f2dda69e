/* stream.c: GET /api/v1/stream, the server-sent events that carry status
 * changes to the open pages (docs/ui.md).
 *
 * A stream holds its connection open for as long as the page is. Between
 * events it is suspended (libmicrohttpd's suspend/resume): it costs its
 * buffers, no thread and no polling. When the owner has news it calls
 * serve_notify, which resumes every suspended stream; each asks the
 * owner's events callback for what came after the last event it sent.
 * Every KEEPALIVE_S a stream is resumed anyway and sends a comment line,
 * so that a page that went away (which a suspended connection cannot
 * notice) is found out by the failed write, and proxies keep the
 * connection. The session is checked again before each send: a stream
 * ends with the session it was opened in. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "plumb/arena.h"
#include "serve/internal.h"

enum { KEEPALIVE_S = 15, MAX_STREAMS = 4096 };

struct serve_stream {
  serve *s;
  struct MHD_Connection *conn;
  auth_who *who;
  char *session; /* the cookie's session id, checked before each send; NULL: a bearer token */
  long long seq; /* the last event sent */
  buf out;       /* what is to be sent, from sent on */
  size_t sent;
  time_t last_write;
  bool suspended;
  serve_stream *prev, *next;
};

static time_t now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec;
}

/* Under s->streams_lock. */
static void resume_all(serve *s) {
  for (serve_stream *st = s->streams; st; st = st->next)
    if (st->suspended) {
      st->suspended = false;
      MHD_resume_connection(st->conn);
    }
}

void serve_notify(serve *s) {
  pthread_mutex_lock(&s->streams_lock);
  resume_all(s);
  pthread_mutex_unlock(&s->streams_lock);
}

/* Resumes every stream now and then, for its keep-alive (and to find the
 * pages that went away). */
static void *keepalive_loop(void *arg) {
  serve *s = arg;
  pthread_mutex_lock(&s->streams_lock);
  while (!s->closing) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += KEEPALIVE_S;
    pthread_cond_timedwait(&s->streams_wake, &s->streams_lock, &until);
    resume_all(s);
  }
  pthread_mutex_unlock(&s->streams_lock);
  return NULL;
}

void serve_streams_start(serve *s) {
  pthread_mutex_init(&s->streams_lock, NULL);
  pthread_cond_init(&s->streams_wake, NULL);
  pthread_cond_init(&s->feeds_done, NULL);
  if (pthread_create(&s->keepalive, NULL, keepalive_loop, s) != 0) abort();
}

/* Ends every stream before the daemon stops: a suspended connection left
 * behind would be leaked by MHD_stop_daemon. */
void serve_streams_stop(serve *s) {
  pthread_mutex_lock(&s->streams_lock);
  s->closing = true;
  resume_all(s);
  pthread_cond_signal(&s->streams_wake);
  pthread_mutex_unlock(&s->streams_lock);
  pthread_join(s->keepalive, NULL);
}

void serve_streams_free(serve *s) {
  pthread_mutex_destroy(&s->streams_lock);
  pthread_cond_destroy(&s->streams_wake);
  pthread_cond_destroy(&s->feeds_done);
}

/* Whether the stream's session still holds. */
static bool still_signed_in(serve_stream *st) {
  if (!st->session) return true;
  auth_who *w = auth_session_who(st->s->auth, st->session);
  auth_who_free(w);
  return w != NULL;
}

/* Under the lock: the owner's news after st->seq into st->out; a reset
 * when it has lost some; a comment when a keep-alive is due. */
static void gather(serve_stream *st) {
  serve_call call = {.who = st->who, .auth = st->s->auth};
  char *text = st->s->opts.events(&call, &st->seq, st->s->opts.ctx);
  if (text) buf_put(&st->out, text, strlen(text));
  free(text);
  if (!st->out.len && now_s() - st->last_write >= KEEPALIVE_S) buf_put(&st->out, ": keep-alive\n\n", 14);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *to, size_t max) {
  serve_stream *st = cls;
  serve *s = st->s;
  pthread_mutex_lock(&s->streams_lock);
  ssize_t n = 0;
  if (st->sent == st->out.len) {
    st->sent = st->out.len = 0;
    if (!s->closing && still_signed_in(st)) gather(st);
  }
  if (st->sent < st->out.len) {
    n = (ssize_t)(st->out.len - st->sent < max ? st->out.len - st->sent : max);
    memcpy(to, st->out.data + st->sent, (size_t)n);
    st->sent += (size_t)n;
    st->last_write = now_s();
  } else if (s->closing || !still_signed_in(st)) {
    n = MHD_CONTENT_READER_END_OF_STREAM;
  } else {
    st->suspended = true;
    MHD_suspend_connection(st->conn);
  }
  pthread_mutex_unlock(&s->streams_lock);
  return n;
}

static void discard(serve_stream *st) {
  auth_who_free(st->who);
  free(st->session);
  buf_free(&st->out);
  free(st);
}

/* When its connection is done. */
static void stream_free(void *cls) {
  serve_stream *st = cls;
  serve *s = st->s;
  pthread_mutex_lock(&s->streams_lock);
  if (st->prev) st->prev->next = st->next;
  else s->streams = st->next;
  if (st->next) st->next->prev = st->prev;
  s->nstreams--;
  pthread_mutex_unlock(&s->streams_lock);
  discard(st);
}

/* Where a stream starts: ?since=N, or Last-Event-ID when the browser
 * reconnects by itself; else from now. */
static long long start_of(serve *s, const serve_request *r) {
  const char *since = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "since");
  const char *last = serve_header(r, "Last-Event-ID");
  const char *from = last ? last : since;
  char *end;
  long long n = from ? strtoll(from, &end, 10) : -1;
  return from && *from && !*end && n >= 0 ? n : -1;
}

serve_reply serve_stream_answer(serve *s, const serve_request *r) {
  if (strcmp(r->method, "GET") != 0) return serve_method_not_allowed("GET");
  if (!s->opts.events) return serve_error(MHD_HTTP_NOT_FOUND, "no such route");
  serve_reply why;
  auth_who *who = serve_who(s, r, &why);
  if (!who) return why;
  serve_stream *st = heap_calloc(1, sizeof *st);
  const char *bearer = serve_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
  const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, SERVE_COOKIE);
  *st = (serve_stream){.s = s, .conn = r->conn, .who = who, .seq = start_of(s, r), .last_write = now_s()};
  st->session = bearer ? NULL : heap_strdup(cookie);
  pthread_mutex_lock(&s->streams_lock);
  bool full = s->nstreams >= MAX_STREAMS;
  if (!full) {
    st->next = s->streams;
    if (s->streams) s->streams->prev = st;
    s->streams = st;
    s->nstreams++;
  }
  pthread_mutex_unlock(&s->streams_lock);
  if (full) {
    discard(st);
    return serve_error(MHD_HTTP_SERVICE_UNAVAILABLE, "too many open streams");
  }
  return (serve_reply){.status = MHD_HTTP_OK, .stream = st};
}

struct MHD_Response *serve_stream_response(serve_stream *st) {
  struct MHD_Response *res =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 << 10, stream_read, st, stream_free);
  MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; charset=utf-8");
  /* A proxy must pass each event on as it comes (nginx buffers otherwise). */
  MHD_add_response_header(res, "X-Accel-Buffering", "no");
  return res;
}
