#!/bin/sh
# Applications as cluster objects: Application and Project objects
# (applications.plumb.dev, projects.plumb.dev, the CRDs deploy/ installs)
# that plumb run reads beside its config repository, the status it writes
# on them, and the mirrors of the config's applications. Every object and
# ConfigMap lives in the namespace objects-test, where the runtime reads.
# Usage: objects.sh PLUMB CLUSTER_DIR. Last line: "objects: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
cd "$ROOT"
repo=$work/deploy
NS=objects-test
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

app() { $K -n $NS get applications.plumb.dev "$1" -o jsonpath="$2"; } # app NAME JSONPATH
data() { $K -n $NS get configmap "$1" -o jsonpath='{.data.v}'; }
short() { (cd "$repo" && git rev-parse --short=7 HEAD); }
# configure APP...: the config declares each APP "NAME PATH", automated, in NS.
configure() {
  { echo 'import "std/gitops"'; echo 'env apps {'
    for a in "$@"; do
      set -- $a
      printf '  app %s = application(name: "%s", repo: "file://%s", path: "%s", namespace: "%s", automated: true, interval: "2s")\n' \
        "$(echo "$1" | tr -d -)" "$1" "$repo" "$2" "$NS"
    done
    echo '}'; } >"$repo/gitops/main.plumb"
}
# configmap PATH: PATH builds the ConfigMap PATH holding "one".
configmap() { mkdir -p "$repo/$1" && printf 'env e {\n  ConfigMap "%s" { data: { v: "one" } }\n}\n' "$1" >"$repo/$1/main.plumb"; }

# ---- the CRDs -------------------------------------------------------------------------------------
$PLUMB build deploy/plumb-system --out-dir "$work/manifests" >/dev/null
# Applied as plumb apply deploy/ applies them (tests/kube/deploy.sh), by
# the same field manager, so that either may come first.
expect "deploy/'s CRDs are accepted by the API server" 0 "applications.plumb.dev serverside-applied" \
  $K apply --server-side --force-conflicts --field-manager plumb -f "$work/manifests/03_customresourcedefinition_applications.plumb.dev.yaml" \
  -f "$work/manifests/03_customresourcedefinition_projects.plumb.dev.yaml"
$K wait --for condition=Established crd/applications.plumb.dev crd/projects.plumb.dev >/dev/null
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
$K create namespace $NS >/dev/null
for a in obj-config obj-kubectl obj-clash obj-bad; do $K delete configmap "plumb-history-$a" --ignore-not-found >/dev/null; done

