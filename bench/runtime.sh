#!/bin/sh
# runtime.sh: `plumb run` as an operator on a real control plane: commit →
# applied (webhook and poll), drift → reverted, idle CPU and memory, for
# 100 applications of 30 objects (bench/README.md, "Runtime benchmark").
#
#   sh bench/runtime.sh                  about 15 minutes here
#   BENCH_APPS=10 BENCH_IDLE=10 sh bench/runtime.sh   a quick look, a few minutes
#
# Also: BENCH_PER_APP=30 (objects per application, at least 23: the rest
# are ConfigMaps), BENCH_HOOK_ROUNDS=20, BENCH_POLL_ROUNDS=10,
# BENCH_DRIFT_ROUNDS=10 (rounds of each measure), BENCH_POLL_INTERVAL=10
# (the applications' interval in the poll phase, seconds), BENCH_IDLE=60
# (seconds of idle measured in each phase), BENCH_DRIFT_WAIT=15 (seconds a
# drift may take to be undone in the webhook phase, whose interval is an
# hour), BENCH_PLUMB=DIR (run DIR/plumb and DIR/plumb-runtime instead of
# building them), BENCH_CLUSTER=DIR (use the running control plane of
# `tests/cluster/up.sh DIR` instead of starting one; its Service range must
# hold 5 Services per application).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

N=${BENCH_APPS:-100}
PER_APP=${BENCH_PER_APP:-30}
HOOK_ROUNDS=${BENCH_HOOK_ROUNDS:-20}
POLL_ROUNDS=${BENCH_POLL_ROUNDS:-10}
DRIFT_ROUNDS=${BENCH_DRIFT_ROUNDS:-10}
POLL=${BENCH_POLL_INTERVAL:-10}
IDLE=${BENCH_IDLE:-60}
DRIFT_WAIT=${BENCH_DRIFT_WAIT:-15}
needs kubectl curl openssl git
[ "$PER_APP" -ge 23 ] || die "BENCH_PER_APP must be at least 23"

[ -n "${BENCH_PLUMB:-}" ] || make -s build/plumb build/plumb-runtime >&2
T=$(mktemp -d "${TMPDIR:-/tmp}/plumb-runtime-bench.XXXXXX")
pid='' watchers=''
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  for w in $watchers; do kill "$(cat "$w")" 2>/dev/null || true; done
  if [ -n "${BENCH_CLUSTER:-}" ]; then
    $K delete namespaces -l plumb.dev/application --wait=false >/dev/null 2>&1 || true
    $K delete configmaps $(seq -f "plumb-history-rb-%03g" "$N") --ignore-not-found >/dev/null 2>&1 || true
  else
    tests/cluster/down.sh "$T/cluster" --clean >/dev/null 2>&1
  fi
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
bench_binaries
# 5 Services per application: the test cluster's default /24 holds 254.
PLUMB_SERVICE_CIDR=10.0.0.0/16
export PLUMB_SERVICE_CIDR
bench_cluster
export KUBECONFIG
K="kubectl --context admin"


# ---- the repositories ----------------------------------------------------------

# apps: one template and an env per application (rb-001 ...), each in a
# namespace of its own. config: the applications, as std/gitops declares
# them. Both are file:// repositories.
app_name() { printf 'rb-%03d' "$1"; }
mkdir -p "$T/apps/lib" "$T/config/gitops"
cat >"$T/apps/lib/app.plumb" <<EOF
// One application of the runtime benchmark: $PER_APP objects in a namespace of
// its own. Deployments run 0 replicas: the test control plane has no kubelet.
template bench_app(name: string, value: string) {
  Namespace name {}
  ConfigMap "settings" { data: { value: value } }
  for i in range($((PER_APP - 23))) {
    ConfigMap "config-\${i}" { data: { app: name, index: string(i) } }
  }
  for i in range(5) {
    Secret "secret-\${i}" { type: "Opaque", data: { token: base64_encode("\${name}-\${i}") } }
    ServiceAccount "worker-\${i}" {}
    Service "web-\${i}" { spec: { selector: { app: "web-\${i}" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] } }
  }
  for i in range(6) {
    Deployment "web-\${i}" {
      spec: {
        replicas: 0
        selector: { matchLabels: { app: "web-\${i}" } }
        template: {
          metadata: { labels: { app: "web-\${i}" } }
          spec: { containers: [{ name: "web", image: "registry.example.com/rbench/web:1.0.0" }] }
        }
      }
    }
  }
}
EOF
for i in $(seq "$N"); do
  a=$(app_name "$i")
  mkdir -p "$T/apps/envs/$a"
  printf 'import "../../lib/app.plumb"\n\nenv app {\n  namespace: "%s"\n  app a = bench_app(name: "%s", value: "v0")\n}\n' \
    "$a" "$a" >"$T/apps/envs/$a/main.plumb"
