/* health.c: Argo CD's health rules, kind by kind, over live JSON objects.
 *
 * Each rule reads the object as Argo CD's typed Go structs would: an absent
 * number is 0, an absent string "", an absent pointer field (spec.replicas,
 * a rolling update's partition) skips the comparison that needs it. A field
 * of the wrong type makes the verdict Unknown, as a failed conversion does
 * there. */
#include "plumb/health.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "plumb/kube.h"

/* What a rule has read so far: the first field of the wrong type. */
typedef struct {
  const char *bad;
} reader;

typedef health_status rule_fn(reader *r, const json_t *o);

static const char *const names[] = {"Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"};

const char *health_name(health_code code) { return names[code]; }

bool health_is_worse(health_code current, health_code candidate) { return candidate > current; }

static health_status verdict(health_code code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static health_status verdict(health_code code, const char *fmt, ...) {
  health_status h = {code, ""};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(h.message, sizeof h.message, fmt, ap);
  va_end(ap);
  return h;
}

/* A verdict without words. */
static health_status bare(health_code code) { return (health_status){code, ""}; }

/* Appends sep and text to h's message, cut where it is full. */
static void append(health_status *h, const char *sep, const char *text) {
  size_t used = strlen(h->message);
  snprintf(h->message + used, sizeof h->message - used, "%s%s", sep, text);
}

/* The value at a dotted path under at; NULL for absent or null. */
static const json_t *get(const json_t *at, const char *path) {
  char key[64];
  while (at && *path) {
    size_t n = strcspn(path, ".");
    snprintf(key, sizeof key, "%.*s", (int)n, path);
    at = json_object_get(at, key);
    path += n + (path[n] == '.');
  }
  return json_is_null(at) ? NULL : at;
}

static const json_t *typed(reader *r, const json_t *at, const char *path, json_type type) {
  const json_t *v = get(at, path);
  if (!v || json_typeof(v) == type) return v;
  if (!r->bad) r->bad = path;
  return NULL;
}

static long long num(reader *r, const json_t *at, const char *path) {
  return json_integer_value(typed(r, at, path, JSON_INTEGER));
}

static const char *text(reader *r, const json_t *at, const char *path) {
  const char *s = json_string_value(typed(r, at, path, JSON_STRING));
  return s ? s : "";
}

static bool is(reader *r, const json_t *at, const char *path, const char *want) {
  return strcmp(text(r, at, path), want) == 0;
}

static bool flag(reader *r, const json_t *at, const char *path) {
  const json_t *v = get(at, path);
  if (v && !json_is_boolean(v) && !r->bad) r->bad = path;
  return json_is_true(v);
}

static size_t count(reader *r, const json_t *at, const char *path) {
  return json_array_size(typed(r, at, path, JSON_ARRAY));
}

static const json_t *conditions(reader *r, const json_t *o) { return typed(r, o, "status.conditions", JSON_ARRAY); }

/* The first condition of the type, as Argo CD's getCondition finds it. */
static const json_t *condition(reader *r, const json_t *o, const char *type) {
  size_t i;
  const json_t *c;
  json_array_foreach(conditions(r, o), i, c) if (is(r, c, "type", type)) return c;
  return NULL;
}

/* The controller has not seen the latest spec yet. */
static bool unobserved(reader *r, const json_t *o) {
  return num(r, o, "metadata.generation") > num(r, o, "status.observedGeneration");
}

static health_status deployment(reader *r, const json_t *o) {
  if (flag(r, o, "spec.paused")) return verdict(HEALTH_SUSPENDED, "Deployment is paused");
  if (unobserved(r, o))
    return verdict(HEALTH_PROGRESSING,
                   "Waiting for rollout to finish: observed deployment generation less than desired generation");
  long long updated = num(r, o, "status.updatedReplicas"), replicas = num(r, o, "status.replicas");
  long long available = num(r, o, "status.availableReplicas"), wanted = num(r, o, "spec.replicas");
  if (is(r, condition(r, o, "Progressing"), "reason", "ProgressDeadlineExceeded"))
    return verdict(HEALTH_DEGRADED, "Deployment \"%s\" exceeded its progress deadline", text(r, o, "metadata.name"));
  if (get(o, "spec.replicas") && updated < wanted)
    return verdict(HEALTH_PROGRESSING,
                   "Waiting for rollout to finish: %lld out of %lld new replicas have been updated...", updated, wanted);
  if (replicas > updated)
    return verdict(HEALTH_PROGRESSING, "Waiting for rollout to finish: %lld old replicas are pending termination...",
                   replicas - updated);
  if (available < updated)
    return verdict(HEALTH_PROGRESSING, "Waiting for rollout to finish: %lld of %lld updated replicas are available...",
                   available, updated);
  return bare(HEALTH_HEALTHY);
}

/* After kubectl rollout status, as Argo CD borrowed it. */
static health_status statefulset(reader *r, const json_t *o) {
  if (num(r, o, "status.observedGeneration") == 0 || unobserved(r, o))
    return verdict(HEALTH_PROGRESSING, "Waiting for statefulset spec update to be observed...");
  bool has_replicas = get(o, "spec.replicas");
  long long wanted = num(r, o, "spec.replicas"), ready = num(r, o, "status.readyReplicas");
  long long updated = num(r, o, "status.updatedReplicas");
  if (has_replicas && ready < wanted) return verdict(HEALTH_PROGRESSING, "Waiting for %lld pods to be ready...", wanted - ready);
  if (is(r, o, "spec.updateStrategy.type", "RollingUpdate") && get(o, "spec.updateStrategy.rollingUpdate")) {
    const char *partition = "spec.updateStrategy.rollingUpdate.partition";
    long long want_updated = wanted - num(r, o, partition);
    if (has_replicas && get(o, partition) && updated < want_updated)
      return verdict(HEALTH_PROGRESSING,
                     "Waiting for partitioned roll out to finish: %lld out of %lld new pods have been updated...",
                     updated, want_updated);
    return verdict(HEALTH_HEALTHY, "partitioned roll out complete: %lld new pods have been updated...", updated);
  }
  if (is(r, o, "spec.updateStrategy.type", "OnDelete"))
    return verdict(HEALTH_HEALTHY, "statefulset has %lld ready pods (%lld updated)", ready, updated);
  const char *update_rev = text(r, o, "status.updateRevision"), *current_rev = text(r, o, "status.currentRevision");
  if (strcmp(update_rev, current_rev) != 0)
    return verdict(HEALTH_PROGRESSING,
                   "waiting for statefulset rolling update to complete %lld pods at revision %s...", updated, update_rev);
  return verdict(HEALTH_HEALTHY, "statefulset rolling update complete %lld pods at revision %s...",
                 num(r, o, "status.currentReplicas"), current_rev);
}

static health_status daemonset(reader *r, const json_t *o) {
  if (unobserved(r, o))
    return verdict(HEALTH_PROGRESSING,
                   "Waiting for rollout to finish: observed daemon set generation less than desired generation");
  long long updated = num(r, o, "status.updatedNumberScheduled"), desired = num(r, o, "status.desiredNumberScheduled");
  long long available = num(r, o, "status.numberAvailable");
  const char *name = text(r, o, "metadata.name");
  if (is(r, o, "spec.updateStrategy.type", "OnDelete"))
    return verdict(HEALTH_HEALTHY, "daemon set %lld out of %lld new pods have been updated", updated, desired);
  if (updated < desired)
    return verdict(HEALTH_PROGRESSING,
                   "Waiting for daemon set \"%s\" rollout to finish: %lld out of %lld new pods have been updated...",
                   name, updated, desired);
  if (available < desired)
    return verdict(HEALTH_PROGRESSING,
                   "Waiting for daemon set \"%s\" rollout to finish: %lld of %lld updated pods are available...", name,
                   available, desired);
  return bare(HEALTH_HEALTHY);
}

static health_status replicaset(reader *r, const json_t *o) {
  if (unobserved(r, o))
    return verdict(HEALTH_PROGRESSING,
                   "Waiting for rollout to finish: observed replica set generation less than desired generation");
  const json_t *failure = condition(r, o, "ReplicaFailure");
  long long available = num(r, o, "status.availableReplicas"), wanted = num(r, o, "spec.replicas");
  if (is(r, failure, "status", "True")) return verdict(HEALTH_DEGRADED, "%s", text(r, failure, "message"));
  if (get(o, "spec.replicas") && available < wanted)
    return verdict(HEALTH_PROGRESSING, "Waiting for rollout to finish: %lld out of %lld new replicas are available...",
                   available, wanted);
  return bare(HEALTH_HEALTHY);
}

static bool starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ErrImagePull, CreateContainerConfigError, CrashLoopBackOff and their kin:
 * waiting that will not end by itself. */
static bool stuck(const char *reason) {
  return starts_with(reason, "Err") || ends_with(reason, "Error") || ends_with(reason, "BackOff");
}

/* Degraded while any container is stuck, with the messages of all of them;
 * Healthy (no verdict) otherwise. */
static health_status pod_stuck(reader *r, const json_t *o) {
  health_status h = bare(HEALTH_HEALTHY);
  size_t i, n = 0;
  const json_t *c;
  json_array_foreach(typed(r, o, "status.containerStatuses", JSON_ARRAY), i, c) {
    if (!stuck(text(r, c, "state.waiting.reason"))) continue;
    h.code = HEALTH_DEGRADED;
    append(&h, n++ ? ", " : "", text(r, c, "state.waiting.message"));
  }
  return h;
}

/* Why a failed pod's container failed, "" when it does not say. */
static health_status failure_of(reader *r, const json_t *c) {
  const json_t *t = get(c, "state.terminated");
  long long code = num(r, t, "exitCode");
  if (*text(r, t, "message")) return verdict(HEALTH_DEGRADED, "%s", text(r, t, "message"));
  if (is(r, t, "reason", "OOMKilled")) return verdict(HEALTH_DEGRADED, "OOMKilled");
  if (code != 0) return verdict(HEALTH_DEGRADED, "container \"%s\" failed with exit code %lld", text(r, c, "name"), code);
  return bare(HEALTH_DEGRADED);
}

/* The pod's own message, else the first container's (init containers
 * first) that says why it failed. */
static health_status pod_failed(reader *r, const json_t *o) {
  health_status h = verdict(HEALTH_DEGRADED, "%s", text(r, o, "status.message"));
  const char *lists[] = {"status.initContainerStatuses", "status.containerStatuses"};
  for (size_t l = 0; l < 2 && !*h.message; l++) {
    size_t i;
    const json_t *c;
    json_array_foreach(typed(r, o, lists[l], JSON_ARRAY), i, c) if (*(h = failure_of(r, c)).message) break;
  }
  return h;
}

/* Ready is Healthy; not ready after a container has terminated once is
 * Degraded; otherwise it is on its way. A pod that is not restarted for ever
 * is likely a hook, with a finite life: Progressing while it runs. */
static health_status pod_running(reader *r, const json_t *o) {
  const char *message = text(r, o, "status.message");
  if (!is(r, o, "spec.restartPolicy", "Always")) return verdict(HEALTH_PROGRESSING, "%s", message);
  if (is(r, condition(r, o, "Ready"), "status", "True")) return verdict(HEALTH_HEALTHY, "%s", message);
  size_t i;
  const json_t *c;
  json_array_foreach(typed(r, o, "status.containerStatuses", JSON_ARRAY), i, c)
    if (get(c, "lastState.terminated")) return verdict(HEALTH_DEGRADED, "%s", message);
  return verdict(HEALTH_PROGRESSING, "%s", message);
}

/* Stuck containers count only in pods that restart them for ever: a hook
 * pod marked Degraded too early would fail its sync. */
static health_status pod(reader *r, const json_t *o) {
  if (is(r, o, "spec.restartPolicy", "Always")) {
    health_status h = pod_stuck(r, o);
    if (h.code == HEALTH_DEGRADED) return h;
  }
  const char *phase = text(r, o, "status.phase"), *message = text(r, o, "status.message");
  if (strcmp(phase, "Pending") == 0) return verdict(HEALTH_PROGRESSING, "%s", message);
  if (strcmp(phase, "Succeeded") == 0) return verdict(HEALTH_HEALTHY, "%s", message);
  if (strcmp(phase, "Failed") == 0) return pod_failed(r, o);
  if (strcmp(phase, "Running") == 0) return pod_running(r, o);
  return verdict(HEALTH_UNKNOWN, "%s", message);
}

static health_status service(reader *r, const json_t *o) {
  bool waiting = is(r, o, "spec.type", "LoadBalancer") && count(r, o, "status.loadBalancer.ingress") == 0;
  return bare(waiting ? HEALTH_PROGRESSING : HEALTH_HEALTHY);
}

static health_status ingress(reader *r, const json_t *o) {
  return bare(count(r, o, "status.loadBalancer.ingress") ? HEALTH_HEALTHY : HEALTH_PROGRESSING);
}

static health_status pvc(reader *r, const json_t *o) {
  const char *phase = text(r, o, "status.phase");
  return bare(strcmp(phase, "Bound") == 0     ? HEALTH_HEALTHY
              : strcmp(phase, "Pending") == 0 ? HEALTH_PROGRESSING
              : strcmp(phase, "Lost") == 0    ? HEALTH_DEGRADED
                                              : HEALTH_UNKNOWN);
}

/* A Failed or Complete condition ends the job whatever its status says, as
 * in Argo CD; a Suspended one ends the wait too, Suspended only when True. */
static health_status job(reader *r, const json_t *o) {
  bool failed = false, complete = false, suspended = false;
  const char *fail_msg = "", *message = "";
  size_t i;
  const json_t *c;
  json_array_foreach(conditions(r, o), i, c) {
    const char *type = text(r, c, "type");
    if (strcmp(type, "Failed") == 0) {
      failed = complete = true;
      fail_msg = text(r, c, "message");
    } else if (strcmp(type, "Complete") == 0 || strcmp(type, "Suspended") == 0) {
      complete = true;
      message = text(r, c, "message");
      if (strcmp(type, "Suspended") == 0 && is(r, c, "status", "True")) suspended = true;
    }
  }
  if (!complete) return verdict(HEALTH_PROGRESSING, "%s", message);
  if (failed) return verdict(HEALTH_DEGRADED, "%s", fail_msg);
  return verdict(suspended ? HEALTH_SUSPENDED : HEALTH_HEALTHY, "%s", message);
}

/* Argo CD's CronJob check (a Lua script it ships). RFC 3339 times in UTC
 * compare as text. */
static health_status cronjob(reader *r, const json_t *o) {
  if (flag(r, o, "spec.suspend")) return verdict(HEALTH_SUSPENDED, "CronJob is Suspended");
  if (!get(o, "status")) return verdict(HEALTH_PROGRESSING, "Waiting for CronJob");
  size_t active = count(r, o, "status.active");
  if (active > 0) return verdict(HEALTH_PROGRESSING, "Waiting for %zu Jobs to complete", active);
  if (!get(o, "status.lastScheduleTime")) return bare(HEALTH_HEALTHY);
  if (strcmp(text(r, o, "status.lastSuccessfulTime"), text(r, o, "status.lastScheduleTime")) < 0)
    return verdict(HEALTH_DEGRADED, "CronJob has not completed its last execution successfully");
  return verdict(HEALTH_HEALTHY, "CronJob has completed its last execution successfully");
}

/* Scaling that failed for good: no scale subresource, or metrics or a
 * selector the autoscaler cannot use. */
static bool hpa_failed(reader *r, const json_t *c) {
  static const char *const failed[][2] = {{"AbleToScale", "FailedGetScale"},
                                          {"AbleToScale", "FailedUpdateScale"},
                                          {"ScalingActive", "FailedGetResourceMetric"},
                                          {"ScalingActive", "InvalidSelector"}};
  for (size_t i = 0; i < sizeof failed / sizeof *failed; i++)
    if (is(r, c, "type", failed[i][0]) && is(r, c, "reason", failed[i][1])) return true;
  return false;
}

static bool hpa_fine(reader *r, const json_t *c) {
  return (is(r, c, "type", "AbleToScale") || is(r, c, "type", "ScalingLimited")) && is(r, c, "status", "True");
}

/* Degraded when any condition failed, else Healthy at the first fine one
 * (with its message), else not there yet. */
static health_status hpa_conditions(reader *r, const json_t *list) {
  size_t i;
  const json_t *c;
  json_array_foreach(list, i, c) if (hpa_failed(r, c)) return verdict(HEALTH_DEGRADED, "%s", text(r, c, "message"));
  json_array_foreach(list, i, c) if (hpa_fine(r, c)) return verdict(HEALTH_HEALTHY, "%s", text(r, c, "message"));
  return verdict(HEALTH_PROGRESSING, "Waiting to Autoscale");
}

/* autoscaling/v1 keeps its conditions as JSON in an annotation; an HPA
 * without them has not scaled yet. */
static health_status hpa(reader *r, const json_t *o) {
  if (!is(r, o, "apiVersion", "autoscaling/v1")) return hpa_conditions(r, conditions(r, o));
  const json_t *annotation =
      json_object_get(get(o, "metadata.annotations"), "autoscaling.alpha.kubernetes.io/conditions");
  if (!json_is_string(annotation)) return verdict(HEALTH_PROGRESSING, "Waiting to Autoscale");
  json_error_t e;
  json_t *list = json_loads(json_string_value(annotation), 0, &e);
  health_status h = json_is_array(list) ? hpa_conditions(r, list)
                     : verdict(HEALTH_UNKNOWN, "cannot read the conditions annotation: %s", list ? "not a list" : e.text);
  json_decref(list);
  return h;
}

static health_status apiservice(reader *r, const json_t *o) {
  const json_t *c = condition(r, o, "Available");
  if (!c) return verdict(HEALTH_PROGRESSING, "Waiting to be processed");
  return verdict(is(r, c, "status", "True") ? HEALTH_HEALTHY : HEALTH_PROGRESSING, "%s: %s", text(r, c, "reason"),
                 text(r, c, "message"));
}

/* Each condition that says something is wrong raises its flag; the message
 * is that of the last of them. */
static health_status crd(reader *r, const json_t *o) {
  if (json_array_size(conditions(r, o)) == 0) return verdict(HEALTH_PROGRESSING, "Status conditions not found");
  bool established = false, terminating = false, names_refused = false, violations = false;
  const char *msg = "";
  size_t i;
  const json_t *c;
  json_array_foreach(conditions(r, o), i, c) {
    const char *type = text(r, c, "type"), *status = text(r, c, "status");
    bool on = strcmp(status, "True") == 0, wrong = true;
    if (strcmp(type, "Terminating") == 0 && on)
      terminating = true;
    else if (strcmp(type, "NamesAccepted") == 0 && strcmp(status, "False") == 0)
      names_refused = true;
    else if (strcmp(type, "NonStructuralSchema") == 0 && on)
      violations = true;
    else if (strcmp(type, "Established") == 0) {
      established = established || on;
      wrong = !on;
    } else {
      wrong = false;
    }
    if (wrong) msg = text(r, c, "message");
  }
  if (terminating) return verdict(HEALTH_PROGRESSING, "CRD is being terminated: %s", msg);
  if (names_refused) return verdict(HEALTH_DEGRADED, "CRD names have not been accepted: %s", msg);
  if (!established) return verdict(HEALTH_DEGRADED, "CRD is not established: %s", msg);
  if (violations) return verdict(HEALTH_DEGRADED, "Schema violations found: %s", msg);
  return verdict(HEALTH_HEALTHY, "CRD is healthy");
}

/* Why a Ready condition that is False is only a wait: Flux's reasons for
 * work under way (fluxcd/pkg/apis/meta). */
static bool waiting_reason(reader *r, const json_t *c) {
  static const char *const reasons[] = {"Progressing", "ProgressingWithRetry", "DependencyNotReady"};
  for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
    if (is(r, c, "reason", reasons[i])) return true;
  return false;
}

/* A kind without a rule or a script, read by the Kubernetes API
 * conventions as Flux's kstatus reads a custom resource: a spec not yet
 * observed, then its abnormal-true conditions Reconciling and Stalled, then
 * the Ready condition most controllers (Flux, cert-manager, Crossplane)
 * keep. No status, no such condition: Healthy, as before. */
static health_status conventional(reader *r, const json_t *o) {
  if (get(o, "status.observedGeneration") && unobserved(r, o))
    return verdict(HEALTH_PROGRESSING, "%s generation is %lld, but latest observed generation is %lld",
                   text(r, o, "kind"), num(r, o, "metadata.generation"), num(r, o, "status.observedGeneration"));
  size_t i;
  const json_t *c;
  json_array_foreach(conditions(r, o), i, c) {
    if (!is(r, c, "status", "True")) continue;
    if (is(r, c, "type", "Reconciling")) return verdict(HEALTH_PROGRESSING, "%s", text(r, c, "message"));
    if (is(r, c, "type", "Stalled")) return verdict(HEALTH_DEGRADED, "%s", text(r, c, "message"));
  }
  const json_t *ready = condition(r, o, "Ready");
  if (!ready) return bare(HEALTH_HEALTHY);
  const char *message = text(r, ready, "message");
  if (is(r, ready, "status", "True")) return verdict(HEALTH_HEALTHY, "%s", message);
  if (is(r, ready, "status", "False") && !waiting_reason(r, ready)) return verdict(HEALTH_DEGRADED, "%s", message);
  return verdict(HEALTH_PROGRESSING, "%s", message);
}

static const struct {
  const char *group, *kind;
  rule_fn *rule;
} rules[] = {
    {"apps", "Deployment", deployment},
    {"apps", "StatefulSet", statefulset},
    {"apps", "DaemonSet", daemonset},
    {"apps", "ReplicaSet", replicaset},
    {"", "Pod", pod},
    {"", "Service", service},
    {"", "PersistentVolumeClaim", pvc},
    {"networking.k8s.io", "Ingress", ingress},
    {"extensions", "Ingress", ingress},
    {"batch", "Job", job},
    {"batch", "CronJob", cronjob},
    {"autoscaling", "HorizontalPodAutoscaler", hpa},
    {"apiregistration.k8s.io", "APIService", apiservice},
    {"apiextensions.k8s.io", "CustomResourceDefinition", crd},
};

static rule_fn *rule_for(const char *api_version, const char *kind) {
  if (!api_version || !kind) return NULL;
  const char *slash = strchr(api_version, '/');
  size_t glen = slash ? (size_t)(slash - api_version) : 0;
  for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
    if (strlen(rules[i].group) == glen && strncmp(rules[i].group, api_version, glen) == 0 &&
        strcmp(rules[i].kind, kind) == 0)
      return rules[i].rule;
  return NULL;
}

bool health_has_rule(const char *api_version, const char *kind) {
  return rule_for(api_version, kind) != NULL || health_lua_covers(api_version, kind);
}

/* A script of the runtime's config decides first, as Argo CD's
 * resource.customizations do, then a rule of Plumb's own, then the
 * conventions. */
health_status health_assess(const json_t *live) {
  if (!live) return bare(HEALTH_MISSING);
  if (get(live, "metadata.deletionTimestamp")) return verdict(HEALTH_PROGRESSING, "Pending deletion");
  health_status h;
  if (health_lua_assess(live, &h)) return h;
  const char *kind = kube_str(live, "kind");
  rule_fn *rule = rule_for(kube_str(live, "apiVersion"), kind);
  reader r = {NULL};
  if (!rule) {
    /* A status that does not follow the conventions is none. */
    h = conventional(&r, live);
    return r.bad ? bare(HEALTH_HEALTHY) : h;
  }
  h = rule(&r, live);
  return r.bad ? verdict(HEALTH_UNKNOWN, "cannot read %s: %s has the wrong type", kind, r.bad) : h;
}

health_code health_app(health_item *items, size_t n) {
  health_code app = HEALTH_HEALTHY;
  for (size_t i = 0; i < n; i++) {
    items[i].health = health_assess(items[i].live);
    bool counts = items[i].live || health_has_rule(items[i].api_version, items[i].kind);
    if (counts && health_is_worse(app, items[i].health.code)) app = items[i].health.code;
  }
  return app;
}
