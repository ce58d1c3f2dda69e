#!/bin/sh
# Hostile inputs too big to keep as files, generated here: each must end in
# one clear, located error, never a crash, a hang or an unbounded use of
# memory. Usage: sh tests/hostile.sh PLUMB; prints "hostile: N passed, N
# failed".
set -u
PLUMB=$1
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# refuses NAME FILE MESSAGE: `plumb build FILE` exits 1 (not a crash: those
# exit 128 and more), prints nothing on stdout, and says MESSAGE once.
# FILE may be followed by flags (FILE --recurse). $CPU, when set, is the
# CPU time in seconds plumb may take (ulimit -t).
refuses() {
  (ulimit -t "${CPU:-unlimited}"; exec timeout 120 $PLUMB build $2) >"$tmp/out" 2>"$tmp/err"
  rc=$? n=$(grep -c -- "$3" "$tmp/err")
  if [ $rc = 1 ] && [ "$n" = 1 ] && [ ! -s "$tmp/out" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $1 (exit $rc, $n times \"$3\")"
    head -c 2000 "$tmp/err" | sed 's/^/  /'
  fi
}

# holds NAME COMMAND...: passes when the command succeeds.
holds() {
  name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name"; fi
}

# 30,000 lets, each wrapping the one before: nesting no single expression
# shows, which every walk over the value (merging, writing out) would
# follow down the C stack.
awk 'BEGIN { print "env dev {"; print "  let x = {a: 1}"
  for (i = 0; i < 30000; i++) print "  let x = {a: x}"
  print "  ConfigMap \"c\" { data: { v: to_json(x) } }"; print "}" }' >"$tmp/deep.plumb"
refuses "deep value in a block" "$tmp/deep.plumb" "deep.plumb:1002:11: error: value nested deeper than 1000 levels"

# The same through top-level names, evaluated on first use.
awk 'BEGIN { print "let x0 = {a: 1}"
  for (i = 1; i < 30000; i++) printf "let x%d = {a: x%d}\n", i, i - 1
  print "env dev {"; print "  ConfigMap \"c\" { data: {}, x: x29999 }"; print "}" }' >"$tmp/deep-top.plumb"
refuses "deep value through names" "$tmp/deep-top.plumb" "error: expression nested deeper than 2000 levels"

# 20,000 patches of one resource, each laying the same 1000 keys over it:
# a patch copies what it brings into the resource, 64 MB every thousand
# patches here, and the compile's memory limit must cover patches too.
awk 'BEGIN { print "env dev {"; print "  ConfigMap \"a\" { data: { x: \"1\" } }"
  printf "  let keys = {"; for (k = 0; k < 1000; k++) printf " k%d: \"v\",", k; print " }"
  for (i = 0; i < 20000; i++) print "  patch ConfigMap \"a\" { data: keys }"
  print "}" }' >"$tmp/patches.plumb"
refuses "patches under the memory limit" "$tmp/patches.plumb" "error: the compile uses more than 1024 MiB of memory"

# A loop that allocates nothing but scans 64 MiB a step: the budget of
# work ends it, where the memory limit never would.
awk 'BEGIN { print "env dev {"; print "  let s0 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""
  for (i = 1; i <= 20; i++) printf "  let s%d = \"${s%d}${s%d}\"\n", i, i - 1, i - 1
  print "  let hits = [i for i in range(1000000) if contains(s20, \"x\")]"
  print "  ConfigMap \"c\" { data: { n: \"${len(hits)}\" } }"; print "}" }' >"$tmp/scan.plumb"
refuses "work budget" "$tmp/scan.plumb" "error: the compile does more than 268 million steps of work"

# A backtracking pattern past PCRE2's largest limit fails that call alone.
printf '%s\n' 'env dev {' '  ConfigMap "c" { data: { m: "${re_match("^(a+)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab")}" } }' '}' >"$tmp/re.plumb"
refuses "costly regular expression" "$tmp/re.plumb" "re_match: matching failed: match limit exceeded"

