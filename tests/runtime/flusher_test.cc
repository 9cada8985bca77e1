// The Flusher, and what exactly-once tasks rely on it for: outputs appended without waiting are
// synced in the background, a finished job leaves every output partition synced, and a failed
// output fsync stops the job with that error instead of deleting the outbox copy.
#include "runtime/flusher.h"

#include <gtest/gtest.h>

#include <map>

#include "core/log.h"
#include "core/record_batch.h"
#include "examples/balances.h"
#include "runtime/job.h"
#include "tests/runtime/runtime_test_util.h"
#include "tests/testing/fault_fs.h"

namespace sluice {
namespace {

std::string Batch(int n) {
  RecordBatchBuilder b;
  for (int i = 0; i < n; ++i) b.Add(Timestamp(i), std::string_view("k"), std::string_view("v"));
  return b.Finish();
}

TEST(FlusherTest, SyncsEveryRequestedPartitionBeforeStopReturns) {
  testing::TempDir dir;
  auto log = testing::OpenLogOrDie(dir.path() + "/data");
  testing::CreateTopicOrDie(log.get(), "t", 2);
  Partition* p0 = *log->GetPartition("t", PartitionId(0));
  Partition* p1 = *log->GetPartition("t", PartitionId(1));
  ASSERT_TRUE(p0->Append(Batch(3), Acks::kLeader).ok());
  ASSERT_TRUE(p1->Append(Batch(2), Acks::kLeader).ok());
  ASSERT_EQ(p0->synced_offset(), Offset(0));
  ASSERT_EQ(p1->synced_offset(), Offset(0));
  Flusher f;
  f.Request(p0);
  f.Request(p1);
  f.Request(p0);  // merged with the waiting one, or a second (harmless) flush
  f.Stop();
  EXPECT_EQ(p0->synced_offset(), Offset(3));
  EXPECT_EQ(p1->synced_offset(), Offset(2));
  f.Stop();  // idempotent
}

// 2000 transactions over 20 accounts in "tx" (2 partitions), and an empty "balances"; returns
// the amounts per account.
std::map<std::string, std::vector<int64_t>> ProduceInput(Log* log) {
  testing::CreateTopicOrDie(log, "tx", 2);
  testing::CreateTopicOrDie(log, "balances", 2);
  return testing::ProduceTransactions(log, "tx", 2000, /*accounts=*/20, /*seed=*/7);
}

Status RunBalances(Log* log, const std::string& state_dir) {
  TopologyBuilder b;
  examples::AddBalances(b, {.input = "tx", .output = "balances"});
  auto t = b.Build();
  if (!t.ok()) return t.status();
  JobOptions o;
  o.application_id = "bal";
  o.log = log;
  o.state_dir = state_dir;
  o.until_end = true;
  o.threads = 2;
  o.commit_interval = std::chrono::milliseconds(1);
  o.batch_records = 50;
  auto job = Job::Start(o, std::move(t).value());
  if (!job.ok()) return job.status();
  return (*job)->Wait();
}

TEST(FlusherTest, AFinishedExactlyOnceJobLeavesEveryOutputSynced) {
  testing::TempDir dir;
  auto log = testing::OpenLogOrDie(dir.path() + "/data");
  ProduceInput(log.get());
  ASSERT_TRUE(RunBalances(log.get(), dir.path() + "/state").ok());
  int64_t total = 0;
  for (int p = 0; p < 2; ++p) {
    Partition* out = *log->GetPartition("balances", PartitionId(p));
    total += out->high_watermark().value();
    EXPECT_EQ(out->synced_offset(), out->high_watermark()) << "partition " << p;
  }
  EXPECT_EQ(total, 2000);
}

TEST(FlusherTest, AFailedOutputFsyncStopsTheJobAndTheRestartLosesAndRepeatsNothing) {
  testing::TempDir dir;
  testing::FaultInjectionFileSystem fs;
  auto open_log = [&] {
    LogOptions lo;
    lo.data_dir = dir.path() + "/data";
    lo.fs = &fs;
    lo.info_log = [](const std::string&) {};
    auto opened = Log::Open(lo);
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? std::move(opened).value() : nullptr;
  };
  auto log = open_log();
  ASSERT_NE(log, nullptr);
  const auto inputs = ProduceInput(log.get());
  // The first fsync of an output segment fails, and every fsync after it (an EIO is not
  // retried): the partition latches failed and the job must stop, keeping its outbox.
  fs.SetBeforeSyncHook([&](const std::string& path) {
    if (path.find("/balances/") != std::string::npos && path.ends_with(".log")) {
      fs.FailNth(1, {.error = EIO, .ops = testing::kOpSync, .persistent = true});
      fs.SetBeforeSyncHook(nullptr);
    }
  });
  Status s = RunBalances(log.get(), dir.path() + "/state");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("Input/output error"), std::string::npos) << s;
  EXPECT_NE(s.ToString().find("'balances'"), std::string::npos) << s;
  // The disk is back: reopen the log and run the job again.
  log->Close().IgnoreError();
  log.reset();
  fs.ClearFaults();
  log = open_log();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(RunBalances(log.get(), dir.path() + "/state").ok());
  // Every account's balances are exactly the prefix sums of its inputs, in order.
  EXPECT_EQ(testing::CheckBalances(inputs, testing::ReadTopic(log.get(), "balances")), "");
}

}  // namespace
}  // namespace sluice
