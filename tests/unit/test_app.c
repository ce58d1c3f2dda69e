/* test_app.c: applications and projects, as the runtime reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/convert.h"
#include "plumb/app.h"

typedef struct {
  compile_result *r;
  app_set set;
  arena *kids_arena; /* outlives the builds the children were read from */
  app_set kids;
  char *errors; /* what diag_print says, "" when nothing */
} fixture;

static fixture *F;

/* Compiles `body` inside `import "std/gitops"; env apps { ... }`, as FILE. */
static compile_result *compile_apps(const char *file, const char *body) {
  char src[4096];
  snprintf(src, sizeof src, "import \"std/gitops\"\nenv apps {\n%s\n}\n", body);
  compile_result *r = compile_source(file, src, strlen(src), NULL);
  assert_int_equal(r->diags.errors, 0);
  return r;
}

static void print_errors(const diag_list *d) {
  size_t len;
  free(F->errors);
  FILE *out = open_memstream(&F->errors, &len);
  diag_print(d, out);
  fclose(out);
}

static app_set *read_apps(const char *body) {
  F->r = compile_apps("apps.plumb", body);
  app_set_read(&F->set, F->r->arena, F->r, &F->r->diags);
  print_errors(&F->r->diags);
  return &F->set;
}

/* What the build of the application "root" declares, F->set the config's;
 * the build is gone when it returns. */
static app_set *read_children(const char *body) {
  compile_result *r = compile_apps("root/main.plumb", body);
  if (!F->kids_arena) F->kids_arena = arena_new();
  app_set_read_children(&F->kids, F->kids_arena, r, &F->set, "root", &r->diags);
  print_errors(&r->diags);
  compile_free(r);
  return &F->kids;
}

static int setup(void **state) {
  F = calloc(1, sizeof *F);
  return 0;
}

static int teardown(void **state) {
  compile_free(F->r);
  arena_free(F->kids_arena);
  free(F->errors);
  free(F);
  return 0;
}

static const app_def *app(const char *name) {
  for (size_t i = 0; i < F->set.napps; i++)
    if (strcmp(F->set.apps[i].name, name) == 0) return &F->set.apps[i];
  fail_msg("no application %s", name);
  return NULL;
}

static void an_application_gets_the_defaults(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"https://git.example.com/web.git\")");
  assert_string_equal(F->errors, "");
  assert_int_equal(F->set.napps, 1);
  const app_def *a = app("web");
  assert_string_equal(a->repo, "https://git.example.com/web.git");
  assert_string_equal(a->revision, "HEAD");
  assert_string_equal(a->path, ".");
  assert_string_equal(a->cluster, "in-cluster");
  assert_string_equal(a->project, "default");
  assert_false(a->automated || a->prune || a->self_heal || a->allow_empty);
  assert_int_equal(a->interval_s, 180);
  assert_int_equal(a->nargs, 0);
  assert_non_null(app_set_project(&F->set, "default"));
}

static void an_application_says_where_and_how(void **state) {
  read_apps("app a = application(name: \"shop\", repo: \"file:///srv/git/shop\", revision: \"v1.2\",\n"
            "  path: \"envs/prod\", env: \"prod\", namespace: \"shop\", automated: true, prune: true,\n"
            "  self_heal: true, interval: \"1m30s\", credentials: { token_file: \"/etc/git/token\" })");
  assert_string_equal(F->errors, "");
  const app_def *a = app("shop");
  assert_string_equal(a->revision, "v1.2");
  assert_string_equal(a->path, "envs/prod");
  assert_string_equal(a->env, "prod");
  assert_string_equal(a->namespace, "shop");
  assert_true(a->automated && a->prune && a->self_heal && !a->allow_empty);
  assert_int_equal(a->interval_s, 90);
  assert_int_equal(a->ncredentials, 1);
  assert_string_equal(a->credentials[0].key, "token_file");
  assert_string_equal(a->credentials[0].value, "/etc/git/token");
}

