#!/usr/bin/env bash
# Regenerates schemas/k8s-vMAJOR.MINOR.txt, the Kubernetes schemas that
# `plumb build` checks resources against. Run it by hand; the build only
# reads the committed files.
#   usage: tests/cluster/schemas.sh            the test control plane's version
#          tests/cluster/schemas.sh v1.35[.N]  another version (its newest patch)
#
# Without a version, from the OpenAPI v3 documents a real API server serves:
# the test control plane of up.sh, of PLUMB_K8S_VERSION. With one, from the
# documents upstream dumps from a real kube-apiserver into the
# k8s.io/kubernetes Go module (api/openapi-spec/v3), which building
# another control plane (10 to 20 minutes of two cores) would serve too,
# once two differences are taken out: upstream's server serves every API
# group-version and a default one only the GA ones (v1, v2: every alpha and
# beta version is off by default in pkg/controlplane/instance.go of
# v1.34 to v1.36), and upstream's was run without OpenAPIEnums, so the
# enums are read from the Go source the server builds its documents from.
# For v1.36.3 both routes give the same file, byte for byte.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
KUBECTL=${KUBECTL:-kubectl}

write() { # VERSION [--enums GO_FILE] DOC...: runs schemas.py into the file of VERSION's minor line
  local version=$1; shift
  local minor out
  minor=$(echo "$version" | sed -E 's/^(v[0-9]+\.[0-9]+).*/\1/')
  out=$ROOT/schemas/k8s-$minor.txt
  if [[ $1 == --enums ]]; then
    python3 "$HERE/schemas.py" --enums "$2" "$version" "${@:3}" > "$out.tmp"
  else
    python3 "$HERE/schemas.py" "$version" "$@" > "$out.tmp"
  fi
  mv "$out.tmp" "$out"
  echo "wrote schemas/k8s-$minor.txt: $(grep -c '^K ' "$out") kinds, $(grep -c '^D ' "$out") definitions, $(wc -c < "$out") bytes" >&2
}

from_module() { # v1.35 or v1.35.N
  export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
  command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
  local want=$1 version dir files=()
  if [[ $want =~ ^v[0-9]+\.[0-9]+$ ]]; then
    # The newest patch release of the line.
    version=$(go list -m -versions k8s.io/kubernetes | tr ' ' '\n' | grep -E "^${want//./\\.}\.[0-9]+$" |
              sort -t. -k3,3n | tail -n1)
    [[ -n $version ]] || { echo "schemas.sh: no release of k8s.io/kubernetes in line $want" >&2; exit 1; }
  else
    version=$want
  fi
  dir=$(cd "${TMPDIR:-/tmp}" && go mod download -json "k8s.io/kubernetes@$version" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -d $dir/api/openapi-spec/v3 ]] || { echo "schemas.sh: no api/openapi-spec/v3 in k8s.io/kubernetes@$version" >&2; exit 1; }
  # api__v1 and apis__GROUP__vN: the GA group-versions, not the groups' indexes.
  for f in "$dir"/api/openapi-spec/v3/*_openapi.json; do
    [[ $(basename "$f") =~ ^(api__v1|apis__[^_]+__v[0-9]+)_openapi\.json$ ]] && files+=("$f")
  done
  write "$version" --enums "$dir/pkg/generated/openapi/zz_generated.openapi.go" "${files[@]}"
}

from_server() {
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/plumb-schemas.XXXXXX")
  trap '"$HERE/down.sh" "'"$dir"'" --clean' EXIT
  "$HERE/up.sh" "$dir"
  export KUBECONFIG=$dir/kubeconfig
  raw() { "$KUBECTL" --request-timeout=60s get --raw "$1"; }
  local version paths docs=()
  version=$(raw /version | python3 -c 'import json, sys; print(json.load(sys.stdin)["gitVersion"])')
  # One document per group-version (api/v1, apis/apps/v1, ...): the paths
  # with a version after the group, not the group's own index.
  paths=$(raw /openapi/v3 | python3 -c '
import json, sys
for p in sorted(json.load(sys.stdin)["paths"]):
    parts = p.split("/")
    if (parts[0] == "api" and len(parts) == 2) or (parts[0] == "apis" and len(parts) == 3):
        print(p)')
  for p in $paths; do
    local f=$dir/openapi-${p//\//_}.json
    raw "/openapi/v3/$p" > "$f"
    docs+=("$f")
  done
  write "$version" "${docs[@]}"
}

if [[ $# -eq 0 ]]; then
  from_server
elif [[ $# -eq 1 && $1 =~ ^v[0-9]+\.[0-9]+(\.[0-9]+)?$ ]]; then
  from_module "$1"
else
  echo "usage: tests/cluster/schemas.sh [vMAJOR.MINOR[.PATCH]]" >&2
  exit 2
fi
