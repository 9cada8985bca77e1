// TimeIndex: the sparse map from timestamp to offset inside one segment, kept in memory and
// persisted as the segment's `.timeindex` file (format in core/README.md, "Indexes").
//
// An entry (t, r) says: the batch with base offset base + r is the first whose max timestamp
// reached t; every earlier batch of the segment has a max timestamp below t. Timestamps strictly
// increase along the entries, and when a segment is sealed its last entry holds the segment's
// largest timestamp. Not thread-safe: Segment guards it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

class TimeIndex {
 public:
  struct Entry {
    int64_t timestamp;
    uint32_t relative_offset;
  };

  // Adds an entry. REQUIRES: timestamp greater, relative offset not smaller than the last's.
  void Add(int64_t timestamp, uint32_t relative_offset);
  // Relative offset of the last entry whose timestamp is < `timestamp` (where a scan for the
  // first batch reaching `timestamp` may start); 0 if none.
  uint32_t LookupBefore(int64_t timestamp) const;
  // Drops entries whose relative offset is >= `relative_offset`.
  void TruncateToOffset(uint32_t relative_offset);
  void Clear() { entries_.clear(); }

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const Entry& back() const { return entries_.back(); }

  std::string Encode() const;
  // Decodes a `.timeindex` file: size a multiple of the entry size, timestamps strictly
  // increasing, offsets non-decreasing and below `max_relative_offset`.
  static Result<TimeIndex> Decode(std::string_view bytes, int64_t max_relative_offset);

 private:
  std::vector<Entry> entries_;
};

}  // namespace sluice
