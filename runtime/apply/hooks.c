/* hooks.c: sync phases and their hooks, as Argo CD runs them.
 *
 * A resource annotated plumb.dev/hook (or argocd.argoproj.io/hook) is no
 * object of the application to keep equal to git, but a task of a sync
 * phase: PreSync hooks run, in wave order, before anything else is
 * applied, and a sync stops when one fails; then the application's
 * objects and its Sync hooks; PostSync hooks once that succeeded; SyncFail
 * hooks when any of it failed. Running a hook is applying it and waiting
 * until it is healthy (a Job complete, a Pod succeeded) or not (a Job
 * failed: Degraded). Its delete policy (plumb.dev/hook-delete-policy, or
 * Argo CD's) says when it goes: BeforeHookCreation (the default) deletes
 * the one of the last sync before creating it anew, HookSucceeded and
 * HookFailed delete it once it succeeded or failed. Hooks are never
 * compared, pruned or counted in the application's health. A chart's
 * hooks (helm.sh/hook) take the phases Argo CD maps them to: pre-install
 * and pre-upgrade PreSync, post-install and post-upgrade PostSync,
 * pre-delete PreDelete and post-delete PostDelete, the rest (tests,
 * rollbacks) none; their weight is their wave and helm's delete policies
 * are the same three.
 *
 * PreDelete and PostDelete hooks never run in a sync: they run around the
 * deletion of an application, which the runtime takes a step at a time,
 * a step each round of its loop (apply_delete_hooks_step): a wave's hooks
 * are created, then read back at the next steps until healthy. As in Argo
 * CD, a delete hook is created anew each time a deletion is attempted:
 * one left from an earlier attempt is deleted first. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plumb/apply.h"
#include "plumb/arena.h"
#include "hooks.h"
#include "settle.h"

#define HOOK_ANNOTATION "plumb.dev/hook"
#define HOOK_POLICY_ANNOTATION "plumb.dev/hook-delete-policy"
#define ARGO_HOOK "argocd.argoproj.io/hook"
#define ARGO_HOOK_POLICY "argocd.argoproj.io/hook-delete-policy"
#define HELM_HOOK "helm.sh/hook"
#define HELM_HOOK_POLICY "helm.sh/hook-delete-policy"

static const char *const phase_names[] = {"", "PreSync", "Sync", "PostSync", "SyncFail", "Skip", "PreDelete",
                                          "PostDelete"};

const char *apply_hook_name(apply_hook h) { return phase_names[h]; }

static const char *annotation(const value *obj, const char *key, const char *argo) {
  const value *notes = value_get_path(obj, "metadata.annotations");
  const value *v = notes && notes->kind == V_OBJECT ? value_object_get(notes, key) : NULL;
  if (!v && notes && notes->kind == V_OBJECT) v = value_object_get(notes, argo);
  return v && v->kind == V_STRING ? v->u.str.s : NULL;
}

/* Whether the comma-separated list holds word. */
static bool lists(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *s = list; *s; s += strcspn(s, ","), s += *s == ',') {
    while (*s == ' ') s++;
    if (strncmp(s, word, n) == 0 && strchr(", ", s[n])) return true;
  }
  return false;
}

/* The phase of a chart's hook, as Argo CD maps Helm's. */
static apply_hook helm_phase(const char *h) {
  if (lists(h, "pre-install") || lists(h, "pre-upgrade")) return APPLY_HOOK_PRE_SYNC;
  if (lists(h, "post-install") || lists(h, "post-upgrade")) return APPLY_HOOK_POST_SYNC;
  if (lists(h, "pre-delete")) return APPLY_HOOK_PRE_DELETE;
  if (lists(h, "post-delete")) return APPLY_HOOK_POST_DELETE;
  return APPLY_HOOK_SKIP;
}

