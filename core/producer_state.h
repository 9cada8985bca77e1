// ProducerStateTable: what a partition remembers about idempotent producers, so that a retried
// batch is recognised as a duplicate and a lost one as a sequence gap (Kafka's producer state).
//
// Per producer id it keeps the epoch and the last kMaxBatchesPerProducer batches (sequence range
// and the offsets they were written at). It is snapshotted with the recovery point and rebuilt on
// recovery by replaying the batches above it. Not thread-safe: Partition guards it with its append
// lock.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>

#include "core/record_batch.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice {

class ProducerStateTable {
 public:
  static constexpr size_t kMaxBatchesPerProducer = 5;

  struct BatchMetadata {
    int32_t first_sequence;
    int32_t last_sequence;
    Offset base_offset;
    Offset last_offset;
  };

  // What Check decided for a batch.
  struct Verdict {
    bool duplicate = false;
    BatchMetadata original{};  // set when duplicate
  };

  // Checks an idempotent batch (producer id >= 0) before it is written: a repeat of one of the
  // last batches is a duplicate; a stale epoch, a new epoch not starting at sequence 0, or a
  // sequence that does not follow the last one returns kOutOfRange saying what was expected.
  // A producer id never seen here may start at any sequence.
  Result<Verdict> Check(const RecordBatchView& batch) const;

  // Records a batch that was written (or replayed during recovery). Batches without a producer
  // id are ignored.
  void Update(const RecordBatchView& batch);

  // Last sequence written by `producer_id`, or -1.
  int32_t LastSequence(int64_t producer_id) const;

  size_t size() const { return producers_.size(); }
  // The largest producer id in the table, or -1 if it is empty.
  int64_t MaxProducerId() const { return producers_.empty() ? -1 : producers_.rbegin()->first; }

  // Appends the snapshot to `out`; Decode reads one back from the front of `*in`, consuming it.
  void EncodeTo(std::string* out) const;
  static Result<ProducerStateTable> DecodeFrom(std::string_view* in);

 private:
  struct Entry {
    int16_t epoch = -1;
    std::deque<BatchMetadata> batches;  // oldest first
  };
  std::map<int64_t, Entry> producers_;  // ordered: snapshots are byte-identical
};

}  // namespace sluice
