// Bounded readers/writers of Kafka primitives and the frame splitter (E1, E2, E3).
#include <gtest/gtest.h>

#include <string>

#include "server/protocol/frame_splitter.h"
#include "server/protocol/wire_reader.h"
#include "server/protocol/wire_writer.h"

namespace sluice::kafka {
namespace {

std::string Be32(int32_t v) {
  WireWriter w;
  w.Int32(v);
  return w.Release();
}

TEST(WireCodecTest, RoundTripsEveryPrimitive) {
  WireWriter w;
  w.Int8(-5);
  w.Int16(-300);
  w.Int32(123456789);
  w.Int64(-9876543210LL);
  w.Bool(true);
  w.UnsignedVarint(300);
  w.Varint(-2);
  w.Varlong(1LL << 40);
  w.String("abc");
  w.NullableString(std::nullopt);
  w.CompactString("xyz");
  w.CompactNullableString(std::nullopt);
  w.Bytes(std::string("\0\1", 2));
  w.NullableBytes(std::nullopt);
  w.CompactBytes("b");
  w.ArrayCount(2);
  w.Int8(1);
  w.Int8(2);
  w.CompactArrayCount(3);
  w.Raw("abc");
  w.EmptyTaggedFields();
  std::string buf = w.Release();

  WireReader r(buf);
  EXPECT_EQ(r.Int8(), -5);
  EXPECT_EQ(r.Int16(), -300);
  EXPECT_EQ(r.Int32(), 123456789);
  EXPECT_EQ(r.Int64(), -9876543210LL);
  EXPECT_TRUE(r.Bool());
  EXPECT_EQ(r.UnsignedVarint(), 300u);
  EXPECT_EQ(r.Varint(), -2);
  EXPECT_EQ(r.Varlong(), 1LL << 40);
  EXPECT_EQ(r.String(), "abc");
  EXPECT_FALSE(r.NullableString().has_value());
  EXPECT_EQ(r.CompactString(), "xyz");
  EXPECT_FALSE(r.CompactNullableString().has_value());
  EXPECT_EQ(r.Bytes(), std::string("\0\1", 2));
  EXPECT_FALSE(r.NullableBytes().has_value());
  EXPECT_EQ(r.CompactBytes(), "b");
  EXPECT_EQ(r.ArrayCount(1), 2);
  EXPECT_EQ(r.Int8() + r.Int8(), 3);
  EXPECT_EQ(r.CompactArrayCount(1), 3);
  EXPECT_EQ(r.Int8(), 'a');
  EXPECT_EQ(r.Int16(), ('b' << 8) | 'c');
  r.SkipTaggedFields();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(WireCodecTest, UnsignedVarintMatchesTheSpecExamples) {
  WireWriter w;
  w.UnsignedVarint(0);
  w.UnsignedVarint(127);
  w.UnsignedVarint(128);
  w.UnsignedVarint(300);
  EXPECT_EQ(w.buffer(), std::string("\x00\x7f\x80\x01\xac\x02", 6));
}

TEST(WireCodecTest, ArrayCountLargerThanTheBytesLeftFails) {
  // A count of 1000 with one 4-byte element present (E3).
  std::string buf = Be32(1000) + Be32(7);
  WireReader r(buf);
  EXPECT_EQ(r.ArrayCount(4), 0);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("claims 1000 elements"), std::string::npos) << r.status();
}

TEST(WireCodecTest, HugeAndNegativeArrayCountsFail) {
  for (int32_t count : {INT32_MAX, -2, INT32_MIN}) {
    std::string buf = Be32(count) + std::string(16, 'x');
    WireReader r(buf);
    r.ArrayCount(1);
    EXPECT_FALSE(r.ok()) << count;
  }
  std::string null_array = Be32(-1);
  WireReader strict(null_array);
  strict.ArrayCount(1, /*nullable=*/false);
  EXPECT_FALSE(strict.ok());
  WireReader lenient(null_array);
  EXPECT_EQ(lenient.ArrayCount(1, /*nullable=*/true), -1);
  EXPECT_TRUE(lenient.ok());
}

TEST(WireCodecTest, StringLengthsThatLieFail) {
  {
    std::string buf("\xff\xfe", 2);  // -2
    WireReader r(buf);
    r.NullableString();
    EXPECT_FALSE(r.ok());
  }
  {
    std::string buf(
        "\x00\x05"
        "abcd",
        6);  // one past the end
    WireReader r(buf);
    r.String();
    EXPECT_FALSE(r.ok());
  }
  {
    std::string buf("\xff\xff", 2);  // -1 is not allowed for a non-nullable STRING
    WireReader r(buf);
    r.String();
    EXPECT_FALSE(r.ok());
  }
  {
    std::string buf = Be32(0x7fffffff) + "ab";
    WireReader r(buf);
    r.Bytes();
    EXPECT_FALSE(r.ok());
  }
}

TEST(WireCodecTest, CompactLengthOfTwoToTheThirtyFails) {
  WireWriter w;
  w.UnsignedVarint(1u << 30);
  w.Raw("abc");
  WireReader r(w.buffer());
  r.CompactString();
  EXPECT_FALSE(r.ok());
  WireReader r2(w.buffer());
  r2.CompactArrayCount(1);
  EXPECT_FALSE(r2.ok());
}

TEST(WireCodecTest, OverlongVarintFails) {
  std::string buf(6, '\xff');
  WireReader r(buf);
  r.UnsignedVarint();
  EXPECT_FALSE(r.ok());
  std::string overlong(11, '\x80');
  WireReader r2(overlong);
  r2.Varlong();
  EXPECT_FALSE(r2.ok());
}

TEST(WireCodecTest, TaggedFieldsAreSkippedAndValidated) {
  WireWriter ok;
  ok.UnsignedVarint(2);
  ok.UnsignedVarint(0);
  ok.UnsignedVarint(3);
  ok.Raw("abc");
  ok.UnsignedVarint(5);
  ok.UnsignedVarint(0);
  ok.Int8(42);
  WireReader r(ok.buffer());
  r.SkipTaggedFields();
  EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r.Int8(), 42);

