// Windows (the specification of a windowing) and WindowResult (what a window emits). The
// operators are in operators/windows.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sluice {

struct Windows {
  enum class Kind { kTumbling, kHopping, kSession };
  Kind kind = Kind::kTumbling;
  int64_t size_ms = 0;     // time windows
  int64_t advance_ms = 0;  // time windows: = size for tumbling
  int64_t gap_ms = 0;      // sessions: inactivity gap
  int64_t grace_ms = 0;    // how long after its end a window still accepts records
  bool emit_updates = false;
  std::string late_topic;  // where late records go ("" = counted only)

  // Fixed, non-overlapping windows [k*size, (k+1)*size).
  static Windows Tumbling(std::chrono::milliseconds size);
  // Windows of `size` starting every `advance` (a record is in size/advance of them).
  static Windows Hopping(std::chrono::milliseconds size, std::chrono::milliseconds advance);
  // Per-key sessions closed by `gap` of inactivity.
  static Windows Session(std::chrono::milliseconds gap);

  Windows Grace(std::chrono::milliseconds grace) const;
  Windows EmitEveryUpdate() const;
  Windows LateRecordsTo(std::string topic) const;

  // Empty when valid, else what is wrong and what to do.
  std::string Validate() const;
  // The close time (end + grace) of the time window starting at `start`.
  int64_t CloseOf(int64_t start) const { return start + size_ms + grace_ms; }
};

template <typename A>
struct WindowResult {
  int64_t start = 0;  // epoch ms, inclusive
  int64_t end = 0;    // epoch ms: exclusive for time windows, the last event for sessions
  A value{};
  bool operator==(const WindowResult&) const = default;
};

}  // namespace sluice
