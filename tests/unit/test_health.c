/* test_health.c: the health of live objects, rule by rule, as Argo CD
 * judges them; and an application's health, its worst resource's.
 *
 * Objects are JSON written with ' for " so they read as they would in
 * kubectl get -o json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "plumb/health.h"
#include "json_test.h"

typedef struct {
  const char *rule; /* what the case shows, in words */
  const char *object;
  health_code code;
  const char *message;
} health_case;

static void check(const health_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    json_t *obj = parse(cases[i].object);
    health_status h = health_assess(obj);
    if (h.code != cases[i].code || strcmp(h.message, cases[i].message) != 0)
      fail_msg("%s: got %s \"%s\", want %s \"%s\"", cases[i].rule, health_name(h.code), h.message,
               health_name(cases[i].code), cases[i].message);
    json_decref(obj);
  }
}

#define CHECK(cases) check(cases, sizeof cases / sizeof *cases)

#define DEPLOYMENT "{'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': {'name': 'web', 'generation': 2}, "

static void deployment(void **state) {
  static const health_case cases[] = {
      {"every replica updated and available", DEPLOYMENT "'spec': {'replicas': 3}, 'status': {'observedGeneration': 2, "
       "'replicas': 3, 'updatedReplicas': 3, 'availableReplicas': 3}}", HEALTH_HEALTHY, ""},
      {"paused", DEPLOYMENT "'spec': {'replicas': 3, 'paused': true}, 'status': {'observedGeneration': 1}}",
       HEALTH_SUSPENDED, "Deployment is paused"},
      {"generation not observed yet", DEPLOYMENT "'spec': {'replicas': 3}, 'status': {'observedGeneration': 1, "
       "'replicas': 3, 'updatedReplicas': 3, 'availableReplicas': 3}}", HEALTH_PROGRESSING,
       "Waiting for rollout to finish: observed deployment generation less than desired generation"},
      {"progress deadline exceeded", DEPLOYMENT "'spec': {'replicas': 3}, 'status': {'observedGeneration': 2, "
       "'replicas': 3, 'updatedReplicas': 1, 'conditions': [{'type': 'Available', 'status': 'True'}, "
       "{'type': 'Progressing', 'status': 'False', 'reason': 'ProgressDeadlineExceeded'}]}}", HEALTH_DEGRADED,
       "Deployment \"web\" exceeded its progress deadline"},
      {"fewer updated replicas than wanted", DEPLOYMENT "'spec': {'replicas': 3}, 'status': {'observedGeneration': 2, "
       "'replicas': 3, 'updatedReplicas': 1, 'availableReplicas': 3}}", HEALTH_PROGRESSING,
       "Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."},
      {"old replicas still there", DEPLOYMENT "'spec': {'replicas': 3}, 'status': {'observedGeneration': 2, "
       "'replicas': 4, 'updatedReplicas': 3, 'availableReplicas': 3}}", HEALTH_PROGRESSING,
       "Waiting for rollout to finish: 1 old replicas are pending termination..."},
      {"updated replicas not yet available", DEPLOYMENT "'spec': {'replicas': 3}, 'status': {'observedGeneration': 2, "
       "'replicas': 3, 'updatedReplicas': 3, 'availableReplicas': 2}}", HEALTH_PROGRESSING,
       "Waiting for rollout to finish: 2 of 3 updated replicas are available..."},
  };
  CHECK(cases);
}

#define STATEFULSET "{'apiVersion': 'apps/v1', 'kind': 'StatefulSet', 'metadata': {'name': 'db', 'generation': 1}, "

