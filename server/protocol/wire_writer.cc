#include "server/protocol/wire_writer.h"

#include "core/varint.h"

namespace sluice::kafka {

void WireWriter::Int16(int16_t v) {
  char b[2];
  varint::PutBE16(b, static_cast<uint16_t>(v));
  buf_.append(b, 2);
}

void WireWriter::Int32(int32_t v) {
  char b[4];
  varint::PutBE32(b, static_cast<uint32_t>(v));
  buf_.append(b, 4);
}

void WireWriter::Int64(int64_t v) {
  char b[8];
  varint::PutBE64(b, static_cast<uint64_t>(v));
  buf_.append(b, 8);
}

void WireWriter::UnsignedVarint(uint32_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<char>(v));
}

void WireWriter::Varint(int32_t v) { varint::PutVarint(&buf_, v); }
void WireWriter::Varlong(int64_t v) { varint::PutVarlong(&buf_, v); }

void WireWriter::String(std::string_view s) {
  Int16(static_cast<int16_t>(s.size()));
  buf_.append(s);
}

void WireWriter::NullableString(std::optional<std::string_view> s) {
  if (!s) return Int16(-1);
  String(*s);
}

void WireWriter::CompactString(std::string_view s) {
  UnsignedVarint(static_cast<uint32_t>(s.size() + 1));
  buf_.append(s);
}

void WireWriter::CompactNullableString(std::optional<std::string_view> s) {
  if (!s) return UnsignedVarint(0);
  CompactString(*s);
}

void WireWriter::Bytes(std::string_view b) {
  Int32(static_cast<int32_t>(b.size()));
  buf_.append(b);
}

void WireWriter::NullableBytes(std::optional<std::string_view> b) {
  if (!b) return Int32(-1);
  Bytes(*b);
}

void WireWriter::CompactBytes(std::string_view b) { CompactString(b); }

void WireWriter::CompactNullableBytes(std::optional<std::string_view> b) {
  CompactNullableString(b);
}

size_t WireWriter::ReserveInt32() {
  size_t pos = buf_.size();
  buf_.append(4, '\0');
  return pos;
}

void WireWriter::PatchInt32(size_t pos, int32_t v) {
  varint::PutBE32(buf_.data() + pos, static_cast<uint32_t>(v));
}

}  // namespace sluice::kafka