apply_hook apply_hook_of(const value *obj) {
  const char *h = annotation(obj, HOOK_ANNOTATION, ARGO_HOOK);
  if (!h) {
    const char *helm = annotation(obj, HELM_HOOK, HELM_HOOK);
    return helm ? helm_phase(helm) : APPLY_HOOK_NONE;
  }
  /* Several phases ("PreSync,PostSync"): the first a sync runs; a delete
   * phase when it lists no other (it is a delete hook all the same,
   * apply_delete_hooks), as Argo CD tells them apart; an unknown phase is
   * left alone, not applied as an object. */
  apply_hook found = APPLY_HOOK_SKIP;
  for (const char *s = h; *s; s += strcspn(s, ","), s += *s == ',') {
    while (*s == ' ') s++;
    for (int p = APPLY_HOOK_PRE_SYNC; p <= APPLY_HOOK_POST_DELETE; p++) {
      size_t n = strlen(phase_names[p]);
      if (strncmp(s, phase_names[p], n) != 0 || !strchr(", ", s[n])) continue;
      if (p < APPLY_HOOK_PRE_DELETE) return (apply_hook)p;
      if (found == APPLY_HOOK_SKIP) found = (apply_hook)p;
    }
  }
  return found;
}

bool apply_is_hook_json(const json_t *obj) {
  const json_t *notes = json_object_get(json_object_get(obj, "metadata"), "annotations");
  return json_object_get(notes, HOOK_ANNOTATION) || json_object_get(notes, ARGO_HOOK) ||
         json_object_get(notes, HELM_HOOK);
}

/* Whether a hook's delete policy (p, plumb's or Argo CD's, else helm's)
 * holds policy. */
static bool policy_holds(const char *p, const char *helm, const char *policy) {
  if (p) return lists(p, policy);
  /* Helm's names of the same three. */
  if (!helm) return strcmp(policy, "BeforeHookCreation") == 0;
  return lists(helm, strcmp(policy, "BeforeHookCreation") == 0 ? "before-hook-creation"
                     : strcmp(policy, "HookSucceeded") == 0    ? "hook-succeeded"
                                                               : "hook-failed");
}

static bool has_policy(const value *obj, const char *policy) {
  return policy_holds(annotation(obj, HOOK_POLICY_ANNOTATION, ARGO_HOOK_POLICY),
                      annotation(obj, HELM_HOOK_POLICY, HELM_HOOK_POLICY), policy);
}

compile_result apply_select(const compile_result *r, apply_hook phase) {
  compile_result out = *r;
  out.res = heap_alloc((r->nres + 1) * sizeof *out.res);
  out.nres = 0;
  for (size_t i = 0; i < r->nres; i++) {
    apply_hook h = apply_hook_of(r->res[i].obj);
    if (h == phase) out.res[out.nres++] = r->res[i];
  }
  return out;
}

bool apply_has_hooks(const compile_result *r) {
  for (size_t i = 0; i < r->nres; i++)
    if (apply_hook_of(r->res[i].obj) != APPLY_HOOK_NONE) return true;
  return false;
}

/* ---- running a phase ------------------------------------------------------------------- */

enum { HOOK_GONE_WAIT_S = 60 };

/* Deletes the live object of hook i of r (by its uid) and waits until it
 * is gone: a Job cannot be applied again, it is created anew. */
static int delete_hook(kube_client *c, const compile_result *r, size_t i, const char *owner) {
  json_t *body = apply_body(r, i, owner), *live = NULL;
  const char *api = json_string_value(json_object_get(body, "apiVersion"));
  const char *kind = json_string_value(json_object_get(body, "kind"));
  const char *ns = kube_meta_str(body, "namespace"), *name = kube_meta_str(body, "name");
  const kube_resource *res;
  int rc = kube_resource_find(c, api, kind, &res);
  if (rc == KUBE_OK && res->namespaced && !ns) ns = kube_default_namespace(c);
  if (rc == KUBE_OK) rc = kube_get(c, api, kind, ns, name, &live);
  if (rc == KUBE_OK) {
    kube_delete_opts dopts = {.propagation = "Background", .uid = kube_meta_str(live, "uid")};
    rc = kube_delete(c, api, kind, ns, name, &dopts);
    for (int t = 0; (rc == KUBE_OK || rc == KUBE_ENOTFOUND) && t < HOOK_GONE_WAIT_S * 5; t++) {
      json_decref(live);
      live = NULL;
      if ((rc = kube_get(c, api, kind, ns, name, &live)) == KUBE_ENOTFOUND) break;
      usleep(200000);
    }
  }
  json_decref(live);
  json_decref(body);
  return rc == KUBE_ENOTFOUND ? KUBE_OK : rc == KUBE_OK ? KUBE_ERROR : rc;
}

