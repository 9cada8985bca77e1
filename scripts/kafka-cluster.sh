#!/usr/bin/env bash
# A real Apache Kafka 4.4.0 cluster on loopback, for tests and for trying Sluice on a cluster.
#
#   scripts/kafka-cluster.sh start   [--brokers 3] [--dir DIR] [--base-port 19092] [--fresh]
#   scripts/kafka-cluster.sh stop    [--dir DIR]
#   scripts/kafka-cluster.sh status  [--dir DIR]
#   scripts/kafka-cluster.sh bootstrap [--dir DIR]
#   scripts/kafka-cluster.sh kill-broker N    [--dir DIR]   (SIGKILL: a crash)
#   scripts/kafka-cluster.sh restart-broker N [--dir DIR]   (starts it again with its data)
#
# The broker is the Maven Central artifact org.apache.kafka:kafka_2.13 and what it depends on,
# resolved by scripts/kafka/pom.xml into the local Maven cache (~/.m2; the first start downloads
# about 70 MB); no Kafka tarball is used. Needs Java 17+, Maven and kcat (scripts/install-deps.sh).
#
# Each node is broker and controller at once (KRaft combined mode, a static quorum of all
# nodes). Node N (1-based) serves clients on 127.0.0.1:BASE+N-1 and the controller quorum on
# 127.0.0.1:BASE+100+N-1. Topics: replication factor 3 (at most the broker count),
# min.insync.replicas 2, no auto-creation. Each JVM gets -Xmx384m (SLUICE_KAFKA_HEAP overrides).
#
# `start` formats a fresh cluster (new cluster id) when DIR has none, or starts the stopped
# cluster in DIR again with its data; --fresh deletes DIR's cluster first. It waits until every
# broker answers (kcat -L lists all of them), at most SLUICE_KAFKA_START_TIMEOUT seconds (180),
# and prints the bootstrap string on stdout: 127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3. Everything
# else goes to stderr. `stop` shuts every broker down cleanly (SIGTERM; SIGKILL after
# SLUICE_KAFKA_STOP_TIMEOUT seconds, 60). DIR (default /tmp/sluice-kafka-cluster) holds
# cluster.env, classpath.txt and one folder per node: server.properties, data/, logs/server.log,
# stdout.log (the JVM's own output) and pid while it runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/scripts/kafka/pom.xml"
LOG4J_CONFIG="$ROOT/scripts/kafka/log4j2.properties"
CONTROLLER_PORT_OFFSET=100
START_TIMEOUT="${SLUICE_KAFKA_START_TIMEOUT:-180}"
STOP_TIMEOUT="${SLUICE_KAFKA_STOP_TIMEOUT:-60}"
HEAP="${SLUICE_KAFKA_HEAP:--Xms64m -Xmx384m}"

say() { echo "kafka-cluster: $*" >&2; }
die() {
  say "$*"
  exit 1
}
usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

command="${1:-}"
[[ -z "$command" || "$command" == -h || "$command" == --help ]] && usage
shift
node_arg=""
if [[ "$command" == kill-broker || "$command" == restart-broker ]]; then
  node_arg="${1:-}"
  [[ "$node_arg" =~ ^[1-9][0-9]*$ ]] || die "$command needs a broker number (1, 2, ...)"
  shift
fi
opt_brokers=""
opt_base_port=""
opt_fresh=0
DIR="${SLUICE_KAFKA_DIR:-/tmp/sluice-kafka-cluster}"
while (($#)); do
  case "$1" in
    --brokers) opt_brokers="${2:?--brokers needs a number}"; shift 2 ;;
    --dir) DIR="${2:?--dir needs a folder}"; shift 2 ;;
    --base-port) opt_base_port="${2:?--base-port needs a port}"; shift 2 ;;
    --fresh) opt_fresh=1; shift ;;
    *) say "unknown argument '$1'"; usage ;;
  esac
