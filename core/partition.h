// Partition: one topic partition's log on disk — an ordered list of segments, each a file of
// RecordBatch v2 bytes with a sparse offset index and a time index (see core/README.md).
//
// Thread safety: all methods are thread-safe. Appends are serialised inside; readers never block
// appenders and never see a partial batch or an offset at or above the high watermark.
//
// Writer vs. reader mode: a Partition opened by the process holding the data directory's writer
// lock may append; one opened read-only (another process writes) only reads, and picks up what
// the writer appended when Refresh() is called (Read and WaitForData call it for you).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/file_system.h"
#include "core/status.h"
#include "core/topic_config.h"
#include "core/txn_index.h"
#include "core/types.h"
#include "core/validated_batch.h"
#include "core/wake_signal.h"

namespace sluice {

// How durable an append must be before it is acknowledged.
enum class Acks {
  kNone,    // fire and forget: written to the page cache (the call still returns the offset)
  kLeader,  // written to the OS (survives kill -9 of this process, not power loss)
  kAll,     // fsynced (survives power loss); concurrent appenders share one fsync (group commit)
};

struct PartitionOptions {
  FileSystem* fs = nullptr;  // defaults to FileSystem::Default()
  bool read_only = false;
  // Bytes of log between two sparse index entries.
  int32_t index_interval_bytes = 4096;
  // When true, every batch above the recovery point is CRC-checked on open even after a clean
  // shutdown, and damage below the recovery point is reported (a full scrub).
  bool verify_all = false;
  // `sluice topic repair`: accept the loss of damaged data. Every batch is checked; the log is
  // cut at the first damage (or missing segment) and later segments are deleted, even below the
  // recovery point, and RecoveryReport says which offsets were lost. With read_only, nothing is
  // changed and the report says what a repair would cut (a dry run).
  bool repair = false;
};

struct AppendResult {
  Offset base_offset;
  Offset last_offset;
  // True when an idempotent producer re-sent a batch that is already in the log; the offsets
  // are those of the original append and nothing was written.
  bool duplicate = false;
};

// The answer of a time lookup: the first record at or after a time and its timestamp, or the
// high watermark and kNoTimestamp when there is none.
struct OffsetAndTimestamp {
  Offset offset;
  Timestamp timestamp = kNoTimestamp;
  // Callers that only seek use the answer as an offset.
  operator Offset() const { return offset; }  // NOLINT(google-explicit-constructor)
};

// Whole batches read from a partition.
struct ReadResult {
  std::string data;       // zero or more whole batches, concatenated, all below the HW
  Offset high_watermark;  // HW at the time of the read
  Offset log_start_offset;
};

struct PartitionStats {
  Offset log_start_offset;
  Offset log_end_offset;
  Offset high_watermark;
  uint64_t bytes = 0;
  int32_t segments = 0;
};

// What recovery on open found and did; logged and exposed for tests.
struct RecoveryReport {
  bool clean_shutdown = false;
  int64_t segments_scanned = 0;
  int64_t truncated_bytes = 0;   // torn or garbage tail removed
  int64_t segments_deleted = 0;  // whole segments after the first bad batch
  int64_t indexes_rebuilt = 0;
  int64_t orphan_files_removed = 0;
  std::string notes;  // anything else recovery had to do, for the log line
  // Damage a writer refuses to truncate (a read-only view reads up to it) or a repair cut:
  // offsets [lost_begin, lost_end) are unreadable, or were dropped by the repair.
  Offset lost_begin;
  Offset lost_end;
  std::string damage;  // the error, naming the file and byte position; empty if none
  std::string ToString() const;
};

// One cleaning of a compacted partition (Partition::Compact, core/README.md "Compaction").
struct CompactionOptions {
  Timestamp now;  // for delete.retention.ms and min.compaction.lag.ms
  // Clean even when the dirty ratio is below min.cleanable.dirty.ratio (sluice topic compact).
  bool force = false;
};

struct CompactionResult {
  bool cleaned = false;  // false: nothing was cleanable, or the dirty ratio was too low
  std::string why_not;   // when !cleaned
  int32_t segments_in = 0;
  int32_t segments_out = 0;
  int64_t bytes_in = 0;
  int64_t bytes_out = 0;
  int64_t records_in = 0;
  int64_t records_out = 0;
  Offset clean_end;  // everything below this has been cleaned
};

class Partition {
 public:
  virtual ~Partition() = default;