# A CRD's schema is user input too. crd NAME SCHEMA_OF_NAME LETS WIDGETS:
# an env with lets LETS, a CRD of Widgets whose spec.name has the schema
# SCHEMA_OF_NAME, and the widgets WIDGETS.
crd() {
  printf '%s\n' 'env dev {' "$3" \
    '  CustomResourceDefinition "widgets.example.com" { spec: { group: "example.com", scope: "Namespaced",' \
    '    names: { kind: "Widget", plural: "widgets" }, versions: [{ name: "v1", served: true, storage: true,' \
    "      schema: { openAPIV3Schema: { type: \"object\", properties: { spec: { type: \"object\", properties: { name: $2 } } } } } }] } }" \
    "$4" '}' >"$tmp/$1.plumb"
}

# A pattern that backtracks past PCRE2's largest limit (Go's regexp would
# answer in linear time) is an error on that value, not a hang.
crd pattern '{ type: "string", pattern: "^(a+)+$" }' '' \
  '  Widget "w" { apiVersion: "example.com/v1", spec: { name: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab" } }'
refuses "costly CRD pattern" "$tmp/pattern.plumb" 'error: Widget.spec.name: the pattern "^(a+)+$" backtracks too much'

# allOf of allOf, 22 deep through shared lets: four million schemas a
# value is tried against, written in 25 lines. Reading them stops at the
# memory limit.
awk 'BEGIN { print "  let s0 = { maxLength: 100 }"
  for (i = 1; i <= 22; i++) printf "  let s%d = { allOf: [s%d, s%d] }\n", i, i - 1, i - 1 }' >"$tmp/lets"
crd junctions '{ type: "string", allOf: [s22] }' "$(cat "$tmp/lets")" \
  '  Widget "w" { apiVersion: "example.com/v1", spec: { name: "a" } }'
refuses "junctions through shared schemas" "$tmp/junctions.plumb" "error: the compile uses more than 1024 MiB of memory"

# not of not of ... 980 deep: one value, one path down, at the C stack's
# depth of the deepest value.
awk 'BEGIN { s = "{ maxLength: 0 }"; for (i = 0; i < 979; i++) s = "{ not: " s " }"; print s }' >"$tmp/not"
crd nots "{ type: \"string\", not: $(cat "$tmp/not") }" '' \
  '  Widget "w" { apiVersion: "example.com/v1", spec: { name: "a" } }'
refuses "not 980 deep" "$tmp/nots.plumb" 'error: Widget.spec.name matches the schema of not, which it must not'

# A file over the 16 MiB limit is refused by its size, which the message
# names (rounded up: a byte too many is not "16.0"). The files are sparse.
truncate -s 17M "$tmp/big.yaml"
truncate -s 16777217 "$tmp/over.yaml"
printf 'env e { ConfigMap "c" { data: { a: file("big.yaml") } } }\n' >"$tmp/big.plumb"
refuses "a file over 16 MiB" "$tmp/big.plumb" "big.plumb:1:36: error: file: big.yaml is 17.0 MiB; files may be at most 16 MiB"
printf 'env e { ConfigMap "c" { data: { a: file("over.yaml") } } }\n' >"$tmp/over.plumb"
refuses "a file a byte over 16 MiB" "$tmp/over.plumb" "over.plumb:1:36: error: file: over.yaml is 16.1 MiB; files may be at most 16 MiB"

# 200,000 top-level lets build in linear time, a second or two under the
# sanitizers (a symbol table of 64 fixed buckets took minutes).
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "let v%d = %d\n", i, i
  print "env e { ConfigMap \"c\" { data: { last: \"${v199999}\" } } }" }' >"$tmp/lets.plumb"
holds "200,000 lets in linear time" sh -c "timeout 60 $PLUMB build '$tmp/lets.plumb' 2>&1 | grep -q 'last: \"199999\"'"

