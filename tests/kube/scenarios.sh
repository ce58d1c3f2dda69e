#!/bin/sh
# plumb apply and plumb diff against a real control plane (tests/cluster).
# Usage: scenarios.sh PLUMB CLUSTER_DIR. Each check is one behaviour; the
# last line is "kube: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
cd "$ROOT"

# ---- apply, re-apply, diff --------------------------------------------------
expect "first apply creates" 0 "^deployment.apps/nginx-deployment created$" $PLUMB apply examples/nginx/envs/dev
cp "$work/out" "$work/first"
expect "first apply creates the namespace first" 0 "^namespace/nginx-dev created$" head -1 "$work/first"
expect "second apply changes nothing" 0 "^service/nginx-service unchanged$" $PLUMB apply examples/nginx/envs/dev
absent "second apply: nothing configured" "configured|created" $PLUMB apply examples/nginx/envs/dev
expect "diff right after apply is empty" 0 "" $PLUMB diff examples/nginx/envs/dev
absent "diff right after apply prints nothing" "." $PLUMB diff examples/nginx/envs/dev
expect "apply carries the ownership mark" 0 "plumb.dev/env: dev" $K -n nginx-dev get deployment nginx-deployment -o yaml

for env in examples/*/envs/*; do
  expect "apply $env" 0 "" $PLUMB apply "$env"
  expect "no drift right after applying $env" 0 "" $PLUMB diff "$env"
done

# A generated Secret's long data is written in lines of 70, as Kustomize
# writes it; the server takes it, keeps the same bytes, and the next apply
# and diff see no change.
long=$(env_dir long-secret 'env longsecret {
  namespace: "long-secret"
  Namespace "long-secret" {}
  secret("cert", { literals: { "tls.crt": join(["0123456789" for i in range(20)], "") } })
}')
expect "a Secret with data in lines applies" 0 "^secret/cert-[a-z0-9]+ created$" $PLUMB apply "$long"
expect "the server keeps its bytes" 0 "^(0123456789){20}$" sh -c "$K -n long-secret get secrets -o jsonpath='{.items[0].data.tls\\.crt}' | base64 -d; echo"
expect "the next apply leaves it unchanged" 0 "^secret/cert-[a-z0-9]+ unchanged$" $PLUMB apply "$long"
expect "no diff after it" 0 "" $PLUMB diff "$long"
absent "the diff prints nothing" "." $PLUMB diff "$long"

# ---- drift ------------------------------------------------------------------
$K -n nginx-dev scale deployment nginx-deployment --replicas=3 >/dev/null
expect "diff shows a manual scale" 1 "^-  replicas: 3$" $PLUMB diff examples/nginx/envs/dev
expect "diff names the object as kubectl does" 1 "^--- live/apps.v1.Deployment.nginx-dev.nginx-deployment$" $PLUMB diff examples/nginx/envs/dev
# kubectl scale made "kubectl" the owner of spec.replicas: taking it back is
# a conflict by field and owner, as with kubectl apply --server-side.
expect "apply names the conflicting field and owner" 1 'conflict with "kubectl".*: .spec.replicas' $PLUMB apply examples/nginx/envs/dev
expect "--force-conflicts reverts it" 0 "^deployment.apps/nginx-deployment configured$" $PLUMB apply --force-conflicts examples/nginx/envs/dev
expect "replicas back to 1" 0 "^1$" $K -n nginx-dev get deployment nginx-deployment -o jsonpath='{.spec.replicas}{"\n"}'

# ---- dry run ------------------------------------------------------------------
dry=$(env_dir dry 'env dryrun { Namespace "dry-ns" {} }')
expect "dry run reports" 0 "^namespace/dry-ns created \(server dry run\)$" $PLUMB apply --dry-run "$dry"
expect "dry run changes nothing" 1 "not found" $K get namespace dry-ns

# ---- conflicts ------------------------------------------------------------------
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nginx-deployment, namespace: nginx-dev}\nspec: {replicas: 4}\n' >"$work/other.yaml"
$K apply --server-side --field-manager=other-team --force-conflicts -f "$work/other.yaml" >/dev/null
expect "a field another manager owns is a conflict" 1 "other-team.*spec.replicas|spec.replicas.*other-team" $PLUMB apply examples/nginx/envs/dev
expect "the conflict suggests --force-conflicts" 1 "force-conflicts" $PLUMB apply examples/nginx/envs/dev
expect "--force-conflicts takes it over" 0 "^deployment.apps/nginx-deployment configured$" $PLUMB apply --force-conflicts examples/nginx/envs/dev

# ---- prune ------------------------------------------------------------------------
two=$(env_dir prune 'env prunes {
  namespace: "prune-ns"
  Namespace "prune-ns" {}
  ConfigMap "keep" { data: { a: "1" } }
  ConfigMap "drop" { data: { b: "2" } }
}')
expect "apply before prune" 0 "^configmap/drop created$" $PLUMB apply "$two"
$K -n prune-ns create configmap by-hand --from-literal=x=1 >/dev/null
printf '%s\n' 'env prunes {
  namespace: "prune-ns"
  Namespace "prune-ns" {}
  ConfigMap "keep" { data: { a: "1" } }
}' >"$two/main.plumb"
expect "prune deletes what left the env" 0 "^configmap/drop pruned$" $PLUMB apply --prune "$two"
expect "the pruned object is gone" 1 "not found" $K -n prune-ns get configmap drop
expect "an unmarked object of the same kind stays" 0 "by-hand" $K -n prune-ns get configmap by-hand
expect "what is still wanted stays" 0 "keep" $K -n prune-ns get configmap keep
printf 'env prunes {\n  namespace: "prune-ns"\n  ConfigMap "keep" { data: { a: 1 +  } }\n}\n' >"$two/main.plumb"
expect "no prune when the compile fails" 1 "not pruning: the compile failed" $PLUMB apply --prune "$two"
expect "nothing deleted after a failed compile" 0 "keep" $K -n prune-ns get configmap keep
printf 'env prunes {}\n' >"$two/main.plumb"
expect "no prune of an empty result" 1 "not pruning: env prunes produced no resources" $PLUMB apply --prune "$two"
expect "nothing deleted for an empty result" 0 "keep" $K -n prune-ns get configmap keep

# ---- a CRD and its custom resources in one apply ---------------------------------
crd=$(env_dir crd 'env crds {
  CustomResourceDefinition "widgets.example.com" {
    spec: {
      group: "example.com"
      names: { kind: "Widget", plural: "widgets", singular: "widget" }
      scope: "Namespaced"
      versions: [{ name: "v1", served: true, storage: true,
        schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", properties: { size: { type: "integer" } } } } } } }]
    }
  }
  Widget "w1" { apiVersion: "example.com/v1", metadata: { namespace: "default" }, spec: { size: 3 } }
}')
expect "CRD and custom resource in one apply" 0 "^widget.example.com/w1 created$" $PLUMB apply "$crd"
expect "the custom resource exists" 0 "w1" $K get widgets.example.com w1
expect "no drift on the custom resource" 0 "" $PLUMB diff "$crd"
# A CRD in the cluster whose schema holds an integer past int64 (valid
# JSON, out of jansson's range): the lists of CRDs that hold it still read.
install_crd huge.example.com Gadget gadgets "ratio: {type: number, maximum: 10000000000000000000}"
expect "a CRD with an integer past int64 is in the cluster" 0 "10000000000000000000" $K get crd gadgets.huge.example.com -o json
expect "CRDs still apply beside it" 0 "^customresourcedefinition.apiextensions.k8s.io/widgets.example.com unchanged$" $PLUMB apply "$crd"
expect "and diff" 0 "" $PLUMB diff "$crd"
$K delete crd gadgets.huge.example.com >/dev/null 2>&1

# ---- credentials -----------------------------------------------------------------
expect "client certificate context" 0 "" $PLUMB diff --context admin-cert examples/nginx/envs/dev
expect "a forbidden user gets the server's words" 1 'forbidden: .*User "ci" cannot' $PLUMB apply --context ci examples/nginx/envs/dev
sed "s/$(cat "$PLUMB_TEST_ADMIN_TOKEN_FILE")/not-a-valid-token/" "$KUBECONFIG" >"$work/badtoken.kubeconfig"
expect "an invalid token is named as such" 1 "token rejected \(401\)" $PLUMB apply --kubeconfig "$work/badtoken.kubeconfig" examples/nginx/envs/dev
absent "the token never appears in messages" "not-a-valid-token" $PLUMB apply --kubeconfig "$work/badtoken.kubeconfig" examples/nginx/envs/dev
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other-ca -days 1 \
  -keyout "$work/other-ca.key" -out "$work/other-ca.crt" 2>/dev/null
cat >"$work/wrongca.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$PLUMB_TEST_SERVER", certificate-authority: "$work/other-ca.crt"}}]
users: [{name: u, user: {tokenFile: "$PLUMB_TEST_ADMIN_TOKEN_FILE"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
YAML
expect "a wrong CA is named as such" 2 "certificate verify failed for https://127.0.0.1:[0-9]+: unknown authority" $PLUMB diff --kubeconfig "$work/wrongca.kubeconfig" examples/nginx/envs/dev
cat >"$work/files.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$PLUMB_TEST_SERVER", certificate-authority: "$PLUMB_TEST_CA"}}]
users: [{name: u, user: {tokenFile: "$PLUMB_TEST_ADMIN_TOKEN_FILE"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
YAML
expect "CA file and token file" 0 "" $PLUMB diff --kubeconfig "$work/files.kubeconfig" examples/nginx/envs/dev
cat >"$work/exec.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$PLUMB_TEST_SERVER", certificate-authority: "$PLUMB_TEST_CA"}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: sh,
  args: ["$ROOT/tests/kube/exec-plugin.sh"], env: [{name: PLUMB_TEST_EXEC_TOKEN_FILE, value: "$PLUMB_TEST_ADMIN_TOKEN_FILE"}]}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
YAML
expect "exec credential plugin" 0 "" $PLUMB diff --kubeconfig "$work/exec.kubeconfig" examples/nginx/envs/dev

# ---- the Kubernetes version ----------------------------------------------------------
# The cluster serves v1.36.3, whose schemas check a build unless the flag
# chooses. PodSpec.workloadRef was an alpha field of 1.35 only (1.36 has
# schedulingGroup in its place): checked as 1.35, the build passes, and
# the server refuses it.
kv=$(env_dir kube-version 'env kv {
  namespace: "default"
  Pod "p" { spec: { containers: [{ name: "c", image: "nginx" }], workloadRef: { name: "w" } } }
}')
expect "diff checks against the cluster's version" 2 'main.plumb:3:79: error: unknown field "workloadRef" in Pod.spec' \
  $PLUMB diff "$kv"
absent "which is embedded: nothing said of it" "the cluster serves" $PLUMB diff "$kv"
expect "--kube-version 1.35 lets it through to the server, which refuses it" 2 \
  "spec.workloadRef: field not declared in schema" $PLUMB diff "$kv" --kube-version 1.35

# ---- the schemas the cluster serves -------------------------------------------------
# A CRD installed in the cluster, not built with its custom resources:
# they are checked against the schema the cluster serves for it.
install_crd served.example.com Widget widgets
served=$(env_dir served 'env served {
  namespace: "default"
  Widget "w" {
    apiVersion: "served.example.com/v1"
    spec: { size: 3, colour: "red" }
  }
}')
expect "a custom resource is checked against the CRD the cluster has" 2 \
  'main.plumb:5:30: error: unknown field "colour" in Widget.spec; did you mean "color"\?' $PLUMB diff "$served"
expect "apply refuses it before applying anything" 1 'unknown field "colour" in Widget.spec' $PLUMB apply "$served"
expect "so nothing is applied" 1 "NotFound" $K get widgets.served.example.com w
expect "--validate ignore leaves it to the server" 2 "spec.colour: field not declared in schema" \
  $PLUMB diff "$served" --validate ignore
sed -i 's/colour/color/' "$served/main.plumb"
expect "the right spelling applies" 0 "^widget.served.example.com/w created$" $PLUMB apply "$served"

# ---- the API server goes away in the middle ----------------------------------------
# Enough objects that the apply is still busy when the namespace, applied
# first, is reported: that is when the server goes.
many=$(env_dir many "env many {
  namespace: \"many\"
  Namespace \"many\" {}
  for i in range(2000) { ConfigMap \"cm-\${i}\" { data: { i: string(i) } } }
}")
$PLUMB apply "$many" >"$work/apply-killed.out" 2>&1 &
apply_pid=$!
for _ in $(seq 300); do grep -q "^namespace/many" "$work/apply-killed.out" && break; sleep 0.1; done
kill "$PLUMB_TEST_APISERVER_PID"
wait $apply_pid
echo "exit $?" >>"$work/apply-killed.out"
expect "an apply cut off by a dead API server fails clearly" 0 "cannot reach https://127.0.0.1" cat "$work/apply-killed.out"
expect "and exits 1" 0 "^exit 1$" cat "$work/apply-killed.out"
"$ROOT/tests/cluster/down.sh" "$CLUSTER" >/dev/null 2>&1
"$ROOT/tests/cluster/up.sh" "$CLUSTER" >/dev/null 2>&1
. "$CLUSTER/env"
expect "the next apply converges" 0 "^configmap/cm-1999 (created|unchanged)$" $PLUMB apply "$many"
expect "all 2000 are there" 0 "^2001$" sh -c "$K -n many get configmaps --no-headers | wc -l | tr -d ' '"

# ---- a Secret's values never show in a diff --------------------------------------------
# Masked as Argo CD masks them: a changed key shows as a longer row of '+'.
secret_env() { # secret_env VALUE
  env_dir secret-diff "env secretdiff {
  namespace: \"secret-diff\"
  Namespace \"secret-diff\" {}
  Secret \"creds\" { stringData: { password: \"$1\", user: \"plumb\" } }
}"
}
sec=$(secret_env "first-pl41ntext")
expect "a Secret applies" 0 "^secret/creds created$" $PLUMB apply "$sec"
sec=$(secret_env "second-pl41ntext")
expect "its change shows as a masked value" 1 '^\+  password: \+{9}$' $PLUMB diff "$sec"
expect "an unchanged key is masked alike on both sides" 1 '^   user: \+{8}$' $PLUMB diff "$sec"
absent "neither value appears in the diff" "pl41ntext|$(printf first-pl41ntext | base64)|$(printf second-pl41ntext | base64)" \
  $PLUMB diff "$sec"

echo "kube: $pass passed, $fail failed"
