#!/bin/sh
# Single sign-on in a browser: Dex (tests/oidc/up.sh) as the provider,
# plumb run's server and UI (build/asan/tests/ui_fleet) as the relying
# party, Chromium between them (tests/ui/sso.mjs). Last line: "sso: N
# passed, N failed".
set -u
cd "$(dirname "$0")/../.."
dir=$(mktemp -d)
fleet=
trap '[ -n "$fleet" ] && kill "$fleet" 2>/dev/null; tests/oidc/down.sh "$dir" --clean >/dev/null 2>&1; rm -rf "$dir"' EXIT
PLUMB_PLAYWRIGHT=$(sh tests/ui/install.sh) || { echo "sso: 0 passed, 1 failed"; exit 0; }
export PLUMB_PLAYWRIGHT
# The provider must know where it sends browsers back to before the server
# listens: a port free now.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if ! tests/oidc/up.sh "$dir" "http://127.0.0.1:$port/auth/callback" >"$dir/up.log" 2>&1; then
  tail -20 "$dir/up.log"
  echo "sso: 0 passed, 1 failed"
  exit 0
fi
. "$dir/env"
printf '%s\n' "$OIDC_CLIENT_SECRET" >"$dir/client-secret"
cat >"$dir/auth.yaml" <<EOF2
sso:
  name: Dex
  issuer: $OIDC_ISSUER
  client_id: $OIDC_CLIENT_ID
  client_secret_file: $dir/client-secret
  redirect_uri: $OIDC_REDIRECT_URI
  ca_file: $OIDC_CA
grants:
- subject: group:authors
  role: sync
  projects: [shop]
default_role: readonly
EOF2
mkfifo "$dir/in"
PLUMB_FLEET_PORT=$port build/asan/tests/ui_fleet 4 unused-admin-pw "$dir/auth.yaml" <"$dir/in" >"$dir/fleet.out" 2>&1 &
fleet=$!
exec 3>"$dir/in"
n=0
until grep -q "^port" "$dir/fleet.out" 2>/dev/null; do
  n=$((n + 1))
  [ $n -ge 100 ] && { cat "$dir/fleet.out"; echo "sso: 0 passed, 1 failed"; exit 0; }
  sleep 0.1
done
PLUMB_URL=http://127.0.0.1:$port node tests/ui/sso.mjs
exec 3>&-
wait "$fleet"
fleet=
