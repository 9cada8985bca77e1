#include "operators/serde.h"

#include <bit>
#include <charconv>
#include <cstring>

namespace sluice {
namespace {

template <typename U>
void PutBigEndian(U v, std::string* out) {
  char buf[sizeof(U)];
  for (size_t i = 0; i < sizeof(U); ++i) {
    buf[sizeof(U) - 1 - i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->assign(buf, sizeof(U));
}

template <typename U>
U GetBigEndian(std::string_view b) {
  U v = 0;
  for (size_t i = 0; i < sizeof(U); ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

Status WrongSize(std::string_view serde, size_t want, size_t got) {
  return InvalidArgument(
      "serde '{}' expects exactly {} bytes but got {}; the data was written with a different "
      "serde (for decimal text use DecimalInt64Serde)",
      serde, want, got);
}

class StringSerdeImpl final : public Serde<std::string> {
 public:
  std::string_view name() const override { return "string"; }
  void Serialize(const std::string& v, std::string* out) const override { out->assign(v); }
  Status Deserialize(std::string_view b, std::string* out) const override {
    out->assign(b);
    return Status::Ok();
  }
};

class BytesSerdeImpl final : public Serde<Bytes> {
 public:
  std::string_view name() const override { return "bytes"; }
  void Serialize(const Bytes& v, std::string* out) const override {
    out->assign(reinterpret_cast<const char*>(v.data()), v.size());
  }
  Status Deserialize(std::string_view b, Bytes* out) const override {
    out->assign(reinterpret_cast<const uint8_t*>(b.data()),
                reinterpret_cast<const uint8_t*>(b.data()) + b.size());
    return Status::Ok();
  }
};

class Int64SerdeImpl final : public Serde<int64_t> {
 public:
  std::string_view name() const override { return "int64"; }
  void Serialize(const int64_t& v, std::string* out) const override {
    PutBigEndian(static_cast<uint64_t>(v), out);
  }
  Status Deserialize(std::string_view b, int64_t* out) const override {
    if (b.size() != 8) return WrongSize(name(), 8, b.size());
    *out = static_cast<int64_t>(GetBigEndian<uint64_t>(b));
    return Status::Ok();
  }
};

class Int32SerdeImpl final : public Serde<int32_t> {
 public:
  std::string_view name() const override { return "int32"; }
  void Serialize(const int32_t& v, std::string* out) const override {
    PutBigEndian(static_cast<uint32_t>(v), out);
  }
  Status Deserialize(std::string_view b, int32_t* out) const override {
    if (b.size() != 4) return WrongSize(name(), 4, b.size());
    *out = static_cast<int32_t>(GetBigEndian<uint32_t>(b));
    return Status::Ok();
  }
};

class DoubleSerdeImpl final : public Serde<double> {
 public:
  std::string_view name() const override { return "double"; }
  void Serialize(const double& v, std::string* out) const override {
    PutBigEndian(std::bit_cast<uint64_t>(v), out);
  }
  Status Deserialize(std::string_view b, double* out) const override {
    if (b.size() != 8) return WrongSize(name(), 8, b.size());
    *out = std::bit_cast<double>(GetBigEndian<uint64_t>(b));
    return Status::Ok();
  }
};

class DecimalInt64SerdeImpl final : public Serde<int64_t> {
 public:
  std::string_view name() const override { return "decimal-int64"; }
  void Serialize(const int64_t& v, std::string* out) const override {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out->assign(buf, r.ptr);
  }
  Status Deserialize(std::string_view b, int64_t* out) const override {
    std::string_view s = b;
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    int64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
      std::string shown(b.substr(0, 40));
      return InvalidArgument(
          "expected a signed decimal integer in the range of int64 (like -42) but got '{}'{}",
          shown, b.size() > 40 ? "..." : "");
    }
    *out = v;
    return Status::Ok();
  }
};

}  // namespace

SerdePtr<std::string> StringSerde() {
  static const auto s = std::make_shared<StringSerdeImpl>();
  return s;
}
SerdePtr<Bytes> BytesSerde() {
  static const auto s = std::make_shared<BytesSerdeImpl>();
  return s;
}
SerdePtr<int64_t> Int64Serde() {
  static const auto s = std::make_shared<Int64SerdeImpl>();
  return s;
}
SerdePtr<int32_t> Int32Serde() {
  static const auto s = std::make_shared<Int32SerdeImpl>();
  return s;
}
SerdePtr<double> DoubleSerde() {
  static const auto s = std::make_shared<DoubleSerdeImpl>();
  return s;
}
SerdePtr<int64_t> DecimalInt64Serde() {
  static const auto s = std::make_shared<DecimalInt64SerdeImpl>();
  return s;
}

}  // namespace sluice
