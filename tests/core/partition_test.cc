// Partition: append, read, roll, reopen, indexes, idempotent producers, retention, read-only
// readers, group commit.
#include "core/partition.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/segment_format.h"
#include "core/validated_batch.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/storage_util.h"

namespace sluice {
namespace {

using testing::MakeBatch;
using testing::ReadAll;
using testing::ReadRecord;
using testing::TempDir;

class PartitionTest : public ::testing::Test {
 protected:
  std::unique_ptr<Partition> Open(PartitionOptions options = {}) {
    auto p = Partition::Open(dir_.Sub("p0"), "t", PartitionId(0), config_, options);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(p).value() : nullptr;
  }
  static std::vector<std::string> Values(int first, int n) {
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i) v.push_back("value-" + std::to_string(first + i));
    return v;
  }
  static std::vector<std::string> ValuesOf(const std::vector<ReadRecord>& recs) {
    std::vector<std::string> v;
    for (const auto& r : recs) v.push_back(r.value);
    return v;
  }

  TempDir dir_;
  TopicConfig config_;
};

TEST_F(PartitionTest, AppendsAssignDenseOffsetsAndReadBack) {
  auto p = Open();
  for (int i = 0; i < 50; ++i) {
    auto r = p->Append(MakeBatch(Values(i * 3, 3), 1000 + i), Acks::kLeader);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->base_offset, Offset(i * 3));
    EXPECT_EQ(r->last_offset, Offset(i * 3 + 2));
    EXPECT_FALSE(r->duplicate);
  }
  EXPECT_EQ(p->high_watermark(), Offset(150));
  auto recs = ReadAll(*p, 0, 100);
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_EQ(ValuesOf(*recs), Values(0, 150));
  EXPECT_EQ((*recs)[4].timestamp, 1001);
}

TEST_F(PartitionTest, ReadStartsAtTheBatchHoldingTheOffsetAndReturnsWholeBatches) {
  auto p = Open();
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(p->Append(MakeBatch(Values(i * 4, 4)), Acks::kNone).ok());
  auto r = p->Read(Offset(13), 1);  // max_bytes below one batch: still one whole batch
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<ReadRecord> recs;
  ASSERT_TRUE(testing::DecodeBatches(r->data, &recs).ok());
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs.front().offset, 12);
  EXPECT_EQ(r->high_watermark, Offset(40));
  auto at_end = p->Read(Offset(40), 1000);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->data.empty());
}

