#include "server/protocol/wire_reader.h"

#include <fmt/format.h>

#include "core/varint.h"

namespace sluice::kafka {

Status WireReader::status() const {
  if (ok()) return Status::Ok();
  return InvalidArgument("malformed Kafka request: {}", error_);
}

void WireReader::Fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

bool WireReader::Need(size_t n, const char* what) {
  if (!ok()) return false;
  if (n > data_.size() - pos_) {
    Fail(fmt::format("{} needs {} bytes at byte {} but only {} are left", what, n, pos_,
                     data_.size() - pos_));
    return false;
  }
  return true;
}

int8_t WireReader::Int8() {
  if (!Need(1, "INT8")) return 0;
  return static_cast<int8_t>(data_[pos_++]);
}

int16_t WireReader::Int16() {
  if (!Need(2, "INT16")) return 0;
  int16_t v = static_cast<int16_t>(varint::GetBE16(data_.data() + pos_));
  pos_ += 2;
  return v;
}

int32_t WireReader::Int32() {
  if (!Need(4, "INT32")) return 0;
  int32_t v = static_cast<int32_t>(varint::GetBE32(data_.data() + pos_));
  pos_ += 4;
  return v;
}

int64_t WireReader::Int64() {
  if (!Need(8, "INT64")) return 0;
  int64_t v = static_cast<int64_t>(varint::GetBE64(data_.data() + pos_));
  pos_ += 8;
  return v;
}

uint32_t WireReader::UnsignedVarint() {
  if (!ok()) return 0;
  uint64_t result = 0;
  for (int i = 0; i < 5; ++i) {
    if (pos_ >= data_.size()) {
      Fail(fmt::format("UNSIGNED_VARINT runs past the end of the frame at byte {}", pos_));
      return 0;
    }
    uint8_t b = static_cast<uint8_t>(data_[pos_++]);
    result |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
    if (!(b & 0x80)) {
      if (result > UINT32_MAX) break;
      return static_cast<uint32_t>(result);
    }
  }
  Fail(fmt::format("UNSIGNED_VARINT longer than 5 bytes or above 2^32 at byte {}", pos_));
  return 0;
}

int32_t WireReader::Varint() {
  if (!ok()) return 0;
  const char* p = data_.data() + pos_;
  int32_t v = 0;
  if (!varint::GetVarint(&p, data_.data() + data_.size(), &v)) {
    Fail(fmt::format("malformed VARINT at byte {}", pos_));
    return 0;
  }
  pos_ = static_cast<size_t>(p - data_.data());
  return v;
}

int64_t WireReader::Varlong() {
  if (!ok()) return 0;
  const char* p = data_.data() + pos_;
  int64_t v = 0;
  if (!varint::GetVarlong(&p, data_.data() + data_.size(), &v)) {
    Fail(fmt::format("malformed VARLONG at byte {}", pos_));
    return 0;
  }
  pos_ = static_cast<size_t>(p - data_.data());
  return v;
}

std::optional<std::string_view> WireReader::LengthPrefixed(int64_t len, bool nullable,
                                                           const char* what) {
  if (!ok()) return std::nullopt;
  if (len == -1 && nullable) return std::nullopt;
  if (len < 0) {
    Fail(fmt::format("{} has negative length {} at byte {}", what, len, pos_));
    return std::nullopt;
  }
  if (!Need(static_cast<size_t>(len), what)) return std::nullopt;
  Charge(static_cast<size_t>(len));
  if (!ok()) return std::nullopt;
  std::string_view v = data_.substr(pos_, static_cast<size_t>(len));
  pos_ += static_cast<size_t>(len);
  return v;
}

std::string_view WireReader::String() {
  return LengthPrefixed(Int16(), false, "STRING").value_or(std::string_view());
}

std::optional<std::string_view> WireReader::NullableString() {
  return LengthPrefixed(Int16(), true, "NULLABLE_STRING");
}

std::string_view WireReader::CompactString() {
  int64_t n = static_cast<int64_t>(UnsignedVarint()) - 1;
  return LengthPrefixed(n, false, "COMPACT_STRING").value_or(std::string_view());
}

std::optional<std::string_view> WireReader::CompactNullableString() {
  int64_t n = static_cast<int64_t>(UnsignedVarint()) - 1;
  return LengthPrefixed(n, true, "COMPACT_NULLABLE_STRING");
}

std::string_view WireReader::Bytes() {
  return LengthPrefixed(Int32(), false, "BYTES").value_or(std::string_view());
}

std::optional<std::string_view> WireReader::NullableBytes() {
  return LengthPrefixed(Int32(), true, "NULLABLE_BYTES");
}

std::string_view WireReader::CompactBytes() {
  int64_t n = static_cast<int64_t>(UnsignedVarint()) - 1;
  return LengthPrefixed(n, false, "COMPACT_BYTES").value_or(std::string_view());
}

std::optional<std::string_view> WireReader::CompactNullableBytes() {
  int64_t n = static_cast<int64_t>(UnsignedVarint()) - 1;
  return LengthPrefixed(n, true, "COMPACT_NULLABLE_BYTES");
}

int32_t WireReader::CheckCount(int64_t count, size_t min_element_bytes, bool nullable,
                               const char* what) {
  if (!ok()) return 0;
  if (count == -1) {
    if (nullable) return -1;
    Fail(fmt::format("{} is null at byte {} where the schema requires an array", what, pos_));
    return 0;
  }
  if (count < 0) {
    Fail(fmt::format("{} has negative count {} at byte {}", what, count, pos_));
    return 0;
  }
  size_t left = data_.size() - pos_;
  size_t min = min_element_bytes == 0 ? 1 : min_element_bytes;
  if (static_cast<uint64_t>(count) > left / min) {
    Fail(fmt::format("{} claims {} elements at byte {} but only {} bytes are left", what, count,
                     pos_, left));
    return 0;
  }
  return static_cast<int32_t>(count);
}

int32_t WireReader::ArrayCount(size_t min_element_bytes, bool nullable) {
  return CheckCount(Int32(), min_element_bytes, nullable, "ARRAY");
}

int32_t WireReader::CompactArrayCount(size_t min_element_bytes, bool nullable) {
  int64_t n = static_cast<int64_t>(UnsignedVarint()) - 1;
  return CheckCount(n, min_element_bytes, nullable, "COMPACT_ARRAY");
}

void WireReader::SkipTaggedFields() {
  // Each tagged field takes at least 2 bytes (tag and size varints).
  int64_t count = UnsignedVarint();
  if (!ok()) return;
  if (static_cast<uint64_t>(count) > (data_.size() - pos_) / 2) {
    Fail(fmt::format("TAG_BUFFER claims {} fields at byte {} but only {} bytes are left", count,
                     pos_, data_.size() - pos_));
    return;
  }
  int64_t last_tag = -1;
  for (int64_t i = 0; i < count && ok(); ++i) {
    int64_t tag = UnsignedVarint();
    if (!ok()) return;
    if (tag <= last_tag) {
      Fail(fmt::format("TAG_BUFFER tag {} at byte {} is not above the previous tag {}", tag, pos_,
                       last_tag));
      return;
    }
    last_tag = tag;
    uint32_t size = UnsignedVarint();
    if (!Need(size, "tagged field")) return;
    pos_ += size;
  }
}

void WireReader::Charge(size_t n) {
  if (!ok()) return;
  decoded_bytes_ += n;
  if (decoded_bytes_ > decoded_limit_) {
    Fail(fmt::format(
        "request would take more than {} bytes in memory once decoded (at byte {}; the server's "
        "max_decoded_request_bytes); send fewer topics, partitions or records per request",
        decoded_limit_, pos_));
  }
}

}  // namespace sluice::kafka
