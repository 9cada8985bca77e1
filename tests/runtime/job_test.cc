// Jobs run in-process over a real Log and RocksDB: results, restart, parallelism, and the
// state/offset disagreement cases of reliability group B5.
#include "runtime/job.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <thread>

#include "core/log.h"
#include "core/record_batch.h"
#include "examples/balances.h"
#include "examples/word_count.h"
#include "runtime/commit_format.h"
#include "runtime/job_reset.h"
#include "runtime/state_db.h"
#include "tests/runtime/runtime_test_util.h"

namespace sluice {
namespace {

using testing::CheckBalances;
using testing::ReadTopic;

class JobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = testing::OpenLogOrDie(dir_.path() + "/data");
    testing::CreateTopicOrDie(log_.get(), "tx", 4);
    testing::CreateTopicOrDie(log_.get(), "bal", 2);
  }

  JobOptions Options(const std::string& app = "bal-app") {
    JobOptions o;
    o.application_id = app;
    o.log = log_.get();
    o.state_dir = dir_.path() + "/state";
    o.until_end = true;
    o.commit_interval = std::chrono::milliseconds(20);
    o.batch_records = 300;
    return o;
  }

  Topology Balances() {
    TopologyBuilder b;
    examples::AddBalances(b, {.input = "tx", .output = "bal"});
    auto t = b.Build();
    EXPECT_TRUE(t.ok()) << t.status();
    return std::move(t).value();
  }

  Status Run(const JobOptions& o, Topology t) {
    auto job = Job::Start(o, std::move(t));
    if (!job.ok()) return job.status();
    return (*job)->Wait();
  }

  testing::TempDir dir_;
  std::unique_ptr<Log> log_;
};

TEST_F(JobTest, BalancesMatchThePrefixSumOracle) {
  auto inputs = testing::ProduceTransactions(log_.get(), "tx", 5000, 50, 1);
  JobOptions o = Options();
  o.threads = 2;
  ASSERT_TRUE(Run(o, Balances()).ok());
  EXPECT_EQ(CheckBalances(inputs, ReadTopic(log_.get(), "bal")), "");
  // Offsets are mirrored into the log's group offsets under the application id.
  auto group = log_->offsets().Fetch("bal-app");
  ASSERT_TRUE(group.ok());
  int64_t committed = 0;
  for (const auto& [tp, off] : *group) committed += off.offset.value();
  EXPECT_EQ(committed, 5000);
}

TEST_F(JobTest, RestartContinuesWhereItStoppedWithoutDuplicates) {
  auto inputs = testing::ProduceTransactions(log_.get(), "tx", 2000, 20, 2);
  ASSERT_TRUE(Run(Options(), Balances()).ok());
  auto more = testing::ProduceTransactions(log_.get(), "tx", 1500, 20, 3);
  for (auto& [acct, amounts] : more) {
    inputs[acct].insert(inputs[acct].end(), amounts.begin(), amounts.end());
  }
  ASSERT_TRUE(Run(Options(), Balances()).ok());
  EXPECT_EQ(CheckBalances(inputs, ReadTopic(log_.get(), "bal")), "");
}

TEST_F(JobTest, AtLeastOnceWithoutCrashesAlsoMatches) {
  auto inputs = testing::ProduceTransactions(log_.get(), "tx", 3000, 30, 4);
  JobOptions o = Options();
  o.guarantee = ProcessingGuarantee::kAtLeastOnce;
  ASSERT_TRUE(Run(o, Balances()).ok());
  EXPECT_EQ(CheckBalances(inputs, ReadTopic(log_.get(), "bal")), "");
}

// The final table of word counts: the last count emitted per word.
std::map<std::string, std::string> FinalCounts(Log* log, const std::string& topic) {
  std::map<std::string, std::string> m;
  for (const auto& part : ReadTopic(log, topic)) {
    for (const auto& kv : part) m[kv.key] = kv.value;
  }
  return m;
}

