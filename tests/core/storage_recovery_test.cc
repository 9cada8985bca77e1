// Recovery of a partition after crashes and damage: reliability scenarios A1 (torn tail),
// A2 (garbage and zero tails, garbage index), A3 (CRC flips above and below the recovery point),
// A4 (indexes missing, truncated, lying, orphaned) and A8 (crash during recovery; recovery is
// idempotent). The catalogue is in tests/README.md.
#include <gtest/gtest.h>

#include <random>

#include "core/offset_index.h"
#include "core/partition.h"
#include "core/record_batch_format.h"
#include "core/varint.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/storage_util.h"

namespace sluice {
namespace {

using testing::BatchStarts;
using testing::CopyDir;
using testing::CrashPartition;
using testing::FaultInjectionFileSystem;
using testing::ReadAll;
using testing::ReadFileOrDie;
using testing::SegmentLogs;
using testing::Snapshot;
using testing::TempDir;
using testing::WriteFileOrDie;

// Values differ in length so that batches do too.
std::string ValueFor(int64_t offset) {
  return "rec-" + std::to_string(offset) + std::string(offset * 7 % 23, 'x');
}
int64_t TimestampFor(int64_t offset) { return 1'000'000 + offset * 10; }

class StorageRecoveryTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<Partition>> OpenAt(const std::string& dir, FileSystem* fs = nullptr,
                                            bool verify_all = false) {
    PartitionOptions o{.fs = fs, .index_interval_bytes = index_interval_, .verify_all = verify_all};
    return Partition::Open(dir, "t", PartitionId(0), config_, o);
  }

  // Appends `batches` batches of 1..3 records; returns the offsets at which batches start.
  std::vector<int64_t> Fill(Partition* p, int batches) {
    std::vector<int64_t> starts;
    for (int i = 0; i < batches; ++i) {
      int64_t base = p->high_watermark().value();
      RecordBatchBuilder b;
      for (int k = 0; k < i % 3 + 1; ++k) {
        std::string v = ValueFor(base + k);
        b.Add(Timestamp(TimestampFor(base + k)), std::nullopt, std::string_view(v));
      }
      auto r = p->Append(b.Finish(), Acks::kLeader);
      SLUICE_CHECK(r.ok() && r->base_offset == Offset(base));
      starts.push_back(base);
    }
    return starts;
  }

  // A partition with `batches` batches left as a kill -9 would leave it.
  std::vector<int64_t> BuildCrashed(const std::string& dir, int batches,
                                    std::function<void(Partition*)> after = nullptr) {
    FaultInjectionFileSystem fs;
    auto p = OpenAt(dir, &fs);
    SLUICE_CHECK(p.ok());
    std::vector<int64_t> starts = Fill(p->get(), batches);
    if (after) after(p->get());
    CrashPartition(&p.value(), &fs);
    return starts;
  }

  static void ExpectRecords(const Partition& p, int64_t end) {
    ASSERT_EQ(p.high_watermark(), Offset(end));
    auto recs = ReadAll(p);
    ASSERT_TRUE(recs.ok()) << recs.status();
    ASSERT_EQ(recs->size(), static_cast<size_t>(end));
    for (int64_t o = 0; o < end; ++o) {
      ASSERT_EQ((*recs)[o].value, ValueFor(o)) << "offset " << o;
      ASSERT_EQ((*recs)[o].timestamp, TimestampFor(o)) << "offset " << o;
    }
  }

  // Every offset is found by a positioned read (exercises the offset index).
  static void ExpectLookups(const Partition& p) {
    for (int64_t o = p.log_start_offset().value(); o < p.high_watermark().value(); ++o) {
      auto r = p.Read(Offset(o), 1);
      ASSERT_TRUE(r.ok()) << r.status();
      std::vector<testing::ReadRecord> recs;
      ASSERT_TRUE(testing::DecodeBatches(r->data, &recs).ok());
      auto it = std::find_if(recs.begin(), recs.end(),
                             [&](const testing::ReadRecord& x) { return x.offset == o; });
      ASSERT_NE(it, recs.end()) << "offset " << o;
      ASSERT_EQ(it->value, ValueFor(o));
    }
  }

