// "Whoever owns a data directory serves it": `sluice serve` records its address in <data>/OWNER
// and the log commands given the same --data go through it without a flag; a stale OWNER (its
// process killed) is ignored, an owner that does not answer is reported, never waited for.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/tools/cli_fixture.h"

namespace sluice::testing {
namespace {

class CliOwnerTest : public CliTest {
 protected:
  // Starts `sluice serve` on an ephemeral port and waits for it to record its address.
  void Serve() {
    server_ = std::make_unique<SluiceProcess>(
        std::vector<std::string>{"--data", data_, "serve", "--listen", "127.0.0.1:0"});
    // A guard against a server that never comes up, not a timing assertion.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!std::filesystem::exists(data_ + "/OWNER") &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(std::filesystem::exists(data_ + "/OWNER")) << server_->err();
  }
  void TearDown() override {
    if (server_) {
      server_->Signal(SIGKILL);
      server_->Wait();
    }
    CliTest::TearDown();
  }
  std::unique_ptr<SluiceProcess> server_;
};

std::multiset<std::string> Lines(const std::string& s) {
  std::vector<std::string> v = SplitLines(s);
  return {v.begin(), v.end()};
}

TEST_F(CliOwnerTest, CommandsGoThroughTheServingOwnerAndFallBackWhenItIsKilled) {
  CreateTopic("t", 2);
  Serve();
  // The server holds the directory's lock: these only work by going through it.
  Ok({"produce", "t", "--key-separator", ":"}, "k1:a\nk2:b\nk3:c\n");
  Ok({"topic", "create", "u", "--partitions", "1"});
  EXPECT_EQ(Ok({"topic", "list"}), "t\nu\n");
  EXPECT_EQ(Lines(Ok({"consume", "t", "--group", "g"})),
            (std::multiset<std::string>{"a", "b", "c"}));
  EXPECT_EQ(SplitLines(Ok({"group", "describe", "g"})).size(), 3u);

  // An owner that holds the lock but does not answer is reported, not waited for forever.
  server_->Signal(SIGSTOP);
  std::string err = ExpectFailure(Sluice({"topic", "list"}), 1);
  EXPECT_NE(err.find("does not answer"), std::string::npos) << err;
  server_->Signal(SIGCONT);

  // Killed: its OWNER file stays behind, but its lock died with it, so the next command opens
  // the directory itself, and every acknowledged record is there exactly once.
  server_->Signal(SIGKILL);
  server_->Wait();
  server_.reset();
  ASSERT_TRUE(std::filesystem::exists(data_ + "/OWNER"));
  Ok({"produce", "t"}, "d\n");
  EXPECT_EQ(Lines(Ok({"consume", "t", "--from-beginning"})),
            (std::multiset<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(Ok({"consume", "t", "--group", "g"}), "d\n");
}

// `sluice run` on a served directory runs over its owner (as a user's RunMain binary does,
// tools/run_main_test.cc), saying so in one line; it used to fail and say to use -b.
TEST_F(CliOwnerTest, RunOnAServedDirectoryRunsOverItsOwner) {
  CreateTopic("lines", 1);
  Ok({"produce", "lines"}, "a b a\nc a\n");
  Serve();
  CliResult r = Sluice({"run", "wordcount", "--input", "lines", "--output", "counts", "--state",
                        tmp_ + "/s", "--until-end"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("data directory '" + data_ + "' is served by another process at 127.0.0.1:"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("running over it, as with -b 127.0.0.1:"), std::string::npos) << r.err;
  std::map<std::string, std::string> latest;
  for (const std::string& line :
       SplitLines(Ok({"consume", "counts", "--from-beginning", "--format", "%k=%s\n"}))) {
    size_t eq = line.find('=');
    latest[line.substr(0, eq)] = line.substr(eq + 1);
  }
  EXPECT_EQ(latest, (std::map<std::string, std::string>{{"a", "3"}, {"b", "1"}, {"c", "1"}}));
}

TEST_F(CliOwnerTest, ARunningJobServesItsDirectoryToProduceFromAnotherProcess) {
  CreateTopic("lines", 2);
  SluiceProcess job({"--data", data_, "run", "wordcount", "--input", "lines", "--output", "counts",
                     "--state", tmp_ + "/state", "--quiet"});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!std::filesystem::exists(data_ + "/OWNER") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(std::filesystem::exists(data_ + "/OWNER")) << job.err();
  // The job holds the directory's lock: this produce only works through its server.
  Ok({"produce", "lines"}, "a b a\nc a\n");
  // The latest count per word, once the job has committed them (a hang guard, not a timing
  // assertion).
  std::map<std::string, std::string> latest;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    latest.clear();
    for (const std::string& line :
         SplitLines(Ok({"consume", "counts", "--from-beginning", "--format", "%k=%s\n"}))) {
      size_t eq = line.find('=');
      latest[line.substr(0, eq)] = line.substr(eq + 1);
    }
    if (latest["a"] == "3") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(latest, (std::map<std::string, std::string>{{"a", "3"}, {"b", "1"}, {"c", "1"}}));
  job.Signal(SIGINT);
  EXPECT_EQ(job.Wait(), 0) << job.err();
  EXPECT_FALSE(std::filesystem::exists(data_ + "/OWNER"));
}

TEST_F(CliOwnerTest, GenWritesThroughTheServingOwnerAsIntoTheDirectory) {
  // The same events generated into a directory nobody serves, and through a served one: the
  // same records in the same partitions with the same timestamps.
  std::string plain = tmp_ + "/plain";
  std::vector<std::string> gen = {"gen",      "clickstream", "--topic",      "clicks",
                                  "--events", "500",         "--partitions", "3"};
  std::vector<std::string> args = {"--data", plain};
  args.insert(args.end(), gen.begin(), gen.end());
  CliResult direct = RunSluice(args, "", env_);
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  CreateTopic("other", 1);
  Serve();
  // The server holds the directory's lock: gen only works by going through it.
  Ok(gen);
  std::vector<std::string> read = {"consume", "clicks", "--from-beginning", "--format",
                                   "%p %k %T %s\\n"};
  CliResult expected = RunSluice(
      {"--data", plain, "consume", "clicks", "--from-beginning", "--format", "%p %k %T %s\\n"}, "",
      env_);
  ASSERT_EQ(expected.exit_code, 0) << expected.err;
  EXPECT_EQ(SplitLines(expected.out).size(), 500u);
  EXPECT_EQ(Lines(Ok(read)), Lines(expected.out));
}

TEST_F(CliOwnerTest, AnAnalyticsJobServesItsDirectoryToGenIntoItsInput) {
  Ok({"gen", "clickstream", "--topic", "clicks", "--events", "300"});
  SluiceProcess job({"--data", data_, "run", "pageviews", "--input", "clicks", "--state",
                     tmp_ + "/state", "--quiet"});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!std::filesystem::exists(data_ + "/OWNER") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(std::filesystem::exists(data_ + "/OWNER")) << job.err();
  // The job holds the directory's lock: gen only works through its server, and the job's input
  // cannot be deleted under it.
  Ok({"gen", "clickstream", "--topic", "clicks", "--events", "100", "--seed", "2"});
  ExpectFailure(Sluice({"topic", "delete", "clicks"}), 1);
  job.Signal(SIGINT);
  EXPECT_EQ(job.Wait(), 0) << job.err();
  EXPECT_NE(job.out().find("pageviews summary"), std::string::npos) << job.out();
  EXPECT_FALSE(std::filesystem::exists(data_ + "/OWNER"));
  EXPECT_EQ(SplitLines(Ok({"consume", "clicks", "--from-beginning"})).size(), 400u);
}

TEST_F(CliOwnerTest, ACleanStopRemovesTheAddress) {
  CreateTopic("t", 1);
  Serve();
  server_->Signal(SIGTERM);
  EXPECT_EQ(server_->Wait(), 0) << server_->err();
  server_.reset();
  EXPECT_FALSE(std::filesystem::exists(data_ + "/OWNER"));
  Ok({"produce", "t"}, "x\n");
  EXPECT_EQ(Ok({"consume", "t", "--from-beginning"}), "x\n");
}

}  // namespace
}  // namespace sluice::testing
