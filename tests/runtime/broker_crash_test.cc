// Exactly-once over a broker under real crashes: `sluice serve` (transactions) as one child
// process, `sluice run wordcount --bootstrap-server` as another, killed with SIGKILL at random
// moments and at the named failpoints of the broker commit path, restarted, and finally run to
// the end. The output topic, read with read_committed, must hold every word's running counts
// 1, 2, ..., n exactly once and in order, and the group's committed offsets must cover the input.
// See runtime/README.md "Running over a broker" for the protocol and its crash points.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "client/log_client.h"
#include "examples/pageviews.h"
#include "examples/word_count.h"
#include "runtime/failpoint.h"
#include "runtime/job.h"
#include "server/kafka_server.h"
#include "tests/runtime/runtime_test_util.h"

namespace sluice {
namespace {

using std::chrono::milliseconds;

constexpr int kLines = 4000;
constexpr int kOutputPartitions = 2;

struct ChildResult {
  bool killed = false;
  bool exited = false;
  int exit_code = -1;
};

pid_t SpawnSluice(const std::vector<std::string>& args, const std::string& log_path,
                  const std::string& failpoint) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (!failpoint.empty()) setenv("SLUICE_FAILPOINT", failpoint.c_str(), 1);
    std::vector<const char*> argv = {SLUICE_BINARY};
    for (const auto& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    execv(SLUICE_BINARY, const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  return pid;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class BrokerCrashTest : public ::testing::Test {
 protected:
  // `cluster`: against the Kafka cluster named by SLUICE_KAFKA_BOOTSTRAP (skipped without it),
  // with topics and an application id of this test's own; else against a `sluice serve` child.
  explicit BrokerCrashTest(bool cluster = false) : cluster_(cluster) {}

  void SetUp() override {
    state_ = dir_.path() + "/state";
    job_log_ = dir_.path() + "/job.log";
    if (cluster_) {
      const char* bootstrap = std::getenv("SLUICE_KAFKA_BOOTSTRAP");
      if (bootstrap == nullptr || *bootstrap == '\0') {
        GTEST_SKIP() << "SLUICE_KAFKA_BOOTSTRAP is not set (tests/runtime/broker_cluster_test.sh "
                        "starts a cluster and sets it)";
      }
      address_ = bootstrap;
      const std::string suffix = std::to_string(::getpid()) + "-" + std::to_string(++cluster_runs_);
      input_ = "lines-" + suffix;
      output_ = "counts-" + suffix;
      app_ = "broker-crash-" + suffix;
      ProduceLinesThroughClient();
      return;
    }
    data_ = dir_.path() + "/data";
    server_log_ = dir_.path() + "/serve.log";
    {
      auto log = testing::OpenLogOrDie(data_);
      testing::CreateTopicOrDie(log.get(), "lines", 4);
      testing::CreateTopicOrDie(log.get(), "counts", kOutputPartitions);
      words_ = testing::ProduceLines(log.get(), "lines", kLines, 300, 7);
      ASSERT_TRUE(log->Close().ok());
    }
    server_ = SpawnSluice({"--data", data_, "serve", "--listen", "127.0.0.1:0"}, server_log_, "");
    // The server says where it listens: "... on 127.0.0.1:PORT (advertised ...".
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (address_.empty() && std::chrono::steady_clock::now() < deadline) {
      std::string log = ReadFile(server_log_);
      size_t at = log.find(" on 127.0.0.1:");
      size_t end = log.find(" (advertised", at == std::string::npos ? 0 : at);
      if (at != std::string::npos && end != std::string::npos) {
        address_ = log.substr(at + 4, end - at - 4);
      } else {
        std::this_thread::sleep_for(milliseconds(20));
      }
    }
    ASSERT_FALSE(address_.empty()) << "sluice serve did not start:\n" << ReadFile(server_log_);
  }

  void TearDown() override {
    if (server_ > 0) {
      kill(server_, SIGTERM);
      int status = 0;
      waitpid(server_, &status, 0);
    }
  }

  // Runs the job to the end of its input (--until-end), killing it after `kill_after` if it still
  // runs, or as soon as `kill_when` says so (asked every few milliseconds). Commits after every
  // poll of up to 100 records, so a run makes many transactions (each task its own: a poll of
  // lines commits stage 0's tasks, one of the repartition topic stage 1's).
  ChildResult RunJob(std::optional<milliseconds> kill_after, const std::string& failpoint = "",
                     const std::function<bool()>& kill_when = {}) {
    pid_t pid = SpawnSluice({"-b", address_, "run", "wordcount", "--input", input_, "--output",
                             output_, "--state", state_, "--app", app_, "--commit-interval-ms", "1",
                             "--batch-records", "100", "--until-end"},
                            job_log_, failpoint);
    ChildResult r;
    const auto spawned = std::chrono::steady_clock::now();
    int status = 0;
    for (int i = 0; waitpid(pid, &status, WNOHANG) != pid; ++i) {
      const auto now = std::chrono::steady_clock::now();
      const bool due =
          (kill_after && now - spawned >= *kill_after) || (kill_when && i % 10 == 0 && kill_when());
      const bool hung = now - spawned > std::chrono::seconds(120);
      if (due || hung) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        r.killed = true;
        EXPECT_FALSE(hung) << "the job hung; see\n" << JobLog();
        return r;
      }
      std::this_thread::sleep_for(milliseconds(1));
    }
    r.exited = WIFEXITED(status);
    r.exit_code = r.exited ? WEXITSTATUS(status) : -1;
    return r;
  }

  size_t CountProgress() {
    std::ifstream f(job_log_);
    std::string line;
    size_t n = 0;
    while (std::getline(f, line)) n += line.starts_with(app_ + ": in ");
    return n;
  }

  // The changelog records the last run restored, from its final progress line
  // ("<app>: in N, out N, lag N, restored N in N ms"); -1 without one.
  int64_t RestoredByLastRun() {
    std::ifstream f(job_log_);
    std::string line, last;
    while (std::getline(f, line)) {
      if (line.starts_with(app_ + ": in ")) last = line;
    }
    const size_t at = last.find(", restored ");
    if (at == std::string::npos) return -1;
    return std::atoll(last.c_str() + at + std::strlen(", restored "));
  }

  std::string JobLog() {
    std::string s = ReadFile(job_log_);
    return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
  }

  std::unique_ptr<client::LogClient> ReadCommittedClient() {
    client::ClientOptions o;
    o.bootstrap_servers = address_;
    o.kafka_config = {{"log_level", "3"}, {"isolation.level", "read_committed"}};
    auto c = client::OpenLogClient(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  // Every committed record of "counts", partition by partition: a sentinel is appended to each
  // partition outside any transaction and read up to (a read_committed reader sees it only after
  // everything committed before it).
  std::vector<std::vector<testing::KeyValue>> ReadOutputCommitted() {
    auto c = ReadCommittedClient();
    std::vector<std::vector<testing::KeyValue>> out(kOutputPartitions);
    if (!c) return out;
    auto producer = c->NewProducer({});
    EXPECT_TRUE(producer.ok());
    std::vector<TopicPartition> tps;
    for (int32_t p = 0; p < kOutputPartitions; ++p) {
      tps.push_back({output_, PartitionId(p)});
      EXPECT_TRUE(
          (*producer)->Send(output_, Record{.key = std::string("__end__")}, PartitionId(p)).ok());
    }
    EXPECT_TRUE((*producer)->Flush().ok());
    auto consumer = c->NewConsumer({});
    EXPECT_TRUE(consumer.ok());
    EXPECT_TRUE((*consumer)->Assign(tps).ok());
    EXPECT_TRUE((*consumer)->SeekToBeginning(tps).ok());
    int ends = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (ends < kOutputPartitions && std::chrono::steady_clock::now() < deadline) {
      auto recs = (*consumer)->Poll(milliseconds(200));
      EXPECT_TRUE(recs.ok()) << recs.status();
      if (!recs.ok()) break;
      for (const auto& r : *recs) {
        std::string key(r.key.value_or(""));
        if (key == "__end__") {
          ++ends;
          continue;
        }
        out[r.tp->partition.value()].push_back({key, std::string(r.value.value_or(""))});
      }
    }
    EXPECT_EQ(ends, kOutputPartitions) << "the sentinels never arrived";
    return out;
  }

  int64_t CommittedInput() {
    auto c = ReadCommittedClient();
    if (!c) return -1;
    auto group = c->DescribeGroup(app_);
    if (!group.ok()) return 0;
    int64_t n = 0;
    for (const auto& [tp, off] : group->committed) {
      if (tp.topic == input_) n += off.value();
    }
    return n;
  }

  void FinishAndCheck() {
    ChildResult r = RunJob(std::nullopt);
    ASSERT_TRUE(r.exited && r.exit_code == 0) << "exit code " << r.exit_code << "; its log:\n"
                                              << JobLog();
    EXPECT_EQ(testing::CheckRunningCounts(words_, ReadOutputCommitted()), "") << JobLog();
    EXPECT_EQ(CommittedInput(), kLines);
  }

  // Crashes at failpoint `fp` ("name:k"), again at the same point during the restart, then runs
  // to the end and checks.
  void CrashAtPoint(const std::string& fp) {
    ChildResult r = RunJob(std::nullopt, fp);
    ASSERT_TRUE(r.exited) << fp;
    EXPECT_EQ(r.exit_code, kFailPointExitCode) << fp << "\n" << JobLog();
    r = RunJob(std::nullopt, fp);
    ASSERT_TRUE(r.exited) << fp;
    EXPECT_TRUE(r.exit_code == kFailPointExitCode || r.exit_code == 0) << fp << "\n" << JobLog();
    FinishAndCheck();
  }

  // Cluster mode: creates the topics and writes kLines lines of 1-5 words "w<k>" (k < 300)
  // round-robin over 4 partitions, as testing::ProduceLines does into a Log.
  void ProduceLinesThroughClient() {
    client::ClientOptions o;
    o.bootstrap_servers = address_;
    o.kafka_config = {{"log_level", "3"}};
    auto c = client::OpenLogClient(o);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE((*c)->CreateTopic(input_, {.partitions = 4}).ok());
    ASSERT_TRUE((*c)->CreateTopic(output_, {.partitions = kOutputPartitions}).ok());
    auto producer = (*c)->NewProducer({});
    ASSERT_TRUE(producer.ok()) << producer.status();
    std::mt19937 rng(7);
    for (int i = 0; i < kLines; ++i) {
      std::string line;
      const int n = 1 + static_cast<int>(rng() % 5);
      for (int w = 0; w < n; ++w) {
        std::string word = "w" + std::to_string(rng() % 300);
        ++words_[word];
        line += (w ? " " : "") + word;
      }
      Status sent = (*producer)->Send(input_, Record{.value = line}, PartitionId(i % 4));
      // A cluster's brokers learn of a new topic a moment after CreateTopic returns.
      auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (sent.code() == StatusCode::kNotFound && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(milliseconds(100));
        sent = (*producer)->Send(input_, Record{.value = line}, PartitionId(i % 4));
      }
      ASSERT_TRUE(sent.ok()) << sent;
    }
    ASSERT_TRUE((*producer)->Flush().ok());
  }

  // SIGKILLs the job at 8 (cluster: 5) random moments (seed printed), then runs it to the end
  // and checks.
  void RandomKills();

  const bool cluster_;
  static inline int cluster_runs_ = 0;
  testing::TempDir dir_;
  std::string data_, state_, job_log_, server_log_, address_;
  std::string input_ = "lines", output_ = "counts", app_ = "broker-crash-app";
  pid_t server_ = -1;
  std::map<std::string, int64_t> words_;
};

void BrokerCrashTest::RandomKills() {
  uint32_t seed = static_cast<uint32_t>(std::random_device()());
  if (const char* s = std::getenv("SLUICE_CRASH_SEED")) seed = static_cast<uint32_t>(std::atoll(s));
  std::printf("broker crash test seed: %u (rerun with SLUICE_CRASH_SEED=%u)\n", seed, seed);
  std::mt19937 rng(seed);
  int kills = 0, mid_stream = 0;
  int64_t committed = 0;
  // 8 kills; 5 on a cluster, whose restarts take seconds (plus two per crash-point case there).
  const int rounds = cluster_ ? 5 : 8;
  for (int round = 0; round < rounds; ++round) {
    // A Kafka cluster takes a second or more to settle a killed instance's transaction at the
    // restart's InitTransactions, so kills from the start come later there.
    // Even rounds kill at a random time from the start (during start-up and recovery too); odd
    // rounds as soon as the group's committed input passes a random point in the first half of
    // what is left, so they land mid-stream however fast or loaded the machine is (a kill timed
    // from the first progress line let a fast machine finish the input first).
    const bool by_progress = round % 2 == 1;
    const int64_t target = committed + 1 +
                           static_cast<int64_t>(rng() % static_cast<uint32_t>(std::max<int64_t>(
                                                            1, (kLines - committed) / 2)));
    std::optional<milliseconds> delay;
    if (!by_progress) delay = milliseconds(cluster_ ? 1500 + rng() % 2500 : 100 + rng() % 600);
    // Each poll of up to 100 records sleeps 10 ms, so the input takes a while to go through and a
    // progress check (a Describe of the group) overshoots its target by little.
    const std::string slow = "after_process:delay=10";
    ChildResult r = by_progress
                        ? RunJob(std::nullopt, slow, [&] { return CommittedInput() >= target; })
                        : RunJob(delay, slow);
    if (!r.killed) {
      ASSERT_TRUE(r.exited && r.exit_code == 0) << "exit code " << r.exit_code << "\n" << JobLog();
      break;
    }
    ++kills;
    int64_t done = CommittedInput();
    if (by_progress) {
      std::printf("kill %d once %lld input lines were committed: %lld committed\n", kills,
                  static_cast<long long>(target), static_cast<long long>(done));
    } else {
      std::printf("kill %d after %d ms: %lld input lines committed\n", kills,
                  static_cast<int>(delay->count()), static_cast<long long>(done));
    }
    if (done > committed && done < kLines) ++mid_stream;  // it committed, and input was left
    committed = done;
  }
  EXPECT_GE(mid_stream, cluster_ ? 2 : 3)
      << "too few kills landed while input was left; the test is too weak";
  FinishAndCheck();
}

TEST_F(BrokerCrashTest, RandomKillsNeverRepeatOrLoseACount) { RandomKills(); }

class BrokerCrashPointTest : public BrokerCrashTest,
                             public ::testing::WithParamInterface<const char*> {};

TEST_P(BrokerCrashPointTest, CrashAtPointThenRecoverNeverRepeatsOrLoses) {
  CrashAtPoint(GetParam());
}

std::string ParamName(const ::testing::TestParamInfo<const char*>& info) {
  std::string s = info.param;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

// after_commit_write: RocksDB holds commit n, the broker nothing of it (re-published at
// recovery). before_txn_commit: the transaction's records and offsets are on the broker but not
// committed (aborted by the successor's InitTransactions, then re-published). after_txn_commit:
// both hold commit n (nothing re-published). before_republish: a crash during recovery itself.
INSTANTIATE_TEST_SUITE_P(BrokerCommitPath, BrokerCrashPointTest,
                         ::testing::Values("after_commit_write:3", "before_txn_commit:1",
                                           "before_txn_commit:4", "after_txn_commit:2",
                                           "during_recovery:1"),
                         ParamName);

TEST_F(BrokerCrashTest, RecoveryRepublishesAfterACrashInsideTheRepublishToo) {
  ChildResult r = RunJob(std::nullopt, "before_txn_commit:3");
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, kFailPointExitCode) << JobLog();
  r = RunJob(std::nullopt, "before_republish:1");
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, kFailPointExitCode) << JobLog();
  FinishAndCheck();
}

// Changelogs (runtime/README.md "Changelogs and restore"). A restart with the state directory
// intact restores nothing; a wiped or older one is restored from the changelogs, also when the
// restore itself is killed, and the counts go on exactly.
// Every task commits on its own and the job reads the lines (stage 0, no store) well ahead of the
// repartition topic (stage 1, the counts), so the first ~45 of a run's ~160 transactions are
// stage 0's; the kills below come later, once stage 1 has state.

TEST_F(BrokerCrashTest, ARestartWithItsStateIntactRestoresNothing) {
  ChildResult r = RunJob(std::nullopt, "after_process:delay=10",
                         [&] { return CommittedInput() >= kLines / 4; });
  ASSERT_TRUE(r.killed) << "the job ended before the kill; " << JobLog();
  const int64_t committed = CommittedInput();
  ASSERT_GT(committed, 0);
  ASSERT_LT(committed, kLines);
  std::filesystem::remove(job_log_);
  FinishAndCheck();
  EXPECT_EQ(RestoredByLastRun(), 0) << JobLog();
}

TEST_F(BrokerCrashTest, AWipedStateDirectoryIsRestoredFromTheChangelogs) {
  ChildResult r = RunJob(std::nullopt, "after_txn_commit:70");
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, kFailPointExitCode) << JobLog();
  std::filesystem::remove_all(state_);
  std::filesystem::remove(job_log_);
  FinishAndCheck();  // the counts go on from the restored ones: 1, 2, ..., n exactly once
  EXPECT_GT(RestoredByLastRun(), 0) << JobLog();
}

// A task's transaction is open on the broker when the job dies, and the state directory is
// lost with its outbox: the changelog records of that transaction must never be restored (they
// are aborted with it), or that commit's changes would count twice.
TEST_F(BrokerCrashTest, AWipeAfterACrashInsideTheTransactionRestoresOnlyCommittedChanges) {
  ChildResult r = RunJob(std::nullopt, "before_txn_commit:70");
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, kFailPointExitCode) << JobLog();
  std::filesystem::remove_all(state_);
  std::filesystem::remove(job_log_);
  FinishAndCheck();
  EXPECT_GT(RestoredByLastRun(), 0) << JobLog();
}

// Commit 20 is re-published by the next recovery (its transaction was aborted): its changelog
// records must be in the new transaction too, or a later restore misses its changes.
TEST_F(BrokerCrashTest, AWipeAfterARepublishedCommitRestoresItsChanges) {
  ChildResult r = RunJob(std::nullopt, "before_txn_commit:20");
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, kFailPointExitCode) << JobLog();
  r = RunJob(std::nullopt, "after_txn_commit:1");  // recovery re-publishes, then one commit
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, kFailPointExitCode) << JobLog();
  std::filesystem::remove_all(state_);
  std::filesystem::remove(job_log_);
  FinishAndCheck();
  EXPECT_GT(RestoredByLastRun(), 0) << JobLog();
}

