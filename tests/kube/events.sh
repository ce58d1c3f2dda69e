#!/bin/sh
# Kubernetes events about applications, against a real control plane:
# plumb run tells on each application's Application object (the mirror of
# the config's) its syncs, a failure, health changes, drift undone, a
# prune and a rollback, so that kubectl describe shows them; a failure
# repeated is one event counted up, not many. Usage: events.sh PLUMB
# CLUSTER_DIR. Last line: "events: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
cd "$ROOT"
repo=$work/deploy
NS=events-test
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

# events REASON: the messages of the app's events of that reason, a line each.
events() {
  $K -n $NS get events --field-selector "involvedObject.kind=Application,involvedObject.name=ev,reason=$1" \
    -o jsonpath='{range .items[*]}{.message}{"\n"}{end}'
}
told() { events "$1" | grep -Eq -- "$2"; } # told REASON PATTERN
data() { $K -n $NS get configmap "$1" -o jsonpath='{.data.v}'; }
env_of() { # env_of LINES: the application's env
  mkdir -p "$repo/ev"
  printf 'env ev {\n%s\n}\n' "$1" >"$repo/ev/main.plumb"
}
web='  Deployment "web" {
    spec: {
      replicas: 1
      selector: { matchLabels: { app: "web" } }
      template: {
        metadata: { labels: { app: "web" } }
        spec: {
          tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }]
          containers: [{ name: "web", image: "nginx:1.27" }]
        }
      }
    }
  }'

install_plumb_crds
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
$K create namespace $NS >/dev/null
$K delete configmap plumb-history-ev --ignore-not-found >/dev/null

mkdir -p "$repo/gitops"
cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app ev = application(name: "ev", repo: "file://$repo", path: "ev", namespace: "$NS", automated: true, prune: true,
                       self_heal: true, interval: "2s")
}
EOP
env_of "  ConfigMap \"a\" { data: { v: \"1\" } }
  ConfigMap \"b\" { data: { v: \"1\" } }
$web"
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "a, b and web"
first=$(cd "$repo" && git rev-parse --short=7 HEAD)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/token"
serving "$repo" --app-namespace $NS

if eventually told SyncStarted "syncing 3 objects at $first to in-cluster"; then ok; else no "a sync's start is an event"; fi
if eventually told Synced "synced $first: "; then ok; else no "and its end, naming what changed"; fi
uid=$($K -n $NS get applications.plumb.dev ev -o jsonpath='{.metadata.uid}')
expect "the events are on the Application object, by its uid" 0 "^$uid$" \
  $K -n $NS get events --field-selector involvedObject.name=ev -o jsonpath='{.items[0].involvedObject.uid}'
expect "kubectl describe shows them" 0 "Normal +Synced .*synced $first" $K -n $NS describe applications.plumb.dev ev

$K -n $NS patch configmap a -p '{"data":{"v":"2"}}' >/dev/null
if eventually told DriftReverted "undid changes made in the cluster to configmap/a"; then ok
else no "drift undone by self-heal is an event"; fi
same "and the change is undone" 1 data a

env_of "  ConfigMap \"a\" { data: { v: \"1\" } }
$web"
commit "b leaves"
if eventually told Pruned "pruned configmap/b"; then ok; else no "a prune is an event"; fi

# Pods that cannot run (no toleration of the node's taint), then can.
env_of "  ConfigMap \"a\" { data: { v: \"1\" } }
$(echo "$web" | grep -v tolerations)"
commit "web cannot run"
if eventually told HealthChanged "health Healthy -> Progressing"; then ok; else no "a change of health is an event"; fi
env_of "  ConfigMap \"a\" { data: { v: \"1\" } }
$web"
commit "web can run again"
if eventually told HealthChanged "health Progressing -> Healthy"; then ok; else no "and its way back"; fi

# A ConfigMap made by hand: the application may not take it, and each
# retry fails the same way.
$K -n $NS create configmap taken --from-literal=v=1 >/dev/null
env_of "  ConfigMap \"a\" { data: { v: \"1\" } }
  ConfigMap \"taken\" { data: { v: \"1\" } }
$web"
commit "taken"
if eventually told SyncFailed "failed: .*configmap/taken"; then ok; else no "a failed sync is a Warning event"; fi
expect "of type Warning" 0 "^Warning$" $K -n $NS get events \
  --field-selector involvedObject.name=ev,reason=SyncFailed -o jsonpath='{.items[0].type}'
count() { $K -n $NS get events --field-selector involvedObject.name=ev,reason=SyncFailed -o jsonpath='{.items[0].count}'; }
above1() { [ "$(count)" -gt 1 ]; }
if eventually above1; then ok; else no "the same failure again raises the event's count"; fi
failures() { events SyncFailed | wc -l | tr -d ' '; }
same "rather than writing another" 1 failures

$K -n $NS delete configmap taken >/dev/null
env_of "  ConfigMap \"a\" { data: { v: \"1\" } }
$web"
commit "taken leaves"
now_synced() { p status | grep -Eq "^ev +Synced +[A-Za-z]+ +$(cd "$repo" && git rev-parse --short=7 HEAD)"; }
if eventually now_synced; then ok; else no "Synced again (nothing to apply: no sync, no event)"; fi
expect "a rollback to the first commit" 0 "" p rollback ev
if eventually told RolledBack "rolled back to history entry [0-9]+, [0-9a-f]{7}"; then ok; else no "a rollback is an event"; fi

[ $fail = 0 ] || { $K -n $NS get events; grep "^ev: " "$work/run.log" | tail -40; }
stop_runtime "$pid" "$work/run.log"
pid=
$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "events: $pass passed, $fail failed"
