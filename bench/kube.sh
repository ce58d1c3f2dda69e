#!/bin/sh
# kube.sh: plumb apply / plumb diff against kubectl on a real control plane
# (bench/README.md, "Cluster benchmark", says what it measures).
#
#   sh bench/kube.sh             N = 1000 apps (3000 objects), about 15 minutes
#   BENCH_N=100 sh bench/kube.sh a quicker look
#
# Also: BENCH_RUNS=3 (runs of each no-change plumb phase; the median
# counts), BENCH_PLUMB=DIR (time DIR/plumb and DIR/plumb-runtime instead of
# building them), BENCH_KUBECTL=0 (plumb only, say to time an older build),
# BENCH_SETTLE=600 (seconds to wait, after each fresh apply, for the
# controllers to make every Deployment's Pods; 0: do not wait).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)

N=${BENCH_N:-1000}
RUNS=${BENCH_RUNS:-3}
SETTLE=${BENCH_SETTLE:-600}
say() { echo "$*" >&2; }
command -v kubectl >/dev/null 2>&1 || { say "kube.sh: needs kubectl"; exit 1; }

[ -n "${BENCH_PLUMB:-}" ] || make -s build/plumb build/plumb-runtime >&2
T=$(mktemp -d "${TMPDIR:-/tmp}/plumb-kube-bench.XXXXXX")
trap 'tests/cluster/down.sh "$T/cluster" --clean >/dev/null 2>&1; rm -rf "$T"' EXIT INT TERM
# Private copies: a rebuild during the run cannot mix binaries.
mkdir "$T/bin"
cp "${BENCH_PLUMB:-build}/plumb" "${BENCH_PLUMB:-build}/plumb-runtime" "$T/bin/"
PLUMB=$T/bin/plumb

# 2 x N Services: the test cluster's default /24 holds 254.
say "starting the control plane (tests/cluster/up.sh)"
PLUMB_SERVICE_CIDR=10.0.0.0/16 tests/cluster/up.sh "$T/cluster" >"$T/up.log" 2>&1 || { tail -30 "$T/up.log" >&2; exit 1; }
. "$T/cluster/env"
export KUBECONFIG
K="kubectl --context admin"

# The prod env of the compiler benchmark; kubectl gets the same objects in
# a namespace of its own (the prod env declares no Namespace: both are made
# here).
sh bench/gen.sh "$N" "$T/tree" >/dev/null
(cd "$T/tree" && "$PLUMB" build envs/prod --root .) >"$T/prod.yaml"
sed 's/^  namespace: bench-prod$/  namespace: bench-kubectl/' "$T/prod.yaml" >"$T/kubectl.yaml"
objects=$(grep -c '^kind:' "$T/prod.yaml")
$K create namespace bench-prod >/dev/null
$K create namespace bench-kubectl >/dev/null

# ---- measuring ----------------------------------------------------------------

# run NAME CMD...: runs CMD (from the tree) into $T/NAME.out and .err; sets
# $secs (wall clock) and $rc.
run() {
  name=$1
  shift
  start=$(date +%s.%N)
  set +e
  (cd "$T/tree" && "$@") >"$T/$name.out" 2>"$T/$name.err"
  rc=$?
  set -e
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  say "  $name: ${secs} s, exit $rc"
}

# HTTP requests: plumb counts its own (PLUMB_STATS=1); kubectl -v=6 logs one
# line per response.
plumb_requests() { r=$(sed -n 's/^requests: //p' "$T/$1.err" | tail -1); echo "${r:--}"; }
kubectl_requests() {
  grep -cE '\] (GET|HEAD|POST|PUT|PATCH|DELETE) https?://|"Response" verb=' "$T/$1.err" || true
}

# median NAME CMD...: $RUNS runs; $secs is the median, the last run's files stay.
median() {
  name=$1
  shift
  : >"$T/times"
  for _ in $(seq "$RUNS"); do
    run "$name" "$@"
    echo "$secs" >>"$T/times"
  done
  secs=$(sort -n "$T/times" | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }')
}

# Each Deployment's Pods, made by the controllers: a fresh apply leaves them
# busy for minutes; the phases after it are measured on a quiet cluster.
pods=$(awk '/^  replicas: / { n += $2 } END { print n + 0 }' "$T/prod.yaml")
settle() {
  [ "$SETTLE" -gt 0 ] || return 0
  end=$(($(date +%s) + SETTLE))
  while [ "$(date +%s)" -lt "$end" ]; do
    have=$($K -n "$1" get pods --no-headers 2>/dev/null | wc -l)
    [ "$have" -ge "$pods" ] && { sleep 5; return 0; }
    sleep 5
  done
  say "  $1: $have of $pods Pods after ${SETTLE} s; measuring anyway"
}

checks=""
check() { # check WHAT CONDITION-EXIT-STATUS
  if [ "$2" = 0 ]; then checks="$checks\n  ok   $1"; else checks="$checks\n  FAIL $1"; fi
}
count() { grep -c "$1" "$T/$2.out" || true; }

