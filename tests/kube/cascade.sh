#!/bin/sh
# Deleting an application, as Argo CD's resources finalizer: removed from
# the config with cascade_delete, its objects are deleted in reverse wave
# order, by their uid; one without it leaves its objects; what carries no
# mark of the application is never touched. A runtime killed (kill -9)
# half way goes on after a restart. Usage: cascade.sh PLUMB CLUSTER_DIR.
# Last line: "cascade: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
NS=cascade-test
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
has() { $K -n $NS get configmap "$1" >/dev/null 2>&1; }
gone() { ! has "$1"; }
terminating() { [ -n "$($K -n $NS get configmap "$1" -o jsonpath='{.metadata.deletionTimestamp}' 2>/dev/null)" ]; }
logged() { grep -q -- "$1" "$work/run.log"; }

mkdir -p "$repo/gone" "$repo/stays" "$repo/gitops"
cat >"$repo/gone/main.plumb" <<EOP
env gone {
  ConfigMap "first" { data: { v: "1" } }
  // Argo CD's Delete=false: it stays when the application goes.
  ConfigMap "spared" { metadata: { annotations: { "argocd.argoproj.io/sync-options": "Delete=false" } }, data: { v: "1" } }
  // Wave 1, held by a finalizer until the test lets it go.
  ConfigMap "last" {
    metadata: { annotations: { "plumb.dev/sync-wave": "1" }, finalizers: ["example.com/hold"] }
    data: { v: "1" }
  }
}
EOP
printf 'env stays {\n  ConfigMap "kept" { data: { v: "1" } }\n}\n' >"$repo/stays/main.plumb"
config() { # config APPS
  printf 'import "std/gitops"\nenv apps {\n%s\n}\n' "$1" >"$repo/gitops/main.plumb"
}
config "  app gone = application(name: \"gone\", repo: \"file://$repo\", path: \"gone\", namespace: \"$NS\",
                         automated: true, interval: \"2s\", cascade_delete: \"foreground\")
  app stays = application(name: \"stays\", repo: \"file://$repo\", path: \"stays\", namespace: \"$NS\",
                          automated: true, interval: \"2s\")"
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "two applications"
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
$K create namespace $NS >/dev/null
$K -n $NS create configmap by-hand --from-literal=v=1 >/dev/null
for a in gone stays; do $K delete configmap "plumb-history-$a" --ignore-not-found >/dev/null; done
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/token"

serving "$repo"
synced() { has first && has last && has kept; }
if eventually synced; then ok; else no "both applications are synced"; fi
config ""
commit "both removed"
if eventually logged "gone: no longer declared by the config repository; deleting its objects (cascade_delete: foreground)"; then ok
else no "removed with cascade_delete, its objects are being deleted, the log says"; fi
if eventually logged "stays: no longer declared by the config repository; not managed any more, its objects stay"; then ok; else no "removed without it, it is let go"; fi
if eventually terminating last; then ok; else no "the highest wave goes first"; fi
expect "a lower wave waits while it is there" 0 "" has first
kill -9 "$pid"
wait "$pid" 2>/dev/null
serving "$repo"
if eventually logged "gone: going on deleting its objects (cascade_delete: foreground)"; then ok
else no "a runtime killed half way: the next goes on"; fi
$K -n $NS patch configmap last --type=json -p '[{"op": "remove", "path": "/metadata/finalizers"}]' >/dev/null
if eventually gone first; then ok; else no "once the higher wave is gone, the lower one goes"; fi
if eventually logged "gone: deleted, with its objects"; then ok; else no "the deletion ends"; fi
expect "its history goes with it" 1 "NotFound" $K get configmap plumb-history-gone
expect "an object whose sync options say Delete=false stays" 0 "" has spared
expect "the objects of the application let go stay" 0 "" has kept
expect "and what no application marked is never touched" 0 "" has by-hand

stop_runtime "$pid" "$work/run.log"
pid=
$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "cascade: $pass passed, $fail failed"
