#!/bin/sh
# The retry policy of an application, as Argo CD's syncPolicy.retry,
# against a real control plane: an automated sync that fails (its
# ConfigMap's namespace does not exist) is tried again after the backoff,
# as many times as retry.limit allows, then left alone, the status saying
# so, until plumb sync asks or a new commit comes.
# Usage: retry.sh PLUMB CLUSTER_DIR. Last line: "retry: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
NS=retry-test
syncs() { grep -c "^flaky: syncing" "$work/run.log"; }
stopped() { p status flaky | grep -q "automated sync of $(head_commit | cut -c1-7) stopped"; }
head_commit() { git -C "$repo" rev-parse HEAD; }

mkdir -p "$repo/flaky"
printf 'env flaky {\n  ConfigMap "flaky" { metadata: { namespace: "%s" }, data: { v: "1" } }\n}\n' "$NS" >"$repo/flaky/main.plumb"
gitops_apps "$repo" 'flaky flaky retry: { limit: 1, backoff: { duration: "1s", factor: 2 } }'
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "flaky: its namespace is missing"
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
$K delete configmap plumb-history-flaky --ignore-not-found >/dev/null
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/token"

serving "$repo"
twice() { [ "$(syncs)" -ge 2 ]; }
if eventually twice; then ok; else no "a failed automated sync is tried again after the backoff"; fi
if eventually stopped; then ok; else no "after the retry limit, the status says automated sync stopped"; fi
sleep 4
same "and it is not tried again: one try and one retry" 2 syncs
expect "plumb sync tries again" 0 "^flaky: sync queued$" p sync flaky
thrice() { [ "$(syncs)" -ge 3 ]; }
if eventually thrice; then ok; else no "plumb sync tried it a third time"; fi
$K create namespace $NS >/dev/null
printf 'env flaky {\n  ConfigMap "flaky" { metadata: { namespace: "%s" }, data: { v: "2" } }\n}\n' "$NS" >"$repo/flaky/main.plumb"
commit "flaky: v2"
p sync flaky >/dev/null # (the poll is an hour: the sync brings the commit at once)
synced() { $K -n $NS get configmap flaky -o jsonpath='{.data.v}' 2>/dev/null | grep -qx 2; }
if eventually synced; then ok; else no "a new commit syncs, its namespace there now"; fi
absent "the status no longer says it stopped" "stopped" p status flaky

stop_runtime "$pid" "$work/run.log"
pid=
$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "retry: $pass passed, $fail failed"
