#!/usr/bin/env bash
# Installs this build into a temporary prefix, builds examples/standalone/ against it with
# find_package(Sluice), runs it, and checks its output: what a user outside the tree does.
# shout_count checks itself with the TestDriver; revenue_test is the revenue job's TestDriver
# test (typed topics); the revenue binary (RunMain) then runs on a data directory made with the
# installed `sluice`, to the end, and its output, late and dead-letter topics are checked.
# Usage: standalone_test.sh <build dir> <source dir>
set -euo pipefail
build="$1" src="$2"
work="$(mktemp -d "${TMPDIR:-/tmp}/sluice-standalone.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$src/examples/standalone" -B "$work/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release > "$work/configure.log"
ninja -C "$work/build" > "$work/build.log"
out="$("$work/build/shout_count")"
expected=$'HELLO=1\nHELLO=2\nSTOP=1\nSTOP=2'
if [[ "$out" != "$expected" ]]; then
  echo "standalone job printed:"; echo "$out"; echo "expected:"; echo "$expected"
  exit 1
fi

"$work/build/revenue_test" > "$work/revenue_test.log" 2>&1 || {
  echo "revenue_test failed:"; cat "$work/revenue_test.log"; exit 1
}

sluice="$work/prefix/bin/sluice" data="$work/data"
"$sluice" --data "$data" topic create orders --partitions 1 > /dev/null
"$sluice" --data "$data" topic create customers --partitions 1 > /dev/null
printf '%s\n' 'c1:{"name":"Ada","region":"EU"}' |
  "$sluice" --data "$data" produce customers --key-separator : > /dev/null 2>&1
printf '%s\n' '{"id":"o1","customer":"c1","amount":10,"ts":1700000041000}' \
  '{"id":"o2","customer":"c2","amount":4,"ts":1700000042000}' \
  '{"id":"o3","customer":"c1","amount":2.5,"ts":1700000099000}' \
  'not json' \
  '{"id":"o5","customer":"c1","amount":1,"ts":1700000115000}' \
  '{"id":"o6","customer":"c1","amount":9,"ts":1700000043000}' |
  "$sluice" --data "$data" produce orders > /dev/null 2>&1
"$work/build/revenue" --data "$data" --state "$work/state" --until-end --create-topics \
  > "$work/revenue.log" 2>&1 || { echo "revenue failed:"; cat "$work/revenue.log"; exit 1; }
consume() { "$sluice" --data "$data" consume "$1" --from-beginning --format '%k %s\n' | sort; }
out="$(consume revenue)"
expected='c1 {"region":"EU","window_start":1700000040000,"amount":12.5,"orders":2}
c1 {"region":"EU","window_start":1700000100000,"amount":1,"orders":1}
c2 {"region":"unknown","window_start":1700000040000,"amount":4,"orders":1}'
if [[ "$out" != "$expected" ]]; then
  echo "revenue wrote:"; echo "$out"; echo "expected:"; echo "$expected"; cat "$work/revenue.log"
  exit 1
fi
late="$(consume orders-late)" dead="$(consume orders-dead-letter)"
if [[ "$late" != 'c1 {"region":"EU","window_start":0,"amount":9,"orders":1}' ||
  "$dead" != *'not valid JSON'*'"value":"not json"'* ]]; then
  echo "late: $late"; echo "dead letters: $dead"; exit 1
fi
echo "standalone jobs built against the installed Sluice: shout_count printed the expected counts,"
echo "revenue_test passed, and the revenue binary wrote the expected revenue, late and dead letters"
