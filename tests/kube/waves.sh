#!/bin/sh
# Sync waves and health waits of plumb apply, against a real control plane
# (tests/cluster). No kubelet runs there, which the checks use: an Ingress
# stays Progressing until the test writes its status, and a Deployment whose
# pod never starts passes its progress deadline and goes Degraded.
# Usage: waves.sh PLUMB CLUSTER_DIR; the last line is "waves: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
cd "$ROOT"

# created NS: the names of the env's objects in NS in the order the server
# made them (resourceVersions grow with every write).
created() {
  $K -n "$1" get configmaps,ingresses,deployments -l plumb.dev/env \
    -o jsonpath='{range .items[*]}{.metadata.resourceVersion} {.metadata.name}{"\n"}{end}' | sort -n | cut -d' ' -f2 | tr '\n' ' '
}
rv() { $K -n "$1" get "$2" -o jsonpath='{.metadata.resourceVersion}'; }

# ---- order ------------------------------------------------------------------
# Names sort against the waves: only the waves can put them in this order.
order=$(env_dir order 'env order {
  namespace: "waves-order"
  Namespace "waves-order" {}
  ConfigMap "a-last" { metadata: { annotations: { "plumb.dev/sync-wave": "1", "argocd.argoproj.io/sync-wave": "-5" } } }
  ConfigMap "b-middle" {}
  ConfigMap "c-first" { metadata: { annotations: { "argocd.argoproj.io/sync-wave": "-1" } } }
}')
same "lines come in sync order" "namespace/waves-order created
configmap/c-first created
configmap/b-middle created
configmap/a-last created" $PLUMB apply "$order"
same "the server made them wave by wave" "c-first b-middle a-last " created waves-order

bad=$(env_dir bad 'env bad {
  namespace: "waves-bad"
  Namespace "waves-bad" {}
  ConfigMap "odd" { metadata: { annotations: { "plumb.dev/sync-wave": "soon" } } }
}')
expect "a wave that is not an integer is an error" 1 \
  '^error: configmap/odd: annotation plumb.dev/sync-wave: "soon" is not an integer$' $PLUMB apply "$bad"
expect "and nothing is applied" 1 "not found" $K get namespace waves-bad

# ---- waiting for health -------------------------------------------------------
# gate NS: an Ingress in wave 0, a ConfigMap in wave 1.
gate() {
  env_dir "$1" "env $1 {
  namespace: \"$1\"
  Namespace \"$1\" {}
  Ingress \"web\" { spec: { defaultBackend: { service: { name: \"web\", port: { number: 80 } } } } }
  ConfigMap \"after\" { metadata: { annotations: { \"plumb.dev/sync-wave\": \"1\" } } }
}"
}
g=$(gate gate)
$PLUMB apply --wait "$g" >"$work/gate.out" 2>&1 &
apply_pid=$!
for _ in $(seq 100); do $K -n gate get ingress web >/dev/null 2>&1 && break; sleep 0.1; done
sleep 2
expect "wave 0 is applied" 0 "web" $K -n gate get ingress web
expect "wave 1 waits while wave 0 is Progressing" 1 "not found" $K -n gate get configmap after
healthy_at=$($K -n gate patch ingress web --subresource=status --type=merge \
  -p '{"status":{"loadBalancer":{"ingress":[{"ip":"10.0.0.1"}]}}}' -o jsonpath='{.metadata.resourceVersion}')
wait $apply_pid
echo "exit $?" >>"$work/gate.out"
expect "once wave 0 is healthy, wave 1 goes" 0 "^configmap/after created$" cat "$work/gate.out"
expect "and the apply succeeds" 0 "^exit 0$" cat "$work/gate.out"
expect "wave 1 was made after wave 0 became healthy" 0 "" test "$(rv gate configmap/after)" -gt "$healthy_at"

# Without --wait the waves keep their order but nothing waits.
g=$(gate nowait)
expect "without --wait no wave waits" 0 "^configmap/after created$" $PLUMB apply "$g"

g=$(gate slow)
expect "a wave that stays Progressing times out" 1 \
  '^plumb: wave 0: ingress.networking.k8s.io/web is still Progressing after 2 s \(1 object of later waves not applied\)$' \
  $PLUMB apply --wait-timeout 2s "$g"
expect "later waves are not applied" 1 "not found" $K -n slow get configmap after
expect "--wait-timeout takes a duration" 2 "^plumb: --wait-timeout takes a duration such as 90s or 5m, not soon$" \
  $PLUMB apply --wait-timeout soon "$g"

# ---- a Degraded wave -----------------------------------------------------------
# degraded EXTRA: a Deployment in wave 0 that cannot progress (its pod never
# runs; the deadline is 1 s), a ConfigMap in wave 1, and EXTRA.
degraded() {
  env_dir degraded "env degraded {
  namespace: \"waves-degraded\"
  Namespace \"waves-degraded\" {}
  Deployment \"db\" {
    spec: {
      replicas: 1
      progressDeadlineSeconds: 1
      selector: { matchLabels: { app: \"db\" } }
      template: { metadata: { labels: { app: \"db\" } }, spec: { containers: [{ name: \"db\", image: \"postgres\" }] } }
    }
  }
  ConfigMap \"after\" { metadata: { annotations: { \"plumb.dev/sync-wave\": \"1\" } } }
  $1
}"
}
d=$(degraded 'ConfigMap "old" {}')
expect "before: an object prune would delete" 0 "^configmap/old created$" $PLUMB apply "$d"
$K -n waves-degraded delete configmap after >/dev/null
d=$(degraded '')
expect "a Degraded wave stops the sync, naming the object and why" 1 \
  '^plumb: wave 0: deployment.apps/db is Degraded: Deployment "db" exceeded its progress deadline \(1 object of later waves not applied\)$' \
  $PLUMB apply --prune --wait-timeout 60s "$d"
cp "$work/out" "$work/degraded.out"
expect "and prune does not run" 0 "^plumb: not pruning: the sync stopped before it was done$" cat "$work/degraded.out"
expect "the later wave is not applied" 1 "not found" $K -n waves-degraded get configmap after
expect "nothing is pruned" 0 "old" $K -n waves-degraded get configmap old

echo "waves: $pass passed, $fail failed"
