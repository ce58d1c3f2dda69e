#!/bin/sh
# plumb run applying to clusters other than its own: a second API server
# (its own etcd prefix, so a cluster of its own) named by a context of the
# runtime's kubeconfig, or by a cluster Secret; what may not be used as a
# destination and why; and, as a service, drift in the second cluster undone
# through its own live cache. Every check looks at both clusters.
# Usage: clusters.sh PLUMB CLUSTER_DIR. Last line: "clusters: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
second_pid= run_pid=
trap '[ -n "$run_pid" ] && kill "$run_pid" 2>/dev/null; [ -n "$second_pid" ] && kill "$second_pid" 2>/dev/null; rm -rf "$work"' EXIT

TOKEN=$(cat "$PLUMB_TEST_ADMIN_TOKEN_FILE")
CA=$(base64 -w0 "$PLUMB_TEST_CA")

# ---- the second cluster ----------------------------------------------------------
. "$(dirname "$0")/../cluster/second.sh"
if ! second_apiserver "$work/second" "/plumb-second-$$"; then
  tail -20 "$work/second.log"
  echo "clusters: 0 passed, 1 failed"
  exit 1
fi

# kubeconfig SERVER USER_FIELDS: a kubeconfig of one context, "far"
kubeconfig() {
  printf 'apiVersion: v1\nkind: Config\ncurrent-context: far\n'
  printf 'clusters: [{name: far, cluster: {server: "%s", certificate-authority-data: %s}}]\n' "$1" "$CA"
  printf 'users: [{name: far, user: %s}]\n' "$2"
  printf 'contexts: [{name: far, context: {cluster: far, user: far}}]\n'
}
# The runtime's kubeconfig: its own cluster (admin) and the second one.
second_kubeconfig >"$work/kubeconfig"
export KUBECONFIG=$work/kubeconfig
K2="kubectl --context second"
# cluster_secret NAME KEY LABEL: a Secret in the runtime's namespace holding
# the kubeconfig read from stdin under KEY, labelled with LABEL (or not).
cluster_secret() {
  data=$(base64 -w0)
  labels=
  [ -n "$3" ] && labels="labels: {plumb.dev/secret-type: $3}"
  printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: default, %s}\ndata: {%s: %s}\n' \
    "$1" "$labels" "$2" "$data" | $K apply -f - >/dev/null
}

# ---- the repository -------------------------------------------------------------
pass_once() {
  $PLUMB run "file://$repo" --config-path gitops --cache "$work/cache" --once --kubeconfig "$work/kubeconfig" \
    --context admin
}
# env_of NAME NAMESPACE OBJECTS: the application at path NAME
env_of() {
  mkdir -p "$repo/$1"
  printf 'env %s {\n  namespace: "%s"\n  Namespace "%s" {}\n  %s\n}\n' "$1" "$2" "$2" "$3" >"$repo/$1/main.plumb"
}
# app NAME PATH CLUSTER [PROJECT [EXTRA]]: one application of the config
app() {
  echo "app $(echo "$1" | tr - _) = application(name: \"$1\", repo: \"file://$repo\", path: \"$2\", cluster: \"$3\"," \
    "project: \"${4:-p}\", automated: true, prune: true${5:+, $5})"
}
# config APP_LINES...: the config repository's definitions
config() {
  mkdir -p "$repo/gitops"
  {
    echo 'import "std/gitops"'
    echo 'env apps {'
    echo '  app p = project(name: "p", cluster_kinds: ["Namespace"])'
    echo '  app narrow = project(name: "narrow", destinations: [{ cluster: "in-cluster", namespace: "*" }],'
    echo '                       cluster_kinds: ["Namespace"])'
    for line in "$@"; do echo "  $line"; done
    echo '}'
  } >"$repo/gitops/main.plumb"
  commit "config"
}
row() { grep -E "^$1 +$2" "$work/pass"; } # row APP PATTERN: its line of the last --once table
in_first() { $K get "$@" >/dev/null 2>&1; }
in_second() { $K2 get "$@" >/dev/null 2>&1; }
absent_from() { # absent_from NAME WHERE OBJECT...: a check that WHERE (first, second) lacks it
  if in_"$2" $3; then no "$1: $3 in the $2 cluster"; else ok; fi
}
present_in() {
  if in_"$2" $3; then ok; else no "$1: no $3 in the $2 cluster"; fi
}

