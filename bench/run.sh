#!/bin/sh
# run.sh: the compiler benchmark (bench/README.md says what it measures).
#
#   sh bench/run.sh                 N = 10, 100, 1000, 10000; Kustomize up to 1000
#   BENCH_QUICK=1 sh bench/run.sh   Kustomize only up to N = 100
#
# Also: BENCH_SIZES="10 100" (Plumb sizes), BENCH_RUNS=5 (Plumb runs per
# size, best one counts), BENCH_KEEP=1 (keep the generated trees and print
# where they are), BENCH_PLUMB=PATH (time that binary instead of building
# build/plumb).
set -eu
cd "$(dirname "$0")/.."

SIZES=${BENCH_SIZES:-10 100 1000 10000}
RUNS=${BENCH_RUNS:-5}
if [ "${BENCH_QUICK:-}" = 1 ]; then KSIZES="10 100"; else KSIZES="10 100 1000"; fi

say() { echo "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

[ -n "${BENCH_PLUMB:-}" ] || make -s build/plumb >&2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/plumb-bench.XXXXXX")
if [ "${BENCH_KEEP:-}" = 1 ]; then say "trees kept in $TMP"; else trap 'rm -rf "$TMP"' EXIT INT TERM; fi
# A private copy: a rebuild of build/plumb during the run cannot mix binaries.
cp "${BENCH_PLUMB:-build/plumb}" "$TMP/plumb"
PLUMB=$TMP/plumb

have /usr/bin/time || { say "run.sh: needs GNU time (apt-get install time)"; exit 1; }
have hyperfine || say "run.sh: no hyperfine, timing with GNU time (10 ms resolution; apt-get install hyperfine)"
have kubectl || say "run.sh: no kubectl, skipping Kustomize"

# peak_kb CMD...: peak RSS in KB of one run, output discarded.
peak_kb() { /usr/bin/time -f %M -o "$TMP/rss" "$@" >/dev/null 2>&1 && cat "$TMP/rss"; }

# time_best CMD...: "WALL_MS CPU_MS": the fastest of $RUNS runs (after one
# warm-up) and the mean CPU time (user + system) per run.
time_best() {
  if have hyperfine; then
    hyperfine -N --style none --warmup 1 --runs "$RUNS" --export-csv "$TMP/h.csv" "$*" >/dev/null 2>&1
    # command,mean,stddev,median,user,system,min,max
    awk -F, 'NR == 2 { printf "%.1f %.1f\n", $7 * 1000, ($5 + $6) * 1000 }' "$TMP/h.csv"
  else
    "$@" >/dev/null # warm-up
    : > "$TMP/runs"
    for _ in $(seq "$RUNS"); do
      /usr/bin/time -f '%e %U %S' -a -o "$TMP/runs" "$@" >/dev/null
    done
    awk 'NR == 1 || $1 < min { min = $1 } { cpu += $2 + $3 }
         END { printf "%.1f %.1f\n", min * 1000, cpu / NR * 1000 }' "$TMP/runs"
  fi
}

# time_once OUT CMD...: runs CMD once with stdout to OUT; prints "MS KB".
time_once() {
  out=$1; shift
  /usr/bin/time -f '%e %M' -o "$TMP/t" "$@" > "$out"
  awk '{ printf "%.0f %s\n", $1 * 1000, $2 }' "$TMP/t"
}

# equal A B: "yes", "no" or "skipped", and the reason on stderr.
equal() {
  if ! have python3; then echo skipped; return; fi
  verdict=$(python3 bench/compare.py "$1" "$2") || true
  case $verdict in yes*) echo yes ;; no*) say "  $verdict"; echo no ;; *) echo skipped ;; esac
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "Plumb compiler benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${BENCH_PLUMB:-}" ]; then
  rev=$BENCH_PLUMB
else
  rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  [ -z "$(git status --porcelain -- compiler include stdlib 2>/dev/null)" ] || rev="$rev + uncommitted compiler changes"
fi
echo "$("$PLUMB" version 2>/dev/null | head -1) at $rev$(have kubectl && printf '; kubectl kustomize %s' "$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p')")"
echo "plumb: best of $RUNS runs after a warm-up$(have hyperfine && echo ' (hyperfine)'); kustomize: one run"
echo

