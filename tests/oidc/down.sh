#!/usr/bin/env bash
# Stop the Dex that up.sh started in DIR. Safe to call twice.
#   usage: down.sh DIR [--clean]    (--clean also deletes DIR)
set -euo pipefail

[[ $# -ge 1 && $# -le 2 && ${2:---clean} == --clean ]] || { echo "usage: $0 DIR [--clean]" >&2; exit 2; }
[[ -d $1 ]] || exit 0
DIR=$(cd "$1" && pwd)
pidf=$DIR/dex.pid
if [[ -f $pidf ]]; then
  pid=$(cat "$pidf")
  # Only if the process is still ours: its command line names DIR's config.
  if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$DIR/config.yaml"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
fi
if [[ ${2:-} == --clean ]]; then
  # Only what looks like an up.sh directory, never an arbitrary path.
  if [[ -f $DIR/config.yaml && -f $DIR/tls.crt ]]; then rm -rf "$DIR"
  else echo "down.sh: $DIR does not look like an up.sh dir, not deleting" >&2; fi
fi
