// ZigZag varints as Kafka's record format uses them (protobuf-style base-128, little-endian
// groups, sign folded by ZigZag), and big-endian fixed-width helpers.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sluice::varint {

// Writes v at p (room for 10 bytes needed); returns the byte after it.
inline char* EncodeVarlong(char* p, int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (u >= 0x80) {
    *p++ = static_cast<char>(u | 0x80);
    u >>= 7;
  }
  *p++ = static_cast<char>(u);
  return p;
}
inline void PutVarlong(std::string* out, int64_t v) {
  char buf[10];
  out->append(buf, EncodeVarlong(buf, v) - buf);
}
inline void PutVarint(std::string* out, int32_t v) { PutVarlong(out, v); }

inline int VarlongSize(int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  int n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}

// Decodes a zigzag varlong from [*p, end). Returns false (and leaves *p) when the bytes run out
// or the encoding is longer than `max_bytes` (5 for VARINT, 10 for VARLONG).
inline bool GetVarlong(const char** p, const char* end, int64_t* v, int max_bytes = 10) {
  uint64_t result = 0;
  const char* q = *p;
  if (q < end && !(static_cast<uint8_t>(*q) & 0x80)) {  // one byte: most lengths and deltas
    result = static_cast<uint8_t>(*q);
    *v = static_cast<int64_t>(result >> 1) ^ -static_cast<int64_t>(result & 1);
    *p = q + 1;
    return true;
  }
  for (int shift = 0, i = 0; i < max_bytes; ++i, shift += 7) {
    if (q >= end) return false;
    uint8_t b = static_cast<uint8_t>(*q++);
    result |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      *v = static_cast<int64_t>(result >> 1) ^ -static_cast<int64_t>(result & 1);
      *p = q;
      return true;
    }
  }
  return false;
}
inline bool GetVarint(const char** p, const char* end, int32_t* v) {
  int64_t x;
  if (!GetVarlong(p, end, &x, 5)) return false;
  if (x < INT32_MIN || x > INT32_MAX) return false;
  *v = static_cast<int32_t>(x);
  return true;
}

// Big-endian fixed-width.
inline void PutBE16(char* p, uint16_t v) {
  p[0] = char(v >> 8);
  p[1] = char(v);
}
inline void PutBE32(char* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}
inline void PutBE64(char* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}
inline uint16_t GetBE16(const char* p) {
  return static_cast<uint16_t>((uint8_t(p[0]) << 8) | uint8_t(p[1]));
}
inline uint32_t GetBE32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline uint64_t GetBE64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

}  // namespace sluice::varint
