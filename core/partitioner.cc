#include "core/partitioner.h"

namespace sluice {

int32_t Murmur2(std::string_view data) {
  // Unsigned arithmetic gives Java's wrapping int semantics; >>> is a logical shift.
  const uint32_t m = 0x5bd1e995u;
  const int r = 24;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const uint32_t length = static_cast<uint32_t>(data.size());
  uint32_t h = 0x9747b28cu ^ length;
  const uint32_t length4 = length / 4;
  for (uint32_t i = 0; i < length4; ++i) {
    const uint32_t i4 = i * 4;
    uint32_t k =
        p[i4] | (p[i4 + 1] << 8) | (p[i4 + 2] << 16) | (static_cast<uint32_t>(p[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(p[tail + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(p[tail + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= p[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

PartitionId PartitionForKey(std::string_view key, int32_t partitions) {
  uint32_t positive = static_cast<uint32_t>(Murmur2(key)) & 0x7fffffffu;
  return PartitionId(static_cast<int32_t>(positive % static_cast<uint32_t>(partitions)));
}

}  // namespace sluice
