#!/bin/sh
# Logs in to Dex as a browser would, with curl: follows the authorization URL
# to the password form, posts LOGIN_EMAIL and LOGIN_PASSWORD, and follows the
# redirects after it until one leads to OIDC_REDIRECT_URI, which it prints
# (with the code and state in its query) without requesting it: nothing need
# listen there. Dex has one connector (its password database), so it shows
# no connector chooser. Exits 1 when the password is refused or the hops run
# out. Reads LOGIN_URL, LOGIN_EMAIL, LOGIN_PASSWORD, OIDC_CA, OIDC_REDIRECT_URI.
set -eu
jar=$(mktemp) body=$(mktemp)
trap 'rm -f "$jar" "$body"' EXIT
# request URL [CURL ARGS]: prints "STATUS REDIRECT" (REDIRECT empty if none).
request() {
  url=$1; shift
  curl -sS --max-time 10 --cacert "$OIDC_CA" -b "$jar" -c "$jar" -o "$body" \
    -w '%{http_code} %{redirect_url}' "$@" "$url"
}
url=$LOGIN_URL posted=
for hop in 1 2 3 4 5 6 7 8 9 10; do
  case $url in "$OIDC_REDIRECT_URI"\?*) echo "$url"; exit 0 ;; esac
  set -- $(request "$url")
  if [ -n "${2:-}" ]; then url=$2; continue; fi
  if [ "$1" = 200 ] && grep -q 'name="password"' "$body"; then
    [ -z "$posted" ] || { echo "login.sh: $LOGIN_EMAIL: password refused" >&2; exit 1; }
    posted=1
    # The form posts back to the page's own URL, which carries Dex's state.
    set -- $(request "$url" --data-urlencode "login=$LOGIN_EMAIL" --data-urlencode "password=$LOGIN_PASSWORD")
    [ -n "${2:-}" ] && url=$2 && continue
    grep -q 'name="password"' "$body" && { echo "login.sh: $LOGIN_EMAIL: password refused" >&2; exit 1; }
  fi
  echo "login.sh: HTTP $1 at $url, neither a redirect nor the login form" >&2
  exit 1
done
echo "login.sh: more than 10 hops" >&2
exit 1