// Both ways of exchanging records between stages, each with 1 and 2 threads.
TEST_F(JobTest, WordCountGivesTheSameTableWithOneAndTwoThreadsAndEitherExchange) {
  testing::CreateTopicOrDie(log_.get(), "lines", 3);
  // Lines of words drawn from a small vocabulary, spread over the 3 partitions.
  std::map<std::string, int64_t> expect;
  for (int32_t p = 0; p < 3; ++p) {
    RecordBatchBuilder b;
    for (int i = 0; i < 700; ++i) {
      std::string line;
      for (int w = 0; w < 1 + (i * 7 + p) % 5; ++w) {
        std::string word = "w" + std::to_string((i * 31 + w * 17 + p) % 23);
        expect[word]++;
        line += word + " ";
      }
      b.Add(Timestamp(i), std::nullopt, line);
    }
    auto part = log_->GetPartition("lines", PartitionId(p));
    ASSERT_TRUE(part.ok());
    ASSERT_TRUE((*part)->Append(b.Finish(), Acks::kLeader).ok());
  }
  std::vector<std::string> outs;
  for (Exchange exchange : {Exchange::kLocal, Exchange::kLog}) {
    for (int threads : {1, 2}) {
      const std::string app =
          fmt::format("wc-{}-{}", exchange == Exchange::kLocal ? "local" : "log", threads);
      outs.push_back(app + "-out");
      testing::CreateTopicOrDie(log_.get(), outs.back(), 2);
      TopologyBuilder b;
      examples::AddWordCount(b, {.input = "lines", .output = outs.back()});
      auto t = b.Build();
      ASSERT_TRUE(t.ok());
      JobOptions o = Options(app);
      o.threads = threads;
      o.exchange = exchange;
      o.batch_records = threads == 1 ? 100 : 257;  // results must not depend on batch size either
      Status s = Run(o, std::move(t).value());
      ASSERT_TRUE(s.ok()) << s;
      // Only the log exchange goes through a repartition topic.
      EXPECT_EQ(log_->HasTopic(app + "-word-counts-store-repartition"), exchange == Exchange::kLog);
    }
  }
  auto first = FinalCounts(log_.get(), outs.front());
  ASSERT_EQ(first.size(), expect.size());
  for (const auto& [w, n] : expect) EXPECT_EQ(first[w], std::to_string(n)) << w;
  for (const std::string& out : outs) EXPECT_EQ(FinalCounts(log_.get(), out), first) << out;
}

// Switching the exchange on existing state would lose the records waiting in repartition topics
// (log -> local) or find no offsets for them (local -> log): the job refuses, naming the mode the
// state was written with and the reset that allows the switch.
TEST_F(JobTest, TheExchangeIsFixedForAStateDirectoryUntilAReset) {
  testing::CreateTopicOrDie(log_.get(), "lines", 2);
  testing::CreateTopicOrDie(log_.get(), "counts", 2);
  RecordBatchBuilder lines;
  for (int i = 0; i < 200; ++i)
    lines.Add(Timestamp(i), std::nullopt, "a b c" + std::to_string(i % 7));
  ASSERT_TRUE(
      (*log_->GetPartition("lines", PartitionId(0)))->Append(lines.Finish(), Acks::kAll).ok());
  auto wordcount = [] {
    TopologyBuilder b;
    examples::AddWordCount(b, {.input = "lines", .output = "counts"});
    return std::move(b.Build()).value();
  };
  JobOptions o = Options("wc-switch");
  o.exchange = Exchange::kLog;
  ASSERT_TRUE(Run(o, wordcount()).ok());

  o.exchange = Exchange::kLocal;
  Status s = Run(o, wordcount());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("written with exchange=log"), std::string::npos) << s;
  EXPECT_NE(s.message().find("sluice job reset wc-switch"), std::string::npos) << s;

  ResetOptions r;
  r.application_id = "wc-switch";
  r.state_dir = o.state_dir;
  ASSERT_TRUE(ResetJob(log_.get(), r).ok());
  ASSERT_TRUE(Run(o, wordcount()).ok());  // local now, from the start again
  auto counts = FinalCounts(log_.get(), "counts");
  EXPECT_EQ(counts["a"], "200");
  EXPECT_EQ(counts["c3"], std::to_string(200 / 7 + (3 < 200 % 7)));

  o.exchange = Exchange::kLog;
  s = Run(o, wordcount());
  EXPECT_NE(s.message().find("written with exchange=local"), std::string::npos) << s;
}

TEST_F(JobTest, StopCommitsAndReturnsOk) {
  testing::ProduceTransactions(log_.get(), "tx", 1000, 10, 5);
  JobOptions o = Options();
  o.until_end = false;
  auto job = Job::Start(o, Balances());
  ASSERT_TRUE(job.ok()) << job.status();
  while ((*job)->metrics().records_in < 1000)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  (*job)->Stop();
  ASSERT_TRUE((*job)->Wait().ok());
  EXPECT_EQ((*job)->metrics().lag, 0);
  EXPECT_EQ((*job)->metrics().records_out, 1000);
}

