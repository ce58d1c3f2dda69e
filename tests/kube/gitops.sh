#!/bin/sh
# plumb run against a real control plane and real git repositories: each
# check is one behaviour of the operator, one pass at a time (--once).
# Usage: gitops.sh PLUMB CLUSTER_DIR. Last line: "gitops: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
NS=gitops-dev

pass_once() { $PLUMB run "file://$repo" --config-path gitops --cache "$work/cache" --once --context admin; }
replicas() { $K -n $NS get deployment nginx-deployment -o jsonpath='{.spec.replicas}'; }

# The deploy repository: the nginx example, and gitops/ declaring it.
mkdir -p "$repo"
cp -r "$ROOT/examples/nginx/apps" "$ROOT/examples/nginx/envs" "$repo/"
sed -i "s/nginx-dev/$NS/g" "$repo/envs/dev/main.plumb"
mkdir -p "$repo/gitops"
app() { # app SELF_HEAL PROJECT_EXTRA [APPLICATION_EXTRA]
  cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app web = application(name: "nginx-dev", repo: "file://$repo", path: "envs/dev", project: "web",
                        automated: true, prune: true, self_heal: $1${3:-})
  app project = project(name: "web", cluster_kinds: ["Namespace"]$2)
}
EOP
}
app true ""
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "nginx in dev"

# ---- first sync ---------------------------------------------------------------
expect "first sync applies the app" 0 "nginx-dev: deployment.apps/nginx-deployment created" pass_once
cp "$work/out" "$work/pass"
expect "first sync reports Synced at the commit" 0 "^nginx-dev +Synced +$(cd "$repo" && git rev-parse --short=7 HEAD)" cat "$work/pass"
same "first sync: 1 replica" 1 replicas
expect "objects carry the application's mark" 0 "plumb.dev/application: nginx-dev" $K -n $NS get service nginx-service -o yaml
expect "a second pass changes nothing" 0 "^nginx-dev +Synced" pass_once
if grep -q "created\|configured" "$work/out"; then no "a second pass applies nothing"; else ok; fi

# ---- a commit is applied --------------------------------------------------------
sed -i 's/replicas: 1/replicas: 2/' "$repo/envs/dev/main.plumb"
commit "two replicas"
expect "a commit 1 -> 2 replicas is applied" 0 "nginx-dev: deployment.apps/nginx-deployment configured" pass_once
same "the cluster has 2 replicas" 2 replicas

# ---- drift ----------------------------------------------------------------------
$K -n $NS scale deployment nginx-deployment --replicas=5 >/dev/null
expect "self-heal reverts a manual scale" 0 "deployment.apps/nginx-deployment configured" pass_once
same "back to 2 replicas" 2 replicas
app false ""
commit "no self-heal"
pass_once >/dev/null 2>&1
$K -n $NS scale deployment nginx-deployment --replicas=5 >/dev/null
expect "without self-heal drift is OutOfSync" 1 "^nginx-dev +OutOfSync" pass_once
same "without self-heal the manual scale stays" 5 replicas
app true ""
commit "self-heal again"
pass_once >/dev/null 2>&1
same "self-heal on again: reverted" 2 replicas

# ---- a broken commit leaves the cluster alone ------------------------------------
sed -i 's/replicas: 2)/replicas: 3/' "$repo/envs/dev/main.plumb"
commit "a syntax error"
expect "a syntax error is reported with file:line:col" 1 "envs/dev/main.plumb:[0-9]+:[0-9]+: error" pass_once
cp "$work/out" "$work/pass"
expect "the status says Unknown" 0 "^nginx-dev +Unknown" cat "$work/pass"
same "a syntax error changes nothing in the cluster" 2 replicas
(cd "$repo" && git revert --no-edit HEAD >/dev/null)
expect "git revert of the broken commit syncs again" 0 "^nginx-dev +Synced" pass_once
same "after the revert: 2 replicas" 2 replicas

# ---- prune ------------------------------------------------------------------------
$K -n $NS create configmap by-hand --from-literal=k=v >/dev/null
cat >"$repo/envs/dev/main.plumb" <<EOP
import "../../apps/nginx.plumb"
env dev {
  namespace: "$NS"
  Namespace "$NS" {}
  app web = nginx(replicas: 2)
  ConfigMap "settings" { data: { mode: "fast" } }
}
EOP
commit "settings"
expect "a new object is created" 0 "configmap/settings created" pass_once
sed -i '/ConfigMap "settings"/d' "$repo/envs/dev/main.plumb"
commit "no settings"
expect "an object removed from git is pruned" 0 "configmap/settings pruned" pass_once
expect "a hand-made object of the same kind is left alone" 0 "by-hand" $K -n $NS get configmap by-hand