static void statefulset(void **state) {
  static const health_case cases[] = {
      {"never observed", STATEFULSET "'spec': {'replicas': 3}, 'status': {'readyReplicas': 3}}", HEALTH_PROGRESSING,
       "Waiting for statefulset spec update to be observed..."},
      {"pods not ready", STATEFULSET "'spec': {'replicas': 3}, 'status': {'observedGeneration': 1, 'readyReplicas': 1}}",
       HEALTH_PROGRESSING, "Waiting for 2 pods to be ready..."},
      {"partitioned roll out under way", STATEFULSET "'spec': {'replicas': 3, 'updateStrategy': {'type': "
       "'RollingUpdate', 'rollingUpdate': {'partition': 1}}}, 'status': {'observedGeneration': 1, 'readyReplicas': 3, "
       "'updatedReplicas': 1}}", HEALTH_PROGRESSING,
       "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated..."},
      {"partitioned roll out done (the default strategy, partition 0)", STATEFULSET "'spec': {'replicas': 3, "
       "'updateStrategy': {'type': 'RollingUpdate', 'rollingUpdate': {'partition': 0}}}, 'status': "
       "{'observedGeneration': 1, 'readyReplicas': 3, 'updatedReplicas': 3}}", HEALTH_HEALTHY,
       "partitioned roll out complete: 3 new pods have been updated..."},
      {"OnDelete: healthy once ready", STATEFULSET "'spec': {'replicas': 3, 'updateStrategy': {'type': 'OnDelete'}}, "
       "'status': {'observedGeneration': 1, 'readyReplicas': 3, 'updatedReplicas': 1}}", HEALTH_HEALTHY,
       "statefulset has 3 ready pods (1 updated)"},
      {"rolling update to a new revision", STATEFULSET "'spec': {'replicas': 3, 'updateStrategy': {'type': "
       "'RollingUpdate'}}, 'status': {'observedGeneration': 1, 'readyReplicas': 3, 'updatedReplicas': 1, "
       "'currentRevision': 'db-1', 'updateRevision': 'db-2'}}", HEALTH_PROGRESSING,
       "waiting for statefulset rolling update to complete 1 pods at revision db-2..."},
      {"rolling update complete", STATEFULSET "'spec': {'replicas': 3, 'updateStrategy': {'type': 'RollingUpdate'}}, "
       "'status': {'observedGeneration': 1, 'readyReplicas': 3, 'currentReplicas': 3, 'currentRevision': 'db-2', "
       "'updateRevision': 'db-2'}}", HEALTH_HEALTHY, "statefulset rolling update complete 3 pods at revision db-2..."},
  };
  CHECK(cases);
}

#define DAEMONSET "{'apiVersion': 'apps/v1', 'kind': 'DaemonSet', 'metadata': {'name': 'agent', 'generation': 2}, "

static void daemonset(void **state) {
  static const health_case cases[] = {
      {"generation not observed yet", DAEMONSET "'status': {'observedGeneration': 1}}", HEALTH_PROGRESSING,
       "Waiting for rollout to finish: observed daemon set generation less than desired generation"},
      {"OnDelete: healthy once observed", DAEMONSET "'spec': {'updateStrategy': {'type': 'OnDelete'}}, 'status': "
       "{'observedGeneration': 2, 'desiredNumberScheduled': 3, 'updatedNumberScheduled': 1}}", HEALTH_HEALTHY,
       "daemon set 1 out of 3 new pods have been updated"},
      {"pods not updated", DAEMONSET "'status': {'observedGeneration': 2, 'desiredNumberScheduled': 3, "
       "'updatedNumberScheduled': 2, 'numberAvailable': 3}}", HEALTH_PROGRESSING,
       "Waiting for daemon set \"agent\" rollout to finish: 2 out of 3 new pods have been updated..."},
      {"pods not available", DAEMONSET "'status': {'observedGeneration': 2, 'desiredNumberScheduled': 3, "
       "'updatedNumberScheduled': 3, 'numberAvailable': 1}}", HEALTH_PROGRESSING,
       "Waiting for daemon set \"agent\" rollout to finish: 1 of 3 updated pods are available..."},
      {"every pod updated and available", DAEMONSET "'status': {'observedGeneration': 2, 'desiredNumberScheduled': 3, "
       "'updatedNumberScheduled': 3, 'numberAvailable': 3}}", HEALTH_HEALTHY, ""},
  };
  CHECK(cases);
}

#define REPLICASET "{'apiVersion': 'apps/v1', 'kind': 'ReplicaSet', 'metadata': {'name': 'web-1', 'generation': 1}, "

static void replicaset(void **state) {
  static const health_case cases[] = {
      {"generation not observed yet", REPLICASET "'spec': {'replicas': 2}, 'status': {}}", HEALTH_PROGRESSING,
       "Waiting for rollout to finish: observed replica set generation less than desired generation"},
      {"replica failure", REPLICASET "'spec': {'replicas': 2}, 'status': {'observedGeneration': 1, 'conditions': "
       "[{'type': 'ReplicaFailure', 'status': 'True', 'message': 'pods \\'web-1-x\\' is forbidden: quota'}]}}",
       HEALTH_DEGRADED, "pods \"web-1-x\" is forbidden: quota"},
      {"replicas not available", REPLICASET "'spec': {'replicas': 2}, 'status': {'observedGeneration': 1, "
       "'availableReplicas': 1}}", HEALTH_PROGRESSING,
       "Waiting for rollout to finish: 1 out of 2 new replicas are available..."},
      {"every replica available", REPLICASET "'spec': {'replicas': 2}, 'status': {'observedGeneration': 1, "
       "'availableReplicas': 2}}", HEALTH_HEALTHY, ""},
  };
  CHECK(cases);
}

