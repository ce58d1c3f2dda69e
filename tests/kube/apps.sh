#!/bin/sh
# App of apps: applications whose builds declare applications, against a
# real control plane and real git repositories. The config declares one
# application, apps-root; its repository declares the others, whose objects
# (ConfigMaps in the namespace apps-test) live in a third repository.
# Usage: apps.sh PLUMB CLUSTER_DIR. Last line: "apps: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
config=$work/config root=$work/root kids=$work/kids
NS=apps-test
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

git_init() { mkdir -p "$1" && (cd "$1" && git init -q -b main && git config user.email t@example.com && git config user.name test); }
commit() { (cd "$1" && git add -A && git commit -qm "$2"); }
pass_once() { $PLUMB run "file://$config" --config-path gitops --cache "$work/cache" --once --context admin; }
data() { $K -n $NS get configmap "$1" -o jsonpath='{.data.v}'; }
# child NAME PATH [EXTRA]: an application of the kids repository.
child() {
  printf '  app %s = application(name: "%s", repo: "file://%s", path: "%s", namespace: "%s", automated: true, interval: "2s"%s)\n' \
    "$(echo "$1" | tr -d -)" "$1" "$kids" "$2" "$NS" "${3:-}"
}
# root_declares LINES...: the root's build, a child a line.
root_declares() {
  { echo 'import "std/gitops"'; echo 'env apps {'; for line in "$@"; do echo "$line"; done; echo '}'; } >"$root/apps/main.plumb"
}
# objects PATH VALUE [LINES]: a ConfigMap named after PATH holding VALUE.
objects() {
  mkdir -p "$kids/$1"
  printf 'import "std/gitops"\nenv kids {\n  ConfigMap "%s" { data: { v: "%s" } }\n%s\n}\n' "$1" "$2" "${3:-}" >"$kids/$1/main.plumb"
}
# configure PROJECT [EXTRA]: the config, apps-root in PROJECT.
configure() {
  cat >"$config/gitops/main.plumb" <<EOP
import "std/gitops"
env config {
  app root = application(name: "apps-root", repo: "file://$root", path: "apps", namespace: "$NS", project: "$1",
                         automated: true, prune: true, interval: "2s")
  app narrow = project(name: "narrow", kinds: ["ConfigMap"])
${2:-}
}
EOP
}

$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
$K create namespace $NS >/dev/null
for app in apps-root apps-a apps-b apps-bb apps-c apps-k apps-x; do
  $K delete configmap "plumb-history-$app" --ignore-not-found >/dev/null
done
git_init "$config" && mkdir -p "$config/gitops" && configure default && commit "$config" "the root"
git_init "$kids"
objects a one
objects b one "$(child apps-bb bb)"
objects bb one
objects c one
objects evil one
objects k one
objects x one
commit "$kids" "kids"
git_init "$root" && mkdir -p "$root/apps"
root_declares "$(child apps-a a)" "$(child apps-b b)"
commit "$root" "two children"

# ---- 1. the root's children, and theirs, are synced ----------------------------------------
expect "one pass syncs the root's children" 0 "^apps-a: configmap/a created" pass_once
cp "$work/out" "$work/first"
expect "a child of a child is synced too" 0 "^apps-bb: configmap/bb created" cat "$work/first"
expect "the log names the parent" 0 "^apps-b: declared by application apps-root; managed from now on" cat "$work/first"
expect "a root of children alone is Synced" 0 "^apps-root +Synced" cat "$work/first"
for app in apps-a apps-b apps-bb; do expect "$app is Synced" 0 "^$app +Synced" cat "$work/first"; done
for cm in a b bb; do same "configmap $cm is in the cluster" one data $cm; done
expect "a child's objects carry its own mark" 0 "plumb.dev/application: apps-a" $K -n $NS get configmap a -o yaml

# ---- serve mode: the runtime keeps running from here --------------------------------------
printf 'apps-token\n' >"$work/token"
serving "$config"
doc() { p status "$1" -o json; } # doc APP: its document
has() { doc "$1" | grep -q -- "$2"; } # has APP PATTERN
gone() { p status "$1" 2>&1 | grep -q "HTTP 404"; }

if eventually has apps-bb '"sync": "Synced"'; then ok; else no "serve: the grandchild is Synced"; fi
expect "a child's document names its parent" 0 '"parent": "apps-root"' doc apps-a
expect "a grandchild's names its own" 0 '"parent": "apps-b"' doc apps-bb
absent "the config's application has no parent" '"parent"' doc apps-root
expect "the list names parents" 0 '"parent": "apps-b"' p status -o json
tree() { curl -s -H "Authorization: Bearer apps-token" "$url/api/v1/apps/$1/tree"; }
expect "the root's tree holds its children" 0 '"id":"Application//apps-a"' tree apps-root
expect "a child's tree, its own child" 0 '"id":"Application//apps-bb"' tree apps-b

