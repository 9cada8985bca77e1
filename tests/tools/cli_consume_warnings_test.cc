// `sluice consume` warnings (issue 15 item 5), with the real binary. Built twice: tools_cli_test
// reads the data directory (embedded); with SLUICE_CLI_VIA_BROKER (tools_cli_broker_test) the
// records are written on the directory first, then a `sluice serve` serves it and every consume
// goes through --bootstrap-server (a plain --group consumer is then a group member).
// - --group whose committed offset lies below the log start (retention deleted records before the
//   group read them): one warning per such partition saying how many offsets were skipped and
//   where it continues; none for a group at or above the start.
// - --from-time past the last record of partitions: one line for the topic naming them; none when
//   every partition has records at or after the time (or none at all).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/tools/cli_fixture.h"

namespace sluice::testing {
namespace {

#ifdef SLUICE_CLI_VIA_BROKER
constexpr bool kViaBroker = true;
#else
constexpr bool kViaBroker = false;
#endif

class CliConsumeWarningsTest : public CliTest {
 protected:
  // After the records are written: through a broker, serve the directory and go through it.
  void Serve() {
    if (!kViaBroker) return;
    server_ = std::make_unique<SluiceProcess>(
        std::vector<std::string>{"--data", data_, "serve", "--listen", "127.0.0.1:0"});
    // A guard against a server that never comes up, not a timing assertion.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!std::filesystem::exists(data_ + "/OWNER") &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(std::filesystem::exists(data_ + "/OWNER")) << server_->err();
    std::ifstream in(data_ + "/OWNER");
    std::string word;
    while (in >> word) {
      if (word.starts_with("address=")) extra_args_ = {"-b", word.substr(8)};
    }
    ASSERT_FALSE(extra_args_.empty());
  }
  void TearDown() override {
    if (server_) {
      server_->Signal(SIGKILL);
      server_->Wait();
    }
    CliTest::TearDown();
  }

  static std::string Numbered(int from, int n) {
    std::string text;
    for (int i = from; i < from + n; ++i) text += "record-" + std::to_string(i) + "-padding\n";
    return text;
  }
  static size_t Count(const std::string& s, const std::string& needle) {
    size_t n = 0;
    for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
    return n;
  }

