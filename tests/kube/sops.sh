#!/bin/sh
# plumb apply and plumb diff of a Secret kept in a file SOPS encrypted
# (docs/language.md, Secrets encrypted with SOPS), against a real control
# plane: the cluster gets the plaintext, and the diff of a changed value
# masks it as Argo CD does, so neither value is in what plumb prints.
# sops is built by tests/gotool.sh sops. Usage: sops.sh PLUMB CLUSTER_DIR;
# the last line is "sops: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
cd "$ROOT"
if ! bin=$(tests/gotool.sh sops 2>"$work/build"); then
  cat "$work/build"; echo "FAIL tests/gotool.sh sops"; echo "sops: 0 passed, 1 failed"; exit 0
fi
"$bin/age-keygen" -o "$work/key.txt" 2>/dev/null
age=$(sed -n 's/^# public key: //p' "$work/key.txt")
one="first-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" two="second-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
env=$(env_dir sops 'env sops {
  namespace: "sops-test"
  Namespace "sops-test" {}
  yaml_resources("db.yaml")
}')
# secret VALUE: the env's db.yaml, a Secret holding VALUE, encrypted.
secret() {
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: %s\n' "$1" >"$work/db.yaml"
  "$bin/sops" encrypt --age "$age" --encrypted-regex '^(data|stringData)$' "$work/db.yaml" >"$env/db.yaml"
}
keys="--sops-age-key-file $work/key.txt"
secret "$one"
expect "a Secret from a sops file applies" 0 "^secret/db created$" $PLUMB apply "$env" $keys
expect "the cluster holds its plaintext" 0 "^$one$" sh -c "$K -n sops-test get secret db -o jsonpath='{.data.password}' | base64 -d; echo"
expect "no diff after it" 0 "" $PLUMB diff "$env" $keys
secret "$two"
expect "a changed value is a diff" 1 "^--- live/v1.Secret.sops-test.db$" $PLUMB diff "$env" $keys
cp "$work/out" "$work/diff"
absent "the diff shows neither value" "$one|$two|$(printf %s "$one" | base64)|$(printf %s "$two" | base64)" cat "$work/diff"
expect "...but that the data changed, masked" 0 "^\+  password: \+{8}\+$" cat "$work/diff"
expect "without the key, apply names the file and changes nothing" 1 "db.yaml is encrypted with sops for $age" \
  $PLUMB apply "$env"

# ---- plumb run: the keys from a Secret, as Flux's decryption.secretRef ----------
repo=$work/deploy
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$repo/vault" "$repo/nokey" "$repo/gadget" "$repo/gitops"
three="third-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: vault\nstringData:\n  password: %s\n' "$three" >"$work/vault.yaml"
"$bin/sops" encrypt --age "$age" "$work/vault.yaml" >"$repo/vault/vault.yaml"
cp "$repo/vault/vault.yaml" "$repo/nokey/vault.yaml"
for a in vault nokey; do printf 'env %s {\n  yaml_resources("vault.yaml")\n}\n' $a >"$repo/$a/main.plumb"; done
# A custom resource whose decrypted color the served schema refuses (red or
# blue only): the runtime checks it after the compile child decrypted it,
# and its message must not quote it either.
install_crd sops.example.com Gadget gadgets
five="fifth-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
printf 'apiVersion: sops.example.com/v1\nkind: Gadget\nmetadata:\n  name: g\nspec:\n  size: 1\n  color: %s\n' "$five" \
  >"$work/gadget.yaml"
"$bin/sops" encrypt --age "$age" --encrypted-regex '^color$' "$work/gadget.yaml" >"$repo/gadget/gadget.yaml"
printf 'env gadget {\n  yaml_resources("gadget.yaml")\n}\n' >"$repo/gadget/main.plumb"
cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app vault = application(name: "vault", repo: "file://$repo", path: "vault", namespace: "sops-test", automated: true,
                          interval: "2s", project: "team")
  app nokey = application(name: "nokey", repo: "file://$repo", path: "nokey", namespace: "sops-run", automated: true,
                          interval: "2s")
  app gadget = application(name: "gadget", repo: "file://$repo", path: "gadget", namespace: "sops-test",
                           automated: true, interval: "2s", project: "team")
  app team = project(name: "team", sops_secret: "sops-age")
}
EOP
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test && git add -A &&
  git commit -qm "an encrypted Secret")
for a in vault nokey gadget; do $K delete configmap "plumb-history-$a" --ignore-not-found >/dev/null; done
$K delete secret sops-age --ignore-not-found >/dev/null
$K create secret generic sops-age --from-file=identity.agekey="$work/key.txt" >/dev/null
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/token"
serving "$repo"
vault() { $K -n sops-test get secret vault -o jsonpath='{.data.password}' | base64 -d; }
if eventually is vault "$three"; then ok; else no "plumb run decrypts with the keys of its project's Secret"; fi
refused() { p status | grep -q "^nokey .*vault.yaml is encrypted with sops for $age"; }
if eventually refused; then ok; else no "without a Secret, the status names the file and its recipient"; fi
schema_refused() { p status | grep -q "^gadget .*spec.color: a decrypted value is not"; }
if eventually schema_refused; then ok; else p status >"$work/out" 2>&1; no "the served schema refuses a decrypted value without quoting it"; fi
p status >"$work/status" 2>&1
curl -s -H "Authorization: Bearer $(cat "$work/token")" "$url/api/v1/apps/vault" >"$work/api" 2>&1
curl -s -H "Authorization: Bearer $(cat "$work/token")" "$url/api/v1/apps/nokey" >>"$work/api" 2>&1
curl -s -H "Authorization: Bearer $(cat "$work/token")" "$url/api/v1/apps/gadget" >>"$work/api" 2>&1
$K get configmap plumb-history-vault plumb-history-nokey plumb-history-gadget -o json >"$work/history" 2>&1
$K -n sops-test get events -o json >"$work/events" 2>&1
# A key rotated: the Secret, changed, is read again (the runtime keeps its
# keys by resourceVersion), and the file encrypted for the new key opens.
"$bin/age-keygen" -o "$work/key2.txt" 2>/dev/null
four="fourth-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: vault\nstringData:\n  password: %s\n' "$four" >"$work/vault.yaml"
"$bin/sops" encrypt --age "$(sed -n 's/^# public key: //p' "$work/key2.txt")" "$work/vault.yaml" >"$repo/vault/vault.yaml"
$K create secret generic sops-age --from-file=identity.agekey="$work/key2.txt" --dry-run=client -o yaml |
  $K replace -f - >/dev/null
(cd "$repo" && git commit -qam "rotated")
if eventually is vault "$four"; then ok; else no "a rotated key in the Secret is used"; fi
stop_runtime "$pid" "$work/run.log"
pid=
b64=$(printf %s "$three" | base64)
# ... and of five, which never reached the cluster.
three="$three|$five"
expect "the status was read" 0 "^vault +Synced" cat "$work/status"
expect "so were the API's answers" 0 '"name": ?"vault"' cat "$work/api"
absent "the plaintext is in no log line" "$three|$b64" cat "$work/run.log"
absent "nor in the status" "$three|$b64" cat "$work/status"
absent "nor in the API's answers" "$three|$b64" cat "$work/api"
absent "nor in the histories" "$three|$b64" cat "$work/history"
absent "nor in the events" "$three|$b64" cat "$work/events"
$K delete secret sops-age --ignore-not-found >/dev/null
echo "sops: $pass passed, $fail failed"
