/* history.c: sync history in a ConfigMap (see history.h). */
#include "plumb/history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void history_name(char *buf, size_t len, const char *app) { snprintf(buf, len, "plumb-history-%s", app); }

static const char *data_str(const json_t *cm, const char *key, const char *dflt) {
  const char *s = kube_str(json_object_get(cm, "data"), key);
  return s ? s : dflt;
}

int history_load(kube_client *c, const char *ns, const char *app, history *out) {
  char name[300];
  json_t *cm = NULL;
  history_name(name, sizeof name, app);
  *out = (history){.entries = heap_strdup("[]")};
  int rc = kube_get(c, "v1", "ConfigMap", ns, name, &cm);
  if (rc == KUBE_ENOTFOUND) return KUBE_OK;
  if (rc != KUBE_OK) return rc;
  snprintf(out->applied, sizeof out->applied, "%s", data_str(cm, "applied", ""));
  snprintf(out->rollback, sizeof out->rollback, "%s", data_str(cm, "rollback", ""));
  snprintf(out->paused_at, sizeof out->paused_at, "%s", data_str(cm, "pausedAt", ""));
  out->suspended = strcmp(data_str(cm, "suspended", ""), "true") == 0;
  snprintf(out->deleting, sizeof out->deleting, "%s", data_str(cm, "deleting", ""));
  snprintf(out->cluster, sizeof out->cluster, "%s", data_str(cm, "cluster", ""));
  snprintf(out->delete_step, sizeof out->delete_step, "%s", data_str(cm, "deleteStep", ""));
  const char *hooks = data_str(cm, "deleteHooks", NULL);
  out->delete_hooks = hooks ? heap_strdup(hooks) : NULL;
  const char *notified = data_str(cm, "notified", NULL);
  out->notified = notified ? heap_strdup(notified) : NULL;
  snprintf(out->out_of_sync, sizeof out->out_of_sync, "%s", data_str(cm, "outOfSyncSince", ""));
  json_t *entries = json_loads(data_str(cm, "history", "[]"), 0, NULL);
  if (json_is_array(entries)) { /* unreadable: start again rather than stop */
    free(out->entries);
    out->entries = json_dumps(entries, JSON_COMPACT);
  }
  json_decref(entries);
  json_decref(cm);
  return KUBE_OK;
}

static json_t *outcomes(const apply_result *r) {
  json_t *list = json_array();
  for (size_t i = 0; i < r->n; i++) {
    const apply_outcome *o = &r->items[i];
    json_t *one = json_pack("{s:s}", "object", o->ref);
    if (o->ns) json_object_set_new(one, "namespace", json_string(o->ns));
    json_object_set_new(one, o->verb ? "result" : "error", json_string(o->verb ? o->verb : o->error));
    json_array_append_new(list, one);
  }
  return list;
}

static json_t *entry(const json_t *entries, const history_sync *s, const sync_report *rep) {
  json_t *last = json_array_get(entries, json_array_size(entries) - 1);
  char when[32];
  time_t t = time(NULL);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  json_t *e = json_pack("{s:I, s:s, s:s, s:s, s:o}", "id", json_integer_value(json_object_get(last, "id")) + 1,
                        "revision", s->commit, "time", when, "result", sync_status_name(rep->status), "objects",
                        outcomes(&rep->objects));
  if (rep->error) json_object_set_new(e, "error", json_string(rep->error));
  if (s->subject) json_object_set_new(e, "message", json_string(s->subject));
  if (s->author) json_object_set_new(e, "author", json_string(s->author));
  if (s->trigger) json_object_set_new(e, "trigger", json_string(s->trigger));
  /* The revision alone does not say what was built when the env took
   * parameters: a build is the commit and its arguments. */
  if (s->nargs) {
    json_t *list = json_array();
    for (size_t i = 0; i < s->nargs; i++) json_array_append_new(list, json_string(s->args[i]));
    json_object_set_new(e, "args", list);
  }
  return e;
}

