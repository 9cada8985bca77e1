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

  // The input offsets the group committed for the job's repartition topics (stage 1's inputs).
  int64_t CommittedRepartition() {
    auto c = ReadCommittedClient();
    if (!c) return -1;
    auto group = c->DescribeGroup(app_);
    if (!group.ok()) return 0;
    int64_t n = 0;
    for (const auto& [tp, off] : group->committed) {
      if (tp.topic.ends_with("-repartition")) n += off.value();
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
  // Transaction 70, not 20: the first ~45 are stage 0's (no store), as above.
  ChildResult r = RunJob(std::nullopt, "before_txn_commit:70");
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

// The final count of every word as `outputs` (running counts, partition by partition) end it.
std::map<std::string, std::string> FinalCounts(
    const std::vector<std::vector<testing::KeyValue>>& outputs) {
  std::map<std::string, std::string> out;
  for (const auto& part : outputs) {
    for (const auto& kv : part) out[kv.key] = kv.value;
  }
  return out;
}

// The same input gives the same final counts over `sluice serve` (tasks and repartition topic on
// the broker) as on the embedded log (the in-memory exchange) in process.
TEST_F(BrokerCrashTest, TheSameFinalCountsAsTheEmbeddedJob) {
  ChildResult r = RunJob(std::nullopt);
  ASSERT_TRUE(r.exited && r.exit_code == 0) << JobLog();
  const auto broker = FinalCounts(ReadOutputCommitted());

  testing::TempDir embedded_dir;
  auto log = testing::OpenLogOrDie(embedded_dir.path() + "/data");
  testing::CreateTopicOrDie(log.get(), "lines", 4);
  testing::CreateTopicOrDie(log.get(), "counts", kOutputPartitions);
  EXPECT_EQ(testing::ProduceLines(log.get(), "lines", kLines, 300, 7), words_);
  TopologyBuilder b;
  examples::AddWordCount(b, {.input = "lines", .output = "counts"});
  auto topology = b.Build();
  ASSERT_TRUE(topology.ok()) << topology.status();
  JobOptions o;
  o.application_id = app_;
  o.log = log.get();
  o.state_dir = embedded_dir.path() + "/state";
  o.until_end = true;
  o.exchange = Exchange::kLocal;
  auto job = Job::Start(o, std::move(topology).value());
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE((*job)->Wait().ok());
  const auto embedded = FinalCounts(testing::ReadTopic(log.get(), "counts"));
  EXPECT_EQ(embedded.size(), words_.size());
  EXPECT_EQ(broker, embedded);
  ASSERT_TRUE(log->Close().ok());
}

// Several instances of one application (issue 13): `sluice run wordcount -b` twice, each with
// its own state directory, sharing the tasks through the group. Instances are SIGKILLed at
// random and restarted while the other runs, so tasks move between them.
class BrokerInstancesTest : public BrokerCrashTest {
 protected:
  explicit BrokerInstancesTest(bool cluster = false) : BrokerCrashTest(cluster) {}

  void TearDown() override {
    for (pid_t& pid : pids_) {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        pid = -1;
      }
    }
    BrokerCrashTest::TearDown();
  }

  std::string InstanceLog(int i) { return dir_.path() + "/instance" + std::to_string(i) + ".log"; }

  // Starts instance i (no --until-end: it runs until stopped). Each poll of up to 100 records
  // sleeps `delay_ms`, so the input lasts long enough for kills to land mid-stream.
  void Start(int i, int delay_ms) {
    delay_ms_ = delay_ms;
    pids_[i] = SpawnSluice({"-b", address_, "run", "wordcount", "--input", input_, "--output",
                            output_, "--state", state_ + std::to_string(i), "--app", app_,
                            "--commit-interval-ms", "20", "--batch-records", "100"},
                           InstanceLog(i), fmt::format("after_process:delay={}", delay_ms));
  }

  void Kill(int i) {
    ASSERT_GT(pids_[i], 0);
    kill(pids_[i], SIGKILL);
    waitpid(pids_[i], nullptr, 0);
    pids_[i] = -1;
  }

  // Stops instance i with SIGTERM (a final commit) and expects a clean exit.
  void Stop(int i) {
    ASSERT_GT(pids_[i], 0);
    kill(pids_[i], SIGTERM);
    int status = 0;
    waitpid(pids_[i], &status, 0);
    pids_[i] = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "instance " << i << " status " << status << "\n"
        << Tail(InstanceLog(i));
  }

  static std::string Tail(const std::string& path) {
    std::string s = ReadFile(path);
    return s.size() > 3000 ? s.substr(s.size() - 3000) : s;
  }

  std::string Logs() {
    return "instance 0:\n" + Tail(InstanceLog(0)) + "\ninstance 1:\n" + Tail(InstanceLog(1));
  }

  // Whether an instance died on its own (an error, not our kill). With `restart_exits_` (while
  // a broker of the cluster is down, an instance may fail on it) such an instance is started
  // again instead.
  std::string Died() {
    for (int i = 0; i < 2; ++i) {
      if (pids_[i] <= 0) continue;
      int status = 0;
      if (waitpid(pids_[i], &status, WNOHANG) == pids_[i]) {
        pids_[i] = -1;
        if (restart_exits_) {
          std::printf("instance %d exited by itself (status %d); starting it again\n", i, status);
          Start(i, delay_ms_);
          continue;
        }
        return fmt::format("instance {} exited by itself (status {}):\n{}", i, status,
                           Tail(InstanceLog(i)));
      }
    }
    return "";
  }

  // The group's committed offsets cover the input, and a read_committed reader of the
  // repartition topic starting at the group's offsets finds nothing more: both stages are
  // through. (The tail of a repartition partition may be markers of committed and aborted
  // transactions, which no reader consumes.)
  bool CaughtUp(client::LogClient* c) {
    auto group = c->DescribeGroup(app_);
    if (!group.ok()) return false;
    int64_t lines = 0;
    for (const auto& [tp, off] : group->committed) {
      if (tp.topic == input_) lines += off.value();
    }
    if (lines != kLines) return false;
    const std::string repartition = app_ + "-word-counts-store-repartition";
    std::vector<TopicPartition> tps;
    for (int32_t p = 0; p < 4; ++p) tps.push_back({repartition, PartitionId(p)});
    auto ends = c->ListOffsets(tps, client::OffsetSpec::Latest());
    if (!ends.ok()) return false;
    std::map<TopicPartition, Offset> from;
    for (const auto& tp : tps) {
      auto it = group->committed.find(tp);
      if (it == group->committed.end()) return false;
      from[tp] = it->second;
    }
    auto consumer = c->NewConsumer({.isolation = Isolation::kReadCommitted});
    if (!consumer.ok() || !(*consumer)->AssignAt(from).ok()) return false;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < give_up) {
      auto recs = (*consumer)->Poll(milliseconds(100));
      if (!recs.ok() || !recs->empty()) return false;
      bool through = true;
      for (const auto& tp : tps) {
        auto at = (*consumer)->Position(tp);
        through = through && at.ok() && *at >= ends->at(tp);
      }
      if (through) return true;
    }
    return false;
  }

  // Waits until both stages are through (or an instance died, or 180 s passed).
  void WaitCaughtUp() {
    auto c = ReadCommittedClient();
    ASSERT_TRUE(c);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(180);
    while (!CaughtUp(c.get())) {
      std::string died = Died();
      ASSERT_EQ(died, "");
      ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the job never caught up\n" << Logs();
      std::this_thread::sleep_for(milliseconds(200));
    }
  }

  // The members of the group and how many partitions of <app>-tasks each owns.
  std::vector<size_t> TaskShares(client::LogClient* c) {
    std::vector<size_t> shares;
    auto group = c->DescribeGroup(app_);
    if (!group.ok() || group->state != "Stable") return shares;
    for (const auto& m : group->members) {
      size_t n = 0;
      for (const auto& tp : m.assignment) n += tp.topic == app_ + "-tasks";
      shares.push_back(n);
    }
    std::sort(shares.begin(), shares.end());
    return shares;
  }

  void CheckOutput() {
    EXPECT_EQ(testing::CheckRunningCounts(words_, ReadOutputCommitted()), "") << Logs();
    EXPECT_EQ(CommittedInput(), kLines);
  }

  // SIGKILLs a random instance `kills` times (seed printed) while the other runs, restarting it
  // after each kill; then lets both finish and checks the output. With `kill_broker_at` >= 0,
  // broker 2 of the cluster is SIGKILLed after that many kills and restarted at the end.
  void RandomKills(int kills, int delay_ms, int kill_broker_at = -1);

  pid_t pids_[2] = {-1, -1};
  int delay_ms_ = 20;
  bool restart_exits_ = false;
};

