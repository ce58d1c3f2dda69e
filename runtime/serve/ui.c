/* ui.c: the web UI's files, embedded in the binary (ui/, through
 * compiler/embed.sh), so that the image stays one program.
 *
 * The UI is one page that draws every view from the API; each of its
 * paths (/apps/NAME and so on, which a person bookmarks or shares) is
 * answered with that page, and its script and style come from /assets/.
 * An ETag per file lets a browser keep them until the binary changes. */
#include <openssl/sha.h>
#include <pthread.h>
#include <string.h>

#include "plumb/arena.h"
#include "serve/internal.h"

extern const struct {
  const char *name;
  const char *text;
} ui_files[];

#define ASSETS "/assets/"

/* The paths of the page, as its script routes them. */
static const char *const page_paths[] = {"/", "/login", "/apps", "/apps/", "/new"};

static char etags[64][68]; /* "\"" + 64 hex + "\"", per file */
static pthread_once_t etags_once = PTHREAD_ONCE_INIT;

static void make_etags(void) {
  for (size_t i = 0; ui_files[i].name && i < sizeof etags / sizeof *etags; i++) {
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)ui_files[i].text, strlen(ui_files[i].text), d);
    etags[i][0] = '"';
    for (size_t j = 0; j < 32; j++) snprintf(etags[i] + 1 + 2 * j, 3, "%02x", d[j]);
    strcpy(etags[i] + 65, "\"");
  }
}

static const char *type_of(const char *name) {
  const char *dot = strrchr(name, '.');
  return !dot                    ? "application/octet-stream"
         : !strcmp(dot, ".html") ? "text/html; charset=utf-8"
         : !strcmp(dot, ".js")   ? "text/javascript; charset=utf-8"
         : !strcmp(dot, ".css")  ? "text/css; charset=utf-8"
         : !strcmp(dot, ".svg")  ? "image/svg+xml"
                                 : "application/octet-stream";
}

static size_t file_index(const char *name) {
  size_t i = 0;
  while (ui_files[i].name && strcmp(ui_files[i].name, name) != 0) i++;
  return i;
}

static serve_reply file_reply(const serve_request *r, size_t i) {
  pthread_once(&etags_once, make_etags);
  const char *given = serve_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
  bool same = i < sizeof etags / sizeof *etags && given && strcmp(given, etags[i]) == 0;
  return (serve_reply){.status = same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK,
                       .body = heap_strdup(same ? "" : ui_files[i].text),
                       .type = type_of(ui_files[i].name),
                       .cache = "no-cache",
                       .etag = i < sizeof etags / sizeof *etags ? etags[i] : NULL};
}

static bool is_page_path(const char *url) {
  for (size_t i = 0; i < sizeof page_paths / sizeof *page_paths; i++) {
    size_t n = strlen(page_paths[i]);
    if (page_paths[i][n - 1] == '/' && n > 1 ? strncmp(url, page_paths[i], n) == 0 : strcmp(url, page_paths[i]) == 0)
      return true;
  }
  return false;
}

serve_reply serve_ui_answer(serve *s, const serve_request *r) {
  if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) return serve_method_not_allowed("GET, HEAD");
  const char *name = strncmp(r->url, ASSETS, strlen(ASSETS)) == 0 ? r->url + strlen(ASSETS)
                     : is_page_path(r->url)                       ? "index.html"
                                                                  : NULL;
  size_t i = name && !strchr(name, '/') ? file_index(name) : 0;
  if (!name || strchr(name, '/') || !ui_files[i].name)
    return (serve_reply){
        .status = MHD_HTTP_NOT_FOUND, .body = heap_strdup("not found\n"), .type = "text/plain; charset=utf-8"};
  return file_reply(r, i);
}