size_t history_args(const json_t *entry, const char ***args) {
  const json_t *list = json_object_get(entry, "args");
  size_t n = 0;
  *args = heap_calloc(json_array_size(list) + 1, sizeof **args);
  for (size_t i = 0; i < json_array_size(list); i++) {
    const char *s = json_string_value(json_array_get(list, i));
    if (s) (*args)[n++] = s;
  }
  return n;
}

int history_record(kube_client *c, const char *ns, const char *app, history *h, const history_sync *s,
                   const sync_report *rep) {
  json_t *entries = json_loads(h->entries, 0, NULL);
  json_array_append_new(entries, entry(entries, s, rep));
  while (json_array_size(entries) > HISTORY_MAX) json_array_remove(entries, 0);
  free(h->entries);
  h->entries = json_dumps(entries, JSON_COMPACT);
  json_decref(entries);
  if (rep->status == SYNC_SYNCED) snprintf(h->applied, sizeof h->applied, "%s", s->commit);
  return history_save(c, ns, app, h);
}

int history_save(kube_client *c, const char *ns, const char *app, const history *h) {
  char name[300];
  history_name(name, sizeof name, app);
  json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                         "metadata", "name", name, "namespace", ns, "labels", "app.kubernetes.io/managed-by", "plumb",
                         "data", "applied", h->applied, "history", h->entries);
  if (*h->rollback) {
    json_t *data = json_object_get(cm, "data");
    json_object_set_new(data, "rollback", json_string(h->rollback));
    json_object_set_new(data, "pausedAt", json_string(h->paused_at));
  }
  if (h->suspended) json_object_set_new(json_object_get(cm, "data"), "suspended", json_string("true"));
  if (*h->deleting) {
    json_t *data = json_object_get(cm, "data");
    json_object_set_new(data, "deleting", json_string(h->deleting));
    json_object_set_new(data, "cluster", json_string(h->cluster));
    if (*h->delete_step) json_object_set_new(data, "deleteStep", json_string(h->delete_step));
    if (h->delete_hooks) json_object_set_new(data, "deleteHooks", json_string(h->delete_hooks));
  }
  if (h->notified) json_object_set_new(json_object_get(cm, "data"), "notified", json_string(h->notified));
  if (*h->out_of_sync) json_object_set_new(json_object_get(cm, "data"), "outOfSyncSince", json_string(h->out_of_sync));
  kube_apply_opts o = {.force = true};
  int rc = kube_apply(c, cm, &o, NULL);
  json_decref(cm);
  return rc;
}

int history_delete(kube_client *c, const char *ns, const char *app) {
  char name[300];
  history_name(name, sizeof name, app);
  int rc = kube_delete(c, "v1", "ConfigMap", ns, name, NULL);
  return rc == KUBE_ENOTFOUND ? KUBE_OK : rc;
}

json_t *history_deleting(kube_client *c, const char *ns) {
  json_t *items = NULL, *names = json_array();
  kube_list_opts lo = {.label_selector = "app.kubernetes.io/managed-by=plumb"};
  if (kube_list(c, "v1", "ConfigMap", ns, &lo, &items, NULL) != KUBE_OK) {
    json_decref(names);
    return NULL;
  }
  size_t i;
  json_t *cm;
  json_array_foreach(items, i, cm) {
    const char *name = kube_meta_str(cm, "name");
    if (name && strncmp(name, "plumb-history-", 14) == 0 && *data_str(cm, "deleting", ""))
      json_array_append_new(names, json_string(name + 14));
  }
  json_decref(items);
  return names;
}

const json_t *history_pick(const json_t *entries, const char *applied, bool has_id, long long id) {
  for (size_t i = json_array_size(entries); i-- > 0;) {
    const json_t *e = json_array_get(entries, i);
    if (has_id ? json_integer_value(json_object_get(e, "id")) == id
               : kube_str_is(e, "result", "Synced") && !kube_str_is(e, "revision", applied))
      return kube_str(e, "revision") ? e : NULL;
  }
  return NULL;
}

void history_free(history *h) {
  free(h->entries);
  free(h->delete_hooks);
  free(h->notified);
  *h = (history){0};
}
