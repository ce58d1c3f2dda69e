#!/bin/sh
# phases.sh: what sync phases and dependencies cost plumb run, on a real
# control plane whose Jobs complete (kwok): N applications of one
# ConfigMap each, synced by one `plumb run --once`, beside the same N each
# with a PreSync Job and a PostSync Job (hooks) and depending on the one
# before it (a chain, depends_on), in one run (bench/README.md, "Sync
# phases").
#
#   sh bench/phases.sh          N = 100, a few minutes
#
# Knobs: BENCH_N=100, BENCH_PLUMB=DIR (time DIR/plumb and DIR/plumb-runtime
# instead of building them).
set -eu
cd "$(dirname "$0")/.."
N=${BENCH_N:-100}
say() { echo "$*" >&2; }
[ -n "${BENCH_PLUMB:-}" ] || make -s build/plumb build/plumb-runtime >&2
T=$(mktemp -d "${TMPDIR:-/tmp}/plumb-phases-bench.XXXXXX")
trap 'tests/cluster/down.sh "$T/cluster" --clean >/dev/null 2>&1; rm -rf "$T"' EXIT INT TERM
mkdir "$T/bin"
cp "${BENCH_PLUMB:-build}/plumb" "${BENCH_PLUMB:-build}/plumb-runtime" "$T/bin/"
PLUMB=$T/bin/plumb
say "starting the control plane (tests/cluster/up.sh)"
tests/cluster/up.sh "$T/cluster" >"$T/up.log" 2>&1 || { tail -30 "$T/up.log" >&2; exit 1; }
. "$T/cluster/env"
export KUBECONFIG
K="kubectl --context admin"

# repo KIND: N applications, each its namespace and a ConfigMap; KIND
# "phases": with a PreSync and a PostSync Job each, and each depending on
# the one before.
repo() {
  r=$T/$1
  mkdir -p "$r/gitops"
  tol='tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }]'
  {
    printf 'import "std/gitops"\nenv apps {\n'
    i=1
    while [ $i -le "$N" ]; do
      dep=""
      [ "$1" = phases ] && [ $i -gt 1 ] && dep=", depends_on: [\"$1-$((i - 1))\"]"
      printf '  app a%d = application(name: "%s-%d", repo: "file://%s", path: "apps/a%d", namespace: "%s-%d",\n' \
        $i "$1" $i "$r" $i "$1" $i
      printf '    automated: true, sync_options: ["CreateNamespace=true"]%s)\n' "$dep"
      mkdir -p "$r/apps/a$i"
      {
        printf 'env a {\n  ConfigMap "settings" { data: { n: "%d" } }\n' $i
        if [ "$1" = phases ]; then
          for phase in PreSync PostSync; do
            printf '  Job "%s" {\n    metadata: { annotations: { "plumb.dev/hook": "%s" } }\n' \
              "$(echo $phase | tr A-Z a-z)" $phase
            printf '    spec: { template: { spec: { restartPolicy: "Never", %s, containers: [{ name: "j", image: "busybox" }] } } }\n  }\n' "$tol"
          done
        fi
        printf '}\n'
      } >"$r/apps/a$i/main.plumb"
      i=$((i + 1))
    done
    printf '}\n'
  } >"$r/gitops/main.plumb"
  (cd "$r" && git init -q -b main && git add -A && git -c user.email=b@example.com -c user.name=bench commit -qm "$1")
}
repo plain
repo phases

# once KIND: seconds of one plumb run --once that syncs them all.
once() {
  s=$(date +%s.%N)
  $PLUMB run "file://$T/$1" --config-path gitops --cache "$T/cache-$1" --once --context admin >"$T/$1.log" 2>&1 || true
  e=$(date +%s.%N)
  synced=$(grep -c "^$1-[0-9]* *Synced" "$T/$1.log" || true)
  echo "$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }') $synced"
}
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "Sync phases: plumb run --once of $N applications, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}; plumb at $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
echo "| applications | first sync s | Synced | again s |"
echo "|:-------------|-------------:|-------:|--------:|"
for kind in plain phases; do
  first=$(once $kind)
  again=$(once $kind)
  echo "| $kind | ${first% *} | ${first#* } of $N | ${again% *} |"
done
echo
echo "plain: a ConfigMap each; phases: and a PreSync and a PostSync Job each (kwok completes their Pods),"
echo "each application depending on the one before; again: a second run, nothing to change"