/* Each as `plumb build --arg` takes it: a string as it is, the rest as
 * their literals, which the compile reads back by the parameter's type. */
static void args_are_name_value_texts(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"r\",\n"
            "  args: { tag: \"1.2.3\", replicas: 3, ratio: 0.5, canary: true, quoted: \"a \\\"b\\\"\" })");
  assert_string_equal(F->errors, "");
  const app_def *a = app("web");
  const char *want[] = {"canary=true", "quoted=a \"b\"", "ratio=0.5", "replicas=3", "tag=1.2.3"};
  assert_int_equal(a->nargs, 5);
  for (size_t i = 0; i < a->nargs; i++) {
    bool found = false;
    for (size_t k = 0; k < 5; k++) found |= strcmp(a->args[i], want[k]) == 0;
    if (!found) fail_msg("unexpected arg %s", a->args[i]);
  }
}

/* A path of plain YAML takes Argo CD's directory options; without them
 * it reads as Argo CD's default, the directory alone. */
static void a_directory_of_yaml_takes_argo_cds_options(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"r\", path: \"manifests\",\n"
            "  directory: { recurse: true, include: \"*.yaml\" })\n"
            "app b = application(name: \"api\", repo: \"r\", path: \"api\")");
  assert_string_equal(F->errors, "");
  const app_def *a = app("web");
  assert_true(a->directory.recurse);
  assert_string_equal(a->directory.include, "*.yaml");
  assert_null(a->directory.exclude);
  a = app("api");
  assert_false(a->directory.recurse);
  assert_null(a->directory.include);
}

/* A chart of a chart repository, as Argo CD's Helm source: its values
 * as JSON, its release; it takes no path, and only a chart takes values. */
static void a_chart_is_argo_cds_helm_source(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"oci://ghcr.io/org/charts\", chart: \"podinfo\",\n"
            "  revision: \"~6.5\", values: { replicaCount: 2 }, release: \"front\")\n"
            "app b = application(name: \"api\", repo: \"r\")");
  assert_string_equal(F->errors, "");
  const app_def *a = app("web");
  assert_string_equal(a->chart, "podinfo");
  assert_string_equal(a->revision, "~6.5");
  assert_string_equal(a->values, "{\"replicaCount\":2}");
  assert_string_equal(a->release, "front");
  assert_null(app("api")->chart);
}

static void a_chart_takes_no_path_and_a_path_no_values(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"https://charts.example.com\", chart: \"../x\", path: \"p\",\n"
            "  release: \"Front\")\n"
            "app b = application(name: \"api\", repo: \"https://git.example.com/api.git\", values: { a: 1 })\n"
            "app c = application(name: \"db\", repo: \"git@host:x.git\", chart: \"pg\")");
  assert_non_null(strstr(F->errors, "application web: source.chart \"../x\" is no chart name"));
  assert_non_null(strstr(F->errors, "application web: a chart takes no path, env, args or directory"));
  assert_non_null(strstr(F->errors, "application web: source.release \"Front\" is no release name"));
  assert_non_null(strstr(F->errors, "application api: source.values is for a chart (source.chart)"));
  assert_non_null(strstr(F->errors, "application db: a chart comes from a chart repository's https:// URL or an oci:// "
                                    "registry, not git@host:x.git"));
}

/* Flux's dependsOn: names of the set, read in order; a name that is no
 * application, and a circle however far round, are errors where the
 * list was written. */
