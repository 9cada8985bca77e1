#include "core/partition_reader.h"

#include <algorithm>

namespace sluice {

PartitionReader::PartitionReader(const Partition* partition, Offset position, size_t read_bytes,
                                 Isolation isolation)
    : partition_(partition), read_bytes_(read_bytes), isolation_(isolation), position_(position) {
  if (isolation_ == Isolation::kReadCommitted) stable_ = Offset(0);  // taken at the first Fill
}

void PartitionReader::TakeStable() {
  if (isolation_ != Isolation::kReadCommitted) return;
  // The LSO first: every aborted transaction with data below it has its marker in the index.
  Offset lso = partition_->last_stable_offset();
  if (lso == stable_) return;
  stable_ = lso;
  aborted_ = partition_->AbortedTransactions(position_, stable_);
}

bool PartitionReader::Aborted(const RecordBatchView& batch) const {
  const int64_t pid = batch.producer_id();
  const Offset at = batch.base_offset();
  for (const AbortedTxn& a : aborted_) {
    if (a.producer_id == pid && a.first_offset <= at && at <= a.last_offset) return true;
  }
  return false;
}

void PartitionReader::Seek(Offset offset) {
  position_ = offset;
  cursor_ = BatchCursor();
  in_batch_ = false;
  left_ = 0;
  inflated_.clear();
}

Status PartitionReader::Fill() {
  // A read_committed reader looks at the LSO again (a marker may have moved it), also when it
  // still holds records that were at or past it.
  TakeStable();
  if (!Drained()) return Status::Ok();
  inflated_.clear();
  SLUICE_RETURN_IF_ERROR(partition_->ReadInto(position_, read_bytes_, &read_));
  cursor_ = BatchCursor(read_.data);
  return Status::Ok();
}

void PartitionReader::FinishBatch() {
  in_batch_ = false;
  left_ = 0;
  position_ = std::max(position_, batch_.last_offset() + 1);
}

Result<bool> PartitionReader::NextBufferedSlow(RecordView* rec, Offset limit) {
  while (true) {
    if (!in_batch_) {
      if (!cursor_.Next(&batch_)) {
        // Reads return whole CRC-checked batches, so anything but a clean end is damage.
        if (cursor_.stop() == BatchCursor::Stop::kEnd) return false;
        return cursor_.status().WithContext(fmt::format(
            "reading {}-{} at offset {}", partition_->topic(), partition_->id(), position_));
      }
      in_batch_ = true;
      record_ = {};
    }
    if (batch_.base_offset() >= limit) return false;
    if (batch_.last_offset() < position_ || Skips(batch_)) {
      FinishBatch();
      continue;
    }
    if (batch_.compression() != 0) {
      // Decompressed once: from here on batch_ is its uncompressed equivalent.
      auto plain = batch_.Decompressed(&inflated_.emplace_back());
      if (!plain.ok()) {
        inflated_.pop_back();
        return plain.status().WithContext(
            fmt::format("reading {}-{}", partition_->topic(), partition_->id()));
      }
      batch_ = *plain;
    }
    while (!batch_.AtEnd(record_)) {
      const RecordBatchView::Cursor at = record_;
      SLUICE_RETURN_IF_ERROR(batch_.Next(&record_, rec));
      if (rec->offset < position_) continue;
      left_ = batch_.record_count() - record_.index;  // what follows takes the fast path
      if (rec->offset >= limit) {
        record_ = at;  // not taken: it stays next
        ++left_;
        return false;
      }
      position_ = rec->offset + 1;
      return true;
    }
    FinishBatch();
  }
}

Result<bool> PartitionReader::Next(RecordView* rec, Offset limit) {
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(bool got, NextBuffered(rec, limit));
    if (got) return true;
    if (isolation_ == Isolation::kReadCommitted && position_ >= stable_ && position_ < limit) {
      const Offset before = stable_;
      TakeStable();
      if (stable_ != before) continue;  // the LSO moved: what waited may be readable now
    }
    if (!Drained() || position_ >= limit || position_ >= end_offset()) return false;
    SLUICE_RETURN_IF_ERROR(Fill());
    if (Drained()) return false;  // nothing to read after all
  }
}

}  // namespace sluice
