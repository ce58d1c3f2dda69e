#!/bin/sh
# The web UI in a browser (Debian's Chromium, driven by Playwright from
# tests/ui/walk.mjs) against plumb run on a real control plane: the
# walk-through people follow, permissions, and hostile input.
# Usage: ui.sh PLUMB CLUSTER_DIR. Last line: "ui: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
PLUMB_PLAYWRIGHT=$(sh "$ROOT/tests/ui/install.sh") || { echo "ui: 0 passed, 1 failed"; exit 0; }
export PLUMB_PLAYWRIGHT

# Two applications: cfg (a ConfigMap and a Secret) in the config
# repository, whose commit message holds markup that must stay text, and
# web (the nginx example, one replica), which the walk makes in the page.
secret_value=pl41n-Secret-for-ui
mkdir -p "$repo/cfg"
cp -r "$ROOT/examples/nginx/apps" "$ROOT/examples/nginx/envs" "$repo/"
sed -i "s/nginx-dev/ui-web/g" "$repo/envs/dev/main.plumb"
# Its Pods tolerate the kwok node's taint, so they run (tests/cluster).
sed -i 's|^}$|  patch Deployment "nginx-deployment" { spec: { template: { spec: { tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }] } } } }\n}|' \
  "$repo/envs/dev/main.plumb"
cat >"$repo/cfg/main.plumb" <<EOP
env cfg {
  namespace: "ui-cfg"
  Namespace "ui-cfg" {}
  ConfigMap "settings" { data: { banner: "<script>window.__xss = 1</script>" } }
  Secret "creds" { stringData: { token: "$secret_value" } }
}
EOP
# web is made from the UI's New app form, as an Application object: the
# CRDs first, as deploy/ installs them.
gitops_apps "$repo" "cfg cfg prune: true"
install_plumb_crds
$K delete applications.plumb.dev web --ignore-not-found >/dev/null
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "<img src=x onerror=window.__xss=1>"
$K delete configmap plumb-history-cfg plumb-history-web --ignore-not-found >/dev/null
$K delete secret plumb-initial-admin-secret --ignore-not-found >/dev/null

# A read-only account beside admin, whose password the runtime makes.
viewer_password=viewer-pw-for-ui
cat >"$work/auth.yaml" <<EOF2
accounts:
- name: viewer
  password: "$(echo "$viewer_password" | $PLUMB passwd)"
default_role: readonly
EOF2

$PLUMB run "file://$repo" --config-path gitops --cache "$work/cache" --context admin --listen 127.0.0.1:0 \
  --auth-file "$work/auth.yaml" >"$work/run.log" 2>&1 &
pid=$!
eventually grep -q "serving on port" "$work/run.log"
url=http://127.0.0.1:$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$work/run.log")
expect "the runtime says where admin's password is" 0 "admin's password is in Secret default/plumb-initial-admin-secret" \
  cat "$work/run.log"
admin_password=$($K get secret plumb-initial-admin-secret -o jsonpath='{.data.password}' | base64 -d)
same "admin's password is 20 random characters" 20 sh -c "printf %s '$admin_password' | wc -c | tr -d ' '"

out=$(POD_LOG=$PLUMB_TEST_POD_LOG PLUMB_URL=$url REPO=$repo SECRET_VALUE=$secret_value ADMIN_PASSWORD=$admin_password VIEWER_PASSWORD=$viewer_password \
  SCREENSHOTS=${PLUMB_SCREENSHOTS:-} node "$ROOT/tests/ui/walk.mjs" 2>&1)
echo "$out" | grep -v "^ui: [0-9]* passed, [0-9]* failed$"
set -- $(echo "$out" | sed -n 's/^ui: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
pass=$((pass + ${1:-0})) fail=$((fail + ${2:-1}))
# What the runtime said, when the walk failed.
[ "${2:-1}" = 0 ] || tail -40 "$work/run.log" | sed 's/^/  run.log | /'
# plumb login: a session for the command line, kept for the server.
export XDG_CONFIG_HOME=$work/config
expect "plumb login refuses a wrong password" 1 "wrong user name or password" \
  sh -c "echo wrong | $PLUMB login --server $url --username viewer"
expect "plumb login signs in" 0 "^signed in to $url as viewer$" \
  sh -c "echo '$viewer_password' | $PLUMB login --server $url --username viewer"
same "and keeps the session for its owner alone" "600" stat -c %a "$XDG_CONFIG_HOME/plumb/sessions.json"
expect "plumb status goes with it" 0 "^cfg " $PLUMB status --server "$url"
expect "with the viewer's rights" 1 "permission denied" $PLUMB sync cfg --server "$url"
expect "plumb logout signs out" 0 "^signed out of $url$" $PLUMB logout --server "$url"
expect "and the session is gone" 1 "HTTP 401" $PLUMB status --server "$url"
unset XDG_CONFIG_HOME

absent "the Secret's value is in no log line" "$secret_value" cat "$work/run.log"
absent "nor admin's password" "$admin_password" cat "$work/run.log"

stop_runtime "$pid" "$work/run.log"
pid=
echo "ui: $pass passed, $fail failed"
