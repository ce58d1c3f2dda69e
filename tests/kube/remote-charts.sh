#!/bin/sh
# plumb run on charts of a chart repository and an OCI registry, against
# a real control plane and real servers (tests/helm/servers: chartrepo
# with basic auth, distribution's registry over TLS with htpasswd): an
# env's plumb.lock pins each chart, the runtime pulls it with the
# credentials of a repository Secret, checks its digest and syncs it; a
# new pin is applied; an archive whose digest is not the one pinned, and
# a repository that cannot be reached, leave the cluster as it was, the
# reason in the status; no credential is in the log.
# Usage: remote-charts.sh PLUMB CLUSTER_DIR. Last line: "remote-charts: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
NS=remote-charts
srv=$work/servers
trap '"$ROOT/tests/helm/servers/down.sh" "$srv" >/dev/null 2>&1; rm -rf "$work"' EXIT

command -v helm >/dev/null || { echo "FAIL helm is not on the PATH (tests/gotool.sh helm)"; echo "remote-charts: 0 passed, 1 failed"; exit 0; }
if ! bin=$("$ROOT/tests/helm/servers/build.sh") || ! PATH=$bin:$PATH "$ROOT/tests/helm/servers/up.sh" "$srv" >/dev/null; then
  echo "FAIL the chart servers do not start (tests/helm/servers)"; echo "remote-charts: 0 passed, 1 failed"; exit 0
fi
. "$srv/env"
# hello 0.1.0 and 0.2.0, published to both servers.
for v in 0.1.0 0.2.0; do
  mkdir -p "$work/hello-$v" && cp -r "$ROOT/tests/helm/charts/remote/." "$work/hello-$v/"
  sed -i "s/^version: .*/version: $v/" "$work/hello-$v/Chart.yaml"
done
bash "$ROOT/tests/helm/servers/publish.sh" "$srv" "$work/hello-0.1.0" "$work/hello-0.2.0" >"$work/published" 2>/dev/null
digest() { awk -v v="$1" '$2 == v { print "sha256:" $3 }' "$work/published"; }

pass_once() { $PLUMB run "file://$repo" --config-path gitops --cache "$work/cache" --once --context admin; }
data() { $K -n $NS get configmap "$1-hello" -o jsonpath="{.data.$2}"; }

# env NAME REPOSITORY CHART_OPTION VERSION DIGEST: envs/NAME renders the
# chart, pinned in its plumb.lock to VERSION and DIGEST.
env() {
  mkdir -p "$repo/envs/$1"
  chart=hello
  case $2 in oci://*) opt="" ;; *) opt="chart: \"hello\", " ;; esac
  printf 'env prod {\n  helm_chart("%s", { %sversion: "~0.1", release: "%s", namespace: "%s", values: { greeting: "hi" } })\n}\n' \
    "$2" "$opt" "$1" "$NS" >"$repo/envs/$1/main.plumb"
  printf 'charts:\n- repository: "%s"\n  chart: "%s"\n  version: "~0.1"\n  pinned: "%s"\n  digest: "%s"\n' \
    "$2" "$chart" "$3" "$4" >"$repo/envs/$1/plumb.lock"
}
env web "$REPO_URL" 0.1.0 "$(digest 0.1.0)"
env api "oci://$OCI_HOST/charts/hello" 0.2.0 "$(digest 0.2.0)"
mkdir -p "$repo/gitops"
cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app web = application(name: "web", repo: "file://$repo", path: "envs/web", namespace: "$NS", automated: true)
  app api = application(name: "api", repo: "file://$repo", path: "envs/api", namespace: "$NS", automated: true)
}
EOP
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "two remote charts"
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
$K create namespace $NS >/dev/null
$K delete configmap plumb-history-web plumb-history-api --ignore-not-found >/dev/null
$K delete secret chart-repo chart-registry --ignore-not-found >/dev/null

# ---- without credentials, then with them -------------------------------------------------
expect "without credentials the pull fails, and says why" 1 "^web +.*(401|Unauthorized|unauthorized)" pass_once
expect "and nothing is applied" 1 "NotFound" $K -n $NS get configmap web-hello
creds() { # creds NAME URL [CA]: a repository Secret
  $K create secret generic "$1" --from-literal=url="$2" --from-literal=username="$REPO_USER" \
    --from-literal=password="$REPO_PASSWORD" ${3:+--from-file=ca.crt=$3} >/dev/null &&
    $K label secret "$1" plumb.dev/secret-type=repository >/dev/null
}
creds chart-repo "$REPO_URL"
creds chart-registry "oci://$OCI_HOST" "$CA_FILE"
expect "with a repository Secret, a chart repository's chart is pulled and synced" 0 \
  "web: configmap/web-hello created" pass_once