static void dependencies_name_applications_and_go_nowhere_round(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"r\", depends_on: [\"db\", \"cache\"])\n"
            "app b = application(name: \"db\", repo: \"r\")\n"
            "app c = application(name: \"cache\", repo: \"r\")");
  assert_string_equal(F->errors, "");
  const app_def *a = app("web");
  assert_int_equal(a->ndepends_on, 2);
  assert_string_equal(a->depends_on[0], "db");
  assert_string_equal(a->depends_on[1], "cache");
  teardown(state), setup(state);
  read_apps("app a = application(name: \"web\", repo: \"r\", depends_on: [\"api\"])\n"
            "app b = application(name: \"api\", repo: \"r\", depends_on: [\"db\"])\n"
            "app c = application(name: \"db\", repo: \"r\", depends_on: [\"web\", \"nope\"])");
  assert_non_null(strstr(F->errors, "application db: depends on \"nope\", which is no application here"));
  /* Said once, of the first of the circle in the set's order (by name). */
  assert_non_null(strstr(F->errors, "application api: its dependencies go round: api -> db -> web -> api"));
  assert_null(strstr(F->errors, "application web: its dependencies go round"));
  assert_null(strstr(F->errors, "application db: its dependencies go round"));
}

/* Argo CD's syncPolicy.retry, with its defaults where it says nothing;
 * without it, the backoff of every failed pass and no limit. */
static void retry_is_argo_cds(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"r\", retry: { limit: 3, backoff: { maxDuration: \"2m\" } })\n"
            "app b = application(name: \"api\", repo: \"r\")\n"
            "app c = application(name: \"db\", repo: \"r\", retry: { limit: -2, backoff: { duration: \"soon\", factor: 0 } })");
  const app_def *a = app("web");
  assert_int_equal(a->retry_limit, 3);
  assert_int_equal(a->retry_s, 5);
  assert_int_equal(a->retry_factor, 2);
  assert_int_equal(a->retry_max_s, 120);
  assert_int_equal(app("api")->retry_limit, -1);
  assert_non_null(strstr(F->errors, "application db: sync.retry.limit must be an integer from -1 (no limit) to 1000"));
  assert_non_null(strstr(F->errors, "application db: sync.retry.backoff.factor must be an integer from 1 to 100"));
  assert_non_null(strstr(F->errors, "application db: sync.retry.backoff.duration must be a duration like 5s, 3m or 1h"));
}

/* cascade_delete: background or foreground; orphan, the default, is none. */
static void cascade_delete_is_a_propagation(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"r\", cascade_delete: \"foreground\")\n"
            "app b = application(name: \"api\", repo: \"r\")\n"
            "app c = application(name: \"db\", repo: \"r\", cascade_delete: \"always\")");
  assert_string_equal(app("web")->cascade, "foreground");
  assert_null(app("api")->cascade);
  assert_non_null(strstr(F->errors, "application db: cascade_delete is background, foreground or orphan, not \"always\""));
}

/* field_manager: a name the API server takes; "plumb", the default, is none. */
static void field_manager_is_a_name_the_server_takes(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"r\", field_manager: \"team-shop\")\n"
            "app b = application(name: \"api\", repo: \"r\", field_manager: \"plumb\")\n"
            "app c = application(name: \"db\", repo: \"r\", field_manager: \"a\\tb\")");
  assert_string_equal(app("web")->field_manager, "team-shop");
  assert_null(app("api")->field_manager);
  assert_non_null(strstr(F->errors, "application db: field_manager must be 1 to 128 printable ASCII characters"));
}

/* sops_secret: the name of a Secret, the application's or its project's. */
static void sops_secret_names_a_secret(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"r\", sops_secret: \"sops-keys\")\n"
            "app b = application(name: \"api\", repo: \"r\", project: \"team\")\n"
            "app c = application(name: \"db\", repo: \"r\", sops_secret: \"Not_A_Name\")\n"
            "app t = project(name: \"team\", sops_secret: \"team-keys\")");
  assert_string_equal(app("web")->sops_secret, "sops-keys");
  assert_null(app("api")->sops_secret);
  assert_string_equal(app_set_project(&F->set, "team")->sops_secret, "team-keys");
  assert_non_null(strstr(F->errors, "application db: decryption.secretRef.name \"Not_A_Name\" is no Secret's name"));
}