TEST_F(PartitionTest, OutOfRangeReadsSayTheValidRange) {
  auto p = Open();
  ASSERT_TRUE(p->Append(MakeBatch(Values(0, 2)), Acks::kLeader).ok());
  auto r = p->Read(Offset(5), 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(r.status().message().find("0 (log start) to 2"), std::string::npos) << r.status();
  EXPECT_EQ(p->Read(Offset(-1), 100).status().code(), StatusCode::kOutOfRange);
}

TEST_F(PartitionTest, RejectsBadBatchesWithClearErrors) {
  config_.max_message_bytes = 200;
  auto p = Open();
  auto big = p->Append(MakeBatch({std::string(300, 'x')}), Acks::kLeader);
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(big.status().message().find("max message bytes 200"), std::string::npos);
  std::string bad = MakeBatch({"abc"});
  bad[bad.size() - 2] ^= 1;
  EXPECT_EQ(p->Append(bad, Acks::kLeader).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(p->Append("short", Acks::kLeader).status().code(), StatusCode::kCorruption);
  std::string wrong_magic = MakeBatch({"abc"});
  wrong_magic[batch_format::kMagic] = 1;
  EXPECT_EQ(p->Append(wrong_magic, Acks::kLeader).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(p->high_watermark(), Offset(0));  // nothing was written
}

// A batch this process built (ValidatedBatch::FromBuilder, as the Producer and a job's outbox
// make them) skips only the CRC/record pass: the size limit still holds, and a good batch lands
// exactly as with Append. (Unchecked bytes cannot be appended at all: there is no such API.)
TEST_F(PartitionTest, BuiltBatchesSkipOnlyTheCrcPass) {
  config_.max_message_bytes = 200;
  auto p = Open();
  auto built = [](const std::vector<std::string>& values, std::string* storage) {
    RecordBatchBuilder b;
    for (const auto& v : values) b.Add(Timestamp(1000), std::nullopt, v);
    return ValidatedBatch::FromBuilder(&b, storage);
  };
  std::string big_bytes, ok_bytes;
  auto big = p->Append(built({std::string(300, 'x')}, &big_bytes), Acks::kLeader);
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
  auto ok = p->Append(built({"a", "b"}, &ok_bytes), Acks::kLeader);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->base_offset, Offset(0));
  EXPECT_EQ(p->high_watermark(), Offset(2));
  auto r = p->Read(Offset(0), 1 << 20);
  ASSERT_TRUE(r.ok());
  auto view = RecordBatchView::Parse(r->data);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->Validate().ok());  // the stored batch is whole, CRC included
}

TEST_F(PartitionTest, RollsSegmentsBySizeAndReadsAcrossThem) {
  config_.segment_bytes = 1000;
  auto p = Open({.index_interval_bytes = 128});
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(p->Append(MakeBatch(Values(i * 2, 2)), Acks::kLeader).ok());
  PartitionStats st = p->Stats();
  EXPECT_GT(st.segments, 10);
  EXPECT_EQ(st.log_end_offset, Offset(400));
  for (int64_t from : {0, 1, 77, 250, 399}) {
    auto recs = ReadAll(*p, from, 300);
    ASSERT_TRUE(recs.ok()) << recs.status();
    ASSERT_EQ(recs->size(), static_cast<size_t>(400 - from));
    EXPECT_EQ(recs->front().value, "value-" + std::to_string(from));
  }
  auto names = FileSystem::Default()->ListDir(dir_.Sub("p0"));
  ASSERT_TRUE(names.ok());
  EXPECT_NE(std::find(names->begin(), names->end(), "00000000000000000000.log"), names->end());
  EXPECT_NE(std::find(names->begin(), names->end(), "00000000000000000000.index"), names->end());
}

TEST_F(PartitionTest, ReopensAfterCleanCloseWithoutScanningAndContinues) {
  config_.segment_bytes = 2000;
  {
    auto p = Open({.index_interval_bytes = 100});
    for (int i = 0; i < 100; ++i)
      ASSERT_TRUE(p->Append(MakeBatch(Values(i, 1), 5000 + i), Acks::kLeader).ok());
    ASSERT_TRUE(p->Close().ok());
    ASSERT_TRUE(p->Close().ok());  // idempotent
  }
  EXPECT_TRUE(FileSystem::Default()->Exists(dir_.Sub("p0/clean-shutdown")));
  auto p = Open({.index_interval_bytes = 100});
  EXPECT_TRUE(p->recovery_report().clean_shutdown) << p->recovery_report().ToString();
  EXPECT_EQ(p->recovery_report().segments_scanned, 0);
  EXPECT_FALSE(FileSystem::Default()->Exists(dir_.Sub("p0/clean-shutdown")));
  EXPECT_EQ(p->high_watermark(), Offset(100));
  auto r = p->Append(MakeBatch(Values(100, 1), 6000), Acks::kLeader);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->base_offset, Offset(100));
  auto recs = ReadAll(*p);
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_EQ(ValuesOf(*recs), Values(0, 101));
  auto t = p->OffsetForTime(Timestamp(5050));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, Offset(50));
}

