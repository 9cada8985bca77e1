// Damage that is not a torn tail (issue 16 items 6, 7, 8 and 12): recovery never cuts fsynced
// data it cannot prove torn, a writer refuses a damaged partition naming `sluice topic repair`,
// a read-only view reads every intact record before the damage and then gets the error, lost
// segments are told from legal gaps by the segment list, and a repair accepts the loss. The
// catalogue is in tests/README.md.
#include <gtest/gtest.h>

#include "core/partition.h"
#include "core/record_batch_format.h"
#include "tests/testing/storage_util.h"

namespace sluice {
namespace {

using testing::BatchStarts;
using testing::PatchFile;
using testing::ReadFileOrDie;
using testing::ReadRecord;
using testing::SegmentLogs;
using testing::TempDir;
using testing::WriteFileOrDie;

std::string ValueFor(int64_t offset) { return "rec-" + std::to_string(offset); }

// Records read from the log start until the first error (or the high watermark).
struct Readout {
  std::vector<ReadRecord> records;
  Status error;
};
Readout ReadUntilError(const Partition& p) {
  Readout out;
  int64_t o = p.log_start_offset().value();
  while (o < p.high_watermark().value()) {
    auto r = p.Read(Offset(o), 4096);
    if (!r.ok()) {
      out.error = r.status();
      break;
    }
    std::vector<ReadRecord> recs;
    Status s = testing::DecodeBatches(r->data, &recs);
    if (!s.ok()) {
      out.error = s;
      break;
    }
    if (recs.empty()) break;
    for (const ReadRecord& rec : recs) {
      if (rec.offset >= o) out.records.push_back(rec);
    }
    o = recs.back().offset + 1;
  }
  return out;
}

class StorageDamageTest : public ::testing::Test {
 protected:
  StorageDamageTest() { config_.segment_bytes = 4 << 10; }

  Result<std::unique_ptr<Partition>> OpenAt(bool read_only = false, bool repair = false) {
    PartitionOptions o{.read_only = read_only, .repair = repair};
    return Partition::Open(dir_, "t", PartitionId(0), config_, o);
  }

  // 3,000 records in batches of 10 over many segments, closed cleanly.
  void Build() {
    auto p = OpenAt();
    ASSERT_TRUE(p.ok()) << p.status();
    for (int64_t base = 0; base < kRecords; base += 10) {
      RecordBatchBuilder b;
      for (int k = 0; k < 10; ++k) {
        std::string v = ValueFor(base + k);
        b.Add(Timestamp(1000 + base + k), std::nullopt, std::string_view(v));
      }
      auto r = (*p)->Append(b.Finish(), Acks::kLeader);
      ASSERT_TRUE(r.ok()) << r.status();
    }
    ASSERT_TRUE((*p)->Close().ok());
    ASSERT_GE(SegmentLogs(dir_).size(), 5u);
  }
  std::string Log(size_t i) const { return JoinPath(dir_, SegmentLogs(dir_)[i]); }
  static int64_t BaseOfFile(const std::string& log) {
    return std::stoll(log.substr(log.size() - 24, 20));
  }
  static void FlipByteInBatch(const std::string& log, size_t batch) {
    uint64_t at = BatchStarts(log)[batch] + batch_format::kHeaderSize + 5;
    std::string data = ReadFileOrDie(log);
    PatchFile(log, at, std::string(1, static_cast<char>(data[at] ^ 0x01)));
  }
  void RemoveSegment(const std::string& log) {
    for (std::string_view suffix : {".log", ".index", ".timeindex"}) {
      std::string f = log.substr(0, log.size() - 4) + std::string(suffix);
      if (FileSystem::Default()->Exists(f)) ASSERT_TRUE(FileSystem::Default()->RemoveFile(f).ok());
    }
  }
  void Unclean() { ASSERT_TRUE(FileSystem::Default()->RemoveFile(CleanMarker()).ok()); }
  std::string CleanMarker() const { return JoinPath(dir_, "clean-shutdown"); }