done
set_value() { sed -i "s/value: \"[^\"]*\"/value: \"$2\"/" "$T/apps/envs/$1/main.plumb"; } # set_value APP VALUE
commit() { (cd "$1" && git add -A && git commit -qm "$2"); }                                  # commit REPO MESSAGE
config() { # config INTERVAL: every application, looked at every INTERVAL
  {
    printf 'import "std/gitops"\n\nenv apps {\n  app p = project(name: "rbench", cluster_kinds: ["Namespace"])\n'
    for i in $(seq "$N"); do
      a=$(app_name "$i")
      printf '  app a%03d = application(name: "%s", repo: "file://%s", path: "envs/%s", project: "rbench",\n' "$i" "$a" "$T/apps" "$a"
      printf '                        automated: true, prune: true, self_heal: true, interval: "%s")\n' "$1"
    done
    printf '}\n'
  } >"$T/config/gitops/main.plumb"
  commit "$T/config" "interval $1"
}
for repo in apps config; do
  (cd "$T/$repo" && git init -q -b main && git config user.email bench@example.com && git config user.name bench)
done
commit "$T/apps" "v0"
objects=$((N * PER_APP))

# ---- the runtime ------------------------------------------------------------------

printf 'bench-token\n' >"$T/token"
printf 'bench-hook-secret\n' >"$T/secret"
ready() { [ "$(http "$url/readyz")" = 200 ]; }

# start INTERVAL NAME: plumb run on the config at INTERVAL, log in
# $T/NAME.log; $secs: from its start until /readyz (every application has
# had its first pass).
start() {
  config "$1"
  t0=$(now)
  "$PLUMB" run "file://$T/config" --config-path gitops --cache "$T/cache" --context admin --listen 127.0.0.1:0 \
    --token-file "$T/token" --webhook-secret-file "$T/secret" >"$T/$2.log" 2>&1 &
  pid=$!
  until_ok 30 grep -q "serving on port" "$T/$2.log" || { tail -20 "$T/$2.log" >&2; die "plumb run did not serve"; }
  url=http://127.0.0.1:$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$T/$2.log")
  until_ok 1800 ready || { tail -20 "$T/$2.log" >&2; die "plumb run was not ready within 30 minutes"; }
  secs=$(minus "$(now)" "$t0")
}
stop() { kill "$pid"; wait "$pid" || true; pid=''; }

# A signed GitHub push delivery of the apps repository.
push() { hook_push "$url" "$T/apps"; }

# totals: "PASSES SECONDS" so far, from the runtime's histogram of passes.
totals() {
  curl -s "$url/metrics" | awk '/^plumb_reconcile_duration_seconds_count/ { n += $NF }
    /^plumb_reconcile_duration_seconds_sum/ { s += $NF } END { printf "%d %.3f\n", n, s }'
}
passes() { totals | cut -d' ' -f1; }
# mean_pass BEFORE AFTER: "MEAN-SECONDS PASSES" between two totals.
mean_pass() { echo "$1 $2" | awk '{ n = $3 - $1; printf "%.3f %d\n", n ? ($4 - $2) / n : 0, n }'; }
# quiet: waits until no pass has begun for a second (at most 5 minutes); prints when the last one ended.
quiet() {
  last=$(passes) at=$(now) end=$(($(date +%s) + 300))
  while [ "$(date +%s)" -lt "$end" ]; do
    sleep 0.25
    n=$(passes)
    if [ "$n" != "$last" ]; then
      last=$n at=$(now)
    elif [ "$(minus "$(now)" "$at" | cut -d. -f1)" -ge 1 ]; then
      break
    fi
  done
  echo "$at"
}

# ---- watching the cluster -------------------------------------------------------

