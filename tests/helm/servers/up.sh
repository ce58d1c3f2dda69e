#!/usr/bin/env bash
# Start the chart servers for a test, in the background, on 127.0.0.1:
# registry (an OCI registry, over TLS, htpasswd auth) and chartrepo (a Helm
# HTTP chart repository serving DIR/repo, basic auth), one user and password
# for both.
#   usage: up.sh DIR      (stop with: down.sh DIR; charts in: publish.sh DIR)
# DIR gets certs, the password, htpasswd, registry.yml and its storage,
# repo/, *.pid, *.log and env (sourceable sh: OCI_HOST, REPO_URL, CA_FILE,
# REPO_USER, REPO_PASSWORD). Certs, password and charts already in DIR are
# reused, but up.sh after down.sh picks fresh ports: publish again, since
# index.yaml's URLs name the port.
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
DIR=$(cd "$1" && pwd)        # absolute: the servers outlive our cwd
TIMEOUT=${PLUMB_UP_TIMEOUT:-60}   # seconds to wait for each server
SERVERS=(registry chartrepo)
REPO_USER=plumb

log() { echo "up.sh: $*" >&2; }

# Refuse to start twice on the same DIR: the second would serve stale ports.
for s in "${SERVERS[@]}"; do
  if [[ -f $DIR/$s.pid ]] && kill -0 "$(cat "$DIR/$s.pid")" 2>/dev/null; then
    log "$s already running in $DIR (run down.sh $DIR first)"; exit 1
  fi
done

BIN=$("$HERE/build.sh")

# ---------------------------------------------------------------- credentials
cd "$DIR"
. "$HERE/../../cluster/pki.sh"
pki_config '[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost'
pki_ca "/CN=plumb-test-chart-ca"
issue server "/CN=localhost" server
if [[ ! -f password ]]; then
  (umask 077; openssl rand -hex 16 > password.tmp) && mv password.tmp password
fi
REPO_PASSWORD=$(cat password)
# The registry takes bcrypt entries only; chartrepo makes one where
# apache2-utils' htpasswd is missing.
if [[ ! -f htpasswd ]]; then
  if command -v htpasswd >/dev/null; then
    htpasswd -nbB "$REPO_USER" "$REPO_PASSWORD" | head -n1 > htpasswd.tmp
  else
    echo "$REPO_USER:$("$BIN/chartrepo" -bcrypt < password)" > htpasswd.tmp
  fi
  mv htpasswd.tmp htpasswd
fi
mkdir -p repo registry-data

# ---------------------------------------------------------------- start
# On any failure from here on: show why, and stop what we started.
fail() {
  log "ERROR: $*"
  for s in "${SERVERS[@]}"; do
    [[ -f $DIR/$s.log ]] && { echo "----- tail of $DIR/$s.log" >&2; tail -n 25 "$DIR/$s.log" >&2; }
  done
  "$HERE/down.sh" "$DIR" >&2 || true
  exit 1
}
trap 'fail "unexpected error at line $LINENO"' ERR

start() { # NAME ARGS...: background, detached from our stdio, pid in NAME.pid
  local name=$1; shift
  "$BIN/$name" "$@" </dev/null >"$DIR/$name.log" 2>&1 &
  echo $! > "$DIR/$name.pid"
}
# wait_for NAME CMD...: poll CMD until it succeeds, while NAME is still alive.
wait_for() {
  local name=$1 deadline=$((SECONDS + TIMEOUT)); shift
  until "$@" >/dev/null 2>&1; do
    kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null || fail "$name exited early"
    ((SECONDS < deadline)) || fail "$name not ready after ${TIMEOUT}s"
    sleep 0.2
  done
}
CURL=(curl -sf --max-time 5 -u "$REPO_USER:$REPO_PASSWORD")

# The registry takes no port 0: a random port below the ephemeral range
# that nobody answers on now, as tests/cluster/up.sh picks them.
while :; do
  OCI_PORT=$((20000 + RANDOM % 12000))
  (exec 3<>"/dev/tcp/127.0.0.1/$OCI_PORT") 2>/dev/null || break
done
cat > registry.yml <<YAML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $DIR/registry-data
http:
  addr: 127.0.0.1:$OCI_PORT
  secret: $(openssl rand -hex 16)
  tls:
    certificate: $DIR/server.crt
    key: $DIR/server.key
auth:
  htpasswd:
    realm: plumb-test
    path: $DIR/htpasswd
YAML
# No OpenTelemetry exporter: its default (OTLP to localhost:4318) only
# fills the log with failed exports.
OTEL_TRACES_EXPORTER=none start registry serve "$DIR/registry.yml"
wait_for registry "${CURL[@]}" --cacert "$DIR/ca.crt" "https://127.0.0.1:$OCI_PORT/v2/"
log "registry up on https://127.0.0.1:$OCI_PORT"

rm -f chartrepo.port
start chartrepo -dir "$DIR/repo" -port 0 -port-file "$DIR/chartrepo.port" \
  -user "$REPO_USER" -password-file "$DIR/password"
wait_for chartrepo test -s "$DIR/chartrepo.port"
REPO_URL=http://127.0.0.1:$(cat chartrepo.port)
wait_for chartrepo "${CURL[@]}" "$REPO_URL/"
log "chartrepo up at $REPO_URL"

cat > env.tmp <<ENV
OCI_HOST=127.0.0.1:$OCI_PORT
REPO_URL=$REPO_URL
CA_FILE=$DIR/ca.crt
REPO_USER=$REPO_USER
REPO_PASSWORD=$REPO_PASSWORD
ENV
mv env.tmp env
