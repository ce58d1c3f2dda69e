#!/bin/sh
# plumb run as a service, against a real control plane: its HTTP port (the
# probes, /metrics, the API), git webhooks, and the commands that talk to
# it (status, sync, history, rollback). One runtime runs in the background
# for the whole script; the poll interval is an hour, so whatever happens
# after the first pass happens because something asked.
# Usage: serve.sh PLUMB CLUSTER_DIR. Last line: "serve: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

head_commit() { (cd "$repo" && git rev-parse HEAD); }
mode() { $K -n serve-cfg get configmap settings -o jsonpath='{.data.mode}'; }
settings() { # settings MODE: the cfg application's files
  cat >"$repo/cfg/main.plumb" <<EOP
env cfg {
  namespace: "serve-cfg"
  Namespace "serve-cfg" {}
  ConfigMap "settings" { data: { mode: "$1" } }
}
EOP
}
http() { # http PATH [CURL ARGS...]: prints the status code, the body in $work/body
  path=$1; shift
  curl -s -o "$work/body" -w '%{http_code}' "$@" "$url$path"
}
# A GitHub push delivery of the deploy repository, signed with SECRET.
push() { # push SECRET
  printf '{"ref":"refs/heads/main","after":"%s","repository":{"clone_url":"file://%s/","html_url":"https://example.com/x"}}' \
    "$(head_commit)" "$repo" >"$work/push.json"
  sig=$(openssl dgst -sha256 -hmac "$1" <"$work/push.json" | sed 's/.* //')
  http /api/v1/webhook -X POST -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    -H "X-Hub-Signature-256: sha256=$sig" --data-binary @"$work/push.json"
}

# Two applications: cfg (a Namespace and a ConfigMap: kinds that are Healthy
# once they exist) and web (the nginx example: its Deployment never becomes
# available, as no kubelet runs pods here).
mkdir -p "$repo/cfg"
cp -r "$ROOT/examples/nginx/apps" "$ROOT/examples/nginx/envs" "$repo/"
sed -i "s/nginx-dev/serve-web/g" "$repo/envs/dev/main.plumb"
settings one
gitops_apps "$repo" "cfg cfg prune: true" "web envs/dev"
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "cfg one"
first=$(head_commit)
# Histories of an earlier run would number the syncs differently.
$K delete configmap plumb-history-cfg plumb-history-web --ignore-not-found >/dev/null
printf 's3cret-token\n' >"$work/token"
printf 'hook-secret\n' >"$work/secret"

serving "$repo" --probe-listen 127.0.0.1:0 --webhook-secret-file "$work/secret"
probes=http://127.0.0.1:$(sed -n 's/.*serving the probes on port \([0-9]*\).*/\1/p' "$work/run.log")

# ---- probes, metrics, authentication -------------------------------------------------
same "/healthz answers 200" 200 http /healthz
ready() { [ "$(http /readyz)" = 200 ]; }
if eventually ready; then ok; else no "/readyz answers 200 after the first pass"; fi
# The probe port: the probes and /metrics, nothing else.
same "the probe port's /healthz answers 200" 200 curl -s -o /dev/null -w '%{http_code}' "$probes/healthz"
same "the probe port's /readyz answers 200" 200 curl -s -o /dev/null -w '%{http_code}' "$probes/readyz"
same "the probe port has no API" 404 curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer s3cret-token" \
  "$probes/api/v1/apps"
http /metrics >/dev/null
for m in plumb_syncs_total plumb_reconcile_duration_seconds_bucket plumb_apply_duration_seconds_bucket \
  plumb_drift_events_total plumb_git_fetches_total plumb_git_fetch_failures_total plumb_apps; do
  expect "/metrics has $m" 0 "^$m" cat "$work/body"
done
expect "/metrics counts the first syncs" 0 '^plumb_syncs_total\{app="cfg",result="Synced"\} 1$' cat "$work/body"
expect "/metrics counts the applications" 0 '^plumb_apps\{sync_status="Synced",health="Healthy"\} 1$' cat "$work/body"
same "the API without a token: 401" 401 http /api/v1/apps
same "the API with a wrong token: 401" 401 http /api/v1/apps -H "Authorization: Bearer nope"
expect "plumb status without a token is refused" 1 "401" $PLUMB status --server "$url"
same "the API with the token: 200" 200 http /api/v1/apps -H "Authorization: Bearer s3cret-token"
expect "PLUMB_TOKEN gives the token too" 0 "^cfg " env PLUMB_TOKEN=s3cret-token $PLUMB status --server "$url"

# ---- status -----------------------------------------------------------------------------
expect "status has kubectl's columns" 0 "^NAME +SYNC +HEALTH +REVISION +AGE +MESSAGE$" p status
expect "a ConfigMap-only application is Synced and Healthy" 0 "^cfg +Synced +Healthy +$(echo "$first" | cut -c1-7) " p status
expect "a Deployment no kubelet runs is Progressing" 0 "^web +Synced +Progressing " p status
expect "status APP lists its resources" 0 "^ConfigMap +serve-cfg +settings +Synced +Healthy" p status cfg
expect "status APP: the Deployment's health message" 0 "^Deployment +serve-web +nginx-deployment +Synced +Progressing +.*" p status web
expect "status -o json is the API's document" 0 '"health": "Progressing"' p status web -o json
expect "status of an unknown application: 404" 1 "nope: Not Found \(HTTP 404\)" p status nope

