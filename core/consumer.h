// Consumer: reads records from a Log, by explicit assignment or as a member of a group.
//
// Pull model as in Kafka: Assign or Subscribe, optionally Seek, then Poll repeatedly; Poll
// long-polls until records arrive or the timeout passes. Commit stores positions in the log's
// OffsetStore. With Subscribe, the consumer joins its group in the Log's GroupCoordinator and
// its assignment changes when members join or leave (checked on every Poll); it never owns a
// partition that another member of the same group owns. Every batch it returns has passed its
// CRC-32C check (Partition::Read verifies it), so a damaged batch is a kCorruption error.
//
// Thread safety: a Consumer is used by one thread at a time.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/record_batch.h"

namespace sluice {

enum class AutoOffsetReset { kEarliest, kLatest, kError };

struct ConsumerOptions {
  // Group id; required for Subscribe and Commit. Empty: no group.
  std::string group_id;
  // Where to start a partition with no committed offset (or when the committed one is out of
  // range). Default kEarliest.
  AutoOffsetReset auto_offset_reset = AutoOffsetReset::kEarliest;
  // Upper bound of records returned by one Poll. Default 10000.
  size_t max_poll_records = 10000;
  // Upper bound of bytes read from one partition per Poll. Default 1 MiB.
  size_t max_partition_fetch_bytes = 1 << 20;
  // A group member that has not polled for this long is removed from the group. Default 10 s.
  std::chrono::milliseconds session_timeout{10000};
  // kReadUncommitted (the default, as Kafka's isolation.level): every record below the high
  // watermark. kReadCommitted: records of aborted transactions are skipped and reads stop at the
  // last stable offset (the first record of a transaction still open), which is also where
  // SeekToEnd, a kLatest reset and AtEnd take "the end". Control batches never surface.
  Isolation isolation = Isolation::kReadUncommitted;
};

// One record as returned by Poll. Views inside `record` point into the Consumer's read buffers
// and stay valid until the next Poll (or until the Consumer is destroyed).
struct ConsumerRecord {
  const TopicPartition* tp;
  RecordView record;
};

class ConsumerRecords {
 public:
  const std::vector<ConsumerRecord>& records() const { return records_; }
  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  auto begin() const { return records_.begin(); }
  auto end() const { return records_.end(); }

 private:
  friend class Consumer;
  std::vector<std::unique_ptr<TopicPartition>> tps_;
  std::vector<ConsumerRecord> records_;
};

class Consumer {
 public:
  static Result<std::unique_ptr<Consumer>> Create(Log* log, const ConsumerOptions& options);
  ~Consumer();  // leaves the group

  // Reads exactly these partitions (no group membership). Replaces the previous assignment.
  Status Assign(const std::vector<TopicPartition>& partitions);
  // Joins the group and reads the partitions the group assigns to this member.
  Status Subscribe(const std::vector<std::string>& topics);
  std::vector<TopicPartition> assignment() const;

  Status Seek(const TopicPartition& tp, Offset offset);
  Status SeekToBeginning(const std::vector<TopicPartition>& tps);
  Status SeekToEnd(const std::vector<TopicPartition>& tps);
  // Seeks to the first offset with timestamp >= ts (the end if none).
  Status SeekToTime(const std::vector<TopicPartition>& tps, Timestamp ts);
  // The next offset Poll will return for tp.
  Result<Offset> Position(const TopicPartition& tp);

  // Returns records from assigned partitions, waiting up to `timeout` for at least one. A position
  // below the log start (after retention) follows auto_offset_reset (kError returns kOutOfRange).
  Result<ConsumerRecords> Poll(std::chrono::milliseconds timeout);

  // Whether every assigned partition's position has reached its high watermark (read_committed:
  // its last stable offset).
  bool AtEnd();

  // Commits the current positions of all assigned partitions (or the given offsets).
  Status Commit();
  Status Commit(const std::map<TopicPartition, Offset>& offsets);

  // Leaves the group (if any). Idempotent.
  void Close();

 private:
  class Impl;
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