TEST_F(BrokerCrashTest, AKillDuringTheRestoreThenARestartIsStillExact) {
  ChildResult r = RunJob(std::nullopt, "after_txn_commit:70");
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, kFailPointExitCode) << JobLog();
  std::filesystem::remove_all(state_);
  for (const char* fp : {"during_restore:2", "during_restore:1"}) {
    r = RunJob(std::nullopt, fp);  // dies with some tasks restored, or some batches of one
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.exit_code, kFailPointExitCode) << fp << "\n" << JobLog();
  }
  std::filesystem::remove(job_log_);
  FinishAndCheck();
  EXPECT_GT(RestoredByLastRun(), 0) << JobLog();
}

// A state directory put back from an earlier copy is older than the group: the changelogs
// replace it.
TEST_F(BrokerCrashTest, AnOlderStateDirectoryIsReplacedFromTheChangelogs) {
  ChildResult r = RunJob(std::nullopt, "after_txn_commit:60");
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, kFailPointExitCode) << JobLog();
  const std::string copy = dir_.path() + "/state-copy";
  std::filesystem::copy(state_, copy, std::filesystem::copy_options::recursive);
  r = RunJob(std::nullopt, "after_txn_commit:90");
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, kFailPointExitCode) << JobLog();
  std::filesystem::remove_all(state_);
  std::filesystem::rename(copy, state_);
  std::filesystem::remove(job_log_);
  FinishAndCheck();
  EXPECT_GT(RestoredByLastRun(), 0) << JobLog();
}

