#!/usr/bin/env bash
# Build (once) a Go tool the tests run, from its module, and print the
# directory holding it (put it first on PATH); all progress goes to stderr.
#   tests/gotool.sh helm   helm, which renders the charts of helm_chart(),
#                          which the chart tests compare Plumb with, and
#                          which the image ships (deploy/image.sh, Dockerfile)
#   tests/gotool.sh sops   sops and age-keygen, which write the encrypted
#                          files of tests/sops
# Cached outside the repository, as the control plane is
# (tests/cluster/build.sh, whose lock it shares).
set -euo pipefail

CACHE=${PLUMB_CACHE:-$HOME/.cache/plumb}
# Each tool: NAME PACKAGE@VERSION [LINKER FLAGS].
case ${1:-} in
  helm)
    # Pinned: Helm v4's newest release. Its go.mod asks for Go 1.26.0. The
    # version stamped as Helm's Makefile stamps a release, so that `helm
    # version` names it rather than the bare v4.x of its source.
    HELM_VERSION=${PLUMB_HELM_VERSION:-v4.3.2}
    BIN=$CACHE/bin-helm-$HELM_VERSION
    tools=("helm helm.sh/helm/v4/cmd/helm@$HELM_VERSION -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION")
    ;;
  sops)
    SOPS_VERSION=${PLUMB_SOPS_VERSION:-v3.13.2}
    AGE_VERSION=${PLUMB_AGE_VERSION:-v1.3.1}
    BIN=$CACHE/bin-sops-$SOPS_VERSION-age-$AGE_VERSION
    tools=("sops github.com/getsops/sops/v3/cmd/sops@$SOPS_VERSION" "age-keygen filippo.io/age/cmd/age-keygen@$AGE_VERSION")
    ;;
  *) echo "usage: $0 helm|sops" >&2; exit 2 ;;
esac

# go install PACKAGE@VERSION builds from the module's own go.mod and
# go.sum (none of these has a replace directive, which it would refuse);
# no VCS stamping (the cache may sit inside some unrelated git work tree).
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}  # never fetch another Go behind our back
# As their own release builds: without cgo.
export CGO_ENABLED=0

log() { echo "gotool.sh: $*" >&2; }
built() { local t; for t in "${tools[@]}"; do [[ -x $BIN/${t%% *} ]] || return 1; done; }

# Fast path: already built -> print and leave.
if built; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { log "a Go toolchain (1.26 or newer) is needed to build $1"; exit 1; }
mkdir -p "$BIN"
# tests/cluster/build.sh's lock (one file, for one cache): two Go builds at
# once on two cores would each take twice as long.
exec 9>"$CACHE/.build.lock"
flock 9

# Into $BIN atomically: a killed build leaves no binary that the fast path
# would trust.
for t in "${tools[@]}"; do
  read -r name pkg ldflags <<<"$t"
  [[ -x $BIN/$name ]] && continue
  log "building $name (${pkg#*@}) ..."
  t0=$SECONDS tmp="$BIN/.tmp-$name"
  mkdir -p "$tmp"
  (cd "$tmp" && GOBIN="$tmp" go install -p 2 -trimpath "-ldflags=-s -w ${ldflags:-}" "$pkg")
  mv -f "$tmp/$name" "$BIN/$name"
  rm -rf "$tmp"
  log "built $name in $((SECONDS - t0))s"
done
echo "$BIN"
