#!/bin/sh
# Runs every test suite against the sanitizer build (build/asan) and prints
# one total line. UPDATE=1 rewrites golden files from the current output.
set -u
cd "$(dirname "$0")/.."
PLUMB=build/asan/plumb
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
pass=0 fail=0

# helm renders the charts of the tests (tests/helm): built from its Go
# module on first use and cached outside the repository, as the control
# plane is (tests/gotool.sh helm), then first on the PATH.
if helm_bin=$(tests/gotool.sh helm); then
  PATH=$helm_bin:$PATH
  export PATH
else
  echo "helm: tests/gotool.sh helm could not build it; the chart tests fail without it"
fi

count() { # count SUITE PASSED FAILED
  echo "$1: $2 passed, $3 failed"
  pass=$((pass + $2)) fail=$((fail + $3))
}

# suite NAME COMMAND...: runs a script that ends with "NAME: N passed, N
# failed", shows what it printed but that line, and counts it.
suite() {
  name=$1; shift
  out=$("$@" 2>&1)
  echo "$out" | grep -v "^$name: [0-9]* passed, [0-9]* failed$"
  set -- $(echo "$out" | sed -n "s/^$name: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p")
  count "$name" "${1:-0}" "${2:-1}"
}

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)".
for t in build/asan/tests/test_*; do
  [ -x "$t" ] || continue
  out=$("$t" 2>&1); rc=$?
  p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  [ $rc -ne 0 ] && { echo "$out" | grep -v '^\[ \(RUN\|      OK\) ' ; [ -z "$f" ] && f=1; }
  count "$(basename "$t")" "${p:-0}" "${f:-0}"
done

suite lang build/asan/tests/lang_runner tests/lang/*.test

# Argo CD's health scripts, each case of their own health_test.yaml run by
# Plumb's Lua (tests/health_runner.c), from the shared directory beside the
# repository ($PLUMB_SHARED, else ../shared); skipped, and said so, where
# it is absent.
suite argocd-health build/asan/tests/health_runner "${PLUMB_SHARED:-../shared}/argocd-health"

# Golden files: each tests/golden/NAME.args holds plumb's arguments; NAME.out
# its exact stdout and stderr, then "exit N".
golden() { # golden ARGS_FILE
  expected="${1%.args}.out"
  actual=$($PLUMB $(cat "$1") 2>&1; echo "exit $?")
  if [ "${UPDATE:-}" = 1 ]; then printf '%s\n' "$actual" > "$expected"; return 0; fi
  if [ "$actual" = "$(cat "$expected" 2>/dev/null)" ]; then return 0; fi
  echo "FAIL $1"; printf '%s\n' "$actual" | diff -u "$expected" - | head -40
  return 1
}
gp=0 gf=0
for a in tests/golden/*.args tests/errors/*.args; do
  [ -e "$a" ] || continue
  if golden "$a"; then gp=$((gp + 1)); else gf=$((gf + 1)); fi
done
count golden "$gp" "$gf"

# Determinism: two builds of every example (and of deploy/) are byte-identical.
dp=0 df=0
for env in examples/*/envs/* deploy/plumb-system; do
  a=$($PLUMB build "$env" 2>&1 | sha256sum); b=$($PLUMB build "$env" 2>&1 | sha256sum)
  if [ "$a" = "$b" ]; then dp=$((dp + 1)); else df=$((df + 1)); echo "FAIL nondeterministic: $env"; fi
done
count determinism "$dp" "$df"

suite cli sh tests/cli.sh "$PLUMB"
suite hostile sh tests/hostile.sh "$PLUMB"

# The applications page at 1,000 applications, in Chromium (tests/ui): no
# cluster, only plumb run's server, its UI and the status a loop publishes.
suite ui-fleet sh -c 'PLUMB_PLAYWRIGHT=$(sh tests/ui/install.sh) && export PLUMB_PLAYWRIGHT &&
  node tests/ui/fleet.mjs build/asan/tests/ui_fleet'

# The same configurations through Kustomize (kubectl kustomize) and Plumb.
suite kustomize sh tests/kustomize/run.sh "$PLUMB"

# Helm charts rendered by Plumb and by helm template (tests/helm).
suite helm sh tests/helm/run.sh "$PLUMB"
# plumb fetch and build on charts of a real chart repository and OCI
# registry (tests/helm/servers, built from Go modules on first use).
suite helm-remote sh tests/helm/remote.sh "$PLUMB"

# Files the real sops encrypts with age and OpenPGP keys (tests/sops, sops
# built from its Go module on first use), decrypted by plumb, and the
# changed ones refused; "skipped" only when Go cannot fetch modules.
suite sops sh tests/sops/run.sh "$PLUMB"

# The image of plumb run (deploy/image.sh, from Debian's packages by
# mmdebstrap and umoci; its Debian layer cached outside the repository),
# unpacked and its programs run inside (tests/image). tests/kube/deploy.sh
# runs its plumb run against the control plane.
suite image sh tests/image/run.sh

# The Kubernetes client, plumb apply and plumb diff on a real control plane
# (tests/cluster builds it from Kubernetes' Go modules on first use).
# PLUMB_SKIP_CLUSTER=1 leaves it out of a quick local run; CI never does.
# It leaves out, too, the OpenID Connect logins against a real Dex
# (tests/oidc builds it from its Go module on first use).
if [ "${PLUMB_SKIP_CLUSTER:-}" = 1 ]; then
  echo "kube: skipped (PLUMB_SKIP_CLUSTER=1)"
  echo "oidc: skipped (PLUMB_SKIP_CLUSTER=1)"
else
  suite kube sh tests/kube/run.sh "$PLUMB"
  suite oidc sh tests/oidc/flow.sh
  suite sso sh tests/oidc/ui.sh
fi

if [ -x build/fuzz/fuzz_compile ]; then
  fz=0
  for f in build/fuzz/fuzz_*; do
    name=$(basename "$f")
    case "$name" in *.*) continue ;; esac
    # New inputs go to build/; the seeds in tests/fuzz/corpus stay as they are.
    mkdir -p "build/fuzz/corpus-${name#fuzz_}"
    if "$f" -max_total_time="${FUZZ_SECONDS:-10}" -print_final_stats=0 -artifact_prefix=build/fuzz/ "build/fuzz/corpus-${name#fuzz_}" \
      "tests/fuzz/corpus/${name#fuzz_}" >"build/fuzz/$name.txt" 2>&1; then
      fz=$((fz + 1))
    else
      tail -30 "build/fuzz/$name.txt"; count fuzz "$fz" 1; fz=-1; break
    fi
  done
  [ "$fz" -ge 0 ] && count fuzz "$fz" 0
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
