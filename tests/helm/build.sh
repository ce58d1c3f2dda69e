#!/usr/bin/env bash
# Build (once) helm, which renders the charts of helm_chart() and which the
# chart tests compare Plumb with, from its Go module. Prints the bin
# directory on stdout (put it first on PATH); all progress goes to stderr.
# Shaped like tests/cluster/build.sh.
set -euo pipefail

# Pinned: Helm v4's newest release. Its go.mod asks for Go 1.26.0.
HELM_VERSION=${PLUMB_HELM_VERSION:-v4.3.2}
CACHE=${PLUMB_CACHE:-$HOME/.cache/plumb}
BIN="$CACHE/bin-helm-$HELM_VERSION"

# -mod=mod: let go fill go.mod/go.sum of the wrapper module; no VCS stamping
# (the cache dir may sit inside some unrelated git work tree).
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}  # never fetch another Go behind our back
# As Helm's own Makefile builds its release binaries: without cgo.
export CGO_ENABLED=0

log() { echo "build.sh: $*" >&2; }

# Fast path: already built -> print and leave.
if [[ -x $BIN/helm ]]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { log "a Go toolchain (1.26 or newer) is needed to build helm"; exit 1; }
mkdir -p "$BIN"
# tests/cluster/build.sh's lock (one file, for one cache): two Go builds at
# once on two cores would each take twice as long.
exec 9>"$CACHE/.build.lock"
flock 9
if [[ -x $BIN/helm ]]; then echo "$BIN"; exit 0; fi

# A wrapper module requiring helm at the pinned version, as for etcd: the
# binary is built from the module's own go.sum-checked dependencies.
HDIR="$CACHE/helm-$HELM_VERSION"
if [[ ! -f $HDIR/go.mod ]]; then
  mkdir -p "$HDIR"
  printf 'module plumb.local/helmwrap\n\ngo 1.26\n\nrequire helm.sh/helm/v4 %s\n' "$HELM_VERSION" > "$HDIR/go.mod.tmp"
  mv "$HDIR/go.mod.tmp" "$HDIR/go.mod"
fi

log "building helm ($HELM_VERSION) ..."
t0=$SECONDS
# The version stamped as Helm's Makefile stamps a release, so that `helm
# version` names it rather than the bare v4.x of its source.
(cd "$HDIR" && go build -p 2 -trimpath \
  "-ldflags=-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
  -o "$BIN/.helm.tmp" helm.sh/helm/v4/cmd/helm)
mv -f "$BIN/.helm.tmp" "$BIN/helm"
log "built helm in $((SECONDS - t0))s"
echo "$BIN"