# ---- an empty build does not prune -----------------------------------------------------
printf 'env dev {}\n' >"$repo/envs/dev/main.plumb"
commit "empty"
expect "an empty build is refused" 1 "produced no resources" pass_once
expect "an empty build prunes nothing" 0 "nginx-deployment" $K -n $NS get deployment nginx-deployment
(cd "$repo" && git revert --no-edit HEAD >/dev/null)
pass_once >/dev/null 2>&1

# ---- projects -----------------------------------------------------------------------
app true ', deny_kinds: ["Service"]'
commit "services denied"
$K -n $NS scale deployment nginx-deployment --replicas=4 >/dev/null
expect "a project violation is refused" 1 "project web does not allow the kind Service" pass_once
same "a project violation applies nothing" 4 replicas
app true ""
commit "services allowed"

# ---- an application's args ------------------------------------------------------------
sed -i 's/^env dev {/env dev(replicas: int = 2) {/; s/nginx(replicas: 2)/nginx(replicas: replicas)/' "$repo/envs/dev/main.plumb"
app true "" ', args: { replicas: 3 }'
commit "replicas from the application's args"
expect "an application's args reach its env" 0 "deployment.apps/nginx-deployment configured" pass_once
same "args: 3 replicas" 3 replicas
expect "the history records the args" 0 '"args":\["replicas=3"\]' \
  $K get configmap plumb-history-nginx-dev -o jsonpath='{.data.history}'
(cd "$repo" && git revert --no-edit HEAD >/dev/null)
expect "without args the default" 0 "deployment.apps/nginx-deployment configured" pass_once
same "the default: 2 replicas" 2 replicas

# ---- sync waves ---------------------------------------------------------------------
# No pod runs here: the Deployment "db" passes its 1 s progress deadline and
# goes Degraded, and the wave after it never starts.
cat >"$repo/envs/dev/main.plumb" <<EOP
import "../../apps/nginx.plumb"
env dev {
  namespace: "$NS"
  Namespace "$NS" {}
  app web = nginx(replicas: 2)
  Deployment "db" {
    spec: {
      replicas: 1
      progressDeadlineSeconds: 1
      selector: { matchLabels: { app: "db" } }
      template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "db", image: "postgres" }] } }
    }
  }
  ConfigMap "after-db" { metadata: { annotations: { "plumb.dev/sync-wave": "1" } } }
}
EOP
commit "a database first"
expect "a Degraded wave stops the sync" 1 \
  'wave 0: deployment.apps/db is Degraded: Deployment "db" exceeded its progress deadline \(1 object of later waves not applied\)' pass_once
expect "the wave after it is not applied" 1 "not found" $K -n $NS get configmap after-db
(cd "$repo" && git revert --no-edit HEAD >/dev/null)
expect "without the waves it syncs again" 0 "^nginx-dev +Synced" pass_once

# ---- the destination's own schemas -------------------------------------------------
# A custom resource whose CRD the cluster has, not the build, is checked
# against the schema the cluster serves: a misspelt field fails the sync.
install_crd gitops.example.com Gadget gadgets
sed -i 's|^  app web = nginx(replicas: 2)$|&\n  Gadget "g" { apiVersion: "gitops.example.com/v1", spec: { sise: 1 } }|' "$repo/envs/dev/main.plumb"
commit "a gadget, misspelt"
expect "a custom resource is checked against the cluster's CRD" 1 \
  'envs/dev/main.plumb:6:67: error: unknown field "sise" in Gadget.spec; did you mean "size"\?' pass_once
expect "and nothing of it is applied" 1 "not found" $K -n $NS get gadgets.gitops.example.com g
sed -i 's/sise/size/' "$repo/envs/dev/main.plumb"
commit "a gadget"
expect "spelt right, it is applied" 0 "gadget.gitops.example.com/g created" pass_once

# ---- foreign objects ------------------------------------------------------------------
$K -n $NS delete service nginx-service >/dev/null
$K -n $NS create service clusterip nginx-service --tcp=80:80 >/dev/null
expect "an object made by hand is not taken over" 1 "service/nginx-service failed: exists and belongs to no Plumb application" pass_once
same "the hand-made object stays unmarked" "" $K -n $NS get service nginx-service -o jsonpath='{.metadata.labels.plumb\.dev/application}'

