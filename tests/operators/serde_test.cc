#include "operators/serde.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace sluice {
namespace {

using namespace std::string_literals;

template <typename T>
T RoundTrip(const SerdePtr<T>& s, const T& v) {
  std::string bytes;
  s->Serialize(v, &bytes);
  T out{};
  Status st = s->Deserialize(bytes, &out);
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

TEST(SerdeTest, StringIsTheBytesUnchanged) {
  std::string bytes;
  StringSerde()->Serialize("h\0llo"s, &bytes);
  EXPECT_EQ(bytes, "h\0llo"s);
  EXPECT_EQ(RoundTrip(StringSerde(), "h\0llo"s), "h\0llo"s);
}

TEST(SerdeTest, BytesRoundTrip) {
  Bytes b{0, 1, 255, 7};
  EXPECT_EQ(RoundTrip(BytesSerde(), b), b);
}

TEST(SerdeTest, Int64IsBigEndianLikeKafka) {
  std::string bytes;
  Int64Serde()->Serialize(int64_t{0x0102030405060708}, &bytes);
  EXPECT_EQ(bytes, "\x01\x02\x03\x04\x05\x06\x07\x08"s);
  for (int64_t v : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(RoundTrip(Int64Serde(), v), v);
  }
}

TEST(SerdeTest, Int32IsBigEndianLikeKafka) {
  std::string bytes;
  Int32Serde()->Serialize(int32_t{-2}, &bytes);
  EXPECT_EQ(bytes, "\xff\xff\xff\xfe"s);
  EXPECT_EQ(RoundTrip(Int32Serde(), int32_t{123456}), 123456);
}

TEST(SerdeTest, DoubleRoundTripsExactly) {
  for (double v : {0.0, -1.5, 3.141592653589793, std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(RoundTrip(DoubleSerde(), v), v);
  }
  std::string bytes;
  DoubleSerde()->Serialize(1.0, &bytes);
  EXPECT_EQ(bytes, "\x3f\xf0\0\0\0\0\0\0"s);
}

TEST(SerdeTest, FixedWidthSerdesRejectWrongSizesWithAHint) {
  int64_t v;
  Status s = Int64Serde()->Deserialize("42", &v);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("DecimalInt64Serde"), std::string::npos) << s;
  int32_t i;
  EXPECT_FALSE(Int32Serde()->Deserialize("12345", &i).ok());
  double d;
  EXPECT_FALSE(DoubleSerde()->Deserialize("", &d).ok());
}

TEST(SerdeTest, DecimalInt64ParsesSignedText) {
  int64_t v = 0;
  ASSERT_TRUE(DecimalInt64Serde()->Deserialize("-42", &v).ok());
  EXPECT_EQ(v, -42);
  ASSERT_TRUE(DecimalInt64Serde()->Deserialize("+7", &v).ok());
  EXPECT_EQ(v, 7);
  std::string bytes;
  DecimalInt64Serde()->Serialize(-9223372036854775807 - 1, &bytes);
  EXPECT_EQ(bytes, "-9223372036854775808");
  EXPECT_EQ(RoundTrip(DecimalInt64Serde(), int64_t{1234567890123}), 1234567890123);
}

TEST(SerdeTest, DecimalInt64RejectsNonNumbersNamingTheInput) {
  int64_t v;
  for (const char* bad : {"", "abc", "12x", "1.5", " 3", "99999999999999999999"}) {
    Status s = DecimalInt64Serde()->Deserialize(bad, &v);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find(std::string("'") + bad + "'"), std::string::npos) << s;
  }
}

struct Point {
  int32_t x = 0;
  int32_t y = 0;
  bool operator==(const Point&) const = default;
};

}  // namespace

template <>
struct SerdeFor<Point> {
  static SerdePtr<Point> Get() {
    return MakeSerde<Point>(
        "point", [](const Point& p, std::string* out) { *out = fmt::format("{},{}", p.x, p.y); },
        [](std::string_view b, Point* p) -> Status {
          if (sscanf(std::string(b).c_str(), "%d,%d", &p->x, &p->y) != 2) {
            return InvalidArgument("expected 'x,y'");
          }
          return Status::Ok();
        });
  }
};

namespace {

TEST(SerdeTest, UserStructPlugsInThroughSerdeFor) {
  SerdePtr<Point> s = DefaultSerde<Point>();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name(), "point");
  EXPECT_EQ(RoundTrip(s, Point{3, -4}), (Point{3, -4}));
}

struct NoSerde {};

TEST(SerdeTest, TypesWithoutSerdeHaveNoDefault) {
  EXPECT_EQ(DefaultSerde<NoSerde>(), nullptr);
  EXPECT_NE(DefaultSerde<std::string>(), nullptr);
  EXPECT_NE(DefaultSerde<double>(), nullptr);
}

}  // namespace
}  // namespace sluice