  WireWriter dup;  // duplicate tag ids
  dup.UnsignedVarint(2);
  dup.UnsignedVarint(1);
  dup.UnsignedVarint(0);
  dup.UnsignedVarint(1);
  dup.UnsignedVarint(0);
  WireReader rd(dup.buffer());
  rd.SkipTaggedFields();
  EXPECT_FALSE(rd.ok());

  WireWriter many;  // a count larger than the data
  many.UnsignedVarint(1000000);
  many.Raw("xy");
  WireReader rm(many.buffer());
  rm.SkipTaggedFields();
  EXPECT_FALSE(rm.ok());

  WireWriter past;  // a size past the end
  past.UnsignedVarint(1);
  past.UnsignedVarint(0);
  past.UnsignedVarint(100);
  past.Raw("x");
  WireReader rp(past.buffer());
  rp.SkipTaggedFields();
  EXPECT_FALSE(rp.ok());
}

TEST(WireCodecTest, ErrorsAreSticky) {
  std::string buf("\x00", 1);
  WireReader r(buf);
  r.Int32();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.Int8(), 0);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(FrameSplitterTest, SplitsFramesArrivingInPieces) {
  FrameSplitter s(1024);
  std::string stream = Be32(3) + "abc" + Be32(2) + "de";
  for (char c : stream) s.Append(std::string_view(&c, 1));
  auto f1 = s.Next();
  ASSERT_TRUE(f1.ok());
  ASSERT_TRUE(f1->has_value());
  EXPECT_EQ(**f1, "abc");
  auto f2 = s.Next();
  ASSERT_TRUE(f2.ok() && f2->has_value());
  EXPECT_EQ(**f2, "de");
  auto f3 = s.Next();
  ASSERT_TRUE(f3.ok());
  EXPECT_FALSE(f3->has_value());
  EXPECT_FALSE(s.in_frame());
}

TEST(FrameSplitterTest, WaitsForTheRestOfATruncatedFrame) {
  FrameSplitter s(1024);
  s.Append(Be32(10) + "abc");
  auto f = s.Next();
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->has_value());
  EXPECT_TRUE(s.in_frame());
}

TEST(FrameSplitterTest, RejectsOversizeNegativeAndZeroSizesBeforeBuffering) {
  for (int32_t size : {1025, 0x7fffffff, -1, INT32_MIN, 0}) {
    FrameSplitter s(1024);
    s.Append(Be32(size));
    auto f = s.Next();
    EXPECT_FALSE(f.ok()) << size;
    EXPECT_NE(f.status().message().find("outside 1..1024"), std::string::npos) << f.status();
    // Stays failed; later bytes are not buffered.
    s.Append(std::string(100, 'x'));
    EXPECT_FALSE(s.Next().ok());
    EXPECT_LE(s.buffered(), 4u);
  }
}

TEST(FrameSplitterTest, AcceptsAFrameOfExactlyTheMaximum) {
  FrameSplitter s(8);
  s.Append(Be32(8) + "12345678");
  auto f = s.Next();
  ASSERT_TRUE(f.ok() && f->has_value());
  EXPECT_EQ(**f, "12345678");
}

}  // namespace
}  // namespace sluice::kafka