# Arrival times come from watches, not from polling: one kubectl per kind
# for the whole run, every event a line "EPOCH NAMESPACE/NAME VALUE" in
# $T/KIND.events.
watch_kind() { # watch_kind KIND NAME JSONPATH-OF-VALUE
  w=$T/$1.watch
  watchers="$watchers $w"
  sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$w" $K get "$1" -A -l plumb.dev/application \
    --field-selector "metadata.name=$2" --watch-only -o "jsonpath={.metadata.namespace}/{.metadata.name} $3{\"\\n\"}" \
    2>"$T/$1.watch.err" | stamped "$T/$1.events" &
}

# ---- measures -----------------------------------------------------------------------

# Round k changes application pick(k): spread over the list, as the loop
# takes them in order.
pick() { app_name $(((($1 * 37) % N) + 1)); }
# Against polling, a change right after the pass that found the last one
# would wait a whole interval: each round starts after a random part of
# $JITTER seconds.
JITTER=0
jitter() { sleep "$(od -An -N2 -tu2 /dev/urandom | awk -v j="$JITTER" '{ printf "%.2f", j * $1 / 65536 }')"; }

# commit_rounds NAME ROUNDS HOOK TIMEOUT: commit a new value of one
# application's ConfigMap (and push it when HOOK is 1); its latency until
# the watch sees the value goes to $T/NAME.times. With a hook, the time
# until the runtime is quiet again goes to $T/NAME-quiet.times.
commit_rounds() {
  : >"$T/$1.times"
  : >"$T/$1-quiet.times"
  for k in $(seq "$2"); do
    a=$(pick "$k")
    jitter
    set_value "$a" "$1-$k"
    commit "$T/apps" "$1 $k"
    t0=$(now)
    if [ "$3" = 1 ]; then
      code=$(push)
      [ "$code" = 200 ] || die "the webhook answered $code"
    fi
    t1=$(arrival "$T/configmaps.events" "$a/settings" "$1-$k" "$t0" "$4") || die "$1 round $k: $a/settings not applied in $4 s"
    minus "$t1" "$t0" >>"$T/$1.times"
    [ "$3" = 1 ] && minus "$(quiet)" "$t0" >>"$T/$1-quiet.times"
    say "  $1 $k ($a): $(tail -1 "$T/$1.times") s"
  done
}

# drift_rounds NAME ROUNDS WAIT: kubectl scale of one managed Deployment to
# 3; the time from the watch seeing 3 to seeing 0 again goes to
# $T/NAME.times. Returns false, after the first round that waited WAIT
# seconds in vain.
drift_rounds() {
  : >"$T/$1.times"
  for k in $(seq "$2"); do
    a=$(pick "$((k + 1000))")
    jitter
    t=$(now)
    $K -n "$a" scale deployment web-0 --replicas=3 >/dev/null
    t0=$(arrival "$T/deployments.events" "$a/web-0" 3 "$t" 30) || die "$1 round $k: the watch did not see the scale"
    t1=$(arrival "$T/deployments.events" "$a/web-0" 0 "$t0" "$3") || { say "  $1 $k ($a): not undone in $3 s"; return 1; }
    minus "$t1" "$t0" >>"$T/$1.times"
    say "  $1 $k ($a): $(tail -1 "$T/$1.times") s"
  done
}

# idle NAME: CPU time of the runtime over $IDLE seconds of nothing to do,
# as a percentage of one core, then its resident memory, in $NAME_cpu,
# $NAME_rss, $NAME_hwm, $NAME_anon, $NAME_file (MiB) and $NAME_load (load
# average at the end). Anonymous memory is the runtime's own; file-backed,
# mostly its shared libraries' code, counts in RSS too.
idle() {
  ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
  c0=$(ticks) t0=$(now)
  sleep "$IDLE"
  c1=$(ticks) t1=$(now)
  cpu=$(awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v s="$(minus "$t1" "$t0")" 'BEGIN { printf "%.2f", 100 * c / hz / s }')
  mem() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }
  eval "$1_cpu=$cpu $1_rss=$(mem VmRSS) $1_hwm=$(mem VmHWM) $1_anon=$(mem RssAnon) $1_file=$(mem RssFile)"
  eval "$1_load=\"$(loadavg)\""
  say "  idle $IDLE s: CPU $cpu% of a core, VmRSS $(mem VmRSS) MiB (anonymous $(mem RssAnon), files $(mem RssFile)), VmHWM $(mem VmHWM) MiB, load $(loadavg)"
}

checks=""
check() { # check WHAT CONDITION-EXIT-STATUS
  if [ "$2" = 0 ]; then checks="$checks\n  ok   $1"; else checks="$checks\n  FAIL $1"; fi
}
managed() { $K get namespaces,configmaps,secrets,serviceaccounts,services,deployments -A -l plumb.dev/application --no-headers | wc -l; }
synced() { "$PLUMB" status --server "$url" --token-file "$T/token" | grep -c ' Synced ' || true; }