/* ignoreDifferences: Argo CD's fields, each path checked. */
static void ignore_rules_are_argo_cds(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"r\", ignore_differences: [\n"
            "  { group: \"apps\", kind: \"Deployment\", jsonPointers: [\"/spec/replicas\"],\n"
            "    jqPathExpressions: [\".spec.template.spec.containers[].image\"], managedFieldsManagers: [\"hpa\"] }])\n"
            "app b = application(name: \"api\", repo: \"r\", ignore_differences: [\n"
            "  { kind: \"Deployment\", jsonPointers: [\"spec.replicas\"] }, { kind: \"Service\" }])");
  const app_def *a = app("web");
  assert_int_equal(a->nignore, 1);
  assert_string_equal(a->ignore[0].group, "apps");
  assert_int_equal(a->ignore[0].npaths, 2);
  assert_string_equal(a->ignore[0].paths[1], ".spec.template.spec.containers[].image");
  assert_string_equal(a->ignore[0].managers[0], "hpa");
  assert_non_null(strstr(F->errors, "application api: \"spec.replicas\" is no JSON pointer"));
  assert_non_null(strstr(F->errors, "application api: an ignore rule names fields"));
}

static void bad_fields_are_errors_where_they_were_written(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"r\", interval: \"soon\", path: \"../x\",\n"
            "  credentials: { password: \"hunter2\" }, args: { tags: [\"a\"] },\n"
            "  directory: { recurse: \"yes\", includes: \"*\" })\n"
            "app b = application(name: \"api\", repo: \"r\", project: \"nope\")");
  assert_non_null(strstr(F->errors, "application web: args.tags must be a string, a number or a bool, got a list"));
  assert_non_null(strstr(F->errors, "application web: sync.interval \"soon\" is not a duration like 30s, 3m or 1h"));
  assert_non_null(strstr(F->errors, "application web: source.path must stay inside the repository"));
  assert_non_null(strstr(F->errors, "application web: unknown credential \"password\""));
  assert_non_null(strstr(F->errors, "application web: source.directory.recurse must be a bool, got a string"));
  assert_non_null(strstr(F->errors, "application web: unknown field \"includes\" of source.directory; expected recurse, "
                                    "include or exclude"));
  assert_non_null(strstr(F->errors, "application api: project \"nope\" is not defined"));
  /* The interval's error points at the argument in apps.plumb. */
  assert_non_null(strstr(F->errors, "apps.plumb:3:"));
}

static const char *denied_object(const char *api, const char *kind, const char *ns) {
  const app_def *a = app("web");
  return app_check_object(app_set_project(&F->set, a->project), a, api, kind, ns, F->r->arena);
}

static void the_default_project_refuses_cluster_scoped_kinds(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"r\")");
  assert_null(denied_object("apps/v1", "Deployment", "web"));
  assert_string_equal(denied_object("v1", "Namespace", NULL), "project default does not allow the cluster-scoped kind Namespace");
}

static void a_project_limits_repos_destinations_and_kinds(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"https://git.example.com/web.git\", project: \"team\")\n"
            "app b = application(name: \"evil\", repo: \"https://evil.example.com/x.git\", project: \"team\")\n"
            "app p = project(name: \"team\", repos: [\"https://git.example.com/*\"],\n"
            "  destinations: [{ cluster: \"in-cluster\", namespace: \"team-*\" }],\n"
            "  cluster_kinds: [\"Namespace\"], deny_kinds: [\"Secret\", \"rbac.authorization.k8s.io/*\"])");
  assert_string_equal(F->errors, "");
  const app_project *p = app_set_project(&F->set, "team");
  assert_null(app_check_source(p, app("web"), F->r->arena));
  assert_string_equal(app_check_source(p, app("evil"), F->r->arena),
                      "project team does not allow the repository https://evil.example.com/x.git");
  assert_null(denied_object("v1", "Namespace", NULL));
  assert_null(denied_object("apps/v1", "Deployment", "team-a"));
  assert_string_equal(denied_object("apps/v1", "Deployment", "kube-system"),
                      "project team does not allow the destination in-cluster, namespace kube-system");
  assert_string_equal(denied_object("v1", "Secret", "team-a"), "project team does not allow the kind Secret");
  assert_string_equal(denied_object("rbac.authorization.k8s.io/v1", "Role", "team-a"),
                      "project team does not allow the kind rbac.authorization.k8s.io/Role");
  assert_string_equal(denied_object("rbac.authorization.k8s.io/v1", "ClusterRole", NULL),
                      "project team does not allow the cluster-scoped kind rbac.authorization.k8s.io/ClusterRole");
}

