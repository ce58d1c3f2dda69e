#!/bin/sh
# The runtime's own manifests (deploy/plumb-system) on a real control plane:
# they apply, and the rights they grant are enough for plumb run and no
# more. plumb run goes as the ServiceAccount they make, with a token the API
# server issues for it, from a kubeconfig and then from inside the image
# (deploy/image.sh) as the Deployment runs it. Usage: deploy.sh PLUMB CLUSTER_DIR.
# Last line: "deploy: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
cd "$ROOT"
SA=system:serviceaccount:plumb-system:plumb
repo=$work/config

expect "the runtime's manifests apply" 0 "^deployment.apps/plumb created$" $PLUMB apply deploy/plumb-system
expect "and match the cluster right after" 0 "" $PLUMB diff deploy/plumb-system
expect "the Deployment runs plumb run" 0 "^run --config-path" \
  $K -n plumb-system get deployment plumb -o jsonpath='{.spec.template.spec.containers[0].args[0]} {.spec.template.spec.containers[0].args[2]}'

expect "its CRDs are established" 0 "condition met" \
  $K wait --for condition=Established crd/applications.plumb.dev crd/projects.plumb.dev --timeout 30s
expect "kubectl get applications.plumb.dev has the UI's columns" 0 "^NAME +SYNC +HEALTH +COMMIT +AGE$" \
  sh -c "$K -n plumb-system apply -f - >/dev/null <<YAML && $K -n plumb-system get papp
apiVersion: plumb.dev/v1
kind: Application
metadata: {name: columns}
spec: {source: {repo: https://git.example.com/a.git}}
YAML"
expect "an Application gets std/gitops's defaults" 0 "^default HEAD \. in-cluster false 3m$" $K -n plumb-system get papp columns \
  -o jsonpath='{.spec.project} {.spec.source.revision} {.spec.source.path} {.spec.destination.cluster} {.spec.sync.prune} {.spec.sync.interval}'
expect "a Project too" 0 '^\["\*"\] \[\{"cluster":"\*","namespace":"\*"\}\]$' sh -c \
  "printf 'apiVersion: plumb.dev/v1\nkind: Project\nmetadata: {name: p}\nspec: {}\n' | $K -n plumb-system apply --dry-run=server -o jsonpath='{.spec.sourceRepos} {.spec.destinations}' -f -"
expect "an interval std/gitops refuses is refused" 1 "spec.sync.interval: Invalid value" sh -c \
  "printf 'apiVersion: plumb.dev/v1\nkind: Application\nmetadata: {name: i}\nspec: {source: {repo: r}, sync: {interval: soon}}\n' | $K -n plumb-system apply -f -"
$K -n plumb-system delete papp columns >/dev/null

# can NAME WANT VERB RESOURCE [NAMESPACE]: what RBAC lets the runtime do
can() { expect "$1" "$([ "$2" = yes ] && echo 0 || echo 1)" "^$2$" $K auth can-i --as $SA "$3" "$4" ${5:+-n "$5"}; }
can "it reads any kind anywhere" yes list ingresses.networking.k8s.io kube-system
can "it applies workloads" yes patch deployments.apps shop
can "it creates namespaces" yes create namespaces
can "it prunes" yes delete services shop
can "it may not write RBAC" no create rolebindings.rbac.authorization.k8s.io shop
can "it may not write kinds outside manage" no create limitranges shop
can "it reads git credentials and cluster Secrets in its namespace" yes get secrets plumb-system
can "it makes admin's first password in its namespace" yes create secrets plumb-system
can "it writes its history" yes patch configmaps plumb-system
can "it takes the Lease" yes update leases.coordination.k8s.io plumb-system
can "it may not change Leases elsewhere" no update leases.coordination.k8s.io kube-system
can "it reads Application objects" yes watch applications.plumb.dev plumb-system
can "and Project objects" yes list projects.plumb.dev plumb-system
can "it mirrors the config's applications" yes create applications.plumb.dev plumb-system
can "it deletes mirrors" yes delete applications.plumb.dev plumb-system
can "it may not write Application objects elsewhere" no create applications.plumb.dev default
can "it may not write Project objects" no patch projects.plumb.dev plumb-system
can "it writes events about applications" yes create events plumb-system
can "and counts them up" yes patch events plumb-system
expect "it writes their status" 0 "^yes$" $K auth can-i --as $SA patch applications.plumb.dev --subresource status -n plumb-system

# plumb run as the ServiceAccount, from a kubeconfig holding its token.
$K -n plumb-system create token plumb --duration 1h >"$work/token"
cat >"$work/plumb.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$PLUMB_TEST_SERVER", certificate-authority: "$PLUMB_TEST_CA"}}]
users: [{name: plumb, user: {tokenFile: "$work/token"}}]
contexts: [{name: plumb, context: {cluster: c, user: plumb, namespace: plumb-system}}]
current-context: plumb
EOF
mkdir -p "$repo/gitops"
cp -r examples/nginx/apps examples/nginx/envs "$repo/"
sed -i "s/nginx-dev/deploy-dev/g" "$repo/envs/dev/main.plumb"
cat >"$repo/gitops/main.plumb" <<EOF
import "std/gitops"
env apps {
  app nginx = application(name: "nginx", repo: "file://$repo", path: "envs/dev", automated: true, prune: true,
                          self_heal: true, project: "web")
  app web = project(name: "web", cluster_kinds: ["Namespace"])
}
EOF
(cd "$repo" && git init -q -b main && git add -A && git -c user.email=t@example.com -c user.name=t commit -qm nginx)
pass_once() { $PLUMB run "file://$repo" --config-path gitops --cache "$work/cache" --once --kubeconfig "$work/plumb.kubeconfig"; }