mkdir -p "$repo"
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
env_of far clusters-far 'ConfigMap "one" { data: { mode: "git" } }
  ConfigMap "two" { data: { k: "v" } }'
env_of viasecret clusters-sec 'ConfigMap "from-secret" { data: { k: "v" } }'
env_of fluxsecret clusters-flux 'ConfigMap "from-flux" { data: { k: "v" } }'
env_of bad clusters-bad 'ConfigMap "bad" { data: { k: "v" } }'
env_of fenced clusters-fenced 'ConfigMap "fenced" { data: { k: "v" } }'
$K delete configmap -l plumb.dev/application --ignore-not-found -n default >/dev/null
for a in far via-secret flux-secret by-exec by-file lost unlabelled down fenced; do
  $K delete configmap "plumb-history-$a" --ignore-not-found >/dev/null
done

# ---- 1. a context of the runtime's kubeconfig -----------------------------------------
# A decoy in the runtime's own cluster carries the application's label:
# prune in the second cluster must never see it.
$K -n default create configmap far-decoy >/dev/null
$K -n default label configmap far-decoy plumb.dev/application=far >/dev/null
config "$(app far far second)"
expect "an app on a context syncs" 0 "" pass_once
cp "$work/out" "$work/pass"
expect "the --once table says Synced" 0 "" row far "Synced +[0-9a-f]{7} *$"
expect "the log names the cluster and its server" 0 "^plumb run: cluster second: $SECOND, from the kubeconfig$" cat "$work/pass"
present_in "context" second "-n clusters-far configmap one"
absent_from "context" first "namespace clusters-far"
same "the second cluster has git's value" git $K2 -n clusters-far get configmap one -o jsonpath='{.data.mode}'
$K2 -n clusters-far create configmap by-hand >/dev/null
env_of far clusters-far 'ConfigMap "one" { data: { mode: "git" } }'
commit "far without two"
expect "prune on the second cluster" 0 "far: configmap/two pruned" pass_once
absent_from "prune" second "-n clusters-far configmap two"
present_in "prune leaves what is not the app's" second "-n clusters-far configmap by-hand"
present_in "prune never touches the runtime's own cluster" first "-n default configmap far-decoy"

# ---- 2. a cluster Secret ----------------------------------------------------------------
kubeconfig "$SECOND" "{token: $TOKEN}" | cluster_secret far-secret kubeconfig cluster
kubeconfig "$SECOND" "{token: $TOKEN}" | cluster_secret flux-secret value cluster
config "$(app far far second)" "$(app via-secret viasecret far-secret)" "$(app flux-secret fluxsecret flux-secret)"
expect "apps on cluster Secrets sync" 0 "" pass_once
cp "$work/out" "$work/pass"
expect "a Secret's kubeconfig under kubeconfig" 0 "" row via-secret "Synced +[0-9a-f]{7} *$"
expect "a Secret's kubeconfig under value, as Flux" 0 "" row flux-secret "Synced +[0-9a-f]{7} *$"
expect "the log names the Secret" 0 "^plumb run: cluster far-secret: $SECOND, from Secret default/far-secret$" cat "$work/pass"
absent "the token is never printed" "$TOKEN" cat "$work/pass"
present_in "Secret" second "-n clusters-sec configmap from-secret"
present_in "Flux's Secret" second "-n clusters-flux configmap from-flux"
absent_from "Secret" first "namespace clusters-sec"
absent_from "Flux's Secret" first "namespace clusters-flux"

# ---- 3. what may not be a destination ------------------------------------------------
kubeconfig "$SECOND" "{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: [-c, 'touch $work/exec-ran; exit 1']}}" |
  cluster_secret exec-secret kubeconfig cluster
kubeconfig "$SECOND" "{tokenFile: $PLUMB_TEST_ADMIN_TOKEN_FILE}" | cluster_secret file-secret kubeconfig cluster
kubeconfig "$SECOND" "{token: $TOKEN}" | cluster_secret plain-secret kubeconfig ""
kubeconfig "https://127.0.0.1:$(free_port)" "{token: $TOKEN}" | cluster_secret down-secret kubeconfig cluster
config "$(app far far second)" "$(app by-exec bad exec-secret)" "$(app by-file bad file-secret)" \
  "$(app lost bad nowhere)" "$(app unlabelled bad plain-secret)" "$(app down bad down-secret)"
