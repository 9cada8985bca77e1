// Partition: opening (clean and unclean), recovery, read-only refresh and retention.
// The recovery model is Kafka's; core/README.md ("Recovery") states it with its invariants.
#include <algorithm>
#include <optional>
#include <set>

#include "core/internal/partition_impl.h"
#include "core/internal/segment_list_file.h"
#include "core/offset_rule.h"
#include "core/segment_format.h"

namespace sluice::internal {

using segment_format::kCheckpointFile;
using segment_format::kCleanShutdownFile;
using segment_format::kSegmentListFile;

namespace {
constexpr std::string_view kRepairHint =
    "restore the partition from a copy, or accept the loss with 'sluice topic repair {} "
    "--partition {}' (try --dry-run first)";
}  // namespace

Result<std::vector<Offset>> PartitionImpl::ListSegmentBases(int64_t* removed) const {
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(dir_));
  std::set<int64_t> logs;
  for (const std::string& name : names) {
    if (auto b = Segment::ParseFileName(name, segment_format::kLogSuffix)) logs.insert(b->value());
  }
  if (removed != nullptr) {
    for (const std::string& name : names) {
      std::optional<Offset> idx = Segment::ParseFileName(name, segment_format::kIndexSuffix);
      if (!idx) idx = Segment::ParseFileName(name, segment_format::kTimeIndexSuffix);
      bool tmp = name.ends_with(segment_format::kTmpSuffix);
      if (tmp || (idx && logs.count(idx->value()) == 0)) {
        SLUICE_RETURN_IF_ERROR(fs_->RemoveFile(JoinPath(dir_, name)));
        ++*removed;
      }
    }
  }
  std::vector<Offset> bases;
  for (int64_t b : logs) bases.emplace_back(b);
  return bases;
}

Result<SegmentList> PartitionImpl::OpenSegments(const std::vector<Offset>& bases,
                                                size_t first_writable) const {
  SegmentList segs;
  for (size_t i = 0; i < bases.size(); ++i) {
    bool writable = !options_.read_only && i >= first_writable;
    SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                            Segment::Open(fs_, dir_, bases[i], writable, !options_.read_only,
                                          options_.index_interval_bytes));
    segs.push_back(std::move(seg));
  }
  return segs;
}

