#!/bin/sh
# The plumb command line, end to end: each check is one behaviour a user
# relies on. Usage: sh tests/cli.sh PLUMB; prints "cli: N passed, N failed".
set -u
PLUMB=$1
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { # check NAME COMMAND...: passes when the command succeeds
  name=$1; shift
  if "$@" >"$tmp/out" 2>&1; then ok; else no "$name"; sed 's/^/  /' "$tmp/out" | head -20; fi
}
status_is() { # status_is NAME WANT COMMAND...
  name=$1 want=$2; shift 2
  "$@" >"$tmp/out" 2>&1
  got=$?
  if [ "$got" = "$want" ]; then ok; else no "$name (exit $got, want $want)"; sed 's/^/  /' "$tmp/out" | head -10; fi
  cp "$tmp/out" "$tmp/said"
}
said() { # said NAME TEXT: what the last status_is ran printed TEXT
  if grep -qF -- "$2" "$tmp/said"; then ok; else no "$1"; sed 's/^/  /' "$tmp/said" | head -10; fi
}
fails_with() { # fails_with NAME TEXT COMMAND...: exits 1 and says TEXT
  name=$1 text=$2; shift 2
  "$@" >"$tmp/out" 2>&1
  got=$?
  if [ "$got" = 1 ] && grep -qF -- "$text" "$tmp/out"; then ok; else no "$name (exit $got)"; sed 's/^/  /' "$tmp/out" | head -10; fi
}

# A directory and the file in it build the same thing.
$PLUMB build examples/nginx/envs/dev >"$tmp/dir.yaml"
$PLUMB build examples/nginx/envs/dev/main.plumb >"$tmp/file.yaml"
check "build FILE equals build DIR" cmp "$tmp/dir.yaml" "$tmp/file.yaml"

# --out-dir writes one file per resource, named by its kind's install rank,
# kind, namespace and name, so that sorted they are in install order.
$PLUMB build examples/nginx/envs/prod --out-dir "$tmp/out-prod" >/dev/null
check "out-dir names" test "$(ls "$tmp/out-prod" | tr '\n' ' ')" = \
  "00_namespace_nginx-prod.yaml 13_service_nginx-prod_nginx-service.yaml 18_deployment_nginx-prod_nginx-deployment.yaml "
