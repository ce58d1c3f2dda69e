/* fleet.c: many applications behind plumb run's own server (run_api_serve)
 * and UI, for the browser test of the applications page at scale
 * (tests/ui/fleet.mjs): no cluster, only the status a loop would publish.
 *
 *   fleet N PASSWORD [AUTH_FILE]
 *
 * Serves N applications, app-00000 on, on a free port of 127.0.0.1, admin
 * signing in with PASSWORD, and the people of AUTH_FILE (the port
 * $PLUMB_FLEET_PORT, when set, for a provider of single sign-on that must
 * know it beforehand); prints "port P", then reads lines "NAME SYNC
 * HEALTH" from standard input and publishes each as that application's
 * new status, as a pass would. Ends at the end of its input. Some are
 * OutOfSync (i % 7 == 2), Degraded (i % 13 == 3) or Progressing (i % 11
 * == 4), as a real fleet is, for the pictures of docs/ui.md
 * (tests/ui/screenshots.mjs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "plumb/run.h"

static const char *const subjects[] = {"Raise the replicas of the API to 3", "Pin the image to 1.27.3",
                                       "Add the cache's ConfigMap", "Move the ingress to the new host"};

static json_t *summary(int i) {
  char name[32], ns[32];
  snprintf(name, sizeof name, "app-%05d", i);
  snprintf(ns, sizeof ns, "team-%d", i % 20);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "name", name, "project",
                   i % 2 ? "shop" : "web", "cluster", i % 3 ? "in-cluster" : "eu-west", "namespace", ns, "revision",
                   "main", "commit", "9fceb02d0ae598e95dc970b74767f19372d61af8", "commitMessage", subjects[i % 4],
                   "commitAuthor", "Ada Lovelace", "sync", i % 7 == 2 ? "OutOfSync" : "Synced", "health",
                   i % 13 == 3   ? "Degraded"
                   : i % 11 == 4 ? "Progressing"
                                 : "Healthy",
                   "message", i % 13 == 3 ? "Deployment web: 0 of 3 replicas available" : "", "lastSync",
                   "2026-12-07T03:00:00Z", "autoSync", i % 5 != 1);
}

/* The rest of an application's document: where it comes from, its objects
 * and its history, as a pass would write them. */
static json_t *document(const json_t *sum) {
  json_t *doc = json_deep_copy(sum);
  const char *name = json_string_value(json_object_get(sum, "name")),
             *ns = json_string_value(json_object_get(sum, "namespace"));
  const char *health = json_string_value(json_object_get(sum, "health"));
  char path[64];
  snprintf(path, sizeof path, "apps/%s", name);
  json_object_set_new(doc, "repo", json_string("https://git.example.com/platform/fleet.git"));
  json_object_set_new(doc, "path", json_string(path));
  json_object_set_new(doc, "applied", json_string("9fceb02d0ae598e95dc970b74767f19372d61af8"));
  json_object_set_new(doc, "resources",
                      json_pack("[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}, "
                                "{s:s, s:s, s:s, s:s, s:s, s:s}]",
                                "kind", "ConfigMap", "name", "web-config", "namespace", ns, "sync", "Synced", "health",
                                "Healthy", "kind", "Service", "name", "web", "namespace", ns, "sync", "Synced",
                                "health", "Healthy", "kind", "Deployment", "name", "web", "namespace", ns, "sync",
                                json_string_value(json_object_get(sum, "sync")), "health", health, "message",
                                json_string_value(json_object_get(sum, "message"))));
  json_object_set_new(doc, "history",
                      json_pack("[{s:i, s:s, s:s, s:s, s:[]}, {s:i, s:s, s:s, s:s, s:[]}]", "id", 1, "revision",
                                "3f786850e387550fdab836ed7e6dc881de23001b", "time", "2026-12-06T17:42:00Z", "result",
                                "Synced", "objects", "id", 2, "revision", "9fceb02d0ae598e95dc970b74767f19372d61af8",
                                "time", "2026-12-07T03:00:00Z", "result", "Synced", "objects"));
  return doc;
}

/* The store gets copies: a publish takes what it is given. Each document
 * in the store's three parts, the resources and manifests apart. */
static void publish(status_store *store, json_t *list) {
  json_t *docs = json_object(), *sums = json_object();
  size_t i;
  json_t *app;
  json_array_foreach(list, i, app) {
    json_t *doc = document(app);
    char *resources = json_dumps(json_object_get(doc, "resources"), JSON_COMPACT);
    json_object_del(doc, "resources");
    char *text = json_dumps(doc, JSON_COMPACT);
    const char *name = json_string_value(json_object_get(app, "name"));
    json_object_set_new(docs, name, json_pack("[s, s, s]", text, resources, "[]"));
    json_object_set_new(sums, name, json_deep_copy(app));
    json_decref(doc);
    free(resources);
    free(text);
  }
  status_publish(store, docs, sums, true);
}

static json_t *find(json_t *list, const char *name) {
  size_t i;
  json_t *app;
  json_array_foreach(list, i, app) {
    if (strcmp(json_string_value(json_object_get(app, "name")), name) == 0) return app;
  }
  return NULL;
}

int main(int argc, char **argv) {
  /* Thousands of idle connections, as plumb run holds them. */
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: fleet N PASSWORD [AUTH_FILE]\n");
    return 2;
  }
  status_store *store = status_new();
  json_t *list = json_array();
  for (int i = 0; i < atoi(argv[1]); i++) json_array_append_new(list, summary(i));
  publish(store, list);
  auth *a;
  char *err = NULL;
  if (auth_load(&a, argc == 4 ? argv[3] : NULL, &err) != 0) {
    fprintf(stderr, "fleet: %s\n", err);
    return 1;
  }
  auth_set_admin_password(a, argv[2]);
  const char *port = getenv("PLUMB_FLEET_PORT");
  run_opts o = {.address = "127.0.0.1", .port = port ? (unsigned)atoi(port) : 0};
  run_api api = {.store = store, .auth = a, .o = &o};
  serve *srv;
  if (run_api_serve(&api, &srv, &err) != 0) {
    fprintf(stderr, "fleet: %s\n", err);
    return 1;
  }
  printf("port %u\n", serve_port(srv));
  fflush(stdout);
  char line[256], name[64], sync[32], health[32];
  while (fgets(line, sizeof line, stdin))
    if (sscanf(line, "%63s %31s %31s", name, sync, health) == 3 && find(list, name)) {
      json_object_set_new(find(list, name), "sync", json_string(sync));
      json_object_set_new(find(list, name), "health", json_string(health));
      publish(store, list);
    }
  serve_stop(srv);
  auth_free(a);
  status_free(store);
  json_decref(list);
  return 0;
}