expect "the schema has std/gitops's defaults" 0 '"interval":"3m"' sh -c "$K apply --dry-run=server -o json -f - <<YAML | tr -d ' \n'
apiVersion: plumb.dev/v1
kind: Application
metadata: {name: defaults, namespace: $NS}
spec: {source: {repo: https://git.example.com/a.git}}
YAML"
printf 'apiVersion: plumb.dev/v1\nkind: Application\nmetadata: {name: late, namespace: %s}\nspec: {source: {repo: r}, sync: {interval: soon}}\n' $NS >"$work/late.yaml"
expect "and its checks: an interval's form" 1 'spec.sync.interval: Invalid value: "soon"' $K apply -f "$work/late.yaml"
printf 'apiVersion: plumb.dev/v1\nkind: Application\nmetadata: {name: late, namespace: %s}\nspec: {source: {repo: r, credentials: {password: x}}}\n' $NS >"$work/late.yaml"
expect "an unknown credential" 1 'unknown field "spec.source.credentials.password"' $K apply -f "$work/late.yaml"

# ---- the repository and the runtime ------------------------------------------------------------------
mkdir -p "$repo/gitops"
configmap a && configmap b && configmap c
configure "obj-config a"
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "three ConfigMaps"
printf 'objects-token\n' >"$work/token"
# Before the runtime: an object of a name the config will take later.
expect "kubectl applies an Application" 0 "application.plumb.dev/obj-clash created" object obj-clash c
serving "$repo" --app-namespace $NS
has() { p status "$1" -o json 2>/dev/null | grep -q -- "$2"; } # has APP PATTERN
gone() { p status "$1" 2>&1 | grep -q "HTTP 404"; }

# ---- an Application object is synced ------------------------------------------------------------------
synced() { [ "$(app "$1" '{.status.sync.status}/{.status.health.status}/{.status.commit.short}')" = "Synced/Healthy/$(short)" ]; }
if eventually synced obj-clash; then ok; else no "an Application object is synced; its status says so with the commit"; fi
same "its objects are in the cluster" one data c
expect "plumb status lists it" 0 '"object": "objects-test/obj-clash"' p status obj-clash -o json
same "its status names the full commit" "$(cd "$repo" && git rev-parse HEAD)" app obj-clash '{.status.commit.id}'
same "and its message" "three ConfigMaps" app obj-clash '{.status.commit.message}'
expect "and its last sync" 0 "^Synced [0-9TZ:-]+$" app obj-clash '{.status.lastSync.result} {.status.lastSync.time}'
expect "kubectl get shows Argo CD's columns" 0 "^NAME +SYNC +HEALTH +COMMIT +AGE$" $K -n $NS get applications.plumb.dev
expect "and the application's row" 0 "^obj-clash +Synced +Healthy +$(short) +[0-9]+[sm]$" $K -n $NS get papp
expect "-o wide adds the project, the repository, who declares it" 0 \
  "^obj-clash +Synced +Healthy +$(short) +[0-9]+[sm] +default +file://$repo +the Application object objects-test/obj-clash" \
  $K -n $NS get applications.plumb.dev -o wide

# ---- the config's application is mirrored ----------------------------------------------------------------
if eventually synced obj-config; then ok; else no "the config's application has an object, with its status"; fi
same "labelled as the config's" config app obj-config '{.metadata.labels.plumb\.dev/source}'
expect "its spec mirrors the definition" 0 "^file://$repo a 2s true$" \
  app obj-config '{.spec.source.repo} {.spec.source.path} {.spec.sync.interval} {.spec.sync.automated}'
expect "its status names the definition" 0 "^the config repository$" app obj-config '{.status.declaredBy}'
# Server-side applies of Application objects, as the API server counts
# them: an apply that changes nothing leaves the resourceVersion as it was.
applies() {
  curl -s --cacert "$PLUMB_TEST_CA" -H "Authorization: Bearer $(cat "$PLUMB_TEST_ADMIN_TOKEN_FILE")" "$PLUMB_TEST_SERVER/metrics" |
    awk '/^apiserver_request_total\{/ && /[{,]resource="applications"/ && /verb="APPLY"/ { n += $NF } END { print n + 0 }'
}
rv=$(app obj-config '{.metadata.resourceVersion}') rv_object=$(app obj-clash '{.metadata.resourceVersion}')
applied=$(applies)
sleep 5
same "passes that change nothing write nothing to the mirror" "$rv" app obj-config '{.metadata.resourceVersion}'
same "nor apply it again (a spec the CRD's defaults fill in is the same)" "$applied" applies
same "nor to an object" "$rv_object" app obj-clash '{.metadata.resourceVersion}'

# ---- what does not read -----------------------------------------------------------------------------------
object obj-bad "../b" >/dev/null
condition() { app obj-bad '{.status.conditions[0].type}: {.status.conditions[0].message}'; }
is_bad() { condition | grep -q "$1"; }
if eventually is_bad "InvalidSpecError: application obj-bad: source.path must stay inside the repository"; then ok
else no "an object that does not read gets the reader's error as a condition"; fi
same "it is Unknown" Unknown app obj-bad '{.status.sync.status}'
if gone obj-bad; then ok; else no "it is not managed"; fi
object obj-bad b "  project: nowhere" >/dev/null
if eventually is_bad 'InvalidSpecError: application obj-bad: project "nowhere" is not defined'; then ok
else no "an undefined project is a condition"; fi
object obj-bad b "  project: team" >/dev/null
$K apply -f - >/dev/null <<YAML
apiVersion: plumb.dev/v1
kind: Project
metadata: {name: team, namespace: $NS}
spec: {sourceRepos: ["file://*"], destinations: [{cluster: in-cluster, namespace: $NS}]}
YAML
if eventually synced obj-bad; then ok; else no "a Project object is read: an application of it syncs"; fi
same "the other applications went on meanwhile" "Synced/Healthy/$(short)" app obj-clash '{.status.sync.status}/{.status.health.status}/{.status.commit.short}'

# ---- hostile input and credentials ------------------------------------------------------------------------
big=$(head -c 3000 /dev/zero | tr '\0' x)
{ printf 'apiVersion: plumb.dev/v1\nkind: Application\nmetadata: {name: obj-big, namespace: %s}\n' $NS
  printf 'spec:\n  source:\n    repo: r\n    args:\n'
  for i in $(seq 1 30); do printf '      k%d: %s\n' "$i" "$big"; done; } >"$work/big.yaml"
$K apply -f "$work/big.yaml" >/dev/null
big_refused() { app obj-big '{.status.conditions[0].message}' | grep -q "application obj-big: its spec is [0-9]* bytes; at most 65536 are read"; }
if eventually big_refused; then ok; else no "a spec over 64 KiB is not read, with a condition"; fi
object obj-secret "a" >/dev/null
$K -n $NS patch applications.plumb.dev obj-secret --type merge \
  -p '{"spec":{"source":{"repo":"https://user:hunter2@127.0.0.1:1/shop.git"}}}' >/dev/null
fetch_failed() { app obj-secret '{.status.conditions[0].type}' | grep -q ComparisonError; }
if eventually fetch_failed; then ok; else no "a fetch that fails is a ComparisonError"; fi
absent "no credential is in the status" hunter2 app obj-secret '{.status}'
$K -n $NS delete applications.plumb.dev obj-big obj-secret >/dev/null

# ---- a name the config takes ---------------------------------------------------------------------------------
configure "obj-config a" "obj-clash b"
commit "obj-clash in the config"
is_clash() { app obj-clash '{.status.conditions[0].type}: {.status.conditions[0].message}' |
  grep -q "NameConflict: application obj-clash is refused: an application of that name is declared by the config repository at gitops/main.plumb:4:"; }
printf 'apiVersion: plumb.dev/v1\nkind: Project\nmetadata: {name: default, namespace: %s}\nspec: {}\n' $NS | $K apply -f - >/dev/null
project_clash() { $K -n $NS get projects.plumb.dev default -o jsonpath='{.status.conditions[0].type}: {.status.conditions[0].message}' |
  grep -q "NameConflict: project default is refused: it is the built-in project; declare it in the config repository to change it"; }
if eventually is_clash; then ok; else no "an object of a name the config declares is refused, with a condition"; fi
if eventually project_clash; then ok; else no "a Project object of a name the config has is refused, with a condition"; fi
if eventually has obj-clash '"repo": "file://'; then ok; else no "the config's obj-clash is managed"; fi
is_b() { [ "$(data b)" = one ]; }
if eventually is_b; then ok; else no "the config's obj-clash syncs its own path"; fi
absent "the config's obj-clash is not the object's" '"object"' p status obj-clash -o json
absent "the object is not mirrored over" "config" app obj-clash '{.metadata.labels}'

# ---- deleting ---------------------------------------------------------------------------------------------------
expect "kubectl deletes an Application" 0 "deleted" $K -n $NS delete applications.plumb.dev obj-bad
if eventually gone obj-bad; then ok; else no "a deleted Application leaves plumb status"; fi
expect "the log says so" 0 "^obj-bad: no longer declared by the Application object objects-test/obj-bad; not managed any more, its objects stay in the cluster" cat "$work/run.log"
same "its objects stay in the cluster" one data b
# An object labelled as a mirror by hand is not read, and not deleted.
$K apply -f - >/dev/null <<YAML
apiVersion: plumb.dev/v1
kind: Application
metadata: {name: obj-labelled, namespace: $NS, labels: {plumb.dev/source: config}}
spec: {source: {repo: "file://$repo", path: c}}
YAML
configure "obj-clash b"
commit "no obj-config"
mirror_gone() { $K -n $NS get applications.plumb.dev obj-config 2>&1 | grep -q NotFound; }
if eventually mirror_gone; then ok; else no "the mirror of an application the config drops is deleted"; fi
same "an object of the user's is never deleted" obj-clash app obj-clash '{.metadata.name}'
same "nor one labelled by hand as a mirror" obj-labelled app obj-labelled '{.metadata.name}'
if gone obj-labelled; then ok; else no "which is not read as an application"; fi

stop_runtime "$pid" "$work/run.log"
pid=
grep -E "ERROR|runtime error|LeakSanitizer" "$work/run.log" && no "the runtime's log is clean"

$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "objects: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
