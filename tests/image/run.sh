#!/bin/sh
# The image of `plumb run` (deploy/image.sh, make image) holds programs that
# run: built (from the cache, in seconds, once Debian's layer is made), then
# unpacked and run inside as its config says (tests/image/lib.sh): its user
# and entrypoint, plumb and plumb-runtime side by side finding every
# library, and builds, helm's included, byte for byte what build/plumb
# prints on this machine. tests/kube/deploy.sh runs its plumb run against
# the test cluster as a pod would. Needs root; skipped, and said so, without.
# Usage: run.sh. Last line: "image: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
. tests/image/lib.sh
if [ "$(id -u)" != 0 ]; then
  echo "image: skipped (the image is built and run as root: mmdebstrap, umoci and chroot)"
  echo "image: 0 passed, 0 failed"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL $1"; sed 's/^/  | /' "$tmp/out" 2>/dev/null | head -20; }
# expect NAME PATTERN COMMAND...: exits 0 and a line matches PATTERN (grep -E)
expect() {
  name=$1 pattern=$2; shift 2
  if ! "$@" >"$tmp/out" 2>&1; then no "$name (exit $?)"; return; fi
  if grep -Eq -- "$pattern" "$tmp/out"; then ok; else no "$name (no line matching: $pattern)"; fi
}
# same NAME FILE COMMAND...: exits 0 and prints exactly FILE's bytes
same() {
  name=$1 want=$2; shift 2
  if ! "$@" >"$tmp/out" 2>"$tmp/err"; then cat "$tmp/err" >>"$tmp/out"; no "$name (exit $?)"; return; fi
  if cmp -s "$want" "$tmp/out"; then ok; else diff "$want" "$tmp/out" >"$tmp/out"; no "$name (differs)"; fi
}

if ! sh deploy/image.sh >"$tmp/out" 2>&1; then
  no "deploy/image.sh builds the image"; echo "image: $pass passed, $fail failed"; exit 0
fi
ok
b=$tmp/bundle
if ! image_unpack "$b" >"$tmp/out" 2>&1; then
  no "it unpacks"; echo "image: $pass passed, $fail failed"; exit 0
fi
ok
expect "it runs as 65532:65532" "^65532:65532$" image_process "$b" user
expect "its entrypoint is plumb" "^plumb$" image_process "$b" args
expect "it exposes 8080" '"org.opencontainers.image.exposedPorts": "8080/tcp"' cat "$b/config.json"
expect "its user is plumb" "^uid=65532\(plumb\) gid=65532\(plumb\)" image_exec "$b" id
expect "/var/cache/plumb is the user's" "^65532:65532$" image_exec "$b" stat -c %u:%g /var/cache/plumb
# libs PROGRAM: its libraries, as the image's loader finds them; fails
# when one is missing.
libs() { image_exec "$b" ldd "/usr/local/bin/$1" && ! image_exec "$b" ldd "/usr/local/bin/$1" | grep "not found"; }
expect "every library of plumb is there" "libyaml" libs plumb
expect "and of plumb-runtime" "libgit2\.so\.1\.8" libs plumb-runtime
expect "plumb --version" "^plumb $(build/plumb --version | sed 's/^plumb //')$" image_run "$b" --version
expect "plumb runs plumb-runtime from beside it" "^usage: plumb run REPO" image_run "$b" run --help
expect "helm runs" "Version:\"v[0-9]" image_exec "$b" helm version
expect "gpg runs" "^gpg \(GnuPG\) 2\." image_exec "$b" gpg --version
expect "the CAs are there" "BEGIN CERTIFICATE" image_exec "$b" head -1 /etc/ssl/certs/ca-certificates.crt

# Builds inside, from a read-only copy at /src, with a writable /tmp (helm's
# files), against build/plumb's here.
mkdir -p "$tmp/src/tests/golden/src/helm" "$tmp/src/tests/helm/charts"
cp -r examples/nginx "$tmp/src/"
cp -r tests/golden/src/helm/prod "$tmp/src/tests/golden/src/helm/"
cp -r tests/helm/charts/basic "$tmp/src/tests/helm/charts/"
helm_bin=$(tests/gotool.sh helm 2>/dev/null) && PATH=$helm_bin:$PATH
for env in nginx/envs/dev nginx/envs/prod tests/golden/src/helm/prod; do
  build/plumb build --root "$tmp/src" "$tmp/src/$env" >"$tmp/want" 2>&1
  IMAGE_MOUNTS="$tmp/src:/src tmpfs:/tmp" same "plumb build $env as here" "$tmp/want" \
    image_run "$b" build --root /src "/src/$env"
done
echo "image: $pass passed, $fail failed"