  TempDir tmp_{/*in_memory=*/true};
  TopicConfig config_;
  int32_t index_interval_ = 4096;
};

// A1: 50 seeds, each cutting the last segment inside one of its last 1-3 batches.
TEST_F(StorageRecoveryTest, TruncatesATornTailAtTheLastWholeBatch) {
  const std::string pristine = tmp_.Sub("pristine");
  std::vector<int64_t> starts = BuildCrashed(pristine, 1000);
  std::string log_name = SegmentLogs(pristine).back();
  std::vector<uint64_t> pos = BatchStarts(JoinPath(pristine, log_name));
  ASSERT_EQ(pos.size(), starts.size() + 1);
  for (uint64_t seed = 0; seed < 50; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    std::mt19937_64 rng(seed);
    std::string dir = tmp_.Sub("a1-" + std::to_string(seed));
    CopyDir(pristine, dir);
    size_t torn = starts.size() - 1 - rng() % 3;  // one of the last three batches
    uint64_t cut = pos[torn] + 1 + rng() % (pos[torn + 1] - pos[torn] - 1);
    ASSERT_TRUE(FileSystem::Default()->Truncate(JoinPath(dir, log_name), cut).ok());
    auto p = OpenAt(dir);
    ASSERT_TRUE(p.ok()) << p.status();
    const RecoveryReport& rep = (*p)->recovery_report();
    EXPECT_FALSE(rep.clean_shutdown);
    EXPECT_EQ(rep.truncated_bytes, static_cast<int64_t>(cut - pos[torn])) << rep.ToString();
    ExpectRecords(**p, starts[torn]);
    auto next = (*p)->Append(testing::MakeBatch({"after"}, 7), Acks::kLeader);
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(next->base_offset, Offset(starts[torn]));
    p->reset();
    auto again = OpenAt(dir);  // and the appended batch is where it should be after a reopen
    ASSERT_TRUE(again.ok()) << again.status();
    auto recs = ReadAll(**again);
    ASSERT_TRUE(recs.ok()) << recs.status();
    ASSERT_EQ(recs->size(), static_cast<size_t>(starts[torn] + 1));
    EXPECT_EQ(recs->back().value, "after");
  }
}

// A2: random bytes or zeros after the last batch, random bytes in indexes.
TEST_F(StorageRecoveryTest, DropsGarbageAndZeroTailsAndRebuildsGarbageIndexes) {
  config_.segment_bytes = 16 << 10;
  index_interval_ = 512;
  const std::string pristine = tmp_.Sub("pristine");
  std::vector<int64_t> starts = BuildCrashed(pristine, 600);
  const int64_t leo = starts.back() + 599 % 3 + 1;  // batch i holds i % 3 + 1 records
  {  // the crash happened after a clean reopen, so sealed segments have index files
    auto p = OpenAt(pristine);
    ASSERT_TRUE(p.ok());
  }
  std::vector<std::string> logs = SegmentLogs(pristine);
  ASSERT_GE(logs.size(), 3u);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    std::mt19937_64 rng(seed);
    std::string dir = tmp_.Sub("a2-" + std::to_string(seed));
    CopyDir(pristine, dir);
    ASSERT_TRUE(FileSystem::Default()->RemoveFile(JoinPath(dir, "clean-shutdown")).ok());
    size_t n = 1 + rng() % 1024;
    std::string garbage(n, '\0');
    if (seed % 2 == 0) {
      for (char& c : garbage) c = static_cast<char>(rng());
    }
    std::string active = JoinPath(dir, logs.back());
    WriteFileOrDie(active, ReadFileOrDie(active) + garbage);
    // Garbage in the active segment's index and in a sealed segment's index.
    std::string idx_garbage(1 + rng() % 64, '\0');
    for (char& c : idx_garbage) c = static_cast<char>(rng());
    std::string sealed_idx = JoinPath(dir, logs[1].substr(0, 20) + ".index");
    WriteFileOrDie(sealed_idx, ReadFileOrDie(sealed_idx) + idx_garbage);
    std::string active_idx = JoinPath(dir, logs.back().substr(0, 20) + ".index");
    WriteFileOrDie(active_idx, idx_garbage);

    auto p = OpenAt(dir);
    ASSERT_TRUE(p.ok()) << p.status();
    const RecoveryReport& rep = (*p)->recovery_report();
    EXPECT_EQ(rep.truncated_bytes, static_cast<int64_t>(n)) << rep.ToString();
    EXPECT_GE(rep.indexes_rebuilt, 2) << rep.ToString();
    ExpectRecords(**p, leo);
    ExpectLookups(**p);
    auto decoded = OffsetIndex::Decode(ReadFileOrDie(sealed_idx),
                                       ReadFileOrDie(JoinPath(dir, logs[1])).size());
    EXPECT_TRUE(decoded.ok()) << decoded.status();  // rewritten on disk
  }
}

