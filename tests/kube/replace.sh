#!/bin/sh
# Sync options of an application and of its objects, against a real
# control plane: a change to a field that cannot change (a Deployment's
# selector, a Job's template) is refused, saying how to opt in; with
# Recreate=true on the object or the application the object is deleted
# and created anew, the log and the history saying so; CreateNamespace=true
# makes the destination namespace; Prune=false keeps an object that left
# git; a kind the server does not serve refuses the sync unless
# SkipDryRunOnMissingResource=true; field_manager names the manager of an
# application's applies. Usage: replace.sh PLUMB CLUSTER_DIR. Last line: "replace: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
NS=replace-test
pass_once() { $PLUMB run "file://$repo" --config-path gitops --cache "$work/cache" --once --context admin; }
uid() { $K -n $NS get "$1" -o jsonpath='{.metadata.uid}'; }

web() { # web SELECTOR [ANNOTATION]: a Deployment whose selector is app=SELECTOR
  cat >"$repo/web/main.plumb" <<EOP
env web {
  Deployment "web" {
    metadata: { annotations: { ${2:-} } }
    spec: {
      selector: { matchLabels: { app: "$1" } }
      template: { metadata: { labels: { app: "$1" } }, spec: { containers: [{ name: "web", image: "nginx:1.27" }] } }
    }
  }
  ConfigMap "kept" { metadata: { annotations: { "plumb.dev/sync-options": "Prune=false" } }, data: { v: "1" } }
}
EOP
}
job() { # job COMMAND
  cat >"$repo/jobs/main.plumb" <<EOP
env jobs {
  Job "migrate" {
    spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "m", image: "busybox", command: ["$1"] }] } } }
  }
}
EOP
}
mkdir -p "$repo/web" "$repo/jobs" "$repo/gitops"
web v1
job true
cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app web = application(name: "web", repo: "file://$repo", path: "web", namespace: "$NS", automated: true, prune: true,
                        sync_options: ["CreateNamespace=true"], namespace_metadata: { labels: { team: "shop" } })
  app jobs = application(name: "jobs", repo: "file://$repo", path: "jobs", namespace: "$NS", automated: true,
                         sync_options: ["Recreate=true", "CreateNamespace=true"])
}
EOP
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "web and a job"
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
for a in web jobs; do $K delete configmap "plumb-history-$a" --ignore-not-found >/dev/null; done

expect "CreateNamespace=true makes the destination namespace, and the sync goes ahead" 0 \
  "web: deployment.apps/web created" pass_once
same "with the labels managedNamespaceMetadata gives" shop sh -c "$K get namespace $NS -o jsonpath='{.metadata.labels.team}'"
before=$(uid deployment/web)
web v2
commit "web: another selector"
expect "a selector that changed is refused, saying which field and how to opt in" 1 \
  "spec.selector.*field is immutable" pass_once
cp "$work/out" "$work/refused"
expect "the message names Recreate=true" 0 "the sync option Recreate=true" cat "$work/refused"
same "and the Deployment is the one it was" "$before" uid deployment/web
web v2 '"plumb.dev/sync-options": "Recreate=true"'
commit "web: Recreate=true"
expect "Recreate=true on the object: deleted and created anew" 0 \
  "web: deployment.apps/web replaced \(deleted and created anew: a field that cannot change had changed\)" pass_once
after=$(uid deployment/web)
expect "it is another object" 1 "" test "$before" = "$after"
same "with the new selector" v2 sh -c "$K -n $NS get deployment web -o jsonpath='{.spec.selector.matchLabels.app}'"
web v3 '"argocd.argoproj.io/sync-options": "Force=true,Replace=true"'
commit "web: Argo CD's Force=true"
expect "Argo CD's Force=true on the object means the same" 0 "web: deployment.apps/web replaced" pass_once
same "with that selector" v3 sh -c "$K -n $NS get deployment web -o jsonpath='{.spec.selector.matchLabels.app}'"
expect "the history says so" 0 "replaced" $K get configmap plumb-history-web -o jsonpath='{.data}'
job false
commit "jobs: another command"
expect "Recreate=true on the application: a Job's template recreated" 0 "jobs: job.batch/migrate replaced" pass_once
cat >"$repo/web/main.plumb" <<'EOP'
env web {
  ConfigMap "other" { data: { v: "1" } }
}
EOP
commit "web: only another ConfigMap"
expect "Prune=false keeps an object that left git, saying so" 0 \
  "web: configmap/kept not pruned \(its sync options say Prune=false\)" pass_once
expect "it is still there" 0 "" $K -n $NS get configmap kept
expect "what has no such option is pruned" 1 "" $K -n $NS get deployment web

