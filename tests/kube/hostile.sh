#!/bin/sh
# plumb run against hostile commits, on a real control plane: a commit that
# would compile for days, or swallow memory, is stopped by the compile's
# limits and shows as its application's error, while the runtime stays up,
# answers, keeps its Lease and goes on syncing the other application.
# Usage: hostile.sh PLUMB CLUSTER_DIR. Last line: "hostile: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
pid= standby=
trap 'for p in $pid $standby; do kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT

mode() { $K -n hostile-good get configmap settings -o jsonpath='{.data.mode}'; }
env_of() { # env_of APP NAMESPACE MODE: a Namespace and a ConfigMap
  mkdir -p "$repo/$1"
  cat >"$repo/$1/main.plumb" <<EOP
env $1 {
  namespace: "$2"
  Namespace "$2" {}
  ConfigMap "settings" { data: { mode: "$3" } }
}
EOP
}
# What tests/unit/hostile_test.h holds: some 2^28 / 2 steps of backtracking,
# a million times (days of CPU in little memory); lists of some 250 MiB.
burn() {
  cat >"$repo/bad/main.plumb" <<'EOP'
let a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaab"
let burn = [re_match("^(a|aa)*$", a) for i in range(1000000)]
env bad { ConfigMap "c" { data: { n: "${len(burn)}" } } }
EOP
}
swallow() {
  cat >"$repo/bad/main.plumb" <<'EOP'
let big = [[i, i, i, i] for i in range(1000000)]
env bad { ConfigMap "c" { data: { n: "${len(big)}" } } }
EOP
}
# The application's status says why, in these words.
says() { p status "$1" -o json | grep -Eq -- "$2"; }
# /healthz answers each quarter second while the runtime compiles.
answers_meanwhile() {
  n=0
  while [ $n -lt 12 ]; do
    [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url/healthz")" = 200 ] || return 1
    n=$((n + 1))
    sleep 0.25
  done
}
holder() { $K get lease plumb-leader -o jsonpath='{.spec.holderIdentity}'; }
zombies() { ps -o stat= --ppid "$pid" | grep -c '^Z'; }

env_of good hostile-good one
env_of bad hostile-bad one
gitops_apps "$repo" "good good prune: true" "bad bad prune: true"
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "good and bad"
$K delete configmap plumb-history-good plumb-history-bad --ignore-not-found >/dev/null
$K delete lease plumb-leader --ignore-not-found >/dev/null
printf 'hostile-token\n' >"$work/token"

# The limits low enough for the test to be quick, the wall clock far from
# them (the sanitizers slow a compile down); a Lease that a standby takes
# 3 s after its last renewal, before the CPU limit.
runtime() { # runtime NAME: a plumb run in the background, its log NAME.log
  $PLUMB run "file://$repo" --config-path gitops --cache "$work/$1-cache" --context admin --listen 127.0.0.1:0 \
    --token-file "$work/token" --lease-duration 3s --compile-limits cpu=4s,memory=128Mi,wall=60s >"$work/$1.log" 2>&1 &
}
runtime run
pid=$!
eventually grep -q "serving on port" "$work/run.log"
url=http://127.0.0.1:$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$work/run.log")
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]; }
if eventually ready; then ok; else no "/readyz answers 200 after the first pass"; fi
expect "both applications sync" 0 "^bad +Synced" p status
expect "the good one too" 0 "^good +Synced" p status
leader=$(holder)
runtime standby
standby=$!
if eventually grep -q "standing by" "$work/standby.log"; then ok; else no "a second runtime stands by"; fi

# ---- a commit that burns CPU ------------------------------------------------------
burn
commit "burn"
p sync bad >/dev/null
if answers_meanwhile; then ok; else no "/healthz answers while the hostile commit compiles"; fi
if eventually says bad "exceeded its CPU time limit of 4 s"; then ok; else no "the CPU limit stops the compile, in words"; fi
expect "its application is Unknown" 0 "^bad +Unknown" p status
env_of good hostile-good two
commit "good two"
p sync good >/dev/null
if eventually is mode two; then ok; else no "the good application syncs its new commit"; fi
expect "the good application is Synced" 0 "^good +Synced" p status

# ---- a commit that swallows memory -------------------------------------------------
swallow
commit "swallow"
p sync bad >/dev/null
if eventually says bad "exceeded its memory limit of 128 MiB"; then ok; else no "the memory limit stops the compile, in words"; fi
env_of good hostile-good three
commit "good three"
p sync good >/dev/null
if eventually is mode three; then ok; else no "the good application syncs after the memory one"; fi

# ---- the runtime after them ----------------------------------------------------------
if kill -0 "$pid" 2>/dev/null; then ok; else no "the runtime is still running"; fi
same "it kept its Lease all along, renewing it while it compiled" "$leader" holder
absent "the standby never took over" "leading" cat "$work/standby.log"
expect "the Lease never changed hands" 0 "^0?$" $K get lease plumb-leader -o jsonpath='{.spec.leaseTransitions}'
same "no compile is left behind" 0 zombies
env_of bad hostile-bad fixed
commit "bad fixed"
p sync bad >/dev/null
fixed() { [ "$($K -n hostile-bad get configmap settings -o jsonpath='{.data.mode}')" = fixed ]; }
if eventually fixed; then ok; else no "a fixed commit syncs the application again"; fi

stop_runtime "$standby" "$work/standby.log"
stop_runtime "$pid" "$work/run.log"
pid= standby=

$K delete namespace hostile-good hostile-bad --wait=false >/dev/null 2>&1
$K delete configmap plumb-history-good plumb-history-bad >/dev/null 2>&1
echo "hostile: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
