/* ctl.c: the command line's side of the API (ctl.h), on libcurl. */
#include "plumb/ctl.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plumb/arena.h"
#include "plumb/kube.h"

enum { MAX_COLUMNS = 8 };

/* ---- the request --------------------------------------------------------- */

/* The answer's JSON in *answer to method on the server's path (app: whose
 * it is, for messages); prints why not and returns the exit status when
 * the server cannot be reached or refuses. */
static int request(const ctl_opts *o, const char *method, const char *path, const char *app, const char *body,
                   json_t **answer) {
  *answer = NULL;
  CURL *curl = curl_easy_init();
  if (!curl) abort();
  char *url, *text = NULL, *auth = NULL;
  size_t len = 0;
  size_t slash = strlen(o->server);
  while (slash && o->server[slash - 1] == '/') slash--;
  url = heap_printf("%.*s%s", (int)slash, o->server, path);
  struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
  if (o->token) {
    auth = heap_printf("Authorization: Bearer %s", o->token);
    headers = curl_slist_append(headers, auth);
  }
  FILE *sink = open_memstream(&text, &len);
  if (!sink) abort();
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  if (strcmp(method, "POST") == 0) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  CURLcode rc = curl_easy_perform(curl);
  fclose(sink);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  int exit_status = 0;
  if (rc != CURLE_OK) {
    fprintf(stderr, "plumb: cannot reach %s: %s\n", o->server, curl_easy_strerror(rc));
    exit_status = 2;
  } else if (!(*answer = json_loadb(text, len, 0, NULL))) {
    fprintf(stderr, "plumb: %s answered HTTP %ld, not JSON\n", o->server, status);
    exit_status = 2;
  } else if (status >= 400) {
    const char *why = kube_str(*answer, "error");
    fprintf(stderr, "plumb: %s%s%s (HTTP %ld)\n", app ? app : "", app ? ": " : "", why ? why : "refused", status);
    json_decref(*answer);
    *answer = NULL;
    exit_status = 1;
  }
  if (auth) explicit_bzero(auth, strlen(auth));
  free(auth);
  if (text) explicit_bzero(text, len); /* a login's answer holds the session */
  free(text);
  free(url);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return exit_status;
}

/* An application's part of the API: /api/v1/apps[/APP[/ACTION]]. */
static int call(const ctl_opts *o, const char *method, const char *app, const char *action, const char *body,
                json_t **answer) {
  char *name = app ? curl_easy_escape(NULL, app, 0) : NULL;
  char *path = heap_printf("/api/v1/apps%s%s%s%s", name ? "/" : "", name ? name : "", action ? "/" : "",
                           action ? action : "");
  int rc = request(o, method, path, app, body, answer);
  free(path);
  curl_free(name);
  return rc;
}

/* ---- tables ---------------------------------------------------------------- */

/* Rows of cells, printed in columns as wide as their widest cell and three
 * spaces apart, as kubectl get prints them. */
typedef struct {
  char *(*cells)[MAX_COLUMNS];
  size_t nrows, ncols;
} table;

static void table_row(table *t, const char *const *cells) {
  t->cells = heap_realloc(t->cells, (t->nrows + 1) * sizeof *t->cells);
  for (size_t c = 0; c < t->ncols; c++)
    t->cells[t->nrows][c] = heap_strdup(cells[c] && *cells[c] ? cells[c] : c + 1 < t->ncols ? "-" : "");
  t->nrows++;
}

static void table_print(table *t, FILE *out) {
  size_t width[MAX_COLUMNS] = {0};
  for (size_t r = 0; r < t->nrows; r++)
    for (size_t c = 0; c < t->ncols; c++)
      if (strlen(t->cells[r][c]) > width[c]) width[c] = strlen(t->cells[r][c]);
  for (size_t r = 0; r < t->nrows; r++) {
    size_t last = t->ncols - 1; /* no padding after the last cell shown */
    while (last > 0 && !*t->cells[r][last]) last--;
    for (size_t c = 0; c < last; c++) fprintf(out, "%-*s   ", (int)width[c], t->cells[r][c]);
    fprintf(out, "%s\n", t->cells[r][last]);
    for (size_t c = 0; c < t->ncols; c++) free(t->cells[r][c]);
  }
  free(t->cells);
  *t = (table){0};
}

