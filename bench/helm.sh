#!/bin/sh
# helm.sh: Helm charts rendered by Plumb beside `helm template` (bench/README.md,
# "Helm charts"): for each chart of the shared charts directory, the same
# release, namespace, values and Kubernetes version, in one run:
#
#   sh bench/helm.sh        about a minute
#
# - helm ms: `helm template`, one render;
# - plumb first ms: `plumb build` of an env that renders the chart, its
#   cache empty: two renders by helm at once (the second to catch values a
#   chart makes up), the chart's files written for helm and read back;
# - plumb cached ms: the same build again, which reads the render kept in
#   its cache;
# - the ratios of each to helm; the peak memory of a first build (the
#   largest of plumb and the helms it waited for, as GNU time counts it)
#   and of a cached one (plumb's own); whether both give the same
#   resources (bench/compare.py --helm).
#
# Then the same charts from a chart repository (packaged, served by
# tests/helm/servers' chartrepo on loopback, without credentials):
#
# - helm pull ms / plumb fetch ms: the network step, each into an empty
#   place (plumb fetch also writes plumb.lock, and builds the env to find
#   its charts, which renders each: a pull and a first build);
# - helm ms: `helm template` of the archive; plumb first ms and plumb
#   cached ms: `plumb build` of an env pinned to it, as above.
#
# Knobs: BENCH_RUNS=10 (runs per timing, after a warm-up; the fastest
# counts), BENCH_PLUMB=PATH (time that binary instead of building
# build/plumb), PLUMB_SHARED (the directory holding charts/; default
# ../shared beside the repository). helm comes from tests/gotool.sh helm,
# which builds it once.
set -eu
cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-10}
KUBE=v1.36.3 # plumb's default: the newest Kubernetes it embeds
SHARED=${PLUMB_SHARED:-../shared}/charts
say() { echo "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

[ -d "$SHARED" ] || { say "helm.sh: no $SHARED (set PLUMB_SHARED to the directory holding charts/)"; exit 1; }
have hyperfine || { say "helm.sh: needs hyperfine (apt-get install hyperfine)"; exit 1; }
have /usr/bin/time || { say "helm.sh: needs GNU time (apt-get install time)"; exit 1; }
PATH=$(tests/gotool.sh helm):$PATH
[ -n "${BENCH_PLUMB:-}" ] || make -s build/plumb build/plumb-runtime >&2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/plumb-bench-helm.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
# plumb fetch is plumb-runtime's, found beside plumb.
cp "${BENCH_PLUMB:-build/plumb}" "$TMP/plumb"
cp "$(dirname "${BENCH_PLUMB:-build/plumb}")/plumb-runtime" "$TMP/plumb-runtime"
PLUMB=$TMP/plumb

# best CMD [PREPARE]: the fastest of $RUNS runs after a warm-up, in ms;
# PREPARE runs before each.
best() {
  hyperfine -N --style none --warmup 1 --runs "$RUNS" ${2:+--prepare "$2"} --export-csv "$TMP/h.csv" "$1" >/dev/null 2>&1
  awk -F, 'NR == 2 { printf "%.1f\n", $7 * 1000 }' "$TMP/h.csv"
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "Helm charts: Plumb beside helm template, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$("$PLUMB" version) at $(git rev-parse --short HEAD 2>/dev/null || echo unknown); helm $(helm version --template '{{.Version}}')"
echo "fastest of $RUNS runs after a warm-up (hyperfine)"
echo
echo "| chart | resources | helm ms | plumb first ms | first/helm | plumb cached ms | cached/helm | first peak KB | cached peak KB | equal |"
echo "|:------|----------:|--------:|---------------:|-----------:|----------------:|------------:|--------------:|---------------:|:-----:|"
repo=$TMP/repo
mkdir -p "$repo" && git init -q "$repo"
for c in podinfo ingress-nginx cert-manager; do
  cp -r "$SHARED/$c" "$repo/$c"
  mkdir -p "$repo/envs/$c"
  printf 'env e {\n  helm_chart("../../%s", { release: "r", namespace: "ns" })\n}\n' "$c" >"$repo/envs/$c/main.plumb"
  env=$repo/envs/$c cache=$TMP/cache-$c
  helm template r "$repo/$c" --namespace ns --kube-version "$KUBE" --include-crds >"$TMP/h.yaml"
  "$PLUMB" build "$env" --cache "$cache" >"$TMP/p.yaml" 2>/dev/null
  equal=$(python3 bench/compare.py --helm "$TMP/h.yaml" "$TMP/p.yaml" | cut -d' ' -f1)
  resources=$(grep -c '^kind: ' "$TMP/p.yaml")
  hms=$(best "helm template r $repo/$c --namespace ns --kube-version $KUBE --include-crds")
  first=$(best "$PLUMB build $env --cache $cache" "rm -rf $cache")
  cached=$(best "$PLUMB build $env --cache $cache")
  /usr/bin/time -f %M -o "$TMP/rss" "$PLUMB" build "$env" --cache "$TMP/fresh-$c" >/dev/null 2>&1
  /usr/bin/time -f %M -o "$TMP/rss-cached" "$PLUMB" build "$env" --cache "$TMP/fresh-$c" >/dev/null 2>&1
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" "$resources" "$hms" "$first" \
    "$(awk -v p="$first" -v h="$hms" 'BEGIN { printf "%.2fx", p / h }')" "$cached" \
    "$(awk -v p="$cached" -v h="$hms" 'BEGIN { printf "%.2fx", p / h }')" "$(cat "$TMP/rss")" "$(cat "$TMP/rss-cached")" \
    "$equal"
done
echo
echo "first: an empty cache, two renders by helm at once; cached: the render kept by the first"

# ---- from a chart repository --------------------------------------------------------------
bin=$(tests/helm/servers/build.sh)
mkdir -p "$TMP/srv/repo"
"$bin/chartrepo" -dir "$TMP/srv/repo" -port 0 -port-file "$TMP/srv/port" 2>/dev/null &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$TMP"' EXIT INT TERM
while [ ! -s "$TMP/srv/port" ]; do sleep 0.05; done
url=http://127.0.0.1:$(cat "$TMP/srv/port")
for c in podinfo ingress-nginx cert-manager; do helm package "$repo/$c" -d "$TMP/srv/repo" >/dev/null; done
helm repo index "$TMP/srv/repo" --url "$url"
export HELM_CONFIG_HOME=$TMP/helm HELM_CACHE_HOME=$TMP/helm/cache HELM_DATA_HOME=$TMP/helm/data
echo
echo "The same charts from a chart repository (on loopback, $url)"
echo
echo "| chart | helm pull ms | plumb fetch ms | fetch/pull | helm ms | plumb first ms | first/helm | plumb cached ms | cached/helm | equal |"
echo "|:------|-------------:|---------------:|-----------:|--------:|---------------:|-----------:|----------------:|------------:|:-----:|"
for c in podinfo ingress-nginx cert-manager; do
  env=$repo/remote/$c cache=$TMP/rcache-$c
  mkdir -p "$env"
  printf 'env e {\n  helm_chart("%s", { chart: "%s", release: "r", namespace: "ns" })\n}\n' "$url" "$c" >"$env/main.plumb"
  "$PLUMB" fetch "$env" --cache "$cache" >/dev/null
  tgz=$(ls "$TMP/srv/repo/$c"-*.tgz)
  helm template r "$tgz" --namespace ns --kube-version "$KUBE" --include-crds >"$TMP/h.yaml"
  "$PLUMB" build "$env" --cache "$cache" >"$TMP/p.yaml" 2>/dev/null
  equal=$(python3 bench/compare.py --helm "$TMP/h.yaml" "$TMP/p.yaml" | cut -d' ' -f1)
  pull=$(best "helm pull $c --repo $url -d $TMP/pulled" "mkdir -p $TMP/pulled")
  fetch=$(best "$PLUMB fetch $env --cache $TMP/fcache" "rm -rf $TMP/fcache $env/plumb.lock")
  "$PLUMB" fetch "$env" --cache "$cache" >/dev/null
  hms=$(best "helm template r $tgz --namespace ns --kube-version $KUBE --include-crds")
  first=$(best "$PLUMB build $env --cache $cache" "rm -rf $cache/helm")
  cached=$(best "$PLUMB build $env --cache $cache")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" "$pull" "$fetch" \
    "$(awk -v p="$fetch" -v h="$pull" 'BEGIN { printf "%.2fx", p / h }')" "$hms" "$first" \
    "$(awk -v p="$first" -v h="$hms" 'BEGIN { printf "%.2fx", p / h }')" "$cached" \
    "$(awk -v p="$cached" -v h="$hms" 'BEGIN { printf "%.2fx", p / h }')" "$equal"
done
echo
echo "fetch: helm pull, the archive checked and kept, plumb.lock written, and the build that meets the chart,"
echo "which renders it (a pull and a first build); first: the archive looked through, two renders by helm at once;"
echo "cached: the render kept by the first"
