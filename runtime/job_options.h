// JobOptions: how a job runs. Plain struct; every field has its default in the comment.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "core/types.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace sluice {

class Log;

enum class ProcessingGuarantee {
  // State, input offsets and pending outputs commit in one synced RocksDB write; outputs are
  // published after it with idempotent sequences fixed in that write. No duplicates, no loss.
  kExactlyOnce,
  // Outputs are appended before state and offsets are committed (unsynced). No loss; a crash
  // may repeat the outputs of the last uncommitted interval.
  kAtLeastOnce,
};

// How records cross a repartition (a KeyBy before a stateful operator) between stages.
enum class Exchange {
  // Through repartition topics "<app>-<store>-repartition" in the log, the Kafka Streams way:
  // each task commits on its own, and the next stage reads the topic like any input (only where
  // it is fsynced). The topics can be inspected and replayed.
  kLog,
  // In memory, inside the job's process: a stage's records go straight to the next stage's tasks,
  // and the job commits all its tasks in one RocksDB write (a next-stage task's state depends on
  // the offsets of every task that fed it). No repartition topic is created or written, so none
  // grows on disk; faster (figures in bench/README.md).
  kLocal,
};

// Where a task starts reading an input partition that has no committed offset.
enum class StartPosition { kEarliest, kLatest, kTimestamp };

struct JobOptions {
  // Application id: names the state, the repartition topics ("<app>-<store>-repartition") and
  // the consumer group its offsets are mirrored into. Required; topic-name characters only.
  std::string application_id;
  // The log's data directory, used when `log` is null. Default "./sluice-data".
  std::string data_dir = "./sluice-data";
  // An already open (writer) Log to use instead of opening data_dir. Not owned. Default null.
  Log* log = nullptr;
  // Directory for job state; the RocksDB instance lives in <state_dir>/<application_id>.
  // Default "./sluice-state".
  std::string state_dir = "./sluice-state";
  // For tests: the Env RocksDB uses for the state (e.g. a fault-injecting file system). Not owned.
  // Default null: the process's default Env.
  rocksdb::Env* state_env = nullptr;
  // Size of the TBB task arena (tasks run in parallel up to this). Default 1.
  int threads = 1;
  // A task commits at least this often while it has uncommitted work. Default 100 ms.
  std::chrono::milliseconds commit_interval{100};
  // Default exactly-once.
  ProcessingGuarantee guarantee = ProcessingGuarantee::kExactlyOnce;
  // Start position for partitions without a committed offset. Default earliest.
  StartPosition start = StartPosition::kEarliest;
  // With StartPosition::kTimestamp: the first record at or after this time.
  Timestamp start_time{0};
  // Records a task reads per batch (one unit of scheduled work). Default 2000.
  size_t batch_records = 2000;
  // A task commits early once its pending output bytes exceed this (bounds memory). Default 4 MiB.
  size_t max_pending_output_bytes = 4 << 20;
  // How stages exchange repartitioned records. Default kLog. Fixed for a state directory: a job
  // started with the other mode refuses to run on it (reset the application to switch).
  Exchange exchange = Exchange::kLog;
  // "HOST:PORT[,HOST:PORT]" of a Kafka-protocol broker (`sluice serve` or a Kafka cluster): run
  // the job as one instance over it instead of over an embedded log (runtime/broker_job.h; the
  // data_dir, log and exchange options are then unused: stages always pass records in memory).
  // Exactly-once only. Default empty: the embedded log.
  std::string bootstrap_servers;
  // Stop once every input is consumed up to the end it had when the job started and all
  // derived work is committed and published. Default false (run until Stop()).
  bool until_end = false;
};

}  // namespace sluice