expect "as its ServiceAccount, plumb run syncs an application" 0 "^nginx +Synced" pass_once
expect "and records the sync in its namespace" 0 "Synced" \
  $K -n plumb-system get configmap plumb-history-nginx -o jsonpath='{.data.history}'

# The image (deploy/image.sh, tests/image) runs plumb run as the Deployment
# does: the Deployment's args (the repository and the ports aside), as
# 65532 on a read-only root, with the cache an emptyDir, and in-cluster
# configuration only: the ServiceAccount's token, the cluster's CA and the
# namespace where Kubernetes mounts them, the API server in
# KUBERNETES_SERVICE_HOST and _PORT. It takes the Lease and puts back an
# object deleted by hand. Needs root, as tests/image does.
$K -n plumb-system get deployment plumb -o jsonpath='{range .spec.template.spec.containers[0].args[*]}{@}{"\n"}{end}' |
  awk -v repo="file://$repo" 'NR == 2 { print repo; next } p == "--listen" || p == "--probe-listen" { $0 = "127.0.0.1:0" } { print; p = $0 }' \
  >"$work/image.args"
# arg FLAG: the value the Deployment gives it
arg() { sed -n "/^$1\$/{n;p;q}" "$work/image.args"; }
if [ "$(id -u)" != 0 ]; then
  echo "the image's checks: skipped (the image is built and run as root)"
elif [ -z "$(arg --cache)" ] || [ -z "$(arg --token-file)" ] || [ -z "$(arg --webhook-secret-file)" ]; then
  cp "$work/image.args" "$work/out"; no "the Deployment's arguments name the cache, the token and the webhook's secret"
elif ! { . "$ROOT/tests/image/lib.sh" && image_unpack "$work/image" >"$work/out" 2>&1; }; then
  no "the image unpacks"
else
  ok
  mkdir -p "$work/sa" "$work/api" "$work/webhook"
  cp "$work/token" "$work/sa/token"
  cp "$PLUMB_TEST_CA" "$work/sa/ca.crt"
  echo plumb-system >"$work/sa/namespace"
  echo image-api-token >"$work/api/$(basename "$(arg --token-file)")"
  echo image-webhook-secret >"$work/webhook/$(basename "$(arg --webhook-secret-file)")"
  # The repository, at the same path, the user's: libgit2 opens no other.
  cp -a "$repo" "$work/image-repo" && chown -R 65532:65532 "$work/image-repo"
  IMAGE_PIDFILE="$work/image.pid" IMAGE_MOUNTS="tmpfs:$(arg --cache)
    $work/sa:/var/run/secrets/kubernetes.io/serviceaccount $work/api:$(dirname "$(arg --token-file)")
    $work/webhook:$(dirname "$(arg --webhook-secret-file)") $work/image-repo:$repo" \
  IMAGE_ENV="KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$PLUMB_TEST_API_PORT" \
    image_run "$work/image" $(cat "$work/image.args") >"$work/image.log" 2>&1 &
  image_sh=$!
  $K -n deploy-dev delete deployment nginx-deployment --wait=false >/dev/null
  probes() { sed -n 's/.*serving the probes on port \([0-9]*\).*/\1/p' "$work/image.log"; }
  ready() { [ -n "$(probes)" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(probes)/readyz")" = 200 ]; }
  if eventually ready; then ok; else cp "$work/image.log" "$work/out"; no "plumb run in the image becomes ready"; fi
  candidate=$(sed -n 's/.*candidate \(.*\) for the Lease.*/\1/p' "$work/image.log")
  expect "it holds the Lease" 0 "^$candidate\$" $K -n plumb-system get lease plumb-leader -o jsonpath='{.spec.holderIdentity}'
  if eventually grep -q "deployment.apps/nginx-deployment created" "$work/image.log" &&
    $K -n deploy-dev get deployment nginx-deployment >/dev/null; then ok; else
    cp "$work/image.log" "$work/out"; no "it puts back the Deployment deleted by hand"; fi
  kill "$(cat "$work/image.pid")" 2>/dev/null
  wait "$image_sh"
  same "it stops on SIGTERM, giving the Lease up" "" $K -n plumb-system get lease plumb-leader -o jsonpath='{.spec.holderIdentity}'
fi

# A kind outside the write rules is refused by the API server, not by Plumb.
cat >"$repo/envs/dev/main.plumb" <<EOF
import "../../apps/nginx.plumb"
env dev {
  namespace: "deploy-dev"
  Namespace "deploy-dev" {}
  app web = nginx()
  Role "reader" { rules: [] }
}
EOF
(cd "$repo" && git -c user.email=t@example.com -c user.name=t commit -qam "a Role")
expect "an application's RBAC is beyond it" 1 'role.rbac.authorization.k8s.io/reader failed: forbidden: .*cannot [a-z]+ resource "roles"' pass_once

$K delete namespace deploy-dev plumb-system --wait=false >/dev/null 2>&1
echo "deploy: $pass passed, $fail failed"
