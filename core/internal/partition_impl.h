// PartitionImpl: the Partition behind Partition::Open. Appends, reads and group commit live in
// core/partition.cc; opening, recovery, refresh and retention in partition_recovery.cc.
//
// Concurrency design:
//  - append_mu_ serialises everything that changes the log: Append, roll, retention, Close, and
//    (read-only mode) Refresh. It also guards the producer state.
//  - Readers never take append_mu_. They load the high watermark (atomic), then a snapshot of the
//    segment list (a shared_ptr swapped under the tiny segments_mu_, never held across I/O), then
//    read with pread. A segment's extent is published before the HW, so every offset below the
//    HW a reader sees is whole on disk.
//  - Group commit: kAll appenders wait in WaitDurable; one of them fsyncs the active segment while
//    the others wait on sync_cv_ for synced_offset_ to cover their batch.
//  - A failed write or fsync latches failed_ forever (until reopen): nothing more is acknowledged.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/internal/partition_checkpoint.h"
#include "core/partition.h"
#include "core/producer_state.h"
#include "core/segment.h"

namespace sluice::internal {

using SegmentList = std::vector<std::shared_ptr<Segment>>;

class PartitionImpl final : public Partition {
 public:
  PartitionImpl(std::string dir, std::string topic, PartitionId id, const TopicConfig& config,
                const PartitionOptions& options);
  ~PartitionImpl() override;

  // Loads the partition from disk (partition_recovery.cc).
  Status Load();

  const std::string& topic() const override { return topic_; }
  PartitionId id() const override { return id_; }
  using Partition::Append;
  Result<AppendResult> Append(const ValidatedBatch& batch, Acks acks) override {
    return DoAppend(batch, acks, /*keep_offsets=*/false);
  }
  Result<AppendResult> AppendTxnMarker(int64_t producer_id, int16_t epoch, bool commit,
                                       Acks acks) override;
  Result<AppendResult> AppendKeepingOffsets(const ValidatedBatch& batch, Acks acks) override {
    return DoAppend(batch, acks, /*keep_offsets=*/true);
  }
  Status ReadInto(Offset offset, size_t max_bytes, ReadResult* out) const override;
  bool WaitForData(Offset offset, std::chrono::steady_clock::time_point deadline) const override;
  void AddListener(WakeSignal* signal) const override;
  void RemoveListener(WakeSignal* signal) const override;
  Result<OffsetAndTimestamp> OffsetForTime(Timestamp ts) const override;
  Offset log_start_offset() const override {
    return Offset(log_start_.load(std::memory_order_acquire));
  }
  Offset high_watermark() const override { return Offset(hw_.load(std::memory_order_acquire)); }
  Offset last_stable_offset() const override;
  std::vector<AbortedTxn> AbortedTransactions(Offset from, Offset to) const override;
  bool WaitForStableData(Offset offset,
                         std::chrono::steady_clock::time_point deadline) const override;
  Offset synced_offset() const override {
    if (options_.read_only) return high_watermark();  // the writer's syncs are not visible here
    std::lock_guard<std::mutex> l(sync_mu_);
    return Offset(std::min(synced_offset_, hw_.load(std::memory_order_acquire)));
  }
  PartitionStats Stats() const override;
  const RecoveryReport& recovery_report() const override { return report_; }
  Result<int> ApplyRetention(Timestamp now) override;
  Result<int> DeleteSegmentsBefore(Offset offset) override;
  Result<Offset> DeleteRecords(Offset before) override;
  Status Refresh() const override;
  Result<CompactionResult> Compact(const CompactionOptions& options) override;
  Status Flush() override;
  Status Close() override;
  int32_t LastSequence(int64_t producer_id) const override;
  int64_t MaxProducerId() const override;

 private:
  Result<AppendResult> DoAppend(const ValidatedBatch& batch, Acks acks, bool keep_offsets,
                                bool allow_control = false);
  // The first record at or after `from` (below `hw`) whose timestamp is >= ts, if any.
  Result<std::optional<OffsetAndTimestamp>> FirstRecordAtTime(Offset from, Timestamp ts,
                                                              Offset hw) const;
  std::shared_ptr<const SegmentList> segments() const {
    std::lock_guard<std::mutex> l(segments_mu_);
    return segments_;
  }
  void PublishSegments(std::shared_ptr<const SegmentList> list) const {
    std::lock_guard<std::mutex> l(segments_mu_);
    segments_ = std::move(list);
  }
  std::string Name() const;

