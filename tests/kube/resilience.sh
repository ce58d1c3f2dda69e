#!/bin/sh
# plumb run when things go wrong, against a real control plane: drift made
# by hand (seen through the live cache within a second), the API server
# restarted in the middle of a sync, the runtime killed in the middle of
# one, and two runtimes at once (the Lease elects one), with the
# Application CRDs installed. Every application
# polls once an hour: whatever happens sooner happens because the cache
# saw a change, or a request asked for it.
# Usage: resilience.sh PLUMB CLUSTER_DIR. Last line: "resilience: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; [ -n "${KEEP_LOGS:-}" ] && cp "$work"/*.log "$KEEP_LOGS"; rm -rf "$work"' EXIT
# Objects of the application that is restarted and killed in the middle of
# its sync: enough that the sync mostly outlasts the moment the test takes
# to see it begin and kill the API server (cut_sync tries again if not).
BIG=200

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; } # seconds since a now
mode() { $K -n res-"$1" get configmap settings -o jsonpath='{.data.mode}'; } # mode APP
is_mode() { [ "$(mode "$1")" = "$2" ]; }
settings() { # settings APP MODE [EXTRA]: an application of one ConfigMap, and EXTRA objects
  mkdir -p "$repo/$1"
  cat >"$repo/$1/main.plumb" <<EOP
env $1 {
  namespace: "res-$1"
  Namespace "res-$1" {}
  ConfigMap "settings" { data: { mode: "$2" } }
  ${3:-}
}
EOP
}
big() { # big VERSION COUNT: COUNT ConfigMaps at VERSION
  mkdir -p "$repo/big"
  {
    printf 'env big {\n  namespace: "res-big"\n  Namespace "res-big" {}\n'
    i=0
    while [ $i -lt "$2" ]; do
      printf '  ConfigMap "cm-%03d" { data: { version: "%s" } }\n' $i "$1"
      i=$((i + 1))
    done
    printf '}\n'
  } >"$repo/big/main.plumb"
}
# start NAME: a runtime in the background, its log in $work/NAME.log, its
# URL in $url_NAME; a short Lease so that a takeover is quick.
start() {
  $PLUMB run "file://$repo" --config-path gitops --cache "$work/cache-$1" --context admin --listen 127.0.0.1:0 \
    --token-file "$work/token" --lease-duration 3s >"$work/$1.log" 2>&1 &
  eval "pid_$1=$!"
  pids="$pids $!"
  eventually grep -q "serving on port" "$work/$1.log"
  eval "url_$1=http://127.0.0.1:$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$work/$1.log")"
}
api() { curl -s -H "Authorization: Bearer tok" "$1/api/v1/apps$2"; } # api URL PATH
sync_of() { api "$1" "/$2" | jq -r .sync; } # sync_of URL APP
synced() { [ "$(sync_of "$1" "$2")" = Synced ]; }
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$1/readyz")" = 200 ]; }
versions() { $K -n res-big get configmaps -l plumb.dev/application=big -o jsonpath='{range .items[*]}{.data.version}{"\n"}{end}' | sort | uniq -c | sed 's/^ *//'; }
uids() { $K -n res-big get configmaps -l plumb.dev/application=big -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.uid}{"\n"}{end}' | sort; }
all_at() { [ "$(versions)" = "$1 $2" ]; } # all_at COUNT VERSION
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

settings heal git
settings watch git 'Deployment "web" { spec: { replicas: 0, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx:1.27" }] } } } }'
big v1 $BIG
gitops_apps "$repo" "heal heal self_heal: true" "watch watch" "big big prune: true"
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "v1"
$K delete configmap plumb-history-heal plumb-history-watch plumb-history-big --ignore-not-found >/dev/null
$K delete lease plumb-leader --ignore-not-found >/dev/null
printf 'tok\n' >"$work/token"
# With the Application CRDs, as a runtime deployed by deploy/ has them: its
# reads and writes of Application objects after the API server restart
# below must not cost the leader its Lease (renewed from its own thread).
install_plumb_crds

# ---- one leader ---------------------------------------------------------------------------
start a
if eventually ready "$url_a"; then ok; else no "the first runtime leads and is ready"; fi
start b
if eventually grep -q "standing by; the leader is " "$work/b.log"; then ok; else
  cp "$work/b.log" "$work/out"; no "a second runtime stands by"
