#!/bin/sh
# plumb apply and plumb diff of a Secret kept in a file SOPS encrypted
# (docs/language.md, Secrets encrypted with SOPS), against a real control
# plane: the cluster gets the plaintext, and the diff of a changed value
# masks it as Argo CD does, so neither value is in what plumb prints.
# sops is built by tests/sops/build.sh. Usage: sops.sh PLUMB CLUSTER_DIR;
# the last line is "sops: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
cd "$ROOT"
if ! bin=$(tests/sops/build.sh 2>"$work/build"); then
  cat "$work/build"; echo "FAIL tests/sops/build.sh"; echo "sops: 0 passed, 1 failed"; exit 0
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
echo "sops: $pass passed, $fail failed"