TEST_F(PartitionTest, CleanOpenOfALargeLogReadsNoSegment) {
  config_.segment_bytes = 300;
  TempDir mem(/*in_memory=*/true);
  auto open = [&](FileSystem* fs) {
    auto p =
        Partition::Open(mem.Sub("p"), "t", PartitionId(0), config_, PartitionOptions{.fs = fs});
    SLUICE_CHECK(p.ok());
    return std::move(p).value();
  };
  {
    auto p = open(nullptr);
    for (int i = 0; i < 400; ++i) ASSERT_TRUE(p->Append(MakeBatch(Values(i, 2)), Acks::kNone).ok());
    ASSERT_GT(p->Stats().segments, 100);
  }
  // Count every open-for-reading and read: a clean open costs one open per segment plus a
  // constant, not a read of every segment or index.
  testing::FaultInjectionFileSystem fs;
  fs.FailNth(1'000'000, {.ops = testing::kOpRead});
  auto p = open(&fs);
  ASSERT_TRUE(p->recovery_report().clean_shutdown);
  int64_t segments = p->Stats().segments;
  EXPECT_LE(fs.op_count(), segments + 12);
  EXPECT_EQ(p->high_watermark(), Offset(800));
}

TEST_F(PartitionTest, ReopensAfterUncleanStopByScanningAboveTheRecoveryPoint) {
  config_.segment_bytes = 2000;
  {
    auto p = Open();
    for (int i = 0; i < 100; ++i)
      ASSERT_TRUE(p->Append(MakeBatch(Values(i, 1)), Acks::kLeader).ok());
    ASSERT_TRUE(p->Close().ok());
  }
  ASSERT_TRUE(FileSystem::Default()->RemoveFile(dir_.Sub("p0/clean-shutdown")).ok());
  auto p = Open();
  const RecoveryReport& rep = p->recovery_report();
  EXPECT_FALSE(rep.clean_shutdown);
  EXPECT_EQ(rep.segments_scanned, 1) << rep.ToString();  // only the active segment
  EXPECT_EQ(rep.truncated_bytes, 0);
  EXPECT_EQ(p->high_watermark(), Offset(100));
  auto recs = ReadAll(*p);
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_EQ(ValuesOf(*recs), Values(0, 100));
}

TEST_F(PartitionTest, OffsetForTimeUsesBatchMaxTimestamps) {
  config_.segment_bytes = 500;
  auto p = Open({.index_interval_bytes = 64});
  for (int i = 0; i < 60; ++i)
    ASSERT_TRUE(p->Append(MakeBatch(Values(i, 1), 1000 + 10 * i), Acks::kLeader).ok());
  for (int i : {0, 1, 17, 59}) {
    auto o = p->OffsetForTime(Timestamp(1000 + 10 * i));
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_EQ(*o, Offset(i));
    auto between = p->OffsetForTime(Timestamp(1000 + 10 * i - 5));
    ASSERT_TRUE(between.ok());
    EXPECT_EQ(*between, Offset(i));
  }
  EXPECT_EQ(*p->OffsetForTime(Timestamp(0)), Offset(0));
  EXPECT_EQ(*p->OffsetForTime(Timestamp(99999)), Offset(60));  // none: the HW
}

