#!/bin/sh
# Starts a real control plane (tests/cluster), runs the Kubernetes tests
# against it, and always stops it. Prints "kube: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
dir=$(mktemp -d)
trap 'tests/cluster/down.sh "$dir" --clean >/dev/null 2>&1' EXIT
if ! tests/cluster/up.sh "$dir" >"$dir.up.log" 2>&1; then
  tail -30 "$dir.up.log"
  echo "kube: 0 passed, 1 failed"
  exit 1
fi
sh tests/kube/scenarios.sh "${1:-build/asan/plumb}" "$dir"
