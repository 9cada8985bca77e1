#include "runtime/stream_task.h"

#include <fmt/format.h>
#include <rocksdb/perf_level.h>

#include "core/partitioner.h"
#include "runtime/failpoint.h"
#include "runtime/job_reset.h"

namespace sluice {

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
      outputs_(plan, exchange, options.guarantee == ProcessingGuarantee::kExactlyOnce),
      outbox_(id, log, db, flusher),
      committer_(id, plan, options, log, db,
                 Committer::Parts{&inputs_, &outputs_, &outbox_, &stores_}) {}

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
  SLUICE_RETURN_IF_ERROR(OpenInputs());
  SLUICE_RETURN_IF_ERROR(committer_.Recover());
  SLUICE_RETURN_IF_ERROR(RestoreTime());
  SLUICE_ASSIGN_OR_RETURN(graph_, TaskGraph::Create(topology_, id_.stage, this));
  return Status::Ok();
}

Status StreamTask::OpenInputs() {
  const PlannedTask* task = nullptr;
  for (const auto& t : plan_.tasks) {
    if (t.id == id_) task = &t;
  }
  SLUICE_CHECK(task != nullptr);
  for (int t : task->input_topics) {
    const PlannedTopic& topic = plan_.topics[t];
    if (topic.local) {
      SLUICE_CHECK(exchange_ != nullptr);
      inputs_.emplace_back(t, topic.log_name, exchange_, id_.partition);
      bootstrap_end_.push_back(-1);
      continue;
    }
    if (topic.global) {
      // A global table: this task keeps a whole copy, so it reads every partition.
      for (int32_t q = 0; q < topic.partitions; ++q) {
        SLUICE_ASSIGN_OR_RETURN(Partition * p, log_->GetPartition(topic.log_name, PartitionId(q)));
        const int64_t hw = p->high_watermark().value();
        inputs_.emplace_back(t, topic.log_name, false, p, options_.until_end ? hw : int64_t{-1}, q,
                             /*global=*/true);
        bootstrap_end_.push_back(hw);
      }
      continue;
    }
    SLUICE_ASSIGN_OR_RETURN(Partition * p,
                            log_->GetPartition(topic.log_name, PartitionId(id_.partition)));
    const int64_t end =
        options_.until_end && !topic.internal ? p->high_watermark().value() : int64_t{-1};
    inputs_.emplace_back(t, topic.log_name, topic.internal, p, end, id_.partition);
    bootstrap_end_.push_back(topology_.IsTableBesideStream(t) ? p->high_watermark().value()
                                                              : int64_t{-1});
  }
  records_in_by_input_ = std::make_unique<std::atomic<int64_t>[]>(inputs_.size());
  return Status::Ok();
}

Status StreamTask::RestoreTime() {
  time_ = std::make_unique<TaskTime>(topology_.event_time(), id_.partition);
  for (const TaskInput& in : inputs_) {
    int senders = 0;
    const auto& sinks = topology_.topics()[in.topic()].sink_nodes;
    if (plan_.topics[in.topic()].internal && plan_.topics[in.topic()].carries_watermark &&
        !sinks.empty()) {
      senders = plan_.stage_partitions[topology_.nodes()[sinks.front()].stage];
    }
    time_->AddInput(senders, topology_.IsTableBesideStream(in.topic()),
                    topology_.SourceEventTime(in.topic()));
  }
  std::string wm_state;
  bool found = false;
  SLUICE_RETURN_IF_ERROR(
      db_->Get(db_->meta(), TaskTime::StateKey(id_.stage, id_.partition), &wm_state, &found));
  if (found) SLUICE_RETURN_IF_ERROR(time_->Restore(wm_state, this));
  // After a reset to a time: windows before this bound were emitted before it (job_reset.h).
  SLUICE_ASSIGN_OR_RETURN(Timestamp from, ReprocessFrom(*db_));
  set_reprocess_from(from);
  return Status::Ok();
}

KeyValueStore* StreamTask::store(int store_index) { return stores_[store_index].get(); }

Status StreamTask::Send(int topic_index, std::string_view key, std::string_view value,
                        Timestamp ts) {
  return SendRecord(topic_index, key, value, ts);
}

Status StreamTask::SendTombstone(int topic_index, std::string_view key, Timestamp ts) {
  return SendRecord(topic_index, key, std::nullopt, ts);
}

Status StreamTask::SendRecord(int topic_index, std::string_view key,
                              std::optional<std::string_view> value, Timestamp ts) {
  const PlannedTopic& t = plan_.topics[topic_index];
  int32_t part = PartitionForKey(key, t.partitions).value();
  if (t.carries_watermark) {
    Header h = time_->CarryHeader(*this);  // the watermark travels with the record
    outputs_.Add(topic_index, part, ts, key, value, &h);
  } else {
    outputs_.Add(topic_index, part, ts, key, value, nullptr);
  }
  return Status::Ok();
}

