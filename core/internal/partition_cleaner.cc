// Partition: log compaction (the cleaner) and the completion of an interrupted swap on open.
// The design, the file names and every crash point are in core/README.md ("Compaction").
#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "core/crc32c.h"
#include "core/internal/metadata_file.h"
#include "core/internal/partition_impl.h"
#include "core/internal/segment_list_file.h"
#include "core/segment_format.h"
#include "core/varint.h"

namespace sluice::internal {

using segment_format::kCleanedSuffix;
using segment_format::kCleanerCheckpointFile;
using segment_format::kSwapSuffix;

namespace {

constexpr std::string_view kCleanerHeader = "sluice-cleaner 1\n";

// "<base>.<end>.swap" (both 20 digits) and back.
std::string SwapName(Offset base, Offset end) {
  return Segment::FileName(base, "") + "." + Segment::FileName(end, kSwapSuffix);
}

std::optional<std::pair<Offset, Offset>> ParseSwapName(std::string_view name) {
  const size_t digits = segment_format::kNameDigits;
  if (name.size() != digits + 1 + digits + kSwapSuffix.size() || name[digits] != '.') {
    return std::nullopt;
  }
  std::optional<Offset> base = Segment::ParseFileName(name.substr(0, digits), "");
  std::optional<Offset> end = Segment::ParseFileName(name.substr(digits + 1), kSwapSuffix);
  if (!base || !end || *end <= *base) return std::nullopt;
  return std::make_pair(*base, *end);
}

// What pass 1 learns about transactions: the data batches of aborted transactions (by base
// offset) and the first offset of a transaction that has no marker yet.
// The aborted transactions of the cleaned range, by producer id: [first data offset, marker].
struct TxnOutcomes {
  std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>> aborted;
  // Whether `b` (a data batch) belongs to an aborted transaction.
  bool Aborted(const RecordBatchView& b) const {
    if (!b.is_transactional()) return false;
    auto it = aborted.find(b.producer_id());
    if (it == aborted.end()) return false;
    const int64_t at = b.base_offset().value();
    for (const auto& [first, last] : it->second) {
      if (first <= at && at <= last) return true;
    }
    return false;
  }
};

// Rewrites `batch` keeping only the records `keep` says yes to, with their offsets, timestamps
// and the batch's header fields unchanged (Kafka keeps baseOffset and lastOffsetDelta too, so
// the batch still ends where it ended). Returns an empty string when no record is kept, the
// original bytes when every record is.
Result<std::string> FilterBatch(const RecordBatchView& batch,
                                const std::function<bool(const RecordView&)>& keep,
                                int64_t* kept_records) {
  std::string storage;
  SLUICE_ASSIGN_OR_RETURN(RecordBatchView plain, batch.Decompressed(&storage));
  std::string records;
  int32_t kept = 0;
  RecordBatchView::Cursor c;
  RecordView r;
  while (!plain.AtEnd(c)) {
    size_t from = c.byte;
    SLUICE_RETURN_IF_ERROR(plain.Next(&c, &r));
    if (keep(r)) {
      records.append(plain.bytes().substr(from, c.byte - from));
      ++kept;
    }
  }
  *kept_records += kept;
  if (kept == 0) return std::string();
  if (kept == batch.record_count()) return std::string(batch.bytes());
  std::string out(plain.bytes().substr(0, batch_format::kHeaderSize));
  if (batch.compression() != 0) {
    SLUICE_RETURN_IF_ERROR(codec::Compress(static_cast<Codec>(batch.compression()), records, &out));
  } else {
    out += records;
  }
  char* h = out.data();
  varint::PutBE16(h + batch_format::kAttributes, batch.attributes());
  varint::PutBE32(h + batch_format::kRecordCount, static_cast<uint32_t>(kept));
  varint::PutBE32(h + batch_format::kBatchLength,
                  static_cast<uint32_t>(out.size() - batch_format::kLogOverhead));
  varint::PutBE32(h + batch_format::kCrc, crc32c::Value(h + batch_format::kAttributes,
                                                        out.size() - batch_format::kAttributes));
  return out;
}

}  // namespace

Result<Offset> PartitionImpl::LoadCleanEnd() {
  if (clean_end_) return Offset(*clean_end_);
  const std::string path = JoinPath(dir_, kCleanerCheckpointFile);
  int64_t end = log_start_offset().value();
  if (fs_->Exists(path)) {
    // A damaged checkpoint only costs a cleaning of everything: start from the log start.
    Result<std::string> bytes = fs_->ReadFile(path);
    Result<MetadataText> text =
        bytes.ok() ? UnsealMetadata(*bytes, path, "") : Result<MetadataText>(bytes.status());
    int64_t v = 0;
    if (text.ok() && text->checksummed && text->text.starts_with(kCleanerHeader)) {
      std::string_view rest = text->text.substr(kCleanerHeader.size());
      if (rest.starts_with("clean_end=") && rest.ends_with("\n") &&
          ParseDecimal(rest.substr(10, rest.size() - 11), &v)) {
        end = std::max(end, v);
      }
    }
  }
  clean_end_ = end;
  return Offset(end);
}

Status PartitionImpl::FinishSwap(Offset base, Offset end, const std::string& swap_path) {
  // 1. The segment list forgets the segments the swap replaces (base itself stays, now ending
  //    where the group ended), so an open after a crash below never takes them for lost.
  const std::string list_path = JoinPath(dir_, segment_format::kSegmentListFile);
  if (fs_->Exists(list_path)) {
    SLUICE_ASSIGN_OR_RETURN(std::string bytes, fs_->ReadFile(list_path));
    Result<SegmentListFile> list = SegmentListFile::Decode(bytes, list_path);
    if (list.ok()) {  // an unusable list is ignored by open anyway
      SegmentListFile out;
      out.log_start = list->log_start;
      bool changed = false;
      for (const SegmentListFile::Entry& e : list->segments) {
        if (e.base > base && e.base < end) {
          changed = true;
          continue;
        }
        if (e.base == base && e.end && *e.end != end) {
          out.segments.push_back({base, end});
          changed = true;
          continue;
        }
        out.segments.push_back(e);
      }
      if (changed) SLUICE_RETURN_IF_ERROR(fs_->WriteFileAtomic(list_path, out.Encode()));
    }
  }
  // 2. The replaced segments' files, newest first, then base's indexes (they describe the old
  //    log), then the swap becomes base's log (rename replaces it atomically).
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(dir_));
  std::vector<Offset> doomed;
  for (const std::string& name : names) {
    std::optional<Offset> b = Segment::ParseFileName(name, segment_format::kLogSuffix);
    if (b && *b > base && *b < end) doomed.push_back(*b);
  }
  std::sort(doomed.rbegin(), doomed.rend());
  auto remove = [&](const std::string& name) -> Status {
    Status s = fs_->RemoveFile(JoinPath(dir_, name));
    return s.code() == StatusCode::kNotFound ? Status::Ok() : s;
  };
  for (Offset b : doomed) {
    SLUICE_RETURN_IF_ERROR(remove(Segment::FileName(b, segment_format::kIndexSuffix)));
    SLUICE_RETURN_IF_ERROR(remove(Segment::FileName(b, segment_format::kTimeIndexSuffix)));
    SLUICE_RETURN_IF_ERROR(remove(Segment::FileName(b, segment_format::kLogSuffix)));
  }
  SLUICE_RETURN_IF_ERROR(remove(Segment::FileName(base, segment_format::kIndexSuffix)));
  SLUICE_RETURN_IF_ERROR(remove(Segment::FileName(base, segment_format::kTimeIndexSuffix)));
  SLUICE_RETURN_IF_ERROR(
      fs_->Rename(swap_path, JoinPath(dir_, Segment::FileName(base, segment_format::kLogSuffix))));
  return fs_->SyncDir(dir_);
}

