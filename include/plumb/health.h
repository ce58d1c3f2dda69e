/* health.h: how well a live object is doing, by Argo CD's built-in rules.
 *
 * The rules and their messages follow Argo CD's (gitops-engine pkg/health
 * and the CronJob check Argo CD ships), so a user moving from Argo CD sees
 * the same verdicts: a Deployment is Progressing until its new replicas are
 * updated and available, Degraded past its progress deadline, Suspended
 * while paused, and so on. docs/runtime.md lists every rule. */
#ifndef PLUMB_HEALTH_H
#define PLUMB_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* From best to worst: an application is as healthy as its worst resource.
 * Unknown is the worst, as in Argo CD: a verdict nobody could reach hides
 * nothing. */
typedef enum {
  HEALTH_HEALTHY,
  HEALTH_SUSPENDED,
  HEALTH_PROGRESSING,
  HEALTH_MISSING,
  HEALTH_DEGRADED,
  HEALTH_UNKNOWN,
} health_code;

/* Long enough for any message of the rules themselves; one copied from the
 * object (a pod's status message) is cut there. */
#define HEALTH_MESSAGE_MAX 512

typedef struct {
  health_code code;
  char message[HEALTH_MESSAGE_MAX]; /* "" when the rule says nothing */
} health_status;

/* "Healthy", "Progressing", ... as Argo CD spells them. */
const char *health_name(health_code code);
/* True when candidate is worse than current. */
bool health_is_worse(health_code current, health_code candidate);

/* The health of one live object (apiVersion and kind set); NULL is Missing.
 * A kind without a rule is Healthy; an object a rule cannot read (a field of
 * the wrong type, an annotation that is not JSON) is Unknown, saying why. */
health_status health_assess(const json_t *live);

/* True when apiVersion's group and kind have a rule of their own. */
bool health_has_rule(const char *api_version, const char *kind);

/* One resource of an application: what Plumb applies (its apiVersion and
 * kind) and the live object, NULL when the cluster has none. */
typedef struct {
  const char *api_version, *kind;
  const json_t *live;
  health_status health; /* out: health_assess(live) */
} health_item;

/* Assesses every item and returns the application's health: Healthy, or the
 * worst of its resources. As in Argo CD, a missing object of a kind without
 * a rule does not count: such kinds have no health to lose. */
health_code health_app(health_item *items, size_t n);

#endif
