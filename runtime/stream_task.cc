#include "runtime/stream_task.h"

#include <fmt/format.h>
#include <rocksdb/perf_level.h>

#include <algorithm>

#include "core/partitioner.h"
#include "runtime/failpoint.h"

namespace sluice {
namespace {

// Output batches are cut at this size so one stays well under a topic's max_message_bytes.
constexpr size_t kOutputBatchBytes = 256 << 10;
// Read-ahead per input: about one producer batch (a read returns at least one whole batch).
constexpr size_t kReadBytes = 256 << 10;
constexpr std::chrono::milliseconds kMirrorInterval{1000};

// The commit number recorded in a mirrored offset's metadata, or -1.
int64_t MirroredCommit(const std::string& metadata) {
  if (!metadata.starts_with(kMirrorTag)) return -1;
  return std::atoll(metadata.c_str() + kMirrorTag.size());
}

}  // namespace

StreamTask::StreamTask(TaskId id, const Topology& topology, const Plan& plan,
                       const JobOptions& options, Log* log, StateDb* db, Flusher* flusher,
                       LocalExchange* exchange)
    : id_(id),
      topology_(topology),
      plan_(plan),
      options_(options),
      log_(log),
      db_(db),
      exchange_(exchange),
      flusher_(flusher) {}

StreamTask::~StreamTask() = default;

Status StreamTask::Init() {
  FailPoint("during_recovery");
  const Topology::Stage& stage = topology_.stages()[id_.stage];
  stores_.resize(topology_.stores().size());
  for (int s : stage.stores) {
    stores_[s] = std::make_unique<TaskStore>(db_, db_->store(s), id_.partition);
    SLUICE_RETURN_IF_ERROR(stores_[s]->Init());
  }
  for (int t : stage.sink_topics) {
    if (plan_.topics[t].carries_watermark) watermark_sinks_.push_back(t);
  }
  const PlannedTask* task = nullptr;
  for (const auto& t : plan_.tasks) {
    if (t.id == id_) task = &t;
  }
  SLUICE_CHECK(task != nullptr);
  for (int t : task->input_topics) {
    Input in;
    in.topic = t;
    in.name = plan_.topics[t].log_name;
    in.internal = plan_.topics[t].internal;
    in.local = plan_.topics[t].local;
    SLUICE_CHECK(!in.local || exchange_ != nullptr);
    if (!in.local) {
      SLUICE_ASSIGN_OR_RETURN(in.partition,
                              log_->GetPartition(in.name, PartitionId(id_.partition)));
    }
    if (options_.until_end && !in.internal) in.end = in.partition->high_watermark().value();
    inputs_.push_back(std::move(in));
  }
  SLUICE_RETURN_IF_ERROR(LoadOrStart());
  time_ = std::make_unique<TaskTime>(topology_.event_time(), id_.partition);
  for (const auto& in : inputs_) {
    int senders = 0;
    const auto& sinks = topology_.topics()[in.topic].sink_nodes;
    if (in.internal && plan_.topics[in.topic].carries_watermark && !sinks.empty()) {
      senders = plan_.stage_partitions[topology_.nodes()[sinks.front()].stage];
    }
    time_->AddInput(senders);
  }
  {
    std::string wm_state;
    bool found = false;
    SLUICE_RETURN_IF_ERROR(
        db_->Get(db_->meta(), TaskTime::StateKey(id_.stage, id_.partition), &wm_state, &found));
    if (found) SLUICE_RETURN_IF_ERROR(time_->Restore(wm_state, this));
  }
  SLUICE_ASSIGN_OR_RETURN(graph_, TaskGraph::Create(topology_, id_.stage, this));
  last_commit_ = last_mirror_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

Status StreamTask::LoadOrStart() {
  const std::string& app = options_.application_id;
  std::string ckpt_bytes, mark_bytes;
  bool has_ckpt = false, has_mark = false;
  SLUICE_RETURN_IF_ERROR(db_->Get(db_->meta(), CheckpointKey(id_), &ckpt_bytes, &has_ckpt));
  SLUICE_RETURN_IF_ERROR(db_->Get(db_->meta(), MarkKey(id_), &mark_bytes, &has_mark));

  // The newest commit of this task that the log's group offsets know about.
  int64_t mirrored = -1;
  SLUICE_ASSIGN_OR_RETURN(auto group, log_->offsets().Fetch(app));
  for (const auto& in : inputs_) {
    if (in.local) continue;
    auto it = group.find(TopicPartition{in.name, PartitionId(id_.partition)});
    if (it != group.end()) mirrored = std::max(mirrored, MirroredCommit(it->second.metadata));
  }
  const std::string task = fmt::format("task {}/{}", id_.stage, id_.partition);
  const std::string reset_hint = fmt::format(
      "to reprocess the input from the start, run `sluice job reset {} --to-earliest` (this wipes "
      "the state and emits the outputs again)",
      app);

  if (!has_ckpt) {
    if (has_mark) {
      return Corruption(
          "{} of application '{}': the state directory '{}' holds a commit mark but no input "
          "offsets, so state and offsets disagree; starting would count inputs twice. {}",
          task, app, db_->dir(), reset_hint);
    }
    if (mirrored >= 1) {
      return Corruption(
          "{} of application '{}': the log has offsets committed by this application (commit "
          "{}) but the state directory '{}' has no state for it: the state was wiped or "
          "replaced. Resuming would lose the state and replaying would count inputs twice; the "
          "job refuses to start. {}",
          task, app, mirrored, db_->dir(), reset_hint);
    }
    for (auto& in : inputs_) {
      if (in.local) continue;
      // `sluice job reset` leaves the positions to start from in the group offsets.
      auto it = group.find(TopicPartition{in.name, PartitionId(id_.partition)});
      if (it != group.end() && it->second.metadata == kResetTag) {
        in.position = it->second.offset.value();
        continue;
      }
      switch (options_.start) {
        case StartPosition::kEarliest:
          in.position = in.partition->log_start_offset().value();
          break;
        case StartPosition::kLatest:
          in.position = in.partition->high_watermark().value();
          break;
        case StartPosition::kTimestamp: {
          SLUICE_ASSIGN_OR_RETURN(Offset o, in.partition->OffsetForTime(options_.start_time));
          in.position = o.value();
          break;
        }
      }
      if (in.internal) in.position = in.partition->log_start_offset().value();
    }
    if (options_.guarantee == ProcessingGuarantee::kExactlyOnce) {
      SLUICE_ASSIGN_OR_RETURN(producer_id_, log_->AllocateProducerId());
    }
    return Status::Ok();
  }

  SLUICE_ASSIGN_OR_RETURN(TaskCheckpoint ckpt, DecodeCheckpoint(ckpt_bytes));
  int64_t mark = -1;
  if (has_mark) {
    SLUICE_ASSIGN_OR_RETURN(mark, DecodeMark(mark_bytes));
  }
  if (mark != ckpt.commit_number) {
    return Corruption(
        "{} of application '{}': the input offsets in '{}' belong to commit {} but the state "
        "belongs to commit {}; state and offsets disagree (stale or edited offsets). {}",
        task, app, db_->dir(), ckpt.commit_number, mark, reset_hint);
  }
  if (mirrored > ckpt.commit_number) {
    return Corruption(
        "{} of application '{}': the log's committed offsets come from commit {} but the state "
        "directory '{}' is at commit {}: the state is older than the offsets (restored from an "
        "old copy?). {}",
        task, app, mirrored, db_->dir(), ckpt.commit_number, reset_hint);
  }
  commit_number_ = ckpt.commit_number;
  producer_id_ = ckpt.producer_id;
  for (auto& in : inputs_) {
    if (in.local) continue;
    auto it = std::find_if(ckpt.inputs.begin(), ckpt.inputs.end(), [&](const auto& c) {
      return c.topic == in.name && c.partition == id_.partition;
    });
    if (it == ckpt.inputs.end()) {
      return Corruption(
          "{} of application '{}': the checkpoint has no offset for input '{}' "
          "(was the topology changed?). {}",
          task, app, in.name, reset_hint);
    }
    in.position = it->next_offset;
  }
  for (const auto& o : ckpt.outputs) {
    int topic = -1;
    for (size_t i = 0; i < plan_.topics.size(); ++i) {
      if (plan_.topics[i].log_name == o.topic) topic = static_cast<int>(i);
    }
    if (topic < 0) continue;  // an output the topology no longer writes
    OutputFor(topic, o.partition).next_sequence = o.next_sequence;
  }
  SLUICE_RETURN_IF_ERROR(RepublishOutbox());
  for (auto& in : inputs_) {
    if (in.local) continue;
    int64_t hw = in.partition->high_watermark().value();
    int64_t start = in.partition->log_start_offset().value();
    if (in.position > hw) {
      return Corruption(
          "{}: committed offset {} of '{}' partition {} is beyond its end {}: the log lost data "
          "the job had already processed. {}",
          task, in.position, in.name, id_.partition, hw, reset_hint);
    }
    if (in.position < start) {
      return OutOfRange(
          "{}: committed offset {} of '{}' partition {} was deleted by retention (the log now "
          "starts at {}); {}",
          task, in.position, in.name, id_.partition, start, reset_hint);
    }
  }
  return Status::Ok();
}

Status StreamTask::RepublishOutbox() {
  std::vector<std::pair<std::string, std::string>> entries;
  SLUICE_RETURN_IF_ERROR(
      db_->ScanPrefix(db_->meta(), OutboxPrefix(id_), [&](std::string_view k, std::string_view v) {
        entries.emplace_back(std::string(k), std::string(v));
      }));
  for (auto& [key, value] : entries) {
    SLUICE_ASSIGN_OR_RETURN(OutboxEntry e, DecodeOutboxEntry(value));
    SLUICE_ASSIGN_OR_RETURN(SyncPoint sync, Publish(e, /*wait=*/true));
    published_.push_back({key, sync});
  }
  return Status::Ok();
}

Result<StreamTask::SyncPoint> StreamTask::Publish(const OutboxEntry& e, bool wait) {
  const std::string where = fmt::format("publishing to '{}' partition {}", e.topic, e.partition);
  Result<Partition*> part = log_->GetPartition(e.topic, PartitionId(e.partition));
  if (!part.ok()) return part.status().WithContext(where);  // e.g. latched failed by an fsync
  Partition* p = *part;
  SLUICE_ASSIGN_OR_RETURN(RecordBatchView view, RecordBatchView::Parse(e.batch));
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
  // Built by this task (or read back from RocksDB, which checksums it): no second CRC pass.
  Result<AppendResult> r = p->AppendTrusted(e.batch, acks);
  if (!r.ok()) return r.status().WithContext(where);
  if (!r->duplicate) records_out_.fetch_add(view.record_count(), std::memory_order_relaxed);
  SyncPoint sync{p, 0};  // synced already when waited for
  if (!wait) {
    sync.end = r->last_offset.value() + 1;
    flusher_->Request(p);
  }
  FailPoint("after_publish");
  return sync;
}

KeyValueStore* StreamTask::store(int store_index) { return stores_[store_index].get(); }

StreamTask::Output& StreamTask::OutputFor(int topic, int32_t partition) {
  if (outputs_.size() <= static_cast<size_t>(topic)) outputs_.resize(topic + 1);
  auto& parts = outputs_[topic];
  if (parts.size() <= static_cast<size_t>(partition)) parts.resize(partition + 1);
  auto& slot = parts[partition];
  if (!slot) {
    slot = std::make_unique<Output>();
    slot->topic = topic;
    slot->name = plan_.topics[topic].log_name;
    slot->partition = partition;
    slot->local = plan_.topics[topic].local;
    outputs_in_order_.push_back(slot.get());
  }
  return *slot;
}

Status StreamTask::Send(int topic_index, std::string_view key, std::string_view value,
                        Timestamp ts) {
  const PlannedTopic& t = plan_.topics[topic_index];
  int32_t part = PartitionForKey(key, t.partitions).value();
  Output& o = OutputFor(topic_index, part);
  if (t.carries_watermark) {
    Header h = time_->CarryHeader(*this);  // the watermark travels with the record
    o.builder.Add(ts, key, value, std::span<const Header>(&h, 1));
  } else {
    o.builder.Add(ts, key, value);
  }
  if (!o.local) pending_bytes_ += key.size() + value.size() + 16;
  if (o.builder.size_bytes() >= kOutputBatchBytes) FinishBatch(o, &finished_batches_);
  return Status::Ok();
}

void StreamTask::FinishBatch(Output& o, std::vector<OutboxEntry>* out) {
  if (o.builder.empty()) return;
  if (o.local) {
    exchange_->Push(o.topic, o.partition, o.builder.Finish());
    return;
  }
  if (options_.guarantee == ProcessingGuarantee::kExactlyOnce) {
    o.builder.SetProducer(producer_id_, 0, o.next_sequence);
    o.next_sequence += o.builder.record_count();
  }
  out->push_back(OutboxEntry{o.name, o.partition, o.builder.Finish()});
}

template <typename Where>
Status StreamTask::ProcessRecord(Input& in, const RecordView& rec, bool* record, Where where) {
  const int input_index = static_cast<int>(&in - inputs_.data());
  if (time_->BeforeRecord(input_index, rec, this)) return Status::Ok();  // a watermark marker
  *record = true;
  Status err = graph_->Process(in.topic, rec.key_opt(), rec.value_opt(), rec.timestamp);
  time_->AfterRecord(input_index, rec.timestamp, *this);
  if (!err.ok()) {
    return err.WithContext(fmt::format("task {}/{}: {}", id_.stage, id_.partition, where()));
  }
  return Status::Ok();
}

Status StreamTask::ProcessLocal(Input& in, size_t budget, size_t* consumed) {
  if (in.queued_next == in.queued.size()) {
    in.queued.clear();
    in.queued_next = 0;
    exchange_->TakeAll(in.topic, id_.partition, &in.queued);
  }
  time_->BeginBatch();
  while (*consumed < budget && in.queued_next < in.queued.size()) {
    SLUICE_ASSIGN_OR_RETURN(RecordBatchView batch,
                            RecordBatchView::Parse(in.queued[in.queued_next]));
    RecordBatchView::Cursor cursor;
    RecordView rec;
    while (!batch.AtEnd(cursor)) {
      SLUICE_RETURN_IF_ERROR(batch.Next(&cursor, &rec));
      bool record = false;
      SLUICE_RETURN_IF_ERROR(ProcessRecord(in, rec, &record, [&] {
        return fmt::format("record for '{}' partition {} (in-memory exchange)", in.name,
                           id_.partition);
      }));
      if (record) ++*consumed;
    }
    std::string().swap(in.queued[in.queued_next++]);  // processed: free it now
  }
  return Status::Ok();
}

bool StreamTask::HasQueuedInput() const {
  for (const auto& in : inputs_) {
    if (!in.local) continue;
    if (in.queued_next < in.queued.size() || !exchange_->Empty(in.topic, id_.partition)) {
      return true;
    }
  }
  return false;
}

Status StreamTask::ProcessInput(Input& in, size_t budget, size_t* consumed) {
  *consumed = 0;
  if (in.local) {
    SLUICE_RETURN_IF_ERROR(ProcessLocal(in, budget, consumed));
  } else {
    SLUICE_RETURN_IF_ERROR(ReadAndProcess(in, budget, consumed));
  }
  if (*consumed > 0) {
    consumed_since_commit_ = true;
    records_in_.fetch_add(static_cast<int64_t>(*consumed), std::memory_order_relaxed);
  }
  FailPoint("after_process");
  return Status::Ok();
}

Status StreamTask::ReadAndProcess(Input& in, size_t budget, size_t* consumed) {
  if (in.end >= 0 && in.position >= in.end) return Status::Ok();
  const int64_t limit = ReadLimit(in);
  if (in.position >= limit) return Status::Ok();
  if (in.buffered_next != in.position || in.read_pos >= in.read.data.size()) {
    Status s = in.partition->ReadInto(Offset(in.position), kReadBytes, &in.read);
    if (!s.ok()) {
      return s.WithContext(fmt::format("reading '{}' partition {} at offset {}", in.name,
                                       id_.partition, in.position));
    }
    in.read_pos = 0;
    in.cursor = {};
    FailPoint("after_poll");
  }
  in.buffered_next = -1;  // re-established below unless an error leaves the cursor unknown
  time_->BeginBatch();
  const std::string_view all = in.read.data;
  bool at_end = false;
  while (!at_end && *consumed < budget && in.read_pos < all.size()) {
    std::string_view data = all.substr(in.read_pos);
    int64_t size = BatchSizeAt(data);
    if (size <= 0 || static_cast<size_t>(size) > data.size()) {
      in.read_pos = all.size();  // a partial tail (cannot happen: reads return whole batches)
      break;
    }
    SLUICE_ASSIGN_OR_RETURN(RecordBatchView batch, RecordBatchView::Parse(data.substr(0, size)));
    if (!batch.is_control() && batch.last_offset().value() >= in.position) {
      RecordView rec;
      // The budget bounds records per call even inside one large batch; the cursor keeps the
      // place for the next call.
      while (!batch.AtEnd(in.cursor) && *consumed < budget) {
        const RecordBatchView::Cursor at = in.cursor;
        SLUICE_RETURN_IF_ERROR(batch.Next(&in.cursor, &rec));
        const int64_t off = rec.offset.value();
        if (off < in.position) continue;
        if ((in.end >= 0 && off >= in.end) || off >= limit) {
          in.cursor = at;  // not taken: the next call starts with this record
          at_end = true;
          break;
        }
        bool record = false;
        SLUICE_RETURN_IF_ERROR(ProcessRecord(in, rec, &record, [&] {
          return fmt::format("record at offset {} of '{}' partition {}", off, in.name,
                             id_.partition);
        }));
        in.position = off + 1;
        if (record) ++*consumed;
      }
      if (!batch.AtEnd(in.cursor)) break;
    }
    in.read_pos += static_cast<size_t>(size);
    in.cursor = {};
  }
  in.buffered_next = in.position;
  return Status::Ok();
}

Status StreamTask::RunBatch(bool* did_work) {
  // RocksDB counts key comparisons etc. in thread-local perf counters by default; we never read
  // them, and on a hot store they cost a few percent. Per thread, so set on whichever runs us.
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  size_t total = 0;
  for (auto& in : inputs_) {
    if (total >= options_.batch_records) break;
    size_t n = 0;
    SLUICE_RETURN_IF_ERROR(ProcessInput(in, options_.batch_records - total, &n));
    total += n;
  }
  SLUICE_RETURN_IF_ERROR(AdvanceTime());
  *did_work = total > 0;
  if (exchange_ != nullptr) {
    // The next stage runs after this one in the round: hand it everything sent so far. The job
    // commits for us.
    for (Output* o : outputs_in_order_) {
      if (o->local) FinishBatch(*o, nullptr);
    }
    return mirror_stale_ ? MirrorOffsets(false) : Status::Ok();
  }
  auto now = std::chrono::steady_clock::now();
  bool due = total == 0 ? Uncommitted()
                        : (now - last_commit_ >= options_.commit_interval ||
                           pending_bytes_ >= options_.max_pending_output_bytes);
  if (due) {
    SLUICE_RETURN_IF_ERROR(Commit());
    *did_work = true;
  } else if (mirror_stale_) {
    SLUICE_RETURN_IF_ERROR(MirrorOffsets(false));
  }
  return Status::Ok();
}

Status StreamTask::AdvanceTime() {
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const Input& in = inputs_[i];
    if (in.local) {
      time_->UpdateInput(static_cast<int>(i), in.queued_next == in.queued.size(), false);
      continue;
    }
    int64_t hw = in.partition->high_watermark().value();
    bool ended = !in.internal && in.end >= 0 && in.position >= in.end;
    time_->UpdateInput(static_cast<int>(i), in.position >= hw, ended);
  }
  Timestamp wm = time_->Current();
  if (wm > watermark()) {
    Status s = graph_->AdvanceWatermark(wm);
    if (!s.ok()) {
      return s.WithContext(
          fmt::format("task {}/{}: advancing the watermark", id_.stage, id_.partition));
    }
  }
  late_.store(late_records(), std::memory_order_relaxed);
  Header marker;
  if (!watermark_sinks_.empty() && time_->NextMarker(watermark(), &marker)) {
    for (int t : watermark_sinks_) {
      for (int32_t p = 0; p < plan_.topics[t].partitions; ++p) {
        OutputFor(t, p).builder.Add(Timestamp(0), std::nullopt, std::nullopt,
                                    std::span<const Header>(&marker, 1));
        pending_bytes_ += 32;
      }
    }
  }
  return Status::Ok();
}

bool StreamTask::Uncommitted() const {
  if (consumed_since_commit_ || !finished_batches_.empty() || !published_.empty()) {
    return true;
  }
  for (const auto* o : outputs_in_order_) {
    if (!o->builder.empty()) return true;
  }
  for (const auto& s : stores_) {
    if (s && s->dirty()) return true;
  }
  return false;
}

Status StreamTask::Commit() {
  if (!Uncommitted()) return Status::Ok();
  rocksdb::WriteBatch wb;
  SLUICE_RETURN_IF_ERROR(PrepareCommit(&wb));
  const bool eos = options_.guarantee == ProcessingGuarantee::kExactlyOnce;
  Status s = db_->Write(&wb, /*sync=*/eos);
  if (!s.ok()) return s.WithContext(CommitContext());
  return FinishCommit();
}

std::string StreamTask::CommitContext() const {
  return fmt::format("task {}/{} commit", id_.stage, id_.partition);
}

Status StreamTask::PrepareCommit(rocksdb::WriteBatch* wb) {
  Status s = options_.guarantee == ProcessingGuarantee::kExactlyOnce ? PrepareExactlyOnce(wb)
                                                                     : PrepareAtLeastOnce(wb);
  if (!s.ok()) return s.WithContext(CommitContext());
  // What the task did so far is in `wb` now; what it does next (while `wb` is written, with a
  // joint commit) belongs to the next commit.
  pending_bytes_ = 0;
  consumed_since_commit_ = false;
  last_commit_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

Status StreamTask::FinishCommit() {
  ++commit_number_;
  if (options_.guarantee == ProcessingGuarantee::kExactlyOnce) {
    FailPoint("after_commit_write");
    published_.clear();
    const bool wait = flusher_ == nullptr;
    for (auto& [key, entry] : committing_) {
      Result<SyncPoint> sync = Publish(entry, wait);
      if (!sync.ok()) return sync.status().WithContext(CommitContext());
      published_.push_back({std::move(key), *sync});
    }
    committing_.clear();
    FailPoint("before_outbox_clear");
  }
  return MirrorOffsets(false);
}

void StreamTask::MoveStoreChanges(rocksdb::WriteBatch* wb) {
  for (auto& st : stores_) {
    if (st) st->MoveChangesTo(wb);
  }
}

std::vector<OutboxEntry> StreamTask::TakeFinishedBatches() {
  for (Output* o : outputs_in_order_) FinishBatch(*o, &finished_batches_);
  std::vector<OutboxEntry> entries = std::move(finished_batches_);
  finished_batches_.clear();
  return entries;
}

void StreamTask::PutCheckpoint(int64_t commit, rocksdb::WriteBatch* wb) {
  TaskCheckpoint ckpt;
  ckpt.commit_number = commit;
  for (const auto& in : inputs_) {
    if (!in.local) ckpt.inputs.push_back({in.name, id_.partition, in.position});
  }
  if (options_.guarantee == ProcessingGuarantee::kExactlyOnce) {
    ckpt.producer_id = producer_id_;
    for (const Output* o : outputs_in_order_) {
      if (!o->local) ckpt.outputs.push_back({o->name, o->partition, o->next_sequence});
    }
  }
  wb->Put(db_->meta(), CheckpointKey(id_), EncodeCheckpoint(ckpt)).PermitUncheckedError();
  wb->Put(db_->meta(), MarkKey(id_), EncodeMark(commit)).PermitUncheckedError();
  wb->Put(db_->meta(), TaskTime::StateKey(id_.stage, id_.partition), time_->Snapshot(*this))
      .PermitUncheckedError();
}

Status StreamTask::PrepareExactlyOnce(rocksdb::WriteBatch* wb) {
  FailPoint("before_commit_write");
  MoveStoreChanges(wb);
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
  const int64_t commit = commit_number_ + 1;
  committing_.clear();
  for (OutboxEntry& e : TakeFinishedBatches()) {
    std::string key = OutboxKey(id_, commit * 1000000 + static_cast<int64_t>(committing_.size()));
    wb->Put(db_->meta(), key, EncodeOutboxEntry(e)).PermitUncheckedError();
    committing_.emplace_back(std::move(key), std::move(e));
  }
  PutCheckpoint(commit, wb);
  return Status::Ok();
}

Status StreamTask::PrepareAtLeastOnce(rocksdb::WriteBatch* wb) {
  for (const auto& e : TakeFinishedBatches()) {
    SLUICE_RETURN_IF_ERROR(Publish(e, /*wait=*/true).status());
  }
  MoveStoreChanges(wb);
  PutCheckpoint(commit_number_ + 1, wb);
  return Status::Ok();
}

Status StreamTask::MirrorOffsets(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_mirror_ < kMirrorInterval) {
    mirror_stale_ = true;
    return Status::Ok();
  }
  if (commit_number_ == 0) return Status::Ok();
  if (options_.guarantee == ProcessingGuarantee::kAtLeastOnce) {
    // At-least-once commits without syncing; the mirrored offsets must not outlive the state
    // after a power loss (the restart would refuse the job as "state wiped"), so sync first. At
    // most once per mirror interval.
    SLUICE_RETURN_IF_ERROR(db_->SyncWal());
  }
  // Mirror what the last commit recorded, never positions beyond it.
  std::string ckpt_bytes;
  bool found = false;
  SLUICE_RETURN_IF_ERROR(db_->Get(db_->meta(), CheckpointKey(id_), &ckpt_bytes, &found));
  if (!found) return Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(TaskCheckpoint ckpt, DecodeCheckpoint(ckpt_bytes));
  std::map<TopicPartition, CommittedOffset> offsets;
  for (const auto& in : ckpt.inputs) {
    offsets[TopicPartition{in.topic, PartitionId(in.partition)}] = CommittedOffset{
        Offset(in.next_offset),
        fmt::format("{}{} task={}/{}", kMirrorTag, ckpt.commit_number, id_.stage, id_.partition),
        Now()};
  }
  SLUICE_RETURN_IF_ERROR(log_->offsets().Commit(options_.application_id, offsets));
  last_mirror_ = now;
  mirror_stale_ = false;
  // This task is the only reader of its repartition partitions, and the checkpoint just read is
  // durable (synced with exactly-once, the WAL synced above with at-least-once): the segments
  // below its offsets are never read again, as Kafka Streams purges its repartition topics.
  for (const auto& in : inputs_) {
    if (!in.internal || in.local) continue;
    for (const auto& c : ckpt.inputs) {
      if (c.topic != in.name || c.partition != id_.partition) continue;
      Result<int> deleted = in.partition->DeleteSegmentsBefore(Offset(c.next_offset));
      if (!deleted.ok()) {
        return deleted.status().WithContext(
            fmt::format("deleting consumed records of '{}' partition {}", in.name, id_.partition));
      }
    }
  }
  return Status::Ok();
}

int64_t StreamTask::ReadLimit(const Input& in) {
  // A repartition topic is read only where it is fsynced: a batch its writer has appended but not
  // yet synced could be lost to a power cut and republished after another writer's batch, and
  // offsets committed over it would then skip one batch and repeat the other.
  return in.internal ? in.partition->synced_offset().value()
                     : in.partition->high_watermark().value();
}

bool StreamTask::Finished() const {
  if (Uncommitted()) return false;
  for (const auto& in : inputs_) {
    if (in.local) continue;
    int64_t end = in.end >= 0 ? in.end : ReadLimit(in);
    if (in.position < end) return false;
  }
  return !HasQueuedInput();
}

int64_t StreamTask::Lag() const {
  int64_t lag = 0;
  for (const auto& in : inputs_) {
    if (in.internal) continue;
    lag += std::max<int64_t>(0, in.partition->high_watermark().value() - in.position);
  }
  return lag;
}

}  // namespace sluice
