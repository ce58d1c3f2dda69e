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
 * and pre-upgrade PreSync, post-install and post-upgrade PostSync, the
 * rest (tests, rollbacks, deletes) none; their weight is their wave and
 * helm's delete policies are the same three. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plumb/apply.h"
#include "plumb/arena.h"
#include "hooks.h"

#define HOOK_ANNOTATION "plumb.dev/hook"
#define HOOK_POLICY_ANNOTATION "plumb.dev/hook-delete-policy"
#define ARGO_HOOK "argocd.argoproj.io/hook"
#define ARGO_HOOK_POLICY "argocd.argoproj.io/hook-delete-policy"
#define HELM_HOOK "helm.sh/hook"
#define HELM_HOOK_POLICY "helm.sh/hook-delete-policy"

static const char *const phase_names[] = {"", "PreSync", "Sync", "PostSync", "SyncFail", "Skip"};

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
  return APPLY_HOOK_SKIP;
}

apply_hook apply_hook_of(const value *obj) {
  const char *h = annotation(obj, HOOK_ANNOTATION, ARGO_HOOK);
  if (!h) {
    const char *helm = annotation(obj, HELM_HOOK, HELM_HOOK);
    return helm ? helm_phase(helm) : APPLY_HOOK_NONE;
  }
  /* Several phases ("PreSync,PostSync"): the first; what Plumb does not
   * run (PreDelete, PostDelete, an unknown phase) is left alone, not
   * applied as an object. */
  for (int p = APPLY_HOOK_PRE_SYNC; p <= APPLY_HOOK_SKIP; p++)
    if (strncmp(h, phase_names[p], strlen(phase_names[p])) == 0 && strchr(", ", h[strlen(phase_names[p])]))
      return (apply_hook)p;
  return APPLY_HOOK_SKIP;
}

bool apply_is_hook_json(const json_t *obj) {
  const json_t *notes = json_object_get(json_object_get(obj, "metadata"), "annotations");
  return json_object_get(notes, HOOK_ANNOTATION) || json_object_get(notes, ARGO_HOOK) ||
         json_object_get(notes, HELM_HOOK);
}

static bool has_policy(const value *obj, const char *policy) {
  const char *p = annotation(obj, HOOK_POLICY_ANNOTATION, ARGO_HOOK_POLICY);
  if (p) return lists(p, policy);
  /* Helm's names of the same three. */
  const char *helm = annotation(obj, HELM_HOOK_POLICY, HELM_HOOK_POLICY);
  if (!helm) return strcmp(policy, "BeforeHookCreation") == 0;
  return lists(helm, strcmp(policy, "BeforeHookCreation") == 0 ? "before-hook-creation"
                     : strcmp(policy, "HookSucceeded") == 0    ? "hook-succeeded"
                                                               : "hook-failed");
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
