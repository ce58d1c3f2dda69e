#!/bin/sh
# Sync windows of a project, as Argo CD's, against a real control plane:
# a deny window that is open stops an automated sync, the status saying
# until when; allow windows none of which is open stop it too; an allow
# window that is open lets it through. (Which syncs asked for a window
# lets through is tests/unit/test_window.c's.)
# Usage: windows.sh PLUMB CLUSTER_DIR. Last line: "windows: N passed, N failed".
set -u
. "$(dirname "$0")/checks.sh"
repo=$work/deploy
NS=windows-test
pass_once() { $PLUMB run "file://$repo" --config-path gitops --cache "$work/cache" --once --context admin; }
configure() { # configure WINDOW: the project's one sync window
  mkdir -p "$repo/gitops"
  cat >"$repo/gitops/main.plumb" <<EOP
import "std/gitops"
env apps {
  app held = application(name: "held", repo: "file://$repo", path: "held", namespace: "$NS", project: "p", automated: true)
  app other = application(name: "other", repo: "file://$repo", path: "other", namespace: "$NS", project: "p", automated: true)
  app p = project(name: "p", sync_windows: [$1])
}
EOP
}
mkdir -p "$repo/held" "$repo/other"
printf 'env held {\n  ConfigMap "held" { data: { v: "1" } }\n}\n' >"$repo/held/main.plumb"
printf 'env other {\n  ConfigMap "other" { data: { v: "1" } }\n}\n' >"$repo/other/main.plumb"
configure '{ kind: "deny", schedule: "* * * * *", duration: "1h", applications: ["held"] }'
(cd "$repo" && git init -q -b main && git config user.email t@example.com && git config user.name test)
commit "a deny window"
$K delete namespace $NS --ignore-not-found --wait=true >/dev/null 2>&1
$K create namespace $NS >/dev/null
$K delete configmap plumb-history-held plumb-history-other --ignore-not-found >/dev/null

expect "an open deny window stops the automated sync, saying until when" 1 \
  "^held +OutOfSync +[0-9a-f]+ +sync window: project p denies syncs \(\"\* \* \* \* \*\" for 3600s\) until 20[0-9-]+ [0-9:]+ UTC" pass_once
cp "$work/out" "$work/first"
expect "and nothing of it is applied" 1 "" $K -n $NS get configmap held
expect "an application the window does not name syncs" 0 "other: configmap/other created" cat "$work/first"
hour=$(( ($(date -u +%H | sed 's/^0//') + 12) % 24 ))
configure "{ kind: \"allow\", schedule: \"0 $hour * * *\", duration: \"1h\" }"
commit "an allow window twelve hours away"
expect "allow windows none of which is open stop it too" 1 \
  "^held +OutOfSync +[0-9a-f]+ +sync window: project p allows syncs of held only in its allow windows, none of which is open" pass_once
configure '{ kind: "allow", schedule: "* * * * *", duration: "10m" }'
commit "an allow window that is open"
expect "an open allow window lets it through" 0 "held: configmap/held created" pass_once
expect "a window that is no cron schedule is refused where it is written" 1 \
  "gitops/main.plumb:[0-9]+:[0-9]+: error: project p: \"every day\" is no cron schedule" \
  sh -c "sed -i 's/\"\\* \\* \\* \\* \\*\"/\"every day\"/' '$repo/gitops/main.plumb' && cd '$repo' && git commit -qam bad && $PLUMB run 'file://$repo' --config-path gitops --cache '$work/cache' --once --context admin"

$K delete namespace $NS --wait=false >/dev/null 2>&1
echo "windows: $pass passed, $fail failed"
