#include "core/record_batch.h"

#include <gtest/gtest.h>

#include "core/crc32c.h"
#include "core/varint.h"

namespace sluice {
namespace {

TEST(Crc32cTest, MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c::Value("123456789"), 0xE3069283u);
  std::string big(1000, 'x');
  EXPECT_EQ(crc32c::Extend(crc32c::Value(big.data(), 300), big.data() + 300, 700),
            crc32c::Value(big));
}

TEST(RecordBatchTest, MatchesTheBatchKcatWrites) {
  // kcat -P -k k -H h1=v1 with value "hello" (kafka-protocol.md §3.4).
  RecordBatchBuilder b;
  std::vector<Header> headers{{"h1", std::string("v1")}};
  b.Add(Timestamp(0x1a218bcd858), std::string_view("k"), std::string_view("hello"), headers);
  std::string bytes = b.Finish();
  ASSERT_EQ(bytes.size(), 80u);
  EXPECT_EQ(varint::GetBE32(bytes.data() + batch_format::kCrc), 0xe497993cu);
}

TEST(RecordBatchTest, RoundTripsRecordsWithNullsAndHeaders) {
  RecordBatchBuilder b;
  b.Add(Timestamp(1000), std::nullopt, std::string_view("v0"));
  b.Add(Timestamp(990), std::string_view("k1"), std::nullopt);
  std::vector<Header> hs{{"a", std::nullopt}, {"b", std::string("x")}};
  b.Add(Timestamp(1005), std::string_view(""), std::string_view(""), hs);
  std::string bytes = b.Finish();
  SetBaseOffset(bytes.data(), Offset(42));
  auto view = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(view.ok()) << view.status();
  ASSERT_TRUE(view->Validate().ok());
  EXPECT_EQ(view->base_offset(), Offset(42));
  EXPECT_EQ(view->last_offset(), Offset(44));
  EXPECT_EQ(view->max_timestamp(), Timestamp(1005));
  std::vector<RecordView> rs;
  ASSERT_TRUE(view->ForEachRecord([&](const RecordView& r) { rs.push_back(r); }).ok());
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_FALSE(rs[0].has_key);
  EXPECT_EQ(rs[0].value, "v0");
  EXPECT_EQ(rs[1].timestamp, Timestamp(990));
  EXPECT_FALSE(rs[1].has_value);
  EXPECT_EQ(rs[2].offset, Offset(44));
  EXPECT_TRUE(rs[2].has_key);
  auto parsed = rs[2].ParseHeaders();
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, hs);
}

// Small records are encoded in place, large ones field by field: both sides of the boundary,
// read back record by record and through a resumable cursor.
TEST(RecordBatchTest, RoundTripsRecordsOfEverySizeAroundTheInPlaceLimit) {
  RecordBatchBuilder b;
  std::vector<std::string> values;
  std::vector<Header> hs{{"h", std::string(200, 'h')}};
  for (size_t n = 0; n < 600; n += 7) {
    values.push_back(std::string(n, static_cast<char>('a' + n % 26)));
    b.Add(Timestamp(static_cast<int64_t>(n)), std::string_view(values.back()).substr(0, n / 2),
          std::string_view(values.back()),
          n % 2 ? std::span<const Header>(hs) : std::span<const Header>());
  }
  std::string bytes = b.Finish();
  auto view = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(view.ok()) << view.status();
  ASSERT_TRUE(view->Validate().ok());
  RecordBatchView::Cursor c;
  RecordView r;
  size_t i = 0;
  while (!view->AtEnd(c)) {
    ASSERT_TRUE(view->Next(&c, &r).ok());
    ASSERT_LT(i, values.size());
    EXPECT_EQ(r.value, values[i]);
    EXPECT_EQ(r.key, std::string_view(values[i]).substr(0, values[i].size() / 2));
    EXPECT_EQ(r.header_count, (i * 7) % 2 ? 1 : 0);
    ++i;
  }
  EXPECT_EQ(i, values.size());
}

TEST(RecordBatchTest, DetectsAFlippedBitAnywhereUnderTheCrc) {
  RecordBatchBuilder b;
  for (int i = 0; i < 10; ++i)
    b.Add(Timestamp(i), std::string_view("key"), std::string_view("value"));
  std::string bytes = b.Finish();
  for (size_t pos = batch_format::kAttributes; pos < bytes.size(); pos += 7) {
    std::string bad = bytes;
    bad[pos] ^= 0x10;
    auto v = RecordBatchView::Parse(bad);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->Validate().code(), StatusCode::kCorruption) << "byte " << pos;
  }
}

TEST(RecordBatchTest, RejectsLyingLengths) {
  EXPECT_EQ(BatchSizeAt("short"), 0);
  std::string bytes(12, '\0');
  varint::PutBE32(bytes.data() + 8, 0xFFFFFFFF);
  EXPECT_EQ(BatchSizeAt(bytes), -1);
  varint::PutBE32(bytes.data() + 8, 10);
  EXPECT_EQ(BatchSizeAt(bytes), -1);
  EXPECT_FALSE(RecordBatchView::Parse(bytes).ok());
}

}  // namespace
}  // namespace sluice
