#!/bin/sh
# plumb run on a Helm chart kept in git, against a real control plane: a
# path holding Chart.yaml is rendered by helm (on the PATH: tests/run.sh
# puts tests/helm's there) and synced as any application; a values change
# and a version bump are applied, drift is undone, and a chart that does
# not render (a template error, a values.schema.json violation) leaves the
# cluster as it was, its error in the status. A chart that generates a
# password, rendered with random: "keep-live", keeps the one it was first
# synced with: no pass, no new commit changes it, and none reports drift.
# Usage: charts.sh PLUMB CLUSTER_DIR. Last line: "charts: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
NS=charts-test
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

pass_once() { $PLUMB run "file://$repo" --config-path gitops --cache "$work/cache" --once --context admin; }
data() { $K -n $NS get configmap shop-settings -o jsonpath="{.data.$1}"; }
label() { $K -n $NS get configmap shop-settings -o jsonpath='{.metadata.labels.helm\.sh/chart}'; }

command -v helm >/dev/null || { echo "FAIL helm is not on the PATH (tests/gotool.sh helm)"; echo "charts: 0 passed, 1 failed"; exit 0; }

# A chart of our own: a ConfigMap of its values, a schema, and a hook;
# the application that deploys it, shop, is named otherwise.
chart() { # chart VERSION
  mkdir -p "$repo/charts/web/templates"
  printf 'apiVersion: v2\nname: web\nversion: %s\n' "$1" >"$repo/charts/web/Chart.yaml"
}
values() { # values GREETING COLOR
  printf 'greeting: %s\ncolor: %s\n' "$1" "$2" >"$repo/charts/web/values.yaml"
}
chart 0.1.0
values hello blue
cat >"$repo/charts/web/values.schema.json" <<'EOJ'
{"type": "object", "properties": {"color": {"enum": ["blue", "green"]}}}
EOJ
cat >"$repo/charts/web/templates/configmap.yaml" <<'EOT'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
  labels:
    helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
data:
  greeting: {{ .Values.greeting | quote }}
  color: {{ .Values.color | quote }}
  namespace: {{ .Release.Namespace }}
EOT
cat >"$repo/charts/web/templates/hook.yaml" <<'EOT'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-pre-install
  annotations:
    helm.sh/hook: pre-install
data: {}
---
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
spec:
  containers: [{ name: t, image: busybox }]
EOT
mkdir -p "$repo/gitops"
cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app shop = application(name: "shop", repo: "file://$repo", path: "charts/web", namespace: "$NS",
                        automated: true, prune: true, self_heal: true)
}
EOP
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "a chart"
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
$K create namespace $NS >/dev/null
$K delete configmap plumb-history-shop --ignore-not-found >/dev/null

# ---- rendered and synced ----------------------------------------------------------------
expect "a path holding Chart.yaml is rendered and synced" 0 "shop: configmap/shop-settings created" pass_once
cp "$work/out" "$work/first"
expect "it is Synced" 0 "^shop +Synced" cat "$work/first"
same "the chart's values are applied" hello data greeting
same "as helm renders them, its labels too" web-0.1.0 label
same "released as the application, in its namespace, as Argo CD does" $NS data namespace
expect "a pre-install hook runs as a PreSync hook, as Argo CD maps it" 0 \
  "^shop: configmap/shop-pre-install created \(PreSync hook\)" cat "$work/first"
expect "a test hook, which no sync phase runs, is not applied" 1 "NotFound" $K -n $NS get pod shop-test
expect "and the log says so" 0 "^shop: .*warning: .*hook that no sync phase runs" cat "$work/first"

# ---- a values change, a version bump --------------------------------------------------------
values bonjour blue
commit "bonjour"
expect "a values change is applied" 0 "shop: configmap/shop-settings configured" pass_once
same "the new value is in the cluster" bonjour data greeting
chart 0.2.0
commit "0.2.0"
expect "a version bump is applied" 0 "shop: configmap/shop-settings configured" pass_once
same "the chart's label names the new version" web-0.2.0 label

# ---- drift ----------------------------------------------------------------------------------
$K -n $NS patch configmap shop-settings --type merge -p '{"data":{"greeting":"by hand"}}' >/dev/null
expect "self-heal undoes a hand edit of a chart's object" 0 "shop: configmap/shop-settings configured" pass_once
same "git's value is back" bonjour data greeting

# ---- charts that do not render ---------------------------------------------------------------
values hola purple
commit "a color the schema refuses"
expect "a values.schema.json violation fails the pass" 1 "^shop +Unknown" pass_once
cp "$work/out" "$work/schema"; expect "and says what the schema refused" 0 "color" cat "$work/schema"
same "nothing of it is applied" bonjour data greeting
values hola green
printf '  broken: {{ .Values.missing.deeper }}\n' >>"$repo/charts/web/templates/configmap.yaml"
commit "a template error"
expect "a template error fails the pass, naming the template" 1 "templates/configmap.yaml" pass_once
same "nothing of it is applied either" bonjour data greeting
sed -i '/broken:/d' "$repo/charts/web/templates/configmap.yaml"
commit "mended"
expect "mended, it syncs again" 0 "shop: configmap/shop-settings configured" pass_once
same "with the new values" hola data greeting