class StorageCrcTest : public StorageRecoveryTest {
 protected:
  // Three segments; the recovery point at the start of the third. Returns the checkpoint as it
  // was while the second segment was active.
  std::string BuildThreeSegments(const std::string& dir) {
    config_.segment_bytes = 8 << 10;
    std::string second_checkpoint;
    BuildCrashed(dir, 0, [&](Partition* p) {
      while (p->Stats().segments < 3) {
        Fill(p, 1);
        if (p->Stats().segments == 2 && second_checkpoint.empty()) {
          second_checkpoint = ReadFileOrDie(JoinPath(dir, "recovery-point"));
        }
      }
      Fill(p, 20);
    });
    return second_checkpoint;
  }
  static void FlipBitInBatch(const std::string& log, size_t batch) {
    std::vector<uint64_t> pos = BatchStarts(log);
    ASSERT_LT(batch + 1, pos.size());
    std::string data = ReadFileOrDie(log);
    data[pos[batch] + batch_format::kHeaderSize + 3] ^= 0x10;
    WriteFileOrDie(log, data);
  }
  static int64_t BaseOffsetOfBatch(const std::string& log, size_t batch) {
    std::string data = ReadFileOrDie(log);
    return static_cast<int64_t>(
        varint::GetBE64(data.data() + BatchStarts(log)[batch] + batch_format::kBaseOffset));
  }
};

// A3 (a): above the recovery point a bad batch is where the log ends.
TEST_F(StorageCrcTest, TruncatesAtACrcFlipAboveTheRecoveryPoint) {
  std::string dir = tmp_.Sub("a3a");
  BuildThreeSegments(dir);
  std::vector<std::string> logs = SegmentLogs(dir);
  ASSERT_EQ(logs.size(), 3u);
  std::string third = JoinPath(dir, logs[2]);
  size_t nbatches = BatchStarts(third).size() - 1;
  size_t bad = nbatches / 2;
  int64_t bad_offset = BaseOffsetOfBatch(third, bad);
  uint64_t bad_pos = BatchStarts(third)[bad];
  uint64_t size = ReadFileOrDie(third).size();
  FlipBitInBatch(third, bad);
  auto p = OpenAt(dir);
  ASSERT_TRUE(p.ok()) << p.status();
  const RecoveryReport& rep = (*p)->recovery_report();
  EXPECT_EQ(rep.truncated_bytes, static_cast<int64_t>(size - bad_pos)) << rep.ToString();
  EXPECT_NE(rep.notes.find("CRC"), std::string::npos) << rep.ToString();
  ExpectRecords(**p, bad_offset);
}

