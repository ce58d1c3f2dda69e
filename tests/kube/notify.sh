#!/bin/sh
# Notifications, against a real control plane and a local receiver
# (receiver.py): a sync failure repeated is told once to a webhook, signed,
# with its URL's secret never in the log; a Slack receiver down gets it
# after retries once it is back; a receiver that hangs does not slow a
# sync; a runtime killed with -9 and started again tells nothing twice;
# deployed and a sync's beginning once per commit; an application left
# OutOfSync (no automated sync) is told once it has been so for its
# out_of_sync_for, not before, not again after a restart, and again once
# it was Synced in between; with --public-url, the body links to the
# application's page. Usage: notify.sh PLUMB CLUSTER_DIR. Last line:
# "notify: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
cd "$ROOT"
repo=$work/deploy
rx=$work/receiver
NS=notify-test
pid= rxpid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$rxpid" ] && kill "$rxpid" 2>/dev/null; rm -rf "$work"' EXIT

# got NAME TRIGGER [STATUS]: how many requests to NAME told TRIGGER (and were answered STATUS, 200 unless given)
got() {
  python3 - "$rx/requests" "$1" "$2" "${3:-200}" <<'PY'
import json, sys
n = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        if r["name"] != sys.argv[2] or r["status"] != int(sys.argv[4]) or sys.argv[3] not in r["body"]:
            continue
        n += 1
except FileNotFoundError:
    pass
print(n)
PY
}
# signed: every request to hook has X-Plumb-Signature-256, the HMAC-SHA256 of its body under the key
signed() {
  python3 - "$rx/requests" <<'PY'
import hashlib, hmac, json, sys
rs = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["name"] == "hook"]
ok = rs and all(r["headers"].get("X-Plumb-Signature-256") ==
                "sha256=" + hmac.new(b"k3y", r["body"].encode(), hashlib.sha256).hexdigest() for r in rs)
print("signed" if ok else "not signed")
PY
}
at_least() { [ "$(got "$1" "$2" "${4:-200}")" -ge "$3" ]; } # at_least NAME TRIGGER N [STATUS]
failed_twice() { [ "$(grep -c "taken failed" "$work/run.log")" -ge 2 ]; }
env_of() {
  mkdir -p "$repo/nt"
  printf 'env nt {\n%s\n}\n' "$1" >"$repo/nt/main.plumb"
}
synced_at_head() { p status | grep -Eq "^nt +Synced +[A-Za-z]+ +$(cd "$repo" && git rev-parse --short=7 HEAD)"; }
oos_is() { p status | grep -Eq "^oos +$1 "; }
oos_since() { $K get configmap plumb-history-oos -o jsonpath='{.data.outOfSyncSince}'; }
# How long after its OutOfSync began on-out-of-sync came to hook, in whole seconds.
told_after() {
  python3 - "$rx/requests" "$(date -d "$(oos_since)" +%s)" <<'PY'
import json, sys
told = [json.loads(l)["time"] for l in open(sys.argv[1]) if "on-out-of-sync" in json.loads(l)["body"]]
print(int(told[0] - int(sys.argv[2])))
PY
}

mkdir -p "$rx"
python3 "$ROOT/tests/kube/receiver.py" "$rx" &
rxpid=$!
eventually test -f "$rx/port"
base=http://127.0.0.1:$(cat "$rx/port")

$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
$K create namespace $NS >/dev/null
$K delete configmap plumb-history-nt plumb-history-oos --ignore-not-found >/dev/null
$K delete secret notify-hook notify-flaky notify-slow --ignore-not-found >/dev/null
$K create secret generic notify-hook --from-literal=url="$base/hook?token=s3cret" --from-literal=hmac_key=k3y >/dev/null
$K create secret generic notify-flaky --from-literal=url="$base/flaky?token=s3cret" >/dev/null
$K create secret generic notify-slow --from-literal=url="$base/slow?token=s3cret" >/dev/null

mkdir -p "$repo/gitops"
cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app hook = notifier(name: "hook", type: "webhook", secret: "notify-hook", headers: { "X-Team": "shop" })
  app flaky = notifier(name: "flaky", type: "slack", secret: "notify-flaky")
  app slow = notifier(name: "slow", type: "teams", secret: "notify-slow")
  app p = project(name: "p", subscribe: { "on-sync-failed": "flaky" })
  app nt = application(name: "nt", repo: "file://$repo", path: "nt", namespace: "$NS", project: "p", automated: true,
                       self_heal: true, interval: "2s",
                       subscribe: { "on-sync-running": "hook", "on-sync-failed": "hook", "on-deployed": ["hook", "slow"] })
  app oos = application(name: "oos", repo: "file://$repo", path: "oos", namespace: "$NS", interval: "1h",
                        out_of_sync_for: "15s", subscribe: { "on-out-of-sync": "hook" })
}
EOP
env_of '  ConfigMap "a" { data: { v: "1" } }'
mkdir -p "$repo/oos"
printf 'env oos {\n  ConfigMap "o" { data: { v: "1" } }\n}\n' >"$repo/oos/main.plumb"
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "a"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/token"
touch "$rx/hang-slow"
serving "$repo" --public-url http://plumb.example.com/

# Not synced by itself, oos is OutOfSync from its first pass: not told yet.
if eventually oos_is OutOfSync; then ok; else no "an application without automated sync is OutOfSync"; fi
same "OutOfSync is not told before its time" 0 got hook on-out-of-sync

