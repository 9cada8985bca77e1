#include "core/partition_reader.h"

#include <algorithm>

namespace sluice {

PartitionReader::PartitionReader(const Partition* partition, Offset position, size_t read_bytes)
    : partition_(partition), read_bytes_(read_bytes), position_(position) {}

void PartitionReader::Seek(Offset offset) {
  position_ = offset;
  cursor_ = BatchCursor();
  in_batch_ = false;
  left_ = 0;
}

Status PartitionReader::Fill() {
  if (!Drained()) return Status::Ok();
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
    if (!Drained() || position_ >= limit || position_ >= partition_->high_watermark()) {
      return false;
    }
    SLUICE_RETURN_IF_ERROR(Fill());
    if (Drained()) return false;  // nothing to read after all
  }
}

}  // namespace sluice
