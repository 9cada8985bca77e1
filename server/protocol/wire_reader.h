// WireReader: a bounds-checked reader of Kafka protocol primitives over one request frame.
//
// Every length and count read from the wire is checked against the bytes that remain BEFORE
// anything is allocated (CVE-2022-34917): a string of N bytes needs N bytes left, an array of N
// elements needs N * (smallest encoding of one element) bytes left. Errors are sticky: after the
// first failure every read returns a zero value and ok() stays false, so a decoder can read a
// whole struct and check once. Strings and byte fields are returned as views into the frame.
//
// Thread safety: none (one reader per frame).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice::kafka {

class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  bool ok() const { return error_.empty(); }
  // OK, or kInvalidArgument saying which field failed at which byte.
  Status status() const;
  size_t remaining() const { return ok() ? data_.size() - pos_ : 0; }
  size_t position() const { return pos_; }
  // The unread bytes (empty after an error).
  std::string_view rest() const { return ok() ? data_.substr(pos_) : std::string_view(); }
  // Marks the reader failed (first failure wins).
  void Fail(std::string message);

  int8_t Int8();
  int16_t Int16();
  int32_t Int32();
  int64_t Int64();
  bool Bool() { return Int8() != 0; }
  // UNSIGNED_VARINT, at most 5 bytes, value fits 32 bits.
  uint32_t UnsignedVarint();
  // Zigzag VARINT / VARLONG.
  int32_t Varint();
  int64_t Varlong();

  // STRING: INT16 length >= 0.
  std::string_view String();
  // NULLABLE_STRING: INT16 length, -1 = null.
  std::optional<std::string_view> NullableString();
  // COMPACT_STRING / COMPACT_NULLABLE_STRING: UNSIGNED_VARINT length + 1, 0 = null.
  std::string_view CompactString();
  std::optional<std::string_view> CompactNullableString();
  // BYTES / NULLABLE_BYTES: INT32 length.
  std::string_view Bytes();
  std::optional<std::string_view> NullableBytes();
  std::string_view CompactBytes();
  std::optional<std::string_view> CompactNullableBytes();

  // ARRAY count (INT32). Returns -1 for a null array (an error unless `nullable`). Fails when
  // count * min_element_bytes exceeds the bytes left, so callers may reserve(count) safely.
  int32_t ArrayCount(size_t min_element_bytes, bool nullable = false);
  // COMPACT_ARRAY count (UNSIGNED_VARINT count + 1, 0 = null); same checks.
  int32_t CompactArrayCount(size_t min_element_bytes, bool nullable = false);

  // ArrayCount for an array decoded into std::vector<T>: also charges count * sizeof(T) to the
  // decoded size (below) before the caller allocates.
  template <typename T>
  int32_t ArrayCountOf(size_t min_element_bytes, bool nullable = false) {
    int32_t n = ArrayCount(min_element_bytes, nullable);
    if (n > 0) Charge(static_cast<size_t>(n) * sizeof(T));
    return n;
  }
  // The same for a COMPACT_ARRAY.
  template <typename T>
  int32_t CompactArrayCountOf(size_t min_element_bytes, bool nullable = false) {
    int32_t n = CompactArrayCount(min_element_bytes, nullable);
    if (n > 0) Charge(static_cast<size_t>(n) * sizeof(T));
    return n;
  }
  // ArrayCountOf + resize, for arrays that cannot be null.
  template <typename T>
  void ResizeArray(std::vector<T>& v, size_t min_element_bytes) {
    int32_t n = ArrayCountOf<T>(min_element_bytes);
    if (n > 0) v.resize(static_cast<size_t>(n));
  }

  // TAG_BUFFER: skips every tagged field; fails on descending/duplicate tags or sizes past the end.
  void SkipTaggedFields();

  // Decoded size: an upper bound on what decoding this frame allocates — sizeof(element) for
  // every array element read with ArrayCountOf/ResizeArray plus the bytes of every string and
  // bytes field (their copies). Without this, small wire elements decode into structs many times
  // their size (a Produce topic: 6 bytes on the wire, 56 in memory). Charge fails the reader,
  // before the allocation, once the total passes the limit (default: none).
  void set_decoded_limit(size_t limit) { decoded_limit_ = limit; }
  size_t decoded_bytes() const { return decoded_bytes_; }
  void Charge(size_t n);

 private:
  bool Need(size_t n, const char* what);
  std::optional<std::string_view> LengthPrefixed(int64_t len, bool nullable, const char* what);
  int32_t CheckCount(int64_t count, size_t min_element_bytes, bool nullable, const char* what);

  std::string_view data_;
  size_t pos_ = 0;
  std::string error_;
  size_t decoded_bytes_ = 0;
  size_t decoded_limit_ = SIZE_MAX;
};

}  // namespace sluice::kafka