// The same against a real 3-broker Kafka 4.4 cluster (label cluster; broker_cluster_test.sh
// starts the cluster and sets SLUICE_KAFKA_BOOTSTRAP).
class BrokerClusterCrashTest : public BrokerCrashTest {
 protected:
  BrokerClusterCrashTest() : BrokerCrashTest(/*cluster=*/true) {}
};

TEST_F(BrokerClusterCrashTest, RandomKillsNeverRepeatOrLoseACount) { RandomKills(); }

TEST_F(BrokerClusterCrashTest, CrashInsideTheTransactionThenRecover) {
  CrashAtPoint("before_txn_commit:3");
}

TEST_F(BrokerClusterCrashTest, CrashAfterTheStateWriteThenRecover) {
  CrashAtPoint("after_commit_write:2");
}

TEST_F(BrokerClusterCrashTest, AWipedStateDirectoryIsRestoredFromTheCluster) {
  ChildResult r = RunJob(std::nullopt, "after_txn_commit:20");
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, kFailPointExitCode) << JobLog();
  std::filesystem::remove_all(state_);
  std::filesystem::remove(job_log_);
  FinishAndCheck();
  EXPECT_GT(RestoredByLastRun(), 0) << JobLog();
}

// A broker of the cluster is SIGKILLed while the job runs (the wrapper gives the script and the
// cluster's directory); the job may fail on it and is started again until it finishes. Nothing
// is lost or repeated.
TEST_F(BrokerClusterCrashTest, ABrokerKilledMidStreamLosesAndRepeatsNothing) {
  const char* script = std::getenv("SLUICE_KAFKA_CLUSTER_SCRIPT");
  const char* dir = std::getenv("SLUICE_KAFKA_CLUSTER_DIR");
  if (script == nullptr || dir == nullptr) GTEST_SKIP() << "the wrapper did not name the cluster";
  const std::string kill_cmd =
      fmt::format("{} kill-broker 2 --dir {} > /dev/null 2>&1", script, dir);
  const std::string restart_cmd =
      fmt::format("{} restart-broker 2 --dir {} > /dev/null 2>&1", script, dir);
  const size_t before = CountProgress();
  std::thread killer([&] {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (CountProgress() == before && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(milliseconds(20));
    }
    EXPECT_EQ(std::system(kill_cmd.c_str()), 0);
  });
  ChildResult r = RunJob(std::nullopt, "after_process:delay=4");
  killer.join();
  std::printf("the run during which broker 2 was killed: exit code %d, %lld lines committed\n",
              r.exit_code, static_cast<long long>(CommittedInput()));
  for (int i = 0; i < 3 && !(r.exited && r.exit_code == 0); ++i) r = RunJob(std::nullopt);
  EXPECT_EQ(std::system(restart_cmd.c_str()), 0);
  FinishAndCheck();
}

