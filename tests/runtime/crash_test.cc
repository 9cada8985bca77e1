// Exactly-once under real crashes: `sluice run balances` as a child process, killed with SIGKILL
// at random moments and at named failpoints of the commit path, restarted, and finally run to
// the end; the output must be the prefix-sum oracle exactly (every balance once, in order).
// The same for `sluice run wordcount`, a two-stage job whose stages pass records in memory and
// commit together: every word's running counts must be 1, 2, ..., n exactly once, in order.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "core/record_batch.h"
#include "runtime/failpoint.h"
#include "tests/runtime/runtime_test_util.h"

namespace sluice {
namespace {

struct ChildResult {
  bool killed = false;  // we sent SIGKILL
  bool exited = false;
  int exit_code = -1;
  int signal = 0;  // the signal that ended it, when not exited (and not killed by us)
};

std::string Describe(const ChildResult& r) {
  return r.exited ? "child exited with code " + std::to_string(r.exit_code)
                  : "child ended by signal " + std::to_string(r.signal);
}

class CrashTest : public ::testing::Test {
 protected:
  // The job under test: balances (one stage), or wordcount (two stages) with `exchange` "local"
  // (in memory) or "log" (a repartition topic of small segments, so that consumed ones are
  // deleted while the job runs and is killed).
  explicit CrashTest(bool wordcount = false, std::string exchange = "local")
      : wordcount_(wordcount),
        exchange_(std::move(exchange)),
        input_(wordcount ? "lines" : "tx"),
        output_(wordcount ? "counts" : "bal"),
        records_(wordcount ? kLines : kTransactions) {}

  void SetUp() override {
    data_ = dir_.path() + "/data";
    state_ = dir_.path() + "/state";
    log_path_ = dir_.path() + "/child.log";
    auto log = testing::OpenLogOrDie(data_);
    testing::CreateTopicOrDie(log.get(), input_, 4);
    testing::CreateTopicOrDie(log.get(), output_, 2);
    if (wordcount_ && exchange_ == "log") {
      TopicConfig c;
      c.partitions = 4;
      c.segment_bytes = 4096;
      ASSERT_TRUE(log->CreateTopic(kRepartition, c).ok());
    }
    if (!wordcount_) {
      inputs_ = testing::ProduceTransactions(log.get(), "tx", kTransactions, 200, 11, 50);
    } else {
      // Lines of 1-5 words from a 300-word vocabulary, over the 4 partitions.
      words_ = testing::ProduceLines(log.get(), "lines", kLines, 300, 7);
    }
    ASSERT_TRUE(log->Close().ok());
  }

  pid_t Spawn(const std::string& failpoint, bool until_end) {
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      if (!failpoint.empty()) setenv("SLUICE_FAILPOINT", failpoint.c_str(), 1);
      std::vector<const char*> argv = {SLUICE_BINARY,
                                       "--data",
                                       data_.c_str(),
                                       "run",
                                       wordcount_ ? "wordcount" : "balances",
                                       "--input",
                                       input_.c_str(),
                                       "--output",
                                       output_.c_str(),
                                       "--state",
                                       state_.c_str(),
                                       "--commit-interval-ms",
                                       "1",
                                       "--batch-records",
                                       "40",
                                       "--threads",
                                       "2",
                                       "--app",
                                       "crash-app"};
      if (wordcount_) {
        argv.push_back("--exchange");
        argv.push_back(exchange_.c_str());
      }
      if (until_end) argv.push_back("--until-end");
      argv.push_back(nullptr);
      execv(SLUICE_BINARY, const_cast<char* const*>(argv.data()));
      _exit(127);
    }
    return pid;
  }

