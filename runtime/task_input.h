// TaskInput: one input partition of a StreamTask — where the task reads next, how far it may read,
// and the records it has fetched but not yet processed.
//
// A log input reads whole batches from its Partition into a read-ahead buffer (about one
// producer batch per read) and hands their records to the task across several calls: a batch can
// hold far more records than one call's budget, so a cursor keeps the place inside it. A
// repartition (internal) topic is read only below its synced offset, an external one below its
// high watermark, and an until_end input stops at the end it had when the job started.
//
// A local input (Exchange::kLocal) has no partition: it takes the batches the previous stage
// pushed to the LocalExchange and processes them whole, freeing each as soon as it is done.
//
// ProcessRecords is the only reader of the buffers; a later core partition reader can replace
// the read-ahead here without the task noticing.
//
// Not thread-safe: owned by one StreamTask, which the executor runs on one thread at a time.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/partition.h"
#include "core/record_batch.h"
#include "core/status.h"
#include "runtime/failpoint.h"
#include "runtime/local_exchange.h"

namespace sluice {

class TaskInput {
 public:
  // A log input of `task_partition` (the partition the task reads in every input topic). `end`:
  // the until_end bound, -1 for none. `partition` is not owned and outlives the input.
  TaskInput(int topic, std::string name, bool internal, Partition* partition, int64_t end);
  // A local input, read from `exchange` (not owned; outlives the input).
  TaskInput(int topic, std::string name, LocalExchange* exchange, int32_t task_partition);

  int topic() const { return topic_; }               // topology topic index
  const std::string& name() const { return name_; }  // log topic name
  bool internal() const { return internal_; }
  bool local() const { return local_; }
  Partition* partition() const { return partition_; }  // null for a local input
  // Next offset to read (log inputs).
  int64_t position() const { return position_; }
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
  // REQUIRES: for a log input, task_partition names the partition in error messages.
  template <typename BeginBatch, typename Process>
  Status ProcessRecords(size_t budget, int32_t task_partition, size_t* consumed,
                        BeginBatch&& begin_batch, Process&& process);

 private:
  // Makes read_ hold the batch with position_ (reading if the read-ahead does not).
  Status Fill(int32_t task_partition);

  int topic_;
  std::string name_;
  bool internal_ = false;
  bool local_ = false;
  Partition* partition_ = nullptr;
  int64_t position_ = 0;  // next offset to read
  int64_t end_ = -1;      // until_end bound for external topics; -1 none
  // Local inputs: batches taken from the exchange, processed from queued_[queued_next_].
  LocalExchange* exchange_ = nullptr;
  int32_t exchange_partition_ = 0;
  std::vector<std::string> queued_;
  size_t queued_next_ = 0;
  // Read-ahead: whole batches read from the partition. Valid only while buffered_next_ ==
  // position_: then read_.data[read_pos_..] starts with the batch holding position_ and cursor_
  // points at its next record.
  ReadResult read_;
  size_t read_pos_ = 0;
  RecordBatchView::Cursor cursor_;
  int64_t buffered_next_ = -1;
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

  if (end_ >= 0 && position_ >= end_) return Status::Ok();
  const int64_t limit = ReadLimit();
  if (position_ >= limit) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(Fill(task_partition));
  buffered_next_ = -1;  // re-established below unless an error leaves the cursor unknown
  begin_batch();
  const std::string_view all = read_.data;
  bool at_end = false;
  while (!at_end && *consumed < budget && read_pos_ < all.size()) {
    std::string_view data = all.substr(read_pos_);
    int64_t size = BatchSizeAt(data);
    if (size <= 0 || static_cast<size_t>(size) > data.size()) {
      read_pos_ = all.size();  // a partial tail (cannot happen: reads return whole batches)
      break;
    }
    SLUICE_ASSIGN_OR_RETURN(RecordBatchView batch, RecordBatchView::Parse(data.substr(0, size)));
    if (!batch.is_control() && batch.last_offset().value() >= position_) {
      RecordView rec;
      // The budget bounds records per call even inside one large batch; the cursor keeps the
      // place for the next call.
      while (!batch.AtEnd(cursor_) && *consumed < budget) {
        const RecordBatchView::Cursor at = cursor_;
        SLUICE_RETURN_IF_ERROR(batch.Next(&cursor_, &rec));
        const int64_t off = rec.offset.value();
        if (off < position_) continue;
        if ((end_ >= 0 && off >= end_) || off >= limit) {
          cursor_ = at;  // not taken: the next call starts with this record
          at_end = true;
          break;
        }
        bool record = false;
        SLUICE_RETURN_IF_ERROR(process(rec, &record, [&] {
          return fmt::format("record at offset {} of '{}' partition {}", off, name_,
                             task_partition);
        }));
        position_ = off + 1;
        if (record) ++*consumed;
      }
      if (!batch.AtEnd(cursor_)) break;
    }
    read_pos_ += static_cast<size_t>(size);
    cursor_ = {};
  }
  buffered_next_ = position_;
  return Status::Ok();
}

}  // namespace sluice
