#!/bin/sh
# Plumb against Kustomize: each tests/kustomize/CASE holds the same
# configuration twice, as a Kustomize tree (CASE/k) and as Plumb (CASE/p).
# `kubectl kustomize CASE/k` is the reference; `plumb build CASE/k` (the
# kustomization read natively) and `plumb build CASE/p` must give the same
# resources, compared as parsed YAML (bench/compare.py), the native build
# also in the same order (sortOptions). A case of what only
# a kustomization says (sibling bases, generator behaviors) has no CASE/p.
# Third, `plumb convert CASE/k` on a copy of the case writes its Plumb
# equivalent, which `plumb build` must build to the same resources; where
# convert is to refuse, CASE/convert-refused holds a line of its message.
# Where Plumb differs from Kustomize on purpose (docs/kustomize.md, the
# differences), CASE/differs holds the start of the first difference
# compare.py must find. A case CASE/d is a directory of YAML manifests:
# `plumb build CASE/d` must give the resources of a kustomization that
# lists its files, which a copy of it gets, and with --recurse those of
# one that lists its subdirectories' files too.
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
# same CASE [--ordered]: the compare.py verdict on k.yaml and p.yaml is
# what CASE expects (out says why when it is not).
same() {
  out=$(python3 bench/compare.py ${2:-} "$tmp/k.yaml" "$tmp/p.yaml")
  if [ -f "$1/differs" ]; then
    case $out in "no: $(cat "$1/differs")"*) return 0 ;; esac
    out="expected the difference \"$(cat "$1/differs")\", got: $out"; return 1
  fi
  case $out in yes*) return 0 ;; esac
  return 1
}

# converted CASE NAME: plumb convert on a copy of the cases (a case may
# name another's files), then the build of what it wrote.
converted() {
  rm -rf "$tmp/all" && cp -r tests/kustomize "$tmp/all"
  if ! $PLUMB convert "$tmp/all/$2/k" --root "$tmp/all" >"$tmp/out" 2>"$tmp/err"; then
    if [ -f "$1/convert-refused" ] && grep -qF -- "$(cat "$1/convert-refused")" "$tmp/err"; then pass=$((pass + 1)); return; fi
    echo "FAIL $2: plumb convert:"; cat "$tmp/err"; fail=$((fail + 1)); return
  fi
  if [ -f "$1/convert-refused" ]; then echo "FAIL $2: plumb convert did not refuse"; fail=$((fail + 1)); return; fi
  if ! $PLUMB build "$tmp/all/$2/k" --root "$tmp/all" >"$tmp/p.yaml" 2>"$tmp/err"; then
    echo "FAIL $2: plumb build of the converted tree:"; cat "$tmp/err"; fail=$((fail + 1)); return
  fi
  if same "$1"; then
    pass=$((pass + 1))
  else
    echo "FAIL $2, converted (first: kustomize, second: plumb): $out"; fail=$((fail + 1))
  fi
}

# manifests DIR [-maxdepth 1]: DIR's manifest files, as a YAML directory
# reads them (hidden ones too), as a kustomization's resources.
manifests() {
  echo "resources:"
  (cd "$1" && find . ${2:-} ${3:-} -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \)) |
    sed 's|^\./|- |' | LC_ALL=C sort
}

# yaml_dir CASE NAME: its directory of manifests against Kustomize.
yaml_dir() {
  for flag in "" --recurse; do
    rm -rf "$tmp/d" && cp -r "$1/d" "$tmp/d"
    manifests "$tmp/d" $([ -z "$flag" ] && echo -maxdepth 1) >"$tmp/list" && mv "$tmp/list" "$tmp/d/kustomization.yaml"
    if ! kubectl kustomize "$tmp/d" >"$tmp/k.yaml" 2>"$tmp/err"; then
      echo "FAIL $2${flag:+ $flag}: kubectl kustomize: $(cat "$tmp/err")"; fail=$((fail + 1)); continue
    fi
    if ! $PLUMB build "$1/d" $flag >"$tmp/p.yaml" 2>"$tmp/err"; then
      echo "FAIL $2${flag:+ $flag}: plumb build:"; cat "$tmp/err"; fail=$((fail + 1)); continue
    fi
    if same "$1"; then
      pass=$((pass + 1))
    else
      echo "FAIL $2${flag:+ $flag} (first: kustomize, second: plumb): $out"; fail=$((fail + 1))
    fi
  done
}

for c in tests/kustomize/*/; do
  c=${c%/}
  name=$(basename "$c")
  if [ -d "$c/d" ]; then yaml_dir "$c" "$name"; continue; fi
  if ! kubectl kustomize "$c/k" >"$tmp/k.yaml" 2>"$tmp/err"; then
    echo "FAIL $name: kubectl kustomize: $(cat "$tmp/err")"; fail=$((fail + 1)); continue
  fi
  converted "$c" "$name"
  for side in k p; do
    [ -d "$c/$side" ] || continue
    if ! $PLUMB build "$c/$side" >"$tmp/p.yaml" 2>"$tmp/err"; then
      echo "FAIL $name: plumb build $side:"; cat "$tmp/err"; fail=$((fail + 1)); continue
    fi
    if same "$c" "$([ $side = k ] && echo --ordered)"; then
      pass=$((pass + 1))
    else
      echo "FAIL $name, plumb build $side (first: kustomize, second: plumb): $out"; fail=$((fail + 1))
    fi
  done
done
echo "kustomize: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
