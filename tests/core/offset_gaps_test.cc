// A log whose offsets have gaps (core/offset_rule.h), as compaction and transaction control
// batches make them, built through Partition::AppendKeepingOffsets: reads from any offset
// (inside a gap too), reopening after a clean close and after a crash, recovery that keeps the
// gaps but still cuts a torn tail after one.
#include <gtest/gtest.h>

#include "core/crc32c.h"
#include "core/partition.h"
#include "core/partition_reader.h"
#include "core/record_batch_format.h"
#include "core/validated_batch.h"
#include "core/varint.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/storage_util.h"

namespace sluice {
namespace {

using testing::BatchStarts;
using testing::CrashPartition;
using testing::FaultInjectionFileSystem;
using testing::SegmentLogs;
using testing::TempDir;

// Batches of consecutive records at these base offsets: gaps inside segments and between them.
struct BatchRun {
  int64_t base;
  int records;
};
const std::vector<BatchRun> kLayout = {{0, 3}, {5, 2}, {7, 1}, {20, 4}, {40, 1}, {41, 2}, {90, 3}};
constexpr int64_t kEnd = 93;

std::string ValueAt(int64_t offset) { return "v" + std::to_string(offset); }
int64_t TimeAt(int64_t offset) { return 1000 + 10 * offset; }

// The batch of `run`, its baseOffset already set (the CRC does not cover it).
std::string BatchOf(const BatchRun& run) {
  RecordBatchBuilder b;
  for (int i = 0; i < run.records; ++i) {
    std::string v = ValueAt(run.base + i);
    b.Add(Timestamp(TimeAt(run.base + i)), std::nullopt, std::string_view(v));
  }
  std::string bytes = b.Finish();
  SetBaseOffset(bytes.data(), Offset(run.base));
  return bytes;
}

// Offsets holding a record, in order, from `from` on.
std::vector<int64_t> OffsetsFrom(int64_t from, const std::vector<BatchRun>& layout = kLayout) {
  std::vector<int64_t> out;
  for (const BatchRun& r : layout) {
    for (int i = 0; i < r.records; ++i) {
      if (r.base + i >= from) out.push_back(r.base + i);
    }
  }
  return out;
}

class OffsetGapsTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<Partition>> OpenAt(FileSystem* fs = nullptr, bool verify_all = false) {
    PartitionOptions o{.fs = fs, .index_interval_bytes = 64, .verify_all = verify_all};
    return Partition::Open(dir_, "t", PartitionId(0), config_, o);
  }

  // Appends kLayout keeping its offsets, then leaves the partition as kill -9 would.
  void BuildCrashed() {
    FaultInjectionFileSystem fs;
    auto p = OpenAt(&fs);
    ASSERT_TRUE(p.ok()) << p.status();
    for (const BatchRun& run : kLayout) {
      std::string bytes = BatchOf(run);
      auto valid = ValidatedBatch::Validate(bytes);
      ASSERT_TRUE(valid.ok()) << valid.status();
      auto r = (*p)->AppendKeepingOffsets(*valid, Acks::kLeader);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->base_offset, Offset(run.base));
      EXPECT_EQ(r->last_offset, Offset(run.base + run.records - 1));
    }
    CrashPartition(&p.value(), &fs);
  }

  // Reads everything from `from` with a PartitionReader; the offsets and values must match.
  static void ExpectReadFrom(const Partition& p, int64_t from, const std::vector<int64_t>& want) {
    SCOPED_TRACE(::testing::Message() << "reading from " << from);
    PartitionReader reader(&p, Offset(from), /*read_bytes=*/1);
    RecordView rec;
    std::vector<int64_t> got;
    while (true) {
      auto next = reader.Next(&rec);
      ASSERT_TRUE(next.ok()) << next.status();
      if (!*next) break;
      ASSERT_EQ(rec.value, ValueAt(rec.offset.value()));
      ASSERT_EQ(rec.timestamp, Timestamp(TimeAt(rec.offset.value())));
      got.push_back(rec.offset.value());
    }
    EXPECT_EQ(got, want);
    EXPECT_EQ(reader.position(), p.high_watermark());
  }