for f in "$tmp"/out-prod/*; do cat "$f"; echo ---; done | sed '$d' >"$tmp/joined.yaml"
$PLUMB build examples/nginx/envs/prod >"$tmp/prod.yaml"
check "out-dir files hold the same stream" cmp "$tmp/joined.yaml" "$tmp/prod.yaml"

# Past 999 files too; and a resource more renames none of the others.
mkdir "$tmp/many"
printf 'env e {\n  namespace: "ns"\n  Namespace "ns" {}\n  ServiceAccount "sa" {}\n  for i in range(1100) {\n    ConfigMap "c${i}" {}\n  }\n}\n' >"$tmp/many/main.plumb"
$PLUMB build "$tmp/many" --out-dir "$tmp/out-many"
for f in "$tmp"/out-many/*; do cat "$f"; echo ---; done | sed '$d' >"$tmp/joined.yaml"
$PLUMB build "$tmp/many" >"$tmp/many.yaml"
check "1102 files in install order" cmp "$tmp/joined.yaml" "$tmp/many.yaml"
ls "$tmp/out-many" >"$tmp/names-before"
sed -i 's/^  Namespace/  ConfigMap "b" {}\n&/' "$tmp/many/main.plumb"
$PLUMB build "$tmp/many" --out-dir "$tmp/out-many"
check "names are stable" test "$(ls "$tmp/out-many" | grep -v _b.yaml)" = "$(cat "$tmp/names-before")"
check "the new one is there" test -f "$tmp/out-many/10_configmap_ns_b.yaml"

# The directory is replaced whole: what the env no longer makes is gone.
printf 'env e { Namespace "nginx-prod" {} }\n' >"$tmp/one.plumb"
$PLUMB build "$tmp/one.plumb" --out-dir "$tmp/out-prod"
check "out-dir removes what the env no longer makes" \
  test "$(ls -A "$tmp/out-prod" | tr '\n' ' ')" = ".plumb-out 00_namespace_nginx-prod.yaml "

# A build that cannot write a file leaves the previous directory as it was.
cp -r "$tmp/out-prod" "$tmp/out-prod-before"
mkdir "$tmp/big"
printf 'env e { ConfigMap "big" { data: { x: "%s" } } }\n' "$(head -c 5000 /dev/zero | tr '\0' x)" >"$tmp/big/main.plumb"
status_is "out-dir past a file-size limit" 2 sh -c "ulimit -f 1; $PLUMB build '$tmp/big' --out-dir '$tmp/out-prod'"
said "it says which file" "cannot write $tmp/out-prod/10_configmap_big.yaml: File too large"
check "the previous out-dir is intact" diff -r "$tmp/out-prod-before" "$tmp/out-prod"
check "no temporary directory is left" test "$(ls -A "$tmp" | grep -c plumb-)" = 0

# It replaces only a directory it wrote (or an empty one): others are
# refused and left alone, as is one it wrote that holds another file.
mkdir "$tmp/kust"
echo 'resources: [all.yaml]' >"$tmp/kust/kustomization.yaml"
status_is "out-dir refuses a directory plumb did not write" 2 $PLUMB build examples/nginx/envs/dev --out-dir "$tmp/kust"
check "that directory is left alone" test "$(ls -A "$tmp/kust")" = kustomization.yaml
touch "$tmp/out-prod/notes.txt"
status_is "out-dir refuses a file plumb did not write" 2 $PLUMB build examples/nginx/envs/dev --out-dir "$tmp/out-prod"
check "that file is left alone" test -f "$tmp/out-prod/notes.txt"
mkdir "$tmp/empty"
status_is "out-dir takes an empty directory" 0 $PLUMB build examples/nginx/envs/dev --out-dir "$tmp/empty"

# Output that cannot be written is an error, not a success.
for args in "build examples/nginx/envs/dev" "build examples/nginx/envs/dev -o json" \
  "explain examples/nginx/envs/dev Service/nginx-service" "eval -e 1" "diff --help"; do
  status_is "$args to a full disk" 2 sh -c "$PLUMB $args >/dev/full"
  said "$args to a full disk says so" "plumb: cannot write the output: No space left on device"
done

# kubectl reads what plumb writes (its built-in kustomize parses every
# document offline).
if command -v kubectl >/dev/null 2>&1; then
  mkdir -p "$tmp/k"
  echo "resources: [all.yaml]" >"$tmp/k/kustomization.yaml"
  for env in examples/*/envs/* deploy/plumb-system; do
    $PLUMB build "$env" >"$tmp/k/all.yaml"
    check "kubectl reads $env" kubectl kustomize "$tmp/k"
  done
fi

# Exit status: 0 built, 1 compile errors, 2 usage.
status_is "check ok" 0 $PLUMB check examples/nginx/envs/prod
status_is "compile error" 1 $PLUMB check tests/errors/syntax.plumb
status_is "unknown command" 2 $PLUMB frobnicate
status_is "unknown flag" 2 $PLUMB build --frob examples/nginx/envs/dev
status_is "bad output format" 2 $PLUMB build -o xml examples/nginx/envs/dev
status_is "explain unknown resource" 1 $PLUMB explain examples/nginx/envs/dev Deployment/nope
status_is "run refuses malformed compile limits" 2 $PLUMB run . --once --compile-limits cpu=forever
check "and says what they take" sh -c "$PLUMB run . --once --compile-limits cpu=forever 2>&1 | grep -q 'compile-limits takes memory=SIZE'"
status_is "run refuses a --public-url that is no http(s) URL" 2 $PLUMB run . --once --public-url plumb.example.com
check "and says what it takes" sh -c "$PLUMB run . --once --public-url plumb.example.com 2>&1 | grep -q 'public-url takes an http:// or https:// URL'"

# A 1 MB line with 60 errors: each diagnostic shows a window of the line,
# not the line (100 MB of output, and a write per byte, before).
pad=$(head -c 1000000 /dev/zero | tr '\0' x)
refs=$(seq 0 59 | sed 's/.*/k&: nope&/' | paste -sd, -)
printf 'env e { ConfigMap "a" { data: { pad: "%s", %s } } }\n' "$pad" "$refs" >"$tmp/long.plumb"
status_is "errors on a long line" 1 timeout 60 $PLUMB check "$tmp/long.plumb"
check "a long line is cut around the column" test "$(wc -c <"$tmp/said")" -lt 20000
check "the caret under the column of a long line" \
  test "$(sed -n 2,3p "$tmp/said" | cut -c56-60 | paste -sd' ' -)" = "nope0 ^"

# docs/cli.md shows plumb help as it is: each of its lines is there.
missing=$($PLUMB help 2>&1 | while IFS= read -r line; do
  [ -n "$line" ] && ! grep -qxF -- "$line" docs/cli.md && echo "$line"; done)
if [ -z "$missing" ]; then ok; else no "docs/cli.md lacks lines of plumb help"; echo "$missing" | head -5; fi

# Every command answers --help (and -h) with its own usage, on standard
# output, exit 0; the cluster commands through plumb-runtime.
for cmd in build check explain eval fmt convert fetch version diff apply run status sync history rollback suspend resume; do
  for flag in --help -h; do
    out=$($PLUMB $cmd $flag 2>/dev/null); rc=$?
    case "$rc $(echo "$out" | head -1)" in
      "0 usage: plumb $cmd" | "0 usage: plumb $cmd "*) ok ;;
      *) no "$cmd $flag (exit $rc)"; echo "$out" | head -3 ;;
    esac
  done
