#!/bin/sh
# fleet.sh: a fleet of applications synced by replicas of `plumb run
# --shards`, on a real control plane and a second API server as a second
# destination cluster: first sync, idle memory and CPU per replica, webhook
# commit → applied, drift → reverted, takeover after a kill -9, and the API
# servers' requests at idle (bench/README.md, "Fleet benchmark").
#
#   sh bench/fleet.sh                         10,000 applications x 10 objects, 3 replicas: an hour or more
#   BENCH_APPS=1000 BENCH_IDLE=30 sh bench/fleet.sh   a smaller fleet
#
# Also: BENCH_PER_APP=10 (ConfigMaps per application, at least 2),
# BENCH_REPLICAS=3, BENCH_SHARDS=16, BENCH_LEASE=15 (--lease-duration,
# seconds), BENCH_HOOK_ROUNDS=10, BENCH_DRIFT_ROUNDS=10, BENCH_IDLE=60
# (seconds of idle measured), BENCH_SYNC_WAIT=3600 (seconds the first sync,
# and the survivors' syncs after the kill, may take), BENCH_PLUMB=DIR (run DIR/plumb and DIR/plumb-runtime instead
# of building them), BENCH_CLUSTER=DIR (use the running control plane of
# `tests/cluster/up.sh DIR` instead of starting one).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

N=${BENCH_APPS:-10000}
PER_APP=${BENCH_PER_APP:-10}
REPLICAS=${BENCH_REPLICAS:-3}
SHARDS=${BENCH_SHARDS:-16}
LEASE=${BENCH_LEASE:-15}
HOOK_ROUNDS=${BENCH_HOOK_ROUNDS:-10}
DRIFT_ROUNDS=${BENCH_DRIFT_ROUNDS:-10}
IDLE=${BENCH_IDLE:-60}
SYNC_WAIT=${BENCH_SYNC_WAIT:-3600}
# The applications of the webhook rounds come from a repository of their
# own, so that a push wakes them alone; the others stay idle.
HOT=10
needs kubectl curl openssl git jq
[ "$PER_APP" -ge 2 ] || die "BENCH_PER_APP must be at least 2"
[ "$N" -ge $((2 * HOT)) ] || die "BENCH_APPS must be at least $((2 * HOT))"
[ "$REPLICAS" -ge 2 ] || die "BENCH_REPLICAS must be at least 2 (one is killed)"

