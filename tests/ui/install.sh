#!/bin/sh
# Installs what the browser tests need, once: Playwright's driver
# (playwright-core, from the npm registry; it downloads no browser: the
# tests drive Debian's chromium, which .ci/deps installs) into a cache
# outside the repository. Prints the node_modules directory.
set -eu
version=1.64.1
dir=${XDG_CACHE_HOME:-$HOME/.cache}/plumb/playwright-core-$version
if [ ! -f "$dir/node_modules/playwright-core/package.json" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --silent "playwright-core@$version" >&2
fi
echo "$dir/node_modules"