// A3 (a): with the recovery point one segment further back, later segments go too.
TEST_F(StorageCrcTest, DeletesLaterSegmentsAfterACrcFlipAboveTheRecoveryPoint) {
  std::string dir = tmp_.Sub("a3a2");
  std::string second_checkpoint = BuildThreeSegments(dir);
  WriteFileOrDie(JoinPath(dir, "recovery-point"), second_checkpoint);
  std::vector<std::string> logs = SegmentLogs(dir);
  std::string second = JoinPath(dir, logs[1]);
  int64_t bad_offset = BaseOffsetOfBatch(second, 3);
  FlipBitInBatch(second, 3);
  auto p = OpenAt(dir);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->recovery_report().segments_deleted, 1);
  EXPECT_EQ(SegmentLogs(dir).size(), 2u);
  ExpectRecords(**p, bad_offset);
}

// A3 (b): below the recovery point a bad batch is reported, never truncated.
TEST_F(StorageCrcTest, ReportsACrcFlipBelowTheRecoveryPointLoudly) {
  std::string dir = tmp_.Sub("a3b");
  BuildThreeSegments(dir);
  std::vector<std::string> logs = SegmentLogs(dir);
  std::string first = JoinPath(dir, logs[0]);
  uint64_t bad_pos = BatchStarts(first)[2];
  int64_t bad_offset = BaseOffsetOfBatch(first, 2);
  FlipBitInBatch(first, 2);
  uint64_t size_before = ReadFileOrDie(first).size();

  auto scrub = OpenAt(dir, nullptr, /*verify_all=*/true);
  ASSERT_FALSE(scrub.ok());
  EXPECT_EQ(scrub.status().code(), StatusCode::kCorruption);
  EXPECT_NE(scrub.status().message().find(logs[0]), std::string::npos) << scrub.status();
  EXPECT_NE(scrub.status().message().find("byte " + std::to_string(bad_pos)), std::string::npos)
      << scrub.status();
  EXPECT_NE(scrub.status().message().find("recovery point"), std::string::npos);

  // Without the scrub the log opens (the data is trusted), and a read of that batch fails
  // loudly while the rest of the log stays readable.
  auto p = OpenAt(dir);
  ASSERT_TRUE(p.ok()) << p.status();
  auto r = (*p)->Read(Offset(bad_offset), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find(logs[0]), std::string::npos);
  auto later = (*p)->Read(Offset(bad_offset + 20), 1);
  EXPECT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(ReadFileOrDie(first).size(), size_before);  // nothing was cut
}

// A3 (b), at a batch boundary: whole batches missing below the recovery point are reported too.
TEST_F(StorageCrcTest, ReportsFsyncedBatchesMissingBelowTheRecoveryPoint) {
  std::string dir = tmp_.Sub("missing");
  {
    auto p = OpenAt(dir);
    ASSERT_TRUE(p.ok());
    Fill(p->get(), 30);
  }  // clean close: the recovery point is the log end
  ASSERT_TRUE(FileSystem::Default()->RemoveFile(JoinPath(dir, "clean-shutdown")).ok());
  std::string log = JoinPath(dir, SegmentLogs(dir).back());
  std::vector<uint64_t> pos = BatchStarts(log);
  ASSERT_TRUE(FileSystem::Default()->Truncate(log, pos[pos.size() - 3]).ok());
  auto p = OpenAt(dir);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kCorruption);
  EXPECT_NE(p.status().message().find("recovery point"), std::string::npos) << p.status();
}

