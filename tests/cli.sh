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
}

# A directory and the file in it build the same thing.
$PLUMB build examples/nginx/envs/dev >"$tmp/dir.yaml"
$PLUMB build examples/nginx/envs/dev/main.plumb >"$tmp/file.yaml"
check "build FILE equals build DIR" cmp "$tmp/dir.yaml" "$tmp/file.yaml"

# --out-dir writes one file per resource, numbered in install order.
$PLUMB build examples/nginx/envs/prod --out-dir "$tmp/out-prod" >/dev/null
check "out-dir names" test "$(ls "$tmp/out-prod" | tr '\n' ' ')" = \
  "001_namespace_nginx-prod.yaml 002_service_nginx-prod_nginx-service.yaml 003_deployment_nginx-prod_nginx-deployment.yaml "
for f in "$tmp"/out-prod/*; do cat "$f"; echo ---; done | sed '$d' >"$tmp/joined.yaml"
$PLUMB build examples/nginx/envs/prod >"$tmp/prod.yaml"
check "out-dir files hold the same stream" cmp "$tmp/joined.yaml" "$tmp/prod.yaml"

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

# Several envs in one directory: --env picks one, without it is an error.
mkdir -p "$tmp/two"
printf 'env a { ConfigMap "cm-a" {} }\nenv b { ConfigMap "cm-b" {} }\n' >"$tmp/two/main.plumb"
status_is "two envs need --env" 1 $PLUMB build "$tmp/two"
check "--env picks one" sh -c "$PLUMB build --env b '$tmp/two' | grep -q 'name: cm-b'"

# Outside a git repository the root is the entry directory; --root widens it.
cp -r examples/nginx "$tmp/nginx"
status_is "import above the root" 1 $PLUMB build "$tmp/nginx/envs/dev"
$PLUMB build --root "$tmp/nginx" "$tmp/nginx/envs/dev" >"$tmp/rooted.yaml"
check "--root" cmp "$tmp/rooted.yaml" "$tmp/dir.yaml"

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
printf 'env e {\n  x: "unterminated\n}\n' >"$tmp/broken.plumb"
status_is "fmt refuses what does not lex" 1 $PLUMB fmt "$tmp/broken.plumb"

echo "cli: $pass passed, $fail failed"
