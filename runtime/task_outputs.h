// TaskOutputs: the record batches a StreamTask is building for its output partitions, and the
// idempotent sequences of its exactly-once outputs.
//
// Send adds a record to the builder of its (topic, partition), created on first use. A builder is
// finished at kOutputBatchBytes (so a batch stays well under a topic's max_message_bytes) and at
// every commit. A finished batch of a log topic waits in `finished` for the commit that takes it
// (exactly-once: with the task's producer id and the partition's next sequence fixed then); one of
// a local topic goes straight to the LocalExchange.
//
// pending_bytes counts the record bytes sent to log topics since the last commit, which commits
// early past JobOptions::max_pending_output_bytes.
//
// Not thread-safe: owned by one StreamTask.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/record_batch.h"
#include "runtime/commit_format.h"
#include "runtime/local_exchange.h"
#include "runtime/planner.h"

namespace sluice {

class TaskOutputs {
 public:
  // `exchange` (not owned) receives the batches of the plan's local topics; null when it has none.
  // `exactly_once`: finished log batches get a producer id and sequences.
  TaskOutputs(const Plan& plan, LocalExchange* exchange, bool exactly_once);

  // The producer id of exactly-once batches (set at recovery, before the first Add).
  void set_producer_id(int64_t producer_id) { producer_id_ = producer_id; }

  // Adds one record for (topic, partition), with `header` if given (a carried watermark).
  // A null `value` is a tombstone (a table's delete written to an output topic).
  void Add(int topic, int32_t partition, Timestamp ts, std::string_view key,
           std::optional<std::string_view> value, const Header* header);
  // Adds a watermark marker (a record with only `marker` as header) for (topic, partition).
  void AddMarker(int topic, int32_t partition, const Header& marker);
  // Pushes the open batches of local topics to the exchange.
  void FlushLocal();
  // Finishes every open batch and returns all finished log batches (taken), in the order they
  // were finished. With exactly-once, `producer_id` and each partition's next sequence are set.
  std::vector<OutboxEntry> TakeFinished();

  // Finished or open batches not yet taken.
  bool Pending() const;
  size_t pending_bytes() const { return pending_bytes_; }
  void ResetPendingBytes() { pending_bytes_ = 0; }

  // Next idempotent sequence per log output partition written so far (for the checkpoint).
  std::vector<TaskCheckpoint::Output> Sequences() const;
  // Restores the next sequence of (topic, partition) from a checkpoint.
  void SetNextSequence(int topic, int32_t partition, int32_t next_sequence);

 private:
  struct Output {
    int topic;
    std::string name;
    int32_t partition;
    bool local = false;  // finished batches go to the LocalExchange
    RecordBatchBuilder builder;
    int32_t next_sequence = 0;
  };
  Output& For(int topic, int32_t partition);
  void Finish(Output& o);

  const Plan& plan_;
  LocalExchange* exchange_;
  const bool exactly_once_;
  int64_t producer_id_ = -1;
  // outputs_[topic][partition], created on first use (a lookup per sent record).
  std::vector<std::vector<std::unique_ptr<Output>>> outputs_;
  std::vector<Output*> in_order_;
  std::vector<OutboxEntry> finished_;  // finished but not yet taken
  size_t pending_bytes_ = 0;
};

}  // namespace sluice