export PLUMB_STATS=1
say "plumb ($objects objects, namespace bench-prod)"
run plumb-fresh "$PLUMB" apply envs/prod --root .
p_fresh=$secs p_fresh_req=$(plumb_requests plumb-fresh)
check "plumb apply (fresh): $objects created, exit 0" "$([ $rc = 0 ] && [ "$(count ' created$' plumb-fresh)" = "$objects" ]; echo $?)"
# Right after it, while the controllers still write status: no drift.
run plumb-diff-fresh "$PLUMB" diff envs/prod --root .
check "plumb diff right after the fresh apply: exit 0, no output" "$([ $rc = 0 ] && [ ! -s "$T/plumb-diff-fresh.out" ]; echo $?)"
settle bench-prod
median plumb-again "$PLUMB" apply envs/prod --root .
p_again=$secs p_again_req=$(plumb_requests plumb-again)
check "plumb apply (no change): $objects unchanged, exit 0" "$([ $rc = 0 ] && [ "$(count ' unchanged$' plumb-again)" = "$objects" ]; echo $?)"
median plumb-diff "$PLUMB" diff envs/prod --root .
p_diff=$secs p_diff_req=$(plumb_requests plumb-diff)
check "plumb diff (no change): exit 0, no output (no false drift)" "$([ $rc = 0 ] && [ ! -s "$T/plumb-diff.out" ]; echo $?)"
# The same two, asking the server about every object (as kubectl does).
export PLUMB_ASK_SERVER=1
run plumb-again-ask "$PLUMB" apply envs/prod --root .
a_again=$secs a_again_req=$(plumb_requests plumb-again-ask)
check "plumb apply (no change, PLUMB_ASK_SERVER=1): $objects unchanged" "$([ $rc = 0 ] && [ "$(count ' unchanged$' plumb-again-ask)" = "$objects" ]; echo $?)"
run plumb-diff-ask "$PLUMB" diff envs/prod --root .
unset PLUMB_ASK_SERVER
a_diff=$secs a_diff_req=$(plumb_requests plumb-diff-ask)
check "plumb diff (no change, PLUMB_ASK_SERVER=1): exit 0, no output" "$([ $rc = 0 ] && [ ! -s "$T/plumb-diff-ask.out" ]; echo $?)"
unset PLUMB_STATS

k_fresh=- k_fresh_req=- k_again=- k_again_req=- k_diff=- k_diff_req=- v_again=- v_again_req=-
if [ "${BENCH_KUBECTL:-1}" != 0 ]; then
  say "kubectl ($objects objects, namespace bench-kubectl)"
  run kubectl-fresh $K apply --server-side -v=6 -f "$T/kubectl.yaml"
  k_fresh=$secs k_fresh_req=$(kubectl_requests kubectl-fresh)
  check "kubectl apply --server-side (fresh): exit 0" "$rc"
  settle bench-kubectl
  run kubectl-again $K apply --server-side -v=6 -f "$T/kubectl.yaml"
  k_again=$secs k_again_req=$(kubectl_requests kubectl-again)
  check "kubectl apply --server-side (no change): exit 0" "$rc"
  run kubectl-diff $K diff --server-side -v=6 -f "$T/kubectl.yaml"
  k_diff=$secs k_diff_req=$(kubectl_requests kubectl-diff)
  check "kubectl diff --server-side (no change): exit 0" "$rc"
  # Without its client-side schema work (OpenAPI fetched and parsed, seconds
  # of CPU), to see what kubectl spends per object.
  run kubectl-again-nv $K apply --server-side --validate=false -v=6 -f "$T/kubectl.yaml"
  v_again=$secs v_again_req=$(kubectl_requests kubectl-again-nv)
  check "kubectl apply --server-side --validate=false (no change): exit 0" "$rc"
fi

# Real drift still shows (last: the controllers react to it).
first=$(sed -n 's/^  name: \(prod-app-[0-9]*\)$/\1/p' "$T/prod.yaml" | head -1)
$K -n bench-prod scale deployment "$first" --replicas=7 >/dev/null
run plumb-drift "$PLUMB" diff envs/prod --root .
check "plumb diff after kubectl scale: exit 1, shows replicas 7" "$([ $rc = 1 ] && grep -q '^-  replicas: 7$' "$T/plumb-drift.out"; echo $?)"

# ---- the table ----------------------------------------------------------------

ratio() { case $2 in -) echo - ;; *) awk -v k="$2" -v p="$1" 'BEGIN { printf "%.0fx", k / p }' ;; esac; }
row() { printf '| %-44s | %8s | %8s | %8s | %8s | %13s |\n' "$@"; }
echo
echo "N = $N apps, $objects objects; $(nproc) cores; $(kubectl version --client 2>/dev/null | head -1)"
row "phase" "plumb s" "requests" "kubectl s" "requests" "kubectl/plumb"
row "---" "---:" "---:" "---:" "---:" "---:"
row "apply, fresh" "$p_fresh" "$p_fresh_req" "$k_fresh" "$k_fresh_req" "$(ratio "$p_fresh" "$k_fresh")"
row "apply, no change" "$p_again" "$p_again_req" "$k_again" "$k_again_req" "$(ratio "$p_again" "$k_again")"
row "diff, no change" "$p_diff" "$p_diff_req" "$k_diff" "$k_diff_req" "$(ratio "$p_diff" "$k_diff")"
row "apply, no change (kubectl --validate=false)" "$p_again" "$p_again_req" "$v_again" "$v_again_req" "$(ratio "$p_again" "$v_again")"
row "apply, no change, PLUMB_ASK_SERVER=1" "$a_again" "$a_again_req" "$k_again" "$k_again_req" "$(ratio "$a_again" "$k_again")"
row "diff, no change, PLUMB_ASK_SERVER=1" "$a_diff" "$a_diff_req" "$k_diff" "$k_diff_req" "$(ratio "$a_diff" "$k_diff")"
printf "\nchecks:$checks\n"
case $checks in *FAIL*) exit 1 ;; esac
