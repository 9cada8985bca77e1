#!/usr/bin/env bash
# The README's first command, the analytics demo: installs the dependencies, builds Sluice
# (CMake + Ninja, -j2), generates a clickstream, runs the pageviews and sessions jobs on it and
# prints their summaries, then replays: resets pageviews to an earlier time, runs it again, and
# checks that every window from that time on has the same result as in the first run.
#
# Last it writes the HTML report of both jobs' outputs (`sluice report`: views per minute of the
# top pages, session lengths; inline SVG) and prints its path.
#
# Environment: SLUICE_BUILD_DIR (default build/), EVENTS (default 200000, at least 1000),
# REPORT (default ./sluice-report.html), SLUICE_SKIP_APT=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${SLUICE_BUILD_DIR:-$ROOT/build}"
EVENTS="${EVENTS:-200000}"
REPORT="${REPORT:-$PWD/sluice-report.html}"

"$ROOT/scripts/install-deps.sh"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$BUILD" -j2 sluice
SLUICE="$BUILD/tools/sluice"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sluice-analytics-demo.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export SLUICE_DATA="$WORK/data"
STATE="$WORK/state"
START=1700000000000                 # event time of the first event (2023-11-14T22:13:20Z)
REPLAY_FROM=$((START + EVENTS * 200 / 2))  # replay from half-way through the event time

echo "== 1. generate $EVENTS page views (500 users, 100 pages, 0.5% late, one every 200 ms)"
"$SLUICE" gen clickstream --topic clicks --events "$EVENTS" --users 500 --pages 100 \
  --late-fraction 0.005 --interval-ms 200 --start "$START" --partitions 4

echo
echo "== 2. pageviews: views per page per minute and the top 10 pages of each minute"
"$SLUICE" run pageviews --until-end --threads 2 --state "$STATE" --quiet

echo
echo "== 3. sessions: per user, sessions closed by 30 minutes of inactivity"
"$SLUICE" run sessions --until-end --threads 2 --state "$STATE" --quiet

echo
echo "== 4. replay: reset pageviews to event time $REPLAY_FROM (half-way) and run it again"
"$SLUICE" consume pageviews-counts --from-beginning --format '%s\n' > "$WORK/first.jsonl"
"$SLUICE" job reset pageviews --to-time "$REPLAY_FROM" --state "$STATE"
"$SLUICE" run pageviews --until-end --threads 2 --state "$STATE" --quiet \
  --output-prefix replay- > "$WORK/replay-summary.txt"
"$SLUICE" consume replay-pageviews-counts --from-beginning --format '%s\n' > "$WORK/replay.jsonl"
/usr/bin/python3 - "$WORK/first.jsonl" "$WORK/replay.jsonl" "$REPLAY_FROM" <<'PY'
import json, sys
first, replay, since = sys.argv[1], sys.argv[2], int(sys.argv[3])
def windows(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        if r["window_start"] >= since + 60000:   # whole windows after the replay point
            out[(r["page"], r["window_start"])] = r["views"]
    return out
a, b = windows(first), windows(replay)
same = a == b
print(f"windows after the replay point: first run {len(a)}, replay {len(b)}; "
      f"identical: {'yes' if same else 'NO'}")
sys.exit(0 if same and a else 1)
PY

echo
echo "== 5. report: views per minute of the top pages and session lengths, as HTML"
"$SLUICE" report --out "$REPORT"