  // Opens (creating if absent and not read-only) the partition in `dir`. Runs recovery when the
  // last writer did not shut down cleanly. Damage that is not a torn tail (below the recovery
  // point, before the last segment, a lost segment) fails a writer's Open with kCorruption naming
  // `sluice topic repair`; a read-only Open keeps everything before it and its reads there fail.
  // With verify_all, corruption below the recovery point returns kCorruption
  // with the segment and byte position (never silently truncated). Read-only: a missing `dir`
  // (the writer has not appended yet) opens as an empty partition that Refresh fills later.
  static Result<std::unique_ptr<Partition>> Open(const std::string& dir, std::string topic,
                                                 PartitionId id, const TopicConfig& config,
                                                 const PartitionOptions& options);

  virtual const std::string& topic() const = 0;
  virtual PartitionId id() const = 0;

  // Appends one validated RecordBatch v2 (ValidatedBatch::Validate for bytes from a client or a
  // file, ValidatedBatch::FromBuilder for a batch built here; neither is checked again). Checks
  // the size against max_message_bytes (kInvalidArgument naming the limit), refuses control
  // batches (kInvalidArgument), and checks idempotent producer sequences (duplicates return the
  // original offsets with duplicate=true; a gap or a stale epoch returns kOutOfRange). Assigns
  // offsets from the log end offset: new appends are dense. Returns once the batch is as durable
  // as `acks` asks. After a failed write or fsync the partition refuses further appends with
  // kIOError until reopened; nothing is acknowledged.
  virtual Result<AppendResult> Append(const ValidatedBatch& batch, Acks acks) = 0;
  // Validates `batch` (kCorruption naming the fault) and appends it as above.
  Result<AppendResult> Append(std::string_view batch, Acks acks);
  // Appends `batch` keeping its own offsets: its base offset must be at or above the log end
  // (kInvalidArgument otherwise), so the log may get a gap, and its records may have gaps if it
  // was validated with OffsetRule::kStored (core/offset_rule.h). A batch whose relative offsets
  // do not fit the active segment starts a new segment named by its base offset. No producer
  // sequence check; the producer state follows the batch as recovery would. For rewriting a log
  // (compaction's cleaner) and for tests of logs with gaps; producers use Append.
  // Appends the end-transaction marker (commit or abort) of `producer_id`/`epoch`: a control
  // batch (BuildTxnMarker). Only the transaction coordinator calls this; Append keeps refusing
  // control batches from clients. The marker takes one offset.
  virtual Result<AppendResult> AppendTxnMarker(int64_t producer_id, int16_t epoch, bool commit,
                                               Acks acks) = 0;
  virtual Result<AppendResult> AppendKeepingOffsets(const ValidatedBatch& batch, Acks acks) = 0;

  // Returns whole batches starting with the one containing `offset`, up to about `max_bytes` (at
  // least one batch if any is available). offset == HW returns no data. offset below the log
  // start or above the HW returns kOutOfRange with the valid range in the message. Every batch
  // returned has passed its CRC-32C check; a damaged one is kCorruption naming file and position.
  virtual Result<ReadResult> Read(Offset offset, size_t max_bytes) const;
  // As Read, into `*out`, reusing its buffer's capacity (readers that poll in a loop avoid a
  // fresh allocation and zero-fill per read). Replaces out->data.
  virtual Status ReadInto(Offset offset, size_t max_bytes, ReadResult* out) const = 0;

  // Blocks until the HW is above `offset` or the deadline passes; returns whether it is.
  virtual bool WaitForData(Offset offset, std::chrono::steady_clock::time_point deadline) const = 0;
  // Registers `signal` (not owned) to be notified after every append, until RemoveListener. A
  // read-only partition does not notify for what another process appends: its waiters need a
  // timeout. A signal may be added once per partition.
  virtual void AddListener(WakeSignal* signal) const = 0;
  virtual void RemoveListener(WakeSignal* signal) const = 0;