[ -n "${BENCH_PLUMB:-}" ] || make -s build/plumb build/plumb-runtime >&2
T=$(mktemp -d "${TMPDIR:-/tmp}/plumb-fleet-bench.XXXXXX")
pids='' watchers='' second_pid=''
K="kubectl --context admin"
cleanup() {
  for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
  for w in $watchers; do kill "$(cat "$w")" 2>/dev/null || true; done
  [ -z "$second_pid" ] || kill "$second_pid" 2>/dev/null || true
  if [ -n "${BENCH_CLUSTER:-}" ]; then
    $K delete namespaces -l bench.plumb.dev/fleet --wait=false >/dev/null 2>&1 || true
    $K delete $($K get configmaps,leases,applications.plumb.dev -o name 2>/dev/null |
      grep -E '/(plumb-history-fl-|plumb-shard-|plumb-member-|fl-)') --ignore-not-found --wait=false >/dev/null 2>&1 || true
  else
    tests/cluster/down.sh "$T/cluster" --clean >/dev/null 2>&1
  fi
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
bench_binaries
bench_cluster
load_start=$(loadavg)

# ---- the second cluster ----------------------------------------------------------
# A kube-apiserver of its own on the same etcd under another prefix, as
# tests/kube/clusters.sh starts it: a cluster that only the runtime uses.
TOKEN=$(cat "$PLUMB_TEST_ADMIN_TOKEN_FILE")
. tests/cluster/second.sh
second_apiserver "$T/second" "/plumb-fleet-$$" || { tail -20 "$T/second.log" >&2; die "the second API server did not start"; }
second_kubeconfig >"$T/kubeconfig"
export KUBECONFIG=$T/kubeconfig
K="kubectl --context admin"
K2="kubectl --context second"
# The Application and Project CRDs, as deploy/ installs them: replicas
# write the status of their applications on Application objects, which the
# others' APIs read.
$PLUMB build deploy/plumb-system --out-dir "$T/manifests" >/dev/null
$K apply --server-side --force-conflicts --field-manager plumb \
  -f "$T/manifests/03_customresourcedefinition_applications.plumb.dev.yaml" \
  -f "$T/manifests/03_customresourcedefinition_projects.plumb.dev.yaml" >/dev/null
$K wait --for condition=Established crd/applications.plumb.dev crd/projects.plumb.dev >/dev/null

# ---- the repositories ----------------------------------------------------------
# apps and hot: one env per application (fl-00001 ...), PER_APP small
# ConfigMaps, the first, NAME-settings, labelled for the watches; every 10
# applications share a namespace (fleet-0000 ...), made beforehand in both
# clusters. A namespace is listed whole when an application is compared
# with the server (its first sync): all of them in one would make that
# list grow with the fleet (bench/README.md says what it costs). hot holds the HOT applications of the webhook rounds, apps
# the others. config: the N applications as std/gitops declares them, the
# odd ones to the first cluster, the even ones to the second.
app_name() { printf 'fl-%05d' "$1"; }
ns_of() { printf 'fleet-%04d' $((($1 - 1) / 10)); }
repo_of() { if [ "$1" -le $HOT ]; then echo hot; else echo apps; fi; }
cluster_of() { if [ $(($1 % 2)) = 1 ]; then echo admin; else echo second; fi; }
for repo in apps hot config; do
  mkdir -p "$T/$repo/lib"
  (cd "$T/$repo" && git init -q -b main && git config user.email bench@example.com && git config user.name bench)
  cat >"$T/$repo/lib/app.plumb" <<EOF
// One application of the fleet benchmark: $PER_APP ConfigMaps.
template fleet_app(name: string, value: string) {
  ConfigMap "\${name}-settings" { metadata: { labels: { "bench.plumb.dev/watch": "settings" } }, data: { value: value } }
  for i in range($((PER_APP - 1))) {
    ConfigMap "\${name}-\${i}" { data: { app: name, index: string(i) } }
  }
}
EOF
done
# The envs' directories and files, and the config, by awk: a shell loop
# forks for every line, minutes for 10,000 applications.
awk -v n="$N" -v hot=$HOT -v t="$T" 'BEGIN {
  for (i = 1; i <= n; i++) { a = sprintf("fl-%05d", i); print t "/" (i <= hot ? "hot" : "apps") "/envs/" a }
}' | xargs mkdir -p
set_value() { sed -i "s/value: \"[^\"]*\"/value: \"$2\"/" "$T/hot/envs/$1/main.plumb"; } # set_value APP VALUE
commit() { (cd "$1" && git add -A && git commit -qm "$2"); }                                 # commit REPO MESSAGE
mkdir -p "$T/config/gitops"
# Each env, and the config (app_name, repo_of, ns_of and cluster_of, in awk).
awk -v n="$N" -v hot=$HOT -v t="$T" 'BEGIN {
  printf "import \"std/gitops\"\n\nenv apps {\n  app p = project(name: \"fleet\")\n" >(t "/config/gitops/main.plumb")
  for (i = 1; i <= n; i++) {
    a = sprintf("fl-%05d", i); r = i <= hot ? "hot" : "apps"; env = t "/" r "/envs/" a "/main.plumb"
    printf "import \"../../lib/app.plumb\"\n\nenv app {\n  namespace: \"%s\"\n  app a = fleet_app(name: \"%s\", value: \"v0\")\n}\n", \
      sprintf("fleet-%04d", int((i - 1) / 10)), a >env
    close(env)
    printf "  app a%05d = application(name: \"%s\", repo: \"file://%s/%s\", path: \"envs/%s\", project: \"fleet\",\n", i, a, t, r, a \
      >(t "/config/gitops/main.plumb")
    printf "    cluster: \"%s\", automated: true, prune: true, self_heal: true, interval: \"1h\")\n", i % 2 ? "admin" : "second" \
      >(t "/config/gitops/main.plumb")
  }
  print "}" >(t "/config/gitops/main.plumb")
}'
for repo in apps hot config; do commit "$T/$repo" v0; done
objects=$((N * PER_APP))
i=0
while [ $i -lt $(((N + 9) / 10)) ]; do
  printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: fleet-%04d, labels: {bench.plumb.dev/fleet: "1"}}\n---\n' $i
  i=$((i + 1))
