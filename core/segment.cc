#include "core/segment.h"

#include <algorithm>
#include <charconv>

#include "core/batch_cursor.h"
#include "core/crc32c.h"
#include "core/metrics.h"
#include "core/record_batch_format.h"
#include "core/segment_format.h"
#include "core/varint.h"

namespace sluice {

namespace {

// Header bytes needed to know a batch's offsets (base, length, ..., lastOffsetDelta).
constexpr size_t kOffsetsPrefix = batch_format::kLastOffsetDelta + 4;
// Header bytes up to and including maxTimestamp.
constexpr size_t kTimestampsPrefix = batch_format::kMaxTimestamp + 8;
constexpr size_t kScanChunk = 1 << 20;

int64_t BaseOf(const char* h) {
  return static_cast<int64_t>(varint::GetBE64(h + batch_format::kBaseOffset));
}
int64_t LastOf(const char* h) {
  return BaseOf(h) + static_cast<int32_t>(varint::GetBE32(h + batch_format::kLastOffsetDelta));
}

// Replaces a small file's contents in place (index files are checked on load and rebuilt when
// wrong, so they need no atomic rename).
Status OverwriteFile(FileSystem* fs, const std::string& path, std::string_view data) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, fs->OpenWritable(path));
  SLUICE_RETURN_IF_ERROR(f->Truncate(0));
  SLUICE_RETURN_IF_ERROR(f->Append(data));
  SLUICE_RETURN_IF_ERROR(f->Sync());
  return f->Close();
}

}  // namespace

Segment::Segment(FileSystem* fs, std::string dir, Offset base, int32_t index_interval_bytes,
                 bool may_write_indexes)
    : fs_(fs),
      dir_(std::move(dir)),
      base_(base),
      index_interval_bytes_(std::max(index_interval_bytes, 1)),
      may_write_indexes_(may_write_indexes),
      end_(base.value()) {
  log_path_ = JoinPath(dir_, FileName(base, segment_format::kLogSuffix));
  index_path_ = JoinPath(dir_, FileName(base, segment_format::kIndexSuffix));
  time_index_path_ = JoinPath(dir_, FileName(base, segment_format::kTimeIndexSuffix));
}

Result<std::shared_ptr<Segment>> Segment::Open(FileSystem* fs, const std::string& dir, Offset base,
                                               bool writable, bool may_write_indexes,
                                               int32_t index_interval_bytes) {
  std::shared_ptr<Segment> s(new Segment(fs, dir, base, index_interval_bytes, may_write_indexes));
  if (writable) {
    SLUICE_ASSIGN_OR_RETURN(s->writer_, fs->OpenWritable(s->log_path_));
  }
  SLUICE_ASSIGN_OR_RETURN(s->reader_, fs->OpenReadable(s->log_path_));
  return s;
}

std::string Segment::FileName(Offset base, std::string_view suffix) {
  return fmt::format("{:0{}d}{}", base.value(), segment_format::kNameDigits, suffix);
}

