#!/bin/sh
# Plumb against Kustomize: each tests/kustomize/CASE holds the same
# configuration twice, as a Kustomize tree (CASE/k) and as Plumb (CASE/p).
# `kubectl kustomize CASE/k` is the reference; `plumb build CASE/k` (the
# kustomization read natively) and `plumb build CASE/p` must give the same
# resources, compared as parsed YAML (bench/compare.py). A case of what only
# a kustomization says (sibling bases, generator behaviors) has no CASE/p.
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
  for side in k p; do
    [ -d "$c/$side" ] || continue
    if ! $PLUMB build "$c/$side" >"$tmp/p.yaml" 2>"$tmp/err"; then
      echo "FAIL $name: plumb build $side:"; cat "$tmp/err"; fail=$((fail + 1)); continue
    fi
    if out=$(python3 bench/compare.py "$tmp/k.yaml" "$tmp/p.yaml"); then
      pass=$((pass + 1))
    else
      echo "FAIL $name, plumb build $side (first: kustomize, second: plumb): $out"; fail=$((fail + 1))
    fi
  done
done
echo "kustomize: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
