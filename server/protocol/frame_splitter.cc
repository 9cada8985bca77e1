#include "server/protocol/frame_splitter.h"

#include "core/varint.h"

namespace sluice::kafka {

void FrameSplitter::Append(std::string_view bytes) {
  if (!error_.ok()) return;
  // Drop consumed bytes before growing, so the buffer stays near one frame.
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= buf_.size() / 2)) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

Result<std::optional<std::string>> FrameSplitter::Next() {
  if (!error_.ok()) return error_;
  size_t avail = buf_.size() - pos_;
  if (avail < 4) return std::optional<std::string>();
  int32_t size = static_cast<int32_t>(varint::GetBE32(buf_.data() + pos_));
  if (size <= 0 || size > max_frame_bytes_) {
    error_ = InvalidArgument(
        "Kafka frame size {} is outside 1..{} (socket.request.max.bytes); closing the connection",
        size, max_frame_bytes_);
    return error_;
  }
  if (avail - 4 < static_cast<size_t>(size)) return std::optional<std::string>();
  std::string frame = buf_.substr(pos_ + 4, static_cast<size_t>(size));
  pos_ += 4 + static_cast<size_t>(size);
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
    // Do not keep a large request's buffer for the rest of an idle connection's life.
    if (buf_.capacity() > (1u << 20)) buf_.shrink_to_fit();
  }
  return std::optional<std::string>(std::move(frame));
}

}  // namespace sluice::kafka
