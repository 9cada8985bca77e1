#!/usr/bin/env bash
# Installs the dependencies, builds everything with CMake + Ninja (-j2) and runs every test
# with ctest. Build dir: $SLUICE_BUILD_DIR or build/. Extra arguments go to ctest
# (e.g. -L unit for the fast set, -R Cli to pick tests).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${SLUICE_BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/install-deps.sh"
cmake -S "$ROOT" -B "$BUILD" -G Ninja
ninja -C "$BUILD" -j2
# ctest prints the summary ("100% tests passed, 0 tests failed out of N") and the output of
# every failing test.
ctest --test-dir "$BUILD" --output-on-failure -j2 "$@"