# A custom resource whose CRD an operator installs later: refused before
# anything is applied, as Argo CD's dry run refuses it, unless its sync
# options say SkipDryRunOnMissingResource=true.
operator() { # operator [ANNOTATION]
  mkdir -p "$repo/operator"
  cat >"$repo/operator/main.plumb" <<EOP
env operator {
  ConfigMap "operator-config" { data: { v: "1" } }
  Gizmo "g" { apiVersion: "skip.example.com/v1", metadata: { annotations: { ${1:-} } }, spec: { size: 1 } }
}
EOP
}
operator
sed -i '$d' "$repo/gitops/main.plumb"
cat >>"$repo/gitops/main.plumb" <<EOP
  app operator = application(name: "operator", repo: "file://$repo", path: "operator", namespace: "$NS", automated: true)
}
EOP
commit "operator: a Gizmo, whose CRD is not installed"
$K delete configmap plumb-history-operator --ignore-not-found >/dev/null
expect "a kind the server does not serve, without its CRD in the build, refuses the sync" 1 \
  'operator/main.plumb:3:3: Gizmo "g": the server does not serve kind Gizmo in skip.example.com/v1, and the build has no CRD for it \(the sync option SkipDryRunOnMissingResource=true' \
  pass_once
expect "before anything is applied" 1 "" $K -n $NS get configmap operator-config
operator '"argocd.argoproj.io/sync-options": "SkipDryRunOnMissingResource=true"'
commit "operator: SkipDryRunOnMissingResource=true"
expect "SkipDryRunOnMissingResource=true lets the sync go on: the Gizmo alone fails" 1 \
  "operator: gizmo.skip.example.com/g failed: .*does not serve kind Gizmo" pass_once
cp "$work/out" "$work/skipped"
expect "and the rest is applied" 0 "operator: configmap/operator-config created" cat "$work/skipped"
install_crd skip.example.com Gizmo gizmos
# (web stays OutOfSync: its object kept by Prune=false is no longer in git.)
expect "once the CRD is there, the next sync applies it" 1 "operator: gizmo.skip.example.com/g created" pass_once
cp "$work/out" "$work/applied"
expect "and the application is Synced" 0 "^operator +Synced" cat "$work/applied"

# field_manager: its applies are that manager's, as kubectl's
# --field-manager; a change by hand is still undone. (Whether web, whose
# object Prune=false kept, shows Synced is not this part's business.)
pass_any() { pass_once; true; }
mkdir -p "$repo/team"
printf 'env team {\n  ConfigMap "team" { data: { v: "1" } }\n}\n' >"$repo/team/main.plumb"
sed -i '$d' "$repo/gitops/main.plumb"
cat >>"$repo/gitops/main.plumb" <<EOP
  app team = application(name: "team", repo: "file://$repo", path: "team", namespace: "$NS", automated: true,
                         self_heal: true, field_manager: "team-shop")
}
EOP
commit "team: its own field manager"
$K delete configmap plumb-history-team --ignore-not-found >/dev/null
expect "an application with a field manager of its own applies" 0 "team: configmap/team created" pass_any
managers() { $K -n $NS get configmap team -o jsonpath='{range .metadata.managedFields[*]}{.manager}/{.operation} {end}'; }
same "as that manager, by server-side apply" "team-shop/Apply " managers
absent "the next pass applies nothing" "team: configmap" pass_any
cp "$work/out" "$work/team"
expect "it finds it Synced" 0 "^team +Synced" cat "$work/team"
$K -n $NS patch configmap team -p '{"data":{"v":"2"}}' >/dev/null
expect "a change by hand is undone" 0 "team: configmap/team configured" pass_any
same "to git's value" 1 $K -n $NS get configmap team -o jsonpath='{.data.v}'
sed -i 's/field_manager: "team-shop"/field_manager: "bad\\nname"/' "$repo/gitops/main.plumb"
commit "team: a field manager the server would refuse"
expect "a field manager the API server would refuse is refused where it is written" 1 \
  "gitops/main.plumb:[0-9]+:[0-9]+: error: application team: field_manager must be 1 to 128 printable ASCII characters" \
  pass_once
sed -i 's/field_manager: "bad\\nname"/field_manager: "team-shop"/' "$repo/gitops/main.plumb"
commit "team: its field manager again"
sed -i 's/"CreateNamespace=true"/"Recreat=true"/' "$repo/gitops/main.plumb"
commit "a sync option misspelled"
expect "an unknown sync option is refused where it is written" 1 \
  "gitops/main.plumb:[0-9]+:[0-9]+: error: application web: unknown sync option \"Recreat=true\"" pass_once

$K delete namespace $NS --wait=false >/dev/null 2>&1
$K delete crd gizmos.skip.example.com --wait=false >/dev/null 2>&1
echo "replace: $pass passed, $fail failed"
