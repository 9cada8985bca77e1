// Committer: a task's commit protocol — what one commit writes for exactly-once and for
// at-least-once, the recovery checks that decide where a restarted task resumes, and the
// mirroring of committed offsets into the log's group offsets.
//
// Exactly-once, one commit:
//   1. Prepare adds to a RocksDB WriteBatch the store changes, the deletion of earlier commits'
//      outbox entries that are published and synced, the output batches as outbox entries (their
//      producer id and sequences fixed here), a TaskCheckpoint (input offsets, producer id, next
//      sequence per output partition) and a matching commit mark;
//   2. the caller writes the batch, synced;
//   3. Finish publishes the outbox (Outbox::PublishStaged) and mirrors the offsets.
// At-least-once: Prepare publishes the output batches first (waiting for their fsync), then adds
// the store changes and the checkpoint; the write is not synced.
//
// Recover (the task's first step) compares the checkpoint, the commit mark and the commit number
// mirrored into the group offsets, and refuses with kCorruption when state and offsets disagree
// (a wiped, stale or edited state directory), or kOutOfRange when retention deleted the input the
// task would resume at; each message says how to reset the application. Then it re-publishes the
// outbox and positions the inputs.
//
// Not thread-safe: owned by one StreamTask. Its inputs, outputs, outbox and stores outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "runtime/commit_format.h"
#include "runtime/job_options.h"
#include "runtime/outbox.h"
#include "runtime/planner.h"
#include "runtime/state_db.h"
#include "runtime/task_input.h"
#include "runtime/task_outputs.h"
#include "runtime/task_store.h"

namespace sluice {

class Committer {
 public:
  // The task's parts that a commit covers (not owned).
  struct Parts {
    std::vector<TaskInput>* inputs;
    TaskOutputs* outputs;
    Outbox* outbox;
    const std::vector<std::unique_ptr<TaskStore>>* stores;  // by store index; null if not ours
  };
  Committer(TaskId task, const Plan& plan, const JobOptions& options, Log* log, StateDb* db,
            Parts parts);

  // Checks the stored commit against the log (see above), sets the producer id and output
  // sequences, re-publishes the outbox and positions the inputs: at the checkpoint, or for a task
  // without one at a `sluice job reset` position or JobOptions::start.
  Status Recover();

  // Adds this task's commit to `wb` (see above). What the task does after it returns belongs to
  // the next commit. Errors carry "task <stage>/<partition> commit".
  Status Prepare(rocksdb::WriteBatch* wb);
  // After `wb` is written: publishes the outbox (exactly-once) and mirrors the offsets if due.
  Status Finish();

  // Writes the last commit's input offsets into the log's group offsets (application id) if
  // `force` or at least a second has passed since the last mirror; then deletes the consumed
  // segments of the task's repartition inputs.
  Status MirrorOffsets(bool force);
  // A mirror was skipped as too soon after the last one.
  bool mirror_stale() const { return mirror_stale_; }

  // Input was consumed since the last commit.
  void NoteConsumed() { consumed_since_commit_ = true; }
  bool consumed_since_commit() const { return consumed_since_commit_; }
  std::chrono::steady_clock::time_point last_commit() const { return last_commit_; }
  // "task <stage>/<partition> commit", the context of every commit error.
  std::string CommitContext() const;

 private:
  bool exactly_once() const { return options_.guarantee == ProcessingGuarantee::kExactlyOnce; }
  Status StartFresh(const std::map<TopicPartition, CommittedOffset>& group);
  Status Resume(const TaskCheckpoint& ckpt);
  Status PrepareExactlyOnce(rocksdb::WriteBatch* wb);
  Status PrepareAtLeastOnce(rocksdb::WriteBatch* wb);
  void MoveStoreChanges(rocksdb::WriteBatch* wb);
  // The checkpoint of commit number `commit` and its mark (the producer id and output sequences
  // only with exactly-once).
  void PutCheckpoint(int64_t commit, rocksdb::WriteBatch* wb);
  // "task <s>/<p> of application '<app>'" and the reset advice of recovery errors.
  std::string Task() const;
  std::string ResetHint() const;
  // Whether `log_name` is a global table's topic (PlannedTopic::global).
  bool IsGlobal(std::string_view log_name) const;

  const TaskId task_;
  const Plan& plan_;
  const JobOptions& options_;
  Log* log_;
  StateDb* db_;
  Parts parts_;
  int64_t producer_id_ = -1;
  int64_t commit_number_ = 0;
  bool consumed_since_commit_ = false;
  std::chrono::steady_clock::time_point last_commit_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_mirror_ = last_commit_;
  bool mirror_stale_ = false;
};

}  // namespace sluice