  static void ExpectWholeLog(const Partition& p, int64_t end = kEnd,
                             const std::vector<BatchRun>& layout = kLayout) {
    ASSERT_EQ(p.high_watermark(), Offset(end));
    for (int64_t from = 0; from <= end; ++from) ExpectReadFrom(p, from, OffsetsFrom(from, layout));
  }

  TempDir tmp_{/*in_memory=*/true};
  std::string dir_ = tmp_.Sub("p0");
  TopicConfig config_;
};

TEST_F(OffsetGapsTest, ReadsFromEveryOffsetIncludingInsideAGap) {
  BuildCrashed();
  auto p = OpenAt();
  ASSERT_TRUE(p.ok()) << p.status();
  ExpectWholeLog(**p);
  // A positioned read inside a gap returns the batch after it.
  auto read = (*p)->Read(Offset(10), 1);
  ASSERT_TRUE(read.ok()) << read.status();
  std::vector<testing::ReadRecord> recs;
  ASSERT_TRUE(testing::DecodeBatches(read->data, &recs).ok());
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs.front().offset, 20);
  // A time inside a gap finds the first record after it, with that record's timestamp.
  auto at = (*p)->OffsetForTime(Timestamp(TimeAt(30)));
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(at->offset, Offset(40));
  EXPECT_EQ(at->timestamp, Timestamp(TimeAt(40)));
}

TEST_F(OffsetGapsTest, RecoveryAfterACrashKeepsTheGaps) {
  BuildCrashed();
  auto p = OpenAt();
  ASSERT_TRUE(p.ok()) << p.status();
  const RecoveryReport& rep = (*p)->recovery_report();
  EXPECT_FALSE(rep.clean_shutdown);
  EXPECT_GT(rep.segments_scanned, 0);
  EXPECT_EQ(rep.truncated_bytes, 0) << rep.ToString();
  EXPECT_EQ(rep.segments_deleted, 0) << rep.ToString();
  ExpectWholeLog(**p);
  // New appends continue densely from the end, and a clean reopen sees the same log.
  auto next = (*p)->Append(testing::MakeBatch({ValueAt(kEnd)}, TimeAt(kEnd)), Acks::kLeader);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->base_offset, Offset(kEnd));
  ASSERT_TRUE((*p)->Close().ok());
  p->reset();
  auto again = OpenAt();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE((*again)->recovery_report().clean_shutdown);
  std::vector<BatchRun> layout = kLayout;
  layout.push_back({kEnd, 1});
  ExpectWholeLog(**again, kEnd + 1, layout);
}

// Segments small enough that most batches roll: segments start after gaps, and the recovery
// point (written at each roll) is below the last two, which recovery scans.
TEST_F(OffsetGapsTest, RecoveryAcceptsGapsBetweenSegmentsAndAScrubToo) {
  config_.segment_bytes = 150;
  BuildCrashed();
  ASSERT_GE(SegmentLogs(dir_).size(), 4u);
  {
    auto p = OpenAt();
    ASSERT_TRUE(p.ok()) << p.status();
    const RecoveryReport& rep = (*p)->recovery_report();
    EXPECT_GE(rep.segments_scanned, 2) << rep.ToString();
    EXPECT_EQ(rep.truncated_bytes, 0) << rep.ToString();
    EXPECT_EQ(rep.segments_deleted, 0) << rep.ToString();
    ExpectWholeLog(**p);
  }
  auto scrubbed = OpenAt(nullptr, /*verify_all=*/true);
  ASSERT_TRUE(scrubbed.ok()) << scrubbed.status();
  ExpectWholeLog(**scrubbed);
}

