#!/usr/bin/env bash
# Self-test of the chart servers: up.sh, publish.sh of the chart
# tests/helm/charts/remote at 0.1.0 and 0.2.0, then helm pull from each
# server as a user would, from an empty helm home: with and without
# credentials, by exact version and by range; down.sh at the end.
# Prints an ok or FAIL line per check; exits non-zero on any failure.
#   usage: check.sh      (builds helm and the servers if need be)
set -uo pipefail
cd "$(dirname "$0")/../../.." || exit
S=tests/helm/servers
HELM_BIN=$(tests/gotool.sh helm) || { echo "FAIL tests/gotool.sh helm could not build helm"; exit 1; }
PATH=$HELM_BIN:$PATH
tmp=$(mktemp -d)
trap '$S/down.sh "$tmp/srv" --clean; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; [[ -s $tmp/out ]] && head -c 2000 "$tmp/out"; fail=$((fail + 1)); }

$S/up.sh "$tmp/srv" || { echo "FAIL up.sh"; exit 1; }
. "$tmp/srv/env"
# Two versions of one chart, from one directory.
for v in 0.1.0 0.2.0; do
  mkdir -p "$tmp/src/$v" && cp -r tests/helm/charts/remote "$tmp/src/$v/hello"
  sed -i "s/^version: .*/version: $v/" "$tmp/src/$v/hello/Chart.yaml"
done
if $S/publish.sh "$tmp/srv" "$tmp/src"/*/hello >"$tmp/published" 2>"$tmp/out"; then
  ok "publish.sh: $(paste -sd, "$tmp/published")"
else bad "publish.sh"; exit 1; fi
sha_of() { awk -v v="$1" '$1 == "hello" && $2 == v { print $3 }' "$tmp/published"; }

# A user's helm: an empty home of its own (no repository added, no login).
unset "${!HELM_@}"
export HELM_CONFIG_HOME=$tmp/home/config HELM_CACHE_HOME=$tmp/home/cache
export HELM_DATA_HOME=$tmp/home/data HELM_REGISTRY_CONFIG=$tmp/home/registry.json
CREDS=(--username "$REPO_USER" --password "$REPO_PASSWORD")

# pulled NAME WANT HELM_PULL_ARGS...: helm pull ARGS gives exactly the
# archive WANT (hello-VERSION.tgz), the one publish.sh printed, whose
# ConfigMap names that version.
pulled() {
  local name=$1 want=$2 d=$tmp/pull/$1 v; shift 2
  v=${want#hello-}; v=${v%.tgz}
  mkdir -p "$d"
  if ! helm pull "$@" -d "$d" >"$tmp/out" 2>&1; then bad "$name: helm pull failed"; return; fi
  if [[ $(ls "$d") != "$want" ]]; then echo "got: $(ls "$d")" >"$tmp/out"; bad "$name: not $want"; return; fi
  if [[ $(sha256sum < "$d/$want" | cut -d' ' -f1) != "$(sha_of "$v")" ]]; then
    : >"$tmp/out"; bad "$name: $want differs from the published one"; return
  fi
  if ! helm template r "$d/$want" >"$tmp/out" 2>&1 || ! grep -qx "  version: \"$v\"" "$tmp/out"; then
    bad "$name: $want does not render version $v"; return
  fi
  ok "$name"
}
# refused NAME PATTERN HELM_PULL_ARGS...: helm pull fails, saying PATTERN.
refused() {
  local name=$1 pat=$2; shift 2
  mkdir -p "$tmp/pull/$name"
  if helm pull "$@" -d "$tmp/pull/$name" >"$tmp/out" 2>&1; then bad "$name: helm pull succeeded"
  elif ! grep -qiE "$pat" "$tmp/out"; then bad "$name: no /$pat/ in helm's error"
  else ok "$name ($(grep -oiE "$pat" "$tmp/out" | head -n1))"; fi
}

# The chart repository (HTTP, basic auth).
pulled "repo, exact version" hello-0.1.0.tgz hello --repo "$REPO_URL" --version 0.1.0 "${CREDS[@]}"
pulled "repo, ~0.1 is 0.1.x" hello-0.1.0.tgz hello --repo "$REPO_URL" --version '~0.1' "${CREDS[@]}"
pulled "repo, >=0.1 is the newest" hello-0.2.0.tgz hello --repo "$REPO_URL" --version '>=0.1' "${CREDS[@]}"
refused "repo, no credentials" 401 hello --repo "$REPO_URL" --version 0.1.0
refused "repo, wrong password" 401 hello --repo "$REPO_URL" --version 0.1.0 --username "$REPO_USER" --password nope

# The OCI registry (TLS, htpasswd), logged in through a docker-style config
# file as a CI secret would provide it, not by helm registry login.
OCI=oci://$OCI_HOST/charts/hello
# (Not logged in, helm's client answers the registry's 401 challenge with
# "basic credential not found".)
refused "oci, not logged in" "credential not found" "$OCI" --version 0.2.0 --ca-file "$CA_FILE"
login() { # USER:PASSWORD, in the file HELM_REGISTRY_CONFIG names
  printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$OCI_HOST" "$(printf %s "$1" | base64 -w0)" >"$HELM_REGISTRY_CONFIG"
}
login "$REPO_USER:nope"
refused "oci, wrong password" "401|unauthorized" "$OCI" --version 0.2.0 --ca-file "$CA_FILE"
login "$REPO_USER:$REPO_PASSWORD"
pulled "oci, from a registry config" hello-0.2.0.tgz "$OCI" --version 0.2.0 --ca-file "$CA_FILE"
refused "oci, without the CA" "certificate" "$OCI" --version 0.2.0

echo "chart servers: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
