#include "core/crc32c.h"

#include <array>
#include <cstring>

namespace sluice::crc32c {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;

// 8 tables of 256 entries for slicing-by-8 in the portable path.
struct Tables {
  uint32_t t[8][256];
  constexpr Tables() : t{} {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
    }
  }
};
constexpr Tables kTables;

uint32_t ExtendPortable(uint32_t c, const uint8_t* p, size_t n) {
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    w ^= c;
    c = kTables.t[7][w & 0xFF] ^ kTables.t[6][(w >> 8) & 0xFF] ^ kTables.t[5][(w >> 16) & 0xFF] ^
        kTables.t[4][(w >> 24) & 0xFF] ^ kTables.t[3][(w >> 32) & 0xFF] ^
        kTables.t[2][(w >> 40) & 0xFF] ^ kTables.t[1][(w >> 48) & 0xFF] ^ kTables.t[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) c = kTables.t[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t ExtendHw(uint32_t c, const uint8_t* p, size_t n) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c64 = __builtin_ia32_crc32di(c64, w);
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (n--) c = __builtin_ia32_crc32qi(c, *p++);
  return c;
}
const bool kHasHw = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

uint32_t Extend(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = crc ^ 0xFFFFFFFFu;
#if defined(__x86_64__)
  if (kHasHw) return ExtendHw(c, p, n) ^ 0xFFFFFFFFu;
#endif
  return ExtendPortable(c, p, n) ^ 0xFFFFFFFFu;
}

}  // namespace sluice::crc32c
