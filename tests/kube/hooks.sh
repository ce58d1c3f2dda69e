#!/bin/sh
# Sync phases and hooks, as Argo CD runs them, against a real control
# plane whose Pods run and whose Jobs complete (kwok): a PreSync Job runs
# to completion before the application's objects are applied, a PostSync
# Job after; hooks are not compared, pruned or counted in its health; a
# PreSync hook that fails stops the sync before anything else changes and
# runs the SyncFail hooks; delete policies. Usage: hooks.sh PLUMB CLUSTER_DIR.
# Last line: "hooks: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
NS=hooks-test
pass_once() { $PLUMB run "file://$repo" --config-path gitops --cache "$work/cache" --once --context admin; }
data() { $K -n $NS get configmap web -o jsonpath='{.data.v}'; }
line() { grep -n -- "$1" "$work/first" | head -1 | cut -d: -f1; }

# shop V PRESYNC: the app, its ConfigMap holding V; PRESYNC "ok" runs a
# Job that completes, "fails" one that cannot be scheduled and gives up.
shop() {
  tol='tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }]'
  deadline=""
  [ "$2" = fails ] && tol="" && deadline="activeDeadlineSeconds: 2, backoffLimit: 0"
  cat >"$repo/shop/main.plumb" <<EOP
env shop {
  ConfigMap "web" { data: { v: "$1" } }
  Job "migrate" {
    metadata: { annotations: { "plumb.dev/hook": "PreSync", "plumb.dev/hook-delete-policy": "HookSucceeded" } }
    spec: { $deadline
      template: { spec: { restartPolicy: "Never", $tol, containers: [{ name: "m", image: "busybox" }] } } }
  }
  Job "smoke" {
    metadata: { annotations: { "argocd.argoproj.io/hook": "PostSync" } }
    spec: { template: { spec: { restartPolicy: "Never", $tol, containers: [{ name: "s", image: "busybox" }] } } }
  }
  ConfigMap "sync-failed" {
    metadata: { annotations: { "plumb.dev/hook": "SyncFail" } }
    data: { v: "$1" }
  }
}
EOP
}
mkdir -p "$repo/shop" "$repo/gitops"
shop 1 ok
cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app shop = application(name: "shop", repo: "file://$repo", path: "shop", namespace: "$NS", automated: true,
                         prune: true, sync_options: ["CreateNamespace=true"])
}
EOP
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "shop with hooks"
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
$K delete configmap plumb-history-shop --ignore-not-found >/dev/null

expect "a sync with hooks is Synced" 0 "^shop +Synced" pass_once
cp "$work/out" "$work/first"
pre=$(line "shop: job.batch/migrate created (PreSync hook)") obj=$(line "shop: configmap/web created") \
  post=$(line "shop: job.batch/smoke created (PostSync hook)")
expect "the PreSync hook runs first, then the objects, then the PostSync hook (Argo CD's annotation)" 0 "" \
  test -n "$pre" -a -n "$obj" -a -n "$post" -a "${pre:-0}" -lt "${obj:-0}" -a "${obj:-0}" -lt "${post:-0}"
# (Deleted only once it succeeded: the phase waited for it.)
expect "HookSucceeded: the PreSync Job is gone once it succeeded" 1 "NotFound" $K -n $NS get job migrate
expect "the PostSync Job stays (BeforeHookCreation, the default)" 0 "smoke" $K -n $NS get job smoke
expect "the SyncFail hook did not run" 1 "NotFound" $K -n $NS get configmap sync-failed
expect "the history names the hooks and their phases" 0 "created \(PreSync hook\)" \
  $K get configmap plumb-history-shop -o jsonpath='{.data}'
expect "hooks are not compared or pruned: the next pass has nothing to do" 0 "^shop +Synced" pass_once
absent "and applies nothing" "shop: syncing" cat "$work/out"
expect "the PostSync Job is still there, not pruned" 0 "smoke" $K -n $NS get job smoke

shop 2 fails
commit "shop 2, with a migration that cannot run"
expect "a PreSync hook that fails stops the sync, saying why" 1 "^shop +OutOfSync +[0-9a-f]+ +PreSync hook failed" pass_once
same "nothing of the application changed" 1 data
expect "the SyncFail hook ran" 0 "" $K -n $NS get configmap sync-failed

$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "hooks: $pass passed, $fail failed"