Status StreamTask::ProcessInput(size_t i, size_t budget, size_t* consumed) {
  TaskInput& in = inputs_[i];
  const int input = static_cast<int>(i);
  SLUICE_RETURN_IF_ERROR(in.ProcessRecords(
      budget, id_.partition, consumed, [&] { time_->BeginBatch(); },
      [&](const RecordView& rec, bool* record, const auto& where) {
        if (time_->BeforeRecord(input, rec, this)) return Status::Ok();  // a watermark marker
        *record = true;
        Status err = graph_->Process(in.topic(), rec.key_opt(), rec.value_opt(), rec.timestamp);
        time_->AfterRecord(input, rec.timestamp, *this);
        if (!err.ok()) {
          return err.WithContext(fmt::format("task {}/{}: {}", id_.stage, id_.partition, where()));
        }
        return Status::Ok();
      }));
  if (*consumed > 0) {
    committer_.NoteConsumed();
    records_in_.fetch_add(static_cast<int64_t>(*consumed), std::memory_order_relaxed);
    records_in_by_input_[i].fetch_add(static_cast<int64_t>(*consumed), std::memory_order_relaxed);
  }
  FailPoint("after_process");
  return Status::Ok();
}

Status StreamTask::RunBatch(bool* did_work) {
  // RocksDB counts key comparisons etc. in thread-local perf counters by default; we never read
  // them, and on a hot store they cost a few percent. Per thread, so set on whichever runs us.
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  size_t total = 0;
  const bool tables_only = Bootstrapping();
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if (total >= options_.batch_records) break;
    if (tables_only && bootstrap_end_[i] < 0) continue;
    size_t n = 0;
    SLUICE_RETURN_IF_ERROR(ProcessInput(i, options_.batch_records - total, &n));
    total += n;
  }
  // Tables with nothing left to read below their start end (a tail of transaction markers, say)
  // must not hold the stream back.
  if (tables_only && total == 0) bootstrapped_ = true;
  SLUICE_RETURN_IF_ERROR(AdvanceTime());
  *did_work = total > 0;
  if (exchange_ != nullptr) {
    // The next stage runs after this one in the round: hand it everything sent so far. The job
    // commits for us.
    outputs_.FlushLocal();
    return committer_.mirror_stale() ? MirrorOffsets(false) : Status::Ok();
  }
  auto now = std::chrono::steady_clock::now();
  bool due = total == 0
                 ? Uncommitted()
                 : (now - committer_.last_commit() >= options_.commit_interval || CommitWanted());
  if (due) {
    SLUICE_RETURN_IF_ERROR(Commit());
    *did_work = true;
  } else if (committer_.mirror_stale()) {
    SLUICE_RETURN_IF_ERROR(MirrorOffsets(false));
  }
  return Status::Ok();
}

bool StreamTask::Bootstrapping() {
  if (bootstrapped_) return false;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if (bootstrap_end_[i] >= 0 && inputs_[i].position() < bootstrap_end_[i]) return true;
  }
  bootstrapped_ = true;
  return false;
}

Status StreamTask::AdvanceTime() {
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const TaskInput& in = inputs_[i];
    time_->UpdateInput(static_cast<int>(i), in.CaughtUp(), in.Ended());
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
      for (int32_t p = 0; p < plan_.topics[t].partitions; ++p) outputs_.AddMarker(t, p, marker);
    }
  }
  return Status::Ok();
}

bool StreamTask::Uncommitted() const {
  if (committer_.consumed_since_commit() || outputs_.Pending() || outbox_.HasPublished()) {
    return true;
  }
  for (const auto& s : stores_) {
    if (s && s->dirty()) return true;
  }
  return false;
}

Status StreamTask::Commit() {
  if (!Uncommitted()) return Status::Ok();
  ScopedLatency timed(commit_latency_);
  rocksdb::WriteBatch wb;
  SLUICE_RETURN_IF_ERROR(PrepareCommit(&wb));
  const bool eos = options_.guarantee == ProcessingGuarantee::kExactlyOnce;
  Status s = db_->Write(&wb, /*sync=*/eos);
  if (!s.ok()) return s.WithContext(committer_.CommitContext());
  return FinishCommit();
}

Status StreamTask::PrepareCommit(rocksdb::WriteBatch* wb) {
  SLUICE_RETURN_IF_ERROR(committer_.Prepare(wb));
  // Event time commits with the offsets it was computed from.
  wb->Put(db_->meta(), TaskTime::StateKey(id_.stage, id_.partition), time_->Snapshot(*this))
      .PermitUncheckedError();
  return Status::Ok();
}

Status StreamTask::FinishCommit() { return committer_.Finish(); }

bool StreamTask::HasQueuedInput() const {
  for (const TaskInput& in : inputs_) {
    if (in.HasQueued()) return true;
  }
  return false;
}

bool StreamTask::Finished() const {
  if (Uncommitted()) return false;
  for (const TaskInput& in : inputs_) {
    if (!in.AtEnd()) return false;
  }
  return !HasQueuedInput();
}

std::vector<Partition*> StreamTask::InputPartitions() const {
  std::vector<Partition*> out;
  for (const TaskInput& in : inputs_) {
    if (!in.local()) out.push_back(in.partition());
  }
  return out;
}

std::vector<StreamTask::InputStats> StreamTask::input_stats() const {
  std::vector<InputStats> out;
  out.reserve(inputs_.size());
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const TaskInput& in = inputs_[i];
    InputStats s;
    s.topic = in.name();
    s.partition = id_.partition;
    s.internal = in.internal();
    s.local = in.local();
    s.records = records_in_by_input_[i].load(std::memory_order_relaxed);
    s.position = in.local() ? 0 : in.position();
    s.lag = in.local() ? 0 : in.Lag();
    out.push_back(std::move(s));
  }
  return out;
}

int64_t StreamTask::Lag() const {
  int64_t lag = 0;
  for (const TaskInput& in : inputs_) lag += in.Lag();
  return lag;
}

}  // namespace sluice