TEST_F(PartitionTest, IdempotentProducerDuplicatesGapsAndEpochs) {
  auto p = Open();
  ASSERT_TRUE(p->Append(MakeBatch({"x"}), Acks::kLeader).ok());  // offset 0, no producer
  auto a = p->Append(MakeBatch({"a", "b"}, 1000, 7, 0, 0), Acks::kLeader);
  ASSERT_TRUE(a.ok());
  auto b = p->Append(MakeBatch({"c"}, 1000, 7, 0, 2), Acks::kLeader);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(p->LastSequence(7), 2);
  auto dup = p->Append(MakeBatch({"a", "b"}, 1000, 7, 0, 0), Acks::kAll);
  ASSERT_TRUE(dup.ok()) << dup.status();
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->base_offset, Offset(1));
  EXPECT_EQ(dup->last_offset, Offset(2));
  auto gap = p->Append(MakeBatch({"e"}, 1000, 7, 0, 5), Acks::kLeader);
  EXPECT_EQ(gap.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(gap.status().message().find("3 was expected"), std::string::npos) << gap.status();
  ASSERT_TRUE(p->Append(MakeBatch({"f"}, 1000, 7, 1, 0), Acks::kLeader).ok());  // new epoch
  auto stale = p->Append(MakeBatch({"g"}, 1000, 7, 0, 3), Acks::kLeader);
  EXPECT_EQ(stale.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(p->LastSequence(7), 0);
  EXPECT_EQ(p->LastSequence(8), -1);
  EXPECT_EQ(p->high_watermark(), Offset(5));
}

TEST_F(PartitionTest, ProducerStateSurvivesCleanRestartsAndCrashes) {
  config_.segment_bytes = 300;
  {
    auto p = Open();
    for (int s = 0; s < 20; ++s) {
      ASSERT_TRUE(
          p->Append(MakeBatch({"v" + std::to_string(s)}, 1000, 42, 3, s), Acks::kLeader).ok());
    }
    ASSERT_TRUE(p->Close().ok());
  }
  {
    auto p = Open();
    EXPECT_EQ(p->LastSequence(42), 19);
    auto dup = p->Append(MakeBatch({"v19"}, 1000, 42, 3, 19), Acks::kLeader);
    ASSERT_TRUE(dup.ok());
    EXPECT_TRUE(dup->duplicate);
    EXPECT_EQ(dup->base_offset, Offset(19));
    ASSERT_TRUE(p->Append(MakeBatch({"v20"}, 1000, 42, 3, 20), Acks::kLeader).ok());
    ASSERT_TRUE(p->Close().ok());
  }
  // A crash: the marker is gone, so the state is rebuilt from the snapshot plus a scan.
  ASSERT_TRUE(FileSystem::Default()->RemoveFile(dir_.Sub("p0/clean-shutdown")).ok());
  ASSERT_TRUE(FileSystem::Default()->RemoveFile(dir_.Sub("p0/recovery-point")).ok());
  auto p = Open();
  EXPECT_EQ(p->LastSequence(42), 20);
  auto dup = p->Append(MakeBatch({"v18"}, 1000, 42, 3, 18), Acks::kLeader);
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->base_offset, Offset(18));
  EXPECT_EQ(p->Append(MakeBatch({"v22"}, 1000, 42, 3, 22), Acks::kLeader).status().code(),
            StatusCode::kOutOfRange);
}

TEST_F(PartitionTest, RetentionBySizeDeletesOldSegmentsAndMovesTheLogStart) {
  config_.segment_bytes = 1000;
  config_.retention_bytes = 3000;
  auto p = Open();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(p->Append(MakeBatch(Values(i, 1)), Acks::kLeader).ok());
  auto before = p->Stats();
  auto n = p->ApplyRetention(Now());
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_GT(*n, 0);
  auto after = p->Stats();
  EXPECT_EQ(after.segments, before.segments - *n);
  EXPECT_LE(after.bytes, 3000u + 1000u);
  EXPECT_GT(after.log_start_offset, Offset(0));
  auto r = p->Read(Offset(0), 100);
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
  auto recs = ReadAll(*p);
  ASSERT_TRUE(recs.ok());
  EXPECT_EQ(recs->front().offset, after.log_start_offset.value());
  Offset start = after.log_start_offset;
  p.reset();  // clean close
  // The log start survives an unclean restart too.
  ASSERT_TRUE(FileSystem::Default()->RemoveFile(dir_.Sub("p0/clean-shutdown")).ok());
  p = Open();
  EXPECT_EQ(p->log_start_offset(), start);
}