done
[[ -z "$opt_brokers" || "$opt_brokers" =~ ^[1-9]$ ]] || die "--brokers takes 1 to 9"
[[ -z "$opt_base_port" || "$opt_base_port" =~ ^[0-9]+$ ]] || die "--base-port takes a number"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"

# --- the cluster's description (written once by start, read by every other command) ---------
BROKERS=""
BASE_PORT=""
CLUSTER_ID=""
load_env() {
  [[ -f "$DIR/cluster.env" ]] || return 1
  # shellcheck disable=SC1091
  source "$DIR/cluster.env"
}
need_env() {
  load_env || die "no cluster in $DIR (start one with: scripts/kafka-cluster.sh start --dir $DIR)"
}
client_port() { echo $((BASE_PORT + $1 - 1)); }
controller_port() { echo $((BASE_PORT + CONTROLLER_PORT_OFFSET + $1 - 1)); }
node_dir() { echo "$DIR/node$1"; }
bootstrap() {
  local n out=()
  for ((n = 1; n <= BROKERS; n++)); do out+=("127.0.0.1:$(client_port "$n")"); done
  (IFS=,; echo "${out[*]}")
}

# --- processes ------------------------------------------------------------------------------
# Prints the pid of node N if its JVM runs (the pid file names a live kafka.Kafka process with
# this node's config, so a reused pid is never taken for a broker).
node_pid() {
  local pidfile pid cmdline
  pidfile="$(node_dir "$1")/pid"
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  cmdline="$(tr '\0' ' ' 2> /dev/null < "/proc/$pid/cmdline")" || return 1
  [[ "$cmdline" == *"kafka.Kafka $(node_dir "$1")/server.properties"* ]] || return 1
  echo "$pid"
}
port_in_use() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# Prints the broker ids that the cluster's metadata lists (kcat asks any live bootstrap broker).
metadata_brokers() {
  local out
  out="$(kcat -L -b "$(bootstrap)" -m 5 -X socket.timeout.ms=5000 2> /dev/null)" || true
  sed -n 's/^ *broker \([0-9]*\) at .*/\1/p' <<< "$out" | sort -n | tr '\n' ' '
}

last_logs() {
  local n d
  for n in "$@"; do
    d="$(node_dir "$n")"
    say "--- last lines of node $n's logs ($d/logs/server.log, $d/stdout.log):"
    tail -n 15 "$d/logs/server.log" 2> /dev/null | sed 's/^/  /' >&2 || true
    tail -n 10 "$d/stdout.log" 2> /dev/null | sed 's/^/  /' >&2 || true
  done
}

# --- prerequisites --------------------------------------------------------------------------
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
check_tools() {
  command -v "$JAVA" > /dev/null ||
    die "Java is not installed (need Java 17 or newer): run scripts/install-deps.sh"
  local version
  version="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
  [[ -n "$version" && "$version" -ge 17 ]] ||
    die "Kafka 4.4 needs Java 17 or newer; '$JAVA' is version ${version:-unknown}: run scripts/install-deps.sh or set JAVA_HOME"
  command -v mvn > /dev/null || die "Maven (mvn) is not installed: run scripts/install-deps.sh"
  command -v kcat > /dev/null || die "kcat is not installed: run scripts/install-deps.sh"
}

