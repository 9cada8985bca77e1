// Compressed batches (core/codec.h): every codec round-trips through the builder, validation,
// the partition reader and the time lookup; damaged data and zip bombs are refused as corrupt.
#include "core/codec.h"

#include <gtest/gtest.h>

#include "core/crc32c.h"
#include "core/partition_reader.h"
#include "core/record_batch.h"
#include "core/validated_batch.h"
#include "core/varint.h"
#include "tests/testing/storage_util.h"

namespace sluice {
namespace {

using testing::TempDir;

constexpr Codec kCodecs[] = {Codec::kGzip, Codec::kSnappy, Codec::kLz4, Codec::kZstd};

// `n` records "v<first + i>" at timestamps 1000 + 10 * (first + i), compressed with `codec`.
std::string CompressedBatch(Codec codec, int first, int n) {
  RecordBatchBuilder b;
  b.set_compression(codec);
  for (int i = first; i < first + n; ++i) {
    b.Add(Timestamp(1000 + 10 * i), std::nullopt, "v" + std::to_string(i) + std::string(50, 'z'));
  }
  return b.Finish();
}

std::string FixCrc(std::string batch);

TEST(CodecTest, EveryCodecRoundTripsAndCompresses) {
  std::string data;
  for (int i = 0; i < 5000; ++i) data += "record " + std::to_string(i % 50) + " of a log; ";
  for (Codec c : kCodecs) {
    std::string packed;
    ASSERT_TRUE(codec::Compress(c, data, &packed).ok()) << codec::Name(static_cast<int>(c));
    EXPECT_LT(packed.size(), data.size() / 5) << codec::Name(static_cast<int>(c));
    std::string out;
    ASSERT_TRUE(codec::Decompress(static_cast<int>(c), packed, data.size(), &out).ok());
    EXPECT_EQ(out, data);
    // One byte less room than needed: refused, and nothing is left behind.
    out.clear();
    Status s = codec::Decompress(static_cast<int>(c), packed, data.size() - 1, &out);
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << codec::Name(static_cast<int>(c));
    EXPECT_TRUE(out.empty());
    // Truncated data: corrupt, never a crash.
    for (size_t cut : {size_t{0}, size_t{1}, packed.size() / 2, packed.size() - 1}) {
      out.clear();
      EXPECT_FALSE(
          codec::Decompress(static_cast<int>(c), packed.substr(0, cut), 1 << 20, &out).ok())
          << codec::Name(static_cast<int>(c)) << " cut at " << cut;
    }
  }
  EXPECT_EQ(codec::Decompress(5, "x", 10, &data).code(), StatusCode::kCorruption);
  EXPECT_FALSE(codec::Parse("brotli").ok());
  EXPECT_EQ(*codec::Parse("zstd"), Codec::kZstd);
}

TEST(CodecTest, ValidationChecksTheRecordsInsideACompressedBatch) {
  for (Codec c : kCodecs) {
    SCOPED_TRACE(codec::Name(static_cast<int>(c)));
    const std::string good = CompressedBatch(c, 0, 100);
    auto valid = ValidatedBatch::Validate(good);
    ASSERT_TRUE(valid.ok()) << valid.status();
    EXPECT_EQ(valid->view().compression(), static_cast<int>(c));
    int seen = 0;
    ASSERT_TRUE(valid->view()
                    .ForEachRecord([&](const RecordView& r) {
                      EXPECT_EQ(r.offset, Offset(seen));
                      EXPECT_EQ(r.timestamp, Timestamp(1000 + 10 * seen));
                      ++seen;
                    })
                    .ok());
    EXPECT_EQ(seen, 100);

    // The header claims one record more than the data holds (CRC fixed: only the inner check
    // can see it).
    std::string more = good;
    varint::PutBE32(more.data() + batch_format::kRecordCount, 101);
    varint::PutBE32(more.data() + batch_format::kLastOffsetDelta, 100);
    EXPECT_EQ(ValidatedBatch::Validate(FixCrc(more)).status().code(), StatusCode::kCorruption);
    // One record fewer: bytes are left after the last record.
    std::string fewer = good;
    varint::PutBE32(fewer.data() + batch_format::kRecordCount, 99);
    varint::PutBE32(fewer.data() + batch_format::kLastOffsetDelta, 98);
    EXPECT_EQ(ValidatedBatch::Validate(FixCrc(fewer)).status().code(), StatusCode::kCorruption);
    // Garbage for compressed data.
    std::string garbage = good;
    for (size_t i = batch_format::kHeaderSize; i < garbage.size(); ++i) garbage[i] ^= 0x5a;
    EXPECT_EQ(ValidatedBatch::Validate(FixCrc(garbage)).status().code(), StatusCode::kCorruption);
    // A bomb: 70 MiB of zeros in one record, past the 64 MiB a batch may decompress to.
    RecordBatchBuilder bomb;
    bomb.set_compression(c);
    bomb.Add(Timestamp(1), std::nullopt, std::string(70 << 20, '\0'));
    const std::string bomb_bytes = bomb.Finish();
    EXPECT_LT(bomb_bytes.size(), 8u << 20);
    EXPECT_EQ(ValidatedBatch::Validate(bomb_bytes).status().code(), StatusCode::kCorruption);
  }
}

std::string FixCrc(std::string batch) {
  varint::PutBE32(batch.data() + batch_format::kCrc,
                  crc32c::Value(batch.data() + batch_format::kAttributes,
                                batch.size() - batch_format::kAttributes));
  return batch;
}

// A partition of compressed batches of 10 records each, one codec per batch in turn, between
// uncompressed ones: read from every offset, and looked up by every timestamp.
TEST(CodecTest, PartitionReaderAndTimeLookupSeeEveryRecordOfCompressedBatches) {
  TempDir dir;
  auto p = Partition::Open(dir.Sub("p0"), "t", PartitionId(0), TopicConfig{}, {});
  ASSERT_TRUE(p.ok()) << p.status();
  constexpr int kBatches = 12, kPer = 10, kTotal = kBatches * kPer;
  for (int b = 0; b < kBatches; ++b) {
    std::string batch = b % 5 == 4 ? CompressedBatch(Codec::kGzip, b * kPer, kPer)
                                   : CompressedBatch(kCodecs[b % 4], b * kPer, kPer);
    if (b % 5 == 4) {  // uncompressed in between
      RecordBatchBuilder plain;
      for (int i = b * kPer; i < (b + 1) * kPer; ++i) {
        plain.Add(Timestamp(1000 + 10 * i), std::nullopt,
                  "v" + std::to_string(i) + std::string(50, 'z'));
      }
      batch = plain.Finish();
    }
    ASSERT_TRUE((*p)->Append(batch, Acks::kLeader).ok());
  }
  for (int from : {0, 1, 9, 10, 55, 119}) {
    PartitionReader r(p->get(), Offset(from), /*read_bytes=*/300);  // a few batches per read
    RecordView rec;
    int next = from;
    while (true) {
      auto got = r.Next(&rec);
      ASSERT_TRUE(got.ok()) << got.status();
      if (!*got) break;
      ASSERT_EQ(rec.offset, Offset(next));
      ASSERT_EQ(rec.value, "v" + std::to_string(next) + std::string(50, 'z'));
      ++next;
    }
    EXPECT_EQ(next, kTotal);
  }
  // Exact record at or after a time, inside compressed batches too (offset 73 is in the middle
  // of a compressed batch; 1735 falls between records 73 and 74).
  for (int i : {0, 3, 73, 99, 119}) {
    auto at = (*p)->OffsetForTime(Timestamp(1000 + 10 * i));
    ASSERT_TRUE(at.ok()) << at.status();
    EXPECT_EQ(at->offset, Offset(i));
    EXPECT_EQ(at->timestamp, Timestamp(1000 + 10 * i));
  }
  auto between = (*p)->OffsetForTime(Timestamp(1735));
  ASSERT_TRUE(between.ok());
  EXPECT_EQ(between->offset, Offset(74));
}

}  // namespace
}  // namespace sluice
