#!/usr/bin/env bash
# Build (once) sops and age-keygen, which write the encrypted files of
# tests/sops/run.sh, from their Go modules. Prints the bin directory on
# stdout; all progress goes to stderr. Shaped like tests/helm/build.sh,
# with go install: neither module has a replace directive.
set -euo pipefail

SOPS_VERSION=${PLUMB_SOPS_VERSION:-v3.13.2}
AGE_VERSION=${PLUMB_AGE_VERSION:-v1.3.1}
CACHE=${PLUMB_CACHE:-$HOME/.cache/plumb}
BIN="$CACHE/bin-sops-$SOPS_VERSION-age-$AGE_VERSION"

export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}  # never fetch another Go behind our back
export CGO_ENABLED=0

log() { echo "build.sh: $*" >&2; }

if [[ -x $BIN/sops && -x $BIN/age-keygen ]]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { log "a Go toolchain is needed to build sops"; exit 1; }
mkdir -p "$BIN"
# tests/cluster/build.sh's lock: two Go builds at once on two cores would
# each take twice as long.
exec 9>"$CACHE/.build.lock"
flock 9

# go install MODULE/PKG@VERSION into $BIN, atomically: a killed build
# leaves no binary that the fast path would trust.
install() { # NAME PKG@VERSION
  [[ -x $BIN/$1 ]] && return 0
  log "building $1 ($2) ..."
  local t0=$SECONDS tmp="$BIN/.tmp-$1"
  mkdir -p "$tmp"
  (cd "$tmp" && GOBIN="$tmp" go install -trimpath -ldflags='-s -w' "$2")
  mv -f "$tmp/$1" "$BIN/$1"
  rm -rf "$tmp"
  log "built $1 in $((SECONDS - t0))s"
}
install sops "github.com/getsops/sops/v3/cmd/sops@$SOPS_VERSION"
install age-keygen "filippo.io/age/cmd/age-keygen@$AGE_VERSION"
echo "$BIN"
