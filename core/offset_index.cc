#include "core/offset_index.h"

#include <algorithm>

#include "core/segment_format.h"
#include "core/varint.h"

namespace sluice {

void OffsetIndex::Add(uint32_t relative_offset, uint32_t position) {
  SLUICE_CHECK(entries_.empty() || (relative_offset > entries_.back().relative_offset &&
                                    position > entries_.back().position));
  entries_.push_back({relative_offset, position});
}

uint32_t OffsetIndex::Lookup(uint32_t relative_offset) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), relative_offset,
                             [](uint32_t r, const Entry& e) { return r < e.relative_offset; });
  if (it == entries_.begin()) return 0;
  return std::prev(it)->position;
}

void OffsetIndex::TruncateToPosition(uint32_t position) {
  while (!entries_.empty() && entries_.back().position >= position) entries_.pop_back();
}

std::string OffsetIndex::Encode() const {
  std::string out(entries_.size() * segment_format::kOffsetIndexEntrySize, '\0');
  char* p = out.data();
  for (const Entry& e : entries_) {
    varint::PutBE32(p, e.relative_offset);
    varint::PutBE32(p + 4, e.position);
    p += segment_format::kOffsetIndexEntrySize;
  }
  return out;
}

Result<OffsetIndex> OffsetIndex::Decode(std::string_view bytes, uint64_t log_size) {
  constexpr size_t kEntry = segment_format::kOffsetIndexEntrySize;
  if (bytes.size() % kEntry != 0) {
    return Corruption("offset index has {} bytes, not a multiple of the {}-byte entry size",
                      bytes.size(), kEntry);
  }
  OffsetIndex index;
  index.entries_.reserve(bytes.size() / kEntry);
  for (size_t i = 0; i < bytes.size(); i += kEntry) {
    Entry e{varint::GetBE32(bytes.data() + i), varint::GetBE32(bytes.data() + i + 4)};
    if (e.position >= log_size) {
      return Corruption("offset index entry {} points at byte {}, past the end of the log ({})",
                        i / kEntry, e.position, log_size);
    }
    if (!index.entries_.empty() && (e.relative_offset <= index.entries_.back().relative_offset ||
                                    e.position <= index.entries_.back().position)) {
      return Corruption("offset index entry {} is not greater than the one before it", i / kEntry);
    }
    index.entries_.push_back(e);
  }
  return index;
}

}  // namespace sluice
