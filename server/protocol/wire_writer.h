// WireWriter: appends Kafka protocol primitives (big-endian, length-prefixed) to a buffer.
//
// Thread safety: none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::kafka {

class WireWriter {
 public:
  WireWriter() = default;

  void Int8(int8_t v) { buf_.push_back(static_cast<char>(v)); }
  void Int16(int16_t v);
  void Int32(int32_t v);
  void Int64(int64_t v);
  void Bool(bool v) { Int8(v ? 1 : 0); }
  void UnsignedVarint(uint32_t v);
  void Varint(int32_t v);
  void Varlong(int64_t v);

  void String(std::string_view s);                         // INT16 length
  void NullableString(std::optional<std::string_view> s);  // -1 = null
  void CompactString(std::string_view s);                  // UNSIGNED_VARINT length + 1
  void CompactNullableString(std::optional<std::string_view> s);
  void Bytes(std::string_view b);  // INT32 length
  void NullableBytes(std::optional<std::string_view> b);
  void CompactBytes(std::string_view b);
  void CompactNullableBytes(std::optional<std::string_view> b);
  void ArrayCount(int32_t n) { Int32(n); }  // -1 = null
  void CompactArrayCount(int32_t n) { UnsignedVarint(static_cast<uint32_t>(n + 1)); }
  // An empty TAG_BUFFER (the single byte 0).
  void EmptyTaggedFields() { UnsignedVarint(0); }
  void Raw(std::string_view b) { buf_.append(b); }

  // Reserves an INT32 to be filled later with PatchInt32; returns its position.
  size_t ReserveInt32();
  void PatchInt32(size_t pos, int32_t v);

  // Pre-allocates room for `n` more bytes (avoids regrowth copies of large record sets).
  void Reserve(size_t n) { buf_.reserve(buf_.size() + n); }
  size_t size() const { return buf_.size(); }
  const std::string& buffer() const { return buf_; }
  std::string Release() { return std::move(buf_); }

 private:
  std::string buf_;
};

}  // namespace sluice::kafka
