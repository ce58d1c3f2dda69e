#!/bin/sh
# Ignore rules, as Argo CD's ignoreDifferences, against a real control
# plane: an autoscaler (kubectl scale, here) changes the replicas of
# Deployments plumb run manages with self_heal, every 10 seconds for
# PLUMB_IGNORE_SECONDS (300 by default): the one whose application ignores
# /spec/replicas, and the one the config's rules for every application
# cover by the field manager that owns them, keep what the autoscaler set,
# Synced, nothing applied, no flapping; one without a rule is healed back
# each time. Usage: ignore.sh PLUMB CLUSTER_DIR. Last line: "ignore: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
NS=ignore-test
SECONDS_OF_SCALING=${PLUMB_IGNORE_SECONDS:-300}
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
replicas() { $K -n $NS get deployment "$1" -o jsonpath='{.spec.replicas}'; }

deployment() { # deployment NAME: a Deployment of one replica whose Pods run
  mkdir -p "$repo/$1"
  cat >"$repo/$1/main.plumb" <<EOP
env $1 {
  Deployment "$1" {
    spec: {
      replicas: 1
      selector: { matchLabels: { app: "$1" } }
      template: {
        metadata: { labels: { app: "$1" } }
        spec: {
          tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }]
          containers: [{ name: "web", image: "nginx:1.27" }]
        }
      }
    }
  }
}
EOP
}
for d in pointer manager healed; do deployment $d; done
mkdir -p "$repo/gitops"
cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app pointer = application(name: "pointer", repo: "file://$repo", path: "pointer", namespace: "$NS", automated: true,
    self_heal: true, interval: "2s", sync_options: ["CreateNamespace=true"],
    ignore_differences: [{ group: "apps", kind: "Deployment", jsonPointers: ["/spec/replicas"] }])
  app manager = application(name: "manager", repo: "file://$repo", path: "manager", namespace: "$NS", automated: true,
    self_heal: true, interval: "2s", sync_options: ["CreateNamespace=true"])
  app healed = application(name: "healed", repo: "file://$repo", path: "healed", namespace: "$NS", automated: true,
    self_heal: true, interval: "2s", sync_options: ["CreateNamespace=true"])
  app scaled = ignore_differences_everywhere(name: "scaled", rules: [
    { group: "apps", kind: "Deployment", name: "manager", managedFieldsManagers: ["kubectl"] }])
}
EOP
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "three Deployments"
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
for a in pointer manager healed; do $K delete configmap "plumb-history-$a" --ignore-not-found >/dev/null; done
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/token"

serving "$repo"
synced() { [ "$(replicas pointer)" = 1 ] && [ "$(replicas manager)" = 1 ] && [ "$(replicas healed)" = 1 ]; }
if eventually synced; then ok; else no "the three Deployments are synced"; fi
applied=$(grep -c "deployment.apps/\(pointer\|manager\) configured" "$work/run.log")
kept=0 lost=0 healed=0 rounds=0 end=$(($(date +%s) + SECONDS_OF_SCALING)) n=2
while [ "$(date +%s)" -lt $end ]; do
  n=$((n % 4 + 2))
  for d in pointer manager healed; do $K -n $NS scale deployment $d --replicas=$n >/dev/null; done
  sleep 8
  for d in pointer manager; do
    if [ "$(replicas $d)" = $n ]; then kept=$((kept + 1)); else lost=$((lost + 1)); echo "  $d: $(replicas $d), scaled to $n"; fi
  done
  [ "$(replicas healed)" = 1 ] && healed=$((healed + 1))
  rounds=$((rounds + 1))
done
same "an ignored field keeps every value the autoscaler set ($rounds rounds)" 0 echo $lost
same "by a JSON pointer and by its field manager alike" $((2 * rounds)) echo $kept
same "without a rule, self-heal undoes each scale" $rounds echo $healed
same "nothing of theirs was applied again: no flapping" "$applied" sh -c \
  "grep -c 'deployment.apps/\(pointer\|manager\) configured' '$work/run.log'"
expect "they are Synced" 0 "^pointer +Synced" p status
expect "both" 0 "^manager +Synced" p status

stop_runtime "$pid" "$work/run.log"
pid=
$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "ignore: $pass passed, $fail failed"
