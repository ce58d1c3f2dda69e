/* notice.c: what happens to an application, told to the cluster as
 * Kubernetes events (events.h), so that `kubectl describe application`
 * and `kubectl get events` show its syncs, failures, health, drift undone,
 * prunes and rollbacks as they show a Deployment's. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

#include "run/internal.h"

/* The Application object of name (caller decrefs): in the last read,
 * mirror or not, else asked for, as a mirror may have been made since;
 * NULL when there is none (the CRD is not installed). */
static json_t *object_of(runner *r, const char *name) {
  json_t *obj = json_object_get(r->listed_by_name, name);
  if (obj && !kube_meta_str(obj, "deletionTimestamp")) return json_incref(obj);
  obj = NULL;
  if (r->listed && kube_get(r->c, APP_API_VERSION, "Application", r->objects_ns, name, &obj) != KUBE_OK) obj = NULL;
  return obj;
}

void run_notice(runner *r, const app_def *app, const char *type, const char *reason, const char *fmt, ...) {
  if (!r->events || !run_owns(r, app)) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0) abort();
  va_end(ap);
  json_t *obj = object_of(r, app->name);
  char history[300];
  history_name(history, sizeof history, app->name);
  events_object about = obj ? (events_object){APP_API_VERSION, "Application", r->objects_ns, app->name,
                                              kube_meta_str(obj, "uid")}
                            : (events_object){"v1", "ConfigMap", r->home, history, NULL};
  events_emit(r->events, &about, type, reason, "%s", msg);
  json_decref(obj);
  free(msg);
}
