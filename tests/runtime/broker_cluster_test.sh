#!/usr/bin/env bash
# Runs the BrokerClusterCrashTest cases of runtime_broker_crash_test against a fresh 3-broker
# Kafka 4.4 cluster (scripts/kafka-cluster.sh) on free loopback ports, and stops the cluster.
# Usage: broker_cluster_test.sh <kafka-cluster.sh> <runtime_broker_crash_test binary>
set -euo pipefail
script="$1"
binary="$2"
dir="$(mktemp -d "${TMPDIR:-/tmp}/sluice-broker-cluster.XXXXXX")"
# Client ports BASE..BASE+2, controllers BASE+100..: below the ephemeral range, checked free.
base=""
for _ in $(seq 200); do
  candidate=$((20000 + RANDOM % 12000))
  busy=0
  for port in $candidate $((candidate + 1)) $((candidate + 2)) $((candidate + 100)) \
      $((candidate + 101)) $((candidate + 102)); do
    if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then busy=1; fi
  done
  if [[ "$busy" == 0 ]]; then base="$candidate"; break; fi
done
[[ -n "$base" ]] || { echo "found no free loopback ports" >&2; exit 1; }
cleanup() {
  "$script" stop --dir "$dir" > /dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
bootstrap="$("$script" start --brokers 3 --dir "$dir" --base-port "$base" --fresh)"
SLUICE_KAFKA_BOOTSTRAP="$bootstrap" SLUICE_KAFKA_CLUSTER_SCRIPT="$script" \
  SLUICE_KAFKA_CLUSTER_DIR="$dir" "$binary" --gtest_filter='BrokerClusterCrashTest.*:BrokerClusterInstancesTest.*'