fi
same "the standby is not ready (503)" 503 curl -s -o /dev/null -w '%{http_code}' "$url_b/readyz"
apps_count() { api "$1" "" | jq '.apps | length'; }
same "the standby shows no applications" 0 apps_count "$url_b"
if eventually all_at $BIG v1; then ok; else versions >"$work/out"; no "the leader syncs every object"; fi
same "the Lease names the leader" "$(sed -n 's/.*candidate \([^ ]*\) for the Lease.*/\1/p' "$work/a.log")" \
  $K get lease plumb-leader -o jsonpath='{.spec.holderIdentity}'

# ---- drift --------------------------------------------------------------------------------
eventually synced "$url_a" heal
# fetches: how many times the runtime has fetched the repository
fetches() { curl -s "$url_a/metrics" | sed -n 's/^plumb_git_fetches_total{repo="[^"]*"} \([0-9]*\)$/\1/p'; }
fetched=$(fetches) drift_began=$(now)
times=
for i in 1 2 3 4 5; do
  start_at=$(now)
  $K -n res-heal patch configmap settings --type merge -p '{"data":{"mode":"by-hand"}}' >/dev/null
  if eventually is_mode heal git; then times="$times $(since "$start_at")"; else times="$times 99"; fi
done
drift=$(echo "$times" | tr ' ' '\n' | grep . | median)
echo "resilience timing: drift reverted in$times s (median $drift s)"
if [ "$(echo "$drift <= 3" | bc)" = 1 ]; then ok; else no "self-heal reverts a hand edit within 3 s (median $drift s)"; fi
# Only the config's rounds (one each 10 s) fetch; the passes drift brings do not.
rounds=$(echo "$(since "$drift_began") / 10 + 1" | bc)
if [ $(($(fetches) - fetched)) -le "$rounds" ]; then ok; else
  curl -s "$url_a/metrics" | grep fetches >"$work/out"
  no "undoing drift fetches nothing (fetches $fetched -> $(fetches) in $(since "$drift_began") s)"
fi
absent "the standby applied nothing" "configmap/settings configured" cat "$work/b.log"

eventually synced "$url_a" watch
$K -n res-watch patch configmap settings --type merge -p '{"data":{"mode":"by-hand"}}' >/dev/null
out_of_sync() { [ "$(sync_of "$url_a" watch)" = OutOfSync ]; }
start_at=$(now)
if eventually out_of_sync; then ok; else no "without self-heal a hand edit shows OutOfSync"; fi
seen=$(since "$start_at")
if [ "$(echo "$seen <= 3" | bc)" = 1 ]; then ok; else no "OutOfSync shows within 3 s (took $seen s)"; fi
diff_of() { api "$url_a" "/$1/diff" | jq -r .diff; }
expect "the diff shows the field" 0 '^-  mode: by-hand' diff_of watch
expect "the diff shows git's value" 0 '^\+  mode: git' diff_of watch
same "without self-heal the hand edit stays" by-hand mode watch
healthy() { [ "$(api "$url_a" /watch | jq -r .health)" = Healthy ]; }
if eventually healthy; then ok; else api "$url_a" /watch >"$work/out"; no "the Deployment's health follows its status"; fi

# ---- the API server restarted in the middle of a sync ---------------------------------------------
# The restart may outlast the Lease, and either runtime lead after it.
leads() { ready "$url_a" || ready "$url_b"; }
find_leader() { # sets L (a or b) and LU, the leader's URL, and O and OU, the other's
  if ready "$url_a"; then L=a LU=$url_a O=b OU=$url_b; else L=b LU=$url_b O=a OU=$url_a; fi
}
mark() { wc -l <"$work/$1.log"; } # mark NAME: lines of its log so far
said_since() { tail -n +"$(($2 + 1))" "$work/$1.log" | grep -Eq "$3"; } # said_since NAME MARK PATTERN
remember_apiserver
# cut_sync VERSION: commits VERSION of big, asks the leader to sync it and
# kills the API server as soon as the sync begins (killed, not stopped: a
# graceful shutdown serves what is in flight). True if the sync failed,
# false if it was over first: its objects go concurrently over HTTP/2, and
# a sync can end within the moment the test takes to see it begin.
failed() { said_since $L "$mark_l" "^big: .*failed"; }
over() { failed || said_since $L "$mark_l" "^big: configmap/cm-$(printf %03d $((BIG - 1))) "; }
cut_sync() {
  big "$1" $BIG
  commit "$1"
  find_leader
  mark_l=$(mark $L)
  curl -s -o /dev/null -X POST -H "Authorization: Bearer tok" "$LU/api/v1/apps/big/sync"
  looks=0
  until said_since $L "$mark_l" "^big: syncing" || [ $looks -ge 3000 ]; do sleep 0.01; looks=$((looks + 1)); done
  kill_apiserver
  # Away until the sync has given up (its retries take seconds): back
  # sooner, the retries could hide the restart, and the sync would not fail.
  eventually over
  if failed; then verdict=yes; else verdict=no; fi
  echo "resilience timing: the sync of $1 by $L seen after $looks looks; cut by the kill: $verdict"
  [ $verdict = yes ]
}
uids >"$work/uids.before"
try=1
while ! cut_sync v2.$try && [ $try -lt 3 ]; do
  restart_apiserver
  eventually leads
  try=$((try + 1))