void BrokerInstancesTest::RandomKills(int kills, int delay_ms, int kill_broker_at) {
  uint32_t seed = static_cast<uint32_t>(std::random_device()());
  if (const char* s = std::getenv("SLUICE_CRASH_SEED")) seed = static_cast<uint32_t>(std::atoll(s));
  std::printf("broker instances test seed: %u (rerun with SLUICE_CRASH_SEED=%u)\n", seed, seed);
  std::mt19937 rng(seed);
  auto c = ReadCommittedClient();
  ASSERT_TRUE(c);
  Start(0, delay_ms);
  Start(1, delay_ms);
  int mid_stream = 0;
  const char* script = std::getenv("SLUICE_KAFKA_CLUSTER_SCRIPT");
  const char* cluster_dir = std::getenv("SLUICE_KAFKA_CLUSTER_DIR");
  if (kill_broker_at >= 0 && (script == nullptr || cluster_dir == nullptr)) {
    GTEST_SKIP() << "the wrapper did not name the cluster";
  }
  for (int k = 0; k < kills; ++k) {
    if (k == kill_broker_at) {
      ASSERT_EQ(
          std::system(fmt::format("{} kill-broker 2 --dir {} > /dev/null 2>&1", script, cluster_dir)
                          .c_str()),
          0);
      std::printf("broker 2 killed\n");
      restart_exits_ = true;
    }
    // Kill at a random moment: also during a rebalance or a recovery.
    std::this_thread::sleep_for(milliseconds(cluster_ ? 1000 + rng() % 3000 : 300 + rng() % 2500));
    ASSERT_EQ(Died(), "");
    const int victim = static_cast<int>(rng() % 2);
    Kill(victim);
    const int64_t done = CommittedInput();
    const bool through = CaughtUp(c.get());
    std::printf("kill %d: instance %d, %lld input lines committed%s\n", k + 1, victim,
                static_cast<long long>(done), through ? ", both stages through" : "");
    if (!through) ++mid_stream;
    std::this_thread::sleep_for(milliseconds(rng() % 1000));
    Start(victim, delay_ms);
  }
  EXPECT_GE(mid_stream, kills / 2) << "too few kills landed while input was left; the test is "
                                      "too weak";
  WaitCaughtUp();
  restart_exits_ = false;
  Stop(0);
  Stop(1);
  if (kill_broker_at >= 0) {
    EXPECT_EQ(std::system(
                  fmt::format("{} restart-broker 2 --dir {} > /dev/null 2>&1", script, cluster_dir)
                      .c_str()),
              0);
  }
  CheckOutput();
}