# Writes DIR/classpath.txt from the pom (Maven downloads the jars on first use) unless it is
# newer than the pom and every jar in it is still in the Maven cache.
CLASSPATH_FILE=""
resolve_classpath() {
  CLASSPATH_FILE="$DIR/classpath.txt"
  if [[ -s "$CLASSPATH_FILE" && "$CLASSPATH_FILE" -nt "$POM" ]]; then
    local jar missing=0
    while IFS= read -r -d: jar || [[ -n "$jar" ]]; do
      [[ -f "$jar" ]] || missing=1
    done < "$CLASSPATH_FILE"
    ((missing == 0)) && return 0
  fi
  say "resolving Kafka's jars with Maven (the first time downloads ~70 MB into ~/.m2)"
  rm -f "$CLASSPATH_FILE"
  if ! mvn -B -q -f "$POM" dependency:build-classpath -Dmdep.outputFile="$CLASSPATH_FILE" \
    > "$DIR/mvn.log" 2>&1 || [[ ! -s "$CLASSPATH_FILE" ]]; then
    tail -n 20 "$DIR/mvn.log" | sed 's/^/  /' >&2
    die "Maven could not resolve $POM (log: $DIR/mvn.log); it needs Maven Central or a local cache that has the jars"
  fi
}

# Sets JAVA_CMD to the command line of a JVM for node N running MAIN_CLASS ARGS...
JAVA_CMD=()
java_cmd() {
  local n="$1" heap
  shift
  read -r -a heap <<< "$HEAP"
  JAVA_CMD=("$JAVA" "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dkafka.logs.dir="$(node_dir "$n")/logs"
    -cp "$(cat "$CLASSPATH_FILE")" "$@")
}

# --- configuration --------------------------------------------------------------------------
write_config() {
  local n="$1" d voters="" i rf isr
  d="$(node_dir "$n")"
  for ((i = 1; i <= BROKERS; i++)); do
    voters+="${voters:+,}$i@127.0.0.1:$(controller_port "$i")"
  done
  rf=$((BROKERS < 3 ? BROKERS : 3))
  isr=$((rf < 2 ? rf : 2))
  mkdir -p "$d/data" "$d/logs"
  cat > "$d/server.properties" << EOF
# Written by scripts/kafka-cluster.sh for node $n of the cluster in $DIR.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(client_port "$n"),CONTROLLER://127.0.0.1:$(controller_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(client_port "$n")
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$d/data

# Durability: every partition on $rf brokers, acks=all needs $isr of them in sync.
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
unclean.leader.election.enable=false
# Topics are created explicitly (as Sluice does), so a typo in a topic name is an error.
auto.create.topics.enable=false
num.partitions=3

# Small for tests on a small machine: few threads, few internal partitions, small segments,
# a log cleaner (compacted changelogs) with a small buffer, no rebalance delay.
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
background.threads=4
offsets.topic.num.partitions=6
transaction.state.log.num.partitions=6
log.segment.bytes=16777216
log.retention.hours=24
log.retention.check.interval.ms=60000
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
group.initial.rebalance.delay.ms=0
# The stop command stops every node at once. A controlled shutdown (moving leaders away first) has no
# broker to move them to then, and it waits up to 5 minutes for a controller's approval that
# never comes once the other nodes' controllers are gone (seen here: one broker hung past 60 s).
# Without it each broker still flushes its logs and shuts down cleanly.
controlled.shutdown.enable=false
EOF
}

# --- start / stop ---------------------------------------------------------------------------
# Size of each started node's server.log before its start: wait_ready looks for the JVM's
# "Kafka Server started" line after it (the metadata still lists a killed broker until the
# controller fences it, so the listing alone does not show that a restarted broker runs).
declare -A LOG_MARK=()
check_ports() {
  local n="$1" port
  for port in "$(client_port "$n")" "$(controller_port "$n")"; do
    if port_in_use "$port"; then
      die "port $port (node $n) is in use by another program; stop it, or pick other ports with --base-port P (and --fresh)"
    fi
  done
}

start_node() {
  local n="$1" d
  d="$(node_dir "$n")"
  LOG_MARK[$n]="$(stat -c %s "$d/logs/server.log" 2> /dev/null || echo 0)"
  check_ports "$n"
  rm -f "$d/pid"
  echo "--- $(date -u +%FT%TZ) start" >> "$d/stdout.log"
  # setsid: the broker outlives this script and a Ctrl-C in its terminal; the pid file is
  # written by the process that then becomes the JVM.
  java_cmd "$n" kafka.Kafka "$d/server.properties"
  setsid bash -c 'echo $$ > "$1"; shift; exec "$@"' _ "$d/pid" "${JAVA_CMD[@]}" \
    >> "$d/stdout.log" 2>&1 < /dev/null &
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "$d/pid" ]] && return 0
    sleep 0.1
  done
  die "node $n did not start (see $d/stdout.log)"
}

