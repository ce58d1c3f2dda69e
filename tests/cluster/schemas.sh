#!/usr/bin/env bash
# Regenerates schemas/k8s-vMAJOR.MINOR.txt, the Kubernetes schemas that
# `plumb build` checks resources against, from the OpenAPI v3 documents a
# real API server serves (the test control plane of up.sh, of
# PLUMB_K8S_VERSION). Run it by hand after changing that version; the build
# only reads the committed file.
#   usage: tests/cluster/schemas.sh
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
KUBECTL=${KUBECTL:-kubectl}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/plumb-schemas.XXXXXX")
trap '"$HERE/down.sh" "$DIR" --clean' EXIT

"$HERE/up.sh" "$DIR"
export KUBECONFIG=$DIR/kubeconfig
raw() { "$KUBECTL" --request-timeout=60s get --raw "$1"; }

version=$(raw /version | python3 -c 'import json, sys; print(json.load(sys.stdin)["gitVersion"])')
# One document per group-version (api/v1, apis/apps/v1, ...): the paths
# with a version after the group, not the group's own index.
paths=$(raw /openapi/v3 | python3 -c '
import json, sys
for p in sorted(json.load(sys.stdin)["paths"]):
    parts = p.split("/")
    if (parts[0] == "api" and len(parts) == 2) or (parts[0] == "apis" and len(parts) == 3):
        print(p)')
docs=()
for p in $paths; do
  f=$DIR/openapi-${p//\//_}.json
  raw "/openapi/v3/$p" > "$f"
  docs+=("$f")
done
minor=$(echo "$version" | sed -E 's/^(v[0-9]+\.[0-9]+).*/\1/')
out=$ROOT/schemas/k8s-$minor.txt
python3 "$HERE/schemas.py" "$version" "${docs[@]}" > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote schemas/k8s-$minor.txt: $(grep -c '^K ' "$out") kinds, $(grep -c '^D ' "$out") definitions, $(wc -c < "$out") bytes" >&2