done
check "diff --help lists --context" sh -c "$PLUMB diff --help 2>/dev/null | grep -q -- '--context C'"
check "help after other arguments" sh -c "$PLUMB build examples/nginx/envs/dev -o json --help | grep -q '^usage: plumb build'"

# Every PATH given to check is checked; the others refuse what they would
# not read.
status_is "check every PATH" 1 $PLUMB check examples/nginx/envs/dev tests/errors/syntax.plumb
status_is "check a missing second PATH" 2 $PLUMB check examples/nginx/envs/dev "$tmp/nope"
status_is "check two good PATHs" 0 $PLUMB check examples/nginx/envs/dev examples/nginx/envs/prod
status_is "build refuses a second PATH" 2 $PLUMB build examples/nginx/envs/dev examples/nginx/envs/prod
status_is "explain refuses a fourth argument" 2 $PLUMB explain examples/nginx/envs/dev Service/nginx-service spec x
status_is "diff refuses a second PATH" 2 $PLUMB diff examples/nginx/envs/dev examples/nginx/envs/prod
status_is "eval refuses two FILEs" 2 $PLUMB eval a b
status_is "eval of a directory is a read error" 2 $PLUMB eval "$tmp"
said "eval says why it cannot read" "cannot read $tmp: Is a directory"
status_is "sync needs APP" 2 $PLUMB sync
status_is "check refuses a flag it does not take" 2 $PLUMB check examples/nginx/envs/dev --out-dir "$tmp/x"
said "check says which" "plumb: check takes no flag --out-dir"
status_is "build refuses --prune" 2 $PLUMB build examples/nginx/envs/dev --prune
status_is "status refuses --once" 2 $PLUMB status --once

# Several envs in one directory: --env picks one, without it is an error.
mkdir -p "$tmp/two"
printf 'env a { ConfigMap "cm-a" {} }\nenv b { ConfigMap "cm-b" {} }\n' >"$tmp/two/main.plumb"
status_is "two envs need --env" 1 $PLUMB build "$tmp/two"
check "--env picks one" sh -c "$PLUMB build --env b '$tmp/two' | grep -q 'name: cm-b'"

# --arg gives an env's parameters, each one its own flag, wherever it stands
# among the positional arguments; run takes none (applications carry them).
printf 'env e(tag: string, n: int = 1) {\n  ConfigMap "cm" { data: { tag: tag, n: "${n}" } }\n}\n' >"$tmp/args.plumb"
check "--arg" sh -c "$PLUMB build --arg tag=1.2.3 '$tmp/args.plumb' --arg n=2 | grep -q 'tag: 1.2.3'"
check "--arg, both" sh -c "$PLUMB build --arg tag=1.2.3 '$tmp/args.plumb' --arg n=2 | grep -qF '\"n\": \"2\"'"
check "explain with --arg" sh -c "$PLUMB explain --arg tag=x '$tmp/args.plumb' ConfigMap/cm data.tag | grep -q '= \"x\"'"
check "explain names --arg as the source" sh -c "$PLUMB explain --arg tag=x '$tmp/args.plumb' ConfigMap/cm data.tag | grep -q 'set by .* (--arg tag)'"
status_is "a parameter without default must be given" 1 $PLUMB check "$tmp/args.plumb"
said "which one" 'missing parameter "tag" (string) for env e'
status_is "--arg needs a value" 2 $PLUMB build "$tmp/args.plumb" --arg
status_is "run takes no --arg" 2 $PLUMB run "$tmp" --arg tag=1
said "run says so" "plumb: run takes no flag --arg"
check "build --help tells of --arg" sh -c "$PLUMB build --help | grep -q -- '--arg NAME=VALUE'"

