#!/usr/bin/env bash
# Build (once) Dex, the OpenID Connect provider tests/oidc/flow.sh logs in
# against, from its Go module. Prints the binary's path on stdout; all
# progress goes to stderr. Shaped like tests/cluster/build.sh.
set -euo pipefail

# Pinned. Dex tags its releases v2.x but its module path has no /v2, so the
# Go module proxy serves them only as pseudo-versions of master.
DEX_VERSION=${PLUMB_DEX_VERSION:-v0.0.0-20260806151424-ab64ed778070}
CACHE=${PLUMB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plumb}
DIR="$CACHE/dex-$DEX_VERSION"
BIN="$DIR/dex"

# No VCS stamping (the cache dir may sit inside some unrelated git work tree);
# -mod=mod lets go complete go.sum after the replace below is dropped.
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}  # never fetch another Go behind our back
# Without cgo, Dex leaves out its SQLite storage (storage/sql/sqlite_no_cgo.go):
# the tests keep state in memory, and SQLite's C amalgamation is a long compile.
export CGO_ENABLED=0

log() { echo "build.sh: $*" >&2; }

if [[ -x $BIN ]]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { log "a Go toolchain (1.25 or newer) is needed to build Dex"; exit 1; }
mkdir -p "$DIR"
# tests/cluster/build.sh's lock (one file, for one cache): two Go builds at
# once on two cores would each take twice as long.
exec 9>"$CACHE/.build.lock"
flock 9
if [[ -x $BIN ]]; then echo "$BIN"; exit 0; fi

# Dex's go.mod has a replace directive, so `go install dex@version` refuses it:
# build ./cmd/dex in a writable copy of the module's source instead.
SRC="$DIR/src"
if [[ ! -f $SRC/go.mod ]]; then
  log "fetching github.com/dexidp/dex@$DEX_VERSION ..."
  mod=$(cd "$DIR" && go mod download -json "github.com/dexidp/dex@$DEX_VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f $mod/go.mod ]] || { log "cannot download github.com/dexidp/dex@$DEX_VERSION"; exit 1; }
  rm -rf "$SRC.tmp"
  cp -r "$mod" "$SRC.tmp"
  chmod -R u+w "$SRC.tmp"
  # The replace points at ./api/v2, a nested module the module's zip leaves
  # out, and the published api/v2 (v2.4.0) lacks what master's gRPC API
  # server serves. The tests use no gRPC API: build dex without it, its one
  # call and two imports taken out of cmd/dex/serve.go.
  (cd "$SRC.tmp" && go mod edit -dropreplace=github.com/dexidp/dex/api/v2)
  serve="$SRC.tmp/cmd/dex/serve.go"
  grep -q 'api.RegisterDexServer(grpcSrv, apiserver.NewAPI(' "$serve" ||
    { log "cmd/dex/serve.go is not as expected: update this script for $DEX_VERSION"; exit 1; }
  sed -i -e '/api.RegisterDexServer(grpcSrv, apiserver.NewAPI(/d' \
    -e '\#^[[:space:]]*"github.com/dexidp/dex/api/v2"$#d' \
    -e '\#^[[:space:]]*"github.com/dexidp/dex/server/apiserver"$#d' "$serve"
  mv "$SRC.tmp" "$SRC"
fi

log "building dex ..."
t0=$SECONDS
(cd "$SRC" && go build -p 2 -trimpath -ldflags='-s -w' -o "$DIR/.dex.tmp" ./cmd/dex)
mv -f "$DIR/.dex.tmp" "$BIN"
log "built dex in $((SECONDS - t0))s"
echo "$BIN"