// reliability-scenarios: issue16 item 18
TEST_F(PartitionTest, RetentionBySizeKeepsAnActiveSegmentLargerThanTheLimit) {
  config_.segment_bytes = 4000;
  config_.retention_bytes = 100;  // smaller than the active segment will be
  auto p = Open();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(p->Append(MakeBatch(Values(i, 1)), Acks::kAll).ok());
  ASSERT_GT(p->Stats().segments, 1);
  auto n = p->ApplyRetention(Now());
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_GT(*n, 0);
  // Every sealed segment went; the active one, alone over the limit, stays whole.
  PartitionStats st = p->Stats();
  EXPECT_EQ(st.segments, 1);
  EXPECT_GT(st.bytes, 100u);
  EXPECT_EQ(p->high_watermark(), Offset(100));
  const Offset start = p->log_start_offset();
  ASSERT_LT(start, Offset(100));
  auto recs = ReadAll(*p);
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_EQ(ValuesOf(*recs),
            Values(static_cast<int>(start.value()), 100 - static_cast<int>(start.value())));
  // Retention again changes nothing, and appends go on at the next offset.
  auto again = p->ApplyRetention(Now());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 0);
  auto r = p->Append(MakeBatch({"next"}), Acks::kAll);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->base_offset, Offset(100));
  // All of it is still there after a restart.
  p.reset();
  p = Open();
  EXPECT_EQ(p->log_start_offset(), start);
  EXPECT_EQ(p->high_watermark(), Offset(101));
  recs = ReadAll(*p);
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_EQ(recs->size(), static_cast<size_t>(101 - start.value()));
}

