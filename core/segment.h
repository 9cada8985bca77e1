// Segment: one file of a partition's log (`<base>.log`) with its offset and time indexes.
//
// A segment holds whole RecordBatch v2 batches whose offsets follow core/offset_rule.h from
// base_offset() (strictly increasing, gaps allowed). Its visible
// extent (size(), end_offset()) only ever covers whole batches: the writer publishes it after the
// write(2) of a batch returns, a read-only reader after it has read and CRC-checked the batch.
//
// Thread safety: one writer thread (Append, Track, Truncate, Seal, PersistIndexes — the partition's
// append lock), while any number of threads read (ReadBatches, FindOffsetForTime, accessors). Sync
// may run concurrently with Append (group commit). Readers keep a shared_ptr to the segment, so
// its files stay open until the last reader is done even after retention removed them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/file_system.h"
#include "core/offset_index.h"
#include "core/record_batch.h"
#include "core/status.h"
#include "core/time_index.h"
#include "core/types.h"

namespace sluice {

class Segment {
 public:
  // How a scan over the log bytes ended.
  struct ScanStop {
    uint64_t position = 0;  // first byte not covered by a whole valid batch
    bool clean = true;      // true if it reached the limit exactly
    std::string reason;     // why it stopped early
    Offset next_offset;     // offset the next batch would have
  };
  using BatchFn = std::function<void(const RecordBatchView& batch, uint64_t position)>;

  // Opens the segment with base offset `base` in `dir`. With `writable`, opens (creating if
  // missing) the log for appending; `may_write_indexes` lets it persist rebuilt indexes.
  // The extent starts empty: call SetExtent (trusted) or Scan + Track (recovery).
  static Result<std::shared_ptr<Segment>> Open(FileSystem* fs, const std::string& dir, Offset base,
                                               bool writable, bool may_write_indexes,
                                               int32_t index_interval_bytes);

  // "00000000000000000042.log" and back; nullopt if `name` is not <20 digits><suffix>.
  static std::string FileName(Offset base, std::string_view suffix);
  static std::optional<Offset> ParseFileName(std::string_view name, std::string_view suffix);

  Offset base_offset() const { return base_; }
  const std::string& log_path() const { return log_path_; }
  const std::string& index_path() const { return index_path_; }
  const std::string& time_index_path() const { return time_index_path_; }
  // Bytes of whole batches visible to readers.
  uint64_t size() const { return size_.load(std::memory_order_acquire); }
  // One past the last visible offset.
  Offset end_offset() const { return Offset(end_.load(std::memory_order_acquire)); }
  // Largest batch max timestamp in the segment, -1 if it has none. May load the indexes.
  int64_t max_timestamp() const;
  Result<uint64_t> FileSize() const { return reader_->Size(); }

  // Trusts that the first `size` bytes hold whole batches up to `end` (clean shutdown, or a sealed
  // segment below the recovery point). Indexes load lazily on first use.
  void SetExtent(uint64_t size, Offset end);

  // Writes one batch (offsets already assigned, base >= end_offset()) with a single
  // WritableFile::Append, updates the indexes and publishes the new extent.
  Status Append(const RecordBatchView& batch);
  // Records a batch found on disk at position size() (recovery and read-only refresh).
  void Track(const RecordBatchView& batch);
  // fdatasyncs the log (no-op once sealed: Seal synced it).
  Status Sync();
  // Finishes the segment when the partition rolls or closes: fsyncs the log, adds the final
  // time index entry, writes both index files and (when `close_writer`) closes the log.
  Status Seal(bool close_writer);
  // Cuts the log to `position` (a batch boundary found by Scan) and the extent to `end`.
  Status Truncate(uint64_t position, Offset end);
  // Forgets the extent and indexes before a recovery scan rebuilds them with Track.
  void ResetForScan();

  // The kCorruption status for damage at `position`, naming the file.
  Status Damaged(uint64_t position, std::string_view why) const;

