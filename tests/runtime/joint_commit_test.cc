// The in-memory exchange's joint commit is written in the background while the job runs on; its
// outputs must not reach the log before that write is durable. Deterministic: the job's RocksDB
// runs on a fault-injecting file system whose gate holds the first write after the job started
// (the first joint commit's WAL append) until the test has looked at the output topic.
#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "examples/word_count.h"
#include "runtime/job.h"
#include "tests/runtime/runtime_test_util.h"
#include "tests/testing/rocksdb_fault_fs.h"

namespace sluice {
namespace {

// Holds every RocksDB mutation while closed.
class Valve {
 public:
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> l(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // Called by the file system before a mutation: waits while closed.
  bool Pass() {
    std::unique_lock<std::mutex> l(mu_);
    held_ = held_ || !open_;
    cv_.wait(l, [&] { return open_; });
    return true;
  }
  bool held() {
    std::lock_guard<std::mutex> l(mu_);
    return held_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  bool held_ = false;
};

int64_t Published(Log* log, const std::string& topic) {
  int64_t n = 0;
  for (int32_t p = 0; p < 2; ++p)
    n += (*log->GetPartition(topic, PartitionId(p)))->high_watermark().value();
  return n;
}

TEST(JointCommitTest, OutputsWaitForTheBackgroundWriteOfTheirCommit) {
  testing::TempDir dir;
  auto log = testing::OpenLogOrDie(dir.path() + "/data");
  testing::CreateTopicOrDie(log.get(), "lines", 2);
  testing::CreateTopicOrDie(log.get(), "counts", 2);
  const auto words = testing::ProduceLines(log.get(), "lines", 3000, 200, 3);

  auto fs = std::make_shared<testing::RocksFaultFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  Valve valve;
  fs->SetMutationGate([&] { return valve.Pass(); });

  TopologyBuilder b;
  examples::AddWordCount(b, {.input = "lines", .output = "counts"});
  JobOptions o;
  o.application_id = "wc-joint";
  o.log = log.get();
  o.state_dir = dir.path() + "/state";
  o.state_env = env.get();
  o.exchange = Exchange::kLocal;
  o.until_end = true;
  o.batch_records = 100;
  o.commit_interval = std::chrono::milliseconds(1);
  // Start has written the state's setup; from here the first mutation is a joint commit's write.
  auto job = Job::Start(o, std::move(b.Build()).value());
  ASSERT_TRUE(job.ok()) << job.status();
  valve.Close();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!valve.held() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(valve.held()) << "no RocksDB write reached the file system";
  // The job runs more rounds meanwhile; none may publish what the held write commits.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Published(log.get(), "counts"), 0);
  valve.Open();
  ASSERT_TRUE((*job)->Wait().ok());
  EXPECT_EQ(testing::CheckRunningCounts(words, testing::ReadTopic(log.get(), "counts")), "");
}

}  // namespace
}  // namespace sluice
