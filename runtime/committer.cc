#include "runtime/committer.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "runtime/failpoint.h"

namespace sluice {
namespace {

constexpr std::chrono::milliseconds kMirrorInterval{1000};

// The commit number recorded in a mirrored offset's metadata, or -1.
int64_t MirroredCommit(const std::string& metadata) {
  if (!metadata.starts_with(kMirrorTag)) return -1;
  return std::atoll(metadata.c_str() + kMirrorTag.size());
}

}  // namespace

Committer::Committer(TaskId task, const Plan& plan, const JobOptions& options, Log* log,
                     StateDb* db, Parts parts)
    : task_(task), plan_(plan), options_(options), log_(log), db_(db), parts_(parts) {}

bool Committer::IsGlobal(std::string_view log_name) const {
  return std::any_of(plan_.topics.begin(), plan_.topics.end(),
                     [&](const PlannedTopic& t) { return t.global && t.log_name == log_name; });
}

std::string Committer::Task() const {
  return fmt::format("task {}/{}", task_.stage, task_.partition);
}

std::string Committer::ResetHint() const {
  return fmt::format(
      "to reprocess the input from the start, run `sluice job reset {} --to-earliest` (this wipes "
      "the state and emits the outputs again)",
      options_.application_id);
}

std::string Committer::CommitContext() const {
  return fmt::format("task {}/{} commit", task_.stage, task_.partition);
}

Status Committer::Recover() {
  const std::string& app = options_.application_id;
  std::string ckpt_bytes, mark_bytes;
  bool has_ckpt = false, has_mark = false;
  SLUICE_RETURN_IF_ERROR(db_->Get(db_->meta(), CheckpointKey(task_), &ckpt_bytes, &has_ckpt));
  SLUICE_RETURN_IF_ERROR(db_->Get(db_->meta(), MarkKey(task_), &mark_bytes, &has_mark));

  // The newest commit of this task that the log's group offsets know about.
  int64_t mirrored = -1;
  SLUICE_ASSIGN_OR_RETURN(auto group, log_->offsets().Fetch(app));
  for (const TaskInput& in : *parts_.inputs) {
    if (in.local() || in.global()) continue;  // a global table's offsets are never mirrored
    auto it = group.find(TopicPartition{in.name(), PartitionId(task_.partition)});
    if (it != group.end()) mirrored = std::max(mirrored, MirroredCommit(it->second.metadata));
  }

  if (!has_ckpt) {
    if (has_mark) {
      return Corruption(
          "{} of application '{}': the state directory '{}' holds a commit mark but no input "
          "offsets, so state and offsets disagree; starting would count inputs twice. {}",
          Task(), app, db_->dir(), ResetHint());
    }
    if (mirrored >= 1) {
      return Corruption(
          "{} of application '{}': the log has offsets committed by this application (commit "
          "{}) but the state directory '{}' has no state for it: the state was wiped or "
          "replaced. Resuming would lose the state and replaying would count inputs twice; the "
          "job refuses to start. {}",
          Task(), app, mirrored, db_->dir(), ResetHint());
    }
    return StartFresh(group);
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
        Task(), app, db_->dir(), ckpt.commit_number, mark, ResetHint());
  }
  if (mirrored > ckpt.commit_number) {
    return Corruption(
        "{} of application '{}': the log's committed offsets come from commit {} but the state "
        "directory '{}' is at commit {}: the state is older than the offsets (restored from an "
        "old copy?). {}",
        Task(), app, mirrored, db_->dir(), ckpt.commit_number, ResetHint());
  }
  return Resume(ckpt);
}

