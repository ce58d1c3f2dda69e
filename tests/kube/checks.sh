# checks.sh: what the scenario scripts share. Sourced with the script's own
# arguments (PLUMB CLUSTER_DIR): sets PLUMB, ROOT, K (kubectl as the
# cluster's admin) and work (a scratch directory, removed at exit), and
# counts checks in pass and fail.
PLUMB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
CLUSTER=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$CLUSTER/env"
export KUBECONFIG
K="kubectl --context admin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL $1"; sed 's/^/  | /' "$work/out" | head -30; }
# expect NAME STATUS PATTERN COMMAND...: exit status and a line matching PATTERN (grep -E)
expect() {
  name=$1 want=$2 pattern=$3; shift 3
  "$@" >"$work/out" 2>&1
  got=$?
  if [ "$got" != "$want" ]; then no "$name (exit $got, want $want)"; return; fi
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$work/out"; then no "$name (no line matching: $pattern)"; return; fi
  ok
}
# absent NAME PATTERN COMMAND...: no line of the output matches
absent() {
  name=$1 pattern=$2; shift 2
  "$@" >"$work/out" 2>&1
  if grep -Eq -- "$pattern" "$work/out"; then no "$name (unexpected: $pattern)"; else ok; fi
}
# same NAME WANT COMMAND...: the command prints exactly WANT
same() {
  name=$1 want=$2; shift 2
  "$@" >"$work/out" 2>&1
  if [ "$(cat "$work/out")" = "$want" ]; then ok; else no "$name (want: $want)"; fi
}
# env_dir NAME BODY: a directory holding one env file
env_dir() {
  mkdir -p "$work/$1"
  printf '%s\n' "$2" >"$work/$1/main.plumb"
  echo "$work/$1"
}
# within SECONDS COMMAND...: true once the command succeeds, within SECONDS.
within() {
  n=0 most=$(($1 * 4)); shift
  until "$@" >/dev/null 2>&1; do
    n=$((n + 1))
    [ $n -ge $most ] && return 1
    sleep 0.25
  done
}
# eventually COMMAND...: within 60 s.
eventually() { within 60 "$@"; }
# install_crd GROUP KIND PLURAL [PROPERTY]: installs a namespaced CRD of GROUP/v1,
# KIND, whose spec has size (an int, required), color (red or blue) and
# PROPERTY ("name: {schema}") if given, and waits until /openapi/v3 lists it,
# a moment after it is Established.
install_crd() {
  $K apply -f - >/dev/null <<YAML
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: $3.$1}
spec:
  group: $1
  scope: Namespaced
  names: {plural: $3, kind: $2}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer}
              color: {type: string, enum: [red, blue]}
              ${4:-}
YAML
  eventually sh -c "$K get --raw /openapi/v3 | grep -q apis/$1/v1"
}
# install_plumb_crds: the Application and Project CRDs, as deploy/ installs
# them, with the same field manager (so that scripts may come in any order),
# once Established.
install_plumb_crds() {
  $PLUMB build "$ROOT/deploy/plumb-system" --out-dir "$work/manifests" >/dev/null
  $K apply --server-side --force-conflicts --field-manager plumb \
    -f "$work/manifests/03_customresourcedefinition_applications.plumb.dev.yaml" \
    -f "$work/manifests/03_customresourcedefinition_projects.plumb.dev.yaml" >/dev/null
  $K wait --for condition=Established crd/applications.plumb.dev crd/projects.plumb.dev >/dev/null
}
# remember_apiserver: notes how up.sh started the API server, so that
# kill_apiserver (kill -9: a graceful shutdown would serve what is in
# flight) and restart_apiserver (as up.sh started it, on the same port;
# down.sh finds it by its pid file) may take it away and back.
remember_apiserver() {
  apiserver=$(cat "$CLUSTER/kube-apiserver.pid")
  tr '\0' '\n' <"/proc/$apiserver/cmdline" >"$work/apiserver.args"
}
kill_apiserver() {
  kill -9 "$apiserver"
  while kill -0 "$apiserver" 2>/dev/null; do sleep 0.1; done
}
restart_apiserver() {
  (
    set --
    while IFS= read -r arg; do set -- "$@" "$arg"; done <"$work/apiserver.args"
    exec setsid "$@" </dev/null >>"$CLUSTER/kube-apiserver.log" 2>&1
  ) &
  apiserver=$!
  echo $apiserver >"$CLUSTER/kube-apiserver.pid"
  eventually $K get --raw /readyz
}
# object NAME PATH [SPEC_LINES]: kubectl applies an Application in $NS
# of the repository $repo's PATH, automated every 2 s.
object() {
  $K apply -f - <<YAML
apiVersion: plumb.dev/v1
kind: Application
metadata: {name: $1, namespace: $NS}
spec:
  source: {repo: "file://$repo", path: "$2"}
  destination: {namespace: $NS}
  sync: {automated: true, interval: 2s}
${3:-}
YAML
}
# commit MESSAGE: commits everything in the script's git repository $repo.
commit() { (cd "$repo" && git add -A && git commit -qm "$1"); }
# is FUNCTION WANT: the function prints exactly WANT
is() { [ "$("$1")" = "$2" ]; }
# p COMMAND...: plumb's status, sync, history or rollback, asking the
# runtime at $url with the token in $work/token
p() { $PLUMB "$@" --server "$url" --token-file "$work/token"; }
# serving REPO [FLAGS...]: plumb run of REPO's gitops/ in the background,
# on a free port, with the token in $work/token, its log in $work/run.log,
# FLAGS added; sets pid and url once it serves.
serving() {
  config_repo=$1; shift
  $PLUMB run "file://$config_repo" --config-path gitops --cache "$work/cache" --context admin --listen 127.0.0.1:0 \
    --token-file "$work/token" "$@" >"$work/run.log" 2>&1 &
  pid=$!
  eventually grep -q "serving on port" "$work/run.log"
  url=http://127.0.0.1:$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$work/run.log")
}
# stop_runtime PID LOG: SIGTERM to a plumb run started in the background,
# which must exit 0 (nothing leaked, under the sanitizers); the end of its
# LOG when it does not.
stop_runtime() {
  kill "$1"
  wait "$1"
  rc=$?
  same "SIGTERM stops it cleanly (exit 0, nothing leaked)" 0 echo "$rc"
  [ "$rc" = 0 ] || tail -20 "$2"
}
# gitops_apps REPO APP...: writes REPO/gitops/main.plumb, env "apps": project
# p (which may own Namespaces) and, for each APP "NAME PATH [ARGS]", an
# automated application NAME of REPO's PATH in p, polled once an hour, with
# ARGS as more arguments of application() (e.g. "prune: true").
gitops_apps() {
  apps_repo=$1; shift
  mkdir -p "$apps_repo/gitops"
  {
    printf 'import "std/gitops"\nenv apps {\n'
    for app in "$@"; do
      printf '%s\n' "$app" | {
        read -r name path args
        printf '  app %s = application(name: "%s", repo: "file://%s", path: "%s", project: "p", automated: true,%s\n' \
          "$name" "$name" "$apps_repo" "$path" "${args:+ $args,}"
        printf '    interval: "1h")\n'
      }
    done
    printf '  app project = project(name: "p", cluster_kinds: ["Namespace"])\n}\n'
  } >"$apps_repo/gitops/main.plumb"
}
