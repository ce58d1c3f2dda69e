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

/* Long enough for any message of the rules themselves, and of Argo CD's
 * health scripts on their own tests (750 bytes at most); one copied from
 * the object (a pod's status message) is cut there. */
#define HEALTH_MESSAGE_MAX 1024

typedef struct {
  health_code code;
  char message[HEALTH_MESSAGE_MAX]; /* "" when the rule says nothing */
} health_status;

/* "Healthy", "Progressing", ... as Argo CD spells them. */
const char *health_name(health_code code);
/* True when candidate is worse than current. */
bool health_is_worse(health_code current, health_code candidate);

/* The health of one live object (apiVersion and kind set); NULL is Missing.
 * The runtime's script for its group and kind decides first (below); then
 * a rule of Plumb's own; a kind with neither is read by the Kubernetes API
 * conventions, as Flux's kstatus reads custom resources (observedGeneration,
 * the Reconciling, Stalled and Ready conditions), and is Healthy without
 * them. An object a rule cannot read (a field of the wrong type, an
 * annotation that is not JSON) is Unknown, saying why. */
health_status health_assess(const json_t *live);

/* True when apiVersion's group and kind have a rule of their own or a
 * script. */
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

/* ---- Health scripts (runtime/health/lua.c) ---------------------------------
 *
 * Argo CD's health checks for custom resources are Lua scripts (its
 * resource_customizations/GROUP/KIND/health.lua, or argocd-cm's
 * resource.customizations.health): the global `obj` is the live object,
 * and the script returns {status = "Healthy", message = "..."}. Plumb runs
 * them unchanged, on Lua 5.4, sandboxed: the libraries Argo CD opens
 * (base, table, string, math, coroutine, and os.time and os.date alone),
 * no io, require, debug or file access; bounded instructions and memory. A
 * script that fails, loops or swallows memory makes the health Unknown,
 * its message saying why, never a crash. docs/runtime.md has the exact
 * messages. */

/* The bounds of one run, and of a script and the object it is given. */
#define HEALTH_LUA_STEPS 10000000       /* instructions */
#define HEALTH_LUA_MEMORY (32u << 20)   /* bytes: the state, the object as a table, the script's own */
#define HEALTH_LUA_SCRIPT_MAX (256 << 10) /* bytes of a script's text */
#define HEALTH_LUA_DEPTH 100            /* levels the object may nest */

typedef struct health_lua health_lua;

/* Compiles text (len bytes, not NUL-terminated) as the health script named
 * key ("cert-manager.io/Certificate", "Kind" for the core group: the name
 * messages give it) into *out (caller owns: health_lua_free). On a syntax
 * error or a script too big, returns -1 with *err in words ("line 3: 'end'
 * expected near <eof>"; caller frees). */
int health_lua_new(const char *key, const char *text, size_t len, health_lua **out, char **err);
void health_lua_free(health_lua *s);
/* The key it was compiled with (owned by s). */
const char *health_lua_key(const health_lua *s);

/* Runs s on obj, in a state of its own: the script's verdict, or Unknown
 * with "health script for KEY: " and why (Lua's message with its line, "ran
 * more than N instructions", "used more than N MiB of memory", "returned
 * nil, not a table {status, message}", ...). Safe from several threads at
 * once. */
health_status health_lua_run(const health_lua *s, const json_t *obj);

/* A script for the kinds a group and kind pattern match (shell wildcards:
 * "*.crossplane.io", "*"; "" is the core group). */
typedef struct {
  const char *group, *kind;
  health_lua *script;
} health_lua_rule;

/* Makes rules the runtime's scripts, replacing those installed before
 * (freed). Strings are copied; the scripts are consumed. health_assess
 * runs, for an object, the script of its exact group and kind, else the
 * first whose patterns match it, before any rule of its own. n = 0 removes
 * every script. Safe while other threads assess. */
void health_lua_install(const health_lua_rule *rules, size_t n);

/* True, with *out, when an installed script covers live's group and kind. */
bool health_lua_assess(const json_t *live, health_status *out);
/* True when an installed script covers this apiVersion's group and kind. */
bool health_lua_covers(const char *api_version, const char *kind);

#endif