Status Committer::StartFresh(const std::map<TopicPartition, CommittedOffset>& group) {
  for (TaskInput& in : *parts_.inputs) {
    if (in.local()) continue;
    Partition* p = in.partition();
    if (in.global()) {
      // A global table is the whole topic, whatever the job starts its streams from.
      in.Seek(p->log_start_offset().value());
      continue;
    }
    // `sluice job reset` leaves the positions to start from in the group offsets.
    auto it = group.find(TopicPartition{in.name(), PartitionId(task_.partition)});
    // "sluice-reset" or "sluice-reset from=<P>" (a reset to a time; runtime/job_reset.h).
    if (it != group.end() && (it->second.metadata == kResetTag ||
                              it->second.metadata.starts_with(fmt::format("{} ", kResetTag)))) {
      in.Seek(it->second.offset.value());
      continue;
    }
    switch (options_.start) {
      case StartPosition::kEarliest:
        in.Seek(p->log_start_offset().value());
        break;
      case StartPosition::kLatest:
        in.Seek(p->high_watermark().value());
        break;
      case StartPosition::kTimestamp: {
        SLUICE_ASSIGN_OR_RETURN(Offset o, p->OffsetForTime(options_.start_time));
        in.Seek(o.value());
        break;
      }
    }
    if (in.internal()) in.Seek(p->log_start_offset().value());
  }
  if (exactly_once()) {
    SLUICE_ASSIGN_OR_RETURN(producer_id_, log_->AllocateProducerId());
    parts_.outputs->set_producer_id(producer_id_);
  }
  last_commit_ = last_mirror_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

Status Committer::Resume(const TaskCheckpoint& ckpt) {
  const std::string& app = options_.application_id;
  commit_number_ = ckpt.commit_number;
  producer_id_ = ckpt.producer_id;
  parts_.outputs->set_producer_id(producer_id_);
  for (TaskInput& in : *parts_.inputs) {
    if (in.local()) continue;
    auto it = std::find_if(ckpt.inputs.begin(), ckpt.inputs.end(), [&](const auto& c) {
      return c.topic == in.name() && c.partition == in.partition_id();
    });
    if (it == ckpt.inputs.end()) {
      return Corruption(
          "{} of application '{}': the checkpoint has no offset for input '{}' partition {} "
          "(was the topology changed, or the topic given partitions?). {}",
          Task(), app, in.name(), in.partition_id(), ResetHint());
    }
    in.Seek(it->next_offset);
  }
  for (const auto& o : ckpt.outputs) {
    int topic = -1;
    for (size_t i = 0; i < plan_.topics.size(); ++i) {
      if (plan_.topics[i].log_name == o.topic) topic = static_cast<int>(i);
    }
    if (topic < 0) continue;  // an output the topology no longer writes
    parts_.outputs->SetNextSequence(topic, o.partition, o.next_sequence);
  }
  SLUICE_RETURN_IF_ERROR(parts_.outbox->Republish());
  for (const TaskInput& in : *parts_.inputs) {
    if (in.local()) continue;
    int64_t hw = in.partition()->high_watermark().value();
    int64_t start = in.partition()->log_start_offset().value();
    if (in.position() > hw) {
      return Corruption(
          "{}: committed offset {} of '{}' partition {} is beyond its end {}: the log lost data "
          "the job had already processed. {}",
          Task(), in.position(), in.name(), in.partition_id(), hw, ResetHint());
    }
    if (in.position() < start) {
      return OutOfRange(
          "{}: committed offset {} of '{}' partition {} was deleted by retention (the log now "
          "starts at {}); {}",
          Task(), in.position(), in.name(), in.partition_id(), start, ResetHint());
    }
  }
  last_commit_ = last_mirror_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

Status Committer::Prepare(rocksdb::WriteBatch* wb) {
  Status s = exactly_once() ? PrepareExactlyOnce(wb) : PrepareAtLeastOnce(wb);
  if (!s.ok()) return s.WithContext(CommitContext());
  // What the task did so far is in `wb` now; what it does next (while `wb` is written, with a
  // joint commit) belongs to the next commit.
  parts_.outputs->ResetPendingBytes();
  consumed_since_commit_ = false;
  last_commit_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

Status Committer::Finish() {
  ++commit_number_;
  if (exactly_once()) {
    FailPoint("after_commit_write");
    Status s = parts_.outbox->PublishStaged();
    if (!s.ok()) return s.WithContext(CommitContext());
    FailPoint("before_outbox_clear");
  }
  return MirrorOffsets(false);
}

void Committer::MoveStoreChanges(rocksdb::WriteBatch* wb) {
  for (const auto& st : *parts_.stores) {
    if (st) st->MoveChangesTo(wb);
  }
}

void Committer::PutCheckpoint(int64_t commit, rocksdb::WriteBatch* wb) {
  TaskCheckpoint ckpt;
  ckpt.commit_number = commit;
  for (const TaskInput& in : *parts_.inputs) {
    if (!in.local()) ckpt.inputs.push_back({in.name(), in.partition_id(), in.position()});
  }
  if (exactly_once()) {
    ckpt.producer_id = producer_id_;
    ckpt.outputs = parts_.outputs->Sequences();
  }
  wb->Put(db_->meta(), CheckpointKey(task_), EncodeCheckpoint(ckpt)).PermitUncheckedError();
  wb->Put(db_->meta(), MarkKey(task_), EncodeMark(commit)).PermitUncheckedError();
}

Status Committer::PrepareExactlyOnce(rocksdb::WriteBatch* wb) {
  FailPoint("before_commit_write");
  MoveStoreChanges(wb);
  SLUICE_RETURN_IF_ERROR(parts_.outbox->AddDeletions(wb));
  const int64_t commit = commit_number_ + 1;
  parts_.outbox->Stage(commit, parts_.outputs->TakeFinished(), wb);
  PutCheckpoint(commit, wb);
  return Status::Ok();
}

Status Committer::PrepareAtLeastOnce(rocksdb::WriteBatch* wb) {
  for (const auto& e : parts_.outputs->TakeFinished()) {
    SLUICE_RETURN_IF_ERROR(parts_.outbox->PublishNow(e));
  }
  MoveStoreChanges(wb);
  PutCheckpoint(commit_number_ + 1, wb);
  return Status::Ok();
}

Status Committer::MirrorOffsets(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_mirror_ < kMirrorInterval) {
    mirror_stale_ = true;
    return Status::Ok();
  }
  if (commit_number_ == 0) return Status::Ok();
  if (!exactly_once()) {
    // At-least-once commits without syncing; the mirrored offsets must not outlive the state
    // after a power loss (the restart would refuse the job as "state wiped"), so sync first. At
    // most once per mirror interval.
    SLUICE_RETURN_IF_ERROR(db_->SyncWal());
  }
  // Mirror what the last commit recorded, never positions beyond it.
  std::string ckpt_bytes;
  bool found = false;
  SLUICE_RETURN_IF_ERROR(db_->Get(db_->meta(), CheckpointKey(task_), &ckpt_bytes, &found));
  if (!found) return Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(TaskCheckpoint ckpt, DecodeCheckpoint(ckpt_bytes));
  std::map<TopicPartition, CommittedOffset> offsets;
  for (const auto& in : ckpt.inputs) {
    // A global table's partitions are read by every task of its stage and checkpointed by each;
    // the group offsets name one position per partition, so they are not mirrored.
    if (IsGlobal(in.topic)) continue;
    offsets[TopicPartition{in.topic, PartitionId(in.partition)}] =
        CommittedOffset{Offset(in.next_offset),
                        fmt::format("{}{} task={}/{}", kMirrorTag, ckpt.commit_number, task_.stage,
                                    task_.partition),
                        Now()};
  }
  SLUICE_RETURN_IF_ERROR(log_->offsets().Commit(options_.application_id, offsets));
  last_mirror_ = now;
  mirror_stale_ = false;
  // This task is the only reader of its repartition partitions, and the checkpoint just read is
  // durable (synced with exactly-once, the WAL synced above with at-least-once): the segments
  // below its offsets are never read again, as Kafka Streams purges its repartition topics.
  for (const TaskInput& in : *parts_.inputs) {
    if (!in.internal() || in.local()) continue;
    for (const auto& c : ckpt.inputs) {
      if (c.topic != in.name() || c.partition != task_.partition) continue;
      Result<int> deleted = in.partition()->DeleteSegmentsBefore(Offset(c.next_offset));
      if (!deleted.ok()) {
        return deleted.status().WithContext(fmt::format(
            "deleting consumed records of '{}' partition {}", in.name(), task_.partition));
      }
    }
  }
  return Status::Ok();
}

}  // namespace sluice