# Deployed: told to hook; slow hangs on it.
if eventually at_least hook on-deployed 1; then ok; else no "deployed (synced and healthy) is told"; fi
same "signed with the hook's key" signed signed
expect "with the headers it declares" 0 '"X-Team": "shop"' cat "$rx/requests"
cp "$rx/requests" "$work/requests1"
expect "with --public-url, a link to the application's page" 0 '\\"link\\":\\"http://plumb.example.com/apps/nt\\"' \
  cat "$work/requests1"

# A sync while slow hangs: not held up by it.
env_of '  ConfigMap "a" { data: { v: "2" } }'
commit "a 2"
start=$(date +%s)
if eventually synced_at_head; then ok; else no "a sync goes on while a receiver hangs"; fi
took() { [ $(($(date +%s) - start)) -lt 10 ]; }
if took; then ok; else no "and takes less than 10 s ($(($(date +%s) - start)) s)"; fi
if eventually at_least hook on-deployed 2; then ok; else no "the new commit is deployed, and told"; fi

# A failure, repeated: told once, to hook at once, to flaky (down) after retries.
touch "$rx/down-flaky"
$K -n $NS create configmap taken --from-literal=v=1 >/dev/null
env_of '  ConfigMap "a" { data: { v: "2" } }
  ConfigMap "taken" { data: { v: "1" } }'
commit "taken"
if eventually at_least hook on-sync-failed 1; then ok; else no "a sync failure is told"; fi
if eventually at_least flaky sync-failed 2 503; then ok; else no "to a receiver down, tried again"; fi
rm "$rx/down-flaky"
if eventually at_least flaky sync-failed 1; then ok; else no "and got once it is back"; fi
if eventually failed_twice; then ok; else no "the sync fails again"; fi
same "the failure is told to hook once" 1 got hook on-sync-failed
same "each commit's sync beginning once, not each retry" 3 got hook on-sync-running
same "and to flaky once" 1 got flaky sync-failed
expect "the log says the notifications" 0 "^nt: notifying hook: on-sync-failed" cat "$work/run.log"
absent "and never the URL's secret" "s3cret|k3y" cat "$work/run.log"
same "a notification's body holds the failure" 1 sh -c "grep -c 'on-sync-failed.*configmap/taken' '$rx/requests'"
expect "the history keeps what was told" 0 "on-sync-failed" \
  $K get configmap plumb-history-nt -o jsonpath='{.data.notified}'

# OutOfSync for 15 s: told once, not before, and within a minute though its
# interval is an hour (a pass comes when it falls due); the receiver may get
# it a little later, after the sender's attempt at slow, which hangs, times out.
if eventually at_least hook on-out-of-sync 1; then ok; else no "OutOfSync for its out_of_sync_for is told"; fi
after=$(told_after)
if [ "$after" -ge 15 ] && [ "$after" -le 60 ]; then ok; else no "told 15 s after OutOfSync began, not $after s"; fi
sleep 3
same "OutOfSync is told once" 1 got hook on-out-of-sync
cp "$rx/requests" "$work/requests2"
expect "it links to the application's page" 0 'on-out-of-sync.*http://plumb.example.com/apps/oos' cat "$work/requests2"
since=$(oos_since)

# kill -9, started again: the failure goes on, and is not told again; nor deployed.
kill -9 "$pid"
wait "$pid" 2>/dev/null
mv "$work/run.log" "$work/run1.log"
serving "$repo" --public-url http://plumb.example.com
if eventually failed_twice; then ok; else no "after a restart the sync fails again"; fi
same "not told twice after kill -9" 1 got hook on-sync-failed
same "nor to the project's notifier" 1 got flaky sync-failed
same "nor deployed again" 2 got hook on-deployed
same "nor a sync's beginning" 3 got hook on-sync-running
if eventually oos_is OutOfSync; then ok; else no "after a restart oos is OutOfSync still"; fi
same "OutOfSync since the same time after a restart" "$since" oos_since
sleep 2
same "nor OutOfSync told again" 1 got hook on-out-of-sync

# Synced in between: OutOfSync is news again.
expect "oos syncs when asked" 0 "" p sync oos
if eventually oos_is Synced; then ok; else no "oos is Synced once synced"; fi
same "Synced ends the time OutOfSync" "" oos_since
$K -n $NS patch configmap o --type merge -p '{"data":{"v":"by hand"}}' >/dev/null
if eventually oos_is OutOfSync; then ok; else no "a change by hand makes oos OutOfSync again"; fi
same "not told at once" 1 got hook on-out-of-sync
if eventually at_least hook on-out-of-sync 2; then ok; else no "OutOfSync again after Synced is told again"; fi

# Mended: deployed again, told; a failure after it is news again.
$K -n $NS delete configmap taken >/dev/null
env_of '  ConfigMap "a" { data: { v: "3" } }'
commit "mended"
if eventually at_least hook on-deployed 3; then ok; else no "deployed after the failure is told"; fi

[ $fail = 0 ] || { cat "$rx/requests" | cut -c1-300; grep "^nt: \|notif" "$work/run.log" | tail -40; }
rm -f "$rx/hang-slow"
stop_runtime "$pid" "$work/run.log"
pid=
kill "$rxpid"
rxpid=
$K delete namespace $NS --wait=false >/dev/null 2>&1
$K delete secret notify-hook notify-flaky notify-slow >/dev/null 2>&1
$K delete configmap plumb-history-nt plumb-history-oos >/dev/null 2>&1
echo "notify: $pass passed, $fail failed"
