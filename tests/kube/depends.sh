#!/bin/sh
# Dependencies between applications, as Flux's dependsOn, against a real
# control plane whose Pods run (kwok): web depends on db, whose Deployment
# cannot be scheduled at first (it does not tolerate the kwok node's
# taint); web's automated sync waits, saying why, until db is Synced and
# Healthy, then goes ahead in the same run. A circle of dependencies is
# refused where it is written. An app of apps orders its children by their
# sync waves. Usage: depends.sh PLUMB CLUSTER_DIR. Last line: "depends: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
NS=depends-test
pass_once() { $PLUMB run "file://$repo" --config-path gitops --cache "$work/cache" --once --context admin; }
exists() { $K -n $NS get configmap "$1" >/dev/null 2>&1; }

# db: a Deployment that runs only when it tolerates the node's taint.
db() { # db TOLERATE(yes|no)
  mkdir -p "$repo/db"
  tol=""
  [ "$1" = yes ] && tol='tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }]'
  cat >"$repo/db/main.plumb" <<EOP
env db {
  Deployment "db" {
    spec: {
      replicas: 1
      selector: { matchLabels: { app: "db" } }
      template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "db", image: "postgres:16" }], $tol } }
    }
  }
}
EOP
}
db no
mkdir -p "$repo/web" "$repo/kids" "$repo/gitops"
printf 'env web {\n  ConfigMap "web" { data: { v: "1" } }\n}\n' >"$repo/web/main.plumb"
# The root's children: first, a Deployment that cannot be scheduled (as
# db's at first), and second, a ConfigMap.
mkdir -p "$repo/kids/first" "$repo/kids/second" "$repo/root"
sed 's/"db"/"first"/g' "$repo/db/main.plumb" >"$repo/kids/first/main.plumb"
printf 'env second {\n  ConfigMap "second" { data: { v: "1" } }\n}\n' >"$repo/kids/second/main.plumb"
# Declared as plain YAML Applications: the second in wave 1, the first in
# wave 0.
for k in first second; do
  wave=0; [ $k = second ] && wave=1
  cat >"$repo/root/$k.yaml" <<EOY
apiVersion: plumb.dev/v1
kind: Application
metadata:
  name: kid-$k
  annotations: { plumb.dev/sync-wave: "$wave" }
spec:
  source: { repo: "file://$repo", path: "kids/$k" }
  destination: { namespace: "$NS" }
  sync: { automated: true }
EOY
done
config() { # config EXTRA_LINE
  cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app db = application(name: "db", repo: "file://$repo", path: "db", namespace: "$NS", automated: true)
  app web = application(name: "web", repo: "file://$repo", path: "web", namespace: "$NS", automated: true,
                        depends_on: ["db"])
  app root = application(name: "root", repo: "file://$repo", path: "root", namespace: "$NS", automated: true)
$1
}
EOP
}
config ""
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "db, web, root"
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
$K create namespace $NS >/dev/null
for a in db web root kid-first kid-second; do $K delete configmap "plumb-history-$a" --ignore-not-found >/dev/null; done

expect "db syncs; web, which depends on it, waits while db is not Healthy, and says why" 1 \
  "^web +OutOfSync +[0-9a-f]+ +waiting for db \(Synced, Progressing\)" pass_once
cp "$work/out" "$work/first"
expect "db's Deployment is applied" 0 "db: deployment.apps/db created" cat "$work/first"
expect "web's ConfigMap is not" 1 "" exists web
absent "nothing of web is applied" "web: syncing" cat "$work/first"
db yes
commit "db runs"
pass_once >/dev/null 2>&1
eventually sh -c "$K -n $NS get deployment db -o jsonpath='{.status.availableReplicas}' | grep -qx 1"
# (kid-second still waits: the run exits 1.)
expect "once db is Synced and Healthy, web syncs in the same run" 1 "web: configmap/web created" pass_once
cp "$work/out" "$work/second"
expect "and is Synced" 0 "^web +Synced" cat "$work/second"

# ---- an app of apps orders its children by wave -----------------------------------------
expect "a child of wave 1 waits for its sibling of wave 0 while that is not Healthy" 0 \
  "^kid-second +OutOfSync +[0-9a-f]+ +waiting for kid-first \(Synced, Progressing\)" cat "$work/second"
expect "the sibling of wave 0 is synced" 0 "^kid-first +Synced" cat "$work/second"
expect "the child of wave 1 is not" 1 "" exists second

# ---- a circle ------------------------------------------------------------------------------
config '  app cycle = application(name: "cycle", repo: "file://'"$repo"'", path: "web", namespace: "'"$NS"'", depends_on: ["loop"])
  app loop = application(name: "loop", repo: "file://'"$repo"'", path: "web", namespace: "'"$NS"'", depends_on: ["cycle"])'
commit "a circle"
expect "a circle of dependencies is refused where it is written, the last definitions kept" 1 \
  "gitops/main.plumb:[0-9]+:[0-9]+: error: application cycle: its dependencies go round: cycle -> loop -> cycle" pass_once

$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "depends: $pass passed, $fail failed"
