// Faults under a running partition: reliability scenarios A6 (power loss: unsynced data dropped),
// A7 (crash at every file operation of appends, rolls and retention), D1 (ENOSPC on write),
// D3 (fsync EIO) and D4 (countdown I/O-fault sweep). Durability is simulated by
// FaultInjectionFileSystem (tests/testing/fault_fs.h).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "core/partition.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/storage_util.h"

namespace sluice {
namespace {

using testing::FaultInjectionFileSystem;
using testing::FaultSpec;
using testing::ReadAll;
using testing::TempDir;

// Attempt i of the single-threaded workloads appends value "v<i>"; when all earlier attempts
// succeeded it lands at offset i, so a healthy log always holds "v<o>" at offset o.
std::string ValueAt(int64_t i) { return "v" + std::to_string(i); }

struct Ledger {
  std::vector<int64_t> acked;   // offsets acknowledged (durably, per the workload's promise)
  int64_t log_start_acked = 0;  // log start after the last successful retention
  bool append_failed = false;
  bool appended_after_failure = false;  // must never happen: a failure latches the partition
};

class StorageFaultTest : public ::testing::Test {
 protected:
  StorageFaultTest() {
    config_.segment_bytes = 400;  // a roll every few appends
    config_.retention_bytes = 1200;
  }
  Result<std::unique_ptr<Partition>> OpenAt(const std::string& dir, FileSystem* fs) {
    return Partition::Open(dir, "t", PartitionId(0), config_,
                           PartitionOptions{.fs = fs, .index_interval_bytes = 64});
  }

  // Appends `n` batches one at a time. acks kAll: every OK is durable. kLeader: only appends
  // covered by a later successful Flush (every 4 appends) count as durable. Retention runs every
  // 7 appends. Keeps going after errors, recording what the partition did.
  static void RunWorkload(Partition* p, Acks acks, int n, Ledger* ledger, int first = 0) {
    std::vector<int64_t> unflushed;
    for (int i = first; i < first + n; ++i) {
      auto r = p->Append(testing::MakeBatch({ValueAt(i)}, 1000 + i), acks);
      if (!r.ok()) {
        ledger->append_failed = true;
        EXPECT_TRUE(r.status().code() == StatusCode::kIOError) << r.status();
        continue;
      }
      if (ledger->append_failed) ledger->appended_after_failure = true;
      (acks == Acks::kAll ? ledger->acked : unflushed).push_back(r->base_offset.value());
      if (i % 4 == 3 && p->Flush().ok()) {
        ledger->acked.insert(ledger->acked.end(), unflushed.begin(), unflushed.end());
        unflushed.clear();
      }
      if (i % 7 == 6) {
        auto k = p->ApplyRetention(Now());
        if (k.ok()) ledger->log_start_acked = p->log_start_offset().value();
      }
    }
  }

  // Reopens on the real file system and checks the invariants every fault must preserve.
  void Verify(const std::string& dir, const Ledger& ledger) {
    auto p = OpenAt(dir, nullptr);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_FALSE(ledger.appended_after_failure);
    auto recs = ReadAll(**p);
    ASSERT_TRUE(recs.ok()) << recs.status();
    for (const auto& r : *recs) ASSERT_EQ(r.value, ValueAt(r.offset)) << "offset " << r.offset;
    int64_t start = (*p)->log_start_offset().value();
    int64_t end = (*p)->high_watermark().value();
    EXPECT_GE(start, ledger.log_start_acked) << "the log start moved backwards";
    for (int64_t o : ledger.acked) {
      ASSERT_LT(o, end) << "acknowledged offset " << o << " was lost";
    }
    auto names = FileSystem::Default()->ListDir(dir);
    ASSERT_TRUE(names.ok());
    for (const std::string& n : *names) EXPECT_FALSE(n.ends_with(".tmp")) << n;
    // The recovered log takes appends at its end.
    auto next = (*p)->Append(testing::MakeBatch({ValueAt(end)}), Acks::kAll);
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(next->base_offset, Offset(end));
  }