std::optional<Offset> Segment::ParseFileName(std::string_view name, std::string_view suffix) {
  if (name.size() != segment_format::kNameDigits + suffix.size()) return std::nullopt;
  if (name.substr(segment_format::kNameDigits) != suffix) return std::nullopt;
  int64_t v = 0;
  const char* b = name.data();
  const char* e = b + segment_format::kNameDigits;
  if (!std::all_of(b, e, [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || p != e) return std::nullopt;
  return Offset(v);
}

int64_t Segment::max_timestamp() const {
  EnsureIndexesLoaded().IgnoreError();  // on failure the published value (-1) stands
  return max_ts_published_.load(std::memory_order_acquire);
}

void Segment::SetExtent(uint64_t size, Offset end) {
  std::lock_guard<std::mutex> l(idx_mu_);
  indexes_loaded_ = false;
  end_.store(end.value(), std::memory_order_release);
  size_.store(size, std::memory_order_release);
}

void Segment::ResetForScan() {
  std::lock_guard<std::mutex> l(idx_mu_);
  indexes_loaded_ = true;
  offset_index_.Clear();
  time_index_.Clear();
  max_ts_ = -1;
  max_ts_relative_ = 0;
  bytes_since_offset_entry_ = 0;
  bytes_since_time_entry_ = 0;
  max_ts_published_.store(-1, std::memory_order_release);
  end_.store(base_.value(), std::memory_order_release);
  size_.store(0, std::memory_order_release);
}

void Segment::IndexBatchLocked(const RecordBatchView& batch, uint64_t position) const {
  uint32_t rel = static_cast<uint32_t>(batch.base_offset() - base_);
  uint64_t interval = static_cast<uint64_t>(index_interval_bytes_);
  if (position > 0 && bytes_since_offset_entry_ >= interval &&
      (offset_index_.empty() || position > offset_index_.back().position)) {
    offset_index_.Add(rel, static_cast<uint32_t>(position));
    bytes_since_offset_entry_ = 0;
  }
  bytes_since_offset_entry_ += batch.size();
  int64_t mt = batch.max_timestamp().value();
  if (mt > max_ts_) {
    max_ts_ = mt;
    max_ts_relative_ = rel;
    if (time_index_.empty() || bytes_since_time_entry_ >= interval) {
      time_index_.Add(mt, rel);
      bytes_since_time_entry_ = 0;
    }
    max_ts_published_.store(mt, std::memory_order_release);
  }
  bytes_since_time_entry_ += batch.size();
}

Status Segment::Append(const RecordBatchView& batch) {
  uint64_t pos = size();
  if (writer_ == nullptr || writer_->size() != pos) {
    return Internal("segment '{}' is not open for appending at byte {}; reopen the partition",
                    log_path_, pos);
  }
  SLUICE_RETURN_IF_ERROR(writer_->Append(batch.bytes()));
  {
    std::lock_guard<std::mutex> l(idx_mu_);
    IndexBatchLocked(batch, pos);
  }
  end_.store(batch.last_offset().value() + 1, std::memory_order_release);
  size_.store(pos + batch.size(), std::memory_order_release);
  return Status::Ok();
}

void Segment::Track(const RecordBatchView& batch) {
  uint64_t pos = size();
  {
    std::lock_guard<std::mutex> l(idx_mu_);
    IndexBatchLocked(batch, pos);
  }
  end_.store(batch.last_offset().value() + 1, std::memory_order_release);
  size_.store(pos + batch.size(), std::memory_order_release);
}

Status Segment::Sync() {
  std::lock_guard<std::mutex> l(writer_mu_);
  if (!sync_error_.ok()) return sync_error_;
  if (writer_ == nullptr) return Status::Ok();
  Status s;
  {
    ScopedLatency timed(&FsyncLatency());
    s = writer_->Sync();
  }
  if (!s.ok()) sync_error_ = s;
  return s;
}

Status Segment::Seal(bool close_writer) {
  SLUICE_RETURN_IF_ERROR(Sync());
  {
    std::lock_guard<std::mutex> l(idx_mu_);
    if (indexes_loaded_) {
      FinalizeTimeIndexLocked();
      bool changed = false;
      SLUICE_RETURN_IF_ERROR(PersistIndexesLocked(&changed));
    }
  }
  if (close_writer) {
    std::lock_guard<std::mutex> l(writer_mu_);
    if (writer_ != nullptr) {
      Status s = writer_->Close();
      writer_.reset();
      SLUICE_RETURN_IF_ERROR(s);
    }
  }
  return Status::Ok();
}

Status Segment::Truncate(uint64_t position, Offset end) {
  if (writer_ != nullptr) {
    SLUICE_RETURN_IF_ERROR(writer_->Truncate(position));
    SLUICE_RETURN_IF_ERROR(writer_->Sync());
  } else {
    SLUICE_RETURN_IF_ERROR(fs_->Truncate(log_path_, position));
  }
  end_.store(end.value(), std::memory_order_release);
  size_.store(position, std::memory_order_release);
  return Status::Ok();
}

std::pair<Offset, uint64_t> Segment::LastIndexEntry() const {
  std::lock_guard<std::mutex> l(idx_mu_);
  if (offset_index_.empty()) return {base_, 0};
  return {base_ + offset_index_.back().relative_offset, offset_index_.back().position};
}

void Segment::FinalizeTimeIndex() {
  std::lock_guard<std::mutex> l(idx_mu_);
  FinalizeTimeIndexLocked();
}

void Segment::FinalizeTimeIndexLocked() const {
  if (max_ts_ >= 0 && (time_index_.empty() || time_index_.back().timestamp < max_ts_)) {
    time_index_.Add(max_ts_, max_ts_relative_);
  }
}

Status Segment::PersistIndexes(bool* changed) const {
  std::lock_guard<std::mutex> l(idx_mu_);
  *changed = false;
  if (!indexes_loaded_) return Status::Ok();
  return PersistIndexesLocked(changed);
}

Status Segment::PersistIndexesLocked(bool* changed) const {
  *changed = false;
  if (!may_write_indexes_) return Status::Ok();
  const std::pair<const std::string*, std::string> files[] = {
      {&index_path_, offset_index_.Encode()}, {&time_index_path_, time_index_.Encode()}};
  for (const auto& [path, data] : files) {
    if (fs_->Exists(*path)) {
      Result<std::string> old = fs_->ReadFile(*path);
      if (old.ok() && *old == data) continue;
    }
    SLUICE_RETURN_IF_ERROR(OverwriteFile(fs_, *path, data));
    *changed = true;
  }
  return Status::Ok();
}

Status Segment::LoadIndexes(bool* rebuilt) const {
  std::lock_guard<std::mutex> l(idx_mu_);
  *rebuilt = false;
  if (indexes_loaded_) return Status::Ok();
  if (LoadIndexFilesLocked().ok()) return Status::Ok();
  *rebuilt = true;
  return RebuildIndexesLocked();
}

Status Segment::EnsureIndexesLoaded() const {
  bool rebuilt;
  return LoadIndexes(&rebuilt);
}

Status Segment::LoadIndexFilesLocked() const {
  uint64_t size = this->size();
  Offset end = end_offset();
  if (!fs_->Exists(index_path_) || !fs_->Exists(time_index_path_)) {
    return Corruption("index files of {} are missing", log_path_);
  }
  SLUICE_ASSIGN_OR_RETURN(std::string ib, fs_->ReadFile(index_path_));
  SLUICE_ASSIGN_OR_RETURN(std::string tb, fs_->ReadFile(time_index_path_));
  SLUICE_ASSIGN_OR_RETURN(OffsetIndex oi, OffsetIndex::Decode(ib, size));
  SLUICE_ASSIGN_OR_RETURN(TimeIndex ti, TimeIndex::Decode(tb, end - base_ - 1));
  if (size > 0 && ti.empty()) return Corruption("time index of {} is empty", log_path_);
  // Every offset index entry must name the batch that really starts at its position.
  char h[kOffsetsPrefix];
  for (size_t i = 0; i < oi.size(); ++i) {
    const OffsetIndex::Entry& e = oi.entry(i);
    Result<uint64_t> sz = ReadHeader(e.position, size, h, sizeof(h));
    if (!sz.ok() || h[batch_format::kMagic] != batch_format::kMagicV2 ||
        BaseOf(h) != base_.value() + e.relative_offset) {
      return Corruption("offset index of {} entry {} does not point at its batch", log_path_, i);
    }
  }
  offset_index_ = std::move(oi);
  time_index_ = std::move(ti);
  max_ts_ = time_index_.empty() ? -1 : time_index_.back().timestamp;
  max_ts_relative_ = time_index_.empty() ? 0 : time_index_.back().relative_offset;
  bytes_since_offset_entry_ = size - (offset_index_.empty() ? 0 : offset_index_.back().position);
  bytes_since_time_entry_ = static_cast<uint64_t>(index_interval_bytes_);
  max_ts_published_.store(max_ts_, std::memory_order_release);
  indexes_loaded_ = true;
  return Status::Ok();
}

Status Segment::RebuildIndexesLocked() const {
  offset_index_.Clear();
  time_index_.Clear();
  max_ts_ = -1;
  max_ts_relative_ = 0;
  bytes_since_offset_entry_ = 0;
  bytes_since_time_entry_ = 0;
  ScanStop stop;
  SLUICE_RETURN_IF_ERROR(Scan(
      0, size(), base_, /*validate=*/false,
      [&](const RecordBatchView& b, uint64_t pos) { IndexBatchLocked(b, pos); }, &stop));
  if (!stop.clean) return Damaged(stop.position, stop.reason);
  FinalizeTimeIndexLocked();
  max_ts_published_.store(max_ts_, std::memory_order_release);
  indexes_loaded_ = true;
  bool changed;
  return PersistIndexesLocked(&changed);
}

Status Segment::Damaged(uint64_t position, std::string_view why) const {
  return Corruption("segment file '{}' is damaged at byte {}: {}", log_path_, position, why);
}

Status Segment::Scan(uint64_t from, uint64_t limit, Offset expected, bool validate,
                     const BatchFn& fn, ScanStop* stop) const {
  std::string buf;
  uint64_t pos = from;
  Offset next = expected;
  size_t want = kScanChunk;
  auto stop_at = [&](uint64_t at, std::string reason) {
    stop->position = at;
    stop->clean = false;
    stop->reason = std::move(reason);
    stop->next_offset = next;
    return Status::Ok();
  };
  while (pos < limit) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(std::max(want, kScanChunk), limit - pos));
    buf.resize(n);
    SLUICE_ASSIGN_OR_RETURN(std::string_view got, reader_->Read(pos, n, buf.data()));
    if (got.size() < n) limit = pos + got.size();  // the file is shorter than expected
    if (got.empty()) break;
    BatchCursor cursor(got);
    RecordBatchView v;
    while (cursor.Next(&v)) {
      const uint64_t at = pos + cursor.valid_bytes() - v.size();
      if (!offset_rule::MayFollow(next, v.base_offset())) {
        return stop_at(at, fmt::format("the batch has base offset {} below the next offset {} "
                                       "(offsets must increase)",
                                       v.base_offset(), next));
      }
      Status s = validate ? v.Validate(OffsetRule::kStored)
                          : offset_rule::CheckCounts(OffsetRule::kStored, v.base_offset(),
                                                     v.record_count(), v.last_offset_delta());
      if (!s.ok()) return stop_at(at, s.message());
      if (fn) fn(v, at);
      next = v.last_offset() + 1;
    }
    const uint64_t at = pos + cursor.valid_bytes();
    if (cursor.stop() == BatchCursor::Stop::kMalformed) {
      return stop_at(at, cursor.status().message());
    }
    if (cursor.stop() == BatchCursor::Stop::kPartial) {
      // A batch cut by the end of the data is a torn tail; one cut by the chunk is read again.
      if (at + cursor.rest().size() >= limit) return stop_at(at, cursor.status().message());
      want = static_cast<size_t>(cursor.partial_batch_bytes());
    }
    pos = at;
  }
  stop->position = pos;
  stop->clean = true;
  stop->reason.clear();
  stop->next_offset = next;
  return Status::Ok();
}