  // First offset whose record timestamp is >= ts and that record's timestamp, as Kafka's
  // offsetsForTimes (the time index finds the batch, then its records are scanned, a compressed
  // batch's after decompressing it). {high watermark, kNoTimestamp} if there is none.
  virtual Result<OffsetAndTimestamp> OffsetForTime(Timestamp ts) const = 0;

  virtual Offset log_start_offset() const = 0;
  virtual Offset high_watermark() const = 0;
  // The last stable offset (Kafka's LSO): the first offset of the oldest transaction still open
  // in this partition (its data is written, its marker is not), else the high watermark; never
  // below the log start. read_committed readers read below it only. It never moves back.
  virtual Offset last_stable_offset() const = 0;
  // The aborted transactions overlapping [from, to) (TxnIndex::AbortedIn): a read_committed
  // reader drops the records of `producer_id` from first_offset to the ABORT marker. Read
  // last_stable_offset() first: every aborted transaction with data below it is then listed.
  virtual std::vector<AbortedTxn> AbortedTransactions(Offset from, Offset to) const = 0;
  // As WaitForData, for the last stable offset: blocks until it is above `offset` or the
  // deadline passes (a marker's append wakes it).
  virtual bool WaitForStableData(Offset offset,
                                 std::chrono::steady_clock::time_point deadline) const = 0;
  // Everything below this offset has been fsynced (acks=all appends, Flush, a clean close; at
  // open, whatever the log holds). Never above the high watermark; in a read-only log, the high
  // watermark (another process's syncs are not seen). A reader that must not act on
  // data a power loss could take back (a job's repartition input) reads only below it.
  virtual Offset synced_offset() const = 0;
  virtual PartitionStats Stats() const = 0;
  virtual const RecoveryReport& recovery_report() const = 0;

  // Deletes whole segments past retention (never the active one); moves the log start offset.
  // Returns the number of segments deleted.
  virtual Result<int> ApplyRetention(Timestamp now) = 0;
  // Deletes the whole segments that hold only offsets below `offset` (never the active one) and
  // moves the log start offset to the first kept segment, at most to `offset`: records a reader
  // has durably consumed (a job's repartition topics) stop taking disk. Returns the number of
  // segments deleted (0 when the oldest segment still holds `offset` or more).
  virtual Result<int> DeleteSegmentsBefore(Offset offset) = 0;
  // Kafka's DeleteRecords: moves the log start offset to exactly `before` (never back; a lower
  // `before` changes nothing), even inside a segment, and deletes the whole non-active segments
  // below it. The new log start is fsynced (the `recovery-point` checkpoint) before this returns
  // and before any file is deleted, so after a crash the log start is the old one or the new
  // one. Reads below it then get kOutOfRange. Returns the log start now. kOutOfRange when
  // `before` is negative or above the high watermark; kInvalidArgument for a read-only partition.
  virtual Result<Offset> DeleteRecords(Offset before) = 0;

  // Cleans a compacted partition (cleanup.policy compact or compact,delete): rewrites its sealed
  // segments below the first open transaction and the min.compaction.lag.ms cutoff, keeping the
  // latest record of each key (offsets unchanged), dropping keyless records, aborted
  // transactional data and tombstones past delete.retention.ms. Crash-safe at every step (see
  // core/README.md "Compaction"). kInvalidArgument for a topic with cleanup.policy=delete or a
  // read-only partition. Appends and reads go on meanwhile.
  virtual Result<CompactionResult> Compact(const CompactionOptions& options) = 0;

  // Picks up batches and segments appended by another process (read-only mode). No-op for writers.
  virtual Status Refresh() const = 0;

  // fsyncs everything appended so far.
  virtual Status Flush() = 0;
  // Flushes, writes the recovery point and clean-shutdown marker, and closes files. Idempotent.
  virtual Status Close() = 0;

  // Last appended sequence state per idempotent producer (for tests and for the runtime).
  // Returns -1 if the producer has no batch in this partition.
  virtual int32_t LastSequence(int64_t producer_id) const = 0;
  // The largest idempotent producer id this partition has a batch of (in its log or its
  // producer-state snapshot), or -1. Log::AllocateProducerId uses it so that a lost producer-ids
  // file never makes it hand out an id again.
  virtual int64_t MaxProducerId() const = 0;
};

}  // namespace sluice