done >"$T/namespaces.yaml"
for k in "$K" "$K2"; do $k apply -f "$T/namespaces.yaml" >/dev/null; done

# ---- the API servers' requests -----------------------------------------------------
# requests: "FIRST SECOND", each API server's apiserver_request_total summed.
# metric_sum URL TAG: the first API server's counts by verb and resource
# go to $T/byverb.TAG too.
metric_sum() {
  curl -sf --max-time 20 --cacert "$PLUMB_TEST_CA" -H "Authorization: Bearer $TOKEN" "$1/metrics" >"$T/metrics"
  [ "$1" != "$PLUMB_TEST_SERVER" ] || awk '/^apiserver_request_total\{/ {
      v = $0; sub(/.*verb="/, "", v); sub(/".*/, "", v); r = $0; sub(/.*[{,]resource="/, "", r); sub(/".*/, "", r)
      n[v " " r] += $NF } END { for (k in n) print k, n[k] }' "$T/metrics" | sort >"$T/byverb.$2"
  awk '/^apiserver_request_total\{/ { n += $NF } END { printf "%d\n", n }' "$T/metrics"
}
requests() { echo "$(metric_sum "$PLUMB_TEST_SERVER" "$1") $(metric_sum "$SECOND" "$1")"; } # requests TAG
# busiest A B SECONDS: the first cluster's requests per minute by verb and
# resource between the calls of requests tagged A and B, the busiest first.
busiest() {
  awk -v s="$3" 'FNR == NR { a[$1 " " $2] = $3; next }
    { d = ($3 - a[$1 " " $2]) * 60 / s; if (d >= 1) printf "%.0f %s %s\n", d, $1, $2 }' "$T/byverb.$1" "$T/byverb.$2" |
    sort -rn | head -8 | awk '{ printf "%s%s %s %s", (NR > 1 ? ", " : ""), $1, $2, $3 }'
}
# per_minute BEFORE AFTER SECONDS: "FIRST SECOND" requests per minute.
per_minute() { echo "$1 $2" | awk -v s="$3" '{ printf "%.0f %.0f\n", ($3 - $1) * 60 / s, ($4 - $2) * 60 / s }'; }
# The cluster alone (the controller manager, the scheduler, kwok) over the
# idle time, before any replica runs.
say "fleet: $N applications x $PER_APP objects, $REPLICAS replicas, $SHARDS shards (load $load_start)"
say "  the API servers without plumb, $IDLE s"
r0=$(requests base0)
t0=$(now)
sleep "$IDLE"
base_rpm=$(per_minute "$r0" "$(requests base1)" "$(minus "$(now)" "$t0")")
say "  requests per minute without plumb: $base_rpm (first second)"