Result<uint64_t> Segment::ReadHeader(uint64_t position, uint64_t visible, char* buf,
                                     size_t n) const {
  if (position + n > visible) return Damaged(position, "a batch header runs past the data");
  SLUICE_ASSIGN_OR_RETURN(std::string_view got, reader_->Read(position, n, buf));
  if (got.size() < n) return Damaged(position, "the file is shorter than its indexed data");
  int64_t sz = BatchSizeAt(got);
  if (sz <= 0 || position + static_cast<uint64_t>(sz) > visible) {
    return Damaged(position, "the batch length field is invalid");
  }
  return static_cast<uint64_t>(sz);
}

Result<uint64_t> Segment::StartPosition(Offset offset) const {
  SLUICE_RETURN_IF_ERROR(EnsureIndexesLoaded());
  uint64_t pos;
  {
    std::lock_guard<std::mutex> l(idx_mu_);
    pos = offset_index_.Lookup(static_cast<uint32_t>(offset - base_));
  }
  if (pos == 0) return pos;
  char h[kOffsetsPrefix];
  Result<uint64_t> sz = ReadHeader(pos, size(), h, sizeof(h));
  // A stale or lying entry falls back to a scan from the segment start.
  if (!sz.ok() || BaseOf(h) > offset.value()) return uint64_t{0};
  return pos;
}

