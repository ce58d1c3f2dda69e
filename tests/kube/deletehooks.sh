#!/bin/sh
# PreDelete and PostDelete hooks around the deletion of an application, as
# Argo CD runs them, on a control plane whose Jobs complete (kwok): a sync
# never creates them; a PreDelete Job that fails holds the deletion, its
# objects untouched; declared again with hooks that work and removed
# again, the PreDelete hooks run wave by wave, a Deployment that cannot
# become healthy holding the first, through a kill -9 of the runtime, and
# no object is deleted before they succeeded; the PostDelete hooks run once
# the objects are gone and go as their policy says; nothing without the
# application's mark is touched, not even a namesake of a hook, which
# holds the deletion until it is gone. Usage: deletehooks.sh PLUMB CLUSTER_DIR.
# Last line: "deletehooks: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
NS=deletehooks-test
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
k() { $K -n $NS "$@"; }
has() { k get "$@" >/dev/null 2>&1; }
gone() { ! has "$@"; }
field() { k get "$1" "$2" -o jsonpath="{$3}{\"\\n\"}" 2>/dev/null; }
terminating() { [ -n "$(field configmap top .metadata.deletionTimestamp)" ]; }
data_is() { [ "$(field configmap data .data.v)" = "$1" ]; }
step_is() { [ "$($K get configmap plumb-history-shop -o jsonpath='{.data.deleteStep}')" = "$1" ]; }
logged() { grep -q -- "$1" "$work/run.log"; }
# before FIRST SECOND: in the log, a line holding FIRST comes before one holding SECOND
before() {
  a=$(grep -n -- "$1" "$work/run.log" | head -1 | cut -d: -f1)
  b=$(grep -n -- "$2" "$work/run.log" | head -1 | cut -d: -f1)
  [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]
}

TOL='tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }]'
# shop V BACKUP: the application, its ConfigMap holding V. BACKUP "fails":
# a PreDelete Job whose Pod is never scheduled and that gives up after 2 s;
# "works": one that completes, in wave 1, after a Deployment in wave 0 that
# is healthy only once scaled to 0.
shop() {
  if [ "$2" = fails ]; then
    backup_spec="activeDeadlineSeconds: 2, backoffLimit: 0, template: { spec: { restartPolicy: \"Never\", containers: [{ name: \"b\", image: \"busybox\" }] } }"
    gate=""
  else
    backup_spec="template: { spec: { restartPolicy: \"Never\", $TOL, containers: [{ name: \"b\", image: \"busybox\" }] } }"
    gate='Deployment "gate" {
    metadata: { annotations: { "plumb.dev/hook": "PreDelete" } }
    spec: { replicas: 1, selector: { matchLabels: { app: "gate" } },
      template: { metadata: { labels: { app: "gate" } }, spec: { containers: [{ name: "g", image: "busybox" }] } } }
  }'
  fi
  cat >"$repo/shop/main.plumb" <<EOP
env shop {
  ConfigMap "data" { data: { v: "$1" } }
  // The highest wave, deleted first; held by a finalizer until the test lets it go.
  ConfigMap "top" {
    metadata: { annotations: { "plumb.dev/sync-wave": "5" }, finalizers: ["example.com/hold"] }
    data: { v: "$1" }
  }
  $gate
  Job "backup" {
    metadata: { annotations: { "argocd.argoproj.io/hook": "PreDelete", "argocd.argoproj.io/sync-wave": "1" } }
    spec: { $backup_spec }
  }
  Job "notify" {
    metadata: { annotations: { "plumb.dev/hook": "PostDelete", "plumb.dev/hook-delete-policy": "HookSucceeded" } }
    spec: { template: { spec: { restartPolicy: "Never", $TOL, containers: [{ name: "n", image: "busybox" }] } } }
  }
  ConfigMap "farewell" {
    metadata: { annotations: { "plumb.dev/hook": "PostDelete" } }
    data: { v: "$1" }
  }
}
EOP
}
config() { # config APPS
  printf 'import "std/gitops"\nenv apps {\n%s\n}\n' "$1" >"$repo/gitops/main.plumb"
}
# other: a PostDelete hook whose name a ConfigMap made by hand has.
mkdir -p "$repo/other"
cat >"$repo/other/main.plumb" <<EOP
env other {
  ConfigMap "other-data" { data: { v: "1" } }
  ConfigMap "notice" { metadata: { annotations: { "plumb.dev/hook": "PostDelete" } }, data: { v: "hook" } }
}
EOP
other="  app other = application(name: \"other\", repo: \"file://$repo\", path: \"other\", namespace: \"$NS\",
                          automated: true, interval: \"2s\", cascade_delete: \"background\")"
declared="  app shop = application(name: \"shop\", repo: \"file://$repo\", path: \"shop\", namespace: \"$NS\",
                         automated: true, interval: \"2s\", cascade_delete: \"foreground\")"

mkdir -p "$repo/shop" "$repo/gitops"
shop 1 fails
config "$declared
$other"
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "shop, whose backup cannot run"
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
$K create namespace $NS >/dev/null
# Of the kinds of the application's objects and hooks, without its mark.
k create configmap by-hand --from-literal=v=1 >/dev/null
k create configmap notice --from-literal=v=by-hand >/dev/null
k create job by-hand-job --image=busybox >/dev/null
for a in shop other; do $K delete configmap "plumb-history-$a" --ignore-not-found >/dev/null; done
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/token"

serving "$repo"
if eventually has configmap top && eventually has configmap other-data; then ok; else no "the applications are synced"; fi
expect "a sync creates no PreDelete hook" 1 "NotFound" k get job backup
expect "nor a PostDelete hook" 1 "NotFound" k get configmap farewell

