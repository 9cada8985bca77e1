// Partition: appends, reads and group commit. Opening, recovery, refresh and retention are in
// core/internal/partition_recovery.cc; the concurrency design is in core/internal/partition_impl.h.
#include "core/partition.h"

#include <algorithm>
#include <thread>

#include "core/batch_cursor.h"
#include "core/internal/partition_impl.h"
#include "core/internal/segment_list_file.h"
#include "core/offset_rule.h"
#include "core/segment_format.h"

namespace sluice {

std::string RecoveryReport::ToString() const {
  return fmt::format(
             "clean_shutdown={} segments_scanned={} truncated_bytes={} segments_deleted={} "
             "indexes_rebuilt={} orphan_files_removed={}{}{}",
             clean_shutdown, segments_scanned, truncated_bytes, segments_deleted, indexes_rebuilt,
             orphan_files_removed, notes.empty() ? "" : " notes: ", notes) +
         (damage.empty() ? std::string()
                         : fmt::format(" damage: offsets {} to {}: {}", lost_begin,
                                       lost_end.value() - 1, damage));
}

Result<std::unique_ptr<Partition>> Partition::Open(const std::string& dir, std::string topic,
                                                   PartitionId id, const TopicConfig& config,
                                                   const PartitionOptions& options) {
  if (config.segment_bytes <= 0 || config.segment_bytes > segment_format::kMaxSegmentBytes) {
    return InvalidArgument("segment size {} is out of range; use 1 to {} bytes",
                           config.segment_bytes, segment_format::kMaxSegmentBytes);
  }
  if (options.index_interval_bytes <= 0) {
    return InvalidArgument("index interval {} must be positive", options.index_interval_bytes);
  }
  auto p = std::make_unique<internal::PartitionImpl>(dir, std::move(topic), id, config, options);
  SLUICE_RETURN_IF_ERROR(p->Load());
  return std::unique_ptr<Partition>(std::move(p));
}

Result<AppendResult> Partition::Append(std::string_view batch, Acks acks) {
  Result<ValidatedBatch> valid = ValidatedBatch::Validate(batch);
  if (!valid.ok()) return valid.status().WithContext("rejected record batch");
  return Append(*valid, acks);
}

Result<ReadResult> Partition::Read(Offset offset, size_t max_bytes) const {
  ReadResult r;
  SLUICE_RETURN_IF_ERROR(ReadInto(offset, max_bytes, &r));
  return r;
}

namespace internal {

PartitionImpl::PartitionImpl(std::string dir, std::string topic, PartitionId id,
                             const TopicConfig& config, const PartitionOptions& options)
    : dir_(std::move(dir)),
      topic_(std::move(topic)),
      id_(id),
      config_(config),
      options_(options),
      fs_(options.fs != nullptr ? options.fs : FileSystem::Default()),
      segments_(std::make_shared<const SegmentList>()) {}

PartitionImpl::~PartitionImpl() { Close().IgnoreError(); }

std::string PartitionImpl::Name() const { return fmt::format("{}-{}", topic_, id_); }

Status PartitionImpl::FailedStatus() const {
  std::lock_guard<std::mutex> l(failed_mu_);
  return failed_status_;
}

Status PartitionImpl::MarkFailed(const Status& cause) {
  {
    std::lock_guard<std::mutex> l(failed_mu_);
    if (!failed_.load()) {
      failed_status_ = IOError(
          "partition {} stopped accepting appends after a failed write or fsync ({}); nothing "
          "after the last acknowledged offset is durable; fix the disk, then reopen the log",
          Name(), cause.ToString());
      failed_.store(true);
    }
  }
  {
    std::lock_guard<std::mutex> l(sync_mu_);
    sync_cv_.notify_all();
  }
  return FailedStatus();
}

Result<AppendResult> PartitionImpl::AppendTxnMarker(int64_t producer_id, int16_t epoch, bool commit,
                                                    Acks acks) {
  std::string storage = BuildTxnMarker(producer_id, epoch, commit, /*coordinator_epoch=*/0, Now());
  SLUICE_ASSIGN_OR_RETURN(ValidatedBatch marker, ValidatedBatch::Validate(storage));
  return DoAppend(marker, acks, /*keep_offsets=*/false, /*allow_control=*/true);
}

Result<AppendResult> PartitionImpl::DoAppend(const ValidatedBatch& batch, Acks acks,
                                             bool keep_offsets, bool allow_control) {
  if (options_.read_only) {
    return InvalidArgument(
        "partition {} is open read-only because another process is the writer; append "
        "through that process",
        Name());
  }
  if (batch.size() > static_cast<size_t>(config_.max_message_bytes)) {
    return InvalidArgument(
        "record batch of {} bytes is larger than topic '{}' allows (max message bytes {}); send "
        "smaller batches or raise the topic's --max-message-bytes",
        batch.size(), topic_, config_.max_message_bytes);
  }
  const RecordBatchView& in = batch.view();
  if (in.is_control() && !allow_control) {
    return InvalidArgument(
        "control batches (transaction markers) cannot be appended to partition {}", Name());
  }
  // The copy lets the log write baseOffset (not covered by the CRC) without touching the caller's
  // bytes; the buffer is reused per thread.
  thread_local std::string buf;
  buf.assign(batch.bytes());
  int32_t delta = in.last_offset_delta();

  std::unique_lock<std::mutex> l(append_mu_);
  if (failed_.load()) return FailedStatus();
  if (closed_) return InvalidArgument("partition {} is closed", Name());
  const Offset log_end(hw_.load(std::memory_order_relaxed));
  Offset base = log_end;
  if (keep_offsets) {
    base = in.base_offset();
    if (!offset_rule::MayFollow(log_end, base)) {
      return InvalidArgument(
          "record batch keeps base offset {} but partition {} already ends at {}; offsets must "
          "increase",
          base, Name(), log_end);
    }
  } else {
    SLUICE_ASSIGN_OR_RETURN(ProducerStateTable::Verdict verdict, producers_.Check(in));
    if (verdict.duplicate) {
      l.unlock();
      if (acks == Acks::kAll) {
        SLUICE_RETURN_IF_ERROR(WaitDurable(verdict.original.last_offset + 1));
      }
      return AppendResult{verdict.original.base_offset, verdict.original.last_offset, true};
    }
  }
  std::shared_ptr<Segment> active = segments()->back();
  uint64_t seg_size = active->size();
  if (seg_size > 0 &&
      (seg_size + batch.size() > static_cast<uint64_t>(config_.segment_bytes) ||
       (base - active->base_offset()) + delta > segment_format::kMaxRelativeOffset)) {
    Status s = RollLocked(base);
    if (!s.ok()) return MarkFailed(s);
    active = segments()->back();
  }
  SetBaseOffset(buf.data(), base);
  RecordBatchView out = RecordBatchView::Parse(buf).value();
  Status s = active->Append(out);
  if (!s.ok()) return MarkFailed(s);
  producers_.Update(out);
  TrackTxn(out);
  Offset last = out.last_offset();
  hw_.store(last.value() + 1, std::memory_order_seq_cst);
  l.unlock();
  NotifyReaders();
  if (acks == Acks::kAll) SLUICE_RETURN_IF_ERROR(WaitDurable(last + 1));
  return AppendResult{base, last, false};
}

void PartitionImpl::NotifyReaders() {
  if (waiters_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> l(wait_mu_);
    wait_cv_.notify_all();
  }
  NotifyListeners();
}

void PartitionImpl::NotifyListeners() const {
  if (listener_count_.load(std::memory_order_seq_cst) == 0) return;
  std::lock_guard<std::mutex> l(listeners_mu_);
  for (WakeSignal* s : listeners_) s->Notify();
}

void PartitionImpl::AddListener(WakeSignal* signal) const {
  std::lock_guard<std::mutex> l(listeners_mu_);
  listeners_.push_back(signal);
  listener_count_.store(static_cast<int>(listeners_.size()), std::memory_order_seq_cst);
}

void PartitionImpl::RemoveListener(WakeSignal* signal) const {
  std::lock_guard<std::mutex> l(listeners_mu_);
  std::erase(listeners_, signal);
  listener_count_.store(static_cast<int>(listeners_.size()), std::memory_order_seq_cst);
}

// Group commit: the first waiter to find no fsync running becomes the leader and syncs
// everything written so far; the others wait for synced_offset_ to cover their batch.
Status PartitionImpl::WaitDurable(Offset target) {
  std::unique_lock<std::mutex> l(sync_mu_);
  while (true) {
    if (failed_.load()) return FailedStatus();
    if (synced_offset_ >= target.value()) return Status::Ok();
    if (sync_in_progress_) {
      sync_cv_.wait(l);
      continue;
    }
    sync_in_progress_ = true;
    l.unlock();
    // Everything below `upto` is written. A roll seals (fsyncs) the old segment before it
    // publishes the new one, so syncing the active segment covers all of it.
    int64_t upto = hw_.load(std::memory_order_acquire);
    Status s = segments()->back()->Sync();
    if (!s.ok()) MarkFailed(s).IgnoreError();
    l.lock();
    sync_in_progress_ = false;
    if (s.ok() && !failed_.load()) synced_offset_ = std::max(synced_offset_, upto);
    sync_cv_.notify_all();
  }
}

Status PartitionImpl::ReadInto(Offset offset, size_t max_bytes, ReadResult* out) const {
  if (options_.read_only && offset >= high_watermark()) SLUICE_RETURN_IF_ERROR(Refresh());
  ReadResult& r = *out;
  r.data.clear();
  r.high_watermark = high_watermark();
  r.log_start_offset = log_start_offset();
  if (offset < r.log_start_offset || offset > r.high_watermark) {
    return OutOfRange(
        "offset {} is out of range for partition {}: valid offsets are {} (log start) to {} "
        "(high watermark); seek to an offset in that range",
        offset, Name(), r.log_start_offset, r.high_watermark);
  }
  if (offset == r.high_watermark) return Status::Ok();
  // A read-only view of a damaged partition: everything before the damage reads, then the error.
  if (!damage_.ok() && offset.value() >= damage_offset_) return damage_;
  std::shared_ptr<const SegmentList> segs = segments();
  auto it = std::upper_bound(
      segs->begin(), segs->end(), offset,
      [](Offset o, const std::shared_ptr<Segment>& s) { return o < s->base_offset(); });
  if (it == segs->begin()) {
    return OutOfRange(
        "offset {} is out of range for partition {}: retention removed it; the log now starts "
        "at {}",
        offset, Name(), log_start_offset());
  }
  // An offset in a gap between segments reads from the start of the next one.
  for (--it; it != segs->end() && r.data.empty(); ++it) {
    SLUICE_RETURN_IF_ERROR((*it)->ReadBatches(std::max(offset, (*it)->base_offset()),
                                              r.high_watermark, max_bytes, &r.data));
  }
  return Status::Ok();
}

template <typename Pred>
bool PartitionImpl::WaitFor(std::chrono::steady_clock::time_point deadline, Pred pred) const {
  if (options_.read_only) {
    constexpr auto kPoll = std::chrono::milliseconds(5);
    while (true) {
      Refresh().IgnoreError();
      if (pred()) return true;
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return false;
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(kPoll, deadline - now));
    }
  }
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  bool ok;
  {
    std::unique_lock<std::mutex> l(wait_mu_);
    ok = wait_cv_.wait_until(l, deadline, pred);
  }
  waiters_.fetch_sub(1, std::memory_order_seq_cst);
  return ok;
}

bool PartitionImpl::WaitForData(Offset offset,
                                std::chrono::steady_clock::time_point deadline) const {
  return WaitFor(deadline, [&] { return high_watermark() > offset; });
}

bool PartitionImpl::WaitForStableData(Offset offset,
                                      std::chrono::steady_clock::time_point deadline) const {
  return WaitFor(deadline, [&] { return last_stable_offset() > offset; });
}

void PartitionImpl::TrackTxn(const RecordBatchView& batch) const {
  if (!batch.is_transactional()) return;
  std::lock_guard<std::mutex> l(txn_mu_);
  txn_.Update(batch);
  first_unstable_.store(txn_.FirstUnstableOffset().value_or(Offset(kNoUnstable)).value(),
                        std::memory_order_seq_cst);
}

void PartitionImpl::ResetTxn(TxnIndex index) const {
  std::lock_guard<std::mutex> l(txn_mu_);
  txn_ = std::move(index);
  first_unstable_.store(txn_.FirstUnstableOffset().value_or(Offset(kNoUnstable)).value(),
                        std::memory_order_seq_cst);
}

Offset PartitionImpl::last_stable_offset() const {
  // The high watermark first: a transaction's first batch and its marker update the index
  // before they move the high watermark (see first_unstable_).
  const int64_t hw = hw_.load(std::memory_order_seq_cst);
  const int64_t first = first_unstable_.load(std::memory_order_seq_cst);
  return Offset(std::max(std::min(hw, first), std::min(hw, log_start_.load())));
}

std::vector<AbortedTxn> PartitionImpl::AbortedTransactions(Offset from, Offset to) const {
  std::lock_guard<std::mutex> l(txn_mu_);
  return txn_.AbortedIn(from, to);
}

Result<OffsetAndTimestamp> PartitionImpl::OffsetForTime(Timestamp ts) const {
  if (options_.read_only) SLUICE_RETURN_IF_ERROR(Refresh());
  Offset hw = high_watermark();
  Offset start = log_start_offset();
  std::shared_ptr<const SegmentList> segs = segments();
  for (const std::shared_ptr<Segment>& seg : *segs) {
    if (seg->end_offset() <= start || seg->max_timestamp() < ts.value()) continue;
    SLUICE_ASSIGN_OR_RETURN(std::optional<Offset> found, seg->FindOffsetForTime(ts.value(), hw));
    if (!found) continue;
    // The index finds the batch; the answer is its first record at or after ts.
    SLUICE_ASSIGN_OR_RETURN(std::optional<OffsetAndTimestamp> at,
                            FirstRecordAtTime(std::max(*found, start), ts, hw));
    if (at) return *at;
  }
  return OffsetAndTimestamp{hw, kNoTimestamp};
}

Result<std::optional<OffsetAndTimestamp>> PartitionImpl::FirstRecordAtTime(Offset from,
                                                                           Timestamp ts,
                                                                           Offset hw) const {
  ReadResult read;
  Offset pos = from;
  while (pos < hw) {
    SLUICE_RETURN_IF_ERROR(ReadInto(pos, /*max_bytes=*/1, &read));  // one batch at a time
    BatchCursor cursor(read.data);
    RecordBatchView batch;
    if (!cursor.Next(&batch)) return std::optional<OffsetAndTimestamp>();
    pos = batch.last_offset() + 1;
    if (batch.is_control() || batch.max_timestamp() < ts) continue;
    std::optional<OffsetAndTimestamp> exact;
    SLUICE_RETURN_IF_ERROR(batch.ForEachRecord([&](const RecordView& r) {
      if (!exact && r.offset >= from && r.timestamp >= ts) {
        exact = OffsetAndTimestamp{r.offset, r.timestamp};
      }
    }));
    if (exact) return exact;
  }
  return std::optional<OffsetAndTimestamp>();
}

PartitionStats PartitionImpl::Stats() const {
  PartitionStats st;
  st.high_watermark = high_watermark();
  st.log_end_offset = st.high_watermark;
  st.log_start_offset = log_start_offset();
  std::shared_ptr<const SegmentList> segs = segments();
  for (const auto& seg : *segs) st.bytes += seg->size();
  st.segments = static_cast<int32_t>(segs->size());
  return st;
}

Status PartitionImpl::RollLocked(Offset base) {
  std::shared_ptr<const SegmentList> segs = segments();
  SLUICE_RETURN_IF_ERROR(segs->back()->Seal(/*close_writer=*/true));
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                          Segment::Open(fs_, dir_, base, /*writable=*/true,
                                        /*may_write_indexes=*/true, options_.index_interval_bytes));
  seg->ResetForScan();  // a new, empty segment: its (empty) indexes are complete
  auto list = std::make_shared<SegmentList>(*segs);
  list->push_back(std::move(seg));
  PublishSegments(std::move(list));
  // The checkpoint's directory fsync also makes the new segment's file name durable before any
  // batch is written to it.
  return CheckpointLocked();
}