TEST_F(PartitionTest, RetentionByTimeKeepsTheActiveSegment) {
  config_.segment_bytes = 500;
  config_.retention_ms = 1000;
  auto p = Open();
  for (int i = 0; i < 40; ++i)
    ASSERT_TRUE(p->Append(MakeBatch(Values(i, 1), 10'000 + i), Acks::kLeader).ok());
  auto none = p->ApplyRetention(Timestamp(10'500));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  auto all = p->ApplyRetention(Timestamp(1'000'000));
  ASSERT_TRUE(all.ok());
  EXPECT_GT(*all, 0);
  EXPECT_EQ(p->Stats().segments, 1);
  EXPECT_EQ(p->high_watermark(), Offset(40));
  auto r = p->Append(MakeBatch({"next"}), Acks::kLeader);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->base_offset, Offset(40));
}

// A reader that has durably consumed up to an offset (a job's repartition input) frees the
// segments below it; the segment holding the offset stays, and so does everything after it.
TEST_F(PartitionTest, DeleteSegmentsBeforeFreesOnlyWholeSegmentsBelowTheOffset) {
  config_.segment_bytes = 1000;
  auto p = Open();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(p->Append(MakeBatch(Values(i, 1)), Acks::kLeader).ok());
  const int segments = p->Stats().segments;
  ASSERT_GT(segments, 4);
  auto none = p->DeleteSegmentsBefore(Offset(0));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, 0);

  auto n = p->DeleteSegmentsBefore(Offset(50));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_GT(*n, 0);
  EXPECT_EQ(p->Stats().segments, segments - *n);
  const Offset start = p->log_start_offset();
  EXPECT_GT(start, Offset(0));
  EXPECT_LE(start, Offset(50));  // offset 50 is still readable
  auto recs = ReadAll(*p);
  ASSERT_TRUE(recs.ok());
  EXPECT_EQ(recs->front().offset, start.value());
  EXPECT_EQ(recs->back().offset, 99);
  EXPECT_EQ(p->Read(Offset(0), 100).status().code(), StatusCode::kOutOfRange);

  // Past the end: everything but the active segment goes; appends go on at the same offsets.
  auto all = p->DeleteSegmentsBefore(Offset(1000));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(p->Stats().segments, 1);
  EXPECT_EQ(p->high_watermark(), Offset(100));
  auto r = p->Append(MakeBatch({"next"}), Acks::kLeader);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->base_offset, Offset(100));

  // The new log start survives an unclean restart.
  const Offset kept = p->log_start_offset();
  p.reset();
  ASSERT_TRUE(FileSystem::Default()->RemoveFile(dir_.Sub("p0/clean-shutdown")).ok());
  p = Open();
  EXPECT_EQ(p->log_start_offset(), kept);
  EXPECT_EQ(p->high_watermark(), Offset(101));
}

// Kafka's DeleteRecords: the log start moves to the offset asked, inside a segment; records below
// it are gone for every reader (Read, time lookups, a reader from the log start), the whole
// segments below it are deleted, and the start survives clean and unclean restarts.
TEST_F(PartitionTest, DeleteRecordsMovesTheLogStartToTheExactOffset) {
  config_.segment_bytes = 1000;
  auto p = Open();
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(p->Append(MakeBatch(Values(i, 1), 1000 + i), Acks::kLeader).ok());
  const int segments = p->Stats().segments;
  ASSERT_GT(segments, 4);

  auto start = p->DeleteRecords(Offset(57));
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(*start, Offset(57));
  EXPECT_EQ(p->log_start_offset(), Offset(57));
  EXPECT_LT(p->Stats().segments, segments);
  EXPECT_EQ(p->Read(Offset(56), 100).status().code(), StatusCode::kOutOfRange);
  auto recs = ReadAll(*p);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 43u);
  EXPECT_EQ(recs->front().offset, 57);
  EXPECT_EQ(recs->front().value, "value-57");
  // The record of time 1010 is gone: the first at or after it is now the log start.
  auto at = p->OffsetForTime(Timestamp(1010));
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(at->offset, Offset(57));

  // Lower offsets never move it back; past the high watermark is refused.
  auto lower = p->DeleteRecords(Offset(10));
  ASSERT_TRUE(lower.ok()) << lower.status();
  EXPECT_EQ(*lower, Offset(57));
  EXPECT_EQ(p->DeleteRecords(Offset(101)).status().code(), StatusCode::kOutOfRange);

  // A read-only view of the directory sees the exact start too.
  {
    auto ro = Open({.read_only = true});
    EXPECT_EQ(ro->log_start_offset(), Offset(57));
  }
  ASSERT_TRUE(p->Close().ok());
  p = Open();
  EXPECT_EQ(p->log_start_offset(), Offset(57));
  p.reset();
  ASSERT_TRUE(FileSystem::Default()->RemoveFile(dir_.Sub("p0/clean-shutdown")).ok());
  p = Open();
  EXPECT_EQ(p->log_start_offset(), Offset(57));
  EXPECT_EQ(p->high_watermark(), Offset(100));
  EXPECT_EQ(p->Read(Offset(56), 100).status().code(), StatusCode::kOutOfRange);
}

// DeleteRecords up to the high watermark leaves the start at the end of the active segment; once
// that segment is sealed it lies wholly below the start, and the next retention pass deletes it
// even though nothing is past retention (in a compact-only topic too).
TEST_F(PartitionTest, RetentionDeletesSegmentsWhollyBelowTheLogStart) {
  for (const char* policy : {"delete", "compact"}) {
    SCOPED_TRACE(policy);
    config_.segment_bytes = 1000;
    config_.cleanup_policy =
        std::string(policy) == "delete" ? CleanupPolicy::kDelete : CleanupPolicy::kCompact;
    auto opened = Partition::Open(dir_.Sub(policy), "t", PartitionId(0), config_, {});
    ASSERT_TRUE(opened.ok()) << opened.status();
    std::unique_ptr<Partition> p = std::move(opened).value();
    for (int i = 0; i < 30; ++i)
      ASSERT_TRUE(p->Append(MakeBatch(Values(i, 1)), Acks::kLeader).ok());
    auto start = p->DeleteRecords(Offset(30));
    ASSERT_TRUE(start.ok()) << start.status();
    EXPECT_EQ(*start, Offset(30));
    EXPECT_EQ(p->Stats().segments, 1);
    // A batch too large for the active segment's room: it rolls at offset 30.
    ASSERT_TRUE(p->Append(MakeBatch({std::string(900, 'x')}), Acks::kLeader).ok());
    for (int i = 31; i < 60; ++i)
      ASSERT_TRUE(p->Append(MakeBatch(Values(i, 1)), Acks::kLeader).ok());
    const int segments = p->Stats().segments;
    ASSERT_GT(segments, 2);
    auto deleted = p->ApplyRetention(Timestamp(2000));
    ASSERT_TRUE(deleted.ok()) << deleted.status();
    EXPECT_EQ(*deleted, 1);
    EXPECT_EQ(p->Stats().segments, segments - 1);
    EXPECT_EQ(p->log_start_offset(), Offset(30));
    auto recs = ReadAll(*p);
    ASSERT_TRUE(recs.ok()) << recs.status();
    EXPECT_EQ(recs->size(), 30u);
  }
}

// A power cut at every file operation of a DeleteRecords: after the restart the log start is the
// old one or the new one (the new one whenever the call returned), never anything else, and every
// record from it to the high watermark reads back.
TEST_F(PartitionTest, PowerLossDuringDeleteRecordsLeavesTheOldOrTheNewLogStart) {
  config_.segment_bytes = 1000;
  {
    auto p = Open();
    for (int i = 0; i < 100; ++i)
      ASSERT_TRUE(p->Append(MakeBatch(Values(i, 1)), Acks::kLeader).ok());
    ASSERT_TRUE(p->Close().ok());
  }
  const std::string pristine = dir_.Sub("pristine");
  testing::CopyDir(dir_.Sub("p0"), pristine);
  auto reset = [&] {
    std::filesystem::remove_all(dir_.Sub("p0"));
    testing::CopyDir(pristine, dir_.Sub("p0"));
  };
  // 3 lies inside the first segment (no file is deleted), 57 several segments on.
  for (const int64_t target : {3, 57}) {
    int64_t ops = 0;
    {
      reset();
      testing::FaultInjectionFileSystem fs;
      auto p = Open({.fs = &fs});
      const int64_t before = fs.op_count();
      ASSERT_TRUE(p->DeleteRecords(Offset(target)).ok());
      ops = fs.op_count() - before;
    }
    ASSERT_GT(ops, 3);
    for (int64_t n = 1; n <= ops + 1; ++n) {
      SCOPED_TRACE(::testing::Message() << "DeleteRecords(" << target
                                        << "), power cut at operation " << n << " of " << ops);
      reset();
      testing::FaultInjectionFileSystem fs;
      auto p = Open({.fs = &fs});
      ASSERT_NE(p, nullptr);
      fs.FailNth(n, {.persistent = true});
      const bool returned = p->DeleteRecords(Offset(target)).ok();
      fs.Freeze();
      p.reset();
      ASSERT_TRUE(fs.DropUnsyncedData().ok());
      fs.Unfreeze();
      fs.ClearFaults();
      p = Open({.fs = &fs});
      ASSERT_NE(p, nullptr);
      const Offset start = p->log_start_offset();
      if (returned) {
        EXPECT_EQ(start, Offset(target));
      } else {
        EXPECT_TRUE(start == Offset(0) || start == Offset(target)) << start.value();
      }
      EXPECT_EQ(p->high_watermark(), Offset(100));
      auto recs = ReadAll(*p);
      ASSERT_TRUE(recs.ok()) << recs.status();
      ASSERT_EQ(static_cast<int64_t>(recs->size()), 100 - start.value());
      EXPECT_EQ(recs->front().value, "value-" + std::to_string(start.value()));
    }
  }
}

TEST_F(PartitionTest, ReadOnlyReaderSeesAppendsOfTheWriter) {
  config_.segment_bytes = 700;
  auto w = Open();
  ASSERT_TRUE(w->Append(MakeBatch(Values(0, 3)), Acks::kLeader).ok());
  auto r = Open({.read_only = true});
  EXPECT_EQ(r->high_watermark(), Offset(3));
  for (int i = 1; i < 40; ++i)
    ASSERT_TRUE(w->Append(MakeBatch(Values(i * 3, 3)), Acks::kLeader).ok());
  EXPECT_TRUE(
      r->WaitForData(Offset(100), std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  EXPECT_EQ(r->high_watermark(), Offset(120));
  auto recs = ReadAll(*r);
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_EQ(ValuesOf(*recs), Values(0, 120));
  EXPECT_EQ(r->Append(MakeBatch({"x"}), Acks::kLeader).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_GT(r->Stats().segments, 1);
}

TEST_F(PartitionTest, ReadOnlyReaderOfAMissingPartitionWaitsForTheWriter) {
  auto r = Open({.read_only = true});
  EXPECT_EQ(r->high_watermark(), Offset(0));
  EXPECT_FALSE(FileSystem::Default()->Exists(dir_.Sub("p0")));  // it created nothing
  auto w = Open();
  ASSERT_TRUE(w->Append(MakeBatch(Values(0, 2)), Acks::kLeader).ok());
  EXPECT_TRUE(
      r->WaitForData(Offset(1), std::chrono::steady_clock::now() + std::chrono::seconds(5)));
}

TEST_F(PartitionTest, WaitForDataWakesWhenAnotherThreadAppends) {
  auto p = Open();
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(p->Append(MakeBatch({"late"}), Acks::kLeader).ok());
  });
  EXPECT_TRUE(
      p->WaitForData(Offset(0), std::chrono::steady_clock::now() + std::chrono::seconds(30)));
  t.join();
  EXPECT_FALSE(p->WaitForData(Offset(1), std::chrono::steady_clock::now()));
}

// A WakeSignal registered with two partitions wakes for an append to either, and no longer once
// removed.
TEST_F(PartitionTest, ListenersAreNotifiedOfEveryAppendUntilRemoved) {
  auto p = Open();
  auto opened = Partition::Open(dir_.Sub("p1"), "t", PartitionId(1), config_, {});
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Partition> q = std::move(opened).value();
  WakeSignal signal;
  p->AddListener(&signal);
  q->AddListener(&signal);
  uint64_t seen = signal.count();
  std::thread t([&] { ASSERT_TRUE(q->Append(MakeBatch({"x"}), Acks::kLeader).ok()); });
  EXPECT_TRUE(signal.WaitFor(seen, std::chrono::steady_clock::now() + std::chrono::seconds(30)));
  t.join();
  seen = signal.count();
  ASSERT_TRUE(p->Append(MakeBatch({"y"}), Acks::kLeader).ok());
  EXPECT_NE(signal.count(), seen);
  p->RemoveListener(&signal);
  q->RemoveListener(&signal);
  seen = signal.count();
  ASSERT_TRUE(p->Append(MakeBatch({"z"}), Acks::kLeader).ok());
  ASSERT_TRUE(q->Append(MakeBatch({"z"}), Acks::kLeader).ok());
  EXPECT_EQ(signal.count(), seen);
  EXPECT_FALSE(signal.WaitFor(seen, std::chrono::steady_clock::now()));
}

TEST_F(PartitionTest, ConcurrentAcksAllAppendsShareFsyncsAndGetDenseOffsets) {
  config_.segment_bytes = 4000;
  auto p = Open();
  constexpr int kThreads = 8, kPerThread = 40;
  std::vector<std::vector<int64_t>> offsets(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r =
            p->Append(MakeBatch({"t" + std::to_string(t) + "-" + std::to_string(i)}), Acks::kAll);
        ASSERT_TRUE(r.ok()) << r.status();
        offsets[t].push_back(r->base_offset.value());
      }
    });
  }
  for (auto& t : ts) t.join();
  std::vector<int64_t> all;
  for (auto& v : offsets) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], static_cast<int64_t>(i));
  auto recs = ReadAll(*p);
  ASSERT_TRUE(recs.ok());
  ASSERT_EQ(recs->size(), all.size());
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_EQ((*recs)[offsets[t][i]].value, "t" + std::to_string(t) + "-" + std::to_string(i));
    }
  }
}

}  // namespace
}  // namespace sluice
