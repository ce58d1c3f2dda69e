#!/bin/sh
# exec-plugin.sh: a client-go exec credential plugin for tests
# (tests/unit/test_kubeconfig.c). It prints an ExecCredential of the
# apiVersion that KUBERNETES_EXEC_INFO asks for, whose token is
# "${PLUMB_TEST_EXEC_PREFIX:-token}[-ARG1]-N", N counting its runs in the
# file $PLUMB_TEST_EXEC_COUNT, and whose expirationTimestamp is
# $PLUMB_TEST_EXEC_EXPIRY when set. PLUMB_TEST_EXEC_MODE changes that:
#   fail     says $PLUMB_TEST_EXEC_STDERR on stderr and exits 3
#   cert     prints a client certificate and key instead of a token
#   garbage  prints something that is not JSON (and holds a secret)
#   big      prints more than 1 MiB
# With PLUMB_TEST_EXEC_TOKEN_FILE the token is that file's content instead
# (tests/kube/scenarios.sh logs in to the test cluster that way).
set -eu
n=1
if [ -n "${PLUMB_TEST_EXEC_COUNT:-}" ]; then
  n=$(($(cat "$PLUMB_TEST_EXEC_COUNT" 2>/dev/null || echo 0) + 1))
  echo "$n" >"$PLUMB_TEST_EXEC_COUNT"
fi
api=$(printf '%s' "${KUBERNETES_EXEC_INFO:-}" | sed -n 's/.*"apiVersion":"\([^"]*\)".*/\1/p')
token="${PLUMB_TEST_EXEC_PREFIX:-token}${1:+-$1}-$n"
[ -n "${PLUMB_TEST_EXEC_TOKEN_FILE:-}" ] && token=$(cat "$PLUMB_TEST_EXEC_TOKEN_FILE")
expiry=""
[ -n "${PLUMB_TEST_EXEC_EXPIRY:-}" ] && expiry=",\"expirationTimestamp\":\"$PLUMB_TEST_EXEC_EXPIRY\""
case "${PLUMB_TEST_EXEC_MODE:-}" in
fail)
  echo "${PLUMB_TEST_EXEC_STDERR:-failed}" >&2
  exit 3
  ;;
cert) status="{\"clientCertificateData\":\"CERT-$n\",\"clientKeyData\":\"KEY-$n\"$expiry}" ;;
garbage)
  echo "oops $token"
  exit 0
  ;;
big)
  head -c 1100000 /dev/zero | tr '\0' x
  exit 0
  ;;
*) status="{\"token\":\"$token\"$expiry}" ;;
esac
printf '{"apiVersion":"%s","kind":"ExecCredential","status":%s}\n' "$api" "$status"
