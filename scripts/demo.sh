#!/usr/bin/env bash
# Installs the dependencies, builds Sluice with CMake + Ninja (-j2) and runs the demo.
# Arguments go to `sluice demo` (e.g. --events 1000000). Build dir: $SLUICE_BUILD_DIR or build/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${SLUICE_BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/install-deps.sh"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
ninja -C "$BUILD" -j2 sluice
"$BUILD/tools/sluice" demo "$@"