# True once node N's log says its server started (since start_node N, if it started it).
node_started() {
  local log mark size
  log="$(node_dir "$1")/logs/server.log"
  mark="${LOG_MARK[$1]:-0}"
  size="$(stat -c %s "$log" 2> /dev/null || echo 0)"
  ((size >= mark)) || mark=0 # the log rolled over meanwhile
  tail -c "+$((mark + 1))" "$log" 2> /dev/null |
    grep -F "[KafkaRaftServer nodeId=$1] Kafka Server started" > /dev/null
}

# Waits until every node in "$@" runs, logged that it started, and is listed in the metadata.
wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT)) n listed want
  while true; do
    for n in "$@"; do
      if ! node_pid "$n" > /dev/null; then
        last_logs "$n"
        die "broker $n exited while starting; its logs above say why"
      fi
    done
    listed=" $(metadata_brokers)"
    want=1
    for n in "$@"; do
      [[ "$listed" == *" $n "* ]] && node_started "$n" || want=0
    done
    ((want)) && return 0
    if ((SECONDS >= deadline)); then
      last_logs "$@"
      die "the cluster did not answer within ${START_TIMEOUT}s (brokers listed:${listed:- none}); logs above"
    fi
    sleep 1
  done
}

format_nodes() {
  local n d pids=()
  for ((n = 1; n <= BROKERS; n++)); do
    d="$(node_dir "$n")"
    java_cmd "$n" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$d/server.properties"
    "${JAVA_CMD[@]}" > "$d/format.log" 2>&1 &
    pids+=($!)
  done
  for ((n = 1; n <= BROKERS; n++)); do
    if ! wait "${pids[n - 1]}"; then
      cat "$(node_dir "$n")/format.log" >&2
      die "formatting node $n's data folder failed (output above)"
    fi
  done
}

new_cluster_id() {  # 16 random bytes, URL-safe base64 without padding: Kafka's Uuid form
  # An id that starts with '-' would be read as an option by StorageTool's argument parser (1 start
  # in 64 failed "expected one argument"), so draw again until it does not.
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* ]] && break
  done
  printf '%s\n' "$id"
}

