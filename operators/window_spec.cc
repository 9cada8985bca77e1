#include "operators/window_spec.h"

#include <fmt/format.h>

namespace sluice {

Windows Windows::Tumbling(std::chrono::milliseconds size) {
  Windows w;
  w.kind = Kind::kTumbling;
  w.size_ms = w.advance_ms = size.count();
  return w;
}

Windows Windows::Hopping(std::chrono::milliseconds size, std::chrono::milliseconds advance) {
  Windows w;
  w.kind = Kind::kHopping;
  w.size_ms = size.count();
  w.advance_ms = advance.count();
  return w;
}

Windows Windows::Session(std::chrono::milliseconds gap) {
  Windows w;
  w.kind = Kind::kSession;
  w.gap_ms = gap.count();
  return w;
}

Windows Windows::Grace(std::chrono::milliseconds grace) const {
  Windows w = *this;
  w.grace_ms = grace.count();
  return w;
}

Windows Windows::EmitEveryUpdate() const {
  Windows w = *this;
  w.emit_updates = true;
  return w;
}

Windows Windows::LateRecordsTo(std::string topic) const {
  Windows w = *this;
  w.late_topic = std::move(topic);
  return w;
}

std::string Windows::Validate() const {
  if (grace_ms < 0) return fmt::format("grace {} ms is negative; use 0 or more", grace_ms);
  if (kind == Kind::kSession) {
    if (gap_ms <= 0) return fmt::format("session gap {} ms must be positive", gap_ms);
    return "";
  }
  if (size_ms <= 0) return fmt::format("window size {} ms must be positive", size_ms);
  if (advance_ms <= 0 || advance_ms > size_ms) {
    return fmt::format("hop {} ms must be positive and at most the window size {} ms", advance_ms,
                       size_ms);
  }
  if (size_ms / advance_ms > 1000) {
    return fmt::format(
        "window size {} ms / hop {} ms puts each record in more than 1000 "
        "windows; use a larger hop",
        size_ms, advance_ms);
  }
  return "";
}

}  // namespace sluice
