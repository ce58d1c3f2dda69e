#!/bin/sh
# Hostile inputs too big to keep as files, generated here: each must end in
# one clear, located error, never a crash, a hang or an unbounded use of
# memory. Usage: sh tests/hostile.sh PLUMB; prints "hostile: N passed, N
# failed".
set -u
PLUMB=$1
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# refuses NAME FILE MESSAGE: `plumb build FILE` exits 1 (not a crash: those
# exit 128 and more), prints nothing on stdout, and says MESSAGE once.
refuses() {
  timeout 120 $PLUMB build "$2" >"$tmp/out" 2>"$tmp/err"
  rc=$? n=$(grep -c -- "$3" "$tmp/err")
  if [ $rc = 1 ] && [ "$n" = 1 ] && [ ! -s "$tmp/out" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $1 (exit $rc, $n times \"$3\")"
    head -c 2000 "$tmp/err" | sed 's/^/  /'
  fi
}

# 30,000 lets, each wrapping the one before: nesting no single expression
# shows, which every walk over the value (merging, writing out) would
# follow down the C stack.
awk 'BEGIN { print "env dev {"; print "  let x = {a: 1}"
  for (i = 0; i < 30000; i++) print "  let x = {a: x}"
  print "  ConfigMap \"c\" { data: { v: to_json(x) } }"; print "}" }' >"$tmp/deep.plumb"
refuses "deep value in a block" "$tmp/deep.plumb" "deep.plumb:1002:11: error: value nested deeper than 1000 levels"

# The same through top-level names, evaluated on first use.
awk 'BEGIN { print "let x0 = {a: 1}"
  for (i = 1; i < 30000; i++) printf "let x%d = {a: x%d}\n", i, i - 1
  print "env dev {"; print "  ConfigMap \"c\" { data: {}, x: x29999 }"; print "}" }' >"$tmp/deep-top.plumb"
refuses "deep value through names" "$tmp/deep-top.plumb" "error: expression nested deeper than 2000 levels"

# 20,000 patches of one resource, each adding a key: every patch copies
# what the last one made, so memory grows with the square of the count,
# and the compile's memory limit must cover patches too.
awk 'BEGIN { print "env dev {"; print "  ConfigMap \"a\" { data: { x: \"1\" } }"
  for (i = 0; i < 20000; i++) printf "  patch ConfigMap \"a\" { data: { k%d: \"v\" } }\n", i
  print "}" }' >"$tmp/patches.plumb"
refuses "patches under the memory limit" "$tmp/patches.plumb" "error: the compile uses more than 1024 MiB of memory"

# A loop that allocates nothing but scans 64 MiB a step: the budget of
# work ends it, where the memory limit never would.
awk 'BEGIN { print "env dev {"; print "  let s0 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""
  for (i = 1; i <= 20; i++) printf "  let s%d = \"${s%d}${s%d}\"\n", i, i - 1, i - 1
  print "  let hits = [i for i in range(1000000) if contains(s20, \"x\")]"
  print "  ConfigMap \"c\" { data: { n: \"${len(hits)}\" } }"; print "}" }' >"$tmp/scan.plumb"
refuses "work budget" "$tmp/scan.plumb" "error: the compile does more than 268 million steps of work"

# A backtracking pattern past PCRE2's largest limit fails that call alone.
printf '%s\n' 'env dev {' '  ConfigMap "c" { data: { m: "${re_match("^(a+)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab")}" } }' '}' >"$tmp/re.plumb"
refuses "costly regular expression" "$tmp/re.plumb" "re_match: matching failed: match limit exceeded"

echo "hostile: $pass passed, $fail failed"
