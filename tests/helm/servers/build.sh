#!/usr/bin/env bash
# Build (once) the servers that remote charts are fetched from in the tests:
# registry, the CNCF distribution registry (an OCI registry), from its Go
# module, and chartrepo, our own static chart repository (chartrepo/).
# Prints the bin directory on stdout; all progress goes to stderr.
# Shaped like tests/gotool.sh.
set -euo pipefail

# Pinned: the version helm v4.3.2's go.mod requires, which the module proxy
# thus serves. Its go.mod asks for Go 1.26.0.
DIST_VERSION=${PLUMB_DISTRIBUTION_VERSION:-v3.1.2}
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${PLUMB_CACHE:-$HOME/.cache/plumb}
# chartrepo is ours: a change to its source is a new bin dir.
SRC_HASH=$(cat "$HERE"/chartrepo/{go.mod,go.sum,main.go} | sha256sum | cut -c1-12)
BIN="$CACHE/bin-chartservers-distribution-$DIST_VERSION-chartrepo-$SRC_HASH"

# -mod=mod: let go fill go.mod/go.sum of the wrapper module; no VCS stamping
# (the cache dir may sit inside some unrelated git work tree).
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}  # never fetch another Go behind our back
# As distribution's Makefile builds its release binaries: without cgo.
export CGO_ENABLED=0

log() { echo "build.sh: $*" >&2; }

# Fast path: already built -> print and leave.
if [[ -x $BIN/registry && -x $BIN/chartrepo ]]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { log "a Go toolchain (1.26 or newer) is needed to build the chart servers"; exit 1; }
mkdir -p "$BIN"
# tests/cluster/build.sh's lock (one file, for one cache): two Go builds at
# once on two cores would each take twice as long.
exec 9>"$CACHE/.build.lock"
flock 9

# go build PKG in module DIR into $BIN/NAME (atomically: a killed build
# leaves no half-written binary that the fast path would trust).
build_into() { # DIR NAME GO_BUILD_ARGS...
  local dir=$1 name=$2; shift 2
  [[ -x $BIN/$name ]] && return 0
  log "building $name ..."
  local t0=$SECONDS
  (cd "$dir" && go build -p 2 -trimpath -o "$BIN/.$name.tmp" "$@")
  mv -f "$BIN/.$name.tmp" "$BIN/$name"
  log "built $name in $((SECONDS - t0))s"
}

# A wrapper module requiring distribution at the pinned version, as for helm:
# the binary is built from the module's own go.sum-checked dependencies.
RDIR="$CACHE/distribution-$DIST_VERSION"
if [[ ! -f $RDIR/go.mod ]]; then
  mkdir -p "$RDIR"
  printf 'module plumb.local/registrywrap\n\ngo 1.26\n\nrequire github.com/distribution/distribution/v3 %s\n' \
    "$DIST_VERSION" > "$RDIR/go.mod.tmp"
  mv "$RDIR/go.mod.tmp" "$RDIR/go.mod"
fi
# The version stamped as distribution's Makefile stamps a release, so that
# `registry --version` names it rather than v3.x+unknown.
build_into "$RDIR" registry \
  "-ldflags=-s -w -X github.com/distribution/distribution/v3/version.version=$DIST_VERSION" \
  github.com/distribution/distribution/v3/cmd/registry
# Our own module: its go.sum is in the repository, so nothing is written there.
build_into "$HERE/chartrepo" chartrepo "-ldflags=-s -w" .

echo "$BIN"
