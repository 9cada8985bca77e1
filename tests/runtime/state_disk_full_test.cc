// reliability-scenarios: issue16 item 5
// D1 for a job's state (issue 16 item 5): a full state disk used to abort `sluice run` with
// SIGABRT (an assertion in RocksDB's own info-log writer, hit when RocksDB logged the failed
// commit) on every retry. The job must stop with an error that names the state directory and its
// free space, and once space is freed, a restart must resume from the last commit with every word
// counted exactly once.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "examples/word_count.h"
#include "runtime/job.h"
#include "tests/runtime/runtime_test_util.h"

namespace sluice {
namespace {

Topology WordCount() {
  TopologyBuilder b;
  examples::AddWordCount(b, {.input = "lines", .output = "counts"});
  auto t = b.Build();
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(t).value();
}

Status RunWordCount(const JobOptions& o) {
  auto job = Job::Start(o, WordCount());
  if (!job.ok()) return job.status();
  return (*job)->Wait();
}

TEST(StateDiskFullTest, AFullStateDiskStopsTheJobWithAnErrorAndTheRestartCountsExactlyOnce) {
  testing::TempDir dir;
  const std::string mnt = dir.path() + "/state";
  std::filesystem::create_directories(mnt);
  // A real ENOSPC needs a small file system; mounting one needs root (CI runs as root).
  ASSERT_EQ(geteuid(), 0u) << "this test mounts a small tmpfs and must run as root";
  ASSERT_EQ(mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=32m"), 0) << "cannot mount a tmpfs";
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  // Leave about 256 KiB: enough to open the state, not enough for the job's commits.
  const std::string ballast = mnt + "/ballast";
  {
    std::ofstream f(ballast, std::ios::binary);
    std::string mib(1 << 20, 'b');
    for (int i = 0; i < 31; ++i) f << mib;
    f << std::string((1 << 20) - (256 << 10), 'b');
  }

  auto log = testing::OpenLogOrDie(dir.path() + "/data");
  testing::CreateTopicOrDie(log.get(), "lines", 2);
  testing::CreateTopicOrDie(log.get(), "counts", 2);
  auto words = testing::ProduceLines(log.get(), "lines", 60000, 20000, 5);
  JobOptions o;
  o.application_id = "wc";
  o.log = log.get();
  o.state_dir = mnt;
  o.until_end = true;
  o.commit_interval = std::chrono::milliseconds(20);
  o.batch_records = 500;

  Status full = RunWordCount(o);
  ASSERT_FALSE(full.ok()) << "the state disk never filled up";
  EXPECT_EQ(full.code(), StatusCode::kIOError) << full;
  EXPECT_NE(full.message().find("'" + mnt + "/wc'"), std::string::npos) << full;
  EXPECT_NE(full.message().find("bytes free"), std::string::npos) << full;

  std::filesystem::remove(ballast);
  Status again = RunWordCount(o);
  ASSERT_TRUE(again.ok()) << again;
  EXPECT_EQ(testing::CheckRunningCounts(words, testing::ReadTopic(log.get(), "counts")), "");
}

}  // namespace
}  // namespace sluice
