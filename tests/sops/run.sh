#!/bin/sh
# Files the real sops encrypts, with age and OpenPGP keys made here, built
# by plumb: each YAML, JSON, dotenv and binary file decrypts to what
# `sops -d` gives, through yaml_resources(), a generator and a
# kustomization; a file changed, cut short or with a value moved is
# refused naming it; a missing or wrong key is an error naming the
# recipients; and no plaintext is in any output of a failing command or
# of plumb explain. sops and age-keygen are built from their Go modules
# (tests/gotool.sh sops); when Go cannot fetch modules the suite says it is
# skipped. Usage: run.sh [PLUMB]. Last line: "sops: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
PLUMB=${1:-build/asan/plumb}
ROOT=$(pwd)
case $PLUMB in /*) ;; *) PLUMB=$ROOT/$PLUMB ;; esac
tmp=$(mktemp -d)
export GNUPGHOME=$tmp/gnupg
trap 'gpgconf --kill gpg-agent >/dev/null 2>&1; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL $1"; sed 's/^/  | /' "$tmp/out" 2>/dev/null | head -20; }

if ! bin=$(tests/gotool.sh sops 2>"$tmp/build"); then
  # Skipped only when the module proxy cannot be reached at all.
  if ! (cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "github.com/getsops/sops/v3@${PLUMB_SOPS_VERSION:-v3.13.2}" \
      >/dev/null 2>&1); then
    echo "sops: skipped (Go cannot fetch modules: sops cannot be built)"
    echo "sops: 0 passed, 0 failed"
    exit 0
  fi
  cat "$tmp/build"; echo "FAIL tests/gotool.sh sops"; echo "sops: 0 passed, 1 failed"; exit 0
fi
SOPS=$bin/sops
# helm renders the chart whose values file sops encrypted.
helm_bin=$(tests/gotool.sh helm 2>/dev/null) && PATH=$helm_bin:$PATH

# expect NAME STATUS PATTERN COMMAND...: exits STATUS, a line matches
# PATTERN; what it printed is kept, to be searched for plaintext.
n=0
expect() {
  name=$1 want=$2 pattern=$3; shift 3
  n=$((n + 1))
  "$@" >"$tmp/out" 2>&1
  got=$?
  cp "$tmp/out" "$tmp/said.$n"
  if [ "$got" != "$want" ]; then no "$name (exit $got, want $want)"; return; fi
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$tmp/out"; then no "$name (no line matching: $pattern)"; else ok; fi
}
check() { name=$1; shift; if "$@" >"$tmp/out" 2>&1; then ok; else no "$name"; fi; }

# The keys: two age keys, one OpenPGP key without a passphrase.
mkdir -m 700 "$GNUPGHOME"
"$bin/age-keygen" -o "$tmp/key.txt" 2>/dev/null
"$bin/age-keygen" -o "$tmp/other.txt" 2>/dev/null
AGE=$(sed -n 's/^# public key: //p' "$tmp/key.txt")
gpg --batch --passphrase '' --quick-gen-key "plumb test <sops@plumb.test>" default default never 2>/dev/null
FP=$(gpg --list-secret-keys --with-colons 2>/dev/null | awk -F: '/^fpr/ { print $10; exit }')
gpg --batch --armor --export-secret-keys "$FP" >"$tmp/pgp.asc"

# The plaintexts: each holds a word found nowhere else, searched for in
# every output of a failing command.
word() { echo "plain$1-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"; }
W1=$(word 1) W2=$(word 2) W3=$(word 3) W4=$(word 4) W5=$(word 5) W6=$(word 6) W7=$(word 7) W8=$(word 8)
repo=$tmp/repo env=$tmp/repo/envs/prod plain=$tmp/plain
mkdir -p "$env" "$plain" "$repo/kust" && git -C "$repo" init -q
cat >"$plain/secret.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
stringData:
  password: $W1
  tls.crt: |
    -----BEGIN CERTIFICATE-----
    $W1
    -----END CERTIFICATE-----
  port: "5432"
EOF
cat >"$plain/pgp.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: pgp
stringData:
  token: $W2
EOF
cat >"$plain/regex.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: regex
  labels:
    app: web
data:
  key: $(printf '%s' "$W3" | base64)
EOF
cat >"$plain/config.json" <<EOF
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "json"}, "data": {"key": "$W4", "n": "7"}}
EOF
printf 'TOKEN=%s\nUSER=admin\n' "$W5" >"$plain/api.env"
{ head -c 200 /dev/urandom; printf '%s' "$W6"; } >"$plain/blob.bin"
cat >"$plain/multi.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: one
stringData:
  a: $W7
---
apiVersion: v1
kind: Secret
metadata:
  name: two
stringData:
  b: second
EOF
mkdir -p "$env/chart/templates"
printf 'apiVersion: v2\nname: web\nversion: 0.1.0\n' >"$env/chart/Chart.yaml"
printf 'password: changeme\nfail: false\n' >"$env/chart/values.yaml"
cat >"$env/chart/templates/secret.yaml" <<'EOF'
{{- if .Values.fail }}{{ fail (printf "refused: %s" .Values.password) }}{{ end }}
apiVersion: v1
kind: Secret
metadata:
  name: chart
data:
  password: {{ .Values.password | b64enc }}
stringData:
  url: "postgres://app:{{ .Values.password }}@db"
EOF
printf 'password: %s\n' "$W8" >"$plain/values.yaml"
enc() { # enc FILE SOPS-ARGS...: plain/FILE encrypted into the env
  f=$1; shift
  "$SOPS" encrypt "$@" "$plain/$f" >"$env/$f" 2>"$tmp/out" || { cat "$tmp/out"; no "sops encrypt $f"; }
}
enc secret.yaml --age "$AGE"
enc pgp.yaml --pgp "$FP"
enc regex.yaml --age "$AGE" --encrypted-regex '^(data|stringData)$'
enc config.json --age "$AGE"
enc api.env --age "$AGE"
enc blob.bin --age "$AGE"
enc multi.yaml --age "$AGE"
enc values.yaml --age "$AGE"
cat >"$env/main.plumb" <<'EOF'
env prod {
  yaml_resources("secret.yaml")
  yaml_resources("pgp.yaml")
  yaml_resources("regex.yaml")
  yaml_resources("config.json")
  yaml_resources("multi.yaml")
  secret("api", { envs: ["api.env"], hash: false })
  secret("blob", { files: { blob: "blob.bin" }, hash: false })
  helm_chart("chart", { values_files: ["values.yaml"], release: "web" })
}
EOF
cp "$env/secret.yaml" "$env/api.env" "$repo/kust/"
cat >"$repo/kust/kustomization.yaml" <<'EOF'
resources:
- secret.yaml
secretGenerator:
- name: api
  envs:
  - api.env
  options:
    disableNameSuffixHash: true
EOF
keys="--sops-age-key-file $tmp/key.txt --sops-pgp-key-file $tmp/pgp.asc"
export SOPS_AGE_KEY_FILE= SOPS_AGE_KEY= XDG_CONFIG_HOME=$tmp/config

# ---- decrypted as sops -d decrypts ----
expect "every format builds with the age and PGP keys" 0 "" $PLUMB build "$env" -o json $keys
cp "$tmp/out" "$tmp/built.json"
# same FILE: each resource of `sops -d FILE` is in the build as it is.
same() {
  SOPS_AGE_KEY_FILE=$tmp/key.txt "$SOPS" decrypt "$env/$1" >"$tmp/dec" 2>"$tmp/out" &&
    python3 - "$tmp/dec" "$tmp/built.json" <<'EOF'
import json, sys, yaml
built = {(o["kind"], o["metadata"]["name"]): o for o in json.load(open(sys.argv[2]))["items"]}
text = open(sys.argv[1]).read()
docs = [json.loads(text)] if text.lstrip().startswith("{") else [d for d in yaml.safe_load_all(text) if d]
for d in docs:
    got = built.get((d["kind"], d["metadata"]["name"]))
    if got != d:
        sys.exit("differs from sops -d: %s/%s" % (d["kind"], d["metadata"]["name"]))
EOF
}
for f in secret.yaml pgp.yaml regex.yaml config.json multi.yaml; do check "$f decrypts as sops -d decrypts it" same "$f"; done
# field NAME KEY: the decoded data.KEY of Secret NAME in the build.
field() { python3 -c 'import base64, json, sys
o = [i for i in json.load(open(sys.argv[1]))["items"] if i["kind"] == "Secret" and i["metadata"]["name"] == sys.argv[2]][0]
sys.stdout.buffer.write(base64.b64decode(o["data"][sys.argv[3]]))' "$tmp/built.json" "$1" "$2"; }
SOPS_AGE_KEY_FILE=$tmp/key.txt "$SOPS" decrypt "$env/api.env" | sed -n 's/^TOKEN=//p' >"$tmp/token"
check "a dotenv file feeds a generator as sops -d gives it" test "$(field api TOKEN)" = "$(cat "$tmp/token")"
field blob blob >"$tmp/blob"
check "a binary file feeds a generator byte for byte" cmp "$tmp/blob" "$plain/blob.bin"
check "a chart renders with a values file sops encrypted" test "$(field chart password)" = "$W8"
expect "a kustomization's resources and generators decrypt" 0 "$W5" sh -c \
  "$PLUMB build '$repo/kust' $keys | grep -A3 'name: api' >/dev/null && $PLUMB build '$repo/kust' -o json $keys | python3 -c 'import base64,json,sys; print(base64.b64decode([i for i in json.load(sys.stdin)[\"items\"] if i[\"metadata\"][\"name\"]==\"api\"][0][\"data\"][\"TOKEN\"]).decode())'"
mkdir -p "$repo/manifests" && cp "$env/secret.yaml" "$env/config.json" "$repo/manifests/"
expect "a directory of manifests decrypts, as Argo CD's directory source reads one" 0 "^  password: $W1" \
  $PLUMB build "$repo/manifests" $keys
expect "SOPS_AGE_KEY_FILE is read as sops reads it" 0 "" env SOPS_AGE_KEY_FILE="$tmp/key.txt" \
  $PLUMB build "$repo/kust"
expect "SOPS_AGE_KEY too" 0 "" env SOPS_AGE_KEY="$(grep AGE-SECRET "$tmp/key.txt")" $PLUMB build "$repo/kust"

# What was printed so far is plaintext on purpose; from here on no
# output may hold any.
rm -f "$tmp"/said.*

# ---- keys missing or wrong ----
expect "without a key: the file and its age recipient named" 1 "envs/prod/secret.yaml is encrypted with sops for $AGE \(age\), and no key was given" \
  $PLUMB build "$env"
expect "an OpenPGP recipient is named by its fingerprint" 1 "envs/prod/pgp.yaml is encrypted with sops for $FP \(pgp\), and none of the keys given opens it" \
  $PLUMB build "$env" --sops-age-key-file "$tmp/key.txt"
expect "a key of someone else's opens nothing" 1 "secret.yaml is encrypted with sops for $AGE \(age\), and none of the keys given opens it" \
  $PLUMB build "$env" --sops-age-key-file "$tmp/other.txt" --sops-pgp-key-file "$tmp/pgp.asc"
expect "a key file that is none says which line" 1 "--sops-age-key-file .*plain.env, line 1, is not an age identity" \
  sh -c "cp '$plain/api.env' '$tmp/plain.env'; $PLUMB build '$env' --sops-age-key-file '$tmp/plain.env'"

# ---- changed files refused ----
# tamper NAME PATTERN PYTHON: secret.yaml changed by the Python lines (s is its text).
tamper() {
  name=$1 pattern=$2
  cp "$env/secret.yaml" "$tmp/secret.good"
  python3 -c "import re, sys
s = open(sys.argv[1]).read()
$3
open(sys.argv[1], 'w').write(s)" "$env/secret.yaml"
  expect "$name" 1 "$pattern" $PLUMB build "$env" $keys
  cp "$tmp/secret.good" "$env/secret.yaml"
}
tamper "a changed value is refused" "secret.yaml:7:.*stringData.password of envs/prod/secret.yaml does not decrypt" \
  "s = re.sub(r'(password: ENC\[AES256_GCM,data:)(.)', lambda m: m.group(1) + ('A' if m.group(2) != 'A' else 'B'), s)"
tamper "a changed MAC is refused" "the MAC of envs/prod/secret.yaml does not decrypt" \
  "s = re.sub(r'(mac: ENC\[AES256_GCM,data:)(.)', lambda m: m.group(1) + ('A' if m.group(2) != 'A' else 'B'), s)"
tamper "a file cut short is refused" "envs/prod/secret.yaml holds values sops encrypted, but no sops metadata" \
  "s = s[:s.index('sops:') + 20]"
tamper "a value moved to another key is refused" "stringData.password of envs/prod/secret.yaml does not decrypt" \
  "a = re.search(r'password: (ENC\[[^]]*\])', s).group(1); b = re.search(r'port: (ENC\[[^]]*\])', s).group(1)
s = s.replace('password: ' + a, 'password: X').replace('port: ' + b, 'port: ' + a).replace('password: X', 'password: ' + b)"
tamper "a value taken out is refused" "the MAC of envs/prod/secret.yaml does not match its values" \
  "s = re.sub(r'\n    port: ENC\[[^]]*\]', '', s)"
cp "$env/regex.yaml" "$tmp/regex.good"
sed -i 's/app: web/app: evil/' "$env/regex.yaml"
expect "a clear value changed is refused by the MAC" 1 "the MAC of envs/prod/regex.yaml does not match its values" \
  $PLUMB build "$env" $keys
cp "$tmp/regex.good" "$env/regex.yaml"

# ---- decrypted values shown nowhere ----
expect "plumb explain names the file, not the value" 0 "^stringData.password = \(decrypted from envs/prod/secret.yaml\)" \
  $PLUMB explain "$env" secret/db $keys
expect "...and for a generator's pair" 0 "^data.TOKEN = \(decrypted from envs/prod/api.env\)" \
  $PLUMB explain "$env" secret/api $keys
expect "...and for a chart's field that holds a decrypted value" 0 "^stringData.url = \(rendered from decrypted values\)" \
  $PLUMB explain "$env" secret/chart $keys
sed -i 's/^fail: false/fail: true/' "$env/chart/values.yaml"
expect "helm's message that quotes a decrypted value is masked" 1 "refused: \(a decrypted value\)" $PLUMB build "$env" $keys
sed -i 's/^fail: true/fail: false/' "$env/chart/values.yaml"
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: Bad_%s\n' "$W1" >"$plain/bad.yaml"
enc bad.yaml --age "$AGE"
echo 'env bad { yaml_resources("bad.yaml") }' >"$env/bad.plumb"
expect "a message about a decrypted value does not quote it" 1 "invalid resource name a decrypted value" \
  $PLUMB build "$env" --env bad $keys
cat >"$env/bad.plumb" <<'EOF'
env worse { ConfigMap "c" { data: { n: string(int(yaml_resources("secret.yaml")[0].stringData.password)) } } }
EOF
expect "...nor does a built-in's" 1 "int: cannot parse a decrypted value as an int" $PLUMB build "$env" --env worse $keys
rm "$env/bad.plumb"
leaked=""
for w in "$W1" "$W2" "$W3" "$W4" "$W5" "$W6" "$W7" "$W8"; do
  grep -l -- "$w" "$tmp"/said.* 2>/dev/null && leaked="$leaked $w"
done
if [ -z "$leaked" ]; then ok; else echo "FAIL plaintext in the output of a command:$leaked"; fail=$((fail + 1)); fi

echo "sops: $pass passed, $fail failed"
