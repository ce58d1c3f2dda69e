#!/bin/sh
# Plumb against helm: a chart rendered by Plumb (helm_chart(), or `plumb
# build DIR` on a chart's directory) must give the resources `helm
# template` gives with the same release, namespace, values and Kubernetes
# version, compared as parsed YAML (bench/compare.py --helm: helm's hooks
# left out and null fields pruned, as a build does both). The charts are
# this directory's own (charts/: a subchart, a library chart, CRDs,
# hooks) and the real ones of the shared charts directory ($PLUMB_SHARED,
# else ../shared beside the repository: podinfo, ingress-nginx with each
# of its ci/*.yaml value sets, cert-manager), copied into a repository of
# their own, since a build reads nothing outside its root. Without the
# shared charts, their comparisons are skipped, said so, and not counted.
# Usage: run.sh [PLUMB]; helm must be on the PATH (tests/run.sh puts it
# there).
set -u
cd "$(dirname "$0")/../.."
PLUMB=${1:-build/asan/plumb}
KUBE=v1.36.3 # plumb's default: the newest Kubernetes it embeds
command -v helm >/dev/null || { echo "FAIL no helm on the PATH: tests/gotool.sh helm builds it"; echo "helm: 0 passed, 1 failed"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# same NAME PLUMB_ARGS -- HELM_ARGS: plumb build PLUMB_ARGS and helm
# template HELM_ARGS give the same resources (plumb's renders kept in a
# cache of this run's, so that each is helm's first).
same() {
  name=$1; shift
  p=""
  while [ "$1" != -- ]; do p="$p $1"; shift; done
  shift
  if ! $PLUMB build $p --cache "$tmp/cache" >"$tmp/p.yaml" 2>"$tmp/err"; then
    echo "FAIL $name: plumb build$p:"; head -c 2000 "$tmp/err"; fail=$((fail + 1)); return
  fi
  if ! helm template "$@" --kube-version "$KUBE" >"$tmp/h.yaml" 2>"$tmp/err"; then
    echo "FAIL $name: helm template $*:"; head -c 2000 "$tmp/err"; fail=$((fail + 1)); return
  fi
  if out=$(python3 bench/compare.py --helm "$tmp/h.yaml" "$tmp/p.yaml"); then
    pass=$((pass + 1))
  else
    echo "FAIL $name (first: helm, second: plumb): $out"; fail=$((fail + 1))
  fi
}

# This directory's charts, each as `plumb build DIR` renders it: released
# under its directory's name, in the namespace default, with its CRDs.
for c in tests/helm/charts/*/; do
  c=${c%/}
  same "$(basename "$c")" "$c" -- "$(basename "$c")" "$c" --namespace default --include-crds
done
e=tests/helm/envs
same "values files and object" $e/values -- web tests/helm/charts/basic --namespace shop --include-crds \
  -f $e/values/prod.yaml -f $e/values/override.json --api-versions monitoring.coreos.com/v1
same "a subchart's condition" $e/condition -- shop tests/helm/charts/umbrella --namespace default --include-crds \
  -f $e/condition/override.json
same "include_crds: false" tests/golden/src/helm/crds --env without_crds -- small tests/helm/charts/crds

shared=${PLUMB_SHARED:-../shared}/charts
if [ ! -d "$shared" ]; then
  echo "helm: the shared charts are skipped, not passed: no $shared (set PLUMB_SHARED to the directory holding charts/)"
  echo "helm: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
fi
# A repository of its own, outside this one, holding the charts and the
# envs that render them with a value set each.
repo=$tmp/repo
mkdir -p "$repo" && git init -q "$repo"
for c in podinfo ingress-nginx cert-manager; do
  if [ ! -f "$shared/$c/Chart.yaml" ]; then
    echo "FAIL $c: no $shared/$c/Chart.yaml"; fail=$((fail + 1)); continue
  fi
  cp -r "$shared/$c" "$repo/$c"
  same "$c" "$repo/$c" -- "$c" "$repo/$c" --namespace default --include-crds
done

# with NAME CHART VALUES_FILE: helm_chart() of CHART with the values file,
# released as r in the namespace ns, against helm template of the same.
with() {
  mkdir -p "$repo/envs/$1"
  printf 'env e {\n  helm_chart("../../%s", { release: "r", namespace: "ns", values_files: ["../../%s"] })\n}\n' \
    "$2" "$3" >"$repo/envs/$1/main.plumb"
  same "$1" "$repo/envs/$1" -- r "$repo/$2" --namespace ns --include-crds -f "$repo/$3"
}
[ -d "$repo/podinfo" ] && with podinfo-prod podinfo podinfo/values-prod.yaml
for v in "$repo"/ingress-nginx/ci/*.yaml; do
  [ -f "$v" ] && with "ingress-nginx-$(basename "$v" .yaml)" ingress-nginx "ingress-nginx/ci/$(basename "$v")"
done
if [ -d "$repo/cert-manager" ]; then
  printf 'crds:\n  enabled: true\nprometheus:\n  servicemonitor:\n    enabled: true\n' >"$repo/cert-manager-crds.yaml"
  with cert-manager-crds cert-manager cert-manager-crds.yaml
fi

echo "helm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