/* The outcomes from first on name their phase: "created (PreSync hook)". */
static void tag(apply_result *res, size_t first, apply_hook phase) {
  for (size_t i = first; res && i < res->n; i++)
    if (res->items[i].verb) {
      char *v = heap_printf("%s (%s hook)", res->items[i].verb, apply_hook_name(phase));
      free(res->items[i].verb);
      res->items[i].verb = v;
    }
}

static bool delete_before(kube_client *c, const compile_result *hooks, apply_hook phase, const apply_opts *o,
                          char **why);

/* Runs the hooks of phase: each deleted first as its policy says, then
 * applied wave by wave, each wave waited for until healthy; then deleted
 * as their policy says of how they went. Returns how many failed (a wave
 * that did not become healthy counts one), why in *why (caller frees). */
static int run_phase(kube_client *c, const compile_result *r, apply_hook phase, const apply_opts *o, char **why) {
  compile_result hooks = apply_select(r, phase);
  int failed = 0;
  *why = NULL;
  if (!hooks.nres) {
    free(hooks.res);
    return 0;
  }
  if (!delete_before(c, &hooks, phase, o, why)) {
    free(hooks.res);
    return 1;
  }
  apply_result mine = {0};
  apply_opts ho = *o;
  ho.prune = false;
  ho.result = o->result ? o->result : &mine;
  ho.wave_timeout_s = o->wave_timeout_s > 0 ? o->wave_timeout_s : APPLY_HOOK_TIMEOUT_S;
  ho.wait_last = true;
  size_t first = ho.result->n;
  failed = apply_objects(c, &hooks, &ho);
  tag(o->result, first, phase);
  if (failed)
    *why = heap_printf("%s hook failed: %s", apply_hook_name(phase),
                       ho.result->halt ? ho.result->halt : "an object of it was refused");
  if (ho.result->halt && o->result) {
    free(o->result->halt);
    o->result->halt = NULL;
  }
  for (size_t i = 0; !o->dry_run && i < hooks.nres; i++)
    if (has_policy(hooks.res[i].obj, failed ? "HookFailed" : "HookSucceeded")) delete_hook(c, &hooks, i, o->owner);
  apply_result_free(&mine);
  free(hooks.res);
  return failed;
}

/* A sync that failed: its SyncFail hooks, and the reason kept. */
static int sync_failed(kube_client *c, const compile_result *r, const apply_opts *o, char *why, int failed) {
  char *also;
  if (run_phase(c, r, APPLY_HOOK_SYNC_FAIL, o, &also)) {
    char *both = heap_printf("%s; %s", why, also);
    free(why);
    why = both;
  }
  free(also);
  if (o->out) fprintf(stderr, "plumb: %s\n", why);
  if (o->result) {
    free(o->result->halt);
    o->result->halt = why;
  } else free(why);
  return failed ? failed : 1;
}

/* Deletes the live hooks of phase whose policy is BeforeHookCreation,
 * before they are created anew; false with *why when one cannot be. */
static bool delete_before(kube_client *c, const compile_result *hooks, apply_hook phase, const apply_opts *o,
                          char **why) {
  for (size_t i = 0; !o->dry_run && i < hooks->nres; i++)
    if (has_policy(hooks->res[i].obj, "BeforeHookCreation") && delete_hook(c, hooks, i, o->owner) != KUBE_OK) {
      *why = heap_printf("%s hook: the one of the last sync cannot be deleted: %s", apply_hook_name(phase),
                         kube_last_error(c));
      return false;
    }
  return true;
}

int apply_with_hooks(kube_client *c, const compile_result *r, const apply_opts *o) {
  char *why;
  int failed = run_phase(c, r, APPLY_HOOK_PRE_SYNC, o, &why);
  if (failed) return sync_failed(c, r, o, why, failed);
  compile_result sync_hooks = apply_select(r, APPLY_HOOK_SYNC);
  bool deleted = delete_before(c, &sync_hooks, APPLY_HOOK_SYNC, o, &why);
  free(sync_hooks.res);
  if (!deleted) return sync_failed(c, r, o, why, 1);
  /* The objects and the Sync hooks, in their waves together. */
  compile_result main = apply_select(r, APPLY_HOOK_NONE);
  for (size_t i = 0; i < r->nres; i++)
    if (apply_hook_of(r->res[i].obj) == APPLY_HOOK_SYNC) main.res[main.nres++] = r->res[i];
  failed = apply_objects(c, &main, o);
  free(main.res);
  if (failed) {
    const char *halt = o->result && o->result->halt ? o->result->halt : NULL;
    why = heap_printf("the sync failed%s%s", halt ? ": " : "", halt ? halt : "");
    return sync_failed(c, r, o, why, failed);
  }
  failed = run_phase(c, r, APPLY_HOOK_POST_SYNC, o, &why);
  return failed ? sync_failed(c, r, o, why, failed) : 0;
}