// The last batch (offsets 90-92, after the gap 43-89) is torn: it goes, the gap before it and
// everything below stay.
TEST_F(OffsetGapsTest, RecoveryStillCutsATornTailAfterAGap) {
  BuildCrashed();
  ASSERT_EQ(SegmentLogs(dir_).size(), 1u);
  const std::string log = JoinPath(dir_, SegmentLogs(dir_).back());
  std::vector<uint64_t> starts = BatchStarts(log);
  ASSERT_EQ(starts.size(), kLayout.size() + 1);
  const uint64_t torn = starts[starts.size() - 2];
  const uint64_t cut = torn + (starts.back() - torn) / 2;
  ASSERT_TRUE(FileSystem::Default()->Truncate(log, cut).ok());
  auto p = OpenAt();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->recovery_report().truncated_bytes, static_cast<int64_t>(cut - torn))
      << (*p)->recovery_report().ToString();
  std::vector<BatchRun> kept(kLayout.begin(), kLayout.end() - 1);
  ExpectWholeLog(**p, 43, kept);
}

TEST_F(OffsetGapsTest, KeepingOffsetsRefusesToGoBackwards) {
  auto p = OpenAt();
  ASSERT_TRUE(p.ok()) << p.status();
  std::string first = BatchOf({10, 2});
  ASSERT_TRUE((*p)->AppendKeepingOffsets(*ValidatedBatch::Validate(first), Acks::kLeader).ok());
  std::string overlapping = BatchOf({11, 1});
  auto r = (*p)->AppendKeepingOffsets(*ValidatedBatch::Validate(overlapping), Acks::kLeader);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  EXPECT_EQ((*p)->high_watermark(), Offset(12));
}

// A compacted batch keeps its lastOffsetDelta but holds fewer records: the stored rule accepts
// it, the rule for new appends does not, and readers step over its missing offsets.
TEST_F(OffsetGapsTest, ACompactedBatchHasGapsInside) {
  RecordBatchBuilder b;
  b.Add(Timestamp(TimeAt(0)), std::nullopt, std::string_view(ValueAt(0)));
  b.Add(Timestamp(TimeAt(4)), std::nullopt, std::string_view(ValueAt(4)));
  std::string bytes = b.Finish();
  // Records at deltas 0 and 4 of a batch covering 0..5: patch the second record's offset delta
  // (a one-byte varint 1 -> 4) and the batch's lastOffsetDelta, then re-seal the CRC.
  RecordBatchView view = *RecordBatchView::Parse(bytes);
  RecordBatchView::Cursor c;
  RecordView r;
  ASSERT_TRUE(view.Next(&c, &r).ok());
  const size_t second = c.byte;
  ASSERT_EQ(bytes[second + 3], 2);  // length, attributes, timestamp delta 40, offset delta 1
  bytes[second + 3] = 8;            // zigzag varint of 4
  varint::PutBE32(bytes.data() + batch_format::kLastOffsetDelta, 5);
  varint::PutBE32(bytes.data() + batch_format::kCrc,
                  crc32c::Value(bytes.data() + batch_format::kAttributes,
                                bytes.size() - batch_format::kAttributes));
  EXPECT_EQ(ValidatedBatch::Validate(bytes).status().code(), StatusCode::kCorruption);
  auto stored = ValidatedBatch::Validate(bytes, OffsetRule::kStored);
  ASSERT_TRUE(stored.ok()) << stored.status();

  auto p = OpenAt();
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE((*p)->AppendKeepingOffsets(*stored, Acks::kLeader).ok());
  EXPECT_EQ((*p)->high_watermark(), Offset(6));
  ExpectReadFrom(**p, 0, {0, 4});
  ExpectReadFrom(**p, 1, {4});
  ExpectReadFrom(**p, 5, {});
  auto next = (*p)->Append(testing::MakeBatch({ValueAt(6)}, TimeAt(6)), Acks::kLeader);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->base_offset, Offset(6));
  p->reset();
  auto again = OpenAt(nullptr, /*verify_all=*/true);
  ASSERT_TRUE(again.ok()) << again.status();
  ExpectReadFrom(**again, 0, {0, 4, 6});
}

}  // namespace
}  // namespace sluice