  // Starts the job (with --until-end); kills it after `kill_after` if it still runs; waits.
  ChildResult RunChild(std::optional<std::chrono::milliseconds> kill_after,
                       const std::string& failpoint = "") {
    pid_t pid = Spawn(failpoint, /*until_end=*/true);
    ChildResult r;
    auto start = std::chrono::steady_clock::now();
    int status = 0;
    while (true) {
      pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) break;
      auto elapsed = std::chrono::steady_clock::now() - start;
      if ((kill_after && elapsed >= *kill_after) || elapsed > std::chrono::seconds(90)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        r.killed = true;
        EXPECT_LT(elapsed, std::chrono::seconds(90)) << "the job hung; see " << log_path_;
        return r;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    r.exited = WIFEXITED(status);
    r.exit_code = r.exited ? WEXITSTATUS(status) : -1;
    r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return r;
  }

  // Starts the job without --until-end, waits for its first progress line (so its signal
  // handler is installed), sends SIGTERM and waits up to 10 s for it to exit.
  ChildResult RunAndTerminate() {
    size_t lines_before = CountProgress();
    pid_t pid = Spawn("", /*until_end=*/false);
    ChildResult r;
    auto start = std::chrono::steady_clock::now();
    while (CountProgress() == lines_before) {
      if (std::chrono::steady_clock::now() - start > std::chrono::seconds(60)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(pid, SIGTERM);
    r.killed = true;
    auto sent = std::chrono::steady_clock::now();
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) != pid) {
      if (std::chrono::steady_clock::now() - sent > std::chrono::seconds(10)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ADD_FAILURE() << "the job did not stop within 10 s of SIGTERM";
        return r;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    r.exited = WIFEXITED(status);
    r.exit_code = r.exited ? WEXITSTATUS(status) : -1;
    return r;
  }

  size_t CountProgress() {
    std::ifstream f(log_path_);
    std::string line;
    size_t n = 0;
    while (std::getline(f, line)) n += line.starts_with("crash-app: in ");
    return n;
  }

  std::string ChildLog() {
    std::ifstream f(log_path_);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string s = ss.str();
    return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
  }

  void FinishAndCheck() {
    ChildResult r = RunChild(std::nullopt);
    ASSERT_TRUE(r.exited && r.exit_code == 0) << Describe(r) << "; its log:\n" << ChildLog();
    auto log = testing::OpenLogOrDie(data_);
    auto outputs = testing::ReadTopic(log.get(), output_);
    EXPECT_EQ(wordcount_ ? testing::CheckRunningCounts(words_, outputs)
                         : testing::CheckBalances(inputs_, outputs),
              "")
        << ChildLog();
    // The committed offsets (mirrored into the log) cover the whole input.
    auto group = log->offsets().Fetch("crash-app");
    ASSERT_TRUE(group.ok());
    int64_t committed = 0;
    for (const auto& [tp, off] : *group) {
      if (tp.topic == input_) committed += off.offset.value();
    }
    EXPECT_EQ(committed, records_);
  }

  // SIGKILLs the job at random moments until it finishes on its own, then checks the oracle.
  void RandomKills();
  // Crashes at the failpoint `fp` ("name:k"), again at the same point during the restart, then
  // runs to the end and checks the oracle.
  void CrashAtPoint(const char* fp);

  // Output records of a complete run: one per transaction, or one per word occurrence.
  int64_t ExpectedOutputs() const {
    if (!wordcount_) return kTransactions;
    int64_t n = 0;
    for (const auto& [w, c] : words_) n += c;
    return n;
  }

  // Output records published so far.
  int64_t Published() const {
    LogOptions o;
    o.data_dir = data_;
    o.read_only = true;
    auto log = Log::Open(o);
    if (!log.ok()) return -1;
    int64_t n = 0;
    for (const auto& part : testing::ReadTopic(log->get(), output_))
      n += static_cast<int64_t>(part.size());
    return n;
  }

  static constexpr int kTransactions = 20000;
  static constexpr int kLines = 6000;
  static constexpr char kRepartition[] = "crash-app-word-counts-store-repartition";
  const bool wordcount_;
  const std::string exchange_;
  const std::string input_, output_;
  const int records_;
  testing::TempDir dir_;
  std::string data_, state_, log_path_;
  std::map<std::string, std::vector<int64_t>> inputs_;  // balances
  std::map<std::string, int64_t> words_;                // wordcount: occurrences per word
};

void CrashTest::RandomKills() {
  uint32_t seed = static_cast<uint32_t>(std::random_device()());
  if (const char* s = std::getenv("SLUICE_CRASH_SEED")) seed = static_cast<uint32_t>(std::atoll(s));
  std::printf("crash test seed: %u (rerun with SLUICE_CRASH_SEED=%u)\n", seed, seed);
  std::mt19937 rng(seed);
  int kills = 0, mid_stream = 0;
  for (int round = 0; round < 15; ++round) {
    auto delay = std::chrono::milliseconds(10 + rng() % 200);
    // Each batch of 40 records sleeps 4 ms, so the input (20k transactions, 6k lines) takes a
    // second or two on any machine and the kills land mid-stream; the commit path itself is
    // unchanged.
    ChildResult r = RunChild(delay, "after_process:delay=4");
    if (!r.killed) {
      ASSERT_TRUE(r.exited && r.exit_code == 0) << Describe(r) << "; its log:\n" << ChildLog();
      break;  // it finished before we killed it
    }
    ++kills;
    int64_t done = Published();
    std::printf("kill %d after %d ms: %lld outputs published\n", kills,
                static_cast<int>(delay.count()), static_cast<long long>(done));
    if (done < ExpectedOutputs()) ++mid_stream;
  }
  EXPECT_GE(mid_stream, 3) << "too few kills landed while input was left; the test is too weak";
  FinishAndCheck();
}

TEST_F(CrashTest, RandomKillsNeverDuplicateOrLoseABalance) { RandomKills(); }

// B6: SIGTERM mid-stream stops the job within 10 s with a final commit, repeatedly; the runs
// without --until-end would never end on their own.
TEST_F(CrashTest, SigtermStopsCleanlyAndRestartsWithoutDuplicates) {
  int64_t before = 0;
  for (int i = 0; i < 4; ++i) {
    ChildResult r = RunAndTerminate();
    ASSERT_TRUE(r.exited) << ChildLog();
    EXPECT_EQ(r.exit_code, 0) << ChildLog();
    int64_t now = Published();
    EXPECT_GE(now, before);
    before = now;
  }
  FinishAndCheck();
}

// Each named point of the commit path, with a fresh input: crash at the k-th hit, crash again at
// the same point after recovery (B3), then run to the end and check the oracle.
class CrashPointTest : public CrashTest, public ::testing::WithParamInterface<const char*> {};

void CrashTest::CrashAtPoint(const char* fp) {
  ChildResult r = RunChild(std::nullopt, fp);
  ASSERT_TRUE(r.exited) << fp;
  EXPECT_EQ(r.exit_code, kFailPointExitCode) << fp << "\n" << ChildLog();
  r = RunChild(std::nullopt, fp);
  ASSERT_TRUE(r.exited) << fp;
  EXPECT_TRUE(r.exit_code == kFailPointExitCode || r.exit_code == 0) << fp << "\n" << ChildLog();
  FinishAndCheck();
}

TEST_P(CrashPointTest, CrashAtPointThenRecoverNeverDuplicatesOrLoses) { CrashAtPoint(GetParam()); }

std::string ParamName(const ::testing::TestParamInfo<const char*>& info) {
  std::string n = info.param;
  for (char& c : n) {
    if (c == ':') c = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(CommitPath, CrashPointTest,
                         ::testing::Values("after_poll:3", "after_process:5",
                                           "before_commit_write:2", "after_commit_write:1",
                                           "after_commit_write:4", "after_publish:1",
                                           "after_publish:5", "before_outbox_clear:2",
                                           "during_recovery:1"),
                         ParamName);

// wordcount: two stages in one process, committed together. A crash between the first stage's
// commit and the second's would lose or repeat counts; there is one write, so there is none.
class WordCountCrashTest : public CrashTest {
 protected:
  WordCountCrashTest() : CrashTest(/*wordcount=*/true) {}
};

TEST_F(WordCountCrashTest, RandomKillsNeverRepeatOrLoseACount) { RandomKills(); }

class WordCountCrashPointTest : public WordCountCrashTest,
                                public ::testing::WithParamInterface<const char*> {};

TEST_P(WordCountCrashPointTest, CrashAtPointThenRecoverNeverRepeatsOrLoses) {
  CrashAtPoint(GetParam());
}

// wordcount through a repartition topic whose consumed segments are deleted as the job commits:
// kills never leave a committed offset below the topic's new start.
class WordCountLogCrashTest : public CrashTest {
 protected:
  WordCountLogCrashTest() : CrashTest(/*wordcount=*/true, "log") {}

  // Segments deleted from the repartition topic (its log start moved past 0).
  bool Purged() {
    auto log = testing::OpenLogOrDie(data_);
    int64_t start = 0;
    for (int32_t p = 0; p < 4; ++p) {
      start += (*log->GetPartition(kRepartition, PartitionId(p)))->log_start_offset().value();
    }
    return start > 0;
  }
};

TEST_F(WordCountLogCrashTest, RandomKillsWhileConsumedRepartitionSegmentsGo) {
  RandomKills();
  EXPECT_TRUE(Purged());
}

TEST_F(WordCountLogCrashTest, CrashRightAfterCommitsThenRecover) {
  CrashAtPoint("after_commit_write:9");
  EXPECT_TRUE(Purged());
}

INSTANTIATE_TEST_SUITE_P(JointCommit, WordCountCrashPointTest,
                         ::testing::Values("after_process:7", "before_commit_write:2",
                                           "before_commit_write:5", "after_commit_write:3",
                                           "after_publish:2", "during_recovery:3"),
                         ParamName);

}  // namespace
}  // namespace sluice