expect "refused destinations fail the pass" 1 "" pass_once
cp "$work/out" "$work/pass"
expect "an exec plugin in a Secret is refused" 0 \
  "Secret default/exec-secret:.*exec runs a credential plugin, which a kubeconfig given as data may not" row by-exec Unknown
if [ -e "$work/exec-ran" ]; then no "the refused exec plugin never runs"; else ok; fi
expect "a file in a Secret is refused" 0 \
  "Secret default/file-secret:.*tokenFile names a file, which a kubeconfig given as data may not" row by-file Unknown
expect "an unknown cluster is an error" 0 \
  "unknown cluster \"nowhere\": neither in-cluster, a context of the runtime's kubeconfig, nor a Secret of namespace default" \
  row lost Unknown
expect "a Secret without the label is refused" 0 \
  "Secret default/plain-secret is not labelled plumb.dev/secret-type: cluster" row unlabelled Unknown
expect "an unreachable server is an error" 0 "cluster \"down-secret\": cannot reach https://127.0.0.1:" row down Unknown
expect "the other applications go on" 0 "" row far "Synced"
absent "a refused kubeconfig's token is never printed" "$TOKEN" cat "$work/pass"
absent_from "refused" first "namespace clusters-bad"
absent_from "refused" second "namespace clusters-bad"

# ---- 4. a project that does not allow the cluster ---------------------------------------
config "$(app fenced fenced second narrow)"
expect "a project refuses the destination" 1 "" pass_once
cp "$work/out" "$work/pass"
expect "the project says why" 0 "project narrow does not allow the destination second" row fenced Unknown
absent_from "project" first "namespace clusters-fenced"
absent_from "project" second "namespace clusters-fenced"

# ---- 5. as a service: the second cluster's own live cache --------------------------------
config "$(app far far second "" "self_heal: true, interval: \"1h\"")" \
  "$(app via-secret viasecret far-secret "" "interval: \"1h\"")"
printf 'tok\n' >"$work/token"
$PLUMB run "file://$repo" --config-path gitops --cache "$work/cache" --kubeconfig "$work/kubeconfig" --context admin \
  --listen 127.0.0.1:0 --token-file "$work/token" >"$work/run.log" 2>&1 &
run_pid=$!
eventually grep -q "serving on port" "$work/run.log"
url=http://127.0.0.1:$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$work/run.log")
status_of() { curl -s -H "Authorization: Bearer tok" "$url/api/v1/apps/$1" | jq -r "$2"; } # status_of APP JQ
is_status() { [ "$(status_of "$1" "$2")" = "$3" ]; }
if eventually is_status far .sync Synced; then ok; else no "the service syncs the app on a context"; fi
same "its status names its cluster" second status_of far .cluster
mode() { $K2 -n clusters-far get configmap one -o jsonpath='{.data.mode}'; }
is_mode() { [ "$(mode)" = "$1" ]; }
$K2 -n clusters-far patch configmap one --type merge -p '{"data":{"mode":"by-hand"}}' >/dev/null
# The interval is an hour: only the second cluster's watch can bring the pass.
if eventually is_mode git; then ok; else no "drift in the second cluster is undone"; fi
if eventually grep -q "^far: configmap/one configured" "$work/run.log"; then ok; else no "the log shows the drift undone"; fi
# A Secret that changes is read again: this one now asks for an exec plugin.
kubeconfig "$SECOND" "{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/true}}" |
  cluster_secret far-secret kubeconfig cluster
if eventually grep -q "cluster far-secret: its Secret changed" "$work/run.log"; then ok; else no "a changed Secret is noticed"; fi
refused() { status_of via-secret .message | grep -q "exec runs a credential plugin"; }
if eventually refused; then ok; else no "a changed Secret's kubeconfig is used (and refused)"; fi
same "its status is Unknown" Unknown status_of via-secret .sync
absent "no credential in the service's log" "$TOKEN" cat "$work/run.log"
kill "$run_pid" && wait "$run_pid" 2>/dev/null
run_pid=
$K -n default delete configmap far-decoy --ignore-not-found >/dev/null
$K -n default delete secret far-secret flux-secret exec-secret file-secret plain-secret down-secret \
  --ignore-not-found >/dev/null

echo "clusters: $pass passed, $fail failed"