// A job with nothing to do waits for data instead of polling: an append from another thread
// to its input wakes it, and with the log exchange the repartition topic's sync wakes the second
// stage. The bound below is far above the idle wait's fallback timeout; with the wake-ups
// removed and the fallback made long, the new word never arrives.
TEST_F(JobTest, AnIdleJobWakesUpForAnAppendToItsInput) {
  for (Exchange exchange : {Exchange::kLog, Exchange::kLocal}) {
    const std::string app = exchange == Exchange::kLog ? "idle-log" : "idle-local";
    const std::string in = app + "-lines", out = app + "-out";
    testing::CreateTopicOrDie(log_.get(), in, 2);
    testing::CreateTopicOrDie(log_.get(), out, 2);
    TopologyBuilder b;
    examples::AddWordCount(b, {.input = in, .output = out});
    auto t = b.Build();
    ASSERT_TRUE(t.ok());
    JobOptions o = Options(app);
    o.until_end = false;
    o.exchange = exchange;
    auto job = Job::Start(o, std::move(t).value());
    ASSERT_TRUE(job.ok()) << job.status();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while ((*job)->metrics().idle_waits == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_GT((*job)->metrics().idle_waits, 0) << "the job never went idle";
    // The job is waiting now (or about to, having read the wake-up count before the append).
    std::thread producer([&] {
      RecordBatchBuilder lines;
      lines.Add(Timestamp(1), std::nullopt, std::string_view("wake up"));
      auto part = log_->GetPartition(in, PartitionId(1));
      ASSERT_TRUE(part.ok());
      ASSERT_TRUE((*part)->Append(lines.Finish(), Acks::kLeader).ok());
    });
    producer.join();
    std::map<std::string, std::string> counts;
    while (counts.size() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      counts = FinalCounts(log_.get(), out);
    }
    (*job)->Stop();
    ASSERT_TRUE((*job)->Wait().ok());
    EXPECT_EQ(counts["wake"], "1") << app;
    EXPECT_EQ(counts["up"], "1") << app;
  }
}

TEST_F(JobTest, UserExceptionStopsTheJobNamingTheOperator) {
  testing::ProduceTransactions(log_.get(), "tx", 50, 5, 6);
  TopologyBuilder b;
  b.Stream<std::string, std::string>("tx")
      .MapValues(
          [](const std::string& v) -> std::string {
            if (v.size() > 1) throw std::runtime_error("boom");
            return v;
          },
          "fragile")
      .To("bal");
  auto t = b.Build();
  ASSERT_TRUE(t.ok());
  Status s = Run(Options(), std::move(t).value());
  EXPECT_EQ(s.code(), StatusCode::kAborted) << s;
  EXPECT_NE(s.message().find("'fragile'"), std::string::npos) << s;
}

TEST_F(JobTest, BadInputStopsTheJobNamingTheRecord) {
  auto part = log_->GetPartition("tx", PartitionId(0));
  ASSERT_TRUE(part.ok());
  RecordBatchBuilder b;
  b.Add(Timestamp(1), "alice", "12");
  b.Add(Timestamp(2), "alice", "twelve");
  ASSERT_TRUE((*part)->Append(b.Finish(), Acks::kLeader).ok());
  Status s = Run(Options(), Balances());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("offset 1 of 'tx' partition 0"), std::string::npos) << s;
  EXPECT_NE(s.message().find("'twelve'"), std::string::npos) << s;
}

TEST_F(JobTest, MissingTopicsAreListedAtStart) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("nope").To("nope-out");
  auto t = b.Build();
  ASSERT_TRUE(t.ok());
  auto job = Job::Start(Options(), std::move(t).value());
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("'nope', 'nope-out'"), std::string::npos) << job.status();
}

// B5: the state directory wiped while the log keeps the mirrored offsets.
TEST_F(JobTest, RefusesToStartWhenStateWasWiped) {
  testing::ProduceTransactions(log_.get(), "tx", 500, 10, 7);
  ASSERT_TRUE(Run(Options(), Balances()).ok());
  std::filesystem::remove_all(dir_.path() + "/state");
  auto job = Job::Start(Options(), Balances());
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), StatusCode::kCorruption);
  EXPECT_NE(job.status().message().find("state was wiped"), std::string::npos) << job.status();
  EXPECT_NE(job.status().message().find("sluice job reset bal-app"), std::string::npos);
}