Status PartitionImpl::CompleteCleaning() {
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(dir_));
  bool removed = false;
  for (const std::string& name : names) {
    if (Segment::ParseFileName(name, kCleanedSuffix)) {
      // Unfinished output: the segments it was made from are all still there.
      SLUICE_RETURN_IF_ERROR(fs_->RemoveFile(JoinPath(dir_, name)));
      ++report_.orphan_files_removed;
      removed = true;
    }
  }
  if (removed) SLUICE_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  for (const std::string& name : names) {
    std::optional<std::pair<Offset, Offset>> swap = ParseSwapName(name);
    if (!swap) continue;
    SLUICE_RETURN_IF_ERROR(FinishSwap(swap->first, swap->second, JoinPath(dir_, name)));
    report_.notes += fmt::format("finished the compaction swap of offsets {} to {}; ", swap->first,
                                 swap->second.value() - 1);
  }
  return Status::Ok();
}

Result<CompactionResult> PartitionImpl::Compact(const CompactionOptions& options) {
  if (options_.read_only) {
    return InvalidArgument("partition {} is open read-only; the writer compacts it", Name());
  }
  if (!config_.compacted()) {
    return InvalidArgument(
        "topic '{}' has cleanup.policy=delete; only topics created with cleanup.policy=compact "
        "(or compact,delete) are compacted",
        topic_);
  }
  std::lock_guard<std::mutex> cleaner_lock(cleaner_mu_);
  {
    std::lock_guard<std::mutex> l(append_mu_);
    if (failed_.load()) return FailedStatus();
    if (closed_) return InvalidArgument("partition {} is closed", Name());
  }
  CompactionResult result;
  // Sealed segments only change by this cleaner or by retention, both excluded by cleaner_mu_;
  // appends only add segments after them.
  std::shared_ptr<const SegmentList> segs = segments();
  const Offset log_start = log_start_offset();
  SLUICE_ASSIGN_OR_RETURN(Offset clean_end, LoadCleanEnd());
  result.clean_end = clean_end;

  // The cleanable range: sealed segments from the log start, up to the first one still inside
  // min.compaction.lag.ms.
  size_t n = 0;
  while (n + 1 < segs->size()) {
    const Segment& s = *(*segs)[n];
    if (s.max_timestamp() > options.now.value() - config_.min_compaction_lag_ms) break;
    ++n;
  }

  // Transactions come from the partition's transaction index, the one readers use: nothing from
  // the last stable offset (the first open transaction's first batch) on is cleaned, and the
  // aborted transactions below it list every aborted data batch there (read the LSO first).
  const Offset lso = last_stable_offset();
  while (n > 0 && (*segs)[n - 1]->end_offset() > lso) --n;
  TxnOutcomes txns;
  for (const AbortedTxn& a : AbortedTransactions(log_start, lso)) {
    txns.aborted[a.producer_id].push_back({a.first_offset.value(), a.last_offset.value()});
  }
  // Segments below the log start (a retention in the middle of its work) are not cleaned.
  size_t first = 0;
  while (first < n && (*segs)[first]->end_offset() <= log_start) ++first;
  if (first >= n) {
    result.why_not =
        "nothing is cleanable: only the active segment, segments inside min.compaction.lag.ms "
        "or at or above an open transaction hold data";
    return result;
  }
  uint64_t dirty = 0, total = 0;
  for (size_t i = first; i < n; ++i) {
    total += (*segs)[i]->size();
    if ((*segs)[i]->end_offset() > clean_end) dirty += (*segs)[i]->size();
  }
  double ratio = total == 0 ? 0.0 : static_cast<double>(dirty) / static_cast<double>(total);
  if (!options.force && (dirty == 0 || ratio < config_.min_cleanable_dirty_ratio)) {
    result.why_not = fmt::format("dirty ratio {:.3f} is below min.cleanable.dirty.ratio {}", ratio,
                                 config_.min_cleanable_dirty_ratio);
    return result;
  }

  // Pass 2: the latest offset of every key in the range (committed and non-transactional data).
  std::unordered_map<std::string, int64_t> latest;
  for (size_t i = first; i < n; ++i) {
    const Segment& s = *(*segs)[i];
    Status record_status;
    Segment::ScanStop stop;
    SLUICE_RETURN_IF_ERROR(s.Scan(
        0, s.size(), s.base_offset(), /*validate=*/true,
        [&](const RecordBatchView& b, uint64_t) {
          if (b.is_control() || txns.Aborted(b)) return;
          Status st = b.ForEachRecord([&](const RecordView& r) {
            if (r.has_key) latest[std::string(r.key)] = r.offset.value();
          });
          if (record_status.ok() && !st.ok()) record_status = st;
        },
        &stop));
    if (!stop.clean) return s.Damaged(stop.position, stop.reason);
    SLUICE_RETURN_IF_ERROR(record_status);
  }

  // Pass 3, per group of consecutive segments that fits one segment: write the kept batches to
  // `<base>.cleaned`, fsync, rename to `<base>.<end>.swap` (the commit point), then swap.
  size_t g = first;
  while (g < n) {
    const Offset base = (*segs)[g]->base_offset();
    size_t e = g;
    uint64_t bytes = 0;
    while (e < n &&
           (e == g || (bytes + (*segs)[e]->size() <= static_cast<uint64_t>(config_.segment_bytes) &&
                       (*segs)[e]->end_offset() - base <= segment_format::kMaxRelativeOffset))) {
      bytes += (*segs)[e]->size();
      ++e;
    }
    // The group replaces offsets [base, next segment's base).
    const Offset group_end = (*segs)[e]->base_offset();
    const std::string cleaned_path = JoinPath(dir_, Segment::FileName(base, kCleanedSuffix));
    if (fs_->Exists(cleaned_path)) SLUICE_RETURN_IF_ERROR(fs_->RemoveFile(cleaned_path));
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> out, fs_->OpenWritable(cleaned_path));
    std::string pending_out;
    Status write_status;
    auto flush_out = [&]() {
      if (write_status.ok() && !pending_out.empty()) write_status = out->Append(pending_out);
      pending_out.clear();
    };
    for (size_t i = g; i < e; ++i) {
      const Segment& s = *(*segs)[i];
      // A tombstone goes once its segment's newest record is older than delete.retention.ms.
      const bool tombstones_expire =
          s.max_timestamp() < options.now.value() - config_.delete_retention_ms;
      Status record_status;
      Segment::ScanStop stop;
      SLUICE_RETURN_IF_ERROR(s.Scan(
          0, s.size(), s.base_offset(), /*validate=*/false,
          [&](const RecordBatchView& b, uint64_t) {
            if (!record_status.ok()) return;
            result.records_in += b.record_count();
            if (b.is_control()) {  // markers stay (see README): readers need them
              result.records_out += b.record_count();
              pending_out.append(b.bytes());
            } else if (!txns.Aborted(b)) {
              Result<std::string> kept = FilterBatch(
                  b,
                  [&](const RecordView& r) {
                    if (!r.has_key) return false;
                    auto it = latest.find(std::string(r.key));
                    if (it == latest.end() || it->second != r.offset.value()) return false;
                    return r.has_value || !tombstones_expire;
                  },
                  &result.records_out);
              if (!kept.ok()) {
                record_status = kept.status();
                return;
              }
              pending_out.append(*kept);
            }
            if (pending_out.size() >= (1u << 20)) flush_out();
          },
          &stop));
      if (!stop.clean) return s.Damaged(stop.position, stop.reason);
      SLUICE_RETURN_IF_ERROR(record_status);
      result.bytes_in += static_cast<int64_t>(s.size());
      ++result.segments_in;
    }
    flush_out();
    SLUICE_RETURN_IF_ERROR(write_status);
    SLUICE_RETURN_IF_ERROR(out->Sync());
    result.bytes_out += static_cast<int64_t>(out->size());
    SLUICE_RETURN_IF_ERROR(out->Close());
    const std::string swap_path = JoinPath(dir_, SwapName(base, group_end));
    SLUICE_RETURN_IF_ERROR(fs_->Rename(cleaned_path, swap_path));
    SLUICE_RETURN_IF_ERROR(fs_->SyncDir(dir_));

    // The swap itself, under the append lock so that no roll writes the segment list meanwhile.
    std::lock_guard<std::mutex> l(append_mu_);
    if (failed_.load()) return FailedStatus();
    if (closed_) {  // the next open finishes the swap
      return InvalidArgument("partition {} was closed during its cleaning", Name());
    }
    Status s = FinishSwap(base, group_end, swap_path);
    std::shared_ptr<Segment> cleaned;
    if (s.ok()) {
      Result<std::shared_ptr<Segment>> opened =
          Segment::Open(fs_, dir_, base, /*writable=*/false, /*may_write_indexes=*/true,
                        options_.index_interval_bytes);
      s = opened.status();
      if (s.ok()) cleaned = std::move(opened).value();
    }
    if (s.ok()) {
      cleaned->ResetForScan();
      Result<uint64_t> size = cleaned->FileSize();
      Segment::ScanStop stop;
      s = size.status();
      if (s.ok()) {
        s = cleaned->Scan(
            0, *size, base, /*validate=*/false,
            [&](const RecordBatchView& b, uint64_t) { cleaned->Track(b); }, &stop);
      }
      if (s.ok() && !stop.clean) s = cleaned->Damaged(stop.position, stop.reason);
    }
    if (s.ok()) {
      cleaned->FinalizeTimeIndex();
      bool changed = false;
      s = cleaned->PersistIndexes(&changed);
    }
    if (s.ok()) {
      std::shared_ptr<const SegmentList> now_list = segments();
      auto list = std::make_shared<SegmentList>();
      for (const auto& seg : *now_list) {
        if (seg->base_offset() == base) {
          list->push_back(cleaned);
        } else if (seg->base_offset() < base || seg->base_offset() >= group_end) {
          list->push_back(seg);
        }
      }
      PublishSegments(std::move(list));
      s = CheckpointLocked();
    }
    // The files are replaced: a failure now leaves this process's view behind the disk, so the
    // partition stops until reopened (the open finishes the swap).
    if (!s.ok()) return MarkFailed(s);
    ++result.segments_out;
    g = e;
  }

  clean_end = (*segs)[n - 1]->end_offset();
  SLUICE_RETURN_IF_ERROR(fs_->WriteFileAtomic(
      JoinPath(dir_, kCleanerCheckpointFile),
      SealMetadata(fmt::format("{}clean_end={}\n", kCleanerHeader, clean_end))));
  clean_end_ = clean_end.value();
  result.clean_end = clean_end;
  result.cleaned = true;
  return result;
}

}  // namespace sluice::internal
