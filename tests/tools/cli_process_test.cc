// Several `sluice` processes on one data directory: a follower seeing another process's
// appends, a second writer naming the holder, stale locks of killed writers, kill -9 of a
// producer mid-stream, and clean exits on SIGINT.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/tools/cli_fixture.h"

namespace sluice::testing {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kHangGuard{20000};  // only guards against hangs; never a timing check

class CliProcessTest : public CliTest {
 protected:
  std::unique_ptr<SluiceProcess> Start(std::vector<std::string> args) {
    return std::make_unique<SluiceProcess>(WithData(std::move(args)), env_);
  }

  // Waits until a read-only consumer sees at least `n` records in `topic` (so a producer in
  // another process has appended them); returns what it printed.
  std::string WaitForRecords(const std::string& topic, size_t n) {
    auto deadline = std::chrono::steady_clock::now() + kHangGuard;
    std::string out;
    while (std::chrono::steady_clock::now() < deadline) {
      CliResult r = Sluice({"consume", topic, "--from-beginning"});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      out = r.out;
      if (CountLines(out) >= n) return out;
      std::this_thread::sleep_for(milliseconds(20));
    }
    ADD_FAILURE() << "timed out waiting for " << n << " records in " << topic;
    return out;
  }

  static std::string Lines(int from, int to) {
    std::string s;
    for (int i = from; i < to; ++i) s += "line-" + std::to_string(i) + "\n";
    return s;
  }
};

TEST_F(CliProcessTest, FollowSeesAppendsFromAnotherProcess) {
  CreateTopic("live", 2);
  Ok({"produce", "live", "--partition", "1"}, "first\n");
  auto follower =
      Start({"consume", "live", "--from-beginning", "--follow", "--format", "%p:%s\\n"});
  // Once it printed the existing record it is following; appends from another process must
  // reach it while it keeps running.
  EXPECT_EQ(follower->ReadStdoutLines(1, kHangGuard), "1:first\n");
  Ok({"produce", "live", "--partition", "0"}, "second\nthird\n");
  EXPECT_EQ(follower->ReadStdoutLines(3, kHangGuard), "1:first\n0:second\n0:third\n");
  follower->Signal(SIGINT);
  EXPECT_EQ(follower->Wait(), 0) << follower->err();
}

TEST_F(CliProcessTest, FollowWithGroupCommitsOnInterrupt) {
  CreateTopic("live", 1);
  Ok({"produce", "live"}, "a\nb\n");
  auto follower = Start({"consume", "live", "--group", "g", "--follow"});
  EXPECT_EQ(follower->ReadStdoutLines(2, kHangGuard), "a\nb\n");
  Ok({"produce", "live"}, "c\n");
  EXPECT_EQ(follower->ReadStdoutLines(3, kHangGuard), "a\nb\nc\n");
  follower->Signal(SIGINT);
  EXPECT_EQ(follower->Wait(), 0) << follower->err();
  Ok({"produce", "live"}, "d\n");
  EXPECT_EQ(Ok({"consume", "live", "--group", "g"}), "d\n");
}

TEST_F(CliProcessTest, SecondWriterGetsAnErrorNamingTheHolder) {
  CreateTopic("t", 1);
  auto producer = Start({"produce", "t"});
  ASSERT_TRUE(producer->Write("held\n"));
  WaitForRecords("t", 1);  // the producer has the directory open for writing now
  auto before = Snapshot(data_);
  CliResult r = Sluice({"topic", "create", "other", "--partitions", "1"});
  std::string err = ExpectFailure(r, 1);
  EXPECT_NE(err.find("sluice"), std::string::npos) << err;
  EXPECT_NE(err.find("produce"), std::string::npos) << "should name the holder: " << err;
  EXPECT_EQ(Snapshot(data_), before);
  // Readers still work alongside the writer.
  EXPECT_EQ(Ok({"topic", "list"}), "t\n");
  // Once the holder finishes, the next writer gets in.
  producer->CloseStdin();
  EXPECT_EQ(producer->Wait(), 0) << producer->err();
  EXPECT_EQ(producer->err(), "wrote 1 record to topic 't'\n");
  CreateTopic("other", 1);
}

TEST_F(CliProcessTest, SecondWriterWaitsItsTurnWithinTheLockWait) {
  CreateTopic("t", 1);
  auto producer = Start({"produce", "t"});
  ASSERT_TRUE(producer->Write("one\n"));
  WaitForRecords("t", 1);
  env_["SLUICE_LOCK_WAIT_MS"] = "20000";
  auto waiter = Start({"produce", "t"});
  ASSERT_TRUE(waiter->Write("two\n"));
  waiter->CloseStdin();
  producer->CloseStdin();  // releases the lock; the waiter then takes it
  EXPECT_EQ(producer->Wait(), 0) << producer->err();
  EXPECT_EQ(waiter->Wait(), 0) << waiter->err();
  EXPECT_EQ(Ok({"consume", "t", "--from-beginning"}), "one\ntwo\n");
}

TEST_F(CliProcessTest, StaleLockOfKilledWriterDoesNotBlock) {
  CreateTopic("t", 1);
  auto producer = Start({"produce", "t"});
  ASSERT_TRUE(producer->Write("before kill\n"));
  WaitForRecords("t", 1);
  producer->Signal(SIGKILL);
  EXPECT_EQ(producer->Wait(), 128 + SIGKILL);
  env_["SLUICE_LOCK_WAIT_MS"] = "0";  // must not need to wait at all
  Ok({"produce", "t"}, "after kill\n");
  EXPECT_EQ(Ok({"consume", "t", "--from-beginning"}), "before kill\nafter kill\n");
}

TEST_F(CliProcessTest, KillNineMidStreamLeavesEveryAppendedLineReadable) {
  CreateTopic("t", 1);
  auto producer = Start({"produce", "t"});
  ASSERT_TRUE(producer->Write(Lines(0, 1000)));
  std::string seen = WaitForRecords("t", 1000);
  // Keep writing and kill it mid-stream.
  ASSERT_TRUE(producer->Write(Lines(1000, 20000)));
  producer->Signal(SIGKILL);
  EXPECT_EQ(producer->Wait(), 128 + SIGKILL);

  std::string after = Ok({"consume", "t", "--from-beginning"});
  size_t n = CountLines(after);
  EXPECT_GE(n, 1000u);  // everything a reader saw before the kill is still there
  EXPECT_EQ(after.substr(0, seen.size()), seen);
  EXPECT_EQ(after, Lines(0, static_cast<int>(n)));  // an in-order prefix: no gaps, no garbage
  // The log stays writable and offsets stay dense.
  Ok({"produce", "t"}, "next\n");
  EXPECT_EQ(Ok({"consume", "t", "--offset", std::to_string(n)}), "next\n");
}

TEST_F(CliProcessTest, InterruptedProducerFlushesAndReportsItsCount) {
  CreateTopic("t", 1);
  auto producer = Start({"produce", "t"});
  ASSERT_TRUE(producer->Write(Lines(0, 300)));
  WaitForRecords("t", 300);
  producer->Signal(SIGINT);
  EXPECT_EQ(producer->Wait(), 0) << producer->err();
  EXPECT_EQ(producer->err(), "wrote 300 records to topic 't'\n");
  EXPECT_EQ(Ok({"consume", "t", "--from-beginning"}), Lines(0, 300));
}

}  // namespace
}  // namespace sluice::testing
