#!/bin/sh
# Health scripts of the runtime's config (std/gitops' health()) on a real
# control plane: a wave waits while its custom resource's script says
# Progressing, goes on once it says Healthy, stops when it says Degraded;
# a script that fails or loops for ever makes its object Unknown, the
# reason in the status, and the runtime goes on. The objects' status is set
# by hand, as their controller would (kubectl patch --subresource=status).
# Usage: health.sh PLUMB CLUSTER_DIR. Last line: "health: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
NS=health-demo

pass_once() { $PLUMB run "file://$repo" --config-path gitops --cache "$work/cache" --once --context admin; }
claim() { $K -n $NS get claims.db.example.com db -o name; }
status() { # status KIND NAME JSON: sets the object's status, as its controller would
  $K -n $NS patch "$1.db.example.com" "$2" --subresource=status --type=merge -p "{\"status\": $3}" >/dev/null
}

# Kinds of db.example.com whose status is a subresource of their own.
for kind in Claim Widget Spinner; do
  plural=$(echo "$kind" | tr 'A-Z' 'a-z')s
  $K apply -f - >/dev/null <<YAML
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: $plural.db.example.com}
spec:
  group: db.example.com
  scope: Namespaced
  names: {plural: $plural, kind: $kind}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
YAML
done
# The group's schema document, once it holds all three: a build checks
# the objects against it.
eventually sh -c "$K get --raw /openapi/v3/apis/db.example.com/v1 | grep -q com.example.db.v1.Spinner"
eventually sh -c "$K get --raw /openapi/v3/apis/db.example.com/v1 | grep -q com.example.db.v1.Widget"
eventually sh -c "$K get --raw /openapi/v3/apis/db.example.com/v1 | grep -q com.example.db.v1.Claim"

# The config: a script for each kind and the application; the build: a
# Claim in wave 0, a ConfigMap in wave 1.
mkdir -p "$repo/gitops/health" "$repo/app"
cat >"$repo/gitops/health/claim.lua" <<'EOL'
local hs = { status = "Progressing", message = "Waiting for the claim to be bound" }
if obj.status ~= nil and obj.status.phase == "Bound" then
  hs.status = "Healthy"
  hs.message = "Bound to " .. obj.status.volume
elseif obj.status ~= nil and obj.status.phase == "Lost" then
  hs.status = "Degraded"
  hs.message = "The claim is lost"
end
return hs
EOL
printf 'if obj.status.ready then return { status = "Healthy" } end\n' >"$repo/gitops/health/widget.lua"
printf 'while true do end\n' >"$repo/gitops/health/spinner.lua"
cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app claims = health(group: "db.example.com", kind: "Claim", lua: file("health/claim.lua"))
  app widgets = health(group: "db.example.com", kind: "Widget", lua: file("health/widget.lua"))
  app spinners = health(group: "db.example.com", kind: "Spinner", lua: file("health/spinner.lua"))
  app demo = application(name: "health-demo", repo: "file://$repo", path: "app", project: "p", automated: true)
  app project = project(name: "p", cluster_kinds: ["Namespace"])
}
EOP
build() { # build EXTRA: the application's env, with EXTRA resources in it
  cat >"$repo/app/main.plumb" <<EOP
env demo {
  namespace: "$NS"
  Namespace "$NS" {}
  Claim "db" { apiVersion: "db.example.com/v1", spec: { size: 1 } }
  ConfigMap "after-db" { metadata: { annotations: { "plumb.dev/sync-wave": "1" } } }
  $1
}
EOP
}
build ""
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "a claim, then a ConfigMap"

# ---- a wave waits on its custom resource's script --------------------------------------
pass_once >"$work/first" 2>&1 &
first=$!
if eventually claim; then ok; else no "wave 0's Claim is applied"; fi
sleep 3
expect "while the script says Progressing, wave 1 waits" 1 "not found" $K -n $NS get configmap after-db
status claims db '{"phase": "Bound", "volume": "pv-7"}'
wait $first
same "once the script says Healthy, the sync goes on and ends" 0 echo $?
expect "wave 1 is applied after it" 0 "health-demo: configmap/after-db created" cat "$work/first"
expect "the application is Synced" 0 "^health-demo +Synced" cat "$work/first"

# ---- a script that says Degraded stops the sync --------------------------------------------
status claims db '{"phase": "Lost"}'
build 'ConfigMap "later" { metadata: { annotations: { "plumb.dev/sync-wave": "1" } } }'
commit "one more ConfigMap after the claim"
expect "Degraded by its script, the Claim stops the sync" 1 \
  'wave 0: claim.db.example.com/db is Degraded: The claim is lost \(2 objects of later waves not applied\)' pass_once
expect "the wave after it is not applied" 1 "not found" $K -n $NS get configmap later
status claims db '{"phase": "Bound", "volume": "pv-8"}'

# ---- scripts that fail or loop: Unknown, in words, and the runtime goes on ------------------
build 'Widget "w" { apiVersion: "db.example.com/v1", metadata: { annotations: { "plumb.dev/sync-wave": "2" } }, spec: { size: 1 } }
  Spinner "s" { apiVersion: "db.example.com/v1", metadata: { annotations: { "plumb.dev/sync-wave": "2" } }, spec: { size: 1 } }'
commit "a widget and a spinner, last"
printf 'health-token\n' >"$work/token"
serving "$repo"
doc() { p status health-demo -o json; }
has() { doc | grep -q -- "$1"; }
if eventually has '"sync": "Synced"'; then ok; else no "the application with a failing script syncs"; fi
expect "a script's error is the object's health message" 0 \
  "\"message\": \"health script for db.example.com/Widget: line 1: attempt to index a nil value \(field 'status'\)\"" doc
expect "a script that loops is stopped, and says so" 0 \
  '"message": "health script for db.example.com/Spinner: ran more than 10000000 instructions"' doc
expect "the application is Unknown" 0 '"health": "Unknown"' doc
expect "the Claim's own script still says Healthy" 0 '"message": "Bound to pv-8"' doc
same "the runtime is still running" 0 sh -c "kill -0 $pid 2>&1 && echo 0"
stop_runtime "$pid" "$work/run.log"

# ---- a script that does not compile: an error where it was written ---------------------------
printf 'if obj.status then\n  return {}\n' >"$repo/gitops/health/widget.lua"
commit "a widget script that does not compile"
expect "a script that does not compile is an error at file:line:col" 1 \
  "gitops/main.plumb:4:[0-9]+: error: health db.example.com/Widget: the script does not compile: line 3: 'end' expected \(to close 'if' at line 1\) near <eof>" \
  pass_once

$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "health: $pass passed, $fail failed"