#define POD "{'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'web-1-x'}, "
#define ALWAYS "'spec': {'restartPolicy': 'Always'}, "
#define NEVER "'spec': {'restartPolicy': 'Never'}, "

static void pod(void **state) {
  static const health_case cases[] = {
      {"containers stuck waiting, their messages joined", POD ALWAYS "'status': {'phase': 'Running', "
       "'containerStatuses': [{'name': 'a', 'state': {'waiting': {'reason': 'ImagePullBackOff', 'message': "
       "'Back-off pulling image nginx:nope'}}}, {'name': 'b', 'state': {'running': {}}}, {'name': 'c', 'state': "
       "{'waiting': {'reason': 'CrashLoopBackOff', 'message': 'back-off 5m0s restarting failed container'}}}]}}",
       HEALTH_DEGRADED, "Back-off pulling image nginx:nope, back-off 5m0s restarting failed container"},
      {"a stuck container in a pod run once is left to its phase", POD NEVER "'status': {'phase': 'Pending', "
       "'containerStatuses': [{'name': 'a', 'state': {'waiting': {'reason': 'ErrImagePull'}}}]}}", HEALTH_PROGRESSING,
       ""},
      {"pending", POD ALWAYS "'status': {'phase': 'Pending', 'message': 'waiting for a node'}}", HEALTH_PROGRESSING,
       "waiting for a node"},
      {"succeeded", POD NEVER "'status': {'phase': 'Succeeded'}}", HEALTH_HEALTHY, ""},
      {"failed, saying why", POD NEVER "'status': {'phase': 'Failed', 'message': 'The node was low on memory.'}}",
       HEALTH_DEGRADED, "The node was low on memory."},
      {"failed: an init container's exit code", POD NEVER "'status': {'phase': 'Failed', 'initContainerStatuses': "
       "[{'name': 'init', 'state': {'terminated': {'exitCode': 1}}}], 'containerStatuses': [{'name': 'main', 'state': "
       "{'terminated': {'exitCode': 2}}}]}}", HEALTH_DEGRADED, "container \"init\" failed with exit code 1"},
      {"failed: out of memory", POD NEVER "'status': {'phase': 'Failed', 'containerStatuses': [{'name': 'main', "
       "'state': {'terminated': {'reason': 'OOMKilled', 'exitCode': 137}}}]}}", HEALTH_DEGRADED, "OOMKilled"},
      {"failed: a termination message", POD NEVER "'status': {'phase': 'Failed', 'containerStatuses': [{'name': "
       "'main', 'state': {'terminated': {'message': 'config not found', 'exitCode': 3}}}]}}", HEALTH_DEGRADED,
       "config not found"},
      {"failed without a word", POD NEVER "'status': {'phase': 'Failed'}}", HEALTH_DEGRADED, ""},
      {"running and ready", POD ALWAYS "'status': {'phase': 'Running', 'conditions': [{'type': 'Ready', 'status': "
       "'True'}]}}", HEALTH_HEALTHY, ""},
      {"running, not ready, a container terminated before", POD ALWAYS "'status': {'phase': 'Running', 'conditions': "
       "[{'type': 'Ready', 'status': 'False'}], 'containerStatuses': [{'name': 'a', 'lastState': {'terminated': "
       "{'exitCode': 1}}}]}}", HEALTH_DEGRADED, ""},
      {"running, not ready yet", POD ALWAYS "'status': {'phase': 'Running', 'conditions': [{'type': 'Ready', "
       "'status': 'False'}]}}", HEALTH_PROGRESSING, ""},
      {"running once (a hook): progressing even when ready", POD NEVER "'status': {'phase': 'Running', 'conditions': "
       "[{'type': 'Ready', 'status': 'True'}]}}", HEALTH_PROGRESSING, ""},
      {"phase unknown", POD ALWAYS "'status': {'phase': 'Unknown', 'message': 'node lost'}}", HEALTH_UNKNOWN,
       "node lost"},
  };
  CHECK(cases);
}