/* "7s", "5m", "3h", "2d" since an RFC 3339 UTC time, as kubectl shows ages. */
static const char *age(const char *when, char out[32]) {
  struct tm tm = {0};
  if (!when || !strptime(when, "%Y-%m-%dT%H:%M:%SZ", &tm)) return "";
  long long s = (long long)difftime(time(NULL), timegm(&tm));
  if (s < 0) s = 0;
  if (s < 120) snprintf(out, 32, "%llds", s);
  else if (s < 7200) snprintf(out, 32, "%lldm", s / 60);
  else if (s < 172800) snprintf(out, 32, "%lldh", s / 3600);
  else snprintf(out, 32, "%lldd", s / 86400);
  return out;
}

/* The first line of a message: a compile error's source line and caret
 * belong to `-o json`. */
static char *first_line(const char *s) {
  char *line = heap_strndup(s ? s : "", strcspn(s ? s : "", "\n"));
  return line;
}

/* A sharded runtime's rows say which replica syncs each application. */
static void app_row(table *t, const json_t *app) {
  char ago[32], commit[8];
  snprintf(commit, sizeof commit, "%s", kube_str(app, "commit") ? kube_str(app, "commit") : "");
  char *msg = first_line(kube_str(app, "message"));
  const char *cells[] = {kube_str(app, "name"), kube_str(app, "sync"), kube_str(app, "health"), commit,
                         age(kube_str(app, "lastSync"), ago), msg, msg};
  if (t->ncols == 7) cells[5] = kube_str(app, "replica");
  table_row(t, cells);
  free(msg);
}

static bool sharded(const json_t *answer, const char *app) {
  size_t i;
  json_t *one;
  if (app) return kube_str(answer, "replica") != NULL;
  json_array_foreach(json_object_get(answer, "apps"), i, one) if (kube_str(one, "replica")) return true;
  return false;
}

static void print_resources(const json_t *app, FILE *out) {
  table t = {.ncols = 6};
  table_row(&t, (const char *[]){"KIND", "NAMESPACE", "NAME", "SYNC", "HEALTH", "MESSAGE"});
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(app, "resources"), i, r)
      table_row(&t, (const char *[]){kube_str(r, "kind"), kube_str(r, "namespace"), kube_str(r, "name"),
                                     kube_str(r, "sync"), kube_str(r, "health"), kube_str(r, "message")});
  table_print(&t, out);
}

static void print_json(const json_t *answer, FILE *out) {
  json_dumpf(answer, out, JSON_INDENT(2) | JSON_SORT_KEYS);
  fputc('\n', out);
}

/* ---- the commands ------------------------------------------------------------ */

int ctl_status(const ctl_opts *o, const char *app) {
  json_t *answer;
  int rc = call(o, "GET", app, NULL, NULL, &answer);
  if (rc) return rc;
  if (o->json) {
    print_json(answer, o->out);
  } else {
    table t = {.ncols = sharded(answer, app) ? 7 : 6};
    table_row(&t, (const char *[]){"NAME", "SYNC", "HEALTH", "REVISION", "AGE", t.ncols == 7 ? "REPLICA" : "MESSAGE",
                                   "MESSAGE"});
    size_t i;
    json_t *one;
    if (app) app_row(&t, answer);
    else json_array_foreach(json_object_get(answer, "apps"), i, one) app_row(&t, one);
    table_print(&t, o->out);
    if (app) {
      fputc('\n', o->out);
      print_resources(answer, o->out);
    }
  }
  json_decref(answer);
  return 0;
}

int ctl_history(const ctl_opts *o, const char *app) {
  json_t *answer;
  int rc = call(o, "GET", app, "history", NULL, &answer);
  if (rc) return rc;
  if (o->json) {
    print_json(answer, o->out);
  } else {
    table t = {.ncols = 6};
    table_row(&t, (const char *[]){"ID", "REVISION", "TIME", "RESULT", "BY", "MESSAGE"});
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(answer, "history"), i, e) {
      char id[24], commit[8];
      snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(e, "id")));
      snprintf(commit, sizeof commit, "%s", kube_str(e, "revision") ? kube_str(e, "revision") : "");
      const char *by = kube_str(e, "trigger");
      table_row(&t, (const char *[]){id, commit, kube_str(e, "time"), kube_str(e, "result"), by ? by : "-",
                                     kube_str(e, "error")});
    }
    table_print(&t, o->out);
  }
  json_decref(answer);
  return 0;
}