# ---- the replicas -------------------------------------------------------------------
printf 'bench-token\n' >"$T/token"
printf 'bench-hook-secret\n' >"$T/secret"
k=0
while [ $k -lt "$SHARDS" ]; do $K delete lease "plumb-shard-$k" --ignore-not-found >/dev/null; k=$((k + 1)); done
# start R: replica R in the background, its log in $T/rR.log, its pid in
# $pid_R, its URL in $url_R, its identity in $id_R.
start() {
  "$PLUMB" run "file://$T/config" --config-path gitops --cache "$T/cache-$1" --kubeconfig "$T/kubeconfig" \
    --context admin --listen 127.0.0.1:0 --token-file "$T/token" --webhook-secret-file "$T/secret" \
    --shards "$SHARDS" --lease-duration "${LEASE}s" >"$T/r$1.log" 2>&1 &
  eval "pid_$1=$!"
  pids="$pids $!"
}
started() { # started R: once replica R serves
  until_ok 60 grep -q "serving on port" "$T/r$1.log" || { tail -20 "$T/r$1.log" >&2; die "replica $1 did not serve"; }
  eval "url_$1=http://127.0.0.1:$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$T/r$1.log")"
  eval "id_$1=$(sed -n 's/^plumb run: replica \([^ ,]*\),.*/\1/p' "$T/r$1.log" | head -1)"
}
api() { curl -s --max-time 60 -H "Authorization: Bearer bench-token" "$1/api/v1/apps"; }
# synced: how many applications are Synced, each counted by the replica that syncs it.
synced() {
  n=0 r=1
  while [ $r -le "$REPLICAS" ]; do
    eval "u=\$url_$r id=\$id_$r alive=\$alive_$r"
    if [ "$alive" = 1 ]; then
      c=$(api "$u" | jq --arg id "$id" '[.apps[] | select(.replica == $id and .sync == "Synced")] | length' 2>/dev/null || echo 0)
      n=$((n + c))
    fi
    r=$((r + 1))
  done
  echo $n
}
all_synced() { [ "$(synced)" = "$N" ]; }

t0=$(now)
r=1
while [ $r -le "$REPLICAS" ]; do start $r; eval "alive_$r=1"; r=$((r + 1)); done
r=1
while [ $r -le "$REPLICAS" ]; do started $r; r=$((r + 1)); done
last=-1
end=$(($(date +%s) + SYNC_WAIT))
while :; do
  n=$(synced)
  [ "$n" = "$N" ] && break
  [ "$(date +%s)" -lt "$end" ] || die "$n of $N applications Synced after $SYNC_WAIT s"
  [ "$n" = "$last" ] || say "  $(minus "$(now)" "$t0" | cut -d. -f1) s: $n of $N Synced"
  last=$n
  sleep 5
done
first_sync=$(minus "$(now)" "$t0")
say "  first sync, $objects objects in 2 clusters: $first_sync s"
managed() { $1 get configmaps -A -l plumb.dev/application --no-headers 2>/dev/null | grep -c '^fleet-' || true; }
placed=$(($(managed "$K") + $(managed "$K2")))
# Then each replica mirrors its applications on Application objects and
# writes their status there, a budget of writes a round: idle starts when
# every object says Synced.
mirrored() {
  [ "$($K get applications.plumb.dev -o jsonpath='{range .items[*]}{.status.sync.status}{"\n"}{end}' | grep -c '^Synced$')" = "$N" ]
}
end=$(($(date +%s) + SYNC_WAIT))
until mirrored; do # a list of every Application object: every 5 s
  [ "$(date +%s)" -lt "$end" ] || die "the Application objects did not all say Synced after $SYNC_WAIT s"
  sleep 5
done
settled=$(minus "$(now)" "$t0")
say "  every Application object Synced: $settled s"

