// TxnIndex: what a partition knows about the transactions in its log (Kafka's ongoing
// transactions of the ProducerStateManager plus its aborted-transaction index, .txnindex).
//
// It follows the batches of the log in offset order: a transactional data batch opens its
// producer's transaction in this partition at the batch's base offset (if none is open); the
// producer's end-transaction marker (a control batch, core/record_batch.h BuildTxnMarker)
// closes it, and an ABORT marker adds {producer id, first offset, marker offset} to the aborted
// list. The first offset of the oldest open transaction is the partition's first unstable offset:
// the last stable offset (LSO) is the smaller of it and the high watermark, and read_committed
// readers read below it only. A marker for a producer with no open transaction here (the
// coordinator marks every partition it added, written to or not) changes nothing.
//
// It is snapshotted with the recovery point (core/internal/partition_checkpoint.h) and rebuilt
// above it by replaying the batches recovery scans, exactly like the producer state, so a kill -9
// loses none of it and a torn marker leaves its transaction open (core/README.md, "Transactions
// in the log"). Retention drops aborted entries whose marker is below the new log start.
//
// Not thread-safe: Partition guards it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/record_batch.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice {

// An aborted transaction of one partition: the producer's first offset in it and the offset of
// its ABORT marker. Records of `producer_id` in [first_offset, last_offset] are aborted.
struct AbortedTxn {
  int64_t producer_id = -1;
  Offset first_offset;
  Offset last_offset;
  friend bool operator==(const AbortedTxn&, const AbortedTxn&) = default;
};

class TxnIndex {
 public:
  // Follows one batch written (or replayed by recovery). Ignores non-transactional batches.
  void Update(const RecordBatchView& batch);

  // The first offset of the oldest open transaction, if any.
  std::optional<Offset> FirstUnstableOffset() const;
  // The aborted transactions that overlap [from, to): marker at or after `from`, first offset
  // before `to`, in marker order (what a read_committed Fetch returns for that range).
  std::vector<AbortedTxn> AbortedIn(Offset from, Offset to) const;
  // Drops the aborted transactions whose marker is below `log_start` (retention deleted them).
  void DropBefore(Offset log_start);

  size_t open_count() const { return ongoing_.size(); }
  size_t aborted_count() const { return aborted_.size(); }

  // Appends the snapshot to `out`; DecodeFrom reads one from the front of `*in`, consuming it.
  void EncodeTo(std::string* out) const;
  static Result<TxnIndex> DecodeFrom(std::string_view* in);

 private:
  std::map<int64_t, Offset> ongoing_;  // producer id -> first offset of its open transaction
  std::vector<AbortedTxn> aborted_;    // by marker offset, ascending
};

}  // namespace sluice