cmd_start() {
  check_tools
  if ((opt_fresh)) && load_env; then
    for ((n = 1; n <= BROKERS; n++)); do
      node_pid "$n" > /dev/null && die "the cluster in $DIR is running; stop it before --fresh"
    done
    rm -rf "$DIR"/node* "$DIR/cluster.env"
  fi
  local n fresh=0
  if load_env; then
    [[ -z "$opt_brokers" || "$opt_brokers" == "$BROKERS" ]] ||
      die "$DIR holds a cluster of $BROKERS brokers; use --fresh to replace it"
    [[ -z "$opt_base_port" || "$opt_base_port" == "$BASE_PORT" ]] ||
      die "$DIR holds a cluster on base port $BASE_PORT; use --fresh to replace it"
  else
    BROKERS="${opt_brokers:-3}"
    BASE_PORT="${opt_base_port:-19092}"
    CLUSTER_ID="$(new_cluster_id)"
    fresh=1
  fi
  ((BASE_PORT + CONTROLLER_PORT_OFFSET + BROKERS - 1 <= 65535)) || die "--base-port is too high"
  resolve_classpath
  local to_start=()
  for ((n = 1; n <= BROKERS; n++)); do
    node_pid "$n" > /dev/null || to_start+=("$n")
  done
  for n in "${to_start[@]}"; do check_ports "$n"; done
  if ((fresh)); then
    say "formatting a new cluster ($BROKERS brokers, cluster id $CLUSTER_ID) in $DIR"
    for ((n = 1; n <= BROKERS; n++)); do write_config "$n"; done
    format_nodes
    printf 'BROKERS=%s\nBASE_PORT=%s\nCLUSTER_ID=%s\n' "$BROKERS" "$BASE_PORT" "$CLUSTER_ID" \
      > "$DIR/cluster.env"
  elif ((${#to_start[@]})); then
    say "starting the cluster in $DIR again with its data (brokers ${to_start[*]})"
  else
    say "the cluster in $DIR already runs"
  fi
  for n in "${to_start[@]}"; do start_node "$n"; done
  wait_ready $(seq 1 "$BROKERS")
  say "$BROKERS brokers answer; stop with: scripts/kafka-cluster.sh stop --dir $DIR"
  bootstrap
}

# Sends SIGTERM to the given nodes' JVMs and waits for them to exit; SIGKILL after the timeout.
stop_nodes() {
  local n pid pids=() deadline=$((SECONDS + STOP_TIMEOUT)) left
  for n in "$@"; do
    if pid="$(node_pid "$n")"; then
      kill -TERM "$pid"
      pids+=("$n:$pid")
    fi
  done
  while true; do
    left=()
    for n in "${pids[@]}"; do kill -0 "${n#*:}" 2> /dev/null && left+=("$n"); done
    ((${#left[@]} == 0)) && break
    if ((SECONDS >= deadline)); then
      for n in "${left[@]}"; do
        say "broker ${n%%:*} did not stop within ${STOP_TIMEOUT}s; killing it (SIGKILL)"
        kill -KILL "${n#*:}" 2> /dev/null || true
      done
      sleep 1
      break
    fi
    sleep 0.5
  done
  for n in "$@"; do rm -f "$(node_dir "$n")/pid"; done
}

cmd_stop() {
  need_env
  stop_nodes $(seq 1 "$BROKERS")
  say "stopped the cluster in $DIR (its data stays; start it again with: scripts/kafka-cluster.sh start --dir $DIR)"
}

cmd_status() {
  need_env
  local n pid running=0
  for ((n = 1; n <= BROKERS; n++)); do
    if pid="$(node_pid "$n")"; then
      echo "broker $n: running (pid $pid) on 127.0.0.1:$(client_port "$n")"
      running=$((running + 1))
    else
      echo "broker $n: stopped"
    fi
  done
  echo "brokers in the metadata: $(metadata_brokers)"
  echo "bootstrap: $(bootstrap)"
  ((running == BROKERS))
}

check_node() {
  ((node_arg >= 1 && node_arg <= BROKERS)) || die "broker $node_arg does not exist (brokers 1..$BROKERS)"
}

cmd_kill_broker() {
  need_env
  check_node
  local pid i
  pid="$(node_pid "$node_arg")" || die "broker $node_arg is not running"
  kill -KILL "$pid"
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2> /dev/null && die "broker $node_arg (pid $pid) still runs after SIGKILL"
  rm -f "$(node_dir "$node_arg")/pid"
  say "killed broker $node_arg (pid $pid) with SIGKILL; start it again with: scripts/kafka-cluster.sh restart-broker $node_arg --dir $DIR"
}

cmd_restart_broker() {
  need_env
  check_node
  check_tools
  node_pid "$node_arg" > /dev/null && die "broker $node_arg is running (kill-broker $node_arg first)"
  resolve_classpath
  start_node "$node_arg"
  wait_ready "$node_arg"
  say "broker $node_arg runs again"
}

case "$command" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  bootstrap) need_env && bootstrap ;;
  kill-broker) cmd_kill_broker ;;
  restart-broker) cmd_restart_broker ;;
  *) say "unknown command '$command'"; usage ;;
esac
