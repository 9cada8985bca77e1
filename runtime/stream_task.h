// StreamTask: one (stage, partition) of a running job — its operators, stores, input positions
// and pending outputs, and the commit protocol that makes its results exactly-once.
//
// Commit (exactly-once), every commit_interval, when pending output grows past its bound, when
// the task goes idle, and on stop:
//   1. one RocksDB WriteBatch, synced, holding the store changes, a TaskCheckpoint (input
//      offsets, producer id, next idempotent sequence per output partition), a matching commit
//      mark, the output batches as outbox entries (their producer id and sequences fixed here),
//      and the deletion of earlier commits' outbox entries that are published and synced;
//   2. the outbox batches are appended to their partitions without waiting for the fsync
//      (Acks::kLeader); the Flusher syncs them in the background (a next stage reads a
//      repartition topic only where it is synced);
//   3. the committed offsets are mirrored into the log's group offsets (application id).
// An outbox entry is deleted (in a later commit's batch) only once its partition's synced offset
// covers it, the task flushing the partition itself if the Flusher has not yet, so a power loss
// never takes away the last copy of a committed output. Outputs reach the log only in step 2, so
// readers see only committed results. Recovery re-publishes the outbox, skipping batches whose
// sequences the partition already holds (Partition::LastSequence), so a crash anywhere neither
// loses nor duplicates output.
//
// With Exchange::kLocal (`exchange` given), records for a repartition topic go to the
// LocalExchange instead of the log, a local input is read from it, and the task never commits on
// its own: the job commits all its tasks in one write (PrepareCommit, the write, FinishCommit)
// at the end of a round, when the exchange is empty.
//
// Not thread-safe: the executor runs one batch of a task at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/log.h"
#include "core/record_batch.h"
#include "operators/processor_context.h"
#include "operators/task_graph.h"
#include "operators/topology.h"
#include "runtime/commit_format.h"
#include "runtime/flusher.h"
#include "runtime/job_options.h"
#include "runtime/local_exchange.h"
#include "runtime/planner.h"
#include "runtime/state_db.h"
#include "runtime/task_store.h"
#include "runtime/task_time.h"

namespace sluice {

class StreamTask final : public ProcessorContext {
 public:
  // `flusher` (not owned, may be null: then every output is appended with Acks::kAll) syncs
  // output partitions in the background. `exchange` (not owned): the job's in-memory channel for
  // the plan's local topics; null when the plan has none.
  StreamTask(TaskId id, const Topology& topology, const Plan& plan, const JobOptions& options,
             Log* log, StateDb* db, Flusher* flusher, LocalExchange* exchange = nullptr);
  ~StreamTask() override;

  TaskId id() const { return id_; }

  // Recovers: checks the checkpoint against the commit mark and the log's mirrored offsets
  // (refusing with kCorruption/kFailedPrecondition-style errors when state and offsets
  // disagree), re-publishes the outbox, and positions the inputs.
  Status Init();

  // Processes up to options.batch_records input records, then (unless the job commits for it,
  // with a LocalExchange) commits if due. Batches for local topics are pushed to the exchange
  // before it returns. *did_work is set when records were read or a commit happened.
  Status RunBatch(bool* did_work);

  // Commits and publishes whatever is uncommitted (no-op if nothing is).
  Status Commit();

  // A commit in three steps, for a job that commits several tasks in one write: PrepareCommit
  // adds this task's part (state changes, checkpoint, and with exactly-once its outbox) to `wb`
  // (with at-least-once it publishes the outputs first); after `wb` is written (synced with
  // exactly-once), FinishCommit publishes the outbox and mirrors offsets. The task may run
  // batches between the two (they belong to the next commit), but no second PrepareCommit.
  // Call PrepareCommit only when Uncommitted().
  Status PrepareCommit(rocksdb::WriteBatch* wb);
  Status FinishCommit();

  // State changes, consumed input or outputs not yet committed (or outbox entries to delete).
  bool Uncommitted() const;
  // Pending output passed JobOptions::max_pending_output_bytes: commit soon.
  bool CommitWanted() const { return pending_bytes_ >= options_.max_pending_output_bytes; }
  // Local input queued in the exchange or taken but not yet processed.
  bool HasQueuedInput() const;

  // True when every input is at its end (external inputs at `end_offsets` if until_end,
  // internal ones at their high watermark) and nothing is uncommitted.
  bool Finished() const;

  // Writes the last commit's input offsets into the log's group offsets (application id) if
  // `force` or at least a second has passed since the last mirror.
  Status MirrorOffsets(bool force);

  int64_t records_in() const { return records_in_.load(std::memory_order_relaxed); }
  int64_t records_out() const { return records_out_.load(std::memory_order_relaxed); }
  // Records dropped as late by windows and joins (counted, and written to a late topic if the
  // operator has one).
  int64_t late() const { return late_.load(std::memory_order_relaxed); }
  // Records in external inputs not yet consumed.
  int64_t Lag() const;

  // ProcessorContext.
  KeyValueStore* store(int store_index) override;
  Status Send(int topic_index, std::string_view key, std::string_view value, Timestamp ts) override;