#define SERVICE "{'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': 'web'}, "
#define INGRESS(group) "{'apiVersion': '" group "', 'kind': 'Ingress', 'metadata': {'name': 'web'}, "

static void networking(void **state) {
  static const health_case cases[] = {
      {"a ClusterIP service", SERVICE "'spec': {'type': 'ClusterIP'}, 'status': {'loadBalancer': {}}}",
       HEALTH_HEALTHY, ""},
      {"a load balancer without an address", SERVICE "'spec': {'type': 'LoadBalancer'}, 'status': {'loadBalancer': "
       "{}}}", HEALTH_PROGRESSING, ""},
      {"a load balancer with one", SERVICE "'spec': {'type': 'LoadBalancer'}, 'status': {'loadBalancer': "
       "{'ingress': [{'ip': '203.0.113.7'}]}}}", HEALTH_HEALTHY, ""},
      {"an ingress without an address", INGRESS("networking.k8s.io/v1") "'status': {'loadBalancer': {}}}",
       HEALTH_PROGRESSING, ""},
      {"an ingress with one", INGRESS("networking.k8s.io/v1") "'status': {'loadBalancer': {'ingress': [{'hostname': "
       "'lb.example.com'}]}}}", HEALTH_HEALTHY, ""},
      {"an old extensions ingress", INGRESS("extensions/v1beta1") "'status': {}}", HEALTH_PROGRESSING, ""},
  };
  CHECK(cases);
}

#define PVC(phase) "{'apiVersion': 'v1', 'kind': 'PersistentVolumeClaim', 'metadata': {'name': 'data'}, " phase "}"

static void pvc(void **state) {
  static const health_case cases[] = {
      {"bound", PVC("'status': {'phase': 'Bound'}"), HEALTH_HEALTHY, ""},
      {"pending", PVC("'status': {'phase': 'Pending'}"), HEALTH_PROGRESSING, ""},
      {"lost", PVC("'status': {'phase': 'Lost'}"), HEALTH_DEGRADED, ""},
      {"no phase", PVC("'status': {}"), HEALTH_UNKNOWN, ""},
  };
  CHECK(cases);
}

#define JOB(conditions) \
  "{'apiVersion': 'batch/v1', 'kind': 'Job', 'metadata': {'name': 'migrate'}, 'status': {'conditions': " conditions "}}"
#define CRONJOB "{'apiVersion': 'batch/v1', 'kind': 'CronJob', 'metadata': {'name': 'backup'}, "

static void batch(void **state) {
  static const health_case cases[] = {
      {"a job still running", JOB("[]"), HEALTH_PROGRESSING, ""},
      {"a job complete", JOB("[{'type': 'Complete', 'status': 'True', 'message': 'done'}]"), HEALTH_HEALTHY, "done"},
      {"a job failed", JOB("[{'type': 'Failed', 'status': 'True', 'message': 'Job has reached the specified backoff "
                           "limit'}]"),
       HEALTH_DEGRADED, "Job has reached the specified backoff limit"},
      {"a job suspended", JOB("[{'type': 'Suspended', 'status': 'True', 'message': 'Job suspended'}]"),
       HEALTH_SUSPENDED, "Job suspended"},
      {"a job resumed: its Suspended condition False", JOB("[{'type': 'Suspended', 'status': 'False', 'message': "
                                                           "'Job resumed'}]"),
       HEALTH_HEALTHY, "Job resumed"},
      {"a suspended cron job", CRONJOB "'spec': {'suspend': true}, 'status': {}}", HEALTH_SUSPENDED,
       "CronJob is Suspended"},
      {"a cron job without status yet", CRONJOB "'spec': {'suspend': false}}", HEALTH_PROGRESSING,
       "Waiting for CronJob"},
      {"a cron job with jobs running", CRONJOB "'spec': {}, 'status': {'active': [{'name': 'backup-1'}], "
       "'lastScheduleTime': '2024-05-01T10:00:00Z'}}", HEALTH_PROGRESSING, "Waiting for 1 Jobs to complete"},
      {"a cron job never scheduled", CRONJOB "'spec': {}, 'status': {}}", HEALTH_HEALTHY, ""},
      {"a cron job whose last run failed", CRONJOB "'spec': {}, 'status': {'lastScheduleTime': "
       "'2024-05-02T10:00:00Z', 'lastSuccessfulTime': '2024-05-01T10:00:05Z'}}", HEALTH_DEGRADED,
       "CronJob has not completed its last execution successfully"},
      {"a cron job that never succeeded", CRONJOB "'spec': {}, 'status': {'lastScheduleTime': "
       "'2024-05-02T10:00:00Z'}}", HEALTH_DEGRADED, "CronJob has not completed its last execution successfully"},
      {"a cron job whose last run succeeded", CRONJOB "'spec': {}, 'status': {'lastScheduleTime': "
       "'2024-05-02T10:00:00Z', 'lastSuccessfulTime': '2024-05-02T10:00:07Z'}}", HEALTH_HEALTHY,
       "CronJob has completed its last execution successfully"},
  };
  CHECK(cases);
}