cp "$work/out" "$work/first"
expect "and an OCI registry's, over TLS with its CA" 0 "api: configmap/api-hello created" cat "$work/first"
same "at the version pinned" hello-0.1.0 data web chart
same "the other at its own" hello-0.2.0 data api chart
same "with the env's values" hi data web greeting
absent "no password in the log" "$REPO_PASSWORD" cat "$work/first"
n=$(ls "$work/cache/charts" | wc -l)
expect "the archives are kept in the cache under their digests" 0 "" test "$n" = 2

# ---- a new pin --------------------------------------------------------------------------
env web "$REPO_URL" 0.2.0 "$(digest 0.2.0)"
commit "web: hello 0.2.0"
expect "a new pin is applied" 0 "web: configmap/web-hello configured" pass_once
same "at its version" hello-0.2.0 data web chart

# ---- refused: another archive, an unreachable repository ------------------------------------
# A digest the cache does not hold: 0.1.0 is pulled again, and is not it
# (as when a version is pushed again).
other=sha256:0000000000000000000000000000000000000000000000000000000000000000
env web "$REPO_URL" 0.1.0 $other
commit "web: a digest that is not 0.1.0's"
expect "an archive that is not the one pinned is refused" 1 "^web +.*has digest sha256:" pass_once
same "and the cluster is left as it was" hello-0.2.0 data web chart
env web "http://127.0.0.1:1" 0.1.0 $other
commit "web: a repository nobody serves"
expect "an unreachable repository fails the pass, saying so" 1 "^web +.*cannot pull chart hello 0.1.0 of http://127.0.0.1:1" pass_once
same "and the cluster is left as it was" hello-0.2.0 data web chart
absent "no password in the log" "$REPO_PASSWORD" cat "$work/out"

# ---- applications whose source is a chart, as Argo CD's Helm source -----------------------
cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app direct = application(name: "direct", repo: "$REPO_URL", chart: "hello", revision: "~0.1",
                           values: { greeting: "direct" }, namespace: "$NS", automated: true)
  app registry = application(name: "registry", repo: "oci://$OCI_HOST/charts", chart: "hello", revision: "0.2.0",
                             namespace: "$NS", automated: true)
}
EOP
commit "two applications of charts"
$K delete configmap plumb-history-direct plumb-history-registry --ignore-not-found >/dev/null
expect "an application of a chart repository's chart is synced, the newest version its range allows" 0 \
  "direct: configmap/direct-hello created" pass_once
cp "$work/out" "$work/direct"
expect "and one of an OCI registry's" 0 "registry: configmap/registry-hello created" cat "$work/direct"
same "released as the application, at the version its range allows" hello-0.1.0 data direct chart
same "with the application's values" direct data direct greeting
same "the other at its version" hello-0.2.0 data registry chart
mkdir -p "$work/hello-0.1.7" && cp -r "$ROOT/tests/helm/charts/remote/." "$work/hello-0.1.7/"
sed -i "s/^version: .*/version: 0.1.7/" "$work/hello-0.1.7/Chart.yaml"
bash "$ROOT/tests/helm/servers/publish.sh" "$srv" "$work/hello-0.1.7" >/dev/null 2>&1
expect "a new version in the range is synced on the next pass" 0 "direct: configmap/direct-hello configured" pass_once
same "at that version" hello-0.1.7 data direct chart
expect "its history names the chart's version" 0 "chart hello 0.1.7 of $REPO_URL" \
  $K get configmap plumb-history-direct -o jsonpath='{.data}'
expect "a version that went is refused, the one synced stays" 0 "registry: .*0.9.0" sh -c \
  "sed -i 's/revision: \"0.2.0\"/revision: \"0.9.0\"/' '$repo/gitops/main.plumb' && cd '$repo' && git commit -qam 0.9.0 && $PLUMB run 'file://$repo' --config-path gitops --cache '$work/cache' --once --context admin"
same "and the cluster keeps what it had" hello-0.2.0 data registry chart

$K delete namespace $NS --wait=false >/dev/null 2>&1
$K delete secret chart-repo chart-registry --ignore-not-found >/dev/null
echo "remote-charts: $pass passed, $fail failed"