// A4: every way an index can be wrong, after a clean and after an unclean stop.
TEST_F(StorageRecoveryTest, RebuildsMissingTruncatedAndLyingIndexesAndRemovesOrphans) {
  config_.segment_bytes = 4 << 10;
  index_interval_ = 256;
  const std::string pristine = tmp_.Sub("pristine");
  int64_t leo;
  {
    auto p = OpenAt(pristine);
    ASSERT_TRUE(p.ok());
    Fill(p->get(), 300);
    leo = (*p)->high_watermark().value();
  }  // clean close
  std::vector<std::string> logs = SegmentLogs(pristine);
  ASSERT_GE(logs.size(), 4u);
  const std::string victim = logs[1].substr(0, 20);
  std::string idx0 = ReadFileOrDie(JoinPath(pristine, victim + ".index"));
  ASSERT_GE(idx0.size(), 24u) << "the sealed segment needs several index entries";

  struct Case {
    std::string name;
    std::function<void(const std::string& dir)> damage;
  };
  auto idx = [&](const std::string& dir) { return JoinPath(dir, victim + ".index"); };
  auto tidx = [&](const std::string& dir) { return JoinPath(dir, victim + ".timeindex"); };
  std::vector<Case> cases = {
      {"missing",
       [&](const std::string& d) {
         ASSERT_TRUE(FileSystem::Default()->RemoveFile(idx(d)).ok());
         ASSERT_TRUE(FileSystem::Default()->RemoveFile(tidx(d)).ok());
       }},
      {"truncated",
       [&](const std::string& d) {
         ASSERT_TRUE(FileSystem::Default()->Truncate(idx(d), idx0.size() - 3).ok());
         ASSERT_TRUE(FileSystem::Default()->Truncate(tidx(d), 5).ok());
       }},
      {"past-eof",
       [&](const std::string& d) {
         std::string b = idx0;
         varint::PutBE32(b.data() + b.size() - 4, 0x7fffff00);
         WriteFileOrDie(idx(d), b);
       }},
      {"not-monotonic",
       [&](const std::string& d) {
         std::string b = idx0;
         std::swap_ranges(b.begin(), b.begin() + 8, b.begin() + 8);
         WriteFileOrDie(idx(d), b);
       }},
      {"mid-batch",
       [&](const std::string& d) {
         std::string b = idx0;
         varint::PutBE32(b.data() + 4, varint::GetBE32(b.data() + 4) + 1);
         WriteFileOrDie(idx(d), b);
       }},
      {"orphan",
       [&](const std::string& d) {
         WriteFileOrDie(JoinPath(d, "00000000000099999999.index"), "junk");
         WriteFileOrDie(JoinPath(d, "00000000000099999999.timeindex"), "");
       }},
  };
  for (bool clean : {true, false}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(c.name + (clean ? " after a clean stop" : " after an unclean stop"));
      std::string dir = tmp_.Sub("a4-" + c.name + (clean ? "-clean" : "-unclean"));
      CopyDir(pristine, dir);
      if (!clean) {
        ASSERT_TRUE(FileSystem::Default()->RemoveFile(JoinPath(dir, "clean-shutdown")).ok());
      }
      c.damage(dir);
      auto p = OpenAt(dir);
      ASSERT_TRUE(p.ok()) << p.status();
      const RecoveryReport& rep = (*p)->recovery_report();
      if (c.name == "orphan") {
        EXPECT_EQ(rep.orphan_files_removed, 2);
        EXPECT_FALSE(FileSystem::Default()->Exists(JoinPath(dir, "00000000000099999999.index")));
      } else if (!clean) {
        EXPECT_GE(rep.indexes_rebuilt, 1) << rep.ToString();
      }
      ExpectRecords(**p, leo);
      ExpectLookups(**p);
      auto t = (*p)->OffsetForTime(Timestamp(TimestampFor(leo / 3)));
      ASSERT_TRUE(t.ok());
      EXPECT_LE(t->offset.value(), leo / 3);
      EXPECT_GT(t->offset.value(), leo / 3 - 4);
      if (c.name != "orphan") {  // the index on disk is whole again
        std::string rebuilt = ReadFileOrDie(idx(dir));
        EXPECT_EQ(rebuilt, idx0);
      }
    }
  }
}