// In process: what this slice refuses over a broker, each with a message saying what to do.
class BrokerJobRefusalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = testing::OpenLogOrDie(dir_.path() + "/data");
    log_ = std::move(log);
    kafka::ServerOptions so;
    so.listen_port = 0;
    so.log_line = [](std::string_view) {};
    auto server = kafka::KafkaServer::Start(log_.get(), so);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    for (const char* t : {"clicks", "pageviews-counts", "pageviews-top", "pageviews-late",
                          "pageviews-dead-letters", "lines", "word-counts"}) {
      testing::CreateTopicOrDie(log_.get(), t, 2);
    }
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (log_) log_->Close().IgnoreError();
  }
  JobOptions Options() {
    JobOptions o;
    o.application_id = "refused";
    o.state_dir = dir_.path() + "/state";
    o.bootstrap_servers = "127.0.0.1:" + std::to_string(server_->port());
    return o;
  }
  testing::TempDir dir_;
  std::unique_ptr<Log> log_;
  std::unique_ptr<kafka::KafkaServer> server_;
};

TEST_F(BrokerJobRefusalTest, AJobWithEventTimeIsRefusedNamingTheEmbeddedLog) {
  TopologyBuilder b;
  examples::AddPageviews(b);
  auto topology = b.Build();
  ASSERT_TRUE(topology.ok()) << topology.status();
  auto job = Job::Start(Options(), std::move(topology).value());
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(job.status().message().find("event time"), std::string::npos) << job.status();
  EXPECT_NE(job.status().message().find("embedded log"), std::string::npos) << job.status();
}

TEST_F(BrokerJobRefusalTest, AtLeastOnceIsRefused) {
  TopologyBuilder b;
  examples::AddWordCount(b);
  auto topology = b.Build();
  ASSERT_TRUE(topology.ok());
  JobOptions o = Options();
  o.guarantee = ProcessingGuarantee::kAtLeastOnce;
  auto job = Job::Start(o, std::move(topology).value());
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("exactly-once only"), std::string::npos) << job.status();
}

TEST_F(BrokerJobRefusalTest, StateWrittenByAnEmbeddedJobIsRefused) {
  TopologyBuilder b;
  examples::AddWordCount(b);
  auto topology = b.Build();
  ASSERT_TRUE(topology.ok());
  JobOptions embedded = Options();
  embedded.bootstrap_servers.clear();
  embedded.log = log_.get();
  embedded.until_end = true;
  {
    auto job = Job::Start(embedded, *topology);
    ASSERT_TRUE(job.ok()) << job.status();
    ASSERT_TRUE((*job)->Wait().ok());
  }
  auto job = Job::Start(Options(), std::move(topology).value());
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("written by a job on the embedded log"), std::string::npos)
      << job.status();
}

}  // namespace
}  // namespace sluice