# ---- a PreDelete hook that fails holds the deletion ------------------------------------
config ""
commit "both removed"
if eventually logged "shop: no longer declared by the config repository; deleting its objects"; then ok
else no "removed with cascade_delete, its deletion begins"; fi
if eventually logged "shop: job.batch/backup created (PreDelete hook)"; then ok; else no "its PreDelete hook is created"; fi
if eventually logged "shop: PreDelete hook failed: wave 1: job.batch/backup is Degraded: .*; its objects stay, tried again in 30 s"
then ok; else no "the PreDelete hook fails, and the log says why"; fi
expect "its objects stay" 0 "" has configmap data
expect "even the highest wave: none is deleted" 1 "" terminating
expect "the failed hook stays, to be looked at" 0 "" has job backup
if eventually step_is "PreDelete wave 1"; then ok; else no "the history says the wave is to be created again"; fi

# ---- declared again, fixed, removed again: wave by wave, through a kill -9 ---------------
shop 2 works
config "$declared"
commit "shop again, with a backup that works"
if eventually logged "shop: declared again; the deletion of its objects stops"; then ok; else no "declared again, the deletion stops"; fi
failed_uid=$(field job backup .metadata.uid)
if eventually data_is 2; then ok; else no "the fixed application is synced"; fi
config ""
commit "shop removed again"
if eventually has deployment gate; then ok; else no "the PreDelete hook of the lowest wave is created"; fi
expect "it carries the application's mark" 0 "^shop$" \
  k get deployment gate -o jsonpath='{.metadata.labels.plumb\.dev/application}'
gate_uid=$(field deployment gate .metadata.uid)
sleep 4
same "the next wave waits for it: the backup of the failed attempt is still there" "$failed_uid" field job backup .metadata.uid
expect "no object is deleted while a PreDelete hook runs" 1 "" terminating
if eventually step_is "PreDelete wave 0 created"; then ok; else no "the history says the first wave runs"; fi
kill -9 "$pid"
wait "$pid" 2>/dev/null
cp "$work/run.log" "$work/first.log"
serving "$repo"
if eventually logged "shop: going on deleting its objects (cascade_delete: foreground), at the step PreDelete wave 0 created"
then ok; else no "a runtime killed half way: the next goes on at the same step"; fi
sleep 4
same "the running hook is not created again" "$gate_uid" field deployment gate .metadata.uid
expect "and still no object is deleted" 1 "" terminating
same "nor is the hook of the next wave created (only the failed attempt's was)" 1 \
  grep -c "shop: job.batch/backup created" "$work/first.log"
k scale deployment gate --replicas=0 >/dev/null
if eventually logged "shop: job.batch/backup created (PreDelete hook)"; then ok; else no "once the first wave is healthy, the next one's hook is created"; fi
if eventually terminating; then ok; else no "once the PreDelete hooks succeeded, the highest wave of objects goes"; fi
new_uid=$(field job backup .metadata.uid)
expect "a hook of an earlier attempt is created anew" 0 "" test -n "$new_uid" -a "$new_uid" != "$failed_uid"
done_at=$(field job backup .status.completionTime) deleted_at=$(field configmap top .metadata.deletionTimestamp)
expect "the backup completed before the first object was deleted" 0 "" \
  test -n "$done_at" -a -n "$deleted_at" -a "$(printf '%s\n%s\n' "$done_at" "$deleted_at" | sort | head -1)" = "$done_at"
expect "the lower waves wait" 0 "" has configmap data
absent "no PostDelete hook runs while objects are left" "shop: .*PostDelete hook" cat "$work/run.log"

# ---- the objects go, then the PostDelete hooks -----------------------------------------
k patch configmap top --type=json -p '[{"op": "remove", "path": "/metadata/finalizers"}]' >/dev/null
if eventually logged "shop: deleted, with its objects"; then ok; else no "the deletion ends"; fi
expect "the objects are gone" 1 "NotFound" k get configmap data
expect "the PreDelete hooks went with them" 1 "NotFound" k get deployment gate
expect "the PostDelete hook ran once the objects were gone" 0 "" \
  before "shop: configmap/data deleted" "shop: job.batch/notify created (PostDelete hook)"
expect "its policy says HookSucceeded: it is gone" 0 "" \
  before "shop: job.batch/notify created (PostDelete hook)" "shop: job.batch/notify deleted (PostDelete hook)"
expect "so the Job is gone" 1 "NotFound" k get job notify
expect "a PostDelete hook whose policy says nothing stays" 0 "^shop$" \
  k get configmap farewell -o jsonpath='{.metadata.labels.plumb\.dev/application}'
expect "the history goes last" 1 "NotFound" $K get configmap plumb-history-shop
expect "an object of the same kind without the mark stays" 0 "" has configmap by-hand
expect "a Job without the mark stays" 0 "" has job by-hand-job

# ---- a namesake without the mark holds a PostDelete hook -----------------------------------
if eventually logged "other: PostDelete hook configmap/notice exists without the mark of application other"; then ok
else no "a hook whose namesake has no mark is not created, the log says why"; fi
expect "the namesake is not touched" 0 "^by-hand$" field configmap notice .data.v
expect "its objects went before" 1 "NotFound" k get configmap other-data
expect "its history stays while the hook waits" 0 "PostDelete" \
  $K get configmap plumb-history-other -o jsonpath='{.data.deleteStep}'
k delete configmap notice >/dev/null
if eventually logged "other: deleted, with its objects"; then ok; else no "once the namesake is gone, the hook runs"; fi
expect "and the hook is the application's" 0 "^hook$" field configmap notice .data.v

stop_runtime "$pid" "$work/run.log"
pid=
$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "deletehooks: $pass passed, $fail failed"
