#!/bin/sh
# The image of `plumb run` (deploy/runtime.plumb runs it) without a container
# engine: an OCI image in build/image, made from Debian's packages by
# mmdebstrap and umoci. It holds what the Dockerfile's image holds: Debian 12
# with the packages of deploy/image.packages, the user 65532 (plumb),
# /var/cache/plumb its own, and plumb, plumb-runtime and helm in
# /usr/local/bin; it runs `plumb` as 65532:65532 and exposes 8080.
#   deploy/image.sh        (make image; after make)
# Writes build/image/oci (an OCI layout, tag VERSION) and
# build/image/plumb-VERSION.tar (the same as an oci-archive).
#
# Two layers. The first, Debian's, is slow to make (it downloads Debian's
# packages from the mirror this machine's apt uses) and is kept in the
# cache beside the tests' tools (~/.cache/plumb), keyed by everything it is
# made from; the second holds the three programs and is made anew each
# time, in seconds. mmdebstrap and umoci run as root (apt's chroot, the files'
# owners), which a machine without a container engine has to be.
set -eu
cd "$(dirname "$0")/.."
log() { echo "image.sh: $*" >&2; }

[ "$(id -u)" = 0 ] || { log "mmdebstrap and umoci make an image's files as root: run as root"; exit 1; }
for t in mmdebstrap umoci; do
  command -v $t >/dev/null || { log "$t is missing: make deps installs it"; exit 1; }
done
for f in build/plumb build/plumb-runtime; do
  [ -x $f ] || { log "$f is missing: run make first"; exit 1; }
done
VERSION=$(sed -n 's/.*-DPLUMB_VERSION=\\"\([^\\]*\)\\".*/\1/p' Makefile)
CACHE=${PLUMB_CACHE:-$HOME/.cache/plumb}
OUT=build/image
HELM=$(tests/gotool.sh helm)/helm

# The machine's own mirror, as .ci/deps finds it (deb822 or one-line), and
# its security mirror where it names one.
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { log "no Debian bookworm source in /etc/apt to take packages from"; exit 1; }
security=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
  awk '/^URIs:/ { u = $2 } /^Suites:.*bookworm-security/ { print u; exit }')
[ -n "$security" ] || security=$(awk '$1 == "deb" && $3 == "bookworm-security" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$security" ] || security=${mirror%/debian}/debian-security

mkdir -p "$CACHE"
tmp=$(mktemp -d "$CACHE/.image.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
sources="Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
pkgs=$(sed 's/#.*//' deploy/image.packages | tr -s ' \n' ',,' | sed 's/^,//; s/,$//')

# Essential packages only (no apt: nothing installs in a running image),
# then the list's, without their recommends, documentation, manual pages
# and translations: as debian:bookworm-slim leaves them out. /usr is
# merged as debootstrap (and so debian:bookworm) merges it, by mmdebstrap's
# hook: else init-system-helpers pulls in usrmerge with 50 MB of Perl.
set -- --variant=essential --include="$pkgs" --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --customize-hook='echo "plumb:x:65532:65532:plumb:/nonexistent:/usr/sbin/nologin" >>"$1/etc/passwd"' \
  --customize-hook='echo "plumb:x:65532:" >>"$1/etc/group"' \
  --customize-hook='echo "plumb:!:19000::::::" >>"$1/etc/shadow"' \
  --customize-hook='install -d -o 65532 -g 65532 "$1/var/cache/plumb"' \
  --customize-hook='rm -f "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old'
key=$( (printf '%s\n' "$@" "$sources"; mmdebstrap --version) | sha256sum | cut -c1-16)
BASE="$CACHE/image-base-$key"

# The Debian layer, once: into an empty image's bundle, packed as its one
# layer. Made under a lock, in a scratch directory renamed into place.
exec 9>"$CACHE/.image.lock"
flock 9
if [ ! -f "$BASE/index.json" ]; then
  log "making Debian's layer (mmdebstrap; once per package list) ..."
  printf '%s\n' "$sources" >"$tmp/debian.sources"
  umoci init --layout "$tmp/base"
  umoci new --image "$tmp/base:base"
  umoci unpack --image "$tmp/base:base" "$tmp/bundle" >/dev/null
  rmdir "$tmp/bundle/rootfs"
  mmdebstrap --quiet "$@" bookworm "$tmp/bundle/rootfs" "$tmp/debian.sources" >"$tmp/log" 2>&1 ||
    { tail -40 "$tmp/log" >&2; log "mmdebstrap failed"; exit 1; }
  # The device nodes mmdebstrap made: a container's /dev is its runtime's.
  rm -rf "$tmp/bundle/rootfs/dev/"*
  umoci repack --image "$tmp/base:base" --history.created_by "mmdebstrap bookworm: $pkgs" "$tmp/bundle"
  rm -rf "$BASE" && mv "$tmp/base" "$BASE"
fi
flock -u 9

# The programs' layer, on a copy of the cached image.
rm -rf "$OUT" && mkdir -p "$OUT"
cp -a "$BASE" "$OUT/oci"
# A tar of our own, added as it is: Debian's umoci 0.4.7 insert leaves the
# last file of its layer short.
mkdir -p "$tmp/layer/usr/local/bin"
install -m 755 build/plumb build/plumb-runtime "$HELM" "$tmp/layer/usr/local/bin/"
tar -C "$tmp/layer" --format=ustar --sort=name --owner=0 --group=0 --numeric-owner -cf "$tmp/layer.tar" usr/local/bin
umoci raw add-layer --image "$OUT/oci:base" --history.created_by "plumb, plumb-runtime, helm" "$tmp/layer.tar"
umoci config --image "$OUT/oci:base" --tag "$VERSION" \
  --config.user 65532:65532 --config.entrypoint plumb --config.exposedports 8080/tcp \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.label org.opencontainers.image.title=plumb --config.label "org.opencontainers.image.version=$VERSION" \
  --history.created_by "USER 65532:65532, EXPOSE 8080, ENTRYPOINT plumb"
umoci rm --image "$OUT/oci:base"
umoci gc --layout "$OUT/oci"
# An oci-archive is the layout as a tar (skopeo copy oci-archive:...).
tar -C "$OUT/oci" --sort=name --owner=0 --group=0 --numeric-owner -cf "$OUT/plumb-$VERSION.tar" .
log "$OUT/oci:$VERSION and $OUT/plumb-$VERSION.tar ($(du -k "$OUT/plumb-$VERSION.tar" | cut -f1) KiB)"