// B5: the offsets deleted but the state kept; and stale offsets older than the state.
TEST_F(JobTest, RefusesToStartWhenOffsetsAreMissingOrStale) {
  testing::ProduceTransactions(log_.get(), "tx", 500, 10, 8);
  ASSERT_TRUE(Run(Options(), Balances()).ok());
  std::string db_dir = dir_.path() + "/state/bal-app";
  {
    auto db = StateDb::Open(db_dir, {"balances-store"});
    ASSERT_TRUE(db.ok());
    std::string bytes;
    bool found = false;
    ASSERT_TRUE((*db)->Get((*db)->meta(), CheckpointKey({0, 1}), &bytes, &found).ok());
    ASSERT_TRUE(found);
    auto ckpt = DecodeCheckpoint(bytes);
    ASSERT_TRUE(ckpt.ok());
    ckpt->commit_number -= 1;
    ckpt->inputs[0].next_offset = 0;
    rocksdb::WriteBatch wb;
    wb.Put((*db)->meta(), CheckpointKey({0, 1}), EncodeCheckpoint(*ckpt));
    wb.Delete((*db)->meta(), CheckpointKey({0, 2}));
    ASSERT_TRUE((*db)->Write(&wb, true).ok());
  }
  auto job = Job::Start(Options(), Balances());
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), StatusCode::kCorruption);
  EXPECT_NE(job.status().message().find("disagree"), std::string::npos) << job.status();
}

TEST_F(JobTest, StateDirectoryOfAnotherApplicationIsRejected) {
  testing::ProduceTransactions(log_.get(), "tx", 10, 2, 9);
  JobOptions a = Options("app-a");
  a.state_dir = dir_.path() + "/shared";
  ASSERT_TRUE(Run(a, Balances()).ok());
  std::filesystem::rename(dir_.path() + "/shared/app-a", dir_.path() + "/shared/app-b");
  JobOptions b = Options("app-b");
  b.state_dir = dir_.path() + "/shared";
  auto job = Job::Start(b, Balances());
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("belongs to application 'app-a'"), std::string::npos);
}

std::map<std::string, std::vector<int64_t>> Twice(std::map<std::string, std::vector<int64_t>> m) {
  for (auto& [k, v] : m) {
    auto copy = v;
    v.insert(v.end(), copy.begin(), copy.end());
  }
  return m;
}

// After a reset that wiped the state: every account's balances appear twice, each time from zero.
void ExpectBalancesTwiceFromZero(const std::map<std::string, std::vector<int64_t>>& inputs,
                                 Log* log) {
  std::map<std::string, std::vector<std::string>> got;
  for (const auto& part : ReadTopic(log, "bal")) {
    for (const auto& kv : part) got[kv.key].push_back(kv.value);
  }
  for (const auto& [acct, amounts] : inputs) {
    std::vector<std::string> once;
    int64_t sum = 0;
    for (int64_t a : amounts) once.push_back(std::to_string(sum += a));
    std::vector<std::string> expect = once;
    expect.insert(expect.end(), once.begin(), once.end());
    EXPECT_EQ(got[acct], expect) << acct;
  }
}

TEST_F(JobTest, ResetToEarliestWipesStateAndReprocessesFromScratch) {
  auto inputs = testing::ProduceTransactions(log_.get(), "tx", 800, 10, 10);
  ASSERT_TRUE(Run(Options(), Balances()).ok());
  auto lines =
      ResetJob(log_.get(), {.application_id = "bal-app", .state_dir = dir_.path() + "/state"});
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/state/bal-app"));
  ASSERT_TRUE(Run(Options(), Balances()).ok());
  ExpectBalancesTwiceFromZero(inputs, log_.get());
}

TEST_F(JobTest, ResetWithKeepStateReprocessesOnTopOfTheState) {
  auto inputs = testing::ProduceTransactions(log_.get(), "tx", 800, 10, 12);
  ASSERT_TRUE(Run(Options(), Balances()).ok());
  auto lines = ResetJob(
      log_.get(),
      {.application_id = "bal-app", .state_dir = dir_.path() + "/state", .keep_state = true});
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_TRUE(Run(Options(), Balances()).ok());
  EXPECT_EQ(CheckBalances(Twice(inputs), ReadTopic(log_.get(), "bal")), "");
}