Status PartitionImpl::Load() {
  const bool ro = options_.read_only;
  if (ro) {
    if (!fs_->Exists(dir_)) {  // the writer has not appended yet
      loaded_ = true;
      return Status::Ok();
    }
  } else if (!fs_->Exists(dir_)) {
    SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(dir_));
    // The new directory's own name must be durable before acknowledged data lives in it.
    SLUICE_RETURN_IF_ERROR(fs_->SyncDir(DirName(dir_)));
  }
  // A cleaning that a crash interrupted: finished if its output is complete (a swap file),
  // dropped otherwise, before anything reads the segment list or the segments.
  if (!ro) SLUICE_RETURN_IF_ERROR(CompleteCleaning());
  const std::string marker = JoinPath(dir_, kCleanShutdownFile);
  const std::string cp_path = JoinPath(dir_, kCheckpointFile);
  bool clean = fs_->Exists(marker);
  std::optional<PartitionCheckpoint> cp;
  if (fs_->Exists(cp_path)) {
    Result<std::string> bytes = fs_->ReadFile(cp_path);
    Result<PartitionCheckpoint> dec = bytes.ok() ? PartitionCheckpoint::Decode(*bytes)
                                                 : Result<PartitionCheckpoint>(bytes.status());
    if (dec.ok()) {
      cp = std::move(*dec);
    } else {
      report_.notes += fmt::format("{} is unusable ({}), so every segment was scanned; ",
                                   kCheckpointFile, dec.status().message());
    }
  }
  if (!cp) clean = false;

  std::optional<SegmentListFile> list;
  const std::string list_path = JoinPath(dir_, kSegmentListFile);
  if (fs_->Exists(list_path)) {
    Result<std::string> bytes = fs_->ReadFile(list_path);
    Result<SegmentListFile> dec = bytes.ok() ? SegmentListFile::Decode(*bytes, list_path)
                                             : Result<SegmentListFile>(bytes.status());
    if (dec.ok()) {
      list = std::move(*dec);
    } else {
      report_.notes +=
          fmt::format("{} is unusable ({}); ", kSegmentListFile, dec.status().message());
    }
  }

  SLUICE_ASSIGN_OR_RETURN(std::vector<Offset> bases,
                          ListSegmentBases(ro ? nullptr : &report_.orphan_files_removed));
  Offset log_start = cp     ? cp->log_start_offset
                     : list ? list->log_start
                            : (bases.empty() ? Offset(0) : bases.front());
  // Segments wholly below the log start: retention moved the start (durably) and crashed before
  // it removed their files.
  while (bases.size() >= 2 && bases[1] <= log_start) {
    if (!ro) {
      SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Segment> old,
                              Segment::Open(fs_, dir_, bases.front(), false, false, 1));
      SLUICE_RETURN_IF_ERROR(old->RemoveFiles());
      ++report_.orphan_files_removed;
    }
    bases.erase(bases.begin());
  }
  // What the durable metadata vouches for. Damage below `trust_below` is never truncated: below
  // the recovery point; without a usable one, in any segment before the last (only the last can
  // have a torn tail) and in the sealed segments the segment list records.
  Offset trust_below = cp ? cp->recovery_point : (bases.empty() ? Offset(0) : bases.back());
  Offset known_end = cp ? cp->recovery_point : Offset(0);
  Status lost;
  if (list) {
    std::set<int64_t> on_disk;
    for (Offset b : bases) on_disk.insert(b.value());
    for (const SegmentListFile::Entry& e : list->segments) {
      if (!e.end) {
        known_end = std::max(known_end, e.base);
        continue;
      }
      // Without a usable recovery point the list's sealed segments (fsynced at their seal)
      // stand in for it; with one, it says what recovery may cut, as in Kafka.
      if (!cp) trust_below = std::max(trust_below, *e.end);
      known_end = std::max(known_end, *e.end);
      if (!lost.ok() || *e.end <= log_start || on_disk.count(e.base.value()) != 0) continue;
      // A sealed, fsynced segment is gone (not by retention: it holds offsets at or above the
      // log start). Everything from it on is cut off from the log.
      Offset at = std::max(e.base, log_start);
      lost = Corruption(
          "segment file '{}' is missing: the segment list '{}' records it with offsets {} to "
          "{} (fsynced, acknowledged data); {}",
          JoinPath(dir_, Segment::FileName(e.base, segment_format::kLogSuffix)), list_path, e.base,
          e.end->value() - 1, fmt::format(kRepairHint, topic_, id_.value()));
      std::vector<Offset> kept, doomed;
      for (Offset b : bases) (b < at ? kept : doomed).push_back(b);
      if (!ro && !options_.repair) return lost;
      if (!ro) {  // a repair: the segments after the hole go
        for (auto it = doomed.rbegin(); it != doomed.rend(); ++it) {
          SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                                  Segment::Open(fs_, dir_, *it, false, false, 1));
          SLUICE_ASSIGN_OR_RETURN(uint64_t size, seg->FileSize());
          report_.truncated_bytes += static_cast<int64_t>(size);
          ++report_.segments_deleted;
          SLUICE_RETURN_IF_ERROR(seg->RemoveFiles());
        }
      }
      bases = std::move(kept);
      report_.lost_begin = at;
    }
  }
  if (!lost.ok() && bases.empty()) {
    report_.lost_end = known_end;
    report_.damage = lost.message();
    log_start_.store(log_start.value());
    if (ro) return Damage(log_start, known_end, lost);
    bases.push_back(report_.lost_begin);  // a repair keeps nothing before the hole: start afresh
    log_start = report_.lost_begin;
    trust_below = known_end = log_start;
    lost = Status::Ok();
  }
  if (bases.empty()) {
    if (ro) {  // the writer has not created anything yet; Refresh picks it up
      hw_.store(log_start.value());
      log_start_.store(log_start.value());
      loaded_ = true;
      return Status::Ok();
    }
    bases.push_back(log_start);  // a new partition
    clean = false;
  }
  log_start = std::max(log_start, bases.front());
  log_start_.store(log_start.value());
  if (cp && !options_.repair) {  // a repair rebuilds them
    producers_ = cp->producers;
    ResetTxn(cp->txn);
  }
  Offset recovery_point = cp ? cp->recovery_point : bases.front();
  if (options_.repair) recovery_point = bases.front();  // check every batch
  if (cp && !cp->txn_known) {
    // A version 1 checkpoint has no transaction index: rebuild it (and the producer state, which
    // replaying onto the snapshot leaves as it was) from every batch, once.
    recovery_point = bases.front();
    clean = false;
    report_.notes += "the transaction index was rebuilt from the whole log (old checkpoint); ";
  }
  if (!lost.ok() || options_.repair) clean = false;

  if (clean && !options_.verify_all) {
    Status s = OpenClean(bases, cp->recovery_point);
    if (s.ok()) {
      report_.clean_shutdown = true;
    } else {
      report_.notes +=
          fmt::format("the clean-shutdown state did not check out ({}); ", s.message());
      producers_ = cp->producers;
      ResetTxn(cp->txn);
    }
  }
  if (!report_.clean_shutdown) {
    SLUICE_RETURN_IF_ERROR(Recover(bases, recovery_point, trust_below, known_end, lost));
  }
  if (!damage_.ok()) {
    loaded_ = true;
    return Status::Ok();
  }

  if (log_start_.load() > hw_.load()) {
    report_.notes +=
        fmt::format("log start {} was above the log end {}; ", log_start_.load(), hw_.load());
    log_start_.store(hw_.load());
  }
  if (!ro && fs_->Exists(marker)) {
    // From here on a crash must be seen as unclean.
    SLUICE_RETURN_IF_ERROR(fs_->RemoveFile(marker));
    SLUICE_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  }
  synced_offset_ = hw_.load();
  loaded_ = true;
  return Status::Ok();
}