echo "|     N | resources | plumb ms | plumb cpu ms | µs/app | plumb peak KB | kustomize ms | kustomize peak KB | kustomize/plumb | outputs equal | staging ms | staging peak KB | native ms | native peak KB | kustomize/native | native equal |"
echo "|------:|----------:|---------:|-------------:|-------:|--------------:|-------------:|------------------:|----------------:|:-------------:|-----------:|----------------:|----------:|---------------:|-----------------:|:------------:|"
summary= unequal=
for n in $SIZES; do
  d=$TMP/n$n
  sh bench/gen.sh "$n" "$d"
  say "N=$n: plumb ..."
  if ! "$PLUMB" build "$d/envs/prod" --root "$d" > "$d/plumb.yaml" 2> "$d/plumb.err"; then
    say "plumb build failed for N=$n:"; head -20 "$d/plumb.err" >&2; exit 1
  fi
  "$PLUMB" check "$d/envs/dev" --root "$d" || { say "the dev env of N=$n does not compile"; exit 1; }
  resources=$(grep -c '^kind: ' "$d/plumb.yaml")
  set -- $(time_best "$PLUMB" build "$d/envs/prod" --root "$d")
  wall=$1 cpums=$2
  rss=$(peak_kb "$PLUMB" build "$d/envs/prod" --root "$d")
  per_app=$(awk -v w="$wall" -v n="$n" 'BEGIN { printf "%.1f", w * 1000 / n }')
  # The plain shape: template parameters only, no overlay.
  set -- $(time_best "$PLUMB" build "$d/envs/staging" --root "$d")
  swall=$1
  srss=$(peak_kb "$PLUMB" build "$d/envs/staging" --root "$d")
  # The same kustomization tree Kustomize gets, built by plumb natively.
  say "N=$n: plumb on the kustomization ..."
  kd=$d/kustomize
  if ! "$PLUMB" build "$kd/overlays/prod" --root "$kd" > "$d/native.yaml" 2> "$d/native.err"; then
    say "plumb build of the kustomization failed for N=$n:"; head -20 "$d/native.err" >&2; exit 1
  fi
  set -- $(time_best "$PLUMB" build "$kd/overlays/prod" --root "$kd")
  nwall=$1
  nrss=$(peak_kb "$PLUMB" build "$kd/overlays/prod" --root "$kd")
  kms=- krss=- ratio=- eq=- nratio=- neq=-
  case " $KSIZES " in
  *" $n "*)
    if have kubectl; then
      say "N=$n: kustomize ..."
      set -- $(time_once "$d/kustomize.yaml" kubectl kustomize "$d/kustomize/overlays/prod")
      kms=$1 krss=$2
      ratio=$(awk -v k="$kms" -v p="$wall" 'BEGIN { printf "%.0fx", k / p }')
      eq=$(equal "$d/plumb.yaml" "$d/kustomize.yaml")
      nratio=$(awk -v k="$kms" -v p="$nwall" 'BEGIN { printf "%.0fx", k / p }')
      neq=$(equal "$d/native.yaml" "$d/kustomize.yaml")
    fi
    ;;
  esac
  printf '| %5s | %9s | %8s | %12s | %6s | %13s | %12s | %17s | %15s | %13s | %10s | %15s | %9s | %14s | %16s | %12s |\n' \
    "$n" "$resources" "$wall" "$cpums" "$per_app" "$rss" "$kms" "$krss" "$ratio" "$eq" "$swall" "$srss" "$nwall" "$nrss" "$nratio" "$neq"
  [ "$kms" = - ] || summary="$summary
N=$n: plumb $wall ms, kustomize $kms ms, kustomize/plumb $ratio; equal: $eq; plumb on the kustomization $nwall ms, kustomize/that $nratio; equal: $neq"
  [ "$eq" != no ] && [ "$neq" != no ] || unequal=1
  [ "${BENCH_KEEP:-}" = 1 ] || rm -rf "$d"
done
echo "$summary"
echo
echo "equal: both outputs parsed as YAML, resources matched by apiVersion/kind/namespace/name, then compared field by field (bench/compare.py)"
[ -z "$unequal" ] || { say "run.sh: plumb and kustomize disagree (above)"; exit 1; }