# A kustomization of 20,000 generators builds in linear memory (its list
# of them grew one entry a copy: 9 GB of copies, refused at the cap).
mkdir -p "$tmp/gens"
awk 'BEGIN { print "configMapGenerator:"
  for (i = 0; i < 20000; i++) printf "- {name: c%d, literals: [k=%d]}\n", i, i }' >"$tmp/gens/kustomization.yaml"
holds "20,000 generators in linear memory" \
  sh -c "timeout 120 $PLUMB build '$tmp/gens' --root '$tmp/gens' 2>&1 | grep -c '^kind: ConfigMap' | grep -qx 20000"

# An openapi schema of 1000 definitions, each holding the next: its walk
# stops at a depth, with the error at the definition where it did.
mkdir -p "$tmp/schema"
awk 'BEGIN { print "{\"definitions\": {"
  print "\"d0\": {\"x-kubernetes-group-version-kind\": [{\"group\": \"x\", \"version\": \"v1\", \"kind\": \"K\"}],"
  print "  \"properties\": {\"next\": {\"$ref\": \"#/definitions/d1\"}}},"
  for (i = 1; i < 1000; i++) printf "\"d%d\": {\"properties\": {\"next\": {\"$ref\": \"#/definitions/d%d\"}}},\n", i, i + 1
  print "\"d1000\": {}}}" }' >"$tmp/schema/schema.json"
printf 'openapi: {path: schema.json}\nresources: []\n' >"$tmp/schema/kustomization.yaml"
refuses "openapi definitions 1000 deep" "$tmp/schema" "error: openapi: the definitions lead on deeper than 64"

# Directories of YAML manifests: their walk is bounded in files and in
# depth, each file in size, and all of them by the compile's memory.
mkdir -p "$tmp/many"
(cd "$tmp/many" && seq 0 100000 | xargs touch)
refuses "a YAML directory of 100,001 files" "$tmp/many" ". holds more than 100000 files and directories"
deep=$tmp/deep; mkdir -p "$deep"
for i in $(seq 65); do deep=$deep/d; done
mkdir -p "$deep" && printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n' >"$deep/a.yaml"
touch "$tmp/deep/top.yaml"
refuses "a YAML directory 65 levels deep" "$tmp/deep --recurse" ". has directories nested deeper than 64 levels"
mkdir -p "$tmp/big"
awk 'BEGIN { print "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:"
  for (i = 0; i < 800000; i++) printf "  k%d: \"%s\"\n", i, "0123456789" }' >"$tmp/big/big.yaml"
refuses "a YAML file of 18 MiB in a directory" "$tmp/big" "big.yaml is 18.3 MiB; files may be at most 16 MiB"
mkdir -p "$tmp/heavy"
awk 'BEGIN { printf "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: NAME}\ndata:\n"
  for (i = 0; i < 200000; i++) printf "  k%d: \"0123456789012345678901234567890123456789\"\n", i }' >"$tmp/heavy/t"
for i in $(seq 60); do sed "s/NAME/c$i/" "$tmp/heavy/t" >"$tmp/heavy/c$i.yaml"; done; rm "$tmp/heavy/t"
refuses "60 YAML files of 11 MiB under the memory limit" "$tmp/heavy" "error: the compile uses more than 1024 MiB of memory"

# Helm charts, rendered by helm (on the PATH tests/run.sh gives): a
# template that never ends, one that writes without end, and one that
# swallows memory are each stopped by a limit of helm's render, with the
# error at the chart. The first is bounded here by a CPU time of 5
# seconds, which helm takes from plumb's own (the default is 60).
chart() { # chart NAME TEMPLATE: a chart in $tmp/NAME whose one template is TEMPLATE
  mkdir -p "$tmp/$1/templates"
  printf 'apiVersion: v2\nname: %s\nversion: 0.1.0\n' "$1" >"$tmp/$1/Chart.yaml"
  printf '%s\n' "$2" >"$tmp/$1/templates/a.yaml"
}
chart loop '{{- range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}'
CPU=5
refuses "a chart whose template never ends" "$tmp/loop" \
  "error: helm_chart: helm was stopped rendering chart loop: it used more than 5 seconds of CPU time"