Status Segment::ReadBatches(Offset offset, Offset hw, size_t max_bytes, std::string* out) const {
  uint64_t visible = size();
  Offset end = end_offset();
  if (offset >= end || offset >= hw) return Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(uint64_t pos, StartPosition(offset));
  char h[kOffsetsPrefix];
  uint64_t first_size = 0;
  // Offsets are outside the CRC, so they are checked against the offset rule, the segment's
  // base (its file name) and its end: an edited baseOffset must not renumber or hide records.
  int64_t next = base_.value();
  auto bad_offsets = [&](uint64_t at, int64_t base, int64_t last) -> Status {
    if (base >= next && last < end.value()) return Status::Ok();
    return Damaged(at, fmt::format("the batch has offsets {} to {}, but the previous batch ends "
                                   "at {} and the segment at {} (an edited baseOffset?)",
                                   base, last, next - 1, end.value() - 1));
  };
  while (true) {
    if (pos >= visible) return Status::Ok();
    SLUICE_ASSIGN_OR_RETURN(uint64_t sz, ReadHeader(pos, visible, h, sizeof(h)));
    if (pos == 0 || next != base_.value()) {
      SLUICE_RETURN_IF_ERROR(bad_offsets(pos, BaseOf(h), LastOf(h)));
    }
    if (LastOf(h) >= offset.value()) {
      first_size = sz;
      break;
    }
    next = LastOf(h) + 1;
    pos += sz;
  }
  size_t n = static_cast<size_t>(
      std::min<uint64_t>(visible - pos, std::max<uint64_t>(max_bytes, first_size)));
  size_t old = out->size();
  out->resize(old + n);
  SLUICE_ASSIGN_OR_RETURN(std::string_view got, reader_->Read(pos, n, out->data() + old));
  if (got.size() < n) {
    out->resize(old);
    return Damaged(pos, "the file is shorter than its visible data");
  }
  // Whole CRC-checked batches below the HW. A damaged batch after good ones is left for the next
  // read to report, so the reader gets everything before the damage first.
  BatchCursor cursor(std::string_view(out->data() + old, n));
  RecordBatchView v;
  size_t good = 0;
  Status damage;
  // The walk checked the first batch. A batch after a gap that the next batch overlaps is as
  // suspect as that one (one of the two was renumbered): neither is returned.
  // `next` is where the batch before the first one ended (the segment base if the walk started
  // at an index entry, so a gap there is not known).
  size_t before_last = 0;
  bool last_after_gap = false;
  bool first = true;
  while (cursor.Next(&v) && v.base_offset() < hw) {
    if (!v.CrcMatches()) {
      damage = Damaged(pos + good, "the batch fails its CRC-32C check");
      break;
    }
    if (first) next = std::min(next, v.base_offset().value());  // checked by the walk
    first = false;
    damage = bad_offsets(pos + good, v.base_offset().value(), v.last_offset().value());
    if (!damage.ok()) {
      if (last_after_gap && v.base_offset().value() < next) {
        good = before_last;
        damage = Damaged(pos + good, fmt::format("the batch has offsets {} to {}, which the next "
                                                 "batch overlaps (an edited baseOffset?)",
                                                 BaseOf(out->data() + old + good), next - 1));
      }
      break;
    }
    last_after_gap = v.base_offset().value() > next;
    before_last = good;
    next = v.last_offset().value() + 1;
    good = cursor.valid_bytes();
  }
  if (damage.ok() && cursor.stop() == BatchCursor::Stop::kMalformed) {
    damage = Damaged(pos + good, cursor.status().message());
  }
  if (!damage.ok() && good == 0) {
    out->resize(old);
    return damage;
  }
  out->resize(old + good);
  return Status::Ok();
}

