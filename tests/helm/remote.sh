#!/bin/sh
# plumb fetch and plumb build on charts of a chart repository and an OCI
# registry, served for real (tests/helm/servers: chartrepo with basic
# auth, distribution's registry over TLS with htpasswd): the credentials
# come as helm users keep them (helm repo add's repositories.yaml, helm
# registry login, SSL_CERT_FILE); plumb.lock is written, pins each chart
# by version and digest, and is honoured; a build reaches no network.
# Usage: remote.sh [PLUMB]; helm on the PATH. Last line: "helm-remote: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
PLUMB=${1:-build/asan/plumb}
ROOT=$(pwd)
tmp=$(mktemp -d)
srv=$tmp/servers
trap 'tests/helm/servers/down.sh "$srv" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL $1"; sed 's/^/  | /' "$tmp/out" | head -20; }
# expect NAME STATUS PATTERN COMMAND...: exits STATUS, and a line matches PATTERN
# absent NAME PATTERN FILE: no line of FILE matches PATTERN
absent() { if grep -Eq -- "$2" "$3"; then cp "$3" "$tmp/out"; no "$1 (unexpected: $2)"; else ok; fi; }
expect() {
  name=$1 want=$2 pattern=$3; shift 3
  "$@" >"$tmp/out" 2>&1
  got=$?
  if [ "$got" != "$want" ]; then no "$name (exit $got, want $want)"; return; fi
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$tmp/out"; then no "$name (no line matching: $pattern)"; else ok; fi
}

if ! bin=$(tests/helm/servers/build.sh) || ! PATH=$bin:$PATH tests/helm/servers/up.sh "$srv" >/dev/null; then
  echo "FAIL the chart servers do not start (tests/helm/servers)"; echo "helm-remote: 0 passed, 1 failed"; exit 0
fi
. "$srv/env"
version() { # version V: hello at version V, published to both servers
  mkdir -p "$tmp/hello-$1" && cp -r tests/helm/charts/remote/. "$tmp/hello-$1/"
  sed -i "s/^version: .*/version: $1/" "$tmp/hello-$1/Chart.yaml"
  bash tests/helm/servers/publish.sh "$srv" "$tmp/hello-$1" >>"$tmp/published" 2>/dev/null
}
version 0.1.0
version 0.2.0
digest() { awk -v v="$1" '$2 == v { print "sha256:" $3 }' "$tmp/published"; }

# The user's helm: a repository added with its credentials, a registry
# logged in to, a CA trusted; each in a home of this test's.
export HELM_CONFIG_HOME=$tmp/helm/config HELM_CACHE_HOME=$tmp/helm/cache HELM_DATA_HOME=$tmp/helm/data
export HELM_REPOSITORY_CONFIG=$tmp/helm/config/repositories.yaml HELM_REGISTRY_CONFIG=$tmp/helm/config/registry.json

env=$tmp/repo/envs/prod
mkdir -p "$env" && git -C "$tmp/repo" init -q
cat >"$env/main.plumb" <<EOP
env prod {
  helm_chart("$REPO_URL", { chart: "hello", version: "~0.1", release: "web" })
  helm_chart("oci://$OCI_HOST/charts/hello", { version: ">=0.1", release: "api", values: { greeting: "oci" } })
}
EOP
fetch() { $PLUMB fetch "$env" --cache "$tmp/cache" "$@"; }

expect "a chart is not rendered before it is pinned" 1 "chart hello ~0.1 of $REPO_URL is not pinned in .*plumb.lock: run plumb fetch" \
  $PLUMB build "$env" --cache "$tmp/cache"
expect "without credentials, plumb fetch fails saying why" 1 "401|[Uu]nauthorized|credential" fetch
expect "and writes no plumb.lock" 1 "" test -e "$env/plumb.lock"
helm repo add plumb-test "$REPO_URL" --username "$REPO_USER" --password "$REPO_PASSWORD" >/dev/null 2>&1
printf '%s\n' "$REPO_PASSWORD" | helm registry login "$OCI_HOST" --ca-file "$CA_FILE" --username "$REPO_USER" \
  --password-stdin >/dev/null 2>&1
SSL_CERT_FILE=$CA_FILE expect "with helm's own logins, plumb fetch pins and pulls both" 0 \
  "^$REPO_URL hello 0.1.0 $(digest 0.1.0)$" fetch
cp "$tmp/out" "$tmp/fetched"
expect "the newest version a range allows, from the registry too" 0 "^oci://$OCI_HOST/charts/hello hello 0.2.0 $(digest 0.2.0)$" \
  cat "$tmp/fetched"
expect "plumb.lock pins the version and the digest" 0 "pinned: \"0.1.0\"" cat "$env/plumb.lock"
expect "of each" 0 "digest: \"$(digest 0.2.0)\"" cat "$env/plumb.lock"
absent "no password in what fetch says" "$REPO_PASSWORD" "$tmp/fetched"
expect "a build renders them from the cache" 0 "chart: hello-0.1.0" $PLUMB build "$env" --cache "$tmp/cache"
cp "$tmp/out" "$tmp/built"
expect "the other with its values" 0 "greeting: oci" cat "$tmp/built"
expect "plumb explain names the chart, its version and repository" 0 "chart hello 0.1.0 of $REPO_URL" \
  $PLUMB explain "$env" ConfigMap/web-hello data.chart --cache "$tmp/cache"
expect "a build needs no network: the servers stopped, it still renders" 0 "chart: hello-0.2.0" sh -c \
  "tests/helm/servers/down.sh '$srv' >/dev/null 2>&1; $PLUMB build '$env' --cache '$tmp/cache'"
PATH=$bin:$PATH tests/helm/servers/up.sh "$srv" >/dev/null && . "$srv/env"
: >"$tmp/published"
version 0.1.0 && version 0.2.0 && version 0.1.7
sed -i "s|http://127.0.0.1:[0-9]*|$REPO_URL|; s|oci://127.0.0.1:[0-9]*|oci://$OCI_HOST|" "$env/main.plumb" "$env/plumb.lock"
helm repo add plumb-test "$REPO_URL" --username "$REPO_USER" --password "$REPO_PASSWORD" --force-update >/dev/null 2>&1
printf '%s\n' "$REPO_PASSWORD" | helm registry login "$OCI_HOST" --ca-file "$CA_FILE" --username "$REPO_USER" \
  --password-stdin >/dev/null 2>&1
expect "a version published into the range changes nothing pinned" 0 "chart: hello-0.1.0" $PLUMB build "$env" --cache "$tmp/cache"
SSL_CERT_FILE=$CA_FILE expect "plumb fetch --update pins it" 0 "^$REPO_URL hello 0.1.7 $(digest 0.1.7)$" fetch --update
expect "and the build renders it" 0 "chart: hello-0.1.7" $PLUMB build "$env" --cache "$tmp/cache"
sed -i "s|$(digest 0.1.7)|sha256:0000000000000000000000000000000000000000000000000000000000000000|" "$env/plumb.lock"
SSL_CERT_FILE=$CA_FILE expect "an archive that is not the one pinned is refused" 1 \
  "has digest $(digest 0.1.7), but .*plumb.lock pins sha256:0000" fetch
expect "and the empty cache of another build says to fetch" 1 "is not in the cache: run plumb fetch" \
  $PLUMB build "$env" --cache "$tmp/other-cache"

echo "helm-remote: $pass passed, $fail failed"