  std::unique_ptr<SluiceProcess> server_;
};

TEST_F(CliConsumeWarningsTest, GroupBelowTheLogStartWarnsHowManyOffsetsWereSkipped) {
  // Small segments and a small retention: a writer's close deletes the oldest segments.
  Ok({"topic", "create", "t", "--partitions", "1", "--segment-bytes", "1024", "--retention-bytes",
      "2048"});
  Ok({"produce", "t"}, Numbered(0, 10));
  Ok({"consume", "t", "--group", "behind", "--max", "3"});
  Ok({"consume", "t", "--group", "behind-too", "--max", "3"});
  Ok({"produce", "t"}, Numbered(10, 200));
  const std::string first =
      Ok({"consume", "t", "--from-beginning", "--max", "1", "--format", "%o\\n"});
  const int64_t start = std::stoll(first);
  ASSERT_GT(start, 3) << "retention should have deleted the first segment";
  Serve();

  // Through a broker: a group member (Subscribe), then a reader of explicit partitions.
  for (std::vector<std::string> args :
       {std::vector<std::string>{"consume", "t", "--group", "behind", "--format", "%o\\n"},
        std::vector<std::string>{"consume", "t", "--group", "behind-too", "--partition", "0",
                                 "--format", "%o\\n"}}) {
    CliResult r = Sluice(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(CountLines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("warning: group '" + args[3] + "' committed offset 3 for t-0, but the " +
                         "log now starts at offset " + std::to_string(start) + ": " +
                         std::to_string(start - 3) + " offset(s) were deleted"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("continuing at offset " + std::to_string(start)), std::string::npos)
        << r.err;
    ASSERT_FALSE(r.out.empty());
    EXPECT_EQ(std::stoll(r.out), start);  // the first record printed
    EXPECT_EQ(static_cast<int64_t>(CountLines(r.out)), 210 - start);
  }
  // Committed at the end now: nothing skipped, no warning.
  CliResult again = Sluice({"consume", "t", "--group", "behind"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err, "");
  // A group that committed at the log start: nothing skipped, no warning.
  Ok({"consume", "t", "--group", "current", "--from-beginning", "--max", "1"});
  CliResult current = Sluice({"consume", "t", "--group", "current"});
  ASSERT_EQ(current.exit_code, 0) << current.err;
  EXPECT_EQ(current.err, "");
  EXPECT_EQ(static_cast<int64_t>(CountLines(current.out)), 210 - start - 1);
}

TEST_F(CliConsumeWarningsTest, FromTimePastTheEndWarnsOnceForTheTopic) {
  Ok({"topic", "create", "times", "--partitions", "3"});
  Ok({"topic", "create", "empty", "--partitions", "2"});
  Ok({"produce", "times", "--partition", "0", "--timestamp", "2023-01-01T00:00:00Z"},
     Numbered(0, 5));
  Ok({"produce", "times", "--partition", "1", "--timestamp", "2023-01-01T00:00:00Z"},
     Numbered(5, 5));
  Ok({"produce", "times", "--partition", "2", "--timestamp", "2023-01-03T00:00:00Z"},
     Numbered(10, 5));
  Serve();

  CliResult some = Sluice({"consume", "times", "--from-time", "2023-01-02"});
  ASSERT_EQ(some.exit_code, 0) << some.err;
  EXPECT_EQ(CountLines(some.out), 5u);
  EXPECT_EQ(CountLines(some.err), 1u) << some.err;
  EXPECT_NE(some.err.find("warning: --from-time 2023-01-02 is past the last record of 2 of 3 "
                          "partition(s) of topic 'times' (partitions 0, 1): nothing to read there"),
            std::string::npos)
      << some.err;

  CliResult all = Sluice({"consume", "times", "--from-time", "2024-01-01"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.out, "");
  EXPECT_EQ(CountLines(all.err), 1u) << all.err;
  EXPECT_NE(all.err.find("past the last record of 3 of 3 partition(s) of topic 'times' "
                         "(partitions 0, 1, 2)"),
            std::string::npos)
      << all.err;

  // Every partition has records at or after the time, or none at all: no warning.
  CliResult none = Sluice({"consume", "times", "--from-time", "2022-12-31"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(CountLines(none.out), 15u);
  EXPECT_EQ(none.err, "");
  CliResult empty = Sluice({"consume", "empty", "--from-time", "2024-01-01"});
  ASSERT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(empty.err, "");
  CliResult one = Sluice({"consume", "times", "--partition", "2", "--from-time", "2023-01-02"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.err, "");

  // Following, it says it waits; a record written afterwards is read.
  SluiceProcess follow(
      WithData({"consume", "times", "--partition", "0", "--from-time", "2024-01-01", "--follow"}),
      env_);
  ASSERT_TRUE(follow.WaitForStderr("(--follow waits for them)", std::chrono::seconds(30)))
      << follow.err();
  EXPECT_NE(follow.err().find("past the last record of 1 of 1 partition(s) of topic 'times' "
                              "(partition 0): nothing to read there until new records arrive"),
            std::string::npos)
      << follow.err();
  Ok({"produce", "times", "--partition", "0"}, "new\n");
  EXPECT_EQ(follow.ReadStdoutLines(1, std::chrono::seconds(30)), "new\n");
  follow.Signal(SIGINT);
  EXPECT_EQ(follow.Wait(), 0) << follow.err();
  EXPECT_EQ(Count(follow.err(), "warning"), 1u) << follow.err();
}

}  // namespace
}  // namespace sluice::testing
