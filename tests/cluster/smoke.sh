#!/usr/bin/env bash
# Smoke test of the test control plane: start one in a temp dir, exercise it
# with kubectl, always tear it down. Ends with "N passed, N failed".
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
KUBECTL=${KUBECTL:-kubectl}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/plumb-cluster.XXXXXX")
# Always stop the cluster; keep DIR (logs) only when PLUMB_KEEP is set.
cleanup() {
  if [[ -n ${PLUMB_KEEP:-} ]]; then "$HERE/down.sh" "$DIR"; echo "kept $DIR" >&2
  else "$HERE/down.sh" "$DIR" --clean; fi
}
trap cleanup EXIT

t0=$SECONDS
if ! "$HERE/up.sh" "$DIR"; then echo "cluster failed to start"; echo "0 passed, 1 failed"; exit 1; fi
echo "cluster up in $((SECONDS - t0))s"
set -a
# shellcheck source=/dev/null
. "$DIR/env"
set +a

pass=0 failed=0
ok()  { echo "ok   - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@" >/dev/null; then ok "$name"; else bad "$name"; fi; }
k() { "$KUBECTL" --request-timeout=20s "$@"; }
# eventually SECS CMD...: retry CMD until it succeeds or SECS pass.
eventually() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.5; done
}
nonempty() { [[ -n $("$@") ]]; }
pods_are() { [[ $(k -n smoke get pods -l app=web -o name | wc -l) -eq $1 ]]; }
no_rs() { [[ -z $(k -n smoke get rs -l app=web -o name) ]]; }

check "create namespace" k create namespace smoke -o name

apply_web() { k apply -f - -o name <<'YAML'; }
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: smoke}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.invalid/pause:3}]
YAML
check "apply deployment" apply_web

# The deployment controller (controller-manager) makes a ReplicaSet; the
# ReplicaSet controller then makes the Pods (no kubelet: they never run).
check "ReplicaSet created for deployment" eventually 60 nonempty k -n smoke get rs -l app=web -o name
check "2 Pods created by ReplicaSet" eventually 60 pods_are 2

# Client-certificate user.
whoami_cert() { [[ $(k --context admin-cert auth whoami -o jsonpath='{.status.userInfo.username}') == admin ]]; }
check "admin-cert context authenticates as admin" whoami_cert

# Restricted user "ci": may read deployments in shop, may not patch them.
check "create deployment in shop (admin)" k -n shop create deployment api --image=registry.invalid/pause:3 -o name
check "ci can get deployment in shop" k --context ci -n shop get deployment api -o name
if out=$(k --context ci -n shop patch deployment api --type merge -p '{"spec":{"replicas":3}}' 2>&1); then
  bad "ci patch in shop is forbidden (patch succeeded)"
elif grep -q Forbidden <<<"$out"; then ok "ci patch in shop is forbidden"
else bad "ci patch in shop is forbidden (other error: $out)"; fi
if k --context ci -n smoke get deployments >/dev/null 2>&1; then bad "ci cannot read other namespaces"
else ok "ci cannot read other namespaces"; fi

# Garbage collector: deleting the Deployment removes its ReplicaSet.
k -n smoke delete deployment web --wait=false >/dev/null || true
check "garbage collector removes ReplicaSet" eventually 60 no_rs

# kwok-node: the scheduler binds a Pod that tolerates its taint there, and
# kwok runs it; a Pod that does not stays Pending (as the Deployment's above).
pods() { k -n smoke apply -o name -f - <<'YAML'; }
apiVersion: v1
kind: Pod
metadata: {name: runs, namespace: smoke}
spec:
  tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
  containers: [{name: app, image: registry.invalid/pause:3}]
---
apiVersion: v1
kind: Pod
metadata: {name: waits, namespace: smoke}
spec:
  containers: [{name: app, image: registry.invalid/pause:3}]
YAML
check "create a Pod that tolerates kwok-node's taint and one that does not" pods
state() { # POD: node phase Ready-condition
  k -n smoke get pod "$1" -o jsonpath='{.spec.nodeName} {.status.phase} {.status.conditions[?(@.type=="Ready")].status}'
}
is_state() { [[ $(state "$1") == "$2" ]]; }
check "tolerating Pod runs on kwok-node and is Ready" eventually 60 is_state runs "kwok-node Running True"
# Unschedulable: the scheduler has seen it and found no node for it.
unschedulable() {
  [[ $(k -n smoke get pod waits -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}') == Unschedulable ]]
}
check "untolerating Pod is found unschedulable" eventually 60 unschedulable
check "untolerating Pod stays Pending, on no node" is_state waits " Pending "

# Its logs through the API server, from kwok (the node's "kubelet"), which
# serves PLUMB_TEST_POD_LOG for every container.
logs_say() { k -n smoke logs runs | grep -qxF "$1"; }
check "kubectl logs reads the Pod's log through the API" logs_say "plumb test pod started"
# A follow sees a line appended after it began.
timeout 60 "$KUBECTL" -n smoke logs -f runs >"$DIR/follow.out" 2>&1 &
follow_pid=$!
followed() { grep -qxF "$1" "$DIR/follow.out"; }
line="smoke line $RANDOM$RANDOM"
if eventually 30 followed "plumb test pod started"; then
  printf '%s stdout F %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$line" >>"$PLUMB_TEST_POD_LOG"
  check "kubectl logs -f sees a line appended to the log" eventually 30 followed "$line"
else bad "kubectl logs -f sees a line appended to the log (the follow printed: $(head -c 300 "$DIR/follow.out"))"; fi
kill "$follow_pid" 2>/dev/null || true
wait "$follow_pid" 2>/dev/null || true

echo "$pass passed, $failed failed"
((failed == 0))