static void definitions_are_told_from_resources(void **state) {
  read_apps("app a = application(name: \"web\", repo: \"r\")\nConfigMap \"c\" {}\n"
            "Application \"argo\" { apiVersion: \"argoproj.io/v1alpha1\" }");
  assert_int_equal(F->r->nres, 3);
  int defs = 0;
  for (size_t i = 0; i < F->r->nres; i++) defs += app_is_definition(F->r->res[i].obj);
  assert_int_equal(defs, 1);
}

static void children_name_their_parent_and_take_the_configs_projects(void **state) {
  read_apps("app p = project(name: \"team\", kinds: [\"Deployment\"])");
  read_children("app a = application(name: \"web\", repo: \"r\", project: \"team\")\n"
                "app b = application(name: \"api\", repo: \"r\")\nConfigMap \"c\" {}");
  assert_string_equal(F->errors, "");
  assert_int_equal(F->kids.napps, 2);
  assert_string_equal(F->kids.apps[0].name, "api"); /* in the build's order */
  assert_string_equal(F->kids.apps[0].parent, "root");
  assert_ptr_equal(app_set_project(&F->kids, "team"), app_set_project(&F->set, "team"));
  assert_non_null(app_set_project(&F->kids, "default"));
  /* Where it was written outlives the build. */
  assert_string_equal(F->kids.apps[0].at.file, "root/main.plumb");
  assert_int_equal(F->kids.apps[0].at.line, 4);
}

static void a_build_declares_no_projects_and_names_only_the_configs(void **state) {
  read_apps("");
  read_children("app p = project(name: \"mine\", kinds: [\"*\"], cluster_kinds: [\"*\"])\n"
                "app a = application(name: \"web\", repo: \"r\", project: \"mine\")");
  assert_non_null(strstr(F->errors, "root/main.plumb:3:"));
  assert_non_null(strstr(F->errors, "project mine: projects may be declared only in the config repository"));
  assert_non_null(strstr(F->errors, "root/main.plumb:4:"));
  assert_non_null(strstr(F->errors, "application web: project \"mine\" is not defined"));
}

