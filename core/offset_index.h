// OffsetIndex: the sparse map from offset to byte position inside one segment, kept in memory
// and persisted as the segment's `.index` file (format in core/README.md, "Indexes").
//
// An entry (relative offset r, position p) says: the batch whose base offset is base + r starts at
// byte p. Entries are strictly increasing in both fields. Not thread-safe: Segment guards it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

class OffsetIndex {
 public:
  struct Entry {
    uint32_t relative_offset;
    uint32_t position;
  };

  // Adds an entry. REQUIRES: both fields greater than the last entry's.
  void Add(uint32_t relative_offset, uint32_t position);
  // Position of the last entry whose relative offset is <= `relative_offset`; 0 if none.
  uint32_t Lookup(uint32_t relative_offset) const;
  // Drops entries at or past `position` (after the log was truncated there).
  void TruncateToPosition(uint32_t position);
  void Clear() { entries_.clear(); }

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const Entry& back() const { return entries_.back(); }
  const Entry& entry(size_t i) const { return entries_[i]; }

  std::string Encode() const;
  // Decodes an `.index` file and checks it against the segment: size a multiple of the entry
  // size, entries strictly increasing, positions below `log_size`. kCorruption says which.
  static Result<OffsetIndex> Decode(std::string_view bytes, uint64_t log_size);

 private:
  std::vector<Entry> entries_;
};

}  // namespace sluice
