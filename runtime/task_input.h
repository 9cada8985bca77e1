// TaskInput: one input partition of a StreamTask — where the task reads next, how far it may read,
// and the records it has fetched but not yet processed.
//
// A log input reads through core's PartitionReader: whole batches into a read-ahead (about one
// producer batch per read), handed to the task across several calls (a batch can hold far more
// records than one call's budget; the reader keeps the place inside it). A repartition
// (internal) topic is read only below its synced offset, an external one below its high
// watermark, and an until_end input stops at the end it had when the job started.
//
// A local input (Exchange::kLocal) has no partition: it takes the batches the previous stage
// pushed to the LocalExchange and processes them whole, freeing each as soon as it is done.
//
// Not thread-safe: owned by one StreamTask, which the executor runs on one thread at a time.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/partition.h"
#include "core/partition_reader.h"
#include "core/record_batch.h"
#include "core/status.h"
#include "runtime/failpoint.h"
#include "runtime/local_exchange.h"

namespace sluice {

class TaskInput {
 public:
  // A log input: partition `partition_id` of topic `name` — the task's own partition, or any
  // partition of a global table's topic (`global`). `end`: the until_end bound, -1 for none.
  // `partition` is not owned and outlives the input.
  TaskInput(int topic, std::string name, bool internal, Partition* partition, int64_t end,
            int32_t partition_id, bool global = false);
  // A local input, read from `exchange` (not owned; outlives the input).
  TaskInput(int topic, std::string name, LocalExchange* exchange, int32_t task_partition);

  int topic() const { return topic_; }               // topology topic index
  const std::string& name() const { return name_; }  // log topic name
  bool internal() const { return internal_; }
  bool local() const { return local_; }
  Partition* partition() const { return partition_; }  // null for a local input
  // The partition of the topic this input reads (for a local input: the task's).
  int32_t partition_id() const { return partition_id_; }
  // A partition of a global table's topic: checkpointed with the task, never mirrored to the
  // group offsets (every task of the stage reads it), always started from the log start.
  bool global() const { return global_; }
  // Next offset to read (log inputs).
  int64_t position() const { return local_ ? 0 : reader_->position().value(); }
  // Moves the read position (recovery, before the first read); drops any read-ahead.
  void Seek(int64_t position);

  // Where reading stops for now: the synced offset for a repartition topic, else the HW.
  int64_t ReadLimit() const;
  // Nothing to read now (a local input: its taken batches are all processed).
  bool CaughtUp() const;
  // An until_end external input at its end.
  bool Ended() const;
  // Read up to its until_end bound, or else up to ReadLimit (log inputs; local ones: true).
  bool AtEnd() const;
  // A local input with batches queued in the exchange or taken but not yet processed.
  bool HasQueued() const;
  // Records of an external input not yet read.
  int64_t Lag() const;

  // Runs up to `budget` records through `process` and sets *consumed to the number of records
  // (watermark markers not counted). `begin_batch()` runs once before the first record.
  // `process(rec, &record, where)` handles one record, sets `record` unless it was a watermark
  // marker, and uses `where()` (a description of the record) for its error context.
  // `task_partition` names the partition of a local input in error messages.
  template <typename BeginBatch, typename Process>
  Status ProcessRecords(size_t budget, int32_t task_partition, size_t* consumed,
                        BeginBatch&& begin_batch, Process&& process);

 private:
  // Reads the next batches from the position if the read-ahead is used up.
  Status Fill(int32_t task_partition);

  int topic_;
  std::string name_;
  bool internal_ = false;
  bool local_ = false;
  Partition* partition_ = nullptr;
  int32_t partition_id_ = 0;
  bool global_ = false;
  // Log inputs: the position and read-ahead (a PartitionReader can be neither copied nor moved).
  std::unique_ptr<PartitionReader> reader_;
  int64_t end_ = -1;  // until_end bound for external topics; -1 none
  // Local inputs: batches taken from the exchange, processed from queued_[queued_next_].
  LocalExchange* exchange_ = nullptr;
  int32_t exchange_partition_ = 0;
  std::vector<std::string> queued_;
  size_t queued_next_ = 0;
};

template <typename BeginBatch, typename Process>
Status TaskInput::ProcessRecords(size_t budget, int32_t task_partition, size_t* consumed,
                                 BeginBatch&& begin_batch, Process&& process) {
  *consumed = 0;
  if (local_) {
    if (queued_next_ == queued_.size()) {
      queued_.clear();
      queued_next_ = 0;
      exchange_->TakeAll(topic_, exchange_partition_, &queued_);
    }
    begin_batch();
    while (*consumed < budget && queued_next_ < queued_.size()) {
      SLUICE_ASSIGN_OR_RETURN(RecordBatchView batch, RecordBatchView::Parse(queued_[queued_next_]));
      RecordBatchView::Cursor cursor;
      RecordView rec;
      while (!batch.AtEnd(cursor)) {
        SLUICE_RETURN_IF_ERROR(batch.Next(&cursor, &rec));
        bool record = false;
        SLUICE_RETURN_IF_ERROR(process(rec, &record, [&] {
          return fmt::format("record for '{}' partition {} (in-memory exchange)", name_,
                             task_partition);
        }));
        if (record) ++*consumed;
      }
      std::string().swap(queued_[queued_next_++]);  // processed: free it now
    }
    return Status::Ok();
  }

  const int64_t limit = end_ >= 0 ? std::min(end_, ReadLimit()) : ReadLimit();
  if (reader_->position().value() >= limit) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(Fill(task_partition));
  begin_batch();
  RecordView rec;
  while (*consumed < budget) {
    SLUICE_ASSIGN_OR_RETURN(bool got, reader_->NextBuffered(&rec, Offset(limit)));
    if (!got) break;
    bool record = false;
    Status s = process(rec, &record, [&] {
      return fmt::format("record at offset {} of '{}' partition {}", rec.offset.value(), name_,
                         partition_id_);
    });
    if (!s.ok()) {
      reader_->Seek(rec.offset);  // not processed: it stays next
      return s;
    }
    if (record) ++*consumed;
  }
  return Status::Ok();
}

}  // namespace sluice