done
if failed; then ok; else
  # Without the objects that went well, which would hide the rest.
  grep -Ev ' (created|configured|unchanged)$' "$work/$L.log" >"$work/out"
  no "a sync cut by the API server's death fails, and says so (tries: $try)"
fi
cut=$(cd "$repo" && git rev-parse HEAD)
restart_apiserver
if eventually leads; then ok; else no "after the restart a runtime leads"; fi
find_leader
if eventually all_at $BIG v2.$try; then ok; else versions >"$work/out"; no "after the restart every object converges"; fi
# The Lease (3 s) cannot be renewed while the API server is away: once it
# is back, either runtime may win it, and the first winner may lose it
# again to the other while the server is slow to answer. Whichever leads
# must say big is Synced; L and O follow the leader of now.
leader_synced() { find_leader; synced "$LU" big; }
if eventually leader_synced; then ok; else api "$LU" /big >"$work/out"; no "after the restart big is Synced"; fi
uids >"$work/uids.after"
if cmp -s "$work/uids.before" "$work/uids.after"; then ok; else
  diff "$work/uids.before" "$work/uids.after" >"$work/out"; no "no object was pruned or recreated"
fi

# ---- the leader killed in the middle of a sync ----------------------------------------------------
big v3 $((BIG - 1))
commit "v3: one object fewer"
mark_o=$(mark $O)
curl -s -o /dev/null -X POST -H "Authorization: Bearer tok" "$LU/api/v1/apps/big/sync"
sleep 0.3
start_at=$(now)
eval "kill -9 \$pid_$L; wait \$pid_$L 2>/dev/null"
took_over() { said_since $O "$mark_o" "plumb run: leading"; }
if eventually took_over; then ok; else no "the standby takes over"; fi
took=$(since "$start_at")
echo "resilience timing: the standby took over after $took s"
if [ "$(echo "$took <= 8" | bc)" = 1 ]; then ok; else no "the takeover comes within the lease duration (took $took s)"; fi
if eventually all_at $((BIG - 1)) v3; then ok; else versions >"$work/out"; no "the new leader converges"; fi
if eventually synced "$OU" big; then ok; else api "$OU" /big >"$work/out"; no "the new leader reports Synced"; fi
grep -v "cm-$(printf %03d $((BIG - 1))) " "$work/uids.before" >"$work/uids.kept"
uids >"$work/uids.after"
if cmp -s "$work/uids.kept" "$work/uids.after"; then ok; else
  diff "$work/uids.kept" "$work/uids.after" >"$work/out"; no "only the object removed from git was pruned"
fi
# Attempts that failed while the API server was away may be there too,
# and syncs that were over before a kill, but killed before being recorded.
hist_q() { api "$OU" /big/history | jq -r "$1"; }
synced_revs='[.history[] | select(.result == "Synced") | .revision]'
same "history: no commit synced twice" true hist_q "$synced_revs | length == (unique | length)"
same "history: the cut sync's commit synced after the restart" true hist_q "$synced_revs | index(\"$cut\") != null"
same "history: ids count up" true hist_q '[.history[].id] | . == (sort | unique)'
same "history: the last sync is the commit" "$(cd "$repo" && git rev-parse HEAD)" \
  hist_q '[.history[] | select(.result == "Synced")] | max_by(.id) | .revision'
$K -n res-heal patch configmap settings --type merge -p '{"data":{"mode":"by-hand"}}' >/dev/null
if eventually is_mode heal git; then ok; else no "the new leader heals drift"; fi

# ---- stopping -------------------------------------------------------------------------------------
eval "stop_runtime \$pid_$O $work/$O.log"
same "stopping gives the Lease up" "" $K get lease plumb-leader -o jsonpath='{.spec.holderIdentity}'
pids=

$K delete namespace res-heal res-watch res-big --wait=false >/dev/null 2>&1
$K delete configmap plumb-history-heal plumb-history-watch plumb-history-big >/dev/null 2>&1
echo "resilience: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
