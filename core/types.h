// Strong types for the log's coordinates: offsets, partitions and timestamps are not
// interchangeable integers.
#pragma once

#include <fmt/format.h>

#include <compare>
#include <cstdint>
#include <functional>

namespace sluice {

// A tagged integer: explicit construction, comparison, and only the arithmetic that makes sense.
template <typename Tag, typename Rep>
class StrongInt {
 public:
  using rep = Rep;
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(Rep v) : v_(v) {}
  constexpr Rep value() const { return v_; }
  constexpr auto operator<=>(const StrongInt&) const = default;
  constexpr StrongInt operator+(Rep d) const { return StrongInt(v_ + d); }
  constexpr StrongInt operator-(Rep d) const { return StrongInt(v_ - d); }
  constexpr Rep operator-(StrongInt o) const { return v_ - o.v_; }
  constexpr StrongInt& operator+=(Rep d) {
    v_ += d;
    return *this;
  }
  constexpr StrongInt& operator++() {
    ++v_;
    return *this;
  }

 private:
  Rep v_{};
};

struct OffsetTag {};
struct PartitionTag {};
struct TimestampTag {};

// Position of a record in a partition: from 0, strictly increasing (core/offset_rule.h).
using Offset = StrongInt<OffsetTag, int64_t>;
// Partition number within a topic, from 0.
using PartitionId = StrongInt<PartitionTag, int32_t>;
// Milliseconds since the Unix epoch.
using Timestamp = StrongInt<TimestampTag, int64_t>;

inline constexpr Timestamp kNoTimestamp{-1};

// What a reader sees of transactions (Kafka's isolation.level): every record below the high
// watermark, or only those of committed transactions and non-transactional ones, below the last
// stable offset.
enum class Isolation { kReadUncommitted, kReadCommitted };

// Current wall-clock time in epoch milliseconds.
Timestamp Now();

}  // namespace sluice

template <typename Tag, typename Rep>
struct fmt::formatter<sluice::StrongInt<Tag, Rep>> : fmt::formatter<Rep> {
  auto format(sluice::StrongInt<Tag, Rep> v, format_context& ctx) const {
    return fmt::formatter<Rep>::format(v.value(), ctx);
  }
};

template <typename Tag, typename Rep>
struct std::hash<sluice::StrongInt<Tag, Rep>> {
  size_t operator()(sluice::StrongInt<Tag, Rep> v) const { return std::hash<Rep>()(v.value()); }
};