/* ---- hooks around an application's deletion ---------------------------------------- */

/* The delete hooks are kept as JSON bodies: their annotations are read
 * there. */
static const char *json_annotation(const json_t *obj, const char *key, const char *argo) {
  const json_t *notes = json_object_get(json_object_get(obj, "metadata"), "annotations");
  const char *s = kube_str(notes, key);
  return s ? s : kube_str(notes, argo);
}

/* Whether a hook annotation (plumb's or Argo CD's, else helm's) lists
 * phase, a delete phase: one resource may run in several, as in Argo CD. */
static bool lists_phase(const char *hook, const char *helm, apply_hook phase) {
  if (hook) return lists(hook, phase_names[phase]);
  return helm && lists(helm, phase == APPLY_HOOK_PRE_DELETE ? "pre-delete" : "post-delete");
}

static bool json_in_phase(const json_t *obj, apply_hook phase) {
  return lists_phase(json_annotation(obj, HOOK_ANNOTATION, ARGO_HOOK), json_annotation(obj, HELM_HOOK, HELM_HOOK),
                     phase);
}

static bool json_has_policy(const json_t *obj, const char *policy) {
  return policy_holds(json_annotation(obj, HOOK_POLICY_ANNOTATION, ARGO_HOOK_POLICY),
                      json_annotation(obj, HELM_HOOK_POLICY, HELM_HOOK_POLICY), policy);
}

/* A kind the server does not know is taken as namespaced, as the
 * project's check takes it. */
static bool namespaced(kube_client *c, const json_t *body) {
  const kube_resource *res;
  return kube_resource_find(c, kube_str(body, "apiVersion"), kube_str(body, "kind"), &res) != KUBE_OK ||
         res->namespaced;
}

json_t *apply_delete_hooks(kube_client *c, const compile_result *r, const char *owner) {
  json_t *hooks = json_array();
  for (size_t i = 0; i < r->nres; i++) {
    const value *obj = r->res[i].obj;
    const char *hook = annotation(obj, HOOK_ANNOTATION, ARGO_HOOK), *helm = annotation(obj, HELM_HOOK, HELM_HOOK);
    if (!lists_phase(hook, helm, APPLY_HOOK_PRE_DELETE) && !lists_phase(hook, helm, APPLY_HOOK_POST_DELETE)) continue;
    json_t *body = apply_body(r, i, owner);
    /* Created later, when the client aims elsewhere. */
    if (!kube_meta_str(body, "namespace") && namespaced(c, body))
      json_object_set_new(json_object_get(body, "metadata"), "namespace", json_string(kube_default_namespace(c)));
    json_array_append_new(hooks, body);
  }
  return hooks;
}

bool apply_delete_hooks_wave(const json_t *hooks, apply_hook phase, long from, long *wave) {
  bool found = false;
  size_t i;
  json_t *h;
  json_array_foreach(hooks, i, h) {
    long w = wave_of(h);
    if (json_in_phase(h, phase) && w >= from && (!found || w < *wave)) *wave = w, found = true;
  }
  return found;
}

/* The hooks of phase in wave, borrowed from hooks (caller frees the
 * array). */
static json_t **in_wave(const json_t *hooks, apply_hook phase, long wave, size_t *n) {
  json_t **group = heap_calloc(json_array_size(hooks) + 1, sizeof *group);
  size_t i;
  json_t *h;
  *n = 0;
  json_array_foreach(hooks, i, h) if (json_in_phase(h, phase) && wave_of(h) == wave) group[(*n)++] = h;
  return group;
}

