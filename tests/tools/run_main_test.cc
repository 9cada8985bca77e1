// A user's job binary built with RunMain (tests/tools/user_job_main.cc) behaves as `sluice run`:
// runs to the end of its input, creates its output topics only when asked, describes and resets
// itself, serves its data directory while it runs, refuses a second instance of itself, and runs
// over the process that serves its data directory (`sluice serve`), saying so.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/tools/cli_fixture.h"

namespace sluice::testing {
namespace {

const std::string kOrders = R"({"id":"o1","customer":"c1","amount":10})"
                            "\n"
                            R"({"id":"o2","customer":"c2","amount":5.5})"
                            "\n"
                            R"({"id":"o3","customer":"c1","amount":1})"
                            "\n"
                            R"({"id":"o4","customer":"c2","amount":2})"
                            "\n"
                            R"({"id":"o5","customer":"c1","amount":3})"
                            "\n";
const std::map<std::string, std::string> kCounts = {{"c1", "3"}, {"c2", "2"}};

class RunMainTest : public CliTest {
 protected:
  void TearDown() override {
    if (server_) {
      server_->Signal(SIGKILL);
      server_->Wait();
    }
    CliTest::TearDown();
  }
  // The user's binary with --data and --state.
  std::vector<std::string> JobArgs(std::vector<std::string> extra) const {
    std::vector<std::string> args = {"--data", data_, "--state", tmp_ + "/state"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  CliResult Job(std::vector<std::string> extra) {
    return RunProgram(USER_JOB_BINARY, JobArgs(std::move(extra)), "", env_);
  }
  // The order-counts records, as "customer=count" lines.
  std::vector<std::string> CountRecords() {
    return SplitLines(Ok({"consume", "order-counts", "--from-beginning", "--format", "%k=%s\n"}));
  }
  // The latest count per customer.
  std::map<std::string, std::string> Counts() {
    std::map<std::string, std::string> latest;
    for (const std::string& line : CountRecords()) {
      size_t eq = line.find('=');
      latest[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return latest;
  }
  // Waits (a hang guard, not a timing assertion) until <data>/OWNER exists.
  void WaitForOwner(const std::string& what_err) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(data_ + "/OWNER") &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(std::filesystem::exists(data_ + "/OWNER")) << what_err;
  }
  std::unique_ptr<SluiceProcess> server_;
};

TEST_F(RunMainTest, RunsToTheEndCreatesOutputsWhenAskedDescribesAndResets) {
  CreateTopic("orders", 2);
  Ok({"produce", "orders"}, kOrders);

  std::string err = ExpectFailure(Job({"--until-end"}), 1);
  EXPECT_NE(err.find("output topic 'order-counts' does not exist"), std::string::npos) << err;
  EXPECT_NE(err.find("--create-topics"), std::string::npos) << err;

  CliResult describe = Job({"--describe"});
  ASSERT_EQ(describe.exit_code, 0) << describe.err;
  EXPECT_NE(describe.out.find("orders-per-customer"), std::string::npos) << describe.out;

  CliResult run = Job({"--until-end", "--create-topics"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("created output topic 'order-counts' with 2 partitions"),
            std::string::npos)
      << run.err;
  // The progress line (at least the final one), with late records.
  EXPECT_NE(run.err.find("user_job: in "), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(", lag 0, late 0"), std::string::npos) << run.err;
  EXPECT_EQ(Counts(), kCounts);
  EXPECT_EQ(CountRecords().size(), 5u);

  // Run again: nothing new to process, nothing written.
  ASSERT_EQ(Job({"--until-end", "--quiet"}).exit_code, 0);
  EXPECT_EQ(CountRecords().size(), 5u);

  // Reset to the earliest offsets (state deleted): the next run counts everything again.
  CliResult reset = Job({"reset", "--to-earliest"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  EXPECT_NE(reset.out.find("reset application 'user_job' to the earliest offsets"),
            std::string::npos)
      << reset.out;
  ASSERT_EQ(Job({"--until-end", "--quiet"}).exit_code, 0);
  EXPECT_EQ(CountRecords().size(), 10u);
  EXPECT_EQ(Counts(), kCounts);
}

TEST_F(RunMainTest, ServesItsDirectoryWhileRunningAndRefusesASecondInstance) {
  CreateTopic("orders", 1);
  SluiceProcess job(USER_JOB_BINARY, JobArgs({"--create-topics", "--quiet"}), env_);
  WaitForOwner(job.err());
  // The job holds the directory's lock: produce and consume only work through its server.
  Ok({"produce", "orders"}, kOrders);
  std::map<std::string, std::string> counts;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {  // a hang guard
    counts = Counts();
    if (counts == kCounts) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(counts, kCounts);

  // A second instance of the application is refused, as the lock refuses a second `sluice run`.
  std::string err = ExpectFailure(Job({"--until-end"}), 1);
  EXPECT_NE(
      err.find("application 'user_job' is already running in pid " + std::to_string(job.pid())),
      std::string::npos)
      << err;

  job.Signal(SIGINT);
  EXPECT_EQ(job.Wait(), 0) << job.err();
  EXPECT_FALSE(std::filesystem::exists(data_ + "/OWNER"));
  EXPECT_EQ(Counts(), kCounts);
}

TEST_F(RunMainTest, RunsOverTheProcessThatServesItsDirectory) {
  CreateTopic("orders", 2);
  Ok({"produce", "orders"}, kOrders);
  server_ = std::make_unique<SluiceProcess>(
      std::vector<std::string>{"--data", data_, "serve", "--listen", "127.0.0.1:0"}, env_);
  WaitForOwner(server_->err());

  CliResult run = Job({"--until-end", "--create-topics"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(
      run.err.find("data directory '" + data_ + "' is served by another process at 127.0.0.1:"),
      std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("running over it"), std::string::npos) << run.err;
  // Through the server (it still holds the directory).
  EXPECT_EQ(Counts(), kCounts);
  EXPECT_EQ(CountRecords().size(), 5u);
}

// kill -9 of the user's binary once its first update is committed (its OWNER file left behind),
// then a restart to the end: every order is counted exactly once (one committed update per
// order, the right totals). The test prints how far the killed run had got.
TEST_F(RunMainTest, AfterKillMinus9TheRestartNeitherLosesNorRepeatsACount) {
  CreateTopic("orders", 2);
  std::string orders;
  for (int i = 0; i < 2000; ++i) {
    orders += R"({"id":"o)" + std::to_string(i) + R"(","customer":"c)" + std::to_string(i % 10) +
              R"(","amount":1})" + "\n";
  }
  Ok({"produce", "orders"}, orders);
  auto committed = [&] {
    return SplitLines(Ok({"consume", "order-counts", "--from-beginning", "--isolation",
                          "read_committed", "--format", "%k=%s\n"}));
  };
  {
    SluiceProcess job(USER_JOB_BINARY,
                      JobArgs({"--create-topics", "--quiet", "--batch-records", "1",
                               "--commit-interval-ms", "1"}),
                      env_);
    WaitForOwner(job.err());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (committed().empty() && std::chrono::steady_clock::now() < deadline) {  // a hang guard
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    job.Signal(SIGKILL);
    job.Wait();
    std::cerr << "killed with " << committed().size() << " of 2000 updates committed\n";
  }
  ASSERT_TRUE(std::filesystem::exists(data_ + "/OWNER"));  // stale: its owner is gone
  CliResult run = Job({"--until-end", "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> updates = committed();
  EXPECT_EQ(updates.size(), 2000u);
  std::map<std::string, std::string> latest;
  for (const std::string& line : updates) {
    size_t eq = line.find('=');
    latest[line.substr(0, eq)] = line.substr(eq + 1);
  }
  ASSERT_EQ(latest.size(), 10u);
  for (const auto& [customer, count] : latest) EXPECT_EQ(count, "200") << customer;
}

}  // namespace
}  // namespace sluice::testing