#define HPA2(conditions)                                                                                         \
  "{'apiVersion': 'autoscaling/v2', 'kind': 'HorizontalPodAutoscaler', 'metadata': {'name': 'web'}, 'status': " \
  "{'conditions': " conditions "}}"
#define HPA1(annotations) \
  "{'apiVersion': 'autoscaling/v1', 'kind': 'HorizontalPodAutoscaler', 'metadata': {'name': 'web'" annotations "}}"
#define ABLE "{'type': 'AbleToScale', 'status': 'True', 'reason': 'ReadyForNewScale', 'message': 'ready'}"

static void hpa(void **state) {
  static const health_case cases[] = {
      {"able to scale", HPA2("[" ABLE ", {'type': 'ScalingActive', 'status': 'True', 'reason': 'ValidMetricFound'}, "
                             "{'type': 'ScalingLimited', 'status': 'False', 'reason': 'DesiredWithinRange'}]"),
       HEALTH_HEALTHY, "ready"},
      {"at its limits, which is fine", HPA2("[{'type': 'ScalingLimited', 'status': 'True', 'reason': "
                                            "'TooFewReplicas', 'message': 'the desired replica count is less than "
                                            "the minimum'}]"),
       HEALTH_HEALTHY, "the desired replica count is less than the minimum"},
      {"metrics missing, though able to scale", HPA2("[" ABLE ", {'type': 'ScalingActive', 'status': 'False', "
                                                     "'reason': 'FailedGetResourceMetric', 'message': 'no metrics'}]"),
       HEALTH_DEGRADED, "no metrics"},
      {"no scale subresource", HPA2("[{'type': 'AbleToScale', 'status': 'False', 'reason': 'FailedGetScale', "
                                    "'message': 'no scale'}]"),
       HEALTH_DEGRADED, "no scale"},
      {"no conditions yet", HPA2("[]"), HEALTH_PROGRESSING, "Waiting to Autoscale"},
      {"v1: conditions in an annotation", HPA1(", 'annotations': {'autoscaling.alpha.kubernetes.io/conditions': "
                                               "'[{\\'type\\': \\'AbleToScale\\', \\'status\\': "
                                               "\\'True\\', \\'message\\': \\'ok\\'}]'}"),
       HEALTH_HEALTHY, "ok"},
      {"v1: without the annotation", HPA1(""), HEALTH_PROGRESSING, "Waiting to Autoscale"},
      {"v1: an annotation that is not JSON", HPA1(", 'annotations': {'autoscaling.alpha.kubernetes.io/conditions': "
                                                  "'[oops'}"),
       HEALTH_UNKNOWN, "cannot read the conditions annotation: invalid token near 'oops'"},
  };
  CHECK(cases);
}

#define APISERVICE(conditions)                                                                          \
  "{'apiVersion': 'apiregistration.k8s.io/v1', 'kind': 'APIService', 'metadata': {'name': 'v1beta1.metrics.k8s.io'}, " \
  "'status': {'conditions': " conditions "}}"
#define CRD(conditions)                                                                                   \
  "{'apiVersion': 'apiextensions.k8s.io/v1', 'kind': 'CustomResourceDefinition', 'metadata': {'name': "   \
  "'widgets.example.com'}, 'status': {'conditions': [" conditions "]}}"
#define COND(type, status, message) "{'type': '" type "', 'status': '" status "', 'message': '" message "'}"