// A8: recovering twice is a no-op, and a crash at any step of recovery converges to the state
// one uninterrupted recovery reaches.
TEST_F(StorageRecoveryTest, RecoveryIsIdempotentAndSurvivesCrashesInTheMiddle) {
  config_.segment_bytes = 4 << 10;
  index_interval_ = 256;
  const std::string damaged = tmp_.Sub("damaged");
  std::string old_checkpoint;
  BuildCrashed(damaged, 0, [&](Partition* p) {
    Fill(p, 60);
    old_checkpoint = ReadFileOrDie(JoinPath(damaged, "recovery-point"));
    Fill(p, 60);
  });
  // Recovery has real work: an older recovery point (several segments to scan), a torn tail,
  // a lying index above the recovery point, an orphan index and a stale temporary file.
  WriteFileOrDie(JoinPath(damaged, "recovery-point"), old_checkpoint);
  std::vector<std::string> logs = SegmentLogs(damaged);
  ASSERT_GE(logs.size(), 3u);
  std::string last = JoinPath(damaged, logs.back());
  std::vector<uint64_t> pos = BatchStarts(last);
  ASSERT_GE(pos.size(), 3u);
  ASSERT_TRUE(FileSystem::Default()->Truncate(last, pos[pos.size() - 2] + 7).ok());
  WriteFileOrDie(JoinPath(damaged, logs[logs.size() - 2].substr(0, 20) + ".index"),
                 std::string(16, '\x7f'));
  WriteFileOrDie(JoinPath(damaged, "00000000000077777777.index"), "x");
  WriteFileOrDie(JoinPath(damaged, "recovery-point.tmp"), "half written");

  // One uninterrupted recovery, counting its file operations.
  const std::string reference = tmp_.Sub("reference");
  CopyDir(damaged, reference);
  FaultInjectionFileSystem counter;
  std::vector<std::pair<std::string, std::string>> expected;
  int64_t ops;
  {
    auto p = OpenAt(reference, &counter);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_GT((*p)->recovery_report().truncated_bytes, 0);
    ops = counter.op_count();
    expected = Snapshot(reference);
    CrashPartition(&p.value(), &counter);
  }
  ASSERT_GT(ops, 5);

  {  // Recovering the recovered log again changes nothing.
    const std::string again = tmp_.Sub("again");
    CopyDir(reference, again);
    auto p = OpenAt(again);
    ASSERT_TRUE(p.ok()) << p.status();
    const RecoveryReport& rep = (*p)->recovery_report();
    EXPECT_EQ(rep.truncated_bytes, 0) << rep.ToString();
    EXPECT_EQ(rep.indexes_rebuilt, 0) << rep.ToString();
    EXPECT_EQ(rep.orphan_files_removed, 0) << rep.ToString();
    EXPECT_EQ(Snapshot(again), expected);
  }

  // A crash (all later operations fail) at every step, twice in a row, then a clean recovery;
  // and a single EIO at every step.
  for (int64_t n = 1; n <= ops; ++n) {
    for (bool persistent : {true, false}) {
      SCOPED_TRACE(::testing::Message()
                   << "fault at operation " << n << (persistent ? " (crash)" : " (one EIO)"));
      std::string dir = tmp_.Sub("a8-" + std::to_string(n) + (persistent ? "c" : "e"));
      CopyDir(damaged, dir);
      for (int round = 0; round < (persistent ? 2 : 1); ++round) {
        FaultInjectionFileSystem fs;
        fs.FailNth(round == 0 ? n : (n + 1) / 2, {.error = EIO, .persistent = persistent});
        auto p = OpenAt(dir, &fs);
        if (p.ok()) CrashPartition(&p.value(), &fs);
      }
      auto p = OpenAt(dir);
      ASSERT_TRUE(p.ok()) << p.status();
      EXPECT_EQ(Snapshot(dir), expected);
    }
  }
}

}  // namespace
}  // namespace sluice