Status PartitionImpl::CheckpointLocked() {
  SLUICE_RETURN_IF_ERROR(segments()->back()->Sync());
  Offset leo(hw_.load());
  checkpoint_.log_start_offset = log_start_offset();
  checkpoint_.recovery_point = leo;
  checkpoint_.producers = producers_;
  {
    std::lock_guard<std::mutex> t(txn_mu_);
    checkpoint_.txn = txn_;
    checkpoint_.txn_known = true;
  }
  // The segment list first: every sealed segment in it is fsynced (at its seal), and a crash
  // between the two files leaves a list that is newer than the recovery point, never older.
  SegmentListFile list;
  list.log_start = checkpoint_.log_start_offset;
  std::shared_ptr<const SegmentList> segs = segments();
  for (size_t i = 0; i < segs->size(); ++i) {
    const Segment& seg = *(*segs)[i];
    if (i + 1 < segs->size()) {
      list.segments.push_back({seg.base_offset(), seg.end_offset()});
    } else {
      list.segments.push_back({seg.base_offset(), std::nullopt});
    }
  }
  SLUICE_RETURN_IF_ERROR(
      fs_->WriteFileAtomic(JoinPath(dir_, segment_format::kSegmentListFile), list.Encode()));
  SLUICE_RETURN_IF_ERROR(
      fs_->WriteFileAtomic(JoinPath(dir_, segment_format::kCheckpointFile), checkpoint_.Encode()));
  std::lock_guard<std::mutex> l(sync_mu_);
  synced_offset_ = std::max(synced_offset_, leo.value());
  return Status::Ok();
}

