#!/bin/sh
# Deleting an Application object, as Argo CD's resources finalizer: an
# object whose spec says cascadeDelete gets the runtime's finalizer;
# `kubectl delete` of it then waits while its objects, custom resources
# among them, are deleted, and the object goes last. One without
# cascadeDelete goes at once and leaves its objects; a custom resource of
# the same kind that no application marked stays. A runtime started while
# an object is being deleted takes the deletion up. Usage: finalizer.sh
# PLUMB CLUSTER_DIR. Last line: "finalizer: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
cd "$ROOT"
repo=$work/deploy
NS=finalizer-test
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

finalizers() { $K -n $NS get applications.plumb.dev "$1" -o jsonpath='{.metadata.finalizers}'; }
has() { $K -n $NS get "$1" "$2" >/dev/null 2>&1; }
gone() { ! has "$1" "$2"; }
logged() { grep -q -- "$1" "$work/run.log"; }
# objects PATH: PATH builds the ConfigMap PATH and the Widget PATH.
objects() {
  mkdir -p "$repo/$1"
  printf 'env e {\n  ConfigMap "%s" { data: { v: "1" } }\n  Widget "%s" { apiVersion: "finalizer.example.com/v1", spec: { size: 1 } }\n}\n' \
    "$1" "$1" >"$repo/$1/main.plumb"
}

install_plumb_crds
install_crd finalizer.example.com Widget widgets
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
$K create namespace $NS >/dev/null
for a in cascading orphaned late; do $K delete configmap "plumb-history-$a" --ignore-not-found >/dev/null; done
printf 'apiVersion: finalizer.example.com/v1\nkind: Widget\nmetadata: {name: by-hand, namespace: %s}\nspec: {size: 1}\n' $NS |
  $K apply -f - >/dev/null

mkdir -p "$repo/gitops"
printf 'import "std/gitops"\nenv apps {\n}\n' >"$repo/gitops/main.plumb"
objects cascading && objects orphaned && objects late
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "three paths"
object cascading cascading "  cascadeDelete: foreground" >/dev/null
object orphaned orphaned >/dev/null
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/token"
serving "$repo" --app-namespace $NS

synced() { has configmap cascading && has widgets.finalizer.example.com cascading && has configmap orphaned && has widgets.finalizer.example.com orphaned; }
if eventually synced; then ok; else no "both objects' applications are synced, custom resources included"; fi
if eventually sh -c "$K -n $NS get applications.plumb.dev cascading -o jsonpath='{.metadata.finalizers}' | grep -q plumb.dev/resources-finalizer"
then ok; else no "an object with cascadeDelete gets the runtime's finalizer"; fi
same "one without it gets none" "" finalizers orphaned

# Without cascadeDelete: the object goes at once, its objects stay.
$K -n $NS delete applications.plumb.dev orphaned --wait=true >/dev/null
if eventually logged "orphaned: no longer declared by the Application object $NS/orphaned; not managed any more"; then ok
else no "an object without cascadeDelete deleted: its application is let go"; fi
expect "its ConfigMap stays" 0 "" has configmap orphaned
expect "its custom resource stays" 0 "" has widgets.finalizer.example.com orphaned

# With it: kubectl delete waits until the objects are gone.
$K -n $NS delete applications.plumb.dev cascading --wait=true --timeout=60s >"$work/out" 2>&1
cp "$work/out" "$work/deleted"
expect "kubectl delete returns once the object is gone" 0 "deleted" cat "$work/deleted"
expect "its ConfigMap went first" 1 "" has configmap cascading
expect "and its custom resource, of a kind prune's usual list lacks" 1 "" has widgets.finalizer.example.com cascading
expect "the log says why" 0 "cascading: its Application object is being deleted; deleting its objects \(cascade_delete: foreground\)" \
  cat "$work/run.log"
expect "and that it ended" 0 "cascading: deleted, with its objects" cat "$work/run.log"
expect "a custom resource no application marked stays" 0 "" has widgets.finalizer.example.com by-hand
expect "the application let go keeps its objects" 0 "" has widgets.finalizer.example.com orphaned

# Taking cascadeDelete away takes the finalizer off.
object late late "  cascadeDelete: background" >/dev/null
if eventually sh -c "$K -n $NS get applications.plumb.dev late -o jsonpath='{.metadata.finalizers}' | grep -q plumb.dev/resources-finalizer"
then ok; else no "late gets the finalizer"; fi
if eventually has widgets.finalizer.example.com late; then ok; else no "late is synced"; fi
object late late >/dev/null
if eventually sh -c "[ -z \"\$($K -n $NS get applications.plumb.dev late -o jsonpath='{.metadata.finalizers}')\" ]"
then ok; else no "without cascadeDelete again, the finalizer is taken off"; fi
object late late "  cascadeDelete: background" >/dev/null
if eventually sh -c "$K -n $NS get applications.plumb.dev late -o jsonpath='{.metadata.finalizers}' | grep -q plumb.dev/resources-finalizer"
then ok; else no "and put back with it"; fi

# Deleted while no runtime runs: the next one takes the deletion up.
stop_runtime "$pid" "$work/run.log"
pid=
$K -n $NS delete applications.plumb.dev late --wait=false >/dev/null
expect "the object waits for a runtime" 0 "" $K -n $NS get applications.plumb.dev late
serving "$repo" --app-namespace $NS
if eventually logged "late: its Application object is being deleted; deleting its objects (cascade_delete: background)"
then ok; else no "a runtime started after the deletion began takes it up"; fi
if eventually gone applications.plumb.dev late; then ok; else no "then the object goes"; fi
expect "with its objects" 1 "" has widgets.finalizer.example.com late
expect "its history goes too" 1 "NotFound" $K get configmap plumb-history-late

stop_runtime "$pid" "$work/run.log"
pid=
$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "finalizer: $pass passed, $fail failed"