# ---- idle ---------------------------------------------------------------------------
# idle: each replica's CPU over $IDLE s as a percentage of one core, then
# its VmRSS, RssAnon and VmHWM (MiB), in $cpu_R, $rss_R, $anon_R, $hwm_R,
# and the API servers' requests per minute in $idle_rpm.
say "  idle, $IDLE s"
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
mem() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
r=1
while [ $r -le "$REPLICAS" ]; do eval "c0_$r=\$(ticks \$pid_$r)"; r=$((r + 1)); done
r0=$(requests idle0)
t0=$(now)
sleep "$IDLE"
s=$(minus "$(now)" "$t0")
idle_rpm=$(per_minute "$r0" "$(requests idle1)" "$s")
idle_busiest=$(busiest idle0 idle1 "$s")
r=1
while [ $r -le "$REPLICAS" ]; do
  eval "p=\$pid_$r c0=\$c0_$r"
  c1=$(ticks "$p")
  eval "cpu_$r=$(awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v s="$s" 'BEGIN { printf "%.2f", 100 * c / hz / s }')"
  eval "rss_$r=$(mem "$p" VmRSS) anon_$r=$(mem "$p" RssAnon) hwm_$r=$(mem "$p" VmHWM)"
  eval "shards_$r=\"$(sed -n 's/^plumb run: holding shards \([^ ]*\) of.*/\1/p' "$T/r$r.log" | tail -1)\""
  eval "say \"  replica $r: CPU \$cpu_$r%, VmRSS \$rss_$r MiB (anonymous \$anon_$r), VmHWM \$hwm_$r MiB, shards \$shards_$r\""
  r=$((r + 1))
done
say "  requests per minute at idle: $idle_rpm (first second); the first's busiest: $idle_busiest"

# ---- webhook and drift rounds ------------------------------------------------------
# One watch per cluster of the ConfigMaps NAME-settings, each event a line
# "EPOCH NAME VALUE" in $T/CONTEXT.events.
watch_settings() {
  w=$T/$1.watch
  watchers="$watchers $w"
  sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$w" kubectl --context "$1" get configmaps -A \
    -l bench.plumb.dev/watch=settings --watch-only -o 'jsonpath={.metadata.name} {.data.value}{"\n"}' \
    2>"$T/$1.watch.err" | stamped "$T/$1.events" &
}
watch_settings admin
watch_settings second
sleep 3 # the watches start

# Round k changes hot application k mod HOT + 1, every replica is sent the
# push (only the one holding its shard acts on it).
: >"$T/hook.times"
k=1
while [ $k -le "$HOOK_ROUNDS" ]; do
  i=$((k % HOT + 1))
  a=$(app_name $i)
  set_value "$a" "hook-$k"
  commit "$T/hot" "hook $k"
  t0=$(now)
  r=1
  while [ $r -le "$REPLICAS" ]; do
    eval "u=\$url_$r"
    code=$(hook_push "$u" "$T/hot")
    [ "$code" = 200 ] || die "replica $r's webhook answered $code"
    r=$((r + 1))
  done
  t1=$(arrival "$T/$(cluster_of $i).events" "$a-settings" "hook-$k" "$t0" 60) || die "hook round $k: $a not applied in 60 s"
  minus "$t1" "$t0" >>"$T/hook.times"
  say "  hook $k ($a, $(cluster_of $i)): $(tail -1 "$T/hook.times") s"
  k=$((k + 1))
done

# Drift: a kubectl patch of one application's ConfigMap settings (spread
# over the fleet and both clusters), timed from the watch seeing it to
# seeing the value of git again.
: >"$T/drift.times"
k=1
while [ $k -le "$DRIFT_ROUNDS" ]; do
  i=$(((k * 7919) % N + 1))
  a=$(app_name $i)
  c=$(cluster_of $i)
  was=$(kubectl --context "$c" -n "$(ns_of $i)" get configmap "$a-settings" -o 'jsonpath={.data.value}')
  t=$(now)
  kubectl --context "$c" -n "$(ns_of $i)" patch configmap "$a-settings" --type merge -p "{\"data\":{\"value\":\"drift-$k\"}}" >/dev/null
  t0=$(arrival "$T/$c.events" "$a-settings" "drift-$k" "$t" 30) || die "drift round $k: the watch did not see the patch"
  t1=$(arrival "$T/$c.events" "$a-settings" "$was" "$t0" 60) || die "drift round $k: $a not reverted in 60 s"
  minus "$t1" "$t0" >>"$T/drift.times"
  say "  drift $k ($a, $c): $(tail -1 "$T/drift.times") s"
  k=$((k + 1))
