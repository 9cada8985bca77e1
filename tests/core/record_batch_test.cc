#include "core/record_batch.h"

#include <gtest/gtest.h>

#include "core/batch_cursor.h"
#include "core/crc32c.h"
#include "core/validated_batch.h"
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

// The cursor's one behaviour on a bad tail: whole batches first, then a stop saying why.
TEST(BatchCursorTest, StopsAtTheFirstByteThatIsNotAWholeBatch) {
  RecordBatchBuilder b;
  b.Add(Timestamp(1), std::nullopt, std::string_view("one"));
  const std::string first = b.Finish();
  b.Add(Timestamp(2), std::nullopt, std::string_view("two"));
  b.Add(Timestamp(3), std::nullopt, std::string_view("three"));
  const std::string second = b.Finish();
  const std::string both = first + second;

  BatchCursor all(both);
  RecordBatchView v;
  ASSERT_TRUE(all.Next(&v));
  EXPECT_EQ(v.record_count(), 1);
  ASSERT_TRUE(all.Next(&v));
  EXPECT_EQ(v.record_count(), 2);
  EXPECT_FALSE(all.Next(&v));
  EXPECT_EQ(all.stop(), BatchCursor::Stop::kEnd);
  EXPECT_EQ(all.valid_bytes(), both.size());
  EXPECT_TRUE(all.status().ok());

  // Cut anywhere inside the second batch: a partial tail after the first.
  for (size_t cut = first.size() + 1; cut < both.size(); ++cut) {
    BatchCursor torn(std::string_view(both).substr(0, cut));
    ASSERT_TRUE(torn.Next(&v));
    EXPECT_FALSE(torn.Next(&v));
    EXPECT_EQ(torn.stop(), BatchCursor::Stop::kPartial) << "cut " << cut;
    EXPECT_EQ(torn.valid_bytes(), first.size());
    EXPECT_EQ(torn.partial_batch_bytes(),
              cut - first.size() < 12 ? 0 : static_cast<int64_t>(second.size()));
    EXPECT_EQ(torn.status().code(), StatusCode::kCorruption);
    EXPECT_FALSE(torn.Next(&v));  // it stays stopped
  }

  std::string bad_magic = both;
  bad_magic[first.size() + batch_format::kMagic] = 1;
  BatchCursor magic(bad_magic);
  ASSERT_TRUE(magic.Next(&v));
  EXPECT_FALSE(magic.Next(&v));
  EXPECT_EQ(magic.stop(), BatchCursor::Stop::kMalformed);
  EXPECT_EQ(magic.valid_bytes(), first.size());

  std::string bad_length = both;
  varint::PutBE32(bad_length.data() + first.size() + batch_format::kBatchLength, 3);
  BatchCursor length(bad_length);
  ASSERT_TRUE(length.Next(&v));
  EXPECT_FALSE(length.Next(&v));
  EXPECT_EQ(length.stop(), BatchCursor::Stop::kMalformed);
  EXPECT_EQ(length.valid_bytes(), first.size());

  BatchCursor empty{std::string_view()};
  EXPECT_FALSE(empty.Next(&v));
  EXPECT_EQ(empty.stop(), BatchCursor::Stop::kEnd);
}

TEST(ValidatedBatchTest, OnlyAWholeValidBatchPasses) {
  RecordBatchBuilder b;
  b.Add(Timestamp(1), std::string_view("k"), std::string_view("v"));
  b.Add(Timestamp(2), std::string_view("k"), std::string_view("w"));
  std::string storage;
  ValidatedBatch built = ValidatedBatch::FromBuilder(&b, &storage);
  EXPECT_EQ(built.bytes(), storage);
  EXPECT_EQ(built.view().record_count(), 2);
  ASSERT_TRUE(ValidatedBatch::Validate(storage).ok());
  std::string flipped = storage;
  flipped[batch_format::kHeaderSize + 3] ^= 1;
  EXPECT_EQ(ValidatedBatch::Validate(flipped).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(ValidatedBatch::Validate(storage + "x").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(ValidatedBatch::Validate(storage.substr(0, 20)).status().code(),
            StatusCode::kCorruption);
}

}  // namespace
}  // namespace sluice