/* POST, then what was queued. */
static int post(const ctl_opts *o, const char *app, const char *action, const char *body) {
  json_t *answer;
  int rc = call(o, "POST", app, action, body, &answer);
  if (rc) return rc;
  if (o->json) print_json(answer, o->out);
  else if (json_object_get(answer, "revision"))
    fprintf(o->out, "%s: rollback to history entry %lld (%.7s) queued\n", app,
            (long long)json_integer_value(json_object_get(answer, "id")), kube_str(answer, "revision"));
  else fprintf(o->out, "%s: %s queued\n", app, action);
  json_decref(answer);
  return 0;
}

int ctl_sync(const ctl_opts *o, const char *app) { return post(o, app, "sync", NULL); }

int ctl_suspend(const ctl_opts *o, const char *app, bool suspend) {
  return post(o, app, suspend ? "suspend" : "resume", NULL);
}

int ctl_rollback(const ctl_opts *o, const char *app, const char *id) {
  char body[64] = "";
  if (id) {
    char *end;
    long long n = strtoll(id, &end, 10);
    if (!*id || *end) {
      fprintf(stderr, "plumb: rollback: ID must be a number, not %s\n", id);
      return 2;
    }
    snprintf(body, sizeof body, "{\"id\": %lld}", n);
  }
  return post(o, app, "rollback", id ? body : NULL);
}

/* ---- sessions ------------------------------------------------------------------- */

/* The file's servers and their sessions; an empty object when it has none. */
static json_t *sessions_read(const char *path) {
  json_t *all = json_load_file(path, 0, NULL);
  if (!json_is_object(all)) {
    json_decref(all);
    all = json_object();
  }
  return all;
}

/* Replaces the file with all, readable by its owner alone; false after
 * saying why. */
static bool sessions_write(const char *path, const json_t *all) {
  char *tmp = heap_printf("%s.tmp", path), *dir = heap_strdup(path);
  /* ~/.config/plumb, and ~/.config first when the home has none. */
  for (char *s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
    *s = '\0';
    mkdir(dir, 0700);
    *s = '/';
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  char *text = json_dumps(all, JSON_INDENT(2) | JSON_SORT_KEYS);
  size_t len = strlen(text);
  bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
  if (fd >= 0 && close(fd) != 0) ok = false;
  if (ok && rename(tmp, path) != 0) ok = false;
  if (!ok) {
    fprintf(stderr, "plumb: cannot write %s: %s\n", path, strerror(errno));
    unlink(tmp);
  }
  explicit_bzero(text, len);
  free(text);
  free(tmp);
  free(dir);
  return ok;
}

char *ctl_session(const char *path, const char *server) {
  json_t *all = sessions_read(path);
  char *token = heap_strdup(json_string_value(json_object_get(all, server)));
  json_decref(all);
  return token;
}

int ctl_login(const ctl_opts *o, const char *user, const char *password, const char *path) {
  json_t *body = json_pack("{s:s, s:s, s:b}", "username", user, "password", password, "token", 1), *answer;
  char *text = json_dumps(body, JSON_COMPACT);
  int rc = request(o, "POST", "/api/v1/session", NULL, text, &answer);
  explicit_bzero(text, strlen(text));
  free(text);
  json_decref(body);
  if (rc) return rc;
  json_t *all = sessions_read(path);
  json_object_set(all, o->server, json_object_get(answer, "token"));
  rc = sessions_write(path, all) ? 0 : 2;
  if (!rc) fprintf(o->out, "signed in to %s as %s\n", o->server, kube_str(answer, "user"));
  json_decref(all);
  json_decref(answer);
  return rc;
}

int ctl_logout(const ctl_opts *o, const char *path) {
  json_t *answer = NULL, *all = sessions_read(path);
  ctl_opts with = *o;
  with.token = json_string_value(json_object_get(all, o->server));
  /* Gone from the file whatever the server says: it may have ended it. */
  int rc = with.token ? request(&with, "DELETE", "/api/v1/session", NULL, NULL, &answer) : 0;
  json_decref(answer);
  json_object_del(all, o->server);
  if (!sessions_write(path, all)) rc = 2;
  else fprintf(o->out, "signed out of %s\n", o->server);
  json_decref(all);
  return rc;
}
