#!/usr/bin/env bash
# Build (once) the control-plane binaries the integration tests run:
# kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok (the
# fake kubelet), from Go modules, and kwok's stages (kwok-stages.yaml).
# Prints the bin directory on stdout; all progress goes to stderr.
set -euo pipefail

# Pinned versions. k8s v1.36.x is the newest line whose go.mod accepts this
# machine's Go (1.26.x); etcd v3.6.x is the server line Kubernetes 1.36 ships with;
# kwok v0.8.0 is built against k8s.io v0.36.x and wants Go 1.26.
K8S_VERSION=${PLUMB_K8S_VERSION:-v1.36.3}
ETCD_VERSION=${PLUMB_ETCD_VERSION:-v3.6.16}
KWOK_VERSION=${PLUMB_KWOK_VERSION:-v0.8.0}
CACHE=${PLUMB_CACHE:-$HOME/.cache/plumb}
BIN="$CACHE/bin-k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
# What the fast path wants to find; a bin dir lacking one is completed.
OUTPUTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kwok-stages.yaml)

# -mod=mod: let go fill go.mod/go.sum of the wrapper modules; no VCS stamping
# (the cache dir may sit inside some unrelated git work tree).
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}  # never fetch another Go behind our back
# 2 cores / 24 GiB: two compile jobs at a time; strip and trim to shrink binaries.
BUILD=(go build -p 2 -trimpath -ldflags='-s -w')

log() { echo "build.sh: $*" >&2; }

# Fast path: everything already built -> print and leave.
built() { local f; for f in "${OUTPUTS[@]}"; do [[ -s $BIN/$f ]] || return 1; done; }
if built; then echo "$BIN"; exit 0; fi
# Go's own installer puts it in /usr/local/go; a non-login shell may lack it.
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { log "a Go toolchain (1.26 or newer) is needed to build the test control plane"; exit 1; }
mkdir -p "$BIN"
# One build at a time per cache (parallel test jobs); the others wait and then
# find the binaries already there.
exec 9>"$CACHE/.build.lock"
flock 9

# go build PKG in wrapper module DIR into $BIN/NAME (atomically: a killed build
# leaves no half-written binary that the fast path would trust).
build_into() { # DIR PKG NAME
  [[ -x $BIN/$3 ]] && return 0
  log "building $3 ($2) ..."
  local t0=$SECONDS
  (cd "$1" && "${BUILD[@]}" -o "$BIN/.$3.tmp" "$2")
  mv -f "$BIN/.$3.tmp" "$BIN/$3"
  log "built $3 in $((SECONDS - t0))s"
}
# modfield MODULE@VERSION FIELD: a field (Dir, GoMod) of `go mod download -json`,
# which fetches the module into GOMODCACHE first. Run in a dir without go.mod.
modfield() {
  go mod download -json "$1" | sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p"
}

# --- etcd: go.etcd.io/etcd/server/v3 is itself package main, but its go.mod has
# replace directives, so `go install ...@version` refuses it: use a wrapper module.
EDIR="$CACHE/etcd-$ETCD_VERSION"
if [[ ! -f $EDIR/go.mod ]]; then
  mkdir -p "$EDIR"
  printf 'module plumb.local/etcdwrap\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' \
    "$ETCD_VERSION" > "$EDIR/go.mod.tmp"
  mv "$EDIR/go.mod.tmp" "$EDIR/go.mod"
fi
build_into "$EDIR" go.etcd.io/etcd/server/v3 etcd

# --- kwok: a wrapper module too (one way to build: -o, GOFLAGS), with kwok's
# own go line; built before the Kubernetes -X flags below, which are not its.
WDIR="$CACHE/kwok-$KWOK_VERSION"
if [[ ! -f $WDIR/go.mod || ! -s $BIN/kwok-stages.yaml ]]; then
  mkdir -p "$WDIR"
  wsrc=$(cd "$WDIR" && modfield "sigs.k8s.io/kwok@$KWOK_VERSION" Dir)
  [[ -f $wsrc/go.mod ]] || { log "cannot find sigs.k8s.io/kwok@$KWOK_VERSION"; exit 1; }
fi
if [[ ! -f $WDIR/go.mod ]]; then
  printf 'module plumb.local/kwokwrap\n\n%s\n\nrequire sigs.k8s.io/kwok %s\n' \
    "$(grep -m1 '^go ' "$wsrc/go.mod")" "$KWOK_VERSION" > "$WDIR/go.mod.tmp"
  mv "$WDIR/go.mod.tmp" "$WDIR/go.mod"
fi
build_into "$WDIR" sigs.k8s.io/kwok/cmd/kwok kwok
# kwok alone plays no stages (kwokctl hands it its defaults): the same set as
# kwokctl's, from the module's own files: a node becomes Ready and keeps its
# Lease, a pod becomes Running and Ready, a Job's pod completes, a deleted pod goes.
if [[ ! -s $BIN/kwok-stages.yaml ]]; then
  for f in "$wsrc"/kustomize/stage/{node/fast,node/heartbeat-with-lease,pod/fast}/*.yaml; do
    [[ ${f##*/} == kustomization.yaml ]] && continue
    echo "---"; cat "$f"
  done > "$BIN/.kwok-stages.yaml.tmp"
  grep -q '^kind: Stage' "$BIN/.kwok-stages.yaml.tmp" || { log "no Stage files in $wsrc"; exit 1; }
  mv -f "$BIN/.kwok-stages.yaml.tmp" "$BIN/kwok-stages.yaml"
fi

# --- Kubernetes: k8s.io/kubernetes requires its staging modules (k8s.io/api,
# client-go, ...) at v0.0.0 and replaces them with ./staging paths, which do not
# apply to a dependent module. Pin each to the published v0.X.Y instead; the
# list is read from the release's own go.mod so it follows the version.
KDIR="$CACHE/k8s-$K8S_VERSION"
if [[ ! -f $KDIR/go.mod ]]; then
  mkdir -p "$KDIR"
  log "fetching k8s.io/kubernetes@$K8S_VERSION (large) ..."
  kmod=$(cd "$KDIR" && modfield "k8s.io/kubernetes@$K8S_VERSION" GoMod)
  [[ -f $kmod ]] || { log "cannot find go.mod of k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
  staging=${K8S_VERSION/#v1./v0.}
  {
    echo "module plumb.local/k8swrap"
    echo
    grep -m1 '^go ' "$kmod"      # same language version as the release
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -n "s#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) v0.0.0\$#\t\1 => \1 $staging#p" "$kmod"
    echo ")"
  } > "$KDIR/go.mod.tmp"
  mv "$KDIR/go.mod.tmp" "$KDIR/go.mod"
fi
# Stamp the version as Kubernetes' own build does (hack/lib/version.sh):
# otherwise /version says v0.0.0-master and clients (kubectl) can't parse it.
minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
vflags=""
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  vflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  vflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=module-$K8S_VERSION"
done
BUILD=(go build -p 2 -trimpath "-ldflags=-s -w$vflags")
build_into "$KDIR" k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver
build_into "$KDIR" k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager
build_into "$KDIR" k8s.io/kubernetes/cmd/kube-scheduler kube-scheduler

echo "$BIN"