  // Writer internals. REQUIRES: append_mu_ held.
  // Seals the active segment and starts one with base offset `base` (>= the log end).
  Status RollLocked(Offset base);
  // fsyncs the active segment and writes the checkpoint with recovery point = log end.
  Status CheckpointLocked();
  // Latches the partition into the failed state; returns the status every later append gets.
  Status MarkFailed(const Status& cause);
  Status FailedStatus() const;
  Status WaitDurable(Offset target);
  void NotifyReaders();
  // Feeds a batch written or replayed to the transaction index. REQUIRES: append_mu_ held (or
  // recovery, before readers exist).
  void TrackTxn(const RecordBatchView& batch) const;
  // Replaces the transaction index (from a checkpoint, or empty for a rebuild).
  void ResetTxn(TxnIndex index) const;
  // Blocks until pred() or the deadline; woken by every append.
  template <typename Pred>
  bool WaitFor(std::chrono::steady_clock::time_point deadline, Pred pred) const;
  // Notifies the AddListener signals.
  void NotifyListeners() const;
  // Retention and DeleteSegmentsBefore: `count(segments)` says how many of the oldest segments
  // go (never the active one); the new log start is made durable first, then their files go.
  // `why_writer` completes the error for a read-only partition. Takes append_mu_.
  // `min_start`: the log start moves at least there (DeleteRecords), even inside a segment.
  template <typename CountFn>
  Result<int> DeleteOldestSegments(std::string_view why_writer, CountFn count,
                                   Offset min_start = Offset(0));

  // Compaction (partition_cleaner.cc). Completes (rolls forward) a cleaning that a crash
  // interrupted after its output became a `.swap` file, and removes unfinished `.cleaned`
  // output. Writer only; runs first in Load.
  Status CompleteCleaning();
  // The swap of one cleaned group: the segment list without the group's later segments, their
  // files deleted, `base`'s indexes removed and the swap renamed to `base`'s log.
  // REQUIRES: the swap file `<base>.<end>.swap` is durable.
  Status FinishSwap(Offset base, Offset end, const std::string& swap_path);
  Result<Offset> LoadCleanEnd();

  // Recovery (partition_recovery.cc).
  Result<SegmentList> OpenSegments(const std::vector<Offset>& bases, size_t first_writable) const;
  Status OpenClean(const std::vector<Offset>& bases, Offset log_end);
  // `known_end`: the log end the durable metadata vouches for (recovery point, segment list);
  // `trust_below`: damage below this offset is never truncated. `lost` (ok if none): a segment
  // listed in the segment list is missing at offset `lost_at`, so `bases` stops before it.
  Status Recover(const std::vector<Offset>& bases, Offset recovery_point, Offset trust_below,
                 Offset known_end, const Status& lost);
  // A writer gets `why`; a read-only view keeps the readable prefix and reports `why` to reads
  // at and above `at`, with the high watermark at the end the metadata vouches for.
  Status Damage(Offset at, Offset known_end, Status why);
  // Reads batches appended to `seg` since the last look (read-only mode).
  Status GrowTail(Segment* seg) const;
  Status RefreshLocked() const;
  Status RefreshOnceLocked() const;
  // Sorted base offsets of the segments in dir_. With `removed`, also deletes leftover temporary
  // files and index files without a log, counting them there.
  Result<std::vector<Offset>> ListSegmentBases(int64_t* removed) const;

  const std::string dir_;
  const std::string topic_;
  const PartitionId id_;
  const TopicConfig config_;
  const PartitionOptions options_;
  FileSystem* const fs_;
  RecoveryReport report_;
  // Read-only views only: damage an open found that a writer would refuse (kCorruption naming
  // `sluice topic repair`). Reads at or above damage_offset_ return it; set once by Load.
  Status damage_;
  int64_t damage_offset_ = 0;

  mutable std::mutex segments_mu_;
  mutable std::shared_ptr<const SegmentList> segments_;
  mutable std::atomic<int64_t> hw_{0};
  mutable std::atomic<int64_t> log_start_{0};

  // Serialises cleanings with each other and with segment deletion (retention). Taken before
  // append_mu_.
  std::mutex cleaner_mu_;
  std::optional<int64_t> clean_end_;  // guarded by cleaner_mu_; loaded lazily

  mutable std::mutex append_mu_;
  mutable ProducerStateTable producers_;
  // The transaction index, written under append_mu_ and txn_mu_, read under txn_mu_;
  // first_unstable_ mirrors its first unstable offset (INT64_MAX if none) for lock-free LSO
  // reads. A writer updates both before it publishes the new high watermark, so a reader that
  // loads the high watermark first and then these sees a consistent LSO.
  mutable std::mutex txn_mu_;
  mutable TxnIndex txn_;
  static constexpr int64_t kNoUnstable = std::numeric_limits<int64_t>::max();
  mutable std::atomic<int64_t> first_unstable_{kNoUnstable};
  PartitionCheckpoint checkpoint_;  // last one written or loaded
  bool loaded_ = false;             // Load succeeded; until then Close must not mark anything clean
  bool closed_ = false;
  std::atomic<bool> failed_{false};
  mutable std::mutex failed_mu_;
  Status failed_status_;

  mutable std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool sync_in_progress_ = false;
  int64_t synced_offset_ = 0;

  mutable std::mutex wait_mu_;
  mutable std::condition_variable wait_cv_;
  mutable std::atomic<int> waiters_{0};

  // Notified after every append (AddListener).
  mutable std::mutex listeners_mu_;
  mutable std::vector<WakeSignal*> listeners_;
  mutable std::atomic<int> listener_count_{0};
};

}  // namespace sluice::internal