# ---- 2. a commit adds a child, another removes one -----------------------------------------
root_declares "$(child apps-a a)" "$(child apps-b b)" "$(child apps-c c)"
commit "$root" "a third child"
if eventually has apps-c '"sync": "Synced"'; then ok; else no "a child a commit adds is synced"; fi
same "its object is in the cluster" one data c
root_declares "$(child apps-a a)" "$(child apps-c c)"
commit "$root" "no b"
if eventually gone apps-b; then ok; else no "a child a commit removes leaves the status"; fi
if eventually gone apps-bb; then ok; else no "its own children leave with it"; fi
expect "the log says it is no longer managed" 0 "^apps-b: no longer declared by application apps-root; not managed any more, its objects stay in the cluster" cat "$work/run.log"
same "its objects stay in the cluster" one data b
same "so do its children's" one data bb

# ---- 3. a root that does not compile keeps its children --------------------------------------
echo 'ConfigMap "broken" {' >>"$root/apps/main.plumb"
commit "$root" "a syntax error"
if eventually has apps-root 'apps/main.plumb:[0-9]*:[0-9]*: error'; then ok; else no "the root's status shows file:line:col"; fi
objects a two
commit "$kids" "a: two"
is_two() { [ "$(data a)" = two ]; }
if eventually is_two; then ok; else no "a commit in a child's repository is still applied"; fi
expect "the children are still managed" 0 '"sync": "Synced"' doc apps-c

# ---- 3b. a config commit that removes a project a child uses ----------------------------------
configure default '  app kp = project(name: "kidproj")'
commit "$config" "a project for a child"
root_declares "$(child apps-a a)" "$(child apps-c c)" "$(child apps-k k ', project: "kidproj"')"
commit "$root" "a child in kidproj"
if eventually has apps-k '"sync": "Synced"'; then ok; else no "a child in a config's project is synced"; fi
configure default
commit "$config" "no kidproj"
if eventually gone apps-k; then ok; else no "a child whose project the config dropped leaves the set"; fi
same "the runtime lives on" 200 curl -s -o /dev/null -w '%{http_code}' "$url/healthz"
expect "the root says why, at the child's line" 0 \
  'apps/main.plumb:5:[0-9]+: error: application apps-k is refused: project \\"kidproj\\" is not defined' doc apps-root
expect "the other children are still managed" 0 '"sync": "Synced"' doc apps-c
configure default '  app kp = project(name: "kidproj")'
commit "$config" "kidproj again"
if eventually has apps-k '"sync": "Synced"'; then ok; else no "with its project back, the child is managed again"; fi
kill "$pid" && wait "$pid" 2>/dev/null
pid=

# ---- 4. what is refused --------------------------------------------------------------------------
# A child of a name taken: the config's apps-x and the root's.
configure default '  app x = application(name: "apps-x", repo: "file://'"$kids"'", path: "x", namespace: "'"$NS"'", automated: true)'
commit "$config" "apps-x"
root_declares "$(child apps-a a)" "$(child apps-x evil)" '  ConfigMap "root" { data: { v: "one" } }'
commit "$root" "a second apps-x"
expect "a child of a taken name is refused" 1 \
  "apps/main.plumb:4:[0-9]+: error: application apps-x is refused: an application of that name is declared by the config repository at gitops/main.plumb:6:[0-9]+" pass_once
cp "$work/out" "$work/dup"
expect "the config's apps-x is synced" 0 "^apps-x +Synced" cat "$work/dup"
expect "the root's other children are" 0 "^apps-a +Synced" cat "$work/dup"
same "and its own objects" one data root
expect "nothing of the refused child is applied" 1 "NotFound" $K -n $NS get configmap evil

# A project in the root's build, with a child that would use it.
root_declares "$(child apps-a a)" "$(child apps-sneaky evil ', project: "sneaky"')" \
  '  app p = project(name: "sneaky", cluster_kinds: ["*"])'
commit "$root" "a project of its own"
expect "a project in an application's build is refused" 1 \
  "apps/main.plumb:5:[0-9]+: error: project sneaky: projects may be declared only in the config repository" pass_once
cp "$work/out" "$work/project"
expect "the root is Unknown" 0 "^apps-root +Unknown" cat "$work/project"
absent "its children are not read" "^apps-sneaky" cat "$work/project"
expect "nothing of them is applied" 1 "NotFound" $K -n $NS get configmap evil

# A root whose project allows ConfigMaps only.
configure narrow
commit "$config" "a narrow project"
root_declares "$(child apps-a a)" "$(child apps-c evil)"
commit "$root" "children again"
expect "a project that does not list the kind refuses children" 1 \
  'Application "apps-a": project narrow does not allow the kind plumb.dev/Application' pass_once
absent "no child is managed" "^apps-(a|c) " cat "$work/out"
expect "nothing of them is applied" 1 "NotFound" $K -n $NS get configmap evil

$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "apps: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