Status PartitionImpl::OpenClean(const std::vector<Offset>& bases, Offset log_end) {
  SLUICE_ASSIGN_OR_RETURN(SegmentList segs, OpenSegments(bases, bases.size() - 1));
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(uint64_t size, segs[i]->FileSize());
    segs[i]->SetExtent(size, bases[i + 1]);
  }
  Segment* last = segs.back().get();
  if (log_end < last->base_offset()) {
    return Corruption("the recovery point {} is below the last segment {}", log_end,
                      last->base_offset());
  }
  SLUICE_ASSIGN_OR_RETURN(uint64_t size, last->FileSize());
  last->SetExtent(size, log_end);
  bool rebuilt = false;
  SLUICE_RETURN_IF_ERROR(last->LoadIndexes(&rebuilt));
  if (rebuilt) ++report_.indexes_rebuilt;
  // Check the tail of the active segment (from its last index entry) against the recorded end.
  auto [from_offset, from_pos] = last->LastIndexEntry();
  Segment::ScanStop stop;
  SLUICE_RETURN_IF_ERROR(
      last->Scan(from_pos, size, from_offset, /*validate=*/true, nullptr, &stop));
  if (!stop.clean || stop.next_offset != log_end) {
    return Corruption("the active segment ends at offset {}, not at the recorded {}",
                      stop.next_offset, log_end);
  }
  hw_.store(log_end.value());
  PublishSegments(std::make_shared<const SegmentList>(std::move(segs)));
  return Status::Ok();
}

Status PartitionImpl::Damage(Offset at, Offset known_end, Status why) {
  report_.lost_begin = at;
  report_.lost_end = std::max(known_end, Offset(at.value() + 1));
  report_.damage = why.message();
  if (!options_.read_only) return why;
  damage_ = std::move(why);
  damage_offset_ = at.value();
  hw_.store(report_.lost_end.value());
  synced_offset_ = hw_.load();
  return Status::Ok();
}

