// `sluice job reset` of a job run over a broker (issue 13, runtime/job_reset.h ResetJobOverBroker),
// with real processes: `sluice serve` as one child, `sluice run wordcount -b` as others. A reset
// to the earliest offsets makes the rerun's counts those of a fresh run (not doubled), and deletes
// the job's state and internal topics; a reset to a time reprocesses from the first record at or
// after it; a reset while an instance runs or the group has a member is refused and changes
// nothing; a reset that finds no state directory fails naming where it looked.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/log_client.h"
#include "tests/tools/cli_fixture.h"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;
// Guards against hangs, not timing assertions.
constexpr auto kHangGuard = std::chrono::seconds(60);

// Word -> the counts the job emitted for it, in order (a word always lands in one partition).
using Emitted = std::map<std::string, std::vector<int64_t>>;

class CliJobResetBrokerTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    state_ = tmp_ + "/state";
    server_ = std::make_unique<SluiceProcess>(
        std::vector<std::string>{"--data", data_, "serve", "--listen", "127.0.0.1:0"});
    auto deadline = Clock::now() + std::chrono::seconds(20);
    while (!std::filesystem::exists(data_ + "/OWNER") && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(std::filesystem::exists(data_ + "/OWNER")) << server_->err();
    std::ifstream in(data_ + "/OWNER");
    std::string word;
    while (in >> word) {
      if (word.starts_with("address=")) address_ = word.substr(8);
    }
    ASSERT_FALSE(address_.empty());
    // Through the served directory: topic, produce and consume go through the server.
    CreateTopic("lines", 2);
    CreateTopic("counts", 2);
  }
  void TearDown() override {
    if (server_) {
      server_->Signal(SIGKILL);
      server_->Wait();
    }
    CliTest::TearDown();
  }

  // Lines of words from a small vocabulary; adds each word's count to `oracle`.
  std::string Lines(int n, int seed, std::map<std::string, int64_t>* oracle) {
    std::string text;
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < 3; ++j) {
        std::string w = "w" + std::to_string((i * 7 + j * 13 + seed) % 23);
        text += (j ? " " : "") + w;
        ++(*oracle)[w];
      }
      text += "\n";
    }
    return text;
  }

  CliResult RunJob() {
    return RunSluice({"-b", address_, "run", "wordcount", "--input", "lines", "--output", "counts",
                      "--app", "wc", "--state", state_, "--until-end", "--quiet"},
                     "", env_);
  }
  void RunJobOk() {
    CliResult r = RunJob();
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // What the job published, read_committed.
  Emitted Counts() {
    Emitted out;
    std::string text = Ok({"consume", "counts", "--from-beginning", "--isolation", "read_committed",
                           "--format", "%k %s\\n"});
    for (const std::string& line : SplitLines(text)) {
      std::istringstream in(line);
      std::string word;
      int64_t n = 0;
      in >> word >> n;
      out[word].push_back(n);
    }
    return out;
  }

  // 1, 2, ..., n of every word: what a run from scratch over `oracle` emits.
  static Emitted Fresh(const std::map<std::string, int64_t>& oracle) {
    Emitted out;
    for (const auto& [w, n] : oracle) {
      for (int64_t i = 1; i <= n; ++i) out[w].push_back(i);
    }
    return out;
  }
  static Emitted Then(Emitted a, const Emitted& b) {
    for (const auto& [w, v] : b) a[w].insert(a[w].end(), v.begin(), v.end());
    return a;
  }

  std::unique_ptr<client::LogClient> Client() {
    client::ClientOptions o;
    o.bootstrap_servers = address_;
    o.kafka_config = {{"log_level", "3"}};
    auto c = client::OpenLogClient(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  client::GroupDescription Group() {
    auto d = Client()->DescribeGroup("wc");
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : client::GroupDescription{};
  }

  std::string state_;
  std::string address_;
  std::unique_ptr<SluiceProcess> server_;
};

// Reset to the earliest offsets through the served directory, as kafka-streams-application-reset:
// the rerun emits what a fresh run emits (1..n per word again, not n+1..2n), and the state and
// the job's internal topics on the broker (repartition and changelog, by name) are gone.
TEST_F(CliJobResetBrokerTest, ResetToEarliestMakesTheRerunCountLikeAFreshRun) {
  std::map<std::string, int64_t> oracle;
  Ok({"produce", "lines"}, Lines(300, 0, &oracle));
  RunJobOk();
  const Emitted first = Counts();
  ASSERT_EQ(first, Fresh(oracle));
  // The job's internal topics as the broker runtime names them, and a look-alike of another app.
  CreateTopic("wc-counts-changelog", 2);
  CreateTopic("wc-by-word-repartition", 2);
  CreateTopic("wcx-counts-changelog", 1);

  std::string out = Ok({"job", "reset", "wc", "--to-earliest", "--state", state_});
  EXPECT_NE(out.find("reset application 'wc' to the earliest offsets"), std::string::npos) << out;
  EXPECT_NE(out.find("input lines partition 0: offset "), std::string::npos) << out;
  EXPECT_NE(out.find("-> 0 (the log start)"), std::string::npos) << out;
  EXPECT_NE(out.find("state deleted: " + state_ + "/wc"), std::string::npos) << out;
  EXPECT_NE(out.find("changelog topic deleted: wc-counts-changelog"), std::string::npos) << out;
  EXPECT_NE(out.find("repartition topic deleted: wc-by-word-repartition"), std::string::npos)
      << out;
  EXPECT_NE(out.find("with metadata 'sluice-reset'"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(state_ + "/wc"));
  std::string topics = Ok({"topic", "list"});
  EXPECT_EQ(topics.find("wc-counts-changelog"), std::string::npos) << topics;
  EXPECT_EQ(topics.find("wc-by-word-repartition"), std::string::npos) << topics;
  EXPECT_NE(topics.find("wcx-counts-changelog"), std::string::npos) << topics;
  client::GroupDescription g = Group();
  // Every input partition the job had committed (a task commits once it consumed something, so
  // an empty partition may have none); the internal topics' offsets went with the topics.
  ASSERT_FALSE(g.committed.empty());
  for (const auto& [tp, off] : g.committed) {
    EXPECT_EQ(tp.topic, "lines");
    EXPECT_EQ(off, Offset(0)) << tp.topic << "-" << tp.partition.value();
    EXPECT_EQ(g.metadata[tp], "sluice-reset");
  }

  RunJobOk();
  EXPECT_EQ(Counts(), Then(first, Fresh(oracle)));
  // The rerun committed its own offsets: the input's end, without the reset's mark.
  g = Group();
  int64_t total = 0;
  for (const auto& [tp, off] : g.committed) {
    if (tp.topic == "lines") total += off.value();
  }
  EXPECT_EQ(total, 300);
  EXPECT_TRUE(g.metadata.empty());
}

// A reset to a time over a broker rewinds every input to the first record at or after it (wordcount
// has no windows, so to the time itself) and the rerun counts only those records.
// (pageviews, whose windows make the reset move the time back, does not run over a broker yet:
// BrokerJob refuses event-time topologies.)
TEST_F(CliJobResetBrokerTest, ResetToATimeReprocessesFromTheFirstRecordAtOrAfterIt) {
  std::map<std::string, int64_t> before, after, all;
  Ok({"produce", "lines", "--timestamp", "2023-01-01T00:00:00Z"}, Lines(120, 0, &before));
  Ok({"produce", "lines", "--timestamp", "2023-01-02T00:00:00Z"}, Lines(80, 5, &after));
  for (const auto* m : {&before, &after}) {
    for (const auto& [w, n] : *m) all[w] += n;
  }
  RunJobOk();
  const Emitted first = Counts();
  ASSERT_EQ(first, Fresh(all));

  std::string out = Ok({"job", "reset", "wc", "--to-time", "2023-01-01T12:00:00Z", "--state",
                        state_, "-b", address_});
  EXPECT_NE(out.find("reset application 'wc' to time 2023-01-01T12:00:00Z"), std::string::npos)
      << out;
  EXPECT_NE(out.find("reset time 2023-01-01T12:00:00.000Z (1672574400000)"), std::string::npos)
      << out;
  EXPECT_NE(out.find("(the first record at or after 2023-01-01T12:00:00.000Z (1672574400000))"),
            std::string::npos)
      << out;
  client::GroupDescription g = Group();
  int64_t rewound_to = 0;
  for (const auto& [tp, off] : g.committed) rewound_to += off.value();
  EXPECT_EQ(rewound_to, 120);  // every partition at its first record of the second batch

  RunJobOk();
  EXPECT_EQ(Counts(), Then(first, Fresh(after)));
}

// While the application's group has a member, or an instance runs on this machine (its state
// directory is locked), the reset is refused, says who and what to do, and changes nothing.
TEST_F(CliJobResetBrokerTest, ResetIsRefusedWhileTheGroupHasMembersOrAnInstanceRuns) {
  std::map<std::string, int64_t> oracle;
  Ok({"produce", "lines"}, Lines(100, 0, &oracle));
  RunJobOk();
  const client::GroupDescription before = Group();

  {
    // A consumer in the group (through the served directory --group makes it a member).
    SluiceProcess member(WithData({"consume", "lines", "--group", "wc", "--follow"}), env_);
    auto deadline = Clock::now() + kHangGuard;
    while (Group().members.empty() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_FALSE(Group().members.empty()) << member.err();
    std::string err = ExpectFailure(
        Sluice({"job", "reset", "wc", "--to-earliest", "--state", state_, "-b", address_}), 1);
    EXPECT_NE(err.find("has 1 active member(s) in its group at the broker"), std::string::npos)
        << err;
    EXPECT_NE(err.find("Stop every instance of the job"), std::string::npos) << err;
    member.Signal(SIGINT);
    EXPECT_EQ(member.Wait(), 0) << member.err();
  }
  auto deadline = Clock::now() + kHangGuard;
  while (!Group().members.empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(Group().members.empty());
  EXPECT_EQ(Group().committed, before.committed);
  EXPECT_TRUE(std::filesystem::exists(state_ + "/wc"));

  {
    // An instance that runs (it has processed records written after it started).
    SluiceProcess job({"-b", address_, "run", "wordcount", "--input", "lines", "--output", "counts",
                       "--app", "wc", "--state", state_, "--quiet"},
                      env_);
    Ok({"produce", "lines"}, "late words\n");
    deadline = Clock::now() + kHangGuard;
    while (Counts()["late"].empty() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(Counts()["late"], std::vector<int64_t>{1}) << job.err();
    std::string err = ExpectFailure(
        Sluice({"job", "reset", "wc", "--to-earliest", "--state", state_, "-b", address_}), 1);
    // A running instance is a member of the application's group (and holds its state
    // directory): either refusal names it and says to stop it.
    EXPECT_TRUE(err.find("has 1 active member(s) in its group at the broker") !=
                    std::string::npos ||
                err.find("is running on this machine (its state directory '" + state_ +
                         "/wc' is locked); stop it before resetting") != std::string::npos)
        << err;
    job.Signal(SIGINT);
    EXPECT_EQ(job.Wait(), 0) << job.err();
  }
  EXPECT_TRUE(std::filesystem::exists(state_ + "/wc"));
  // The instance committed the late line; the reset moved nothing.
  int64_t total = 0;
  for (const auto& [tp, off] : Group().committed) {
    if (tp.topic == "lines") total += off.value();
  }
  EXPECT_EQ(total, 101);
}

// The issue 15 rule over a broker: a reset that finds no state directory although the job ran
// (its offsets carry no reset mark) fails naming where it looked and changes nothing; with
// --state-deleted it rewinds, and the rerun counts like a fresh run.
TEST_F(CliJobResetBrokerTest, AResetThatFindsNoStateFailsSayingWhereItLooked) {
  std::map<std::string, int64_t> oracle;
  Ok({"produce", "lines"}, Lines(150, 0, &oracle));
  RunJobOk();
  const Emitted first = Counts();
  const client::GroupDescription before = Group();
  std::filesystem::remove_all(state_ + "/wc");

  std::string err = ExpectFailure(
      Sluice({"job", "reset", "wc", "--to-earliest", "--state", state_, "-b", address_}), 1);
  EXPECT_NE(err.find("there is none at '" + state_ + "/wc'"), std::string::npos) << err;
  EXPECT_NE(err.find("--state-deleted"), std::string::npos) << err;
  EXPECT_EQ(Group().committed, before.committed);
  EXPECT_TRUE(Group().metadata.empty());
  // Without the reset the start restores the state from the changelogs (the offsets are a run's):
  // nothing new to count, and nothing is counted again.
  CliResult restored = RunJob();
  EXPECT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(Counts(), first);
  std::filesystem::remove_all(state_ + "/wc");

  std::string out = Ok({"job", "reset", "wc", "--to-earliest", "--state", state_, "--state-deleted",
                        "-b", address_});
  EXPECT_NE(out.find("no state directory at " + state_ + "/wc"), std::string::npos) << out;
  RunJobOk();
  EXPECT_EQ(Counts(), Then(first, Fresh(oracle)));

  // An application the broker has never seen.
  err = ExpectFailure(
      Sluice({"job", "reset", "nobody", "--to-earliest", "--state", state_, "-b", address_}), 1);
  EXPECT_NE(err.find("application 'nobody' has no committed offsets at the broker"),
            std::string::npos)
      << err;
}

}  // namespace
}  // namespace sluice::testing