  // Loads and checks the index files; rebuilds them from the log when missing or wrong (and
  // rewrites the files if allowed). *rebuilt says whether it had to.
  Status LoadIndexes(bool* rebuilt) const;
  // Writes the in-memory indexes to disk if the files differ; *changed says whether they did.
  Status PersistIndexes(bool* changed) const;
  // (offset, position) of the last offset index entry; (base, 0) if none. REQUIRES: loaded.
  std::pair<Offset, uint64_t> LastIndexEntry() const;
  // Adds the time index entry for the segment's largest timestamp if missing.
  void FinalizeTimeIndex();

  // Walks the batches in [from, limit), the first at offset `expected` or later, calling fn for
  // each whole batch; with `validate` it also checks each CRC and record structure. Offsets must
  // follow OffsetRule::kStored (a gap is not damage). Stops at the first bad or torn batch (a
  // BatchCursor stop, a failed check, offsets going backwards) and says where and why in *stop.
  // Returns non-OK only for I/O errors.
  Status Scan(uint64_t from, uint64_t limit, Offset expected, bool validate, const BatchFn& fn,
              ScanStop* stop) const;

  // Appends to *out whole batches, the first containing `offset`, none at or above `hw`, about
  // `max_bytes` in total (at least one). Appends nothing if `offset` >= end_offset().
  // kCorruption names the file and position of a damaged batch.
  Status ReadBatches(Offset offset, Offset hw, size_t max_bytes, std::string* out) const;
  // Base offset of the first batch below `hw` whose max timestamp is >= ts, if any.
  Result<std::optional<Offset>> FindOffsetForTime(int64_t ts, Offset hw) const;

  // Deletes the segment's files (open handles keep working).
  Status RemoveFiles();

 private:
  Segment(FileSystem* fs, std::string dir, Offset base, int32_t index_interval_bytes,
          bool may_write_indexes);

  // Index bookkeeping shared by Append and Track. REQUIRES: idx_mu_ held.
  void IndexBatchLocked(const RecordBatchView& batch, uint64_t position) const;
  void FinalizeTimeIndexLocked() const;
  Status EnsureIndexesLoaded() const;
  // Loads the index files; kCorruption when they are missing or fail the checks.
  Status LoadIndexFilesLocked() const;
  Status RebuildIndexesLocked() const;
  Status PersistIndexesLocked(bool* changed) const;
  // Reads the first `n` header bytes of the batch at `position` into buf; kCorruption if the
  // batch is not whole below `visible`. Returns the batch size.
  Result<uint64_t> ReadHeader(uint64_t position, uint64_t visible, char* buf, size_t n) const;
  // Position to start scanning for `offset`, checked against the batch found there.
  Result<uint64_t> StartPosition(Offset offset) const;

  FileSystem* fs_;
  const std::string dir_;
  const Offset base_;
  const int32_t index_interval_bytes_;
  const bool may_write_indexes_;
  std::string log_path_, index_path_, time_index_path_;
  std::unique_ptr<ReadableFile> reader_;

  std::mutex writer_mu_;  // guards writer_ and sync_error_ against Sync racing Seal
  std::unique_ptr<WritableFile> writer_;
  // The first failed fsync, latched: a later fsync of the same file could report success without
  // the data having reached the disk, so it is never retried.
  Status sync_error_;

  std::atomic<uint64_t> size_{0};
  std::atomic<int64_t> end_;

  // Indexes, loaded lazily for trusted segments.
  mutable std::mutex idx_mu_;
  mutable bool indexes_loaded_ = false;
  mutable OffsetIndex offset_index_;
  mutable TimeIndex time_index_;
  mutable int64_t max_ts_ = -1;
  mutable uint32_t max_ts_relative_ = 0;  // batch that reached max_ts_
  mutable uint64_t bytes_since_offset_entry_ = 0;
  mutable uint64_t bytes_since_time_entry_ = 0;
  mutable std::atomic<int64_t> max_ts_published_{-1};
};

}  // namespace sluice