  // A read-only view returns exactly the records [0, end) and then kCorruption.
  void ExpectPrefixThenError(int64_t end, std::string_view error_names, int64_t hw = kRecords) {
    auto ro = OpenAt(/*read_only=*/true);
    ASSERT_TRUE(ro.ok()) << ro.status();
    EXPECT_EQ((*ro)->high_watermark(), Offset(hw));  // the end the metadata vouches for
    Readout got = ReadUntilError(**ro);
    ASSERT_EQ(got.records.size(), static_cast<size_t>(end));
    for (int64_t o = 0; o < end; ++o) {
      ASSERT_EQ(got.records[o].offset, o);
      ASSERT_EQ(got.records[o].value, ValueFor(o));
    }
    EXPECT_EQ(got.error.code(), StatusCode::kCorruption) << got.error;
    EXPECT_NE(got.error.message().find(error_names), std::string::npos) << got.error;
  }
  // A writer refuses, names the repair command, and changes no file.
  void ExpectWriterRefuses() {
    auto before = testing::Snapshot(dir_);
    auto w = OpenAt();
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.status().code(), StatusCode::kCorruption);
    EXPECT_NE(w.status().message().find("sluice topic repair t --partition 0"), std::string::npos)
        << w.status();
    EXPECT_TRUE(testing::Snapshot(dir_) == before) << "the refused open changed files";
  }

