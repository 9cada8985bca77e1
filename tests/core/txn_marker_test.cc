// End-transaction markers appended through Partition::AppendTxnMarker: Kafka's control record
// format, one offset each, invisible to the producer's sequence checks (before and after a
// crash), and still refused when a client hands one to Append.
#include <gtest/gtest.h>

#include "core/partition.h"
#include "core/record_batch.h"
#include "core/validated_batch.h"
#include "core/varint.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/storage_util.h"

namespace sluice {
namespace {

using testing::CrashPartition;
using testing::FaultInjectionFileSystem;
using testing::TempDir;

std::string TxnBatch(int64_t pid, int16_t epoch, int32_t seq, int records) {
  RecordBatchBuilder b;
  for (int i = 0; i < records; ++i) b.Add(Timestamp(1000 + i), std::nullopt, std::string_view("v"));
  b.SetProducer(pid, epoch, seq);
  b.SetTransactional();
  return b.Finish();
}

class TxnMarkerTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<Partition>> OpenAt(FileSystem* fs) {
    PartitionOptions o{.fs = fs};
    return Partition::Open(dir_.path(), "t", PartitionId(0), TopicConfig{}, o);
  }
  TempDir dir_;
};

TEST_F(TxnMarkerTest, MarkerIsAControlRecordThatTakesOneOffsetAndLeavesSequencesAlone) {
  FaultInjectionFileSystem fs;
  auto p = OpenAt(&fs);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE((*p)->Append(TxnBatch(7, 0, 0, 2), Acks::kAll).ok());
  auto commit = (*p)->AppendTxnMarker(7, 0, /*commit=*/true, Acks::kAll);
  ASSERT_TRUE(commit.ok()) << commit.status();
  EXPECT_EQ(commit->base_offset, Offset(2));
  EXPECT_EQ(commit->last_offset, Offset(2));
  // The next transaction of the producer continues its sequence after the marker.
  auto next = (*p)->Append(TxnBatch(7, 0, 2, 1), Acks::kAll);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->base_offset, Offset(3));
  auto abort = (*p)->AppendTxnMarker(7, 0, /*commit=*/false, Acks::kLeader);
  ASSERT_TRUE(abort.ok()) << abort.status();
  EXPECT_EQ(abort->base_offset, Offset(4));

  auto read = (*p)->Read(Offset(2), 1 << 20);
  ASSERT_TRUE(read.ok());
  std::string_view data = read->data;
  auto marker = RecordBatchView::Parse(data.substr(0, BatchSizeAt(data)));
  ASSERT_TRUE(marker.ok());
  EXPECT_TRUE(marker->is_control());
  EXPECT_TRUE(marker->is_transactional());
  EXPECT_EQ(marker->producer_id(), 7);
  EXPECT_EQ(marker->base_sequence(), -1);
  EXPECT_EQ(marker->record_count(), 1);
  EXPECT_EQ(marker->ControlType(), 1);  // COMMIT
  EXPECT_TRUE(marker->Validate().ok());
  std::vector<std::string> keys, values;
  ASSERT_TRUE(marker
                  ->ForEachRecord([&](const RecordView& r) {
                    keys.emplace_back(r.key);
                    values.emplace_back(r.value);
                  })
                  .ok());
  EXPECT_EQ(keys, std::vector<std::string>{std::string("\0\0\0\1", 4)});        // version 0, COMMIT
  EXPECT_EQ(values, std::vector<std::string>{std::string("\0\0\0\0\0\0", 6)});  // v0, epoch 0

  // kill -9, reopen: recovery replays the markers without confusing the producer state.
  CrashPartition(&p.value(), &fs);
  auto reopened = OpenAt(&fs);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->high_watermark(), Offset(5));
  EXPECT_EQ((*reopened)->LastSequence(7), 2);
  auto after = (*reopened)->Append(TxnBatch(7, 0, 3, 1), Acks::kAll);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->base_offset, Offset(5));
}

TEST_F(TxnMarkerTest, AppendStillRefusesControlBatchesFromClients) {
  FaultInjectionFileSystem fs;
  auto p = OpenAt(&fs);
  ASSERT_TRUE(p.ok()) << p.status();
  std::string marker = BuildTxnMarker(7, 0, true, 0, Timestamp(1));
  auto r = (*p)->Append(marker, Acks::kAll);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  EXPECT_EQ((*p)->high_watermark(), Offset(0));
}

}  // namespace
}  // namespace sluice