static void notifiers_and_subscriptions(void **state) {
  read_apps("app s = notifier(name: \"ops\", type: \"slack\", secret: \"slack-ops\")\n"
            "app h = notifier(name: \"hook\", type: \"webhook\", url: \"http://receiver/x\", headers: { \"X-Team\": \"shop\" },\n"
            "  body: \"{\\\"text\\\": \\\"{{app}}: {{message}}\\\"}\")\n"
            "app p = project(name: \"web\", subscribe: { \"on-sync-failed\": \"ops\" }, out_of_sync_for: \"1h\")\n"
            "app a = application(name: \"shop\", repo: \"r\", project: \"web\", out_of_sync_for: \"10m30s\",\n"
            "  subscribe: { \"on-sync-failed\": [\"hook\", \"ops\"], \"on-deployed\": [\"hook\"], \"on-out-of-sync\": \"ops\" })\n"
            "app b = application(name: \"cart\", repo: \"r\")");
  assert_string_equal(F->errors, "");
  assert_int_equal(F->set.nnotifiers, 2);
  const app_notifier *hook = &F->set.notifiers[0], *ops = &F->set.notifiers[1];
  assert_string_equal(hook->name, "hook");
  assert_string_equal(hook->type, "webhook");
  assert_string_equal(hook->url, "http://receiver/x");
  assert_null(hook->secret);
  assert_int_equal(hook->nheaders, 1);
  assert_string_equal(hook->headers[0], "X-Team: shop");
  assert_string_equal(hook->body, "{\"text\": \"{{app}}: {{message}}\"}");
  assert_string_equal(ops->secret, "slack-ops");
  const app_def *a = app("shop");
  assert_int_equal(a->nsubscribe, 4);
  assert_string_equal(a->subscribe[0], "on-sync-failed=hook");
  assert_string_equal(a->subscribe[1], "on-sync-failed=ops");
  assert_string_equal(a->subscribe[2], "on-deployed=hook");
  assert_string_equal(a->subscribe[3], "on-out-of-sync=ops");
  assert_int_equal(a->out_of_sync_s, 630);
  assert_int_equal(app("cart")->out_of_sync_s, 0); /* not given: the project's, else 5m, at the pass */
  const app_project *p = app_set_project(&F->set, "web");
  assert_int_equal(p->nsubscribe, 1);
  assert_string_equal(p->subscribe[0], "on-sync-failed=ops");
  assert_int_equal(p->out_of_sync_s, 3600);
}

static void bad_notifiers_and_subscriptions_are_errors(void **state) {
  read_apps("app s = notifier(name: \"a\", type: \"pager\", secret: \"x\")\n"
            "app t = notifier(name: \"b\", type: \"github\", url: \"https://api.github.com\")\n"
            "app u = notifier(name: \"c\", type: \"webhook\", url: \"http://x/\", body: \"{\\\"t\\\": {{app}}}\")\n"
            "app v = notifier(name: \"d\", type: \"slack\")\n"
            "app a = application(name: \"shop\", repo: \"r\", subscribe: { \"on-sync-failed\": \"nobody\", \"on-fire\": \"c\" },\n"
            "  out_of_sync_for: \"soon\")");
  assert_non_null(strstr(F->errors, "notifier a: type \"pager\" is none of webhook, slack, teams, github, gitlab and gitea"));
  assert_non_null(strstr(F->errors, "notifier b: a commit status needs a secret that holds its token"));
  assert_non_null(strstr(F->errors, "notifier c: body: the template is not JSON once filled"));
  assert_non_null(strstr(F->errors, "notifier d: needs a secret (that holds its url or token) or a url"));
  assert_non_null(strstr(F->errors, "application shop: unknown trigger \"on-fire\""));
  assert_non_null(strstr(F->errors, "application shop: subscribes to \"nobody\", which is no notifier of the config"));
  assert_non_null(strstr(F->errors, "application shop: outOfSyncFor \"soon\" is not a duration like 30s, 5m or 1h"));
}

static void a_build_declares_no_notifiers(void **state) {
  read_apps("app s = notifier(name: \"ops\", type: \"slack\", secret: \"slack-ops\")");
  read_children("app n = notifier(name: \"mine\", type: \"webhook\", url: \"http://x/\")\n"
                "app a = application(name: \"web\", repo: \"r\", subscribe: { \"on-deployed\": [\"ops\", \"mine\"] })");
  assert_non_null(strstr(F->errors, "notifier mine: notifiers may be declared only in the config repository"));
  assert_non_null(strstr(F->errors, "application web: subscribes to \"mine\", which is no notifier of the config"));
  assert_null(strstr(F->errors, "\"ops\""));
  assert_int_equal(F->kids.nnotifiers, 0);
}