  static constexpr int64_t kRecords = 3000;
  TempDir tmp_{/*in_memory=*/true};
  std::string dir_ = tmp_.Sub("p");
  TopicConfig config_;
};

// reliability-scenarios: issue16 item 6
TEST_F(StorageDamageTest, Issue16Item6NoRecoveryPointAndAFlippedByteIsCorruptionNotATornTail) {
  Build();
  WriteFileOrDie(JoinPath(dir_, "recovery-point"), "garbage");
  std::string second = Log(1);
  int64_t bad = BaseOfFile(second) + 10 * 2;  // the third batch of the second segment
  FlipByteInBatch(second, 2);
  // Without the recovery point the end known durably is the active segment's base.
  ExpectPrefixThenError(bad, SegmentLogs(dir_)[1], BaseOfFile(Log(SegmentLogs(dir_).size() - 1)));
  ExpectWriterRefuses();
  // Without the segment list either, damage before the last segment is still corruption.
  ASSERT_TRUE(FileSystem::Default()->RemoveFile(JoinPath(dir_, "segments")).ok());
  ExpectWriterRefuses();
}

// reliability-scenarios: issue16 item 7
TEST_F(StorageDamageTest, Issue16Item7AMissingMiddleSegmentIsReportedNotSkipped) {
  Build();
  std::string third = Log(2);
  int64_t lost = BaseOfFile(third);
  RemoveSegment(third);
  ExpectPrefixThenError(lost, "is missing");
  ExpectWriterRefuses();
}

// reliability-scenarios: issue16 item 7
TEST_F(StorageDamageTest, Issue16Item7AMissingFirstSegmentDoesNotMoveTheLogStart) {
  Build();
  std::string first = Log(0);
  RemoveSegment(first);
  auto ro = OpenAt(/*read_only=*/true);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ((*ro)->log_start_offset(), Offset(0));
  Readout got = ReadUntilError(**ro);
  EXPECT_TRUE(got.records.empty());
  EXPECT_EQ(got.error.code(), StatusCode::kCorruption) << got.error;
  ExpectWriterRefuses();
}

// reliability-scenarios: issue16 item 8
TEST_F(StorageDamageTest, Issue16Item8AnEditedBaseOffsetIsDamageNotRenumbering) {
  Build();
  std::string second = Log(1);
  std::vector<uint64_t> starts = BatchStarts(second);
  int64_t edited = BaseOfFile(second) + 10 * 3;
  std::string be(8, '\0');
  for (int i = 0; i < 8; ++i) be[i] = static_cast<char>((edited + 7) >> (56 - 8 * i));
  PatchFile(second, starts[3] + batch_format::kBaseOffset, be);
  for (bool clean : {true, false}) {
    SCOPED_TRACE(clean ? "after a clean shutdown" : "after a crash");
    if (!clean) Unclean();
    auto p = OpenAt(/*read_only=*/true);
    ASSERT_TRUE(p.ok()) << p.status();
    Readout got = ReadUntilError(**p);
    ASSERT_EQ(got.records.size(), static_cast<size_t>(edited));
    for (int64_t o = 0; o < edited; ++o) ASSERT_EQ(got.records[o].value, ValueFor(o));
    EXPECT_EQ(got.error.code(), StatusCode::kCorruption) << got.error;
    EXPECT_NE(got.error.message().find("baseOffset"), std::string::npos) << got.error;
    // Reading from just after the renumbered batch must not skip or renumber either.
    auto after = (*p)->Read(Offset(edited + 10), 4096);
    ASSERT_FALSE(after.ok());
    EXPECT_EQ(after.status().code(), StatusCode::kCorruption);
  }
}

// reliability-scenarios: issue16 item 12
TEST_F(StorageDamageTest, Issue16Item12DamageInTheLastSegmentKeepsTheRestReadable) {
  Build();
  Unclean();  // the recovery point is the log end: the whole last segment is fsynced
  std::string last = Log(SegmentLogs(dir_).size() - 1);
  size_t nbatches = BatchStarts(last).size() - 1;
  ASSERT_GE(nbatches, 3u);
  int64_t bad = BaseOfFile(last) + 10 * static_cast<int64_t>(nbatches / 2);
  FlipByteInBatch(last, nbatches / 2);
  ExpectPrefixThenError(bad, SegmentLogs(dir_).back());
  ExpectWriterRefuses();
}

// reliability-scenarios: issue16 item 12 (`sluice topic repair`: dry run, then the cut)
TEST_F(StorageDamageTest, Issue16Item12RepairCutsAtTheDamageAndReportsTheLostOffsets) {
  Build();
  Unclean();
  std::vector<std::string> logs = SegmentLogs(dir_);
  std::string second = Log(1);
  int64_t bad = BaseOfFile(second) + 10 * 2;
  FlipByteInBatch(second, 2);

  auto before = testing::Snapshot(dir_);
  auto dry = OpenAt(/*read_only=*/true, /*repair=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ((*dry)->recovery_report().lost_begin, Offset(bad));
  EXPECT_EQ((*dry)->recovery_report().lost_end, Offset(kRecords));
  EXPECT_TRUE(testing::Snapshot(dir_) == before) << "the dry run changed files";

  {
    auto fix = OpenAt(/*read_only=*/false, /*repair=*/true);
    ASSERT_TRUE(fix.ok()) << fix.status();
    const RecoveryReport& rep = (*fix)->recovery_report();
    EXPECT_EQ(rep.lost_begin, Offset(bad)) << rep.ToString();
    EXPECT_EQ(rep.lost_end, Offset(kRecords)) << rep.ToString();
    EXPECT_EQ(rep.segments_deleted, static_cast<int64_t>(logs.size() - 2)) << rep.ToString();
  }  // crash-free close; now open as an ordinary writer after a crash: the cut is durable
  Unclean();
  auto p = OpenAt();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->high_watermark(), Offset(bad));
  Readout got = ReadUntilError(**p);
  EXPECT_TRUE(got.error.ok()) << got.error;
  ASSERT_EQ(got.records.size(), static_cast<size_t>(bad));
  RecordBatchBuilder b;
  b.Add(Timestamp(1), std::nullopt, std::string_view("after the repair"));
  auto r = (*p)->Append(b.Finish(), Acks::kAll);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->base_offset, Offset(bad));
}

// reliability-scenarios: issue16 item 7 (a repair also accepts a lost segment)
TEST_F(StorageDamageTest, Issue16Item7RepairDropsEverythingFromAMissingSegmentOn) {
  Build();
  size_t n = SegmentLogs(dir_).size();
  std::string third = Log(2);
  int64_t lost = BaseOfFile(third);
  RemoveSegment(third);
  {
    auto fix = OpenAt(/*read_only=*/false, /*repair=*/true);
    ASSERT_TRUE(fix.ok()) << fix.status();
    EXPECT_EQ((*fix)->recovery_report().lost_begin, Offset(lost));
    EXPECT_EQ((*fix)->recovery_report().lost_end, Offset(kRecords));
  }
  EXPECT_EQ(SegmentLogs(dir_).size(), 2u) << n;
  auto p = OpenAt();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->high_watermark(), Offset(lost));
}

}  // namespace
}  // namespace sluice