done

# ---- kill -9 of a replica -----------------------------------------------------------
# The last replica: the survivors must hold every shard (the Leases) and
# then sync every application (their APIs).
holders() {
  $K get leases -o jsonpath='{range .items[*]}{.metadata.name} {.spec.holderIdentity}{"\n"}{end}' |
    awk '$1 ~ /^plumb-shard-/ { print $2 }'
}
taken_from() { # taken_from IDENTITY: every shard held, none by IDENTITY
  h=$(holders)
  [ "$(echo "$h" | grep -c .)" = "$SHARDS" ] && ! echo "$h" | grep -qx "$1"
}
eval "victim=\$pid_$REPLICAS vid=\$id_$REPLICAS"
vshards=$(holders | grep -cx "$vid" || true)
say "  kill -9 of replica $REPLICAS ($vshards shards)"
kill -9 "$victim"
t0=$(now)
eval "alive_$REPLICAS=0"
until_ok $((LEASE * 4 + 60)) taken_from "$vid" || die "the survivors did not take the killed replica's shards"
takeover=$(minus "$(now)" "$t0")
say "  shards taken over: $takeover s"
until_ok "$SYNC_WAIT" all_synced || die "the survivors did not sync every application"
resynced=$(minus "$(now)" "$t0")
say "  every application Synced by the survivors: $resynced s"

# ---- the table ------------------------------------------------------------------------
row() { printf '| %-52s | %10s | %-28s | %-16s |\n' "$@"; }
echo
echo "Fleet: $N applications x $PER_APP ConfigMaps = $objects objects, half in each of 2 clusters;"
echo "$REPLICAS replicas of plumb run --shards $SHARDS --lease-duration ${LEASE}s; $(nproc) cores;"
echo "load average at the start $load_start, at the end $(loadavg); $(date -u '+%Y-%m-%d %H:%M UTC');"
echo "plumb at $(git rev-parse --short HEAD 2>/dev/null || echo unknown); idle over $IDLE s; times in seconds, p50/p90 by nearest rank"
echo
row "measure" "value" "target" "value / target"
row "---" "---:" "---" "---"
row "first sync, $N applications Synced (start -> Synced)" "$first_sync" - -
row "first sync, every Application object Synced" "$settled" - -
row "objects in the clusters (labelled plumb.dev/application)" "$placed" "$objects" "$([ "$placed" = "$objects" ] && echo met || echo "not met")"
r=1
mb_total=0
while [ $r -le "$REPLICAS" ]; do
  eval "rss=\$rss_$r anon=\$anon_$r hwm=\$hwm_$r cpu=\$cpu_$r sh=\$shards_$r"
  # 150 MB = 143.1 MiB
  row "replica $r idle RSS MiB (anon $anon, HWM $hwm; shards $sh)" "$rss" "< 150 MB" "$(against "$rss" 143.1)"
  row "replica $r idle CPU, % of a core" "$cpu" "~0" -
  r=$((r + 1))
done
set -- $(stats hook)
row "webhook commit -> applied p50 ($4 rounds; p90 $2)" "$1" "< 1 s" "$(against "$1" 1)"
set -- $(stats drift)
row "drift -> reverted p50 ($4 rounds; p90 $2)" "$1" "< 1 s" "$(against "$1" 1)"
row "kill -9: its $vshards shards held by the survivors" "$takeover" "< lease + 5 = $((LEASE + 5)) s" "$(against "$takeover" $((LEASE + 5)))"
row "kill -9: every application Synced again" "$resynced" - -
set -- $base_rpm $idle_rpm
row "API requests/min at idle, first cluster (without plumb: $1)" "$3" "not growing with N" "plumb's: $(($3 - $1))"
row "API requests/min at idle, second cluster (without plumb: $2)" "$4" "not growing with N" "plumb's: $(($4 - $2))"
echo
echo "The first cluster's requests per minute at idle, by verb and resource: $idle_busiest"
