#!/bin/sh
# plumb run sharded (--shards) across replicas, three runtime processes on
# a real control plane: the shards split evenly; kill -9 of one and the
# others take its applications within the Lease duration and a pass, with
# no application synced twice; one paused by SIGSTOP past its Lease writes
# nothing when it wakes (its statuses of the commit before would show)
# until it holds a shard again; one added takes its share from the others
# alone; one cut off from the API server by a partition (partition.py) is
# replaced, and writes nothing stale when the partition heals; all of them
# take their shards again after the API server restarts; the API of any
# replica answers for every application and says which replica syncs it.
# Usage: shard.sh PLUMB CLUSTER_DIR. Last line: "shard: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/apps
pids=
trap 'for p in $pids; do kill -9 "$p" 2>/dev/null; done; [ -n "${KEEP_LOGS:-}" ] && cp "$work"/*.log "$KEEP_LOGS"; rm -rf "$work"' EXIT
SHARDS=8
APPS="a01 a02 a03 a04 a05 a06 a07 a08 a09 a10 a11 a12"

now() { date +%s.%N; }
# patiently COMMAND...: within 3 minutes: replicas under the sanitizers on
# two cores compile every application when they start.
patiently() { within 180 "$@"; }
since() { echo "$(now) - $1" | bc; }
version() { # version V: every application one ConfigMap of data v: V
  for app in $APPS; do
    mkdir -p "$repo/apps/$app"
    printf 'env %s {\n  namespace: "shard"\n  ConfigMap "cm-%s" { data: { v: "%s" } }\n}\n' "$app" "$app" "$1" \
      >"$repo/apps/$app/main.plumb"
  done
}
# start NAME [KUBECONFIG]: a replica in the background, its log in
# $work/NAME.log, its URL in $url_NAME.
# (each on a port chosen beforehand, which its member Lease gives the
# others: they pass requests about its applications on to it)
start() {
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  $PLUMB run "file://$repo" --config-path gitops --cache "$work/cache-$1" --context admin \
    --listen "127.0.0.1:$port" --advertise-url "http://127.0.0.1:$port" \
    --kubeconfig "${2:-$KUBECONFIG}" --token-file "$work/token" --lease-duration 3s --shards $SHARDS \
    >"$work/$1.log" 2>&1 &
  eval "pid_$1=$!"
  pids="$pids $!"
  eventually grep -q "serving on port" "$work/$1.log"
  eval "url_$1=http://127.0.0.1:$port"
}
values() { $K -n shard get configmaps -l plumb.dev/application -o jsonpath='{range .items[*]}{.data.v}{"\n"}{end}' | sort | uniq -c | sed 's/^ *//'; }
all_at() { [ "$(values)" = "12 $1" ]; }
# holders: the holder of each shard Lease, one a line, in shard order
holders() {
  k=0
  while [ $k -lt $SHARDS ]; do
    $K get lease "plumb-shard-$k" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null
    echo
    k=$((k + 1))
  done
}
held_by() { holders | grep -c "^$1\$"; } # held_by IDENTITY: how many shards it holds
# taken_from IDENTITY: it holds none, and every shard has a holder
taken_from() { [ "$(held_by "$1")" = 0 ] && [ "$(holders | grep -c '^$')" = 0 ]; }
all_held_by() { [ "$(held_by "$1")" = $SHARDS ]; }
# split: how many shards each holder holds, counts sorted ("2 3 3")
split() { holders | sort | uniq -c | awk '$2 != "" { print $1 }' | sort -n | tr '\n' ' ' | sed 's/ $//'; }
identity_of() { sed -n 's/^plumb run: replica \([^ ,]*\),.*/\1/p' "$work/$1.log"; }
api() { curl -s -H "Authorization: Bearer tok" "$1/api/v1/apps$2"; }
# syncs COMMIT: how many "syncing ... at COMMIT" lines each application has
# in every replica's log, as "COUNT APP" lines
syncs() { cat "$work"/*.log | sed -n "s/^\(a[0-9]*\): syncing .* at $1 to .*/\1/p" | sort | uniq -c | sed 's/^ *//'; }
once_each() { [ "$(syncs "$1" | awk '$1 != 1' | wc -l)" = 0 ] && [ "$(syncs "$1" | wc -l)" = 12 ]; }
head7() { (cd "$repo" && git rev-parse --short=7 HEAD); }
# quiet_until_held NAME MARK V SHA: watches, until the log of NAME after
# line MARK says it holds a shard again (back=1; 0 if not within 60 s),
# that every ConfigMap stays at V and every Application object names SHA
# (stale=1 if not): a replica that lost its shards must not write what it
# knew before it takes one again.
quiet_until_held() {
  back=0 stale=0 until=$(($(date +%s) + 60))
  while [ "$(date +%s)" -lt $until ]; do
    if tail -n +"$(($2 + 1))" "$work/$1.log" | grep -q "plumb run: holding shards [0-9]"; then back=1; break; fi
    all_at "$3" && is revisions "12 $4" || stale=1
    sleep 0.1
  done
}
# while_away NAME V BACK...: with NAME away (paused, or cut off), commits
# version V, which the others apply; then runs BACK, and checks with
# quiet_until_held from that moment (mark: the line of NAME's log).
while_away() {
  name=$1 v=$2; shift 2
  version "$v"
  commit "v$v"
  if patiently all_at "$v"; then ok; else
    { values; api "$url_a" "" | jq -c '.apps[] | [.name, .sync, .commit, .replica]'; holders; } >"$work/out"
    no "the others apply v$v, which $name does not see"
  fi
  sha=$(cd "$repo" && git rev-parse HEAD)
  if eventually is revisions "12 $sha"; then ok; else revisions >"$work/out"; no "and the Application objects say so"; fi
  mark=$(wc -l <"$work/$name.log")
  "$@"
  quiet_until_held "$name" "$mark" "$v" "$sha"
  same "$name, back, wrote nothing before it held a shard again" 0 echo "$stale"
  if [ "$back" = 1 ]; then ok; else
    { tail -n +"$((mark + 1))" "$work/$name.log" | tail -20; echo "holders:"; holders; } >"$work/out"
    no "and $name rejoins: it holds shards again"
  fi
}
# revisions: the commits the Application objects' statuses name, counted
revisions() { $K get applications.plumb.dev -o jsonpath='{range .items[*]}{.status.sync.revision}{"\n"}{end}' | sort | uniq -c | sed 's/^ *//'; }

version 1
mkdir -p "$repo/gitops"
{
  printf 'import "std/gitops"\nenv apps {\n'
  for app in $APPS; do
    printf '  app %s = application(name: "%s", repo: "file://%s", path: "apps/%s", project: "p", automated: true,\n' \
      "$app" "$app" "$repo" "$app"
    printf '    self_heal: true, interval: "2s")\n'
  done
  printf '  app project = project(name: "p")\n}\n'
} >"$repo/gitops/main.plumb"
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "v1"
$K create namespace shard >/dev/null 2>&1
# A cluster used before: what an earlier run left would already be at v1.
$K -n shard delete configmaps -l plumb.dev/application --ignore-not-found >/dev/null
k=0
while [ $k -lt $SHARDS ]; do $K delete lease "plumb-shard-$k" --ignore-not-found >/dev/null; k=$((k + 1)); done
printf 'tok\n' >"$work/token"
install_plumb_crds

# ---- an even split ------------------------------------------------------------------------
start a
start b
start c
if patiently all_at 1; then ok; else values >"$work/out"; no "three replicas sync all twelve applications"; fi
if eventually is split "2 3 3"; then ok; else holders >"$work/out"; no "the 8 shards split 3, 3 and 2"; fi
if once_each "$(head7)"; then ok; else syncs "$(head7)" >"$work/out"; no "each application is synced once, by one replica"; fi
for r in a b c; do
  if grep -q "plumb run: holding shards [0-9]" "$work/$r.log"; then ok; else cp "$work/$r.log" "$work/out"; no "replica $r says which shards it holds"; fi
done
# Any replica answers for every application, saying which replica syncs it.
# Another's status is read from its Application object at this replica's
# next round, and the holders from the Leases at its next look, so both
# may lag the ConfigMaps a moment.
synced_at_a() { jq -r '.apps[] | select(.sync == "Synced") | .name' "$work/apps.json" | wc -l; }
# replicas_at_a: how many applications name a replica, and how many replicas they name
replicas_at_a() { echo "$(jq '[.apps[] | select(.replica != "")] | length' "$work/apps.json")" \
  "$(jq -r '.apps[].replica | select(. != "")' "$work/apps.json" | sort -u | wc -l)"; }
settled_at_a() { api "$url_a" "" >"$work/apps.json" && [ "$(synced_at_a)" = 12 ] && [ "$(replicas_at_a)" = "12 3" ]; }
eventually settled_at_a
same "a's API lists all twelve, each Synced" 12 synced_at_a
same "and names a replica for each, of the three" "12 3" replicas_at_a
# Each replica's live view keeps the objects of its own applications only
# (one ConfigMap each), so memory follows the shards held, not the fleet.
# keeps_own R...: each of the replicas R keeps as many as it holds.
cached() { eval "curl -s \$url_$1/metrics" | sed -n 's/^plumb_cache_objects{cluster="in-cluster"} \([0-9]*\)$/\1/p'; }
held_apps() { api "$url_a" "" | jq --arg id "$(identity_of "$1")" '[.apps[] | select(.replica == $id)] | length'; }
keeps_own() { for r in "$@"; do [ "$(cached $r)" = "$(held_apps $r)" ] || return 1; done; }
kept() { for r in "$@"; do echo "$r: keeps $(cached $r), holds $(held_apps $r)"; done; }
if eventually keeps_own a b c; then ok; else kept a b c >"$work/out"; no "each replica's live view keeps only its own applications' objects"; fi
url=$url_a
expect "plumb status shows a REPLICA column" 0 "^a01 +Synced .*$(identity_of a)|^a01 +Synced .*$(identity_of b)|^a01 +Synced .*$(identity_of c)" p status
expect "and its header" 0 "^NAME +SYNC +HEALTH +REVISION +AGE +REPLICA +MESSAGE" p status
# What only the replica that syncs an application knows or does, asked of
# another, is passed on to it: the answers are its own.
other=$(jq -r --arg a "$(identity_of a)" '[.apps[] | select(.replica != $a)][0].name' "$work/apps.json")
holder=$(jq -r --arg n "$other" '.apps[] | select(.name == $n) | .replica' "$work/apps.json")
owner=$(for r in a b c; do [ "$(identity_of $r)" = "$holder" ] && echo $r; done)
owner_url=$(eval "echo \$url_$owner")
for part in diff resources; do
  api "$owner_url" "/$other/$part" | jq -cS . >"$work/owner.$part"
  if [ -s "$work/owner.$part" ] && api "$url_a" "/$other/$part" | jq -cS . | cmp -s - "$work/owner.$part"; then ok; else
    { cat "$work/owner.$part"; api "$url_a" "/$other/$part"; } >"$work/out"; no "a's answer for another's $part is its replica's"
  fi
done
syncs_of() { grep -c "^$other: syncing .* at $(head7) " "$work/$owner.log"; }
before=$(syncs_of)
same "a sync asked of another replica is passed on (202)" 202 curl -s -o "$work/passed.json" -w '%{http_code}' \
  -X POST -H "Authorization: Bearer tok" "$url_a/api/v1/apps/$other/sync"
same "and queued there" sync jq -r .queued "$work/passed.json"
if eventually is syncs_of $((before + 1)); then ok; else cp "$work/$owner.log" "$work/out"; no "which syncs it"; fi
# Whom a request was passed on for (a web UI session's user, there) its
# history names, on admin's word alone.
last_trigger() { api "$owner_url" "/$other/history" | jq -r '.history | max_by(.id) | .trigger'; }
if eventually is last_trigger admin; then ok; else last_trigger >"$work/out"; no "its history names who asked (admin's token)"; fi
same "a sync passed on for a session's user (202)" 202 curl -s -o /dev/null -w '%{http_code}' -X POST \
  -H "Authorization: Bearer tok" -H "X-Plumb-Forwarded: 1" -H "X-Plumb-User: alice" "$owner_url/api/v1/apps/$other/sync"
if eventually is last_trigger alice; then ok; else last_trigger >"$work/out"; no "its history names that user"; fi
# One passed on already, or a session's, is not passed on again: 409, and
# which replica to ask.
same "a request passed on once is not passed on again (409)" 409 curl -s -o "$work/refused.json" -w '%{http_code}' \
  -X POST -H "Authorization: Bearer tok" -H "X-Plumb-Forwarded: 1" "$url_a/api/v1/apps/$other/sync"
same "naming the replica that syncs it" "$holder" jq -r .replica "$work/refused.json"
# Its history, which this replica does not keep, is read from the cluster.
api "$owner_url" "/$other/history" | jq -c '[.applied, [.history[].revision]]' >"$work/owner.history"
same "a replica answers for the history of another's application" "$(cat "$work/owner.history")" \
  sh -c "curl -s -H 'Authorization: Bearer tok' '$url_a/api/v1/apps/$other/history' | jq -c '[.applied, [.history[].revision]]'"
expect "which has the sync" 0 '"[0-9a-f]{40}"' cat "$work/owner.history"

# ---- kill -9 of a replica -----------------------------------------------------------------
id_c=$(identity_of c)
kill -9 "$pid_c"
wait "$pid_c" 2>/dev/null
t0=$(now)
if eventually taken_from "$id_c"; then ok; else
  holders >"$work/out"; no "the survivors take every shard of the killed replica"; fi
took=$(since "$t0")
if [ "$(echo "$took <= 8" | bc)" = 1 ]; then ok; else echo "took $took s" >"$work/out"; no "within the Lease duration (3 s) + 5 s"; fi
echo "shard: takeover after kill -9 in $took s" >&2
if eventually is split "4 4"; then ok; else holders >"$work/out"; no "the shards split 4 and 4"; fi
# What the survivors took they list again: nothing of it has changed
# since, so no event would have brought it.
if eventually keeps_own a b; then ok; else kept a b >"$work/out"; no "the survivors' live views keep what they took"; fi
version 2
commit "v2"
if patiently all_at 2; then ok; else values >"$work/out"; no "the next commit reaches all twelve, the killed replica's too"; fi
if once_each "$(head7)"; then ok; else syncs "$(head7)" >"$work/out"; no "each application is synced once at it"; fi

# ---- SIGSTOP past the Lease ---------------------------------------------------------------
# b is paused; a takes all and applies a commit b has not seen. When b
# wakes, what it knows is of v2: a status it wrote before it holds a shard
# again would name v2's commit on the Application objects.
id_b=$(identity_of b)
kill -STOP "$pid_b"
if eventually all_held_by "$(identity_of a)"; then ok; else holders >"$work/out"; no "a takes every shard of the paused replica"; fi
while_away b 3 kill -CONT "$pid_b"
if tail -n +"$((mark + 1))" "$work/b.log" | grep -q "plumb run: holding shards (none)"; then ok; else
  tail -n +"$((mark + 1))" "$work/b.log" >"$work/out"; no "it first says it holds none, its Leases lapsed"; fi
if eventually is split "4 4"; then ok; else holders >"$work/out"; no "a and b split the shards again"; fi

# ---- a replica added ----------------------------------------------------------------------
# d reaches the API server through partition.py, for the partition below.
python3 "$ROOT/tests/kube/partition.py" "$PLUMB_TEST_API_PORT" "$work/proxy.port" &
proxy=$!
pids="$pids $proxy"
eventually test -s "$work/proxy.port"
$K config view --raw --minify --context admin |
  sed "s|server: https://127.0.0.1:$PLUMB_TEST_API_PORT|server: https://127.0.0.1:$(cat "$work/proxy.port")|" >"$work/cut.kubeconfig"
holders >"$work/before"
start d "$work/cut.kubeconfig"
if eventually is split "2 3 3"; then ok; else holders >"$work/out"; no "a third replica again takes its share: 2 of 8"; fi
holders >"$work/after"
id_d=$(identity_of d)
paste -d ' ' "$work/before" "$work/after" | awk -v d="$id_d" '$1 != $2 && $2 != d' >"$work/out"
same "only shards that went to the new replica moved" "" cat "$work/out"
version 4
commit "v4"
if patiently all_at 4; then ok; else { values; for u in $url_a $url_b $url_d; do echo "$u"; api "$u" "" | jq -c '.apps[] | [.name, .sync, .commit[0:7], .replica, .message]'; done; holders; } >"$work/out"; no "three replicas sync the next commit"; fi
if once_each "$(head7)"; then ok; else syncs "$(head7)" >"$work/out"; no "each application once"; fi

# ---- a partition --------------------------------------------------------------------------
# d is cut off: nothing it sends arrives, ever. a and b take its shards and
# apply a commit it does not see; when the partition heals, d writes
# nothing it knew before until it holds a shard again.
kill -USR1 "$proxy"
if within 30 taken_from "$id_d"; then ok; else holders >"$work/out"; no "the others take the shards of the replica cut off"; fi
while_away d 5 kill -USR2 "$proxy"
if eventually is split "2 3 3"; then ok; else holders >"$work/out"; no "the three split the shards again"; fi

# ---- the API server restarted -------------------------------------------------------------
# Away longer than the Leases: every replica loses its shards, and takes
# them again once it is back.
remember_apiserver
kill_apiserver
sleep 5
restart_apiserver
# Each of the three holds its share again.
shares() { for r in a b d; do held_by "$(identity_of $r)"; done | sort -n | tr '\n' ' ' | sed 's/ $//'; }
if within 90 is shares "2 3 3"; then ok; else holders >"$work/out"; no "after the restart each replica holds its share again"; fi
version 6
commit "v6"
if patiently all_at 6; then ok; else values >"$work/out"; no "the next commit reaches all twelve"; fi
if once_each "$(head7)"; then ok; else syncs "$(head7)" >"$work/out"; no "each application once"; fi

# ---- stopping -----------------------------------------------------------------------------
for r in a b d; do eval "stop_runtime \$pid_$r $work/$r.log"; done
holders | tr -d '\n' >"$work/out"
same "stopping gives every shard up" "" cat "$work/out"
echo "shard: $pass passed, $fail failed"
