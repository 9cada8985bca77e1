// PartitionReader: reads the records of one partition in offset order from a position. The one
// "read records from here" of core: the Consumer, the CLI's analytics reader and the benchmarks
// use it (runtime/ is to follow; see core/README.md).
//
// Read-ahead: one Partition::ReadInto of whole batches (up to `read_bytes`, at least one batch),
// walked with a BatchCursor, plus a cursor inside the current batch, so a caller that stops
// part-way through a batch resumes there without reading or decoding it again.
//
// Position: the next offset to return; everything below it was returned or skipped. After a
// record it is the record's offset + 1; once a batch is used up, the batch's next offset (base +
// lastOffsetDelta + 1), so gaps in the offsets (core/offset_rule.h) are stepped over. A position
// inside a gap reads from the first record after it.
//
// Read limit: every Next takes `limit`, an offset it does not reach: a record at or past it stays
// next. Reads never go past the high watermark either. Callers pass kNoLimit, the synced offset
// (readers that must not act on data a power loss could take back) or an end offset of their own.
//
// Skipped: records below the position, and control batches (transaction markers). Skips() is the
// one place that drops batches. A read_committed reader (Isolation::kReadCommitted) also drops
// the batches of aborted transactions (from the partition's aborted-transaction index) and reads
// below the last stable offset only, so the records of open transactions are not returned: it
// takes the partition's LSO and the aborted transactions below it at every Fill, and again
// when it has used up what was stable (so a reader stopped at the LSO moves on after a marker).
//
// Compressed batches (gzip, snappy, lz4, zstd) are decompressed once, when the reader enters them,
// into buffers kept with the read-ahead, and their records are returned like any others.
//
// Record views point into the read-ahead (or its decompressed batches) and stay valid until the
// reader reads again (Fill, or Next once the read-ahead is used up), Seek, or destruction. Not
// thread-safe; neither copyable nor movable (its cursors point into its own buffer).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <vector>

#include "core/batch_cursor.h"
#include "core/partition.h"
#include "core/record_batch.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice {

class PartitionReader {
 public:
  static constexpr Offset kNoLimit{std::numeric_limits<int64_t>::max()};
  static constexpr size_t kDefaultReadBytes = 1 << 20;

  // REQUIRES: `partition` outlives the reader.
  PartitionReader(const Partition* partition, Offset position,
                  size_t read_bytes = kDefaultReadBytes,
                  Isolation isolation = Isolation::kReadUncommitted);
  PartitionReader(const PartitionReader&) = delete;
  PartitionReader& operator=(const PartitionReader&) = delete;

  const Partition* partition() const { return partition_; }
  Offset position() const { return position_; }
  Isolation isolation() const { return isolation_; }
  // Where this reader stops: the high watermark, or for read_committed the last stable offset.
  Offset end_offset() const {
    return isolation_ == Isolation::kReadCommitted ? partition_->last_stable_offset()
                                                   : partition_->high_watermark();
  }
  // Moves to `offset` and drops the read-ahead (its records stay valid until the next read).
  void Seek(Offset offset);
  // Whether the read-ahead is used up, so that the next Fill reads.
  bool Drained() const { return !in_batch_ && cursor_.rest().empty(); }

  // Reads whole batches from the position if the read-ahead is used up; no-op otherwise. Errors
  // are Partition::ReadInto's: kOutOfRange for a position below the log start or above the high
  // watermark, kCorruption for a damaged batch.
  Status Fill();
  // The next record of the read-ahead at or after position() and below `limit`, without reading:
  // true and *rec, or false when the read-ahead is used up or the next record is at or past
  // `limit`. kCorruption for a malformed batch or record, or compressed data that does not
  // decompress.
  Result<bool> NextBuffered(RecordView* rec, Offset limit = kNoLimit) {
    limit = std::min(limit, stable_);
    if (NextInBatch(rec, limit)) return true;
    return NextBufferedSlow(rec, limit);
  }
  // Calls fn(const RecordView&) for the next records of the read-ahead, as NextBuffered would
  // return them, at most `max`; returns how many. For callers that take many records at once
  // (the Consumer's Poll), without a Result per record.
  template <typename Fn>
  Result<size_t> ForEachBuffered(size_t max, Offset limit, Fn&& fn) {
    size_t n = 0;
    RecordView rec;
    limit = std::min(limit, stable_);
    for (; n < max; ++n) {
      if (!NextInBatch(&rec, limit)) {
        SLUICE_ASSIGN_OR_RETURN(bool got, NextBufferedSlow(&rec, limit));
        if (!got) break;
      }
      fn(static_cast<const RecordView&>(rec));
    }
    return n;
  }
  // As NextBuffered, reading whenever the read-ahead is used up: false once the position reaches
  // `limit` or the high watermark.
  Result<bool> Next(RecordView* rec, Offset limit = kNoLimit);

 private:
  // Whether the reader drops all of `batch`: control batches, and for a read_committed reader
  // the transactional batches of aborted transactions.
  bool Skips(const RecordBatchView& batch) const {
    return batch.is_control() || (batch.is_transactional() && !aborted_.empty() && Aborted(batch));
  }
  bool Aborted(const RecordBatchView& batch) const;
  // read_committed: takes the partition's last stable offset and the aborted transactions from
  // the position up to it.
  void TakeStable();
  // The fast path, inline: the next record of a batch already entered, if it is the answer.
  bool NextInBatch(RecordView* rec, Offset limit) {
    if (left_ == 0) return false;
    const RecordBatchView::Cursor at = record_;
    if (batch_.TryNext(&record_, rec) && rec->offset >= position_ && rec->offset < limit) {
      position_ = rec->offset + 1;
      --left_;
      return true;
    }
    record_ = at;  // the slow path decides
    return false;
  }
  Result<bool> NextBufferedSlow(RecordView* rec, Offset limit);
  // Leaves the current batch; the position moves to its next offset.
  void FinishBatch();

  const Partition* const partition_;
  const size_t read_bytes_;
  const Isolation isolation_;
  // read_committed: the last stable offset when last taken (records at or past it wait), and
  // the aborted transactions overlapping [position, stable_) then. kNoLimit and empty otherwise.
  Offset stable_ = kNoLimit;
  std::vector<AbortedTxn> aborted_;
  Offset position_;
  ReadResult read_;        // the read-ahead
  BatchCursor cursor_;     // over read_.data
  bool in_batch_ = false;  // batch_ is framed
  // Records of batch_ not yet returned once it is entered (not skipped, below the limit); 0
  // otherwise, which keeps the fast path out.
  int32_t left_ = 0;
  RecordBatchView batch_;           // the current batch, when in_batch_
  RecordBatchView::Cursor record_;  // the next record of batch_
  // The decompressed forms of the compressed batches of the read-ahead entered so far (a deque:
  // adding one moves none of the others, whose records callers may still hold).
  std::deque<std::string> inflated_;
};

}  // namespace sluice
