#!/bin/sh
# Ignore rules, as Argo CD's ignoreDifferences, against a real autoscaler:
# the HorizontalPodAutoscaler controller of the control plane's
# kube-controller-manager. Three applications of plumb run, with self_heal,
# each hold a Deployment of one replica and an HPA of it (std/autoscale).
# For PLUMB_IGNORE_SECONDS (300 by default), round after round, a commit
# sets the three HPAs' minReplicas and maxReplicas to the next of 2, 3, 4, 5.
# Commits, and not a patched HPA, because an HPA of an application is the
# application's, in git like its Deployment: under GitOps its bounds change
# by commit, and a hand patch would be self-heal's to undo. There is no
# metrics server: the HPA controller scales without metrics a target below
# minReplicas or above maxReplicas (reconcileAutoscaler, in Kubernetes'
# pkg/controller/podautoscaler/horizontal.go), at its next look at the HPA
# (every 5 s here, tests/cluster/up.sh), upward and downward alike: the
# downscale stabilization window only holds back what metrics propose. It
# writes spec.replicas through the Deployment's scale subresource, as the
# field manager kube-controller-manager.
# The Deployment whose application ignores /spec/replicas, and the one the
# config's rules for every application cover by that field manager, keep
# every size the HPA sets: each changes once a round, by the HPA (whose
# status.lastScaleTime moves once too), stays Synced and is never applied
# again. The third, without a rule, is the control: self-heal puts it back
# to one replica and its HPA scales it again, so they fight every round.
# Usage: ignore.sh PLUMB CLUSTER_DIR. Last line: "ignore: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
NS=ignore-test
SECONDS_OF_SCALING=${PLUMB_IGNORE_SECONDS:-300}
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

autoscaled() { # autoscaled NAME N: a Deployment of one replica whose Pods run, and an HPA keeping N of it
  mkdir -p "$repo/$1"
  cat >"$repo/$1/main.plumb" <<EOP
import "std/autoscale"
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
  hpa(name: "$1", min: $2, max: $2)
}
EOP
}
# Between 1 and 1 replica: the HPA has nothing to do until the first round.
for d in pointer manager healed; do autoscaled $d 1; done
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
    { group: "apps", kind: "Deployment", name: "manager", managedFieldsManagers: ["kube-controller-manager"] }])
}
EOP
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "three autoscaled Deployments"
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
for a in pointer manager healed; do $K delete configmap "plumb-history-$a" --ignore-not-found >/dev/null; done
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/token"

# look: a line an object, "KIND NAME VALUE": a Deployment's replicas, an HPA's lastScaleTime
look() {
  $K -n $NS get deployments,horizontalpodautoscalers \
    -o jsonpath='{range .items[*]}{.kind} {.metadata.name} {.spec.replicas}{.status.lastScaleTime}{"\n"}{end}'
}
# sample: looks again (a look that fails or misses an object is dropped);
# each value that changed since the last look adds "KIND NAME WAS NOW" to
# $work/changes
sample() {
  look >"$work/now" 2>/dev/null && [ "$(wc -l <"$work/now")" = 6 ] || return 0
  awk 'NR == FNR { was[$1 " " $2] = $3; next } was[$1 " " $2] != $3 { print $1, $2, was[$1 " " $2], $3 }' \
    "$work/was" "$work/now" >>"$work/changes"
  mv "$work/now" "$work/was"
}
at() { grep -qx "Deployment $1 $2" "$work/was"; } # at NAME N: the last look saw N replicas of NAME

serving "$repo"
synced() { look >"$work/was" && [ "$(grep -c "^Deployment [a-z]* 1$" "$work/was")" = 3 ] && [ "$(wc -l <"$work/was")" = 6 ]; }
if eventually synced; then ok; else no "the three Deployments and their HPAs are synced"; fi
: >"$work/changes"
applied=$(grep -c "deployment.apps/\(pointer\|manager\) configured" "$work/run.log")
heals=$(grep -c "deployment.apps/healed configured" "$work/run.log")
kept=0 lost=0 rounds=0 end=$(($(date +%s) + SECONDS_OF_SCALING)) n=1
while [ "$(date +%s)" -lt $end ]; do
  n=$(((n - 1) % 4 + 2))
  for d in pointer manager healed; do autoscaled $d $n; done
  commit "the autoscalers keep $n replicas"
  # plumb syncs the commit within its 2 s interval, the HPA controller acts
  # at its next look; then two more of its looks, in which self-heal would
  # undo it and the HPA scale again
  t=0
  until [ $t -ge 60 ] || { at pointer $n && at manager $n; }; do sleep 1; sample; t=$((t + 1)); done
  for t in 1 2 3 4 5 6 7 8 9 10; do sleep 1; sample; done
  for d in pointer manager; do
    if at $d $n; then kept=$((kept + 1)); else lost=$((lost + 1)); echo "  $d: $(grep "^Deployment $d " "$work/was"), its HPA's $n"; fi
  done
  rounds=$((rounds + 1))
done
at_least=$((SECONDS_OF_SCALING / 30))
same "an ignored field keeps every size the HPA set ($rounds rounds)" 0 echo $lost
same "by a JSON pointer and by its field manager alike" $((2 * rounds)) echo $kept
expect "the HPA scaled them at least $at_least times in $SECONDS_OF_SCALING s" 0 "" test $rounds -ge $at_least
for d in pointer manager; do
  same "$d changed size once a round, no flapping" $rounds grep -c "^Deployment $d " "$work/changes"
  same "each time by its HPA" $rounds grep -c "^HorizontalPodAutoscaler $d " "$work/changes"
done
same "the HPA writes replicas as kube-controller-manager, through the scale subresource" kube-controller-manager \
  $K -n $NS get deployment manager -o jsonpath='{.metadata.managedFields[?(@.subresource=="scale")].manager}'
same "nothing of theirs was applied again" "$applied" sh -c \
  "grep -c 'deployment.apps/\(pointer\|manager\) configured' '$work/run.log'"
expect "they are Synced" 0 "^pointer +Synced" p status
expect "both" 0 "^manager +Synced" p status
# Without a rule: each round's scale undone at least once, and its HPA made
# to scale again, more often than the once a round of those with a rule.
heals=$(($(grep -c "deployment.apps/healed configured" "$work/run.log") - heals))
scales=$(grep -c "^HorizontalPodAutoscaler healed " "$work/changes")
expect "without a rule, self-heal undoes the HPA's scale every round ($heals times in $rounds rounds)" 0 "" \
  test $heals -ge $rounds
expect "and its HPA scales it again: they fight ($scales scales in $rounds rounds)" 0 "" test $scales -gt $rounds

stop_runtime "$pid" "$work/run.log"
pid=
$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "ignore: $pass passed, $fail failed"