/* Hook h's live object in *live, NULL when there is none. */
static int get_hook(kube_client *c, const json_t *h, json_t **live) {
  *live = NULL;
  int rc = kube_get(c, kube_str(h, "apiVersion"), kube_str(h, "kind"), kube_meta_str(h, "namespace"),
                    kube_meta_str(h, "name"), live);
  if (rc == KUBE_OK) return KUBE_OK;
  json_decref(*live);
  *live = NULL;
  return rc == KUBE_ENOTFOUND ? KUBE_OK : rc;
}

static bool marked(const json_t *live, const char *owner) {
  return kube_str_is(json_object_get(json_object_get(live, "metadata"), "labels"), APPLY_OWNER_LABEL, owner);
}

/* Deletes live, hook h's, by its uid, unless it is going already. */
static int delete_live(kube_client *c, const json_t *h, const json_t *live) {
  if (kube_meta_str(live, "deletionTimestamp")) return KUBE_OK;
  kube_delete_opts d = {.propagation = "Background", .uid = kube_meta_str(live, "uid")};
  int rc = kube_delete(c, kube_str(h, "apiVersion"), kube_str(h, "kind"), kube_meta_str(h, "namespace"),
                       kube_meta_str(h, "name"), &d);
  return rc == KUBE_ENOTFOUND ? KUBE_OK : rc;
}

/* Makes way for hook h: its live namesake, owner's, deleted. False, why
 * in *why (caller frees), when that cannot be, or it is not owner's;
 * *there when it is still there. */
static bool make_way(kube_client *c, const json_t *h, const char *owner, bool *there, char **why) {
  json_t *live;
  int rc = get_hook(c, h, &live);
  char *ref = ref_of(h);
  if (rc != KUBE_OK) *why = heap_printf("%s cannot be read: %s", ref, kube_last_error(c));
  else if (live && !marked(live, owner))
    *why = heap_printf("%s exists without the mark of application %s (made by hand or by another); it is not "
                       "replaced", ref, owner);
  else if (live && delete_live(c, h, live) != KUBE_OK)
    *why = heap_printf("%s of an earlier attempt cannot be deleted: %s", ref, kube_last_error(c));
  *there = live != NULL;
  free(ref);
  json_decref(live);
  return !*why;
}

/* Creates the hooks group[0..n) of phase once no namesake is left (those
 * of an earlier attempt are deleted first): DONE once created, WAITING
 * while a namesake goes, FAILED with *why. */
static apply_hooks_state create(kube_client *c, json_t **group, size_t n, apply_hook phase, const char *owner,
                                char **why, const apply_opts *o) {
  bool waiting = false;
  for (size_t i = 0; i < n; i++) {
    bool there;
    if (!make_way(c, group[i], owner, &there, why)) return APPLY_HOOKS_FAILED;
    waiting |= there;
  }
  if (waiting) return APPLY_HOOKS_WAITING;
  size_t first = o->result ? o->result->n : 0;
  apply_hooks_state s = APPLY_HOOKS_DONE;
  for (size_t i = 0; i < n && s == APPLY_HOOKS_DONE; i++) {
    kube_apply_opts ao = {.force = true};
    if (kube_apply(c, group[i], &ao, NULL) == KUBE_OK) {
      outcome(o, group[i], "created", NULL, NULL);
      continue;
    }
    outcome(o, group[i], NULL, kube_last_error(c), NULL);
    char *ref = ref_of(group[i]);
    *why = heap_printf("%s cannot be created: %s", ref, kube_last_error(c));
    free(ref);
    s = APPLY_HOOKS_FAILED;
  }
  tag(o->result, first, phase);
  return s;
}

/* Reads the created hooks group[0..n) of wave back: DONE once all are
 * healthy, FAILED with *why when one is Degraded or the wave has been
 * waited for too long. */
static apply_hooks_state look(kube_client *c, json_t **group, size_t n, apply_hook_run *run, double now, char **why) {
  settle_failure f;
  settle_state s = settle_look(c, group, n, &f);
  if (s == SETTLE_HEALTHY) return APPLY_HOOKS_DONE;
  if (!run->since) run->since = now; /* a runtime that went on after a restart */
  if (s == SETTLE_WAITING && now - run->since < APPLY_HOOK_TIMEOUT_S) return APPLY_HOOKS_WAITING;
  char *ref = ref_of(group[f.index]);
  const char *name = health_name(f.health.code), *sep = *f.health.message ? ": " : "";
  *why = s == SETTLE_DEGRADED
             ? heap_printf("wave %ld: %s is %s%s%s", run->wave, ref, name, sep, f.health.message)
             : heap_printf("wave %ld: %s is still %s after %d s%s%s", run->wave, ref, name, APPLY_HOOK_TIMEOUT_S, sep,
                           f.health.message);
  free(ref);
  return APPLY_HOOKS_FAILED;
}

