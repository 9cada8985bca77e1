#!/usr/bin/env bash
# Sluice and its peers on the same workloads, on this machine, in one run (issue 14 item 1).
#
#   bench/peers/run.sh [--quick] [--only broker|cli|wordcount|nexmark]... [--build DIR] [--keep]
#
# Prints settings as lines starting with "# ", one row per figure,
#   peer=kafka+kafka_load workload=broker size=100 acks=1 metric=produce_throughput value=812345 unit=records/s
# (space-separated key=value, always these seven keys in this order), and at the end a Markdown
# table of Sluice / peer ratios (bench/README.md, "Peers, side by side"). A peer is named
# SERVER+CLIENT; every peer whose name starts with "sluice" is Sluice's side, and each of its rows
# is compared with the same figure (workload, size, acks, metric) of every other peer.
#
# Workloads (all by default, in this order; --only picks some, repeatable):
#   broker     Apache Kafka 4.4.0 (one broker, KRaft combined) vs `sluice serve`, both measured
#              with bench/peers/kafka_load.cc (librdkafka): produce and consume throughput for
#              100 B and 1 KiB at acks=1 and acks=all, and p50/p99/p99.9 latency at a fixed rate.
#   cli        1M lines of 100 B (--quick: 300k): `sluice produce`/`consume` embedded and through
#              `sluice serve`, kcat against Kafka and against `sluice serve`, Redis 7 Streams
#              XADD (redis-cli --pipe) / XRANGE (redis-cli --raw).
#   wordcount  exactly-once word count: Kafka Streams 4.4.0 exactly_once_v2 on the Kafka broker
#              (bench/peers/java) vs `sluice run wordcount` embedded and with -b to the same broker.
#   nexmark    NEXMark q1, q5, q7 over the bids of `sluice gen nexmark` (2M events; --quick 500k):
#              Flink 2.3.0 DataStream jobs on a local mini-cluster (bench/peers/flink) reading the
#              bids from a file, parallelism 1 and 2, vs `sluice run nexmark` embedded on the same
#              bids, 1 and 2 threads.
# Every workload checks its result (records delivered and read back, output record counts)
# before it prints a figure, and the script stops with an error otherwise.
#
# Needs the build tree's tools/sluice and bench/kafka_load (ninja -C build sluice kafka_load),
# Java 17 and Maven (the jars come from Maven Central into ~/.m2 on first use), kcat and
# redis-server/redis-cli (scripts/install-deps.sh). Everything it starts listens on 127.0.0.1,
# keeps its data in a new folder under $TMPDIR or /var/tmp (removed at the end unless --keep),
# and is stopped at the end, also on error or Ctrl-C. JVM heaps are 512 MB at most.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/peers"
BUILD="$ROOT/build"
QUICK=0
KEEP=0
ONLY=()
say() { echo "peers: $*" >&2; }
die() {
  say "$*"
  exit 1
}
usage() {
  sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while (($#)); do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --only)
      [[ "${2:-}" =~ ^(broker|cli|wordcount|nexmark)$ ]] ||
        die "--only takes broker, cli, wordcount or nexmark"
      ONLY+=("$2")
      shift 2
      ;;
    --build) BUILD="${2:?--build needs a folder}"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage ;;
    *) say "unknown argument '$1'"; usage ;;
  esac
done
((${#ONLY[@]})) || ONLY=(broker cli wordcount nexmark)
wanted() { [[ " ${ONLY[*]} " == *" $1 "* ]]; }

SLUICE="$BUILD/tools/sluice"
LOAD="$BUILD/bench/kafka_load"
[[ -x "$SLUICE" && -x "$LOAD" ]] ||
  die "$SLUICE or $LOAD is missing: build them with ninja -C $BUILD sluice kafka_load (or pass --build DIR)"
need() {
  command -v "$1" > /dev/null || die "'$1' is not installed: run scripts/install-deps.sh ($2)"
}
need java "default-jdk-headless"
need mvn "maven"
need kcat "kcat"
need python3 "python3"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is not installed (Debian package 'time')"
if wanted cli; then
  need redis-server "redis-server"
  need redis-cli "redis-tools"
fi

# Sizes: the full run, or --quick.
if ((QUICK)); then
  BROKER_RECORDS_100=300000 BROKER_RECORDS_1K=100000
  LAT_SECONDS=6 LAT_WARMUP=2
  CLI_LINES=300000
  WC_LINES=100000
  NX_EVENTS=500000
else
  BROKER_RECORDS_100=2000000 BROKER_RECORDS_1K=500000
  LAT_SECONDS=20 LAT_WARMUP=5
  CLI_LINES=1000000
  WC_LINES=500000
  NX_EVENTS=2000000
fi
# For the ctest (bench/peers/test_run.sh): smaller inputs, same code paths.
CLI_LINES="${SLUICE_PEERS_CLI_LINES:-$CLI_LINES}"
WC_LINES="${SLUICE_PEERS_WC_LINES:-$WC_LINES}"
NX_EVENTS="${SLUICE_PEERS_NX_EVENTS:-$NX_EVENTS}"
LAT_RATE=5000
WC_PARTITIONS=4

WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/sluice-peers.XXXXXX")"
ROWS="$WORK/rows.txt"
: > "$ROWS"
SERVE_PID=""
REDIS_PID=""
KAFKA_DIR="$WORK/kafka"
KAFKA_STARTED=0

cleanup() {
  local rc=$?
  set +e
  if [[ -n "$SERVE_PID" ]] && kill -0 "$SERVE_PID" 2> /dev/null; then
    kill -TERM "$SERVE_PID"
    wait "$SERVE_PID" 2> /dev/null
  fi
  if [[ -n "$REDIS_PID" ]] && kill -0 "$REDIS_PID" 2> /dev/null; then
    kill -TERM "$REDIS_PID"
    wait "$REDIS_PID" 2> /dev/null
  fi
  if ((KAFKA_STARTED)); then
    "$ROOT/scripts/kafka-cluster.sh" stop --dir "$KAFKA_DIR" 2> /dev/null
  fi
  if ((KEEP)); then
    say "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers --------------------------------------------------------------------------------
port_in_use() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
# A free loopback port P such that P+100 is free too (Kafka's controller listener).
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 20000))
    port_in_use "$p" || port_in_use $((p + 100)) || {
      echo "$p"
      return 0
    }
  done
  die "found no free loopback port"
}
# CPU seconds (user + system) a live process has used so far.
proc_cpu() {
  awk -v tck="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / tck }' \
    "/proc/$1/stat"
}
cpu_diff() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
row() { # row PEER WORKLOAD SIZE ACKS METRIC VALUE UNIT
  local line="peer=$1 workload=$2 size=$3 acks=$4 metric=$5 value=$6 unit=$7"
  echo "$line" | tee -a "$ROWS"
}
# Runs a command under /usr/bin/time; sets WALL and CPU (user + system) of that command.
WALL="" CPU=""
timed() {
  local tf="$WORK/time.$$"
  /usr/bin/time -f '%e %U %S' -o "$tf" "$@"
  read -r WALL u s < "$tf"
  CPU="$(python3 -c "print(f'{$u + $s:.2f}')")"
  python3 -c "import sys; sys.exit(0 if $WALL > 0 else 1)" || WALL=0.01
}
# rate COUNT SECONDS: COUNT / SECONDS, or 0 (shown as n/a in the table) if SECONDS <= 0.
rate() {
  python3 -c "import sys; d = float(sys.argv[2]); print(f'{int(sys.argv[1]) / d:.0f}' if d > 0 else 0)" "$1" "$2"
}

start_serve() {
  local port
  port="$(free_port)"
  "$SLUICE" --data "$WORK/serve-data" serve --listen "127.0.0.1:$port" --no-auto-create \
    > "$WORK/serve.log" 2>&1 &
  SERVE_PID=$!
  SERVE="127.0.0.1:$port"
  local i
  for ((i = 0; i < 100; i++)); do
    kafka_ready "$SERVE" && return 0
    kill -0 "$SERVE_PID" 2> /dev/null || {
      cat "$WORK/serve.log" >&2
      die "sluice serve exited while starting (log above)"
    }
    sleep 0.1
  done
  die "sluice serve did not answer on $SERVE within 10 s"
}
kafka_ready() { kcat -L -b "$1" -m 2 > /dev/null 2>&1; }

start_kafka() {
  local base
  base="$(free_port)"
  say "starting Apache Kafka 4.4.0 (one broker, KRaft combined, -Xmx512m) on 127.0.0.1:$base"
  KAFKA_STARTED=1
  KAFKA="$(SLUICE_KAFKA_HEAP="-Xms64m -Xmx512m" "$ROOT/scripts/kafka-cluster.sh" start \
    --brokers 1 --dir "$KAFKA_DIR" --base-port "$base")" ||
    die "Apache Kafka did not start (scripts/kafka-cluster.sh's messages above)"
  KAFKA_PID="$(cat "$KAFKA_DIR/node1/pid")"
}

create_topic() { # create_topic BOOTSTRAP TOPIC PARTITIONS
  "$SLUICE" -b "$1" topic create "$2" --partitions "$3" > /dev/null ||
    die "could not create topic $2 on $1"
}

# Builds the Maven project bench/peers/NAME (offline first, then from Maven Central) into
# $WORK/NAME and prints the classpath of JAR and its dependencies.
build_java() { # build_java NAME JAR
  local jb="$WORK/$1" args
  mkdir -p "$jb"
  args=(-B -q -f "$HERE/$1/pom.xml" "-Dpeers.build.dir=$jb/target" package
    dependency:build-classpath "-Dmdep.outputFile=$jb/classpath.txt")
  if ! mvn -o "${args[@]}" > "$jb/mvn-offline.log" 2>&1; then
    say "building bench/peers/$1 offline failed; resolving from Maven Central (log: $jb/mvn.log)"
    mvn "${args[@]}" > "$jb/mvn.log" 2>&1 || {
      tail -n 30 "$jb/mvn.log" >&2
      die "Maven could not build bench/peers/$1/pom.xml (log above)"
    }
  fi
  echo "$jb/target/$2:$(cat "$jb/classpath.txt")"
}

# --- settings -------------------------------------------------------------------------------
echo "# sluice peers run $(date -u +%FT%TZ), $(uname -m), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# sluice $(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo unknown) ($BUILD), $(
  if ((QUICK)); then echo "--quick"; else echo "full"; fi) run, workloads: ${ONLY[*]}"
echo "# data under $WORK ($(df -T "$WORK" | awk 'NR == 2 { print $2 }')); everything on 127.0.0.1"

# --- broker ---------------------------------------------------------------------------------
broker_peer() { # broker_peer PEER BOOTSTRAP SERVER_PID
  local peer="$1" boot="$2" pid="$3" size acks n topic c0 c1
  # Untimed warm-up (the JVM's JIT, both servers' first segments and connections).
  create_topic "$boot" warmup 1
  "$LOAD" --broker "$boot" --topic warmup --peer "$peer" --mode produce --records 200000 \
    --size 100 --acks 1 > /dev/null
  "$LOAD" --broker "$boot" --topic warmup --peer "$peer" --mode consume --records 200000 \
    --size 100 --acks 1 > /dev/null
  for size in 100 1024; do
    for acks in 1 all; do
      n=$BROKER_RECORDS_100
      ((size == 1024)) && n=$BROKER_RECORDS_1K
      topic="load-$size-$acks"
      create_topic "$boot" "$topic" 1
      c0="$(proc_cpu "$pid")"
      "$LOAD" --broker "$boot" --topic "$topic" --peer "$peer" --mode produce --records "$n" \
        --size "$size" --acks "$acks" | tee -a "$ROWS"
      c1="$(proc_cpu "$pid")"
      row "$peer" broker "$size" "$acks" produce_server_cpu "$(cpu_diff "$c0" "$c1")" s
      "$LOAD" --broker "$boot" --topic "$topic" --peer "$peer" --mode consume --records "$n" \
        --size "$size" --acks "$acks" | tee -a "$ROWS"
      c0="$(proc_cpu "$pid")"
      row "$peer" broker "$size" "$acks" consume_server_cpu "$(cpu_diff "$c1" "$c0")" s
    done
  done
  for acks in 1 all; do
    topic="lat-$acks"
    create_topic "$boot" "$topic" 1
    "$LOAD" --broker "$boot" --topic "$topic" --peer "$peer" --mode latency --rate "$LAT_RATE" \
      --seconds "$LAT_SECONDS" --warmup-seconds "$LAT_WARMUP" --size 100 --acks "$acks" |
      tee -a "$ROWS"
  done
}

if wanted broker; then
  echo "# broker: client bench/peers/kafka_load (librdkafka $(pkg-config --modversion rdkafka 2> /dev/null || echo '?')), one partition, no compression, values copied into librdkafka"
  echo "# broker: produce linger.ms=5 batch.size=1000000; consume from the beginning, batches of 10000, fetch.wait.max.ms=100"
  echo "# broker: records 100 B x $BROKER_RECORDS_100, 1 KiB x $BROKER_RECORDS_1K; latency: $LAT_RATE records/s of 100 B for ${LAT_SECONDS} s (first ${LAT_WARMUP} s not counted), linger.ms=1 (with 0, sluice serve at acks=all fell behind at 5000/s in a trial here: p50 9.8 s), send time in the value, consumer in the same process"
  echo "# broker: sluice serve acks=all = written and fsynced (group commit) before the ack; Kafka: one broker, replication factor 1, acks=all = in the leader's page cache (no fsync, Kafka's default log.flush settings)"
  echo "# broker: each server first gets an untimed warm-up (200k records of 100 B produced and consumed)"
  echo "# broker: *_server_cpu = the server process's CPU seconds during that step; *_client_cpu = kafka_load's"
  [[ -n "${KAFKA:-}" ]] || start_kafka
  start_serve
  broker_peer "sluice-serve+kafka_load" "$SERVE" "$SERVE_PID"
  broker_peer "kafka+kafka_load" "$KAFKA" "$KAFKA_PID"
fi

# --- cli ------------------------------------------------------------------------------------
cli_check_count() { # cli_check_count WHAT FILE EXPECTED
  local got
  got="$(wc -l < "$2")"
  ((got == $3)) || die "$1: read back $got lines, expected $3 ($2)"
}

if wanted cli; then
  N=$CLI_LINES
  IN="$WORK/cli-in.txt"
  python3 -c "
import sys
out = sys.stdout
for i in range($N):
    out.write('%09d' % i + 'x' * 91 + '\n')
" > "$IN"
  echo "# cli: $N lines of 100 B (+ newline), one partition, producers with acks=all (sluice embedded: fsynced before it exits; sluice serve: fsynced before the ack; Kafka: leader's page cache), otherwise each tool's defaults; consumers write to a file, whose line count is checked"
  echo "# cli: redis 7 $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p'): XADD s * v LINE through redis-cli --pipe, XRANGE s - + through redis-cli --raw; no persistence (save '', appendonly no)"
  echo "# cli: *_client_cpu = the command's CPU seconds (user + system), *_server_cpu = the server's during it"

  # Sluice embedded: the CLI on the data directory, no server.
  D="$WORK/cli-embedded"
  "$SLUICE" --data "$D" topic create c --partitions 1 > /dev/null
  timed "$SLUICE" --data "$D" produce c --acks all < "$IN"
  P="sluice-embedded+sluice-cli"
  row "$P" cli 100 all produce_throughput "$(rate "$N" "$WALL")" records/s
  row "$P" cli 100 all produce_client_cpu "$CPU" s
  timed "$SLUICE" --data "$D" consume c --from-beginning > "$WORK/cli-out.txt"
  cli_check_count "sluice consume (embedded)" "$WORK/cli-out.txt" "$N"
  cmp -s "$IN" "$WORK/cli-out.txt" || die "sluice consume (embedded) did not read back the input"
  row "$P" cli 100 - consume_throughput "$(rate "$N" "$WALL")" records/s
  row "$P" cli 100 - consume_client_cpu "$CPU" s
  rm -rf "$D"

  [[ -n "${SERVE_PID:-}" ]] || start_serve
  [[ -n "${KAFKA:-}" ]] || start_kafka
  cli_over() { # cli_over PEER BOOTSTRAP SERVER_PID CLIENT(sluice|kcat) TOPIC
    local peer="$1" boot="$2" pid="$3" client="$4" topic="$5" c0 c1
    create_topic "$boot" "$topic" 1
    c0="$(proc_cpu "$pid")"
    if [[ "$client" == sluice ]]; then
      timed "$SLUICE" -b "$boot" produce "$topic" --acks all < "$IN"
    else
      timed kcat -P -b "$boot" -t "$topic" -p 0 -X acks=all -l "$IN"
    fi
    c1="$(proc_cpu "$pid")"
    row "$peer" cli 100 all produce_throughput "$(rate "$N" "$WALL")" records/s
    row "$peer" cli 100 all produce_client_cpu "$CPU" s
    row "$peer" cli 100 all produce_server_cpu "$(cpu_diff "$c0" "$c1")" s
    if [[ "$client" == sluice ]]; then
      timed "$SLUICE" -b "$boot" consume "$topic" --from-beginning > "$WORK/cli-out.txt"
    else
      timed kcat -C -b "$boot" -t "$topic" -p 0 -o beginning -e -q > "$WORK/cli-out.txt"
    fi
    c0="$(proc_cpu "$pid")"
    cli_check_count "$peer consume" "$WORK/cli-out.txt" "$N"
    cmp -s "$IN" "$WORK/cli-out.txt" || die "$peer did not read back the input"
    row "$peer" cli 100 - consume_throughput "$(rate "$N" "$WALL")" records/s
    row "$peer" cli 100 - consume_client_cpu "$CPU" s
    row "$peer" cli 100 - consume_server_cpu "$(cpu_diff "$c1" "$c0")" s
  }
  cli_over "sluice-serve+sluice-cli" "$SERVE" "$SERVE_PID" sluice cli-sluice
  cli_over "sluice-serve+kcat" "$SERVE" "$SERVE_PID" kcat cli-kcat
  cli_over "kafka+kcat" "$KAFKA" "$KAFKA_PID" kcat cli-kcat
  cli_over "kafka+sluice-cli" "$KAFKA" "$KAFKA_PID" sluice cli-sluice

  # Redis Streams.
  RPORT="$(free_port)"
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$WORK" --logfile "$WORK/redis.log" &
  REDIS_PID=$!
  for ((i = 0; i < 100; i++)); do
    redis-cli -p "$RPORT" ping > /dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$RPORT" ping > /dev/null 2>&1 || die "redis-server did not answer (log: $WORK/redis.log)"
  python3 -c "
import sys
out = sys.stdout.buffer
for line in open(sys.argv[1], 'rb'):
    v = line.rstrip(b'\n')
    out.write(b'*5\r\n\$4\r\nXADD\r\n\$1\r\ns\r\n\$1\r\n*\r\n\$1\r\nv\r\n\$%d\r\n%s\r\n' % (len(v), v))
" "$IN" > "$WORK/xadd.resp"
  P="redis+redis-cli"
  c0="$(proc_cpu "$REDIS_PID")"
  timed redis-cli -p "$RPORT" --pipe < "$WORK/xadd.resp" > "$WORK/pipe.log"
  c1="$(proc_cpu "$REDIS_PID")"
  grep -q "errors: 0, replies: $N" "$WORK/pipe.log" || die "redis-cli --pipe: $(tail -n 1 "$WORK/pipe.log")"
  [[ "$(redis-cli -p "$RPORT" XLEN s)" == "$N" ]] || die "redis: XLEN s is not $N"
  row "$P" cli 100 - produce_throughput "$(rate "$N" "$WALL")" records/s
  row "$P" cli 100 - produce_client_cpu "$CPU" s
  row "$P" cli 100 - produce_server_cpu "$(cpu_diff "$c0" "$c1")" s
  timed redis-cli -p "$RPORT" --raw XRANGE s - + > "$WORK/xrange.txt"
  c0="$(proc_cpu "$REDIS_PID")"
  # --raw prints id, field and value on three lines per entry.
  got="$(awk 'NR % 3 == 0' "$WORK/xrange.txt" | cmp -s - "$IN" && echo same || echo different)"
  [[ "$got" == same ]] || die "redis: XRANGE did not return the input lines"
  row "$P" cli 100 - consume_throughput "$(rate "$N" "$WALL")" records/s
  row "$P" cli 100 - consume_client_cpu "$CPU" s
  row "$P" cli 100 - consume_server_cpu "$(cpu_diff "$c1" "$c0")" s
  kill -TERM "$REDIS_PID"
  wait "$REDIS_PID" 2> /dev/null || true
  REDIS_PID=""
  rm -f "$WORK/xadd.resp" "$WORK/xrange.txt" "$WORK/cli-out.txt"
fi

# --- wordcount ------------------------------------------------------------------------------
if wanted wordcount; then
  [[ -n "${KAFKA:-}" ]] || start_kafka
  JCP="$(build_java java sluice-peers-bench-1.jar)"

  # wc_input FILE LINES: writes LINES lines of 1-5 words from 10,000 and prints the word count.
  wc_input() {
    python3 -c "
import random, sys
random.seed(14)
vocab = ['w%d' % i for i in range(10000)]
words = 0
with open(sys.argv[1], 'w') as f:
    for _ in range(int(sys.argv[2])):
        n = random.randint(1, 5)
        words += n
        f.write(' '.join(random.choice(vocab) for _ in range(n)) + '\n')
print(words)
" "$1" "$2"
  }
  WC_SMALL_LINES=200
  WORDS="$(wc_input "$WORK/wc-big.txt" "$WC_LINES")"
  SMALL_WORDS="$(wc_input "$WORK/wc-small.txt" "$WC_SMALL_LINES")"
  echo "# wordcount: $WC_LINES lines of 1-5 words from 10,000 (\"w123\"), $WORDS words, $WC_PARTITIONS partitions, exactly-once, one thread, commit interval 100 ms (both defaults); one output record per word, checked (read_committed)"
  echo "# wordcount: Kafka Streams 4.4.0 exactly_once_v2, record cache off, RocksDB store, java -Xmx512m; app_cpu = the JVM's CPU from start() until its commits reach the input's end"
  echo "# wordcount: sluice run wordcount --until-end: embedded = on a data directory (--exchange local), +kafka = -b to the same Kafka broker; app_cpu = the process's"
  echo "# wordcount: startup_cpu_s = the same run over $WC_SMALL_LINES lines ($SMALL_WORDS words, own topics); lines_per_app_cpu_s_after_startup = lines / (app_cpu - startup_cpu_s)"

  # Each function runs one word count over TAG's lines (small or big) and sets RUN_SECS,
  # RUN_CPU and RUN_BROKER_CPU, after checking the output's committed record count.
  ks_wordcount() { # ks_wordcount TAG WORDS
    local out c0 c1
    create_topic "$KAFKA" "wc-in-$1" "$WC_PARTITIONS"
    create_topic "$KAFKA" "wc-out-ks-$1" "$WC_PARTITIONS"
    kcat -P -b "$KAFKA" -t "wc-in-$1" -l "$WORK/wc-$1.txt" ||
      die "kcat could not produce the word count input"
    c0="$(proc_cpu "$KAFKA_PID")"
    out="$(java -Xms64m -Xmx512m -Dorg.slf4j.simpleLogger.defaultLogLevel=error -cp "$JCP" \
      dev.sluice.peers.PeersWordCount "$KAFKA" "$WORK/ks-state-$1" "wc-in-$1" "wc-out-ks-$1" \
      "peers-wc-ks-$1" "$2" 1)" || die "Kafka Streams word count ($1) failed (output: $out)"
    c1="$(proc_cpu "$KAFKA_PID")"
    RUN_SECS="$(sed -n 's/^seconds=\([0-9.]*\) .*/\1/p' <<< "$out")"
    RUN_CPU="$(sed -n 's/^seconds=[0-9.]* cpu_s=\([0-9.]*\) .*/\1/p' <<< "$out")"
    [[ -n "$RUN_SECS" && -n "$RUN_CPU" ]] || die "Kafka Streams word count printed no timing: $out"
    RUN_BROKER_CPU="$(cpu_diff "$c0" "$c1")"
  }
  sluice_kafka_wordcount() { # sluice_kafka_wordcount TAG WORDS
    local got c0 c1
    create_topic "$KAFKA" "wc-out-sl-$1" "$WC_PARTITIONS"
    c0="$(proc_cpu "$KAFKA_PID")"
    timed "$SLUICE" -b "$KAFKA" run wordcount --input "wc-in-$1" --output "wc-out-sl-$1" \
      --app "peers-wc-sl-$1" --state "$WORK/sl-state-$1" --until-end --quiet
    c1="$(proc_cpu "$KAFKA_PID")"
    got="$(kcat -C -b "$KAFKA" -t "wc-out-sl-$1" -X isolation.level=read_committed -o beginning \
      -e -q -f 'x\n' | wc -l)"
    ((got == $2)) ||
      die "sluice run wordcount -b ($1): wc-out-sl-$1 holds $got committed records, expected $2"
    RUN_SECS=$WALL RUN_CPU=$CPU RUN_BROKER_CPU="$(cpu_diff "$c0" "$c1")"
  }
  sluice_embedded_wordcount() { # sluice_embedded_wordcount TAG WORDS
    local got d="$WORK/wc-embedded-$1"
    "$SLUICE" --data "$d" topic create wc-in --partitions "$WC_PARTITIONS" > /dev/null
    "$SLUICE" --data "$d" produce wc-in < "$WORK/wc-$1.txt" > /dev/null
    timed "$SLUICE" --data "$d" run wordcount --input wc-in --output wc-out \
      --state "$WORK/se-state-$1" --exchange local --until-end --quiet
    got="$("$SLUICE" --data "$d" consume wc-out --from-beginning --isolation read_committed \
      --format 'x\n' | wc -l)"
    ((got == $2)) ||
      die "sluice run wordcount (embedded, $1): wc-out holds $got committed records, expected $2"
    RUN_SECS=$WALL RUN_CPU=$CPU RUN_BROKER_CPU=""
    rm -rf "$d"
  }
  # In this order: ks_wordcount creates and fills the topics wc-in-TAG that sluice -b reads.
  for peer in kafka+kafka-streams sluice+kafka sluice-embedded; do
    case "$peer" in
      kafka+kafka-streams) run=ks_wordcount ;;
      sluice+kafka) run=sluice_kafka_wordcount ;;
      sluice-embedded) run=sluice_embedded_wordcount ;;
    esac
    "$run" small "$SMALL_WORDS" > /dev/null
    small_cpu=$RUN_CPU
    "$run" big "$WORDS" > /dev/null
    row "$peer" wordcount_eos - all throughput "$(rate "$WC_LINES" "$RUN_SECS")" lines/s
    row "$peer" wordcount_eos - all app_cpu "$RUN_CPU" s
    [[ -z "$RUN_BROKER_CPU" ]] || row "$peer" wordcount_eos - all broker_cpu "$RUN_BROKER_CPU" s
    row "$peer" wordcount_eos - all lines_per_app_cpu_s "$(rate "$WC_LINES" "$RUN_CPU")" lines/s
    row "$peer" wordcount_eos - all startup_cpu_s "$small_cpu" s
    row "$peer" wordcount_eos - all lines_per_app_cpu_s_after_startup \
      "$(rate "$WC_LINES" "$(cpu_diff "$small_cpu" "$RUN_CPU")")" lines/s
  done