# ---- a kustomization as the source -------------------------------------------------------
# A path with a kustomization.yaml and no .plumb files is built as `kubectl
# kustomize` builds it, by plumb itself.
KNS=gitops-kust
mkdir -p "$repo/kust/base" "$repo/kust/dev" "$repo/gitops-kust"
cat >"$repo/kust/base/kustomization.yaml" <<EOP
resources: [web.yaml]
configMapGenerator:
- name: web-config
  literals: [MODE=fast]
EOP
cat >"$repo/kust/base/web.yaml" <<EOP
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: nginx:1.27, envFrom: [{configMapRef: {name: web-config}}]}
EOP
printf 'resources: [../base, namespace.yaml]\nnamespace: %s\nnamePrefix: dev-\n' "$KNS" >"$repo/kust/dev/kustomization.yaml"
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$KNS" >"$repo/kust/dev/namespace.yaml"
cat >"$repo/gitops-kust/main.plumb" <<EOP
import "std/gitops"
env apps {
  app k = application(name: "kust-dev", repo: "file://$repo", path: "kust/dev", project: "kust",
                      automated: true, prune: true, self_heal: true)
  app project = project(name: "kust", cluster_kinds: ["Namespace"])
}
EOP
commit "a kustomization"
kust_pass() { $PLUMB run "file://$repo" --config-path gitops-kust --cache "$work/cache" --once --context admin; }
kust_replicas() { $K -n $KNS get deployment dev-web -o jsonpath='{.spec.replicas}'; }
expect "a kustomization path is built and applied" 0 "kust-dev: deployment.apps/dev-web created" kust_pass
expect "its generated ConfigMap has the content hash in its name" 0 "dev-web-config-[a-z0-9]{10}" \
  $K -n $KNS get deployment dev-web -o jsonpath='{.spec.template.spec.containers[0].envFrom[0].configMapRef.name}'
sed -i 's/replicas: 1/replicas: 2/' "$repo/kust/base/web.yaml"
commit "two replicas in the kustomization's base"
expect "a commit to the kustomization's base is applied" 0 "deployment.apps/dev-web configured" kust_pass
same "the kustomization's Deployment has 2 replicas" 2 kust_replicas
$K delete namespace $KNS --wait=false >/dev/null 2>&1

# ---- a directory of plain YAML as the source -------------------------------------------
# A path with no .plumb files and no kustomization is read as Argo CD reads
# a directory source: the walk-through of its docs (nginx_deploy.yaml, a
# Deployment and a Service), with no Plumb file.
YNS=gitops-yaml
mkdir -p "$repo/plain/extra" "$repo/gitops-yaml"
# The nginx example's own build, as the YAML a repository would hold.
$PLUMB build "$ROOT/examples/nginx/envs/dev" | sed "s/nginx-dev/$YNS/g" >"$repo/plain/nginx_deploy.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: %s}\n' "$YNS" >"$repo/plain/extra/settings.yaml"
yaml_app() { # yaml_app [APPLICATION_EXTRA]
  cat >"$repo/gitops-yaml/main.plumb" <<EOP
import "std/gitops"
env apps {
  app y = application(name: "yaml-dev", repo: "file://$repo", path: "plain", project: "yaml",
                      automated: true, prune: true, self_heal: true${1:-})
  app project = project(name: "yaml", cluster_kinds: ["Namespace"])
}
EOP
}
yaml_app
commit "plain YAML"
yaml_pass() { $PLUMB run "file://$repo" --config-path gitops-yaml --cache "$work/cache" --once --context admin; }
yaml_replicas() { $K -n $YNS get deployment nginx-deployment -o jsonpath='{.spec.replicas}'; }
expect "a directory of plain YAML is built and applied" 0 "yaml-dev: deployment.apps/nginx-deployment created" yaml_pass
expect "its subdirectory is not read without recurse" 1 "not found" $K -n $YNS get configmap settings
sed -i 's/replicas: 1/replicas: 2/' "$repo/plain/nginx_deploy.yaml"
commit "two replicas in the YAML"
expect "a commit 1 -> 2 replicas in the YAML is applied" 0 "deployment.apps/nginx-deployment configured" yaml_pass
same "the YAML's Deployment has 2 replicas" 2 yaml_replicas
yaml_app ', directory: { recurse: true }'
commit "recurse"
expect "directory: { recurse: true } reads the subdirectory" 0 "configmap/settings created" yaml_pass
yaml_app ', directory: { recurse: true, exclude: "extra/*" }'
commit "extra excluded"
expect "what exclude leaves out is pruned" 0 "configmap/settings pruned" yaml_pass
$K delete namespace $YNS --wait=false >/dev/null 2>&1

$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "gitops: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
