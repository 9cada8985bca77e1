// Outbox: a task's committed output batches on their way to the log (exactly-once), and the
// appends of every output batch.
//
// A commit stores each output batch as an outbox entry in the same RocksDB write as the state and
// offsets it derives from (Stage), and publishes the entries after that write (PublishStaged). An
// entry is deleted, by a later commit's write (AddDeletions), only once its partition's synced
// offset covers the published batch, so a power loss never takes away the last copy of a committed
// output. Recovery re-publishes whatever entries remain (Republish); a batch whose sequences the
// partition already holds (Partition::LastSequence) is not appended again, so a crash anywhere
// neither loses nor duplicates output.
//
// Publishing without waiting (Acks::kLeader) asks the Flusher to sync the partition in the
// background; with no Flusher, or for at-least-once and recovery, the append waits for the fsync
// (Acks::kAll).
//
// Not thread-safe: owned by one StreamTask. records_out may be read from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/log.h"
#include "runtime/commit_format.h"
#include "runtime/flusher.h"
#include "runtime/state_db.h"

namespace sluice {

class Outbox {
 public:
  // `log`, `db` and `flusher` are not owned; `flusher` may be null.
  Outbox(TaskId task, Log* log, StateDb* db, Flusher* flusher);

  // Appends every outbox entry left by an earlier run to its partition, waiting for the fsync,
  // unless the partition already holds it. The entries are deleted by the next commit.
  Status Republish();

  // Adds to `wb` the deletion of every published entry, flushing a partition first where the
  // Flusher has not synced it up to the entry's batch yet.
  Status AddDeletions(rocksdb::WriteBatch* wb);
  // Adds `entries` to `wb` as the outbox of commit number `commit`, to be published by
  // PublishStaged once `wb` is durable. Replaces what an earlier Stage left unpublished.
  void Stage(int64_t commit, std::vector<OutboxEntry> entries, rocksdb::WriteBatch* wb);
  // Publishes the staged entries (waiting for the fsync only without a Flusher); they become the
  // published entries that the next AddDeletions removes.
  Status PublishStaged();

  // Appends one batch to its partition and waits for the fsync (at-least-once: the outputs are
  // durable before the state and offsets that cover them are written).
  Status PublishNow(const OutboxEntry& e);

  // Published entries whose deletion is not yet committed.
  bool HasPublished() const { return !published_.empty(); }
  // Records appended to the log (duplicates of a batch already there not counted).
  int64_t records_out() const { return records_out_.load(std::memory_order_relaxed); }
  // records_out by output topic (a copy; any thread).
  std::map<std::string, int64_t> records_out_by_topic() const {
    std::lock_guard<std::mutex> l(out_by_topic_mu_);
    return out_by_topic_;
  }

 private:
  // How far `partition` must be synced before a published batch's outbox entry may go.
  struct SyncPoint {
    Partition* partition = nullptr;
    int64_t end = 0;
  };
  struct Published {
    std::string key;  // the outbox entry, deleted by a commit once `sync` is reached
    SyncPoint sync;
  };
  // Appends one outbox batch to its partition unless the partition already holds its sequences.
  // `wait`: with Acks::kAll; else with Acks::kLeader, the Flusher asked to sync it.
  Result<SyncPoint> Publish(const OutboxEntry& e, bool wait);

  const TaskId task_;
  Log* log_;
  StateDb* db_;
  Flusher* flusher_;
  std::vector<Published> published_;  // outbox entries to delete once durable in the log
  // Between Stage and PublishStaged: the outbox batches, by outbox key.
  std::vector<std::pair<std::string, OutboxEntry>> staged_;
  std::atomic<int64_t> records_out_{0};
  // Locked once per published batch (not per record), and by metrics scrapes.
  mutable std::mutex out_by_topic_mu_;
  std::map<std::string, int64_t> out_by_topic_;
};

}  // namespace sluice