TEST_F(BrokerInstancesTest, TwoInstancesKilledAtRandomNeverRepeatOrLoseACount) {
  RandomKills(10, 20);
}

TEST_F(BrokerInstancesTest, AnInstanceJoiningTakesHalfTheTasks) {
  auto c = ReadCommittedClient();
  ASSERT_TRUE(c);
  Start(0, 20);
  // Instance 0 alone owns all four tasks' partitions, and every stage-1 task has committed
  // counts, so the two tasks that move to instance 1 must be restored there.
  const std::string repartition = app_ + "-word-counts-store-repartition";
  auto stage1_committed = [&] {
    auto group = c->DescribeGroup(app_);
    if (!group.ok()) return false;
    for (int32_t p = 0; p < 4; ++p) {
      if (!group->committed.contains({repartition, PartitionId(p)})) return false;
    }
    return true;
  };
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!(TaskShares(c.get()) == std::vector<size_t>{4} && stage1_committed())) {
    ASSERT_EQ(Died(), "");
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << Logs();
    std::this_thread::sleep_for(milliseconds(100));
  }
  Start(1, 20);
  give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (TaskShares(c.get()) != std::vector<size_t>{2, 2}) {
    ASSERT_EQ(Died(), "");
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << Logs();
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_FALSE(CaughtUp(c.get())) << "the input was through before the join; too weak";
  WaitCaughtUp();
  Stop(0);
  Stop(1);
  CheckOutput();
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

// Killed once stage 1 (the counts) has committed state: with per-task transactions the first
// transactions of a run are stage 0's, which has no store, so a kill at a fixed transaction
// number could come before any changelog record exists (and the cluster's batching changes how
// many transactions a run has).
TEST_F(BrokerClusterCrashTest, AWipedStateDirectoryIsRestoredFromTheCluster) {
  ChildResult r =
      RunJob(std::nullopt, "after_process:delay=10", [&] { return CommittedRepartition() > 0; });
  ASSERT_TRUE(r.killed) << "the job ended before the kill; " << JobLog();
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

// Two instances against the 3-broker cluster: 4 instance kills (each costs a session timeout and
// the recovery of the moved tasks there), and broker 2 SIGKILLed after the second.
class BrokerClusterInstancesTest : public BrokerInstancesTest {
 protected:
  BrokerClusterInstancesTest() : BrokerInstancesTest(/*cluster=*/true) {}
};

TEST_F(BrokerClusterInstancesTest, TwoInstancesAndABrokerKilledNeverRepeatOrLoseACount) {
  RandomKills(4, 10, /*kill_broker_at=*/2);
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