Status PartitionImpl::Recover(const std::vector<Offset>& bases, Offset recovery_point,
                              Offset trust_below, Offset known_end, const Status& lost) {
  const bool ro = options_.read_only;
  const bool repair = options_.repair;
  const std::string hint = fmt::format(kRepairHint, topic_, id_.value());
  size_t first_scan = 0;
  for (size_t i = 0; i < bases.size(); ++i) {
    if (bases[i] <= recovery_point) first_scan = i;
  }
  SLUICE_ASSIGN_OR_RETURN(SegmentList segs, OpenSegments(bases, first_scan));

  // Below the recovery point: trusted (fsynced and checked before); indexes are checked, and
  // with verify_all every batch too. Damage here is reported, never truncated.
  for (size_t i = 0; i < first_scan; ++i) {
    Segment* seg = segs[i].get();
    SLUICE_ASSIGN_OR_RETURN(uint64_t size, seg->FileSize());
    seg->SetExtent(size, bases[i + 1]);
    bool rebuilt = false;
    Status s = seg->LoadIndexes(&rebuilt);
    if (!s.ok()) {
      return s.WithContext(
          fmt::format("below the recovery point {} (acknowledged, fsynced data)", recovery_point));
    }
    if (rebuilt) ++report_.indexes_rebuilt;
    if (options_.verify_all) {
      Segment::ScanStop stop;
      SLUICE_RETURN_IF_ERROR(seg->Scan(0, size, seg->base_offset(), true, nullptr, &stop));
      if (!stop.clean || !offset_rule::MayFollow(stop.next_offset, bases[i + 1])) {
        return seg->Damaged(
            stop.position,
            fmt::format(
                "{} (offset {} is below the recovery point {}: acknowledged, fsynced "
                "data is damaged; {})",
                stop.clean ? "the segment does not end where the next one starts" : stop.reason,
                stop.next_offset, recovery_point, hint));
      }
    }
  }

  // From the segment holding the recovery point on: CRC-check every batch, rebuild the indexes
  // and the producer state, and cut the log at the first bad batch. Damage below `trust_below`
  // is not a torn tail: a writer refuses it (unless repairing), a read-only view stops there.
  size_t keep = segs.size();
  Status damaged = lost;
  for (size_t i = first_scan; i < segs.size(); ++i) {
    Segment* seg = segs[i].get();
    Offset expected = i == first_scan ? seg->base_offset() : segs[i - 1]->end_offset();
    if (!offset_rule::MayFollow(expected, seg->base_offset())) {  // a gap is fine, an overlap not
      if (expected < trust_below) {
        damaged = Corruption(
            "segment file '{}' starts at offset {} but the log before it ends at {}, below the "
            "recovery point {}; {}",
            seg->log_path(), seg->base_offset(), expected, trust_below, hint);
        if (!ro && !repair) return damaged;
      }
      report_.notes += fmt::format("segment {} does not continue the log (which ends at {}); ",
                                   seg->log_path(), expected);
      keep = i;
      break;
    }
    seg->ResetForScan();
    SLUICE_ASSIGN_OR_RETURN(uint64_t size, seg->FileSize());
    ++report_.segments_scanned;
    Segment::ScanStop stop;
    SLUICE_RETURN_IF_ERROR(seg->Scan(
        0, size, seg->base_offset(), /*validate=*/true,
        [&](const RecordBatchView& b, uint64_t) {
          seg->Track(b);
          if (b.base_offset() >= recovery_point) {
            producers_.Update(b);
            TrackTxn(b);
          }
        },
        &stop));
    if (stop.clean) continue;
    if (stop.next_offset < trust_below) {
      damaged = seg->Damaged(
          stop.position,
          fmt::format("{} (offset {} is below the recovery point {}: acknowledged, fsynced data "
                      "is damaged; {})",
                      stop.reason, stop.next_offset, trust_below, hint));
      if (!ro && !repair) return damaged;
    }
    if (!ro) {
      report_.truncated_bytes += static_cast<int64_t>(size - stop.position);
      report_.notes += fmt::format("truncated {} at byte {} (offset {}): {}; ", seg->log_path(),
                                   stop.position, stop.next_offset, stop.reason);
      SLUICE_RETURN_IF_ERROR(seg->Truncate(stop.position, seg->end_offset()));
    }
    keep = i + 1;
    break;
  }
  // Drop everything after the first bad batch, newest first, so that a crash here leaves a log
  // the next recovery handles the same way.
  for (size_t j = segs.size(); j-- > keep;) {
    if (!ro) {
      SLUICE_ASSIGN_OR_RETURN(uint64_t size, segs[j]->FileSize());
      report_.truncated_bytes += static_cast<int64_t>(size);
      ++report_.segments_deleted;
      SLUICE_RETURN_IF_ERROR(segs[j]->RemoveFiles());
    }
  }
  segs.resize(keep);
  if (segs.empty()) {  // the overlap was in the first scanned segment's predecessor: keep none
    return damaged.ok() ? Corruption("partition {} has no readable segment; {}", Name(), hint)
                        : damaged;
  }
  const Offset end = segs.back()->end_offset();
  if (damaged.ok() && end < trust_below) {
    damaged = Corruption(
        "the log of partition {} ends at offset {} but its recovery point is {}: fsynced, "
        "acknowledged data is missing after '{}'; {}",
        Name(), end, trust_below, segs.back()->log_path(), hint);
    if (!ro && !repair) return damaged;
  }
  hw_.store(end.value());
  if (!damaged.ok()) {
    if (ro) {
      PublishSegments(std::make_shared<const SegmentList>(std::move(segs)));
      return Damage(end, known_end, damaged);
    }
    // A repair accepted the loss of [end, known end).
    report_.lost_begin = end;
    report_.lost_end = std::max(known_end, end);
    report_.damage = damaged.message();
  }
  if (ro) {
    PublishSegments(std::make_shared<const SegmentList>(std::move(segs)));
    return Status::Ok();
  }
  // Make the recovered state durable, then move the recovery point to the log end.
  for (size_t i = first_scan; i < segs.size(); ++i) {
    bool last = i + 1 == segs.size();
    if (!last) segs[i]->FinalizeTimeIndex();
    bool changed = false;
    SLUICE_RETURN_IF_ERROR(segs[i]->PersistIndexes(&changed));
    if (changed) ++report_.indexes_rebuilt;
    if (!last) SLUICE_RETURN_IF_ERROR(segs[i]->Seal(/*close_writer=*/true));
  }
  PublishSegments(std::make_shared<const SegmentList>(std::move(segs)));
  std::lock_guard<std::mutex> l(append_mu_);
  return CheckpointLocked();
}