Result<std::optional<Offset>> Segment::FindOffsetForTime(int64_t ts, Offset hw) const {
  SLUICE_RETURN_IF_ERROR(EnsureIndexesLoaded());
  if (max_ts_published_.load(std::memory_order_acquire) < ts) return std::optional<Offset>();
  uint32_t rel;
  {
    std::lock_guard<std::mutex> l(idx_mu_);
    rel = time_index_.LookupBefore(ts);
  }
  SLUICE_ASSIGN_OR_RETURN(uint64_t pos, StartPosition(base_ + rel));
  uint64_t visible = size();
  char h[kTimestampsPrefix];
  while (pos < visible) {
    SLUICE_ASSIGN_OR_RETURN(uint64_t sz, ReadHeader(pos, visible, h, sizeof(h)));
    if (BaseOf(h) >= hw.value()) break;
    int64_t mt = static_cast<int64_t>(varint::GetBE64(h + batch_format::kMaxTimestamp));
    if (mt >= ts) return std::optional<Offset>(Offset(BaseOf(h)));
    pos += sz;
  }
  return std::optional<Offset>();
}

Status Segment::RemoveFiles() {
  for (const std::string* p : {&index_path_, &time_index_path_, &log_path_}) {
    Status s = fs_->RemoveFile(*p);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  }
  return Status::Ok();
}

}  // namespace sluice
