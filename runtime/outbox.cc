#include "runtime/outbox.h"

#include <fmt/format.h>

#include <optional>

#include "core/record_batch.h"
#include "runtime/failpoint.h"

namespace sluice {

Outbox::Outbox(TaskId task, Log* log, StateDb* db, Flusher* flusher)
    : task_(task), log_(log), db_(db), flusher_(flusher) {}

Status Outbox::Republish() {
  std::vector<std::pair<std::string, std::string>> entries;
  SLUICE_RETURN_IF_ERROR(db_->ScanPrefix(db_->meta(), OutboxPrefix(task_),
                                         [&](std::string_view k, std::string_view v) {
                                           entries.emplace_back(std::string(k), std::string(v));
                                         }));
  for (auto& [key, value] : entries) {
    SLUICE_ASSIGN_OR_RETURN(OutboxEntry e, DecodeOutboxEntry(value));
    SLUICE_ASSIGN_OR_RETURN(SyncPoint sync, Publish(e, /*wait=*/true));
    published_.push_back({key, sync});
  }
  return Status::Ok();
}

Result<Outbox::SyncPoint> Outbox::Publish(const OutboxEntry& e, bool wait) {
  const std::string where = fmt::format("publishing to '{}' partition {}", e.topic, e.partition);
  Result<Partition*> part = log_->GetPartition(e.topic, PartitionId(e.partition));
  if (!part.ok()) return part.status().WithContext(where);  // e.g. latched failed by an fsync
  Partition* p = *part;
  // Built by this task: its proof. Read back from the state (RocksDB checksums it, but the
  // bytes cross a format boundary): checked here, once, at recovery.
  std::optional<ValidatedBatch> valid;
  if (e.built && e.built->bytes().data() == e.batch.data() && e.built->size() == e.batch.size()) {
    valid = e.built;
  } else {
    Result<ValidatedBatch> checked = ValidatedBatch::Validate(e.batch);
    if (!checked.ok()) return checked.status().WithContext(where);
    valid = *checked;
  }
  const RecordBatchView& view = valid->view();
  if (view.producer_id() >= 0) {
    // Already in the log (published before a crash)? The partition's sequence state says so
    // exactly, whatever its duplicate window. It may not be synced yet (a job that stopped on an
    // error, restarted in the same process): the outbox entry stays until the partition is
    // synced up to its current end, which covers it (after a reopen it already is).
    int32_t have = p->LastSequence(view.producer_id());
    int32_t last = view.base_sequence() + view.record_count() - 1;
    if (last <= have) return SyncPoint{p, p->high_watermark().value()};
    if (view.base_sequence() != have + 1) {
      return Corruption(
          "output '{}' partition {} holds sequence {} of producer {} but the committed batch "
          "starts at sequence {}: output the job had committed is missing from the log",
          e.topic, e.partition, have, view.producer_id(), view.base_sequence());
    }
  }
  // At-least-once (wait): durable before the state and offsets that cover them are written, since
  // an unsynced RocksDB write can reach the disk before unsynced log data, and a power loss in
  // between would lose these outputs for good. Exactly-once keeps the outbox entry until the
  // batch is synced, so it need not wait (a next stage reading this topic reads only synced data,
  // and sees the batch once the Flusher has synced it).
  const Acks acks = wait ? Acks::kAll : Acks::kLeader;
  Result<AppendResult> r = p->Append(*valid, acks);
  if (!r.ok()) return r.status().WithContext(where);
  if (!r->duplicate) {
    records_out_.fetch_add(view.record_count(), std::memory_order_relaxed);
    std::lock_guard<std::mutex> l(out_by_topic_mu_);
    out_by_topic_[e.topic] += view.record_count();
  }
  SyncPoint sync{p, 0};  // synced already when waited for
  if (!wait) {
    sync.end = r->last_offset.value() + 1;
    flusher_->Request(p);
  }
  FailPoint("after_publish");
  return sync;
}

Status Outbox::AddDeletions(rocksdb::WriteBatch* wb) {
  for (const Published& p : published_) {
    // Usually the Flusher has synced it by now; if not, the outbox entry must stay valid until
    // it has, so wait here.
    Partition* part = p.sync.partition;
    if (part->synced_offset().value() < p.sync.end) {
      Status s = part->Flush();
      if (!s.ok()) return s.WithContext(fmt::format("syncing output '{}'", part->topic()));
    }
    wb->Delete(db_->meta(), p.key).PermitUncheckedError();
  }
  return Status::Ok();
}

void Outbox::Stage(int64_t commit, std::vector<OutboxEntry> entries, rocksdb::WriteBatch* wb) {
  staged_.clear();
  for (OutboxEntry& e : entries) {
    std::string key = OutboxKey(task_, commit * 1000000 + static_cast<int64_t>(staged_.size()));
    wb->Put(db_->meta(), key, EncodeOutboxEntry(e)).PermitUncheckedError();
    staged_.emplace_back(std::move(key), std::move(e));
  }
}

Status Outbox::PublishStaged() {
  published_.clear();
  const bool wait = flusher_ == nullptr;
  for (auto& [key, entry] : staged_) {
    SLUICE_ASSIGN_OR_RETURN(SyncPoint sync, Publish(entry, wait));
    published_.push_back({std::move(key), sync});
  }
  staged_.clear();
  return Status::Ok();
}

Status Outbox::PublishNow(const OutboxEntry& e) { return Publish(e, /*wait=*/true).status(); }

}  // namespace sluice