static void health_scripts_are_read_by_group_and_kind(void **state) {
  read_apps("app c = health(group: \"cert-manager.io\", kind: \"Certificate\", lua: \"return {status = 'Healthy'}\")\n"
            "app x = health(group: \"*.crossplane.io\", kind: \"*\", lua: \"return obj\")\n"
            "app m = health(group: \"\", kind: \"ConfigMap\", lua: \"return {}\", name: \"maps\")");
  assert_string_equal(F->errors, "");
  assert_int_equal(F->set.nhealths, 3);
  /* In the build's order: by name. */
  const app_health *h = &F->set.healths[1];
  assert_string_equal(h->name, "certificate.cert-manager.io");
  assert_string_equal(h->group, "cert-manager.io");
  assert_string_equal(h->kind, "Certificate");
  assert_string_equal(h->lua, "return {status = 'Healthy'}");
  assert_int_equal(h->lua_len, strlen(h->lua));
  assert_string_equal(F->set.healths[0].name, "all.all.crossplane.io");
  assert_string_equal(F->set.healths[0].group, "*.crossplane.io");
  assert_string_equal(F->set.healths[2].name, "maps");
  assert_string_equal(F->set.healths[2].group, "");
  /* Neither an object for a cluster nor an application. */
  assert_int_equal(F->set.napps, 0);
  for (size_t i = 0; i < F->r->nres; i++) assert_true(app_is_definition(F->r->res[i].obj));
}

static void a_health_script_that_does_not_compile_is_an_error_where_it_was_written(void **state) {
  read_apps("app c = health(group: \"cert-manager.io\", kind: \"Certificate\",\n"
            "  lua: \"local hs = {}\\nif obj.status then\\nreturn hs\")");
  assert_non_null(strstr(F->errors, "apps.plumb:4:8: error: health cert-manager.io/Certificate: the script does not "
                                    "compile: line 3: 'end' expected (to close 'if' at line 2) near <eof>"));
  assert_int_equal(F->set.nhealths, 0);
}

static void one_script_for_a_group_and_kind(void **state) {
  read_apps("app a = health(group: \"db.example.com\", kind: \"Claim\", lua: \"return {}\", name: \"one\")\n"
            "app b = health(group: \"db.example.com\", kind: \"Claim\", lua: \"return {}\", name: \"two\")");
  assert_non_null(strstr(F->errors, "apps.plumb:4:47: error: health two: db.example.com/Claim has a script already, "
                                    "health one"));
  assert_int_equal(F->set.nhealths, 1);
}

static void a_build_declares_no_health_scripts(void **state) {
  read_apps("");
  read_children("app c = health(group: \"example.com\", kind: \"Thing\", lua: \"return {}\")");
  assert_non_null(strstr(F->errors, "health thing.example.com: health scripts may be declared only in the config "
                                    "repository"));
  assert_int_equal(F->kids.nhealths, 0);
}

static void definitions_are_equal_only_when_all_is(void **state) {
  const char *web = "app a = application(name: \"web\", repo: \"r\", credentials: { token_file: \"/t\" })";
  read_apps(web);
  app_def first = read_children(web)->apps[0];
  assert_true(app_def_equal(&first, &read_children(web)->apps[0]));
  assert_false(app_def_equal(&first, &F->set.apps[0])); /* the config's: no parent */
  /* The same, written elsewhere. */
  assert_false(app_def_equal(&first, &read_children("\napp a = application(name: \"web\", repo: \"r\", "
                                                    "credentials: { token_file: \"/t\" })")
                                          ->apps[0]));
  assert_false(app_def_equal(&first, &read_children("app a = application(name: \"web\", repo: \"r\", "
                                                    "credentials: { token_file: \"/u\" })")
                                          ->apps[0]));
  /* Other directory options, too. */
  assert_false(app_def_equal(&first, &read_children("app a = application(name: \"web\", repo: \"r\", "
                                                    "credentials: { token_file: \"/t\" }, directory: { exclude: \"x\" })")
                                          ->apps[0]));
  /* Other args are another build. */
  assert_false(app_def_equal(&first, &read_children("app a = application(name: \"web\", repo: \"r\", "
                                                    "credentials: { token_file: \"/t\" }, args: { tag: \"2\" })")
                                          ->apps[0]));
}