 private:
  struct Input {
    int topic;         // topology topic index
    std::string name;  // log topic name
    Partition* partition = nullptr;
    int64_t position = 0;  // next offset to read
    int64_t end = -1;      // until_end bound for external topics; -1 none
    bool internal = false;
    bool local = false;  // read from the LocalExchange, not the log (partition stays null)
    // Local inputs: batches taken from the exchange, processed from queued[queued_next].
    std::vector<std::string> queued;
    size_t queued_next = 0;
    // Read-ahead: whole batches read from the partition, consumed across several ProcessInput
    // calls (a batch can hold far more records than one call's budget). Valid only while
    // buffered_next == position: then read.data[read_pos..] starts with the batch holding
    // `position` and `cursor` points at its next record.
    ReadResult read;
    size_t read_pos = 0;
    RecordBatchView::Cursor cursor;
    int64_t buffered_next = -1;
  };
  struct Output {
    int topic;
    std::string name;
    int32_t partition;
    bool local = false;  // finished batches go to the LocalExchange
    RecordBatchBuilder builder;
    int32_t next_sequence = 0;
  };

  Status LoadOrStart();
  Status RepublishOutbox();
  // How far `partition` must be synced before a published batch's outbox entry may go.
  struct SyncPoint {
    Partition* partition = nullptr;
    int64_t end = 0;
  };
  struct Published {
    std::string key;  // the outbox entry, deleted by a commit once `sync` is reached
    SyncPoint sync;
  };
  // Appends one outbox batch to its partition unless the partition already holds its sequences.
  // `wait`: with Acks::kAll; else with Acks::kLeader, the Flusher asked to sync it.
  Result<SyncPoint> Publish(const OutboxEntry& e, bool wait);
  Status ProcessInput(Input& in, size_t budget, size_t* consumed);
  // ProcessInput for a log input: reads (or continues its read-ahead) and processes.
  Status ReadAndProcess(Input& in, size_t budget, size_t* consumed);
  // ProcessInput for a local input: whole batches from the exchange until `budget` is reached.
  Status ProcessLocal(Input& in, size_t budget, size_t* consumed);
  // Runs one record of input `in` through the graph, or books it if it is a watermark marker
  // (then *record stays false); `where()` describes the record for an error.
  template <typename Where>
  Status ProcessRecord(Input& in, const RecordView& rec, bool* record, Where where);
  // Commit helpers: every store's uncommitted changes into `wb`; the finished and still open
  // output batches (taken); the checkpoint of `commit` with its mark and event-time state (the
  // producer id and output sequences only with exactly-once).
  void MoveStoreChanges(rocksdb::WriteBatch* wb);
  std::vector<OutboxEntry> TakeFinishedBatches();
  void PutCheckpoint(int64_t commit, rocksdb::WriteBatch* wb);
  // Where reading `in` stops for now: its synced offset for a repartition topic, else its HW.
  static int64_t ReadLimit(const Input& in);
  Output& OutputFor(int topic, int32_t partition);
  void FinishBatch(Output& o, std::vector<OutboxEntry>* out);
  // "task <stage>/<partition> commit", the context of every commit error.
  std::string CommitContext() const;
  Status PrepareExactlyOnce(rocksdb::WriteBatch* wb);
  Status PrepareAtLeastOnce(rocksdb::WriteBatch* wb);
  // Event time after a batch: input idleness/end, the watermark advance (windows close), and
  // watermark markers to the internal topics this task writes.
  Status AdvanceTime();

  TaskId id_;
  const Topology& topology_;
  const Plan& plan_;
  const JobOptions& options_;
  Log* log_;
  StateDb* db_;
  std::unique_ptr<TaskGraph> graph_;
  std::vector<std::unique_ptr<TaskStore>> stores_;  // by topology store index (null if not ours)
  std::vector<Input> inputs_;
  // outputs_[topic][partition], created on first use (a lookup per sent record).
  std::vector<std::vector<std::unique_ptr<Output>>> outputs_;
  std::vector<Output*> outputs_in_order_;
  std::vector<OutboxEntry> finished_batches_;  // finished but not yet committed
  size_t pending_bytes_ = 0;
  int64_t producer_id_ = -1;
  int64_t commit_number_ = 0;
  std::vector<Published> published_;  // outbox entries to delete once durable in the log
  // Between PrepareCommit and FinishCommit (exactly-once): the outbox batches, by outbox key.
  std::vector<std::pair<std::string, OutboxEntry>> committing_;
  LocalExchange* exchange_;
  std::vector<int> watermark_sinks_;  // this stage's sink topics that carry its watermark
  Flusher* flusher_;
  bool consumed_since_commit_ = false;
  std::chrono::steady_clock::time_point last_commit_;
  std::chrono::steady_clock::time_point last_mirror_;
  bool mirror_stale_ = false;
  std::atomic<int64_t> records_in_{0};
  std::atomic<int64_t> records_out_{0};
  std::atomic<int64_t> late_{0};
  std::unique_ptr<TaskTime> time_;
};

}  // namespace sluice