// A reset pointed at the wrong state directory used to rewind the offsets, print "no state
// directory" and succeed; the real state kept its old positions and the next run processed
// nothing. It must fail, say where it looked, and change nothing.
TEST_F(JobTest, ResetWithAWrongStateDirectoryFailsAndChangesNothing) {
  auto inputs = testing::ProduceTransactions(log_.get(), "tx", 300, 5, 14);
  ASSERT_TRUE(Run(Options(), Balances()).ok());
  auto before = log_->offsets().Fetch("bal-app");
  ASSERT_TRUE(before.ok());
  const std::string wrong = dir_.path() + "/elsewhere";
  auto r = ResetJob(log_.get(), {.application_id = "bal-app", .state_dir = wrong});
  ASSERT_EQ(r.status().code(), StatusCode::kNotFound) << r.status();
  EXPECT_NE(r.status().message().find(wrong + "/bal-app"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("--state-deleted"), std::string::npos) << r.status();
  auto after = log_->offsets().Fetch("bal-app");
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), before->size());
  for (const auto& [tp, c] : *before) {
    EXPECT_EQ(after->at(tp).offset, c.offset);
    EXPECT_EQ(after->at(tp).metadata, c.metadata);
  }
  // The state really deleted, said so: the offsets rewind and the job reprocesses from zero.
  std::filesystem::remove_all(dir_.path() + "/state/bal-app");
  auto ok = ResetJob(
      log_.get(),
      {.application_id = "bal-app", .state_dir = dir_.path() + "/state", .state_deleted = true});
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_TRUE(Run(Options(), Balances()).ok());
  ExpectBalancesTwiceFromZero(inputs, log_.get());
}

TEST_F(JobTest, ResetRefusesWhileTheJobRunsAndWithoutOffsets) {
  auto none =
      ResetJob(log_.get(), {.application_id = "never-ran", .state_dir = dir_.path() + "/state"});
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  testing::ProduceTransactions(log_.get(), "tx", 100, 5, 13);
  ASSERT_TRUE(Run(Options(), Balances()).ok());
  JobOptions o = Options();
  o.until_end = false;
  auto job = Job::Start(o, Balances());
  ASSERT_TRUE(job.ok());
  auto r = ResetJob(log_.get(), {.application_id = "bal-app", .state_dir = dir_.path() + "/state"});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status();
  EXPECT_NE(r.status().message().find("is running"), std::string::npos);
  (*job)->Stop();
  EXPECT_TRUE((*job)->Wait().ok());
}

TEST(JobOwnLogTest, OpensTheDataDirectoryItselfWhenNoLogIsGiven) {
  testing::TempDir dir;
  std::map<std::string, std::vector<int64_t>> inputs;
  {
    auto log = testing::OpenLogOrDie(dir.path() + "/data");
    testing::CreateTopicOrDie(log.get(), "tx", 2);
    testing::CreateTopicOrDie(log.get(), "bal", 1);
    inputs = testing::ProduceTransactions(log.get(), "tx", 300, 7, 21);
    ASSERT_TRUE(log->Close().ok());
  }
  TopologyBuilder b;
  examples::AddBalances(b, {.input = "tx", .output = "bal"});
  auto t = b.Build();
  ASSERT_TRUE(t.ok());
  JobOptions o;
  o.application_id = "own-log";
  o.data_dir = dir.path() + "/data";
  o.state_dir = dir.path() + "/state";
  o.until_end = true;
  auto job = Job::Start(o, std::move(t).value());
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE((*job)->Wait().ok());
  job->reset();
  auto log = testing::OpenLogOrDie(dir.path() + "/data");
  EXPECT_EQ(CheckBalances(inputs, ReadTopic(log.get(), "bal")), "");
}

TEST(JobOptionsTest, BadOptionsAreRejectedWithWhatToDo) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in").To("out");
  auto t = b.Build();
  ASSERT_TRUE(t.ok());
  JobOptions o;
  auto job = Job::Start(o, *t);
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("application_id is empty"), std::string::npos);
  o.application_id = "bad id!";
  job = Job::Start(o, *t);
  ASSERT_FALSE(job.ok());
  o.application_id = "ok";
  o.threads = 0;
  job = Job::Start(o, *t);
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("threads"), std::string::npos);
}

}  // namespace
}  // namespace sluice
