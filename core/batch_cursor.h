// BatchCursor: walks a byte buffer of concatenated RecordBatch v2 batches (a segment file's
// bytes, a Partition::Read result, a Produce request's records) one whole batch at a time.
//
// It frames batches by their length field and stops for good at the first byte that does not
// begin a whole, well-framed batch. Then valid_bytes() is the length of the whole batches before
// that byte, and stop() says why it stopped:
//   kEnd        the buffer ended exactly after a batch (or was empty): nothing is wrong;
//   kPartial    the buffer ends inside a batch: fewer than 12 bytes are left, or the length field
//               runs past the end. A torn write at the end of a file, or a read that cut the last
//               batch; a caller reading a file in chunks reads again from valid_bytes(), and one
//               that holds everything calls it a torn tail;
//   kMalformed  the length field is impossible (below the header size or above kMaxBatchBytes)
//               or the magic byte is not 2: garbage.
// status() turns a stop into a kCorruption that says why (OK for kEnd).
//
// The cursor only frames: it checks neither CRCs nor records (RecordBatchView::Validate and
// ValidatedBatch do), nor offsets (core/offset_rule.h). Not thread-safe; cheap to copy; does not
// own the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/record_batch.h"
#include "core/status.h"

namespace sluice {

class BatchCursor {
 public:
  enum class Stop { kNone, kEnd, kPartial, kMalformed };

  BatchCursor() = default;
  explicit BatchCursor(std::string_view bytes) : bytes_(bytes) {}

  // Frames the batch at the cursor into *batch and moves past it. Returns false, and sets stop(),
  // when no whole batch starts there; it stays stopped.
  bool Next(RecordBatchView* batch);

  // Bytes of the whole batches before the cursor.
  size_t valid_bytes() const { return pos_; }
  // The bytes from the cursor on.
  std::string_view rest() const { return bytes_.substr(pos_); }
  bool done() const { return stop_ != Stop::kNone; }
  Stop stop() const { return stop_; }
  // For kPartial: the size of the batch that did not fit, 0 if its length field was cut too.
  int64_t partial_batch_bytes() const { return partial_size_; }
  // OK for kNone and kEnd; otherwise kCorruption saying why the cursor stopped.
  Status status() const;

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
  Stop stop_ = Stop::kNone;
  int64_t partial_size_ = 0;
  bool bad_magic_ = false;  // kMalformed by the magic byte (else by the length field)
  int magic_ = 0;
};

}  // namespace sluice
