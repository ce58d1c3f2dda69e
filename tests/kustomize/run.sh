#!/bin/sh
# Plumb against Kustomize: each tests/kustomize/CASE holds the same
# configuration twice, as a Kustomize tree (CASE/k, given to `kubectl
# kustomize`) and as Plumb (CASE/p, given to `plumb build`). The two outputs
# must be the same resources, compared as parsed YAML (bench/compare.py).
# Usage: run.sh [PLUMB]
set -u
cd "$(dirname "$0")/../.."
PLUMB=${1:-build/asan/plumb}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
if ! command -v kubectl >/dev/null; then
  echo "FAIL kubectl not found: Kustomize (inside kubectl) is the reference"
  echo "kustomize: 0 passed, 1 failed"
  exit 1
fi
for c in tests/kustomize/*/; do
  c=${c%/}
  name=$(basename "$c")
  if ! kubectl kustomize "$c/k" >"$tmp/k.yaml" 2>"$tmp/err"; then
    echo "FAIL $name: kubectl kustomize: $(cat "$tmp/err")"; fail=$((fail + 1)); continue
  fi
  if ! $PLUMB build "$c/p" >"$tmp/p.yaml" 2>"$tmp/err"; then
    echo "FAIL $name: plumb build:"; cat "$tmp/err"; fail=$((fail + 1)); continue
  fi
  if out=$(python3 bench/compare.py "$tmp/k.yaml" "$tmp/p.yaml"); then
    pass=$((pass + 1))
  else
    echo "FAIL $name (first: kustomize, second: plumb): $out"; fail=$((fail + 1))
  fi
done
echo "kustomize: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
