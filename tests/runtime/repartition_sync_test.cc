// A job reads a repartition topic only where it is fsynced: a batch that is written but not yet
// synced could be lost to a power cut and republished in another order, so offsets committed over
// it could later skip one batch and repeat another. Deterministic: the "unsynced" batch is
// appended by the test with Acks::kLeader, as an upstream task would have left it between its
// append and its fsync.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/log.h"
#include "core/record_batch.h"
#include "examples/word_count.h"
#include "runtime/job.h"
#include "tests/runtime/runtime_test_util.h"

namespace sluice {
namespace {

constexpr char kApp[] = "wcs";
constexpr char kRepartition[] = "wcs-word-counts-store-repartition";

Status RunToEnd(Log* log, const std::string& state_dir) {
  TopologyBuilder b;
  examples::AddWordCount(b, {.input = "lines", .output = "counts"});
  auto t = b.Build();
  if (!t.ok()) return t.status();
  JobOptions o;
  o.application_id = kApp;
  o.exchange = Exchange::kLog;  // the synced-offset rule is about repartition topics
  o.log = log;
  o.state_dir = state_dir;
  o.until_end = true;
  auto job = Job::Start(o, std::move(t).value());
  if (!job.ok()) return job.status();
  return (*job)->Wait();
}

size_t Records(Log* log, const std::string& topic) {
  size_t n = 0;
  for (const auto& part : testing::ReadTopic(log, topic)) n += part.size();
  return n;
}

TEST(RepartitionSyncTest, UnsyncedRepartitionDataWaitsForItsFsync) {
  testing::TempDir dir;
  auto log = testing::OpenLogOrDie(dir.path() + "/data");
  testing::CreateTopicOrDie(log.get(), "lines", 1);
  testing::CreateTopicOrDie(log.get(), "counts", 1);
  testing::CreateTopicOrDie(log.get(), kRepartition, 1);
  auto part = log->GetPartition(kRepartition, PartitionId(0));
  ASSERT_TRUE(part.ok());
  RecordBatchBuilder b;
  b.Add(Timestamp(1), std::string_view("hello"), std::string_view(""));
  b.Add(Timestamp(2), std::string_view("hello"), std::string_view(""));
  ASSERT_TRUE((*part)->Append(b.Finish(), Acks::kLeader).ok());
  ASSERT_EQ((*part)->high_watermark(), Offset(2));
  ASSERT_EQ((*part)->synced_offset(), Offset(0));

  // Written, not synced: the counting stage does not take it in.
  ASSERT_TRUE(RunToEnd(log.get(), dir.path() + "/state").ok());
  EXPECT_EQ(Records(log.get(), "counts"), 0u);

  // Once it is synced, it is counted, each record once.
  ASSERT_TRUE((*part)->Flush().ok());
  ASSERT_EQ((*part)->synced_offset(), Offset(2));
  ASSERT_TRUE(RunToEnd(log.get(), dir.path() + "/state").ok());
  auto out = testing::ReadTopic(log.get(), "counts");
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].size(), 2u);
  EXPECT_EQ(out[0][0].key, "hello");
  EXPECT_EQ(out[0][0].value, "1");
  EXPECT_EQ(out[0][1].value, "2");
}

// The read stops at the synced offset in the middle of what it has buffered; once the rest is
// synced, the same running job continues with exactly the record it stopped before.
TEST(RepartitionSyncTest, ARunningJobResumesAtTheFirstUnsyncedRecordOnceItIsSynced) {
  testing::TempDir dir;
  auto log = testing::OpenLogOrDie(dir.path() + "/data");
  testing::CreateTopicOrDie(log.get(), "lines", 1);
  testing::CreateTopicOrDie(log.get(), "counts", 1);
  testing::CreateTopicOrDie(log.get(), kRepartition, 1);
  Partition* part = *log->GetPartition(kRepartition, PartitionId(0));
  RecordBatchBuilder synced, unsynced;
  for (int i = 0; i < 2; ++i) synced.Add(Timestamp(i), std::string_view("a"), std::string_view(""));
  for (int i = 0; i < 3; ++i) {
    unsynced.Add(Timestamp(10 + i), std::string_view("b"), std::string_view(""));
  }
  ASSERT_TRUE(part->Append(synced.Finish(), Acks::kAll).ok());
  ASSERT_TRUE(part->Append(unsynced.Finish(), Acks::kLeader).ok());
  ASSERT_EQ(part->synced_offset(), Offset(2));

  TopologyBuilder b;
  examples::AddWordCount(b, {.input = "lines", .output = "counts"});
  auto t = b.Build();
  ASSERT_TRUE(t.ok());
  JobOptions o;
  o.application_id = kApp;
  o.exchange = Exchange::kLog;  // the synced-offset rule is about repartition topics
  o.log = log.get();
  o.state_dir = dir.path() + "/state";
  o.commit_interval = std::chrono::milliseconds(1);
  auto job = Job::Start(o, std::move(t).value());
  ASSERT_TRUE(job.ok()) << job.status();
  // Waits (bounded) until `counts` holds n records; returns them.
  auto wait_for = [&](size_t n) {
    std::vector<testing::KeyValue> got;
    for (int i = 0; i < 2000 && got.size() < n; ++i) {
      got = testing::ReadTopic(log.get(), "counts")[0];
      if (got.size() < n) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return got;
  };
  auto first = wait_for(2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[1].key, "a");
  EXPECT_EQ(first[1].value, "2");
  ASSERT_TRUE(part->Flush().ok());
  auto all = wait_for(5);
  (*job)->Stop();
  ASSERT_TRUE((*job)->Wait().ok());
  all = testing::ReadTopic(log.get(), "counts")[0];
  ASSERT_EQ(all.size(), 5u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(all[2 + i].key, "b");
    EXPECT_EQ(all[2 + i].value, std::to_string(i + 1));
  }
}

}  // namespace
}  // namespace sluice
