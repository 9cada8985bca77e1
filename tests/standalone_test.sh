#!/usr/bin/env bash
# Installs this build into a temporary prefix, builds examples/standalone/ against it with
# find_package(Sluice), runs it, and checks its output: what a user outside the tree does.
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
echo "standalone job built against the installed Sluice and printed the expected counts"
