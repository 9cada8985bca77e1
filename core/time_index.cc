#include "core/time_index.h"

#include <algorithm>

#include "core/segment_format.h"
#include "core/varint.h"

namespace sluice {

void TimeIndex::Add(int64_t timestamp, uint32_t relative_offset) {
  SLUICE_CHECK(entries_.empty() || (timestamp > entries_.back().timestamp &&
                                    relative_offset >= entries_.back().relative_offset));
  entries_.push_back({timestamp, relative_offset});
}

uint32_t TimeIndex::LookupBefore(int64_t timestamp) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), timestamp,
                             [](const Entry& e, int64_t t) { return e.timestamp < t; });
  if (it == entries_.begin()) return 0;
  return std::prev(it)->relative_offset;
}

void TimeIndex::TruncateToOffset(uint32_t relative_offset) {
  while (!entries_.empty() && entries_.back().relative_offset >= relative_offset) {
    entries_.pop_back();
  }
}

std::string TimeIndex::Encode() const {
  std::string out(entries_.size() * segment_format::kTimeIndexEntrySize, '\0');
  char* p = out.data();
  for (const Entry& e : entries_) {
    varint::PutBE64(p, static_cast<uint64_t>(e.timestamp));
    varint::PutBE32(p + 8, e.relative_offset);
    p += segment_format::kTimeIndexEntrySize;
  }
  return out;
}

Result<TimeIndex> TimeIndex::Decode(std::string_view bytes, int64_t max_relative_offset) {
  constexpr size_t kEntry = segment_format::kTimeIndexEntrySize;
  if (bytes.size() % kEntry != 0) {
    return Corruption("time index has {} bytes, not a multiple of the {}-byte entry size",
                      bytes.size(), kEntry);
  }
  TimeIndex index;
  index.entries_.reserve(bytes.size() / kEntry);
  for (size_t i = 0; i < bytes.size(); i += kEntry) {
    Entry e{static_cast<int64_t>(varint::GetBE64(bytes.data() + i)),
            varint::GetBE32(bytes.data() + i + 8)};
    if (static_cast<int64_t>(e.relative_offset) > max_relative_offset) {
      return Corruption("time index entry {} points at relative offset {}, past the log end",
                        i / kEntry, e.relative_offset);
    }
    if (!index.entries_.empty() && (e.timestamp <= index.entries_.back().timestamp ||
                                    e.relative_offset < index.entries_.back().relative_offset)) {
      return Corruption("time index entry {} is not greater than the one before it", i / kEntry);
    }
    index.entries_.push_back(e);
  }
  return index;
}

}  // namespace sluice