# ---- phase 1: webhooks, interval 1h -------------------------------------------------

load_start=$(loadavg)
say "webhook phase: $N applications x $PER_APP objects, interval 1h (load $load_start)"
start 1h hook
first_sync=$secs
say "  first sync of $objects objects: $first_sync s"
check "first sync: $objects objects, every application Synced" "$([ "$(managed)" = "$objects" ] && [ "$(synced)" = "$N" ]; echo $?)"
watch_kind configmaps settings '{.data.value}'
watch_kind deployments web-0 '{.spec.replicas}'
sleep 3 # the watches start
quiet >/dev/null
before=$(totals)
commit_rounds hook "$HOOK_ROUNDS" 1 60
hook_pass=$(mean_pass "$before" "$(totals)")
idle hook
# Undone within the hour only if the runtime sees changes as they happen.
live_drift=1
drift_rounds drift-live "$DRIFT_ROUNDS" "$DRIFT_WAIT" || live_drift=0
stop

# ---- phase 2: polling ---------------------------------------------------------------

say "poll phase: interval ${POLL}s (load $(loadavg))"
start "${POLL}s" poll
JITTER=$POLL
restart=$secs
say "  restart, $objects objects in place: $restart s"
before=$(totals)
commit_rounds poll "$POLL_ROUNDS" 0 $((3 * POLL + 60))
drift_rounds drift-poll "$DRIFT_ROUNDS" $((3 * POLL + 60))
idle poll
poll_pass=$(mean_pass "$before" "$(totals)")
check "after the rounds: $objects objects, every application Synced" "$([ "$(managed)" = "$objects" ] && [ "$(synced)" = "$N" ]; echo $?)"
stop

# ---- the table ------------------------------------------------------------------------

row() { printf '| %-46s | %6s | %7s | %7s | %9s | %11s | %-16s |\n' "$@"; }
measure() { # measure LABEL NAME TARGET TARGET-TEXT
  set -- "$1" "$2" "$3" "$4" $(stats "$2")
  row "$1" "$8" "$5" "$6" "$7" "$4" "$(case $3 in -) echo - ;; *) against "$5" "$3" ;; esac)"
}
echo
echo "$N applications x $PER_APP objects = $objects; $(nproc) cores; load average at the start $load_start;"
echo "load average at the end $(loadavg); idle measured over $IDLE s; times in seconds; p50/p90 by nearest rank"
echo
row "measure" "rounds" "p50" "p90" "max" "target" "p50 / target"
row "---" "---:" "---:" "---:" "---:" "---:" "---"
row "first sync, $objects objects (start -> ready)" 1 "$(printf %.2f "$first_sync")" - - - -
row "restart, objects in place (start -> ready)" 1 "$(printf %.2f "$restart")" - - - -
measure "commit -> applied, webhook (interval 1h)" hook 2 "2 s"
measure "push -> runtime quiet (every pass it caused)" hook-quiet - -
measure "commit -> applied, poll (interval ${POLL}s)" poll "$POLL" "<= ${POLL} s"
measure "drift -> reverted, interval 1h" drift-live 1 "1 s"
measure "drift -> reverted, interval ${POLL}s" drift-poll 1 "1 s"
set -- $hook_pass $poll_pass
row "mean pass, webhook rounds (rounds = passes)" "$2" "$1" - - - -
row "mean pass, poll phase (rounds = passes)" "$4" "$3" - - - -
echo
# 30 MB = 28.6 MiB.
row "idle, RSS (anonymous + files)" "CPU %" "RSS MiB" "HWM MiB" "anon+file" "target" "RSS / target"
row "---" "---:" "---:" "---:" "---:" "---:" "---"
for ph in hook poll; do
  eval "set -- \"\$${ph}_load\" \$${ph}_cpu \$${ph}_rss \$${ph}_hwm \$${ph}_anon \$${ph}_file"
  label="interval $([ $ph = hook ] && echo 1h || echo "${POLL}s") (load $1)"
  row "$label" "$2" "$3" "$4" "$5+$6" "~0 %, 30 MB" "$(against "$3" 28.6)"
done
[ "$live_drift" = 1 ] || printf '\nDrift at interval 1h: not undone within %s s, so it is seen only at the\napplication'"'"'s next pass; the interval-%ss row is bounded by that interval.\n' "$DRIFT_WAIT" "$POLL"
printf "\nchecks:$checks\n"
case $checks in *FAIL*) exit 1 ;; esac