fi

# --- nexmark --------------------------------------------------------------------------------
if wanted nexmark; then
  FCP="$(build_java flink sluice-peers-flink-1.jar)"
  NX="$WORK/nexmark"
  D="$NX/data"
  mkdir -p "$NX"
  # The bids (sorted by event time for Flink's single file) and the results each query must
  # write: q1 one per bid, q5 one per 10 s window (sliding by 2 s) holding a bid, q7 one per 10 s
  # tumbling window holding a bid. Sets NAME_BIDS, NAME_q1, NAME_q5, NAME_q7.
  nexmark_data() { # nexmark_data NAME DATA_DIR EVENTS
    local counts
    "$SLUICE" --data "$2" gen nexmark --events "$3" --partitions 2 --rate 2000 > /dev/null 2>&1 ||
      die "sluice gen nexmark --events $3 failed"
    "$SLUICE" --data "$2" consume bids --from-beginning > "$NX/$1-by-partition.json"
    counts="$(python3 -c "
import re, sys
time = re.compile(rb'\"date_time\":(-?[0-9]+)')
lines = open(sys.argv[1], 'rb').readlines()
lines.sort(key=lambda l: int(time.search(l).group(1)))
open(sys.argv[2], 'wb').writelines(lines)
ts = [int(time.search(l).group(1)) for l in lines]
q5 = {s for t in ts for s in range((t // 2000 - 4) * 2000, t + 1, 2000) if s <= t < s + 10000}
q7 = {t // 10000 for t in ts}
print(len(lines), len(lines), len(q5), len(q7))
" "$NX/$1-by-partition.json" "$NX/$1.json")"
    rm -f "$NX/$1-by-partition.json"
    read -r "${1}_BIDS" "${1}_q1" "${1}_q5" "${1}_q7" <<< "$counts"
  }
  # Runs sluice run nexmark QUERY with THREADS on DATA_DIR, checks its result count; sets WALL/CPU.
  sluice_nexmark() { # sluice_nexmark DATA_DIR QUERY THREADS EXPECTED TAG
    local got
    timed "$SLUICE" --data "$1" run nexmark --query "$2" --until-end --threads "$3" \
      --state "$NX/state-$5-$2-$3" --app "peers-$2-$3" --output-prefix "p$3-" --quiet \
      > "$NX/run.log" 2>&1 || {
      cat "$NX/run.log" >&2
      die "sluice run nexmark --query $2 --threads $3 ($5) failed (output above)"
    }
    got="$("$SLUICE" --data "$1" consume "p$3-nexmark-$2" --from-beginning \
      --isolation read_committed --format 'x\n' | wc -l)"
    ((got == $4)) || die "sluice run nexmark $2 (threads $3, $5) wrote $got results, expected $4"
  }
  nexmark_data big "$D" "$NX_EVENTS"
  nexmark_data small "$NX/small-data" 100
  NX_BIDS=$big_BIDS
  echo "# nexmark: sluice gen nexmark --events $NX_EVENTS --rate 2000 --partitions 2: $NX_BIDS bids; expected results q1 $big_q1, q5 $big_q5, q7 $big_q7 (checked for both)"
  echo "# nexmark: startup_cpu_s = the same run over $small_BIDS bids (--events 100): what a run costs whatever its input; bids_per_cpu_s_after_startup = bids / (cpu_s - startup_cpu_s)"
  echo "# nexmark: Flink 2.3.0 local mini-cluster, DataStream API, java -Xmx512m, reads the bids from one JSON-lines file in event-time order (FileSource), parses the four fields it needs with indexOf, monotonous watermarks; the query runs twice in one JVM and the second run is timed (its cpu_s = the JVM's CPU over env.execute(), mini-cluster start included)"
  echo "# nexmark: sluice run nexmark --query Q --until-end --threads P on the data directory (exactly-once, full JSON parse); cpu_s = the process's"
  echo "# nexmark: workload nexmark_Q_pP = parallelism (Flink) or threads (Sluice) P; throughput = bids / wall second, bids_per_cpu_s = bids / CPU second (per core)"
  for q in q1 q5 q7; do
    want_var="big_$q"
    small_var="small_$q"
    for par in 1 2; do
      W="nexmark_${q}_p$par"
      sluice_nexmark "$NX/small-data" "$q" "$par" "${!small_var}" small
      small_cpu=$CPU
      sluice_nexmark "$D" "$q" "$par" "${!want_var}" big
      P="sluice-embedded"
      row "$P" "$W" - - throughput "$(rate "$NX_BIDS" "$WALL")" bids/s
      row "$P" "$W" - - cpu_s "$CPU" s
      row "$P" "$W" - - bids_per_cpu_s "$(rate "$NX_BIDS" "$CPU")" bids/s
      row "$P" "$W" - - startup_cpu_s "$small_cpu" s
      row "$P" "$W" - - bids_per_cpu_s_after_startup \
        "$(rate "$NX_BIDS" "$(cpu_diff "$small_cpu" "$CPU")")" bids/s

      OUT="$(java -Xms64m -Xmx512m -Dorg.slf4j.simpleLogger.defaultLogLevel=error -cp "$FCP" \
        dev.sluice.peers.PeersNexmark "$q" "$NX/big.json" "$par" "${!want_var}" \
        "$NX/small.json" "${!small_var}")" ||
        die "Flink nexmark $q (parallelism $par) failed (output: $OUT)"
      secs="$(sed -n 's/^seconds=\([0-9.]*\) .*/\1/p' <<< "$OUT")"
      cpu="$(sed -n 's/^seconds=[0-9.]* cpu_s=\([0-9.]*\) .*/\1/p' <<< "$OUT")"
      small_cpu="$(sed -n 's/.* small_cpu_s=\([0-9.]*\).*/\1/p' <<< "$OUT")"
      [[ -n "$secs" && -n "$cpu" && -n "$small_cpu" ]] ||
        die "Flink nexmark $q printed no timing (output: $OUT)"
      P="flink-minicluster"
      row "$P" "$W" - - throughput "$(rate "$NX_BIDS" "$secs")" bids/s
      row "$P" "$W" - - cpu_s "$cpu" s
      row "$P" "$W" - - bids_per_cpu_s "$(rate "$NX_BIDS" "$cpu")" bids/s
      row "$P" "$W" - - startup_cpu_s "$small_cpu" s
      row "$P" "$W" - - bids_per_cpu_s_after_startup \
        "$(rate "$NX_BIDS" "$(cpu_diff "$small_cpu" "$cpu")")" bids/s
    done
  done
  rm -rf "$NX"
fi

echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 "$HERE/ratios.py" < "$ROWS"
