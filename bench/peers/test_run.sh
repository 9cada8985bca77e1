#!/usr/bin/env bash
# The ctest bench_peers (bench/CMakeLists.txt, only with -DSLUICE_PEERS_TEST=ON, label bench):
# runs one workload of run.sh end to end with --quick, and checks that its rows parse and that
# every peer of the workload printed its figures (ratios.py --require). Asserts no timing.
#   test_run.sh BUILD_DIR [WORKLOAD]     (WORKLOAD: cli by default, the quickest)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="${1:?usage: test_run.sh BUILD_DIR [WORKLOAD]}"
WORKLOAD="${2:-cli}"
OUT="$(mktemp "${TMPDIR:-/tmp}/sluice-peers-test.XXXXXX")"
trap 'rm -f "$OUT"' EXIT
# Fewer lines than --quick's 300k: the test is about the harness, not the figures.
export SLUICE_PEERS_CLI_LINES="${SLUICE_PEERS_CLI_LINES:-50000}"
export SLUICE_PEERS_WC_LINES="${SLUICE_PEERS_WC_LINES:-20000}"
if ! "$HERE/run.sh" --quick --only "$WORKLOAD" --build "$BUILD" > "$OUT"; then
  cat "$OUT"
  echo "test_run: run.sh --quick --only $WORKLOAD failed (its messages above)" >&2
  exit 1
fi
cat "$OUT"
python3 "$HERE/ratios.py" --require "$WORKLOAD" < "$OUT" > /dev/null
echo "test_run: $WORKLOAD rows parse and every peer printed its figures"
