// PartitionReader: position, read-ahead, read limit, seeks, following the high watermark.
#include "core/partition_reader.h"

#include <gtest/gtest.h>

#include "tests/testing/storage_util.h"

namespace sluice {
namespace {

using testing::MakeBatch;
using testing::TempDir;

class PartitionReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = Partition::Open(dir_.Sub("p0"), "t", PartitionId(0), TopicConfig{}, {});
    ASSERT_TRUE(p.ok()) << p.status();
    p_ = std::move(*p);
    AppendBatches(0, 10);
  }
  // Batches of 3 records "v<offset>" from offset `first`.
  void AppendBatches(int first_batch, int n) {
    for (int b = first_batch; b < first_batch + n; ++b) {
      std::vector<std::string> values;
      for (int i = 0; i < 3; ++i) values.push_back("v" + std::to_string(3 * b + i));
      ASSERT_TRUE(p_->Append(MakeBatch(values), Acks::kLeader).ok());
    }
  }
  // Offsets returned by Next until it says false.
  static std::vector<int64_t> Drain(PartitionReader& r, Offset limit = PartitionReader::kNoLimit) {
    std::vector<int64_t> out;
    RecordView rec;
    while (true) {
      auto got = r.Next(&rec, limit);
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok() || !*got) return out;
      EXPECT_EQ(rec.value, "v" + std::to_string(rec.offset.value()));
      out.push_back(rec.offset.value());
    }
  }
  static std::vector<int64_t> Range(int64_t from, int64_t to) {
    std::vector<int64_t> v;
    for (int64_t o = from; o < to; ++o) v.push_back(o);
    return v;
  }

  TempDir dir_;
  std::unique_ptr<Partition> p_;
};

TEST_F(PartitionReaderTest, StartsInsideABatchAndStopsBeforeTheLimit) {
  PartitionReader r(p_.get(), Offset(4));
  EXPECT_EQ(Drain(r, Offset(7)), Range(4, 7));
  EXPECT_EQ(r.position(), Offset(7));
  EXPECT_EQ(Drain(r, Offset(7)), std::vector<int64_t>{});  // the record at the limit stays next
  EXPECT_EQ(Drain(r), Range(7, 30));
  EXPECT_EQ(r.position(), Offset(30));
}

TEST_F(PartitionReaderTest, NextBufferedReadsNothingAndFillReadsOnlyWhenUsedUp) {
  PartitionReader r(p_.get(), Offset(0), /*read_bytes=*/1);  // one batch per read
  RecordView rec;
  auto got = r.NextBuffered(&rec);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);
  ASSERT_TRUE(r.Fill().ok());
  std::vector<int64_t> seen;
  while (true) {
    auto next = r.NextBuffered(&rec, Offset(2));
    ASSERT_TRUE(next.ok());
    if (!*next) break;
    seen.push_back(rec.offset.value());
  }
  EXPECT_EQ(seen, Range(0, 2));
  EXPECT_FALSE(r.Drained());   // offset 2 is still in the read-ahead
  ASSERT_TRUE(r.Fill().ok());  // a no-op: the read-ahead is kept
  ASSERT_TRUE(r.NextBuffered(&rec).value());
  EXPECT_EQ(rec.offset, Offset(2));
  EXPECT_FALSE(r.NextBuffered(&rec).value());
  EXPECT_TRUE(r.Drained());
}

TEST_F(PartitionReaderTest, SeeksAndFollowsTheHighWatermark) {
  PartitionReader r(p_.get(), Offset(0));
  EXPECT_EQ(Drain(r), Range(0, 30));
  r.Seek(Offset(25));
  EXPECT_EQ(Drain(r), Range(25, 30));
  AppendBatches(10, 2);
  EXPECT_EQ(Drain(r), Range(30, 36));
  r.Seek(Offset(-1));
  RecordView rec;
  EXPECT_EQ(r.Next(&rec).status().code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace sluice