  // File operations a clean run of the workload performs.
  int64_t CountOps(Acks acks, int n) {
    TempDir tmp(true);
    FaultInjectionFileSystem fs;
    auto p = OpenAt(tmp.Sub("p"), &fs);
    SLUICE_CHECK(p.ok());
    fs.ClearFaults();
    Ledger ledger;
    RunWorkload(p->get(), acks, n, &ledger);
    SLUICE_CHECK(!ledger.append_failed);
    return fs.op_count();
  }

  TempDir tmp_{/*in_memory=*/true};
  TopicConfig config_;
};

// A6: power loss at 500+ random points; with acks=all nothing acknowledged is lost, with
// relaxed acks what survives is a prefix of the log holding everything flushed.
TEST_F(StorageFaultTest, PowerLossAtRandomPointsLosesNothingAcknowledged) {
  for (Acks acks : {Acks::kAll, Acks::kLeader}) {
    const int64_t ops = CountOps(acks, 40);
    for (uint64_t seed = 0; seed < 260; ++seed) {
      std::mt19937_64 rng(seed);
      int64_t at = 1 + static_cast<int64_t>(rng() % ops);
      SCOPED_TRACE(::testing::Message() << "seed " << seed << ", power cut at operation " << at
                                        << (acks == Acks::kAll ? ", acks all" : ", acks leader"));
      std::string dir =
          tmp_.Sub("a6-" + std::to_string(static_cast<int>(acks)) + "-" + std::to_string(seed));
      FaultInjectionFileSystem fs;
      auto p = OpenAt(dir, &fs);
      ASSERT_TRUE(p.ok());
      // From operation `at` on, nothing reaches the disk: the moment of the power cut.
      fs.FailNth(at, {.error = EIO, .persistent = true});
      Ledger ledger;
      RunWorkload(p->get(), acks, 40, &ledger);
      fs.Freeze();
      p->reset();
      ASSERT_TRUE(fs.DropUnsyncedData().ok());
      fs.Unfreeze();
      Verify(dir, ledger);
    }
  }
}

// A6: the directory entry of a freshly rolled segment is lost with the power.
TEST_F(StorageFaultTest, RecoversWhenARolledSegmentsDirectorySyncIsLost) {
  std::string dir = tmp_.Sub("roll");
  FaultInjectionFileSystem fs;
  auto p = OpenAt(dir, &fs);
  ASSERT_TRUE(p.ok());
  Ledger ledger;
  RunWorkload(p->get(), Acks::kAll, 3, &ledger);
  // The next roll's directory fsync fails: the partition stops, and power goes.
  fs.FailNth(1, {.error = EIO, .ops = testing::kOpSyncDir, .persistent = true});
  RunWorkload(p->get(), Acks::kAll, 10, &ledger, 3);
  EXPECT_TRUE(ledger.append_failed);
  EXPECT_EQ(fs.faults_injected(), 1);
  fs.Freeze();
  p->reset();
  ASSERT_TRUE(fs.DropUnsyncedData().ok());
  fs.Unfreeze();
  fs.ClearFaults();
  Verify(dir, ledger);
}

// A7: kill -9 (page cache survives) at every file operation of appends, rolls and retention.
TEST_F(StorageFaultTest, CrashAtEveryOperationLeavesAConsistentLog) {
  const int64_t ops = CountOps(Acks::kLeader, 30);
  ASSERT_GT(ops, 50);
  for (int64_t at = 1; at <= ops; ++at) {
    SCOPED_TRACE(::testing::Message() << "crash at operation " << at);
    std::string dir = tmp_.Sub("a7-" + std::to_string(at));
    FaultInjectionFileSystem fs;
    auto p = OpenAt(dir, &fs);
    ASSERT_TRUE(p.ok());
    fs.FailNth(at, {.error = EIO, .persistent = true});
    Ledger ledger;
    RunWorkload(p->get(), Acks::kLeader, 30, &ledger);
    testing::CrashPartition(&p.value(), &fs);
    fs.ClearFaults();
    Verify(dir, ledger);
  }
}

// D4: one EIO or ENOSPC at every operation in turn, then a clean reopen.
TEST_F(StorageFaultTest, CountdownFaultSweepEndsInSuccessOrACleanError) {
  const int64_t ops = CountOps(Acks::kAll, 30);
  for (int err : {EIO, ENOSPC}) {
    for (int64_t at = 1; at <= ops; ++at) {
      SCOPED_TRACE(::testing::Message() << "errno " << err << " at operation " << at);
      std::string dir = tmp_.Sub("d4-" + std::to_string(err) + "-" + std::to_string(at));
      FaultInjectionFileSystem fs;
      auto p = OpenAt(dir, &fs);
      ASSERT_TRUE(p.ok());
      fs.FailNth(at, {.error = err, .partial_write = true});
      Ledger ledger;
      RunWorkload(p->get(), Acks::kAll, 30, &ledger);
      p->reset();  // a normal close; it reports the failure if there was one
      fs.ClearFaults();
      Verify(dir, ledger);
    }
  }
}

// D1: a full disk during a write: the append is not acknowledged, no partial batch is visible,
// the partition refuses appends with a clear error, reads keep working, and after a reopen
// appends continue at the right offset.
TEST_F(StorageFaultTest, EnospcOnWriteStopsAppendsButNotReads) {
  config_.segment_bytes = 1 << 20;  // no roll: the failing write is the batch's
  std::string dir = tmp_.Sub("d1");
  FaultInjectionFileSystem fs;
  auto p = OpenAt(dir, &fs);
  ASSERT_TRUE(p.ok());
  Ledger ledger;
  RunWorkload(p->get(), Acks::kAll, 5, &ledger);
  fs.FailNth(1, {.error = ENOSPC, .ops = testing::kOpWrite, .partial_write = true});
  auto failed = (*p)->Append(testing::MakeBatch({ValueAt(5)}), Acks::kAll);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kIOError);
  EXPECT_NE(failed.status().message().find("free some disk space"), std::string::npos)
      << failed.status();
  EXPECT_EQ((*p)->high_watermark(), Offset(5));
  auto recs = ReadAll(**p);  // the half-written batch is invisible
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_EQ(recs->size(), 5u);
  fs.ClearFaults();  // space is back, but this partition stays stopped until reopened
  auto again = (*p)->Append(testing::MakeBatch({ValueAt(5)}), Acks::kAll);
  EXPECT_EQ(again.status().code(), StatusCode::kIOError);
  EXPECT_NE(again.status().message().find("reopen"), std::string::npos) << again.status();
  EXPECT_FALSE((*p)->Flush().ok());
  p->reset();
  auto reopened = OpenAt(dir, &fs);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_GT((*reopened)->recovery_report().truncated_bytes, 0);
  reopened->reset();
  Verify(dir, ledger);
}

// D3: fdatasync fails once. The appends waiting on it are not acknowledged, and nothing is
// acknowledged afterwards even though fsync would now succeed (never retry-then-ack).
TEST_F(StorageFaultTest, FsyncEioFailsTheWaitingAppendsAndLatches) {
  config_.segment_bytes = 1 << 20;
  std::string dir = tmp_.Sub("d3");
  FaultInjectionFileSystem fs;
  auto p = OpenAt(dir, &fs);
  ASSERT_TRUE(p.ok());
  Ledger ledger;
  RunWorkload(p->get(), Acks::kAll, 8, &ledger);
  fs.FailNth(1, {.error = EIO, .ops = testing::kOpSync});
  std::atomic<int> ok{0}, failed{0};
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto r = (*p)->Append(testing::MakeBatch({"t" + std::to_string(t)}), Acks::kAll);
        if (r.ok()) {
          ++ok;
          std::lock_guard<std::mutex> l(mu);
          ledger.acked.push_back(r->base_offset.value());
        } else {
          ++failed;
          EXPECT_EQ(r.status().code(), StatusCode::kIOError);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fs.faults_injected(), 1);
  EXPECT_GT(failed.load(), 0);
  EXPECT_EQ(ok.load(), 0) << "an append was acknowledged after the failed fsync";
  EXPECT_FALSE((*p)->Flush().ok());
  auto more = (*p)->Append(testing::MakeBatch({"late"}), Acks::kLeader);
  EXPECT_EQ(more.status().code(), StatusCode::kIOError);
  p->reset();
  auto reopened = OpenAt(dir, nullptr);
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE((*reopened)->recovery_report().clean_shutdown);
  auto recs = ReadAll(**reopened);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_GE(recs->size(), 8u);
  for (int64_t o = 0; o < 8; ++o) EXPECT_EQ((*recs)[o].value, ValueAt(o));
}

// Group commit, pinned down with a sync point: while the first kAll appender's fsync is held
// open, seven more append and wait; one more fsync then covers all of them.
TEST_F(StorageFaultTest, ConcurrentAcksAllAppendsShareAnFsync) {
  config_.segment_bytes = 1 << 20;
  FaultInjectionFileSystem fs;
  auto p = OpenAt(tmp_.Sub("gc"), &fs);
  ASSERT_TRUE(p.ok());
  Partition* part = p->get();
  std::atomic<int> log_syncs{0};
  fs.SetBeforeSyncHook([&](const std::string& path) {
    if (!path.ends_with(".log")) return;
    if (log_syncs++ == 0) {
      while (part->high_watermark() < Offset(8)) std::this_thread::yield();
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto r = part->Append(testing::MakeBatch({ValueAt(t)}), Acks::kAll);
      EXPECT_TRUE(r.ok()) << r.status();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(log_syncs.load(), 2);
  fs.SetBeforeSyncHook(nullptr);
}

// D1 for real: a 1 MiB tmpfs fills up (needs root to mount; skipped otherwise). After a ballast
// file is deleted and the partition reopened, appends resume at the right offset.
TEST_F(StorageFaultTest, RealEnospcOnASmallTmpfs) {
  config_.segment_bytes = 256 << 10;
  TempDir mnt;
  if (geteuid() != 0 || mount("tmpfs", mnt.path().c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root)";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt.path()};
  const std::string ballast = mnt.Sub("ballast");
  testing::WriteFileOrDie(ballast, std::string(128 << 10, 'b'));
  const std::string dir = mnt.Sub("p");
  Ledger ledger;
  Status error;
  {
    auto p = OpenAt(dir, nullptr);
    ASSERT_TRUE(p.ok()) << p.status();
    for (int i = 0; i < 1000 && error.ok(); ++i) {
      auto r = (*p)->Append(testing::MakeBatch({ValueAt(i) + std::string(8000, '.')}), Acks::kAll);
      if (r.ok()) {
        ASSERT_EQ(r->base_offset, Offset(i));
        ledger.acked.push_back(i);
      } else {
        error = r.status();
      }
    }
    ASSERT_FALSE(error.ok()) << "the disk never filled up";
    EXPECT_EQ(error.code(), StatusCode::kIOError);
    EXPECT_NE(error.message().find("free some disk space"), std::string::npos) << error;
    auto recs = ReadAll(**p);  // no partial batch is visible; reads keep working
    ASSERT_TRUE(recs.ok()) << recs.status();
    EXPECT_EQ(recs->size(), ledger.acked.size());
  }
  ASSERT_TRUE(FileSystem::Default()->RemoveFile(ballast).ok());
  auto p = OpenAt(dir, nullptr);
  ASSERT_TRUE(p.ok()) << p.status();
  auto recs = ReadAll(**p);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), ledger.acked.size());
  for (const auto& r : *recs) {
    EXPECT_EQ(r.value.substr(0, r.value.find('.')), ValueAt(r.offset));
  }
  auto next = (*p)->Append(testing::MakeBatch({"after"}), Acks::kAll);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->base_offset, Offset(static_cast<int64_t>(ledger.acked.size())));
}

}  // namespace
}  // namespace sluice