# ---- a generated password, kept live ---------------------------------------------------------
# A chart whose Secret holds a password it makes up (randAlphaNum): each
# render has another, and random: "keep-live" keeps the cluster's.
mkdir -p "$repo/charts/db/templates" "$repo/envs/db"
printf 'apiVersion: v2\nname: db\nversion: 0.1.0\n' >"$repo/charts/db/Chart.yaml"
printf 'user: admin\n' >"$repo/charts/db/values.yaml"
cat >"$repo/charts/db/templates/secret.yaml" <<'EOT'
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-auth
data:
  user: {{ .Values.user | b64enc | quote }}
  password: {{ randAlphaNum 24 | b64enc | quote }}
EOT
cat >"$repo/envs/db/main.plumb" <<'EOP'
env db {
  helm_chart("../../charts/db", { release: "db", random: "keep-live" })
}
EOP
cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app shop = application(name: "shop", repo: "file://$repo", path: "charts/web", namespace: "$NS",
                        automated: true, prune: true, self_heal: true)
  app db = application(name: "db", repo: "file://$repo", path: "envs/db", namespace: "$NS",
                       automated: true, prune: true, self_heal: true)
}
EOP
commit "a chart that generates a password"
$K delete configmap plumb-history-db --ignore-not-found >/dev/null
password() { $K -n $NS get secret db-auth -o jsonpath='{.data.password}'; }
kept() { $K -n $NS get secret db-auth -o jsonpath='{.metadata.annotations.plumb\.dev/keep-live}'; }
expect "a chart with keep-live is synced" 0 "db: secret/db-auth created" pass_once
first=$(password)
same "the Secret says which field is kept live" /data/password kept
for i in 1 2 3; do
  expect "pass $i after: Synced" 0 "^db +Synced" pass_once
  cp "$work/out" "$work/pass"; absent "pass $i after: nothing applied" "db: (syncing|secret/)" cat "$work/pass"
  same "pass $i after: the password is the first one" "$first" password
done
printf 'user: root\n' >"$repo/charts/db/values.yaml"
commit "another user"
expect "a new commit is applied" 0 "db: secret/db-auth configured" pass_once
same "its change is in the cluster" cm9vdA== $K -n $NS get secret db-auth -o jsonpath='{.data.user}'
same "and the password is still the first one" "$first" password
$K -n $NS patch secret db-auth --type merge -p '{"data":{"password":"aGFuZA==","user":"aGFuZA=="}}' >/dev/null
expect "self-heal undoes a hand edit of a field git sets" 0 "db: secret/db-auth configured" pass_once
same "git's user is back" cm9vdA== $K -n $NS get secret db-auth -o jsonpath='{.data.user}'
same "a kept field keeps the cluster's value, as Argo CD's ignoreDifferences" aGFuZA== password
expect "and is no drift" 0 "^db +Synced" pass_once
cp "$work/out" "$work/pass"; absent "nothing applied" "db: (syncing|secret/)" cat "$work/pass"
$K -n $NS patch secret db-auth --type merge -p "{\"data\":{\"password\":\"$first\"}}" >/dev/null

# ---- what the status says -----------------------------------------------------------------
printf 'charts-token\n' >"$work/token"
serving "$repo"
app_doc() { curl -s -H "Authorization: Bearer charts-token" "$url/api/v1/apps/db/diff"; }
synced_no_diff() { app_doc | jq -e '.sync == "Synced" and .diff == ""'; }
if eventually synced_no_diff; then ok; else app_doc >"$work/out"; no "the status of db: Synced, no diff"; fi
warnings() { curl -s -H "Authorization: Bearer charts-token" "$url/api/v1/apps/shop" | jq -r .warnings; }
if eventually sh -c "curl -s -H 'Authorization: Bearer charts-token' '$url/api/v1/apps/shop' | jq -r .warnings | grep -q hook"; then ok; else
  warnings >"$work/out"; no "the status document carries the build's warnings"
fi
refreshed() { curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer charts-token" "$url/api/v1/apps/shop/refresh"; }
# Two more passes, asked for, each building the same commit.
for i in 1 2; do refreshed >/dev/null; sleep 2; done
same "the log says a warning once, not at every pass" 1 sh -c "grep -c 'warning: helm_chart' '$work/run.log'"
absent "the serving runtime applies nothing of db's" "db: (syncing|secret/)" cat "$work/run.log"
same "nor changes its password" "$first" password
if synced_no_diff >/dev/null; then ok; else app_doc >"$work/out"; no "db stays Synced, with no diff"; fi
stop_runtime "$pid" "$work/run.log"
pid=

$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "charts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
