// StreamTask: one (stage, partition) of a running job. It coordinates its parts — the inputs it
// reads (TaskInput), the operators that process them (TaskGraph), the stores they use
// (TaskStore), the batches they send (TaskOutputs), the outbox that carries committed batches to
// the log (Outbox), the commit protocol and recovery checks (Committer) and event time
// (TaskTime) — and is the operators' ProcessorContext.
//
// RunBatch reads up to options.batch_records records from the inputs in order, runs each through
// the graph, advances event time, and (unless the job commits for it) commits every
// commit_interval, when pending output grows past its bound, and when the task goes idle. See
// committer.h for what a commit writes and outbox.h for how outputs reach the log exactly once.
//
// With Exchange::kLocal (`exchange` given), records for a repartition topic go to the
// LocalExchange instead of the log, a local input is read from it, and the task never commits on
// its own: the job commits all its tasks in one write (PrepareCommit, the write, FinishCommit)
// at the end of a round, when the exchange is empty.
//
// Not thread-safe: the executor runs one batch of a task at a time. records_in, records_out,
// late and Lag may be read from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/metrics.h"
#include "operators/processor_context.h"
#include "operators/task_graph.h"
#include "operators/topology.h"
#include "runtime/commit_format.h"
#include "runtime/committer.h"
#include "runtime/flusher.h"
#include "runtime/job_options.h"
#include "runtime/local_exchange.h"
#include "runtime/outbox.h"
#include "runtime/planner.h"
#include "runtime/state_db.h"
#include "runtime/task_input.h"
#include "runtime/task_outputs.h"
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

  // Recovers: opens the stores, runs the Committer's recovery checks (kCorruption when state and
  // offsets disagree, kOutOfRange when retention deleted the input to resume at), re-publishes
  // the outbox, positions the inputs and restores event time.
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
  bool CommitWanted() const {
    return outputs_.pending_bytes() >= options_.max_pending_output_bytes;
  }
  // Local input queued in the exchange or taken but not yet processed.
  bool HasQueuedInput() const;

  // True when every input is at its end (external inputs at `end_offsets` if until_end,
  // internal ones at their read limit) and nothing is uncommitted.
  bool Finished() const;

  // Writes the last commit's input offsets into the log's group offsets (application id) if
  // `force` or at least a second has passed since the last mirror.
  Status MirrorOffsets(bool force) { return committer_.MirrorOffsets(force); }

  // The log partitions this task reads (not the local ones): appends to them are what an idle
  // task waits for.
  std::vector<Partition*> InputPartitions() const;

  int64_t records_in() const { return records_in_.load(std::memory_order_relaxed); }
  int64_t records_out() const { return outbox_.records_out(); }
  // Records dropped as late by windows and joins (counted, and written to a late topic if the
  // operator has one).
  int64_t late() const { return late_.load(std::memory_order_relaxed); }
  // Records in external inputs not yet consumed.
  int64_t Lag() const;

  // One input partition of the task, for metrics (read from any thread, as Lag).
  struct InputStats {
    std::string topic;
    int32_t partition = 0;
    bool internal = false;  // a repartition topic (lag not counted)
    bool local = false;     // in-memory exchange: no position or lag
    int64_t records = 0;    // records processed from it by this task since start
    int64_t position = 0;   // next offset to read
    int64_t lag = 0;        // log end - position (external inputs)
  };
  std::vector<InputStats> input_stats() const;
  // Records published, by output topic.
  std::map<std::string, int64_t> records_out_by_topic() const {
    return outbox_.records_out_by_topic();
  }
  // Where Commit records its duration (prepare, RocksDB write and publish); null: nowhere. Set
  // before the task runs.
  void set_commit_latency(LatencyHistogram* h) { commit_latency_ = h; }

  // ProcessorContext.
  KeyValueStore* store(int store_index) override;
  Status Send(int topic_index, std::string_view key, std::string_view value, Timestamp ts) override;
  Status SendTombstone(int topic_index, std::string_view key, Timestamp ts) override;

 private:
  Status OpenInputs();
  // True while some table input has not yet reached its bootstrap end (see bootstrap_end_).
  bool Bootstrapping();
  Status RestoreTime();
  // Reads and processes up to `budget` records of input `i`.
  Status ProcessInput(size_t i, size_t budget, size_t* consumed);
  // Event time after a batch: input idleness/end, the watermark advance (windows close), and
  // watermark markers to the internal topics this task writes.
  Status AdvanceTime();
  // Send and SendTombstone: a null value is a tombstone.
  Status SendRecord(int topic_index, std::string_view key, std::optional<std::string_view> value,
                    Timestamp ts);

  TaskId id_;
  const Topology& topology_;
  const Plan& plan_;
  const JobOptions& options_;
  Log* log_;
  StateDb* db_;
  LocalExchange* exchange_;
  std::unique_ptr<TaskGraph> graph_;
  std::vector<std::unique_ptr<TaskStore>> stores_;  // by topology store index (null if not ours)
  std::vector<TaskInput> inputs_;
  // Per input: for a table beside a stream (Topology::IsTableBesideStream), the partition's end
  // when the task started; -1 for other inputs. Until every table input has read that far the
  // task reads only its tables (Bootstrapping), so a stream-table join never sees a table that
  // is still loading, whatever the order the inputs were declared in.
  std::vector<int64_t> bootstrap_end_;
  bool bootstrapped_ = false;
  TaskOutputs outputs_;
  Outbox outbox_;
  Committer committer_;
  std::vector<int> watermark_sinks_;  // this stage's sink topics that carry its watermark
  std::atomic<int64_t> records_in_{0};
  // Per input (same index as inputs_): records processed, for input_stats.
  std::unique_ptr<std::atomic<int64_t>[]> records_in_by_input_;
  std::atomic<int64_t> late_{0};
  LatencyHistogram* commit_latency_ = nullptr;
  std::unique_ptr<TaskTime> time_;
};

}  // namespace sluice
