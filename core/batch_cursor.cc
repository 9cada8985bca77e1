#include "core/batch_cursor.h"

#include "core/record_batch_format.h"

namespace sluice {

bool BatchCursor::Next(RecordBatchView* batch) {
  if (stop_ != Stop::kNone) return false;
  const std::string_view rest = bytes_.substr(pos_);
  if (rest.empty()) {
    stop_ = Stop::kEnd;
    return false;
  }
  const int64_t size = BatchSizeAt(rest);
  if (size < 0) {
    stop_ = Stop::kMalformed;
    return false;
  }
  if (size == 0 || static_cast<uint64_t>(size) > rest.size()) {
    stop_ = Stop::kPartial;
    partial_size_ = size;
    return false;
  }
  if (rest[batch_format::kMagic] != batch_format::kMagicV2) {
    stop_ = Stop::kMalformed;
    bad_magic_ = true;
    magic_ = static_cast<int>(rest[batch_format::kMagic]);
    return false;
  }
  *batch = RecordBatchView(rest.substr(0, static_cast<size_t>(size)));
  pos_ += static_cast<size_t>(size);
  return true;
}

Status BatchCursor::status() const {
  switch (stop_) {
    case Stop::kNone:
    case Stop::kEnd:
      return Status::Ok();
    case Stop::kPartial:
      if (partial_size_ == 0) {
        return Corruption("{} trailing bytes are too few for a batch header", rest().size());
      }
      return Corruption("a batch of {} bytes runs past the end of the data ({} bytes left)",
                        partial_size_, rest().size());
    case Stop::kMalformed:
      if (bad_magic_) {
        return Corruption("record batch magic {} is not 2 (only RecordBatch v2 is supported)",
                          magic_);
      }
      return Corruption("the batch length field is invalid");
  }
  return Status::Ok();
}

}  // namespace sluice