# A directory of YAML manifests: --recurse, --include and --exclude read it
# as Argo CD's directory source; the commands that compile a PATH take them,
# the others refuse them.
yd=tests/golden/src/yamldir/manifests
check "a YAML directory builds" sh -c "$PLUMB build $yd | grep -q 'name: nginx-deployment'"
check "--recurse reads subdirectories" sh -c "$PLUMB check $yd --recurse && $PLUMB build --recurse $yd | grep -q 'kind: RoleBinding'"
check "--include and --exclude" test "$($PLUMB build $yd --recurse --include '*.yaml' --exclude '{sub/*,.*}' | grep -c '^kind:')" = 5
$PLUMB build $yd --recurse --out-dir "$tmp/out-yd" >/dev/null
for f in "$tmp"/out-yd/*; do cat "$f"; echo ---; done | sed '$d' >"$tmp/joined.yaml"
$PLUMB build $yd --recurse >"$tmp/yd.yaml"
check "a YAML directory's out-dir holds the same stream" cmp "$tmp/joined.yaml" "$tmp/yd.yaml"
status_is "--include needs a value" 2 $PLUMB build $yd --include
status_is "run takes no --recurse" 2 $PLUMB run "$tmp" --recurse
said "run says so" "plumb: run takes no flag --recurse"
check "build --help tells of --recurse" sh -c "$PLUMB build --help | grep -q -- '--recurse'"

# A Helm chart is rendered by helm from the PATH, looked for only by a
# build that renders one; without it, the build says how to get it. Its
# files are written under TMPDIR while it renders, and none is left.
status_is "no helm on the PATH" 1 env PATH=/nonexistent $PLUMB build tests/golden/src/helm/prod
said "says how to get it" "helm_chart: plumb renders charts with helm, which is not on the PATH: install helm v4"
check "a build without a chart never looks for helm" env PATH=/nonexistent $PLUMB build examples/nginx/envs/dev
mkdir "$tmp/scratch"
check "a chart renders under TMPDIR" env TMPDIR="$tmp/scratch" $PLUMB build tests/golden/src/helm/prod --cache "$tmp/hc"
check "and leaves nothing there" test -z "$(ls -A "$tmp/scratch")"
# A render that passed is kept in the cache, under a key of all that went
# into it, and the same build again reads it: what is kept is what it
# gives (here made otherwise by hand), and other values are another key.
$PLUMB build tests/golden/src/helm/prod --cache "$tmp/hc" >"$tmp/first.yaml" 2>&1
check "one render kept" test "$(ls "$tmp/hc/helm" | wc -l)" = 1
sed -i 's/hi from web/kept/' "$tmp"/hc/helm/*.yaml
check "the same build reads it" sh -c "$PLUMB build tests/golden/src/helm/prod --cache '$tmp/hc' | grep -q 'GREETING: kept'"
mkdir -p "$tmp/values" && cp -r tests/golden/src/helm/prod tests/helm "$tmp/values/"
sed -i 's#../../../../helm/charts#../helm/charts#; s/replicaCount: 3/replicaCount: 4/' "$tmp/values/prod/main.plumb"
check "other values render anew" sh -c "$PLUMB build '$tmp/values/prod' --root '$tmp/values' --cache '$tmp/hc' | grep -q 'replicas: 4'"
check "and are kept apart" test "$(ls "$tmp/hc/helm" | wc -l)" = 2
# A chart whose renders differ, kept live (random: "keep-live"), builds
# others each time: none of them is kept.
$PLUMB build tests/golden/src/helm/keep-live --cache "$tmp/hc" >"$tmp/kl1.yaml" 2>&1
$PLUMB build tests/golden/src/helm/keep-live --cache "$tmp/hc" >"$tmp/kl2.yaml" 2>&1
check "a chart kept live builds with other values each time" sh -c "! cmp -s '$tmp/kl1.yaml' '$tmp/kl2.yaml'"
check "and no render of it is kept" test "$(ls "$tmp/hc/helm" | wc -l)" = 2
# plumb explain names the value that fed a field of a chart of a
# repository too: its values.yaml is read out of the pinned archive.
mkdir -p "$tmp/rc/env" "$tmp/rc/cache/charts"
helm package tests/helm/charts/remote -d "$tmp/rc" >/dev/null
sum=$(sha256sum "$tmp/rc/hello-0.1.0.tgz" | cut -d' ' -f1)
cp "$tmp/rc/hello-0.1.0.tgz" "$tmp/rc/cache/charts/sha256-$sum.tgz"
printf 'env web {\n  helm_chart("https://charts.example.com", { chart: "hello", version: "0.1.0", release: "a" })\n  %s\n}\n' \
  'helm_chart("https://charts.example.com", { chart: "hello", version: "0.1.0", release: "b", values: { greeting: "hi there" } })' \
  >"$tmp/rc/env/main.plumb"
printf 'charts:\n- repository: "https://charts.example.com"\n  chart: "hello"\n  version: "0.1.0"\n  pinned: "0.1.0"\n  digest: "sha256:%s"\n' \
  "$sum" >"$tmp/rc/env/plumb.lock"
status_is "explain a field of a chart of a repository" 0 \
  $PLUMB explain "$tmp/rc/env" ConfigMap/a-hello data.greeting --root "$tmp/rc" --cache "$tmp/rc/cache"
said "fed by its archive's values.yaml" '    fed by   .Values.greeting = "hello" from hello-0.1.0.tgz/values.yaml:1:11'
status_is "and with values of the call" 0 \
  $PLUMB explain "$tmp/rc/env" ConfigMap/b-hello data.greeting --root "$tmp/rc" --cache "$tmp/rc/cache"
said "fed by them" '    fed by   .Values.greeting = "hi there" from env/main.plumb:3:114'
check "plumb eval renders no chart" sh -c "$PLUMB eval -e 'helm_chart(\"tests/helm/charts/basic\")' 2>&1 | grep -q 'charts are rendered by a build'"

# Outside a git repository the root is the entry directory; --root widens it.
cp -r examples/nginx "$tmp/nginx"
status_is "import above the root" 1 $PLUMB build "$tmp/nginx/envs/dev"
$PLUMB build --root "$tmp/nginx" "$tmp/nginx/envs/dev" >"$tmp/rooted.yaml"
check "--root" cmp "$tmp/rooted.yaml" "$tmp/dir.yaml"
status_is "--root /" 0 $PLUMB check --root / "$tmp/nginx/envs/dev"

# eval prints JSON.
check "eval" test "$($PLUMB eval -e '{a: [1, 2.5, "x"]}' | tr -d ' \n')" = '{"a":[1,2.5,"x"]}'

# fmt: canonical layout, idempotent, --check changes nothing.
cp tests/fmt/messy.plumb "$tmp/messy.plumb"
status_is "fmt --check flags a messy file" 1 $PLUMB fmt --check "$tmp/messy.plumb"
check "fmt --check left it alone" cmp tests/fmt/messy.plumb "$tmp/messy.plumb"
$PLUMB fmt "$tmp/messy.plumb"
check "fmt layout" cmp "$tmp/messy.plumb" tests/fmt/messy.expected
status_is "fmt is idempotent" 0 $PLUMB fmt --check "$tmp/messy.plumb"
status_is "the repository is formatted" 0 $PLUMB fmt --check examples deploy stdlib tests/fmt/messy.expected
cp tests/fmt/messy.plumb "$tmp/messy.plumb"
status_is "fmt past a file-size limit" 2 sh -c "ulimit -f 0; $PLUMB fmt '$tmp/messy.plumb'"
check "fmt left the file as it was" cmp tests/fmt/messy.plumb "$tmp/messy.plumb"
printf 'env e {\n  x: "unterminated\n}\n' >"$tmp/broken.plumb"
status_is "fmt refuses what does not lex" 1 $PLUMB fmt "$tmp/broken.plumb"
# A CRLF file (a Windows checkout) is formatted as LF text and keeps CRLF.
sed 's/$/\r/' tests/fmt/messy.plumb >"$tmp/messy-crlf.plumb"
sed 's/$/\r/' tests/fmt/messy.expected >"$tmp/expected-crlf.plumb"
$PLUMB fmt "$tmp/messy-crlf.plumb"
check "fmt keeps CRLF line ends" cmp "$tmp/messy-crlf.plumb" "$tmp/expected-crlf.plumb"
status_is "fmt --check passes a formatted CRLF file" 0 $PLUMB fmt --check "$tmp/expected-crlf.plumb"
mkdir -p "$tmp/fmt-pipe" && mkfifo "$tmp/fmt-pipe/p.plumb"
status_is "fmt refuses a named pipe rather than wait" 2 timeout 10 $PLUMB fmt "$tmp/fmt-pipe"

# A symlink inside a checkout does not make a root of where it points, even
# another checkout; a link to a checkout from outside any is fine.
mkdir -p "$tmp/links/repo/.git" "$tmp/links/repo/envs" "$tmp/links/other/.git"
printf 'env e { ConfigMap "other" {} }\n' >"$tmp/links/other/main.plumb"
printf 'env e { ConfigMap "ok" {} }\n' >"$tmp/links/repo/ok.plumb"
ln -s ../../other "$tmp/links/repo/envs/x"
ln -s repo "$tmp/links/link"
fails_with "a symlinked directory on the way leaves the root" 'plumb: error: envs/x/main.plumb is a symlink that leaves the repository root' \
  $PLUMB build "$tmp/links/repo/envs/x/main.plumb"
fails_with "a symlink to another checkout leaves the root" 'plumb: error: envs/x is a symlink that leaves the repository root' \
  $PLUMB build "$tmp/links/repo/envs/x"
check "a link to a checkout" sh -c "$PLUMB build '$tmp/links/link/ok.plumb' | grep -q 'name: ok'"

# CRLF line ends (a Windows checkout) build what LF ones build: text
# blocks, strings, and the lines and columns explain and errors name.
cp -r examples/shop "$tmp/lf" && cp -r examples/shop "$tmp/crlf"
cp tests/golden/src/text-blocks.plumb "$tmp/lf/blocks.plumb" && cp tests/golden/src/text-blocks.plumb "$tmp/crlf/blocks.plumb"
printf 'env e {\n  ConfigMap "c" { data: { a: 1 + "x" } }\n}\n' >"$tmp/lf/error.plumb"
cp "$tmp/lf/error.plumb" "$tmp/crlf/error.plumb"
find "$tmp/crlf" -name '*.plumb' -exec sed -i 's/$/\r/' {} +
same_in() { # same_in DIR NAME ARGS...: plumb ARGS, the same in lf/ and DIR/
  dir=$1 name=$2; shift 2
  $PLUMB "$@" --root "$tmp/lf" >"$tmp/lf.out" 2>&1
  set -- $(echo "$@" | sed "s|$tmp/lf|$tmp/$dir|g")
  $PLUMB "$@" --root "$tmp/$dir" >"$tmp/$dir.out" 2>&1
  check "$name" cmp "$tmp/lf.out" "$tmp/$dir.out"
}
evaluates_same() { # evaluates_same DIR NAME: blocks.plumb evaluates the same in lf/ and DIR/
  check "$2" sh -c "$PLUMB eval '$tmp/lf/blocks.plumb' >'$tmp/lf.out' &&
    $PLUMB eval '$tmp/$1/blocks.plumb' >'$tmp/$1.out' && cmp '$tmp/lf.out' '$tmp/$1.out'"
}
same_in crlf "CRLF sources build the same" build "$tmp/lf/envs/prod"
same_in crlf "CRLF sources explain the same" explain "$tmp/lf/envs/prod" Deployment/api
same_in crlf "CRLF text blocks" build -o json "$tmp/lf/envs/dev"
same_in crlf "CRLF errors point at the same column" check "$tmp/lf/error.plumb"
evaluates_same crlf "CRLF text blocks evaluate the same"
# A byte order mark (some Windows editors write one) is not part of the
# source: it builds, explains and reports as the file without it, and fmt
# keeps it.
cp -r "$tmp/lf" "$tmp/bom"
find "$tmp/bom" -name '*.plumb' -exec sed -i '1s/^/\xEF\xBB\xBF/' {} +
same_in bom "sources with a byte order mark build the same" build "$tmp/lf/envs/prod"
same_in bom "a byte order mark moves no column" check "$tmp/lf/error.plumb"
evaluates_same bom "a byte order mark evaluates the same"
printf '\357\273\277env e {\r\n      namespace:  "x"\r\n}\r\n' >"$tmp/bom/messy.plumb"
printf '\357\273\277env e {\r\n  namespace: "x"\r\n}\r\n' >"$tmp/bom/tidy.plumb"
check "fmt keeps the byte order mark and CRLF" sh -c "$PLUMB fmt '$tmp/bom/messy.plumb' && cmp '$tmp/bom/messy.plumb' '$tmp/bom/tidy.plumb'"
printf 'a\r\nb\r\n' >"$tmp/crlf/data.txt"
printf 'file("data.txt")\r\n' >"$tmp/crlf/data.plumb"
check "file() data keeps its CRLF" sh -c "$PLUMB eval '$tmp/crlf/data.plumb' | grep -qF '\"a\\r\\nb\\r\\n\"'"

# Invalid UTF-8 never becomes U+FFFD in the output: in a source it is an
# error at its line and column; data that file() reads may be binary, but
# a string that is not UTF-8 cannot be output, and is an error at the call.
mkdir -p "$tmp/utf8"
printf 'env e {\n  ConfigMap "c" { data: { k: "caf\303\251 \377" } }\n}\n' >"$tmp/utf8/string.plumb"
fails_with "invalid UTF-8 in a string" 'string.plumb:2:36: error: invalid UTF-8 (byte 0xFF); a source file must be UTF-8 text' \
  $PLUMB build "$tmp/utf8/string.plumb"
printf 'env e {} // cut \303\n' >"$tmp/utf8/comment.plumb"
fails_with "invalid UTF-8 in a comment" 'comment.plumb:1:17: error: invalid UTF-8 (byte 0xC3)' $PLUMB build "$tmp/utf8/comment.plumb"
printf '\211PNG\r\n\032\n\377' >"$tmp/utf8/logo.png"
printf 'env e {\n  ConfigMap "c" {\n    data: { logo: file("logo.png") }\n  }\n}\n' >"$tmp/utf8/file.plumb"
fails_with "file() of binary data into a resource" \
  'file.plumb:3:19: error: this string is not UTF-8 text (byte 0x89 at offset 0); YAML and JSON hold text only: base64_encode() binary data' \
  $PLUMB build "$tmp/utf8/file.plumb"
printf 'env e {\n  ConfigMap "c" { binaryData: { logo: base64_encode(file("logo.png")) } }\n  config_map("g", { files: ["logo.png"] })\n}\n' >"$tmp/utf8/binary.plumb"
check "binary data base64-encoded" sh -c "$PLUMB build '$tmp/utf8/binary.plumb' | grep -c 'logo.png: iVBORw0KGgr/\|logo: iVBORw0KGgr/' | grep -qx 2"

# Only regular files are read: a named pipe would block the build forever
# (hence the timeouts), a device or socket is no source.
mkdir -p "$tmp/special"
mkfifo "$tmp/special/pipe.plumb" "$tmp/special/data"
printf 'env e { ConfigMap "c" { data: { a: file("data") } } }\n' >"$tmp/special/file.plumb"
printf 'import "pipe.plumb"\nenv e {}\n' >"$tmp/special/import.plumb"
fails_with "file() of a named pipe" 'file.plumb:1:36: error: file: data is a named pipe, not a file' \
  timeout 10 $PLUMB build --root "$tmp/special" "$tmp/special/file.plumb"
fails_with "import of a named pipe" 'import.plumb:1:8: error: cannot import: pipe.plumb is a named pipe, not a file' \
  timeout 10 $PLUMB build --root "$tmp/special" "$tmp/special/import.plumb"
fails_with "a named pipe as the entry file" 'error: pipe.plumb is a named pipe, not a file' \
  timeout 10 $PLUMB build --root "$tmp/special" "$tmp/special/pipe.plumb"
if mknod "$tmp/special/dev" c 1 3 2>/dev/null; then # root may make devices
  printf 'env e { ConfigMap "c" { data: { a: file("dev") } } }\n' >"$tmp/special/dev.plumb"
  fails_with "file() of a device" 'dev.plumb:1:36: error: file: dev is a character device, not a file' \
    timeout 10 $PLUMB build --root "$tmp/special" "$tmp/special/dev.plumb"
fi

# --kube-version picks the schemas, and wins over the env's kube_version;
# diff and apply take the cluster's version when neither chooses. Here the
# cluster is a server that claims an old version and answers nothing but
# /version: the compile error stops diff before it asks for more (a real
# cluster's version is tests/kube/scenarios.sh's).
mkdir -p "$tmp/kv"
cat >"$tmp/kv/main.plumb" <<'PLUMB'
env e {
  Pod "p" { spec: { containers: [{ name: "c", image: "x" }], tolerations: [{ operator: "Gt" }] } }
}
PLUMB
sed 's/^env e {$/env e {\n  kube_version: "1.35"/' "$tmp/kv/main.plumb" >"$tmp/kv/set.plumb"
status_is "Gt is a toleration operator in 1.36" 0 $PLUMB check "$tmp/kv/main.plumb"
status_is "not in 1.34" 1 $PLUMB check "$tmp/kv/main.plumb" --kube-version v1.34.2
said "1.34's enum" 'Pod.spec.tolerations[0].operator: "Gt" is not one of "Equal", "Exists"'
status_is "the setting chooses 1.35" 0 $PLUMB check "$tmp/kv/set.plumb"
status_is "the flag wins over the setting" 1 $PLUMB check "$tmp/kv/set.plumb" --kube-version 1.34
status_is "diff takes --kube-version" 2 $PLUMB diff "$tmp/kv/main.plumb" --kube-version 1.33
said "diff says which versions there are" \
  "plumb: --kube-version 1.33 is not embedded; plumb has the schemas of Kubernetes 1.34, 1.35 or 1.36"
cat >"$tmp/kv/server.py" <<'PY'
import http.server, json, sys
class Version(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"major": "1", "gitVersion": sys.argv[2]}).encode()
        self.send_response(200 if self.path == "/version" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Version)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_port))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
PY
python3 "$tmp/kv/server.py" "$tmp/kv/port" v1.30.14 &
server=$!
tries=0
while [ ! -s "$tmp/kv/port" ] && [ $tries -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
cat >"$tmp/kv/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{name: old, cluster: {server: "http://127.0.0.1:$(cat "$tmp/kv/port")"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: old, context: {cluster: old, user: u}}]
current-context: old
KUBECONFIG
status_is "a v1.30 cluster is checked against 1.34" 2 $PLUMB diff "$tmp/kv/main.plumb" --kubeconfig "$tmp/kv/kubeconfig"
said "diff says which version it checks against" "plumb: the cluster serves Kubernetes v1.30.14, whose schemas plumb \
does not have; an env that sets no kube_version is checked against v1.34.4"
said "and checks against it" 'Pod.spec.tolerations[0].operator: "Gt" is not one of "Equal", "Exists"'
$PLUMB diff "$tmp/kv/set.plumb" --kubeconfig "$tmp/kv/kubeconfig" >"$tmp/said" 2>&1
check "the setting wins over the cluster's version" sh -c "! grep -q 'is not one of' '$tmp/said'"
$PLUMB apply "$tmp/kv/main.plumb" --kubeconfig "$tmp/kv/kubeconfig" --kube-version 1.36 >"$tmp/said" 2>&1
check "the flag wins over the cluster's version" sh -c "! grep -q 'is not one of\|the cluster serves' '$tmp/said'"
kill $server

# plumb convert writes main.plumb beside each kustomization, and only when
# every part converts; a directory with .plumb files of its own is refused;
# run again on what it wrote, it changes nothing.
mkdir -p "$tmp/cv/base" "$tmp/cv/prod" "$tmp/cv/two"
printf 'resources: [cm.yaml]\nnamePrefix: base-\n' >"$tmp/cv/base/kustomization.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n' >"$tmp/cv/base/cm.yaml"
printf 'resources: [../base]\nnamespace: prod\n' >"$tmp/cv/prod/kustomization.yaml"
printf 'resources: [../base, ../prod]\n' >"$tmp/cv/two/kustomization.yaml"
fails_with "convert refuses two bases" "two/kustomization.yaml:1:22: error: plumb convert: a Plumb env builds on one env" \
  $PLUMB convert "$tmp/cv/two" --root "$tmp/cv"
check "and writes nothing, not even the base's" test ! -e "$tmp/cv/base/main.plumb"
status_is "convert writes both" 0 $PLUMB convert "$tmp/cv/prod" --root "$tmp/cv"
said "and says so" "wrote base/main.plumb"
$PLUMB build "$tmp/cv/prod" --root "$tmp/cv" >"$tmp/converted.yaml"
rm "$tmp/cv/prod/main.plumb" "$tmp/cv/base/main.plumb"
$PLUMB build "$tmp/cv/prod" --root "$tmp/cv" >"$tmp/native.yaml"
check "the converted tree builds what the kustomization does" cmp "$tmp/converted.yaml" "$tmp/native.yaml"
$PLUMB convert "$tmp/cv/prod" --root "$tmp/cv" >/dev/null
status_is "a second convert is fine" 0 $PLUMB convert "$tmp/cv/prod" --root "$tmp/cv"
check "and writes nothing" test ! -s "$tmp/said"
check "what it wrote is in fmt's layout" $PLUMB fmt --check "$tmp/cv"
printf 'env other {}\n' >"$tmp/cv/base/extra.plumb"
fails_with "a directory with .plumb files of its own is refused" "already holds" $PLUMB convert "$tmp/cv/prod" --root "$tmp/cv"
# plumb run's ports are read before anything else is done.
status_is "run refuses a malformed --probe-listen" 2 $PLUMB run "$tmp/nowhere" --once --probe-listen nonsense
said "and says what it takes" "--probe-listen takes ADDR:PORT, :PORT or [ADDR]:PORT, not nonsense"

# Remote bases: plumb fetch brings each repository a kustomization tree
# lists (and those they list) into the cache at the commit its ref names;
# plumb build reads them from there, never from the network, and gives what
# kubectl kustomize gives, in the same order. Real repositories, made with
# git, reached over file://.
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t \
  GIT_COMMITTER_EMAIL=t@example.com
mkdir -p "$tmp/rb/lib/db" "$tmp/rb/app/web" "$tmp/rb/mine"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {ports: [{port: 5432}]}\n' >"$tmp/rb/lib/db/svc.yaml"
printf 'namePrefix: lib-\nresources:\n- svc.yaml\n' >"$tmp/rb/lib/db/kustomization.yaml"
git init -q -b main "$tmp/rb/lib" && git -C "$tmp/rb/lib" add -A && git -C "$tmp/rb/lib" commit -qm db && git -C "$tmp/rb/lib" tag v1
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: web:1}]}\n' >"$tmp/rb/app/web/deploy.yaml"
printf 'resources:\n- deploy.yaml\n- file://%s/rb/lib//db?ref=v1\n' "$tmp" >"$tmp/rb/app/web/kustomization.yaml"
git init -q -b main "$tmp/rb/app" && git -C "$tmp/rb/app" add -A && git -C "$tmp/rb/app" commit -qm web
printf 'namespace: shop\nresources:\n- file://%s/rb/app.git//web\nimages:\n- {name: web, newTag: "2"}\n' "$tmp" >"$tmp/rb/mine/kustomization.yaml"
git clone -q --bare "$tmp/rb/app" "$tmp/rb/app.git"
fails_with "build before fetch names the command" "is not in the cache: run plumb fetch" \
  $PLUMB build "$tmp/rb/mine" --root "$tmp/rb/mine" --cache "$tmp/rb/cache"
status_is "fetch brings the base and the base's base" 0 $PLUMB fetch "$tmp/rb/mine" --root "$tmp/rb/mine" --cache "$tmp/rb/cache"
said "fetch names the repository and commit" "file://$tmp/rb/app.git $(git -C "$tmp/rb/app" rev-parse HEAD)"
said "and the one it lists, at its ref" "file://$tmp/rb/lib?ref=v1 $(git -C "$tmp/rb/lib" rev-parse v1)"
status_is "then build reads the cache" 0 $PLUMB build "$tmp/rb/mine" --root "$tmp/rb/mine" --cache "$tmp/rb/cache"
said "the base's base is prefixed and moved" "name: lib-db"
if command -v kubectl >/dev/null 2>&1; then
  kubectl kustomize "$tmp/rb/mine" >"$tmp/rb/k.yaml" 2>&1
  check "remote bases build as kubectl kustomize builds them" python3 bench/compare.py --ordered "$tmp/rb/k.yaml" "$tmp/said"
fi
fails_with "a resource URL of a file is refused" "Plumb does not download files" \
  sh -c "printf 'resources:\n- https://example.com/x/all.yaml\n' >'$tmp/rb/mine/kustomization.yaml' && $PLUMB fetch '$tmp/rb/mine' --root '$tmp/rb/mine' --cache '$tmp/rb/cache'"

echo "cli: $pass passed, $fail failed"
