// FrameSplitter: cuts a TCP byte stream into Kafka frames (INT32 size + size bytes).
//
// A size prefix that is negative, zero or above max_frame_bytes is rejected as soon as its 4
// bytes arrive, before any body byte is buffered; the buffer only ever holds bytes that actually
// arrived (never a claimed size), so a lying prefix cannot make it allocate.
//
// Thread safety: none (one per connection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::kafka {

class FrameSplitter {
 public:
  explicit FrameSplitter(int32_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // Adds received bytes.
  void Append(std::string_view bytes);
  // The next whole frame without its size prefix, or nullopt when more bytes are needed.
  // kInvalidArgument for a bad size prefix (the connection must be closed; the splitter stays
  // failed).
  Result<std::optional<std::string>> Next();

  // Bytes received but not yet returned as a frame.
  size_t buffered() const { return buf_.size() - pos_; }
  // True when part of a frame (or of its size prefix) has arrived.
  bool in_frame() const { return buffered() > 0; }
  int32_t max_frame_bytes() const { return max_frame_bytes_; }

 private:
  int32_t max_frame_bytes_;
  std::string buf_;
  size_t pos_ = 0;
  Status error_;
};

}  // namespace sluice::kafka