Status PartitionImpl::GrowTail(Segment* seg) const {
  SLUICE_ASSIGN_OR_RETURN(uint64_t size, seg->FileSize());
  if (size < seg->size()) {
    return Unavailable(
        "partition {} was cut back by its writer's recovery while this read-only view was open; "
        "reopen it to read on",
        Name());
  }
  if (size == seg->size()) return Status::Ok();
  Segment::ScanStop stop;  // stopping early is normal: the writer may be mid-write
  return seg->Scan(
      seg->size(), size, seg->end_offset(), /*validate=*/true,
      [&](const RecordBatchView& b, uint64_t) {
        seg->Track(b);
        producers_.Update(b);
        TrackTxn(b);
      },
      &stop);
}

Status PartitionImpl::Refresh() const {
  if (!options_.read_only) return Status::Ok();
  std::lock_guard<std::mutex> l(append_mu_);
  return RefreshLocked();
}

Status PartitionImpl::RefreshLocked() const {
  // The writer's retention may delete a segment between our listing and our open of it; the
  // next listing no longer names it, so look again (each retry means the writer made progress).
  constexpr int kAttempts = 8;
  Status s;
  for (int i = 0; i < kAttempts; ++i) {
    s = RefreshOnceLocked();
    if (s.code() != StatusCode::kNotFound) return s;
  }
  return s;
}

Status PartitionImpl::RefreshOnceLocked() const {
  if (!damage_.ok()) return Status::Ok();  // a damaged view stays as opened: reads report it
  std::shared_ptr<const SegmentList> current = segments();
  auto list = std::make_shared<SegmentList>(*current);
  bool changed = false;
  if (!list->empty()) SLUICE_RETURN_IF_ERROR(GrowTail(list->back().get()));
  if (list->empty() && !fs_->Exists(dir_)) return Status::Ok();  // nothing written yet
  SLUICE_ASSIGN_OR_RETURN(std::vector<Offset> bases, ListSegmentBases(nullptr));
  // Retention by the writer removed the oldest segments, possibly every one this reader knew:
  // then the listing starts afresh from the writer's oldest.
  while (!list->empty() && !bases.empty() && list->front()->base_offset() < bases.front()) {
    list->erase(list->begin());
    changed = true;
  }
  for (Offset b : bases) {
    if (!list->empty() && b <= list->back()->base_offset()) continue;
    if (!list->empty()) {
      // The writer finished the previous segment before it created this one.
      SLUICE_RETURN_IF_ERROR(GrowTail(list->back().get()));
      if (!offset_rule::MayFollow(list->back()->end_offset(), b)) break;  // look again later
    }
    SLUICE_ASSIGN_OR_RETURN(
        std::shared_ptr<Segment> seg,
        Segment::Open(fs_, dir_, b, false, false, options_.index_interval_bytes));
    seg->ResetForScan();
    SLUICE_RETURN_IF_ERROR(GrowTail(seg.get()));
    list->push_back(std::move(seg));
    changed = true;
  }
  if (list->empty()) return Status::Ok();
  if (changed) PublishSegments(list);
  int64_t start = std::max(log_start_.load(), list->front()->base_offset().value());
  log_start_.store(start, std::memory_order_release);
  hw_.store(list->back()->end_offset().value(), std::memory_order_release);
  return Status::Ok();
}

