// Byte scanning shared by the examples' JSON reader and writer (examples/json_reader.cc,
// examples/json.cc): character classes, word-at-a-time searches, numbers. Internal to them.
#pragma once

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace sluice::json_scan {

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Word-at-a-time byte tests (exact as yes/no answers): whether some byte of w is zero, equals c,
// or is below n (n <= 128).
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;
inline uint64_t HasZero(uint64_t w) { return (w - kOnes) & ~w & kHighs; }
inline uint64_t HasByte(uint64_t w, unsigned char c) { return HasZero(w ^ (kOnes * c)); }
inline uint64_t HasLess(uint64_t w, unsigned char n) { return (w - kOnes * n) & ~w & kHighs; }
inline uint64_t Load64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  return w;
}

// The byte of p at the lowest flag of a match mask (bit 7 of each matching byte). The lowest
// flag is always a true match: the tests above only over-report bytes above a true match.
inline const char* AtFirstMatch(const char* p, uint64_t mask) {
  if constexpr (std::endian::native == std::endian::little) {
    return p + (std::countr_zero(mask) >> 3);
  } else {
    return p + (std::countl_zero(mask) >> 3);
  }
}

// The first '"' or '\\' in [p, end), or end.
inline const char* FindQuoteOrBackslash(const char* p, const char* end) {
  while (end - p >= 8) {
    uint64_t w = Load64(p);
    uint64_t m = HasByte(w, '"') | HasByte(w, '\\');
    if (m != 0) return AtFirstMatch(p, m);
    p += 8;
  }
  while (p < end && *p != '"' && *p != '\\') ++p;
  return p;
}

// The first byte of [p, end) that a JSON string must escape ('"', '\\', control), or end.
inline const char* FindEscape(const char* p, const char* end) {
  while (end - p >= 8) {
    uint64_t w = Load64(p);
    uint64_t m = HasByte(w, '"') | HasByte(w, '\\') | HasLess(w, 0x20);
    if (m != 0) return AtFirstMatch(p, m);
    p += 8;
  }
  while (p < end && static_cast<unsigned char>(*p) >= 0x20 && *p != '"' && *p != '\\') ++p;
  return p;
}

// from_chars for an int64 that must take all of t, with a fast path for up to 18 plain digits.
inline bool ParseInt64(std::string_view t, int64_t* v) {
  size_t i = t.size() > 0 && t[0] == '-' ? 1 : 0;
  if (t.size() > i && t.size() - i <= 18) {
    int64_t x = 0;
    size_t j = i;
    for (; j < t.size() && IsDigit(t[j]); ++j) x = x * 10 + (t[j] - '0');
    if (j == t.size()) {
      *v = i == 1 ? -x : x;
      return true;
    }
  }
  const char* end = t.data() + t.size();
  auto r = std::from_chars(t.data(), end, *v);
  return r.ec == std::errc() && r.ptr == end;
}

// The end of the number in JSON's grammar that starts at p, or nullptr if none starts there.
inline const char* ScanJsonNumber(const char* p, const char* end) {
  if (p < end && *p == '-') ++p;
  if (p >= end || !IsDigit(*p)) return nullptr;
  if (*p == '0') {
    ++p;
  } else {
    while (p < end && IsDigit(*p)) ++p;
  }
  if (p < end && *p == '.') {
    ++p;
    if (p >= end || !IsDigit(*p)) return nullptr;
    while (p < end && IsDigit(*p)) ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p >= end || !IsDigit(*p)) return nullptr;
    while (p < end && IsDigit(*p)) ++p;
  }
  return p;
}

// a == b, for the short member names (a loop beats a call to memcmp).
inline bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace sluice::json_scan
