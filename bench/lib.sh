# lib.sh: helpers the cluster benchmarks share (bench/runtime.sh,
# bench/fleet.sh), sourced from the repository's top; what runs later
# uses T, their temporary directory.

say() { echo "$*" >&2; }
die() { say "$(basename "$0"): $*"; exit 1; }
needs() { for tool; do command -v "$tool" >/dev/null 2>&1 || die "needs $tool"; done; } # needs TOOL...

# bench_binaries: private copies of plumb and plumb-runtime in $T/bin, from
# BENCH_PLUMB or build/, so that a rebuild during the run cannot mix
# binaries; sets PLUMB.
bench_binaries() {
  mkdir "$T/bin"
  cp "${BENCH_PLUMB:-build}/plumb" "${BENCH_PLUMB:-build}/plumb-runtime" "$T/bin/"
  PLUMB=$T/bin/plumb
}
# bench_cluster: the control plane of BENCH_CLUSTER, or one started in
# $T/cluster (tests/cluster/up.sh, which reads its settings from the
# environment); its env file read.
bench_cluster() {
  if [ -n "${BENCH_CLUSTER:-}" ]; then
    . "$BENCH_CLUSTER/env"
  else
    say "starting the control plane (tests/cluster/up.sh)"
    tests/cluster/up.sh "$T/cluster" >"$T/up.log" 2>&1 || { tail -30 "$T/up.log" >&2; exit 1; }
    . "$T/cluster/env"
  fi
}

now() { date +%s.%N; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a - b }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
http() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
# until_ok SECONDS COMMAND...: true once the command succeeds, polled every 0.1 s.
until_ok() {
  end=$(($(date +%s) + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.1
  done
}

# hook_push URL REPO: a signed GitHub push delivery of the file:// git
# repository REPO (at its HEAD) to the plumb run at URL, under the secret
# bench-hook-secret; prints the HTTP status.
hook_push() {
  printf '{"ref":"refs/heads/main","after":"%s","repository":{"clone_url":"file://%s/","html_url":"https://example.com/x"}}' \
    "$(cd "$2" && git rev-parse HEAD)" "$2" >"$T/push.json"
  sig=$(openssl dgst -sha256 -hmac bench-hook-secret <"$T/push.json" | sed 's/.* //')
  http "$1/api/v1/webhook" -X POST -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    -H "X-Hub-Signature-256: sha256=$sig" --data-binary @"$T/push.json"
}

# stamped FILE: each line of stdin, after the time it arrived, into FILE.
stamped() { while IFS= read -r line; do echo "$(now) $line"; done >"$1"; }
# arrival EVENTS KEY VALUE SINCE SECONDS: prints the time of the first line
# "EPOCH KEY VALUE" of the file EVENTS after SINCE; false after SECONDS.
arrival() {
  end=$(($(date +%s) + $5))
  while [ "$(date +%s)" -lt "$end" ]; do
    t=$(awk -v k="$2" -v v="$3" -v s="$4" '$1 > s && $2 == k && $3 == v { print $1; exit }' "$1")
    [ -z "$t" ] || { echo "$t"; return 0; }
    sleep 0.05
  done
  return 1
}

# stats NAME: "p50 p90 max n" of $T/NAME.times (nearest rank), "- - - 0" when empty.
stats() {
  sort -n "$T/$1.times" | awk '{ t[NR] = $1 }
    END { if (!NR) { print "- - - 0"; exit }
          p50 = int((NR + 1) / 2); p90 = int((9 * NR + 9) / 10); if (p90 > NR) p90 = NR
          printf "%.2f %.2f %.2f %d\n", t[p50], t[p90], t[NR], NR }'
}
# against VALUE TARGET: VALUE / TARGET, "met" when at most 1.
against() {
  case $1 in -) echo - ;; *) awk -v v="$1" -v t="$2" 'BEGIN { r = v / t; printf "%.2fx (%s)", r, r <= 1 ? "met" : "not met" }' ;; esac
}