Result<int> PartitionImpl::ApplyRetention(Timestamp now) {
  if (!config_.deletes()) {
    // cleanup.policy=compact: the cleaner alone removes records; only segments wholly below the
    // log start (after a DeleteRecords) go here.
    return DeleteOldestSegments("retention runs in the writer",
                                [](const SegmentList&) { return size_t{0}; });
  }
  return DeleteOldestSegments("retention runs in the writer", [&](const SegmentList& segs) {
    uint64_t total = 0;
    for (const auto& s : segs) total += s->size();
    size_t k = 0;
    while (k + 1 < segs.size()) {  // never the active segment
      const Segment& seg = *segs[k];
      bool by_time =
          config_.retention_ms >= 0 && seg.max_timestamp() < now.value() - config_.retention_ms;
      bool by_size = config_.retention_bytes >= 0 &&
                     total - seg.size() >= static_cast<uint64_t>(config_.retention_bytes);
      if (!by_time && !by_size) break;
      total -= seg.size();
      ++k;
    }
    return k;
  });
}

Result<int> PartitionImpl::DeleteSegmentsBefore(Offset offset) {
  return DeleteOldestSegments("records are deleted by the writer", [&](const SegmentList& segs) {
    size_t k = 0;
    while (k + 1 < segs.size() && segs[k]->end_offset() <= offset) ++k;  // never the active one
    return k;
  });
}

Result<Offset> PartitionImpl::DeleteRecords(Offset before) {
  const Offset hw = high_watermark();
  if (before < Offset(0) || before > hw) {
    return OutOfRange(
        "cannot delete the records of partition {} before offset {}: it must be from 0 to the "
        "high watermark {}",
        Name(), before, hw);
  }
  SLUICE_RETURN_IF_ERROR(DeleteOldestSegments(
                             "records are deleted by the writer",
                             [&](const SegmentList& segs) {
                               size_t k = 0;
                               while (k + 1 < segs.size() && segs[k]->end_offset() <= before) ++k;
                               return k;
                             },
                             before)
                             .status());
  return log_start_offset();
}

template <typename CountFn>
Result<int> PartitionImpl::DeleteOldestSegments(std::string_view why_writer, CountFn count,
                                                Offset min_start) {
  if (options_.read_only) {
    return InvalidArgument("partition {} is open read-only; {}", Name(), why_writer);
  }
  std::lock_guard<std::mutex> cleaner_lock(cleaner_mu_);  // not in the middle of a cleaning
  std::lock_guard<std::mutex> l(append_mu_);
  if (failed_.load()) return FailedStatus();
  if (closed_) return InvalidArgument("partition {} is closed", Name());
  std::shared_ptr<const SegmentList> segs = segments();
  size_t k = count(*segs);
  const int64_t old_start = log_start_.load();
  // DeleteRecords may move the log start inside the first kept segment (min_start), past its
  // base; the records below it there stay on disk but are never read again.
  const int64_t new_start =
      std::max({old_start, (*segs)[k]->base_offset().value(), min_start.value()});
  // Segments wholly below the start (DeleteRecords left it at the end of the then-active
  // segment, which has rolled since) go too: those whose successor starts at or below it, so the
  // first kept segment still holds the start (the rule recovery uses). An empty cleaned segment
  // at the start stays: its successor starts above the start.
  while (k + 1 < segs->size() && (*segs)[k + 1]->base_offset().value() <= new_start) ++k;
  if (k == 0 && new_start == old_start) return 0;
  // The new log start is durable before any file goes, so it never moves back after a crash.
  log_start_.store(new_start, std::memory_order_release);
  {
    std::lock_guard<std::mutex> t(txn_mu_);
    txn_.DropBefore(Offset(log_start_.load()));
  }
  Status s = CheckpointLocked();
  if (!s.ok()) return MarkFailed(s);
  PublishSegments(std::make_shared<const SegmentList>(segs->begin() + k, segs->end()));
  for (size_t i = 0; i < k; ++i) {
    // Readers holding the segment keep reading through their open handle.
    SLUICE_RETURN_IF_ERROR((*segs)[i]->RemoveFiles());
  }
  SLUICE_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  return static_cast<int>(k);
}

}  // namespace sluice::internal
