#!/usr/bin/env bash
# Publish charts to the servers that up.sh started in DIR: each chart
# directory packaged into DIR/repo (chartrepo's), the repository's
# index.yaml made anew, and each package pushed to oci://$OCI_HOST/charts.
# Prints, for each archive: NAME VERSION SHA256 (helm's own output to stderr).
#   usage: publish.sh DIR CHART_DIR...      (helm on the PATH)
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: $0 DIR CHART_DIR..." >&2; exit 2; }
DIR=$(cd "$1" && pwd); shift
[[ -f $DIR/env ]] || { echo "publish.sh: no $DIR/env: run up.sh $DIR first" >&2; exit 1; }
. "$DIR/env"
# helm's config, cache and registry login under DIR: nothing touches the
# user's home, and DIR's login is gone with DIR.
export HELM_CONFIG_HOME=$DIR/helm/config HELM_CACHE_HOME=$DIR/helm/cache
export HELM_DATA_HOME=$DIR/helm/data HELM_REGISTRY_CONFIG=$DIR/helm/registry.json

pkgs=()
for c in "$@"; do
  out=$(helm package "$c" -d "$DIR/repo")
  echo "$out" >&2
  pkgs+=("$(sed -n 's/^Successfully packaged chart and saved it to: //p' <<<"$out")")
done
# --url: absolute archive URLs in the index, as a hosted repository has.
helm repo index "$DIR/repo" --url "$REPO_URL"

helm registry login "$OCI_HOST" --ca-file "$CA_FILE" --username "$REPO_USER" \
  --password-stdin <<<"$REPO_PASSWORD" >&2
for p in "${pkgs[@]}"; do
  helm push "$p" "oci://$OCI_HOST/charts" --ca-file "$CA_FILE" >&2
  meta=$(helm show chart "$p")
  echo "$(sed -n 's/^name: //p' <<<"$meta") $(sed -n 's/^version: //p' <<<"$meta") $(sha256sum < "$p" | cut -d' ' -f1)"
done