static void extensions(void **state) {
  static const health_case cases[] = {
      {"an available API service", APISERVICE("[{'type': 'Available', 'status': 'True', 'reason': 'Passed', "
                                              "'message': 'all checks passed'}]"),
       HEALTH_HEALTHY, "Passed: all checks passed"},
      {"an API service not available", APISERVICE("[{'type': 'Available', 'status': 'False', 'reason': "
                                                  "'MissingEndpoints', 'message': 'no endpoints'}]"),
       HEALTH_PROGRESSING, "MissingEndpoints: no endpoints"},
      {"an API service not processed yet", APISERVICE("[]"), HEALTH_PROGRESSING, "Waiting to be processed"},
      {"a CRD without conditions", CRD(""), HEALTH_PROGRESSING, "Status conditions not found"},
      {"an established CRD", CRD(COND("NamesAccepted", "True", "no conflicts") ", " COND("Established", "True", "ok")),
       HEALTH_HEALTHY, "CRD is healthy"},
      {"a CRD being deleted", CRD(COND("Established", "True", "") ", " COND("Terminating", "True", "instances left")),
       HEALTH_PROGRESSING, "CRD is being terminated: instances left"},
      {"a CRD whose names clash", CRD(COND("NamesAccepted", "False", "plural taken") ", "
                                      COND("Established", "False", "not yet")),
       HEALTH_DEGRADED, "CRD names have not been accepted: not yet"},
      {"a CRD not established", CRD(COND("Established", "False", "installing")), HEALTH_DEGRADED,
       "CRD is not established: installing"},
      {"a CRD with a non-structural schema", CRD(COND("Established", "True", "") ", "
                                                 COND("NonStructuralSchema", "True", "type missing")),
       HEALTH_DEGRADED, "Schema violations found: type missing"},
  };
  CHECK(cases);
}

static void every_kind(void **state) {
  static const health_case cases[] = {
      {"an object being deleted, whatever its kind", "{'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': "
       "{'name': 'web', 'deletionTimestamp': '2024-05-01T10:00:00Z'}, 'spec': {'paused': true}}", HEALTH_PROGRESSING,
       "Pending deletion"},
      {"a kind without a rule", "{'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'c'}}",
       HEALTH_HEALTHY, ""},
      {"a rule's field of the wrong type", DEPLOYMENT "'spec': {'replicas': 'three'}, 'status': {'observedGeneration': 2}}", HEALTH_UNKNOWN,
       "cannot read Deployment: spec.replicas has the wrong type"},
      {"Ingress of a group that has no rule for it", INGRESS("example.com/v1") "'status': {}}", HEALTH_HEALTHY, ""},
  };
  CHECK(cases);
  assert_int_equal(health_assess(NULL).code, HEALTH_MISSING);
}

#define CR "{'apiVersion': 'db.example.com/v1', 'kind': 'Claim', 'metadata': {'name': 'c', 'generation': 2}, "
#define READY(status, reason) "{'type': 'Ready', 'status': '" status "', 'reason': '" reason "', 'message': 'says so'}"

/* A custom resource without a rule, read as Flux's kstatus reads it. */
static void conventions(void **state) {
  static const health_case cases[] = {
      {"no status", CR "'spec': {}}", HEALTH_HEALTHY, ""},
      {"a status without conditions", CR "'status': {'phase': 'Bound'}}", HEALTH_HEALTHY, ""},
      {"a spec not observed yet", CR "'status': {'observedGeneration': 1, 'conditions': [" READY("True", "Done") "]}}",
       HEALTH_PROGRESSING, "Claim generation is 2, but latest observed generation is 1"},
      {"Ready", CR "'status': {'observedGeneration': 2, 'conditions': [" READY("True", "Done") "]}}", HEALTH_HEALTHY,
       "says so"},
      {"Ready without observedGeneration", CR "'status': {'conditions': [" READY("True", "Done") "]}}", HEALTH_HEALTHY,
       "says so"},
      {"not Ready", CR "'status': {'conditions': [" READY("False", "ProvisioningFailed") "]}}", HEALTH_DEGRADED,
       "says so"},
      {"not Ready while it progresses", CR "'status': {'conditions': [" READY("False", "Progressing") "]}}",
       HEALTH_PROGRESSING, "says so"},
      {"not Ready until a dependency is", CR "'status': {'conditions': [" READY("False", "DependencyNotReady") "]}}",
       HEALTH_PROGRESSING, "says so"},
      {"Ready unknown", CR "'status': {'conditions': [" READY("Unknown", "Reconciling") "]}}", HEALTH_PROGRESSING,
       "says so"},
      {"Reconciling", CR "'status': {'conditions': [" READY("True", "Done") ", {'type': 'Reconciling', 'status': "
       "'True', 'message': 'working'}]}}", HEALTH_PROGRESSING, "working"},
      {"Stalled", CR "'status': {'conditions': [{'type': 'Stalled', 'status': 'True', 'message': 'stuck'}, "
       READY("False", "Progressing") "]}}", HEALTH_DEGRADED, "stuck"},
      {"Stalled False", CR "'status': {'conditions': [{'type': 'Stalled', 'status': 'False'}]}}", HEALTH_HEALTHY, ""},
      {"conditions that are no list", CR "'status': {'conditions': {'Ready': 'True'}}}", HEALTH_HEALTHY, ""},
      {"a core kind without a rule", "{'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'n'}, "
       "'status': {'phase': 'Active'}}", HEALTH_HEALTHY, ""},
  };
  CHECK(cases);
}

