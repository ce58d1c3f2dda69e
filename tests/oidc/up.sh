#!/usr/bin/env bash
# Start Dex (tests/oidc/build.sh builds it) on 127.0.0.1, over TLS, on a
# free port, as the OpenID Connect provider of tests/oidc/flow.sh. Prints the
# issuer URL; DIR gets the config, a self-signed certificate, dex.pid,
# dex.log and env (OIDC_ISSUER, OIDC_CA, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
# OIDC_REDIRECT_URI, for `. DIR/env`). up.sh DIR after down.sh DIR restarts
# the same issuer with new keys.
#   usage: up.sh DIR [REDIRECT_URI]
# REDIRECT_URI (or $PLUMB_OIDC_REDIRECT_URI) is the one redirect URI client
# "plumb" may use; nothing need listen there, the tests read the redirect.
# Users, in Dex's password database, with their groups:
#   alice@example.com / alice-password   groups admins, authors
#   bob@example.com   / bob-password     groups readers
set -euo pipefail

[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 DIR [REDIRECT_URI]" >&2; exit 2; }
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
REDIRECT=${2:-${PLUMB_OIDC_REDIRECT_URI:-http://127.0.0.1:9/callback}}
TIMEOUT=${PLUMB_UP_TIMEOUT:-60}
log() { echo "up.sh: $*" >&2; }
fail() { log "$*"; [[ -f $DIR/dex.log ]] && tail -20 "$DIR/dex.log" >&2; exit 1; }

if [[ -f $DIR/dex.pid ]] && kill -0 "$(cat "$DIR/dex.pid")" 2>/dev/null; then
  fail "dex already running in $DIR (run down.sh $DIR first)"
fi
DEX=$("$(dirname "$0")/build.sh")

# Random ports below the ephemeral range, as tests/cluster/up.sh picks them.
pick_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}
# A DIR whose Dex down.sh stopped keeps its port and client secret: up.sh
# restarts the same issuer, but with new signing keys (storage is memory),
# as a provider that rotated its keys.
PORT=$(sed -n 's#^OIDC_ISSUER=https://127.0.0.1:\([0-9]*\)/dex$#\1#p' "$DIR/env" 2>/dev/null || true)
SECRET=$(sed -n 's/^OIDC_CLIENT_SECRET=//p' "$DIR/env" 2>/dev/null || true)
[[ -n $PORT ]] || PORT=$(pick_port)
[[ -n $SECRET ]] || SECRET=$(openssl rand -hex 24)
ISSUER=https://127.0.0.1:$PORT/dex

# TLS, so that the client's CA file and https-only rules are what is tested.
# The certificate is its own CA: the tests trust exactly it.
if [[ ! -f $DIR/tls.crt ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=plumb-test-dex" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$DIR/tls.key" -out "$DIR/tls.crt" 2>/dev/null
fi

# bcrypt (cost 10, Dex's minimum) of "alice-password" and "bob-password".
cat > "$DIR/config.yaml" <<YAML
issuer: $ISSUER
storage:
  type: memory
web:
  https: 127.0.0.1:$PORT
  tlsCert: $DIR/tls.crt
  tlsKey: $DIR/tls.key
logger:
  level: warn
oauth2:
  skipApprovalScreen: true
enablePasswordDB: true
staticClients:
- id: plumb
  name: Plumb
  secret: $SECRET
  redirectURIs: ['$REDIRECT']
staticPasswords:
- email: alice@example.com
  hash: \$2a\$10\$GsCodL9llkzi7TMxnLkyN.cgeQTNMU95yc48OwDlAtbdSFAesm1O2
  username: alice
  userID: 0b1d8c7e-a11c-4e00-9000-000000000001
  groups: [admins, authors]
- email: bob@example.com
  hash: \$2a\$10\$0ETy0tAen80TJsqCQO6k1.cfGJn7uehHSaIocOUVUDb8Y.ipfFIiy
  username: bob
  userID: 0b1d8c7e-b0b0-4e00-9000-000000000002
  groups: [readers]
YAML

"$DEX" serve "$DIR/config.yaml" </dev/null >"$DIR/dex.log" 2>&1 &
echo $! > "$DIR/dex.pid"
deadline=$((SECONDS + TIMEOUT))
until curl -sf --max-time 5 --cacert "$DIR/tls.crt" "$ISSUER/.well-known/openid-configuration" >/dev/null 2>&1; do
  kill -0 "$(cat "$DIR/dex.pid")" 2>/dev/null || fail "dex exited early"
  ((SECONDS < deadline)) || fail "dex not ready after ${TIMEOUT}s"
  sleep 0.2
done
cat > "$DIR/env" <<ENV
OIDC_ISSUER=$ISSUER
OIDC_CA=$DIR/tls.crt
OIDC_CLIENT_ID=plumb
OIDC_CLIENT_SECRET=$SECRET
OIDC_REDIRECT_URI=$REDIRECT
ENV
echo "$ISSUER"
