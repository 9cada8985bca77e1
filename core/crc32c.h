// CRC-32C (Castagnoli), as Kafka's RecordBatch v2 uses it: reflected polynomial 0x82F63B78,
// init 0xFFFFFFFF, final XOR 0xFFFFFFFF. Uses the SSE4.2 instruction when the CPU has it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::crc32c {

// Extends `crc` (a finished CRC of earlier bytes, or 0 to start) over `data`.
uint32_t Extend(uint32_t crc, const void* data, size_t n);
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

}  // namespace sluice::crc32c