static void order(void **state) {
  const health_code worse[] = {HEALTH_HEALTHY, HEALTH_SUSPENDED, HEALTH_PROGRESSING,
                               HEALTH_MISSING, HEALTH_DEGRADED,  HEALTH_UNKNOWN};
  for (size_t i = 0; i + 1 < sizeof worse / sizeof *worse; i++) {
    assert_true(health_is_worse(worse[i], worse[i + 1]));
    assert_false(health_is_worse(worse[i + 1], worse[i]));
    assert_false(health_is_worse(worse[i], worse[i]));
  }
  assert_string_equal(health_name(HEALTH_PROGRESSING), "Progressing");
}

#define ITEM(av, k) {.api_version = av, .kind = k}

static health_code app_of(const char *const *objects, size_t n, health_item *items) {
  json_t *live[8];
  for (size_t i = 0; i < n; i++) {
    live[i] = objects[i] ? parse(objects[i]) : NULL;
    items[i].live = live[i];
  }
  health_code code = health_app(items, n);
  for (size_t i = 0; i < n; i++) json_decref(live[i]);
  return code;
}

static void application(void **state) {
  const char *healthy_deploy = DEPLOYMENT "'spec': {'replicas': 1}, 'status': {'observedGeneration': 2, "
                               "'replicas': 1, 'updatedReplicas': 1, 'availableReplicas': 1}}";
  const char *paused_deploy = DEPLOYMENT "'spec': {'paused': true}}";
  const char *pending_pvc = PVC("'status': {'phase': 'Pending'}");
  const char *lost_pvc = PVC("'status': {'phase': 'Lost'}");

  health_item none[1];
  assert_int_equal(health_app(none, 0), HEALTH_HEALTHY);

  const char *fine[] = {healthy_deploy, NULL};
  health_item with_missing_configmap[] = {ITEM("apps/v1", "Deployment"), ITEM("v1", "ConfigMap")};
  assert_int_equal(app_of(fine, 2, with_missing_configmap), HEALTH_HEALTHY);
  assert_int_equal(with_missing_configmap[1].health.code, HEALTH_MISSING);

  health_item with_missing_service[] = {ITEM("apps/v1", "Deployment"), ITEM("v1", "Service")};
  assert_int_equal(app_of(fine, 2, with_missing_service), HEALTH_MISSING);

  const char *mixed[] = {paused_deploy, pending_pvc};
  health_item suspended_and_progressing[] = {ITEM("apps/v1", "Deployment"), ITEM("v1", "PersistentVolumeClaim")};
  assert_int_equal(app_of(mixed, 2, suspended_and_progressing), HEALTH_PROGRESSING);
  assert_string_equal(suspended_and_progressing[0].health.message, "Deployment is paused");

  const char *worst[] = {lost_pvc, NULL, pending_pvc};
  health_item degraded_beats_missing[] = {ITEM("v1", "PersistentVolumeClaim"), ITEM("apps/v1", "Deployment"),
                                          ITEM("v1", "PersistentVolumeClaim")};
  assert_int_equal(app_of(worst, 3, degraded_beats_missing), HEALTH_DEGRADED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(deployment), cmocka_unit_test(statefulset), cmocka_unit_test(daemonset),
      cmocka_unit_test(replicaset), cmocka_unit_test(pod),         cmocka_unit_test(networking),
      cmocka_unit_test(pvc),        cmocka_unit_test(batch),       cmocka_unit_test(hpa),
      cmocka_unit_test(extensions), cmocka_unit_test(every_kind),  cmocka_unit_test(order),
      cmocka_unit_test(application), cmocka_unit_test(conventions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