# ---- webhooks ---------------------------------------------------------------------------
settings two
commit "cfg two"
second=$(head_commit)
same "a push with a bad signature: 401" 401 push wrong-secret
sleep 3
same "a refused push triggers nothing" one mode
same "a signed push: 200" 200 push hook-secret
if eventually is mode two; then ok; else no "a signed push is applied without waiting for the poll"; fi
synced_twice() { p history cfg | grep -Eq "^2 +$(echo "$second" | cut -c1-7) .* Synced +auto$"; }
if eventually synced_twice; then ok; else no "history lists both syncs"; fi
expect "history has its columns" 0 "^ID +REVISION +TIME +RESULT +BY +MESSAGE\$" p history cfg
expect "history: the first sync, the runtime's own" 0 "^1 +$(echo "$first" | cut -c1-7) +[0-9TZ:-]+ +Synced +auto$" \
  p history cfg

# ---- sync ---------------------------------------------------------------------------------
$K -n serve-cfg patch configmap settings --type merge -p '{"data":{"mode":"by-hand"}}' >/dev/null
expect "plumb sync queues a sync" 0 "^cfg: sync queued$" p sync cfg
if eventually is mode two; then ok; else no "plumb sync applies the commit again"; fi
asked_by_admin() { p history cfg | grep -Eq "^3 +$(echo "$second" | cut -c1-7) .* Synced +admin$"; }
if eventually asked_by_admin; then ok; else no "the history names who asked for the sync"; fi

# ---- rollback -----------------------------------------------------------------------------
expect "plumb rollback goes to the previous successful sync" 0 \
  "^cfg: rollback to history entry 1 \($(echo "$first" | cut -c1-7)\) queued$" p rollback cfg
if eventually is mode one; then ok; else no "the rollback restores the previous revision"; fi
paused() { p status cfg | grep -q "auto-sync paused after rollback to $(echo "$first" | cut -c1-7)"; }
if eventually paused; then ok; else no "status says automated sync is paused"; fi
expect "after a rollback the application is OutOfSync" 0 "^cfg +OutOfSync " p status
same "a push of the same revision: 200" 200 push hook-secret
sleep 3
same "while paused, the revision is not applied" one mode
expect "the pause is kept in the history ConfigMap" 0 "$first" \
  $K get configmap plumb-history-cfg -o jsonpath='{.data.rollback}'
p sync cfg >/dev/null
if eventually is mode two; then ok; else no "plumb sync ends the pause"; fi
unpaused() { p status cfg -o json | grep -q '"autoSync": true'; }
if eventually unpaused; then ok; else no "after plumb sync automated sync is on again"; fi
expect "rollback to an entry by id" 0 "^cfg: rollback to history entry 1 " p rollback cfg 1
if eventually is mode one; then ok; else no "rollback ID restores that entry's revision"; fi
settings three
commit "cfg three"
push hook-secret >/dev/null
if eventually is mode three; then ok; else no "a new commit ends the pause and is applied"; fi
expect "rollback to an entry that is not there: 404" 1 "no history entry with that id" p rollback cfg 99

# ---- suspend and resume -------------------------------------------------------------------
expect "plumb suspend queues it" 0 "^cfg: suspend queued$" p suspend cfg
suspended() { p status cfg | grep -q "auto-sync suspended"; }
if eventually suspended; then ok; else no "status says automated sync is suspended"; fi
settings held
commit "cfg held"
push hook-secret >/dev/null
out_of_sync() { p status cfg | grep -q "OutOfSync"; }
if eventually out_of_sync; then ok; else no "a suspended application still compares: OutOfSync"; fi
same "and nothing of the new commit is applied" three mode
expect "plumb resume queues it" 0 "^cfg: resume queued$" p resume cfg
if eventually is mode held; then ok; else no "resumed, the commit is applied"; fi

# ---- a rollback builds with its entry's args ------------------------------------------------
cat >"$repo/cfg/main.plumb" <<EOP
env cfg(mode: string) {
  namespace: "serve-cfg"
  Namespace "serve-cfg" {}
  ConfigMap "settings" { data: { mode: mode } }
}
EOP
gitops_apps "$repo" 'cfg cfg prune: true, args: { mode: "four" }' "web envs/dev"
commit "cfg: the mode from the application's args"
four=$(head_commit | cut -c1-7)
push hook-secret >/dev/null
if eventually is mode four; then ok; else no "an application's args are applied"; fi
gitops_apps "$repo" 'cfg cfg prune: true, args: { mode: "five" }' "web envs/dev"
commit "cfg: other args"
push hook-secret >/dev/null
if eventually is mode five; then ok; else no "other args are applied"; fi
id=$(p history cfg | awk -v c="$four" '$2 == c && $4 == "Synced" { id = $1 } END { print id }')
expect "rollback to the entry of other args" 0 "^cfg: rollback to history entry $id " p rollback cfg "$id"
if eventually is mode four; then ok; else no "a rollback builds with the args of its entry"; fi
p sync cfg >/dev/null
if eventually is mode five; then ok; else no "a sync after it builds with the application's args"; fi

# ---- stopping -------------------------------------------------------------------------------
stop_runtime "$pid" "$work/run.log"
pid=

$K delete namespace serve-cfg serve-web --wait=false >/dev/null 2>&1
$K delete configmap plumb-history-cfg plumb-history-web >/dev/null 2>&1
echo "serve: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