Status PartitionImpl::Flush() {
  if (options_.read_only) return Status::Ok();
  if (failed_.load()) return FailedStatus();
  return WaitDurable(high_watermark());
}

Status PartitionImpl::Close() {
  std::lock_guard<std::mutex> l(append_mu_);
  if (closed_) return failed_.load() ? FailedStatus() : Status::Ok();
  closed_ = true;
  if (options_.read_only || !loaded_) return Status::Ok();
  if (failed_.load()) return FailedStatus();  // no marker: the next open recovers
  std::shared_ptr<const SegmentList> segs = segments();
  Status s = segs->back()->Seal(/*close_writer=*/true);
  if (s.ok()) s = CheckpointLocked();
  if (s.ok()) {
    s = fs_->WriteFileAtomic(JoinPath(dir_, segment_format::kCleanShutdownFile), "clean\n");
  }
  if (!s.ok()) return MarkFailed(s);
  return Status::Ok();
}

int32_t PartitionImpl::LastSequence(int64_t producer_id) const {
  std::lock_guard<std::mutex> l(append_mu_);
  return producers_.LastSequence(producer_id);
}

int64_t PartitionImpl::MaxProducerId() const {
  std::lock_guard<std::mutex> l(append_mu_);
  return producers_.MaxProducerId();
}

}  // namespace internal
}  // namespace sluice