CPU=unlimited
chart huge 'apiVersion: v1
kind: ConfigMap
metadata: {name: big}
data: {x: "{{ repeat 70000000 "x" }}"}'
refuses "a chart that renders 70 MB" "$tmp/huge" "error: helm_chart: chart huge renders more than 64 MiB"
chart giga 'apiVersion: v1
kind: ConfigMap
metadata: {name: big}
data: {x: "{{ repeat 2000000000 "x" }}"}'
refuses "a chart that renders 2 GB" "$tmp/giga" "error: helm_chart: helm ran out of memory rendering chart giga: it may use 1024 MiB"

# Charts of repositories whose archives are built to mislead: an entry
# that climbs out of the chart's directory, a symlink, an absolute path.
# Each is pinned in plumb.lock with its own digest and put in the cache,
# as plumb fetch would, and refused before helm reads it, naming the
# entry; an archive that is no gzip at all, and one pinned with another
# digest, are refused too.
python3 - "$tmp" <<'PY'
import io, sys, tarfile
def add(t, name, data=b"", kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = link; ti.size = len(data)
    t.addfile(ti, io.BytesIO(data))
chart, cm = b"apiVersion: v2\nname: evil\nversion: 0.1.0\n", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
for name, extra in [("escape", ("evil/../../etc/cm.yaml", cm)), ("abs", ("/etc/cm.yaml", cm)),
                    ("link", ("evil/templates/passwd.yaml", b"", tarfile.SYMTYPE, "/etc/passwd"))]:
    with tarfile.open(f"{sys.argv[1]}/{name}.tgz", "w:gz") as t:
        add(t, "evil/Chart.yaml", chart); add(t, "evil/templates/cm.yaml", cm); add(t, *extra)
open(f"{sys.argv[1]}/nogzip.tgz", "wb").write(b"not an archive")
PY
pinned() { # pinned NAME [DIGEST]: an env in $tmp/NAME rendering $tmp/NAME.tgz, pinned (with DIGEST)
  mkdir -p "$tmp/$1" "$tmp/cache/charts"
  d=$(sha256sum "$tmp/$1.tgz" | cut -d' ' -f1)
  cp "$tmp/$1.tgz" "$tmp/cache/charts/sha256-${2:-$d}.tgz"
  printf 'env dev {\n  helm_chart("oci://registry.example.com/charts/evil", { version: "0.1.0" })\n}\n' >"$tmp/$1/main.plumb"
  printf 'charts:\n- repository: "oci://registry.example.com/charts/evil"\n  chart: "evil"\n  version: "0.1.0"\n  pinned: "0.1.0"\n  digest: "sha256:%s"\n' \
    "${2:-$d}" >"$tmp/$1/plumb.lock"
}
pinned escape; pinned abs; pinned link; pinned nogzip
refuses "a chart's archive whose entry climbs out" "$tmp/escape --cache $tmp/cache" \
  'its entry "evil/../../etc/cm.yaml" climbs out of the chart'"'"'s directory'
refuses "a chart's archive with an absolute path" "$tmp/abs --cache $tmp/cache" 'its entry "/etc/cm.yaml" has an absolute path'
refuses "a chart's archive with a symlink" "$tmp/link --cache $tmp/cache" \
  'its entry "evil/templates/passwd.yaml" is a symlink (to /etc/passwd)'
refuses "a chart's archive that is no archive" "$tmp/nogzip --cache $tmp/cache" "it is no gzip archive, or a damaged one"
cp "$tmp/escape.tgz" "$tmp/other.tgz"
pinned other 0000000000000000000000000000000000000000000000000000000000000000
refuses "a chart's archive that is not the one pinned" "$tmp/other --cache $tmp/cache" \
  "error: helm_chart: the archive of chart evil 0.1.0 of oci://registry.example.com/charts/evil has digest sha256:"

echo "hostile: $pass passed, $fail failed"
