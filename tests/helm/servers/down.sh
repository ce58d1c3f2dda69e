#!/usr/bin/env bash
# Stop the chart servers that up.sh started in DIR. Safe to call twice.
#   usage: down.sh DIR [--clean]    (--clean also deletes DIR)
set -euo pipefail

[[ $# -ge 1 && $# -le 2 && ${2:---clean} == --clean ]] || { echo "usage: $0 DIR [--clean]" >&2; exit 2; }
[[ -d $1 ]] || exit 0                       # nothing there: nothing to stop
DIR=$(cd "$1" && pwd)
# Alive and not a zombie: up.sh's children are reaped by init, which may take
# seconds to, and kill -0 finds a zombie still there.
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]; }

for name in chartrepo registry; do
  pidf=$DIR/$name.pid
  [[ -f $pidf ]] || continue
  pid=$(cat "$pidf")
  # Only signal the process if it is still ours: both command lines name
  # DIR, a recycled pid would not.
  if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$DIR/"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      echo "down.sh: $name ($pid) ignored SIGTERM for 10s, killing" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidf"
done

if [[ ${2:-} == --clean ]]; then
  # Only delete what looks like an up.sh directory, never an arbitrary path.
  if [[ -f $DIR/openssl.cnf && -f $DIR/htpasswd ]]; then rm -rf "$DIR"
  else echo "down.sh: $DIR does not look like an up.sh dir, not deleting" >&2; fi
fi