/* An Application object of the cluster: its JSON, made a value, reads
 * alone with the same checks and words, at no position. */
static void a_cluster_object_reads_as_a_definition(void **state) {
  arena *a = arena_new();
  diag_list d;
  diag_init(&d, a);
  json_t *obj = json_loads("{\"apiVersion\": \"plumb.dev/v1\", \"kind\": \"Application\", \"metadata\": {\"name\": "
                           "\"web\"}, \"spec\": {\"source\": {\"repo\": \"r\", \"path\": \"a\", \"args\": {\"n\": 3}, "
                           "\"directory\": {\"recurse\": true, \"exclude\": \"x/*\"}}, "
                           "\"sync\": {\"automated\": true, \"interval\": \"2s\"}}}",
                           0, NULL);
  app_def app = {0};
  assert_int_equal(app_read_one(kube_json_to_value(a, obj), a, &app, NULL, &d), 0);
  assert_string_equal(app.name, "web");
  assert_string_equal(app.path, "a");
  assert_string_equal(app.revision, "HEAD");
  assert_true(app.automated);
  assert_int_equal(app.interval_s, 2);
  assert_int_equal(app.nargs, 1);
  assert_string_equal(app.args[0], "n=3");
  assert_true(app.directory.recurse);
  assert_string_equal(app.directory.exclude, "x/*");
  json_object_set_new(json_object_get(json_object_get(obj, "spec"), "source"), "path", json_string("../x"));
  assert_int_equal(app_read_one(kube_json_to_value(a, obj), a, &app, NULL, &d), 1);
  assert_string_equal(d.first->msg, "application web: source.path must stay inside the repository");
  assert_null(d.first->at.file);
  json_decref(obj);
  arena_free(a);
}

static void intervals(void **state) {
  assert_int_equal(app_parse_interval("30s"), 30);
  assert_int_equal(app_parse_interval("3m"), 180);
  assert_int_equal(app_parse_interval("1h30m"), 5400);
  assert_int_equal(app_parse_interval(""), -1);
  assert_int_equal(app_parse_interval("0s"), -1);
  assert_int_equal(app_parse_interval("5"), -1);
  assert_int_equal(app_parse_interval("m"), -1);
  assert_int_equal(app_parse_interval("-1m"), -1);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(an_application_gets_the_defaults),
      T(an_application_says_where_and_how),
      T(args_are_name_value_texts),
      T(a_directory_of_yaml_takes_argo_cds_options),
      T(a_chart_is_argo_cds_helm_source),
      T(a_chart_takes_no_path_and_a_path_no_values),
      T(dependencies_name_applications_and_go_nowhere_round),
      T(retry_is_argo_cds),
      T(cascade_delete_is_a_propagation),
      T(field_manager_is_a_name_the_server_takes),
      T(sops_secret_names_a_secret),
      T(ignore_rules_are_argo_cds),
      T(bad_fields_are_errors_where_they_were_written),
      T(the_default_project_refuses_cluster_scoped_kinds),
      T(a_project_limits_repos_destinations_and_kinds),
      T(definitions_are_told_from_resources),
      T(children_name_their_parent_and_take_the_configs_projects),
      T(a_build_declares_no_projects_and_names_only_the_configs),
      T(notifiers_and_subscriptions),
      T(bad_notifiers_and_subscriptions_are_errors),
      T(a_build_declares_no_notifiers),
      T(health_scripts_are_read_by_group_and_kind),
      T(a_health_script_that_does_not_compile_is_an_error_where_it_was_written),
      T(one_script_for_a_group_and_kind),
      T(a_build_declares_no_health_scripts),
      T(definitions_are_equal_only_when_all_is),
      T(a_cluster_object_reads_as_a_definition),
      T(intervals),
  };
  return cmocka_run_group_tests_name("app", tests, NULL, NULL);
}