/* After a wave failed: its hooks whose policy says HookFailed go. */
static void delete_failed(kube_client *c, json_t **group, size_t n, const char *owner, const apply_opts *o) {
  for (size_t i = 0; i < n; i++) {
    json_t *live;
    if (!json_has_policy(group[i], "HookFailed") || get_hook(c, group[i], &live) != KUBE_OK) continue;
    if (live && marked(live, owner) && delete_live(c, group[i], live) == KUBE_OK)
      outcome(o, group[i], "deleted (it failed, its policy says HookFailed)", NULL, NULL);
    json_decref(live);
  }
}

/* One wave of phase: its hooks created, or read back. */
static apply_hooks_state wave_step(kube_client *c, json_t **group, size_t n, apply_hook phase, const char *owner,
                                   apply_hook_run *run, double now, char **why, const apply_opts *o) {
  if (!run->created) {
    char *cause = NULL;
    apply_hooks_state s = create(c, group, n, phase, owner, &cause, o);
    if (s == APPLY_HOOKS_DONE) run->created = true, run->since = now;
    if (cause) *why = heap_printf("%s hook %s", apply_hook_name(phase), cause);
    free(cause);
    return s == APPLY_HOOKS_DONE ? APPLY_HOOKS_WAITING : s;
  }
  char *cause = NULL;
  apply_hooks_state s = look(c, group, n, run, now, &cause);
  if (s != APPLY_HOOKS_FAILED) return s;
  *why = heap_printf("%s hook failed: %s", apply_hook_name(phase), cause);
  free(cause);
  delete_failed(c, group, n, owner, o);
  /* Tried again from its creation. */
  run->created = false, run->since = 0;
  return s;
}

apply_hooks_state apply_delete_hooks_step(kube_client *c, const json_t *hooks, apply_hook phase, const char *owner,
                                          apply_hook_run *run, double now, char **why, const apply_opts *o) {
  long wave;
  *why = NULL;
  while (apply_delete_hooks_wave(hooks, phase, run->wave, &wave)) {
    size_t n;
    json_t **group = in_wave(hooks, phase, wave, &n);
    run->wave = wave;
    apply_hooks_state s = wave_step(c, group, n, phase, owner, run, now, why, o);
    free(group);
    if (s != APPLY_HOOKS_DONE || wave == LONG_MAX) return s;
    *run = (apply_hook_run){.wave = wave + 1};
  }
  return APPLY_HOOKS_DONE;
}

apply_hooks_state apply_delete_hooks_cleanup(kube_client *c, const json_t *hooks, const char *owner, char **why,
                                             const apply_opts *o) {
  apply_hooks_state s = APPLY_HOOKS_DONE;
  size_t i;
  json_t *h, *live;
  *why = NULL;
  json_array_foreach(hooks, i, h) {
    if (!json_has_policy(h, "HookSucceeded")) continue;
    if (get_hook(c, h, &live) != KUBE_OK) {
      char *ref = ref_of(h);
      *why = heap_printf("%s cannot be read: %s", ref, kube_last_error(c));
      free(ref);
      return APPLY_HOOKS_FAILED;
    }
    if (!live || !marked(live, owner)) {
      json_decref(live);
      continue;
    }
    bool going = kube_meta_str(live, "deletionTimestamp");
    int rc = delete_live(c, h, live);
    json_decref(live);
    if (rc != KUBE_OK) {
      char *ref = ref_of(h);
      *why = heap_printf("%s cannot be deleted: %s", ref, kube_last_error(c));
      free(ref);
      return APPLY_HOOKS_FAILED;
    }
    if (!going)
      outcome(o, h, json_in_phase(h, APPLY_HOOK_PRE_DELETE) ? "deleted (PreDelete hook)" : "deleted (PostDelete hook)",
              NULL, NULL);
    s = APPLY_HOOKS_WAITING;
  }
  return s;
}
