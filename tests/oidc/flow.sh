#!/bin/sh
# The OpenID Connect login of oidc.h against a real Dex (built by build.sh,
# started by up.sh, always stopped): build/asan/tests/oidc_flow, which make
# test builds, does the checks. Prints "oidc: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
flow=build/asan/tests/oidc_flow
# fail WHY: the suite fails as one test.
fail() { echo "oidc: $1"; echo "oidc: 0 passed, 1 failed"; exit 1; }
[ -x "$flow" ] || fail "$flow is not built (make $flow)"
dir=$(mktemp -d)
trap 'tests/oidc/down.sh "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
tests/oidc/up.sh "$dir" >"$dir/up.log" 2>&1 || fail "dex did not start: $(tail -30 "$dir/up.log")"
# The same issuer restarted: new signing keys, as a provider rotates them.
export OIDC_RESTART="tests/oidc/down.sh '$dir' && tests/oidc/up.sh '$dir' >'$dir/up.log' 2>&1"
out=$(set -a; . "$dir/env"; set +a; "$flow" tests/oidc/login.sh 2>&1)
echo "$out" | grep -v '^ok \|^[0-9]* passed, [0-9]* failed$'
p=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -1)
f=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -1)
# No count line: it crashed (a sanitizer's report is above); one failure more.
[ -z "$p" ] && f=$((${f:-0} + 1))
echo "oidc: ${p:-0} passed, ${f:-0} failed"
