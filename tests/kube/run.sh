#!/bin/sh
# Starts a real control plane (tests/cluster), runs the Kubernetes tests
# against it, and always stops it. Prints "kube: N passed, N failed".
#   tests/kube/scenarios.sh        plumb apply / diff, from the command line
#   tests/kube/waves.sh            sync waves and health waits of plumb apply
#   tests/kube/health.sh           health scripts of plumb run's config:
#                                  waves wait on them; scripts that fail or loop
#   tests/kube/gitops.sh           plumb run on real git repositories
#   tests/kube/apps.sh             app of apps: applications their builds declare
#   tests/kube/charts.sh           plumb run on a Helm chart kept in git:
#                                  values, versions, drift, charts that fail
#   tests/kube/remote-charts.sh    charts of a chart repository and an OCI
#                                  registry, pinned, pulled with credentials
#   tests/kube/depends.sh          dependencies between applications, and
#                                  an app of apps's children by wave
#   tests/kube/retry.sh            an application's retry policy
#   tests/kube/windows.sh          a project's sync windows
#   tests/kube/replace.sh          sync options: Recreate, CreateNamespace, Prune=false
#   tests/kube/hooks.sh            sync phases and hooks (PreSync, PostSync, SyncFail)
#   tests/kube/cascade.sh          deleting an application with its objects, through a kill -9
#   tests/kube/deletehooks.sh      PreDelete and PostDelete hooks around it, through a kill -9
#   tests/kube/finalizer.sh        deleting an Application object held by the runtime's finalizer
#   tests/kube/events.sh           Kubernetes events about applications, counted up when repeated
#   tests/kube/notify.sh           notifications to a local receiver: once, retried, never held, once across kill -9
#   tests/kube/ignore.sh           ignore rules against real HorizontalPodAutoscalers,
#                                  five minutes without flapping
#   tests/kube/clusters.sh         plumb run applying to a second cluster
#                                  (a context, a cluster Secret), and what
#                                  it refuses as a destination
#   tests/kube/sops.sh             plumb apply and diff of a Secret from a
#                                  file SOPS encrypted: its values masked
#   tests/kube/crds.sh             custom resources: plumb build's verdict
#                                  against its CRD's schema, the API
#                                  server's on the same JSON
#   tests/kube/deploy.sh           the runtime's own manifests (deploy/) and their RBAC,
#                                  and the image's plumb run as their Deployment runs it
#   tests/kube/objects.sh          Application and Project objects: read by
#                                  plumb run beside its config, their status,
#                                  the config's applications mirrored
#   tests/kube/serve.sh            plumb run's HTTP port, webhooks, and
#                                  status, sync, history, rollback
#   tests/kube/ui.sh               the web UI in Chromium: the walk-through,
#                                  permissions, hostile text, CSRF, Secrets
#   tests/kube/hostile.sh          plumb run against commits that would
#                                  exhaust a compile's CPU or memory
#   tests/kube/resilience.sh       plumb run against drift, an API server
#                                  restart, a kill -9, and a second replica
#   tests/kube/shard.sh            plumb run --shards: three replicas split the
#                                  applications; kill -9, SIGSTOP, one added,
#                                  a partition, an API server restart
#   build/asan/tests/kube_NAME     cmocka tests of tests/kube/test_NAME.c (the
#                                  client, the cache, leases, Application
#                                  objects from the API's form), each that
#                                  is built; this script builds nothing
set -u
cd "$(dirname "$0")/../.."
dir=$(mktemp -d)
trap 'tests/cluster/down.sh "$dir" --clean >/dev/null 2>&1; rm -f "$dir.up.log"' EXIT
if ! tests/cluster/up.sh "$dir" >"$dir.up.log" 2>&1; then
  tail -30 "$dir.up.log"
  echo "kube: 0 passed, 1 failed"
  exit 1
fi

pass=0 fail=0
# script NAME FILE: runs a scenario script that ends with "NAME: N passed,
# N failed"; its counts join the total (no such line: one failure).
script() {
  out=$(sh "$2" "$PLUMB" "$dir")
  echo "$out" | grep -v "^$1: "
  p=$(echo "$out" | sed -n "s/^$1: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p" | tail -1)
  f=$(echo "$out" | sed -n "s/^$1: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p" | tail -1)
  [ -z "$p$f" ] && f=1
  pass=$((pass + ${p:-0})) fail=$((fail + ${f:-0}))
}
# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)"; a
# crash, a leak or a hang (it stops itself after 600 s) counts as one more.
cmocka() {
  [ -x "$1" ] || return 0
  out=$("$1" "$dir" 2>&1); rc=$?
  p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  if [ $rc -ne 0 ]; then
    echo "$out" | grep -v '^\[ \(RUN\|      OK\) '
    [ -z "$f" ] && f=1
  fi
  pass=$((pass + ${p:-0})) fail=$((fail + ${f:-0}))
}
PLUMB=${1:-build/asan/plumb}
script kube tests/kube/scenarios.sh
script waves tests/kube/waves.sh
script health tests/kube/health.sh
script gitops tests/kube/gitops.sh
script apps tests/kube/apps.sh
script charts tests/kube/charts.sh
script remote-charts tests/kube/remote-charts.sh
script depends tests/kube/depends.sh
script retry tests/kube/retry.sh
script windows tests/kube/windows.sh
script replace tests/kube/replace.sh
script hooks tests/kube/hooks.sh
script cascade tests/kube/cascade.sh
script deletehooks tests/kube/deletehooks.sh
script finalizer tests/kube/finalizer.sh
script events tests/kube/events.sh
script notify tests/kube/notify.sh
script ignore tests/kube/ignore.sh
script clusters tests/kube/clusters.sh
script sops tests/kube/sops.sh
script crds tests/kube/crds.sh
script deploy tests/kube/deploy.sh
script objects tests/kube/objects.sh
script serve tests/kube/serve.sh
script ui tests/kube/ui.sh
script hostile tests/kube/hostile.sh
# Those that restart the API server go last: after a restart the
# controller manager's watches are refused for a while (RBAC not yet
# loaded) and back off, and its garbage collector, which foreground
# deletes wait for, lags behind.
for t in $(ls build/asan/tests/kube_* 2>/dev/null | grep -v '/kube_cache$'); do cmocka "$t"; done
script resilience tests/kube/resilience.sh
script shard tests/kube/shard.sh
cmocka build/asan/tests/kube_cache
echo "kube: $pass passed, $fail failed"
