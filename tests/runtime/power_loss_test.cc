// B4 (tests/README.md): power loss across the log and RocksDB together.
//
// The log runs on FaultInjectionFileSystem and the job's RocksDB on RocksFaultFileSystem; both
// consult one PowerSwitch before every mutating file operation, so the power goes off for both
// at the same operation: the Nth mutating operation (counted across the two layers) and every
// later one fail and change nothing. After the job has failed and Job and Log are torn down,
// both layers drop what was not synced (DropUnsyncedData), the log is reopened (its recovery
// runs) and the job restarted without faults runs to the end. The oracles of B1 must then hold:
// every account's outputs are exactly the prefix sums of its inputs, in order (no duplicate, no
// loss), the balance store equals the sums recomputed from the input, and the mirrored group
// offsets cover every input exactly.
//
// reliability-scenarios: issue16 "Also" (the power-loss seed is printed and replayable)
// N is drawn from a seeded RNG within the operation count of a clean run. The seed is printed;
// SLUICE_TEST_SEED=<seed> replays a run, SLUICE_POWER_CUTS=<k> changes the number of cut points
// (default 200), SLUICE_POWER_CUT_AT=<n>[,<m>] runs the single cut point n (and m of the restart).
// A replay cuts at the same operation count, but which operation that is can differ a little:
// the job's Flusher thread fsyncs output partitions concurrently with the task thread.
// Every 8th point cuts a second time while the restarted job is recovering (Log::Open and
// Job::Start), then recovers again.
//
// Directories are made under /dev/shm when it exists: the fault layers simulate durability, so
// the real fsyncs they pass on only cost time.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <stdlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "core/log.h"
#include "core/partitioner.h"
#include "core/record_batch.h"
#include "examples/balances.h"
#include "operators/serde.h"
#include "runtime/job.h"
#include "runtime/state_db.h"
#include "tests/runtime/runtime_test_util.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/rocksdb_fault_fs.h"

namespace sluice {
namespace {

using testing::CheckBalances;
using testing::FaultInjectionFileSystem;
using testing::ReadTopic;
using testing::RocksFaultFileSystem;

constexpr int kTransactions = 2000;
constexpr int kAccounts = 40;
constexpr int kInputPartitions = 4;
constexpr char kApp[] = "power-app";

// One switch for both fault layers: Allow() is called under a layer's lock before each mutating
// operation; from the armed count on it answers false (the power is off) until re-armed.
class PowerSwitch {
 public:
  // The n-th (1-based) mutating operation from now and all later ones fail; n <= 0: none.
  void Arm(int64_t n) {
    std::lock_guard<std::mutex> l(mu_);
    count_ = 0;
    limit_ = n;
    cut_ = false;
  }
  bool Allow() {
    std::lock_guard<std::mutex> l(mu_);
    if (cut_) return false;
    ++count_;
    if (limit_ > 0 && count_ >= limit_) cut_ = true;
    return !cut_;
  }
  bool cut() const {
    std::lock_guard<std::mutex> l(mu_);
    return cut_;
  }
  int64_t count() const {
    std::lock_guard<std::mutex> l(mu_);
    return count_;
  }

 private:
  mutable std::mutex mu_;
  int64_t count_ = 0;
  int64_t limit_ = 0;
  bool cut_ = false;
};

// A directory under /dev/shm (or $TMPDIR), removed by the destructor.
class ScratchDir {
 public:
  ScratchDir() {
    std::error_code ec;
    std::string base = std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "";
    if (base.empty()) {
      const char* t = std::getenv("TMPDIR");
      base = t && *t ? t : "/tmp";
    }
    std::string tmpl = base + "/sluice-power-XXXXXX";
    char* p = mkdtemp(tmpl.data());
    SLUICE_CHECK(p != nullptr);
    path_ = p;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoll(v, nullptr, 10) : fallback;
}

// The two fault layers of one run, wired to one switch.
struct Power {
  Power() : rocks_fs(std::make_shared<RocksFaultFileSystem>()) {
    env = rocksdb::NewCompositeEnv(rocks_fs);
    log_fs.SetMutationGate([this] { return power.Allow(); });
    rocks_fs->SetMutationGate([this] { return power.Allow(); });
  }
  // Power loss: both layers forget what was not synced. Call once Job and Log are gone.
  void LoseUnsyncedData() {
    log_fs.Freeze();
    rocks_fs->Freeze();
    SLUICE_CHECK_OK(log_fs.DropUnsyncedData());
    SLUICE_CHECK_OK(rocks_fs->DropUnsyncedData());
    power.Arm(0);
    log_fs.Unfreeze();
    rocks_fs->Unfreeze();
  }

  PowerSwitch power;
  FaultInjectionFileSystem log_fs;
  std::shared_ptr<RocksFaultFileSystem> rocks_fs;
  std::unique_ptr<rocksdb::Env> env;
};

// What one attempt (open the log, run the job to the end, tear down) saw.
struct Attempt {
  Status status;             // the first error, or Ok
  bool job_ok = false;       // the job itself (Start and Wait) succeeded
  bool started = false;      // Log::Open and Job::Start succeeded (recovery was over)
  int64_t ops_at_start = 0;  // switch count when Job::Start returned
};

class PowerLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The input, produced and closed (synced) once; every cut point starts from a copy of it.
    auto log = testing::OpenLogOrDie(template_.path() + "/data");
    testing::CreateTopicOrDie(log.get(), "tx", kInputPartitions);
    testing::CreateTopicOrDie(log.get(), "bal", 2);
    inputs_ = testing::ProduceTransactions(log.get(), "tx", kTransactions, kAccounts, 7, 37);
    // The same kind of input spread round-robin, so that every task of the first stage writes to
    // every partition of a repartition topic (the two-stage sweep).
    testing::CreateTopicOrDie(log.get(), "tx-rr", kInputPartitions);
    std::mt19937 rng(41);
    RecordBatchBuilder batches[kInputPartitions];
    for (int i = 0; i < kTransactions; ++i) {
      std::string acct = "acct-" + std::to_string(rng() % kAccounts);
      int64_t amount = static_cast<int64_t>(rng() % 2001) - 1000;
      rr_inputs_[acct].push_back(amount);
      batches[i % kInputPartitions].Add(Timestamp(i), std::string_view(acct),
                                        std::string_view(std::to_string(amount)));
      if (batches[i % kInputPartitions].record_count() == 37 ||
          i + kInputPartitions >= kTransactions) {
        Partition* part = *log->GetPartition("tx-rr", PartitionId(i % kInputPartitions));
        ASSERT_TRUE(part->Append(batches[i % kInputPartitions].Finish(), Acks::kAll).ok());
      }
    }
    ASSERT_TRUE(log->Close().ok());
  }

  void FreshCopy(const std::string& dir) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::filesystem::copy(template_.path() + "/data", dir + "/data",
                          std::filesystem::copy_options::recursive);
  }

  // The balances job; with two_stage_, the same job cut in two at a repartition topic, over the
  // round-robin input "tx-rr": every first-stage task writes to every repartition partition, and
  // an account's transactions arrive in an order that depends on the run (CheckBalancesAnyOrder).
  Topology Balances() const {
    TopologyBuilder b;
    if (two_stage_) {
      b.Stream<std::string, int64_t>("tx-rr", {.value = DecimalInt64Serde()}, "transactions")
          .KeyBy([](const std::string& k, const int64_t&) { return k; }, "rekey")
          .GroupByKey()
          .Reduce("balances-store",
                  [](int64_t balance, int64_t amount) { return balance + amount; })
          .ToStream("balance-updates")
          .To("bal", "balances-sink");
    } else {
      examples::AddBalances(b, {.input = "tx", .output = "bal"});
    }
    auto t = b.Build();
    SLUICE_CHECK_OK(t.status());
    return std::move(t).value();
  }

  JobOptions Options(const std::string& dir, Log* log, Power* p) {
    JobOptions o;
    o.application_id = kApp;
    o.log = log;
    o.state_dir = dir + "/state";
    o.state_env = p->env.get();
    o.threads = 2;
    o.until_end = true;
    o.guarantee = guarantee_;
    o.exchange = exchange_;
    o.commit_interval = std::chrono::milliseconds(0);  // a commit after every batch
    o.batch_records = 20;
    return o;
  }

  static std::unique_ptr<Log> OpenLog(const std::string& dir, Power* p, Status* s) {
    LogOptions lo;
    lo.data_dir = dir + "/data";
    lo.fs = &p->log_fs;
    lo.retention_check_interval = std::chrono::milliseconds(0);
    lo.info_log = [](const std::string&) {};  // "recovered after an unclean shutdown", each time
    auto log = Log::Open(lo);
    if (!log.ok()) {
      *s = log.status();
      return nullptr;
    }
    return std::move(log).value();
  }

  // Opens the log, runs the job to the end and tears both down (whatever the switch does).
  Attempt RunOnce(const std::string& dir, Power* p) {
    Attempt a;
    std::unique_ptr<Log> log = OpenLog(dir, p, &a.status);
    if (!log) return a;
    {
      auto job = Job::Start(Options(dir, log.get(), p), Balances());
      if (!job.ok()) {
        a.status = job.status();
      } else {
        a.started = true;
        a.ops_at_start = p->power.count();
        a.status = (*job)->Wait();
        a.job_ok = a.status.ok();
      }
    }
    Status closed = log->Close();
    if (a.status.ok()) a.status = closed;
    return a;
  }

  // After a fault-free final run: the output, the store and the offsets against the input.
  std::string CheckEverything(const std::string& dir, Power* p) {
    Status s;
    std::unique_ptr<Log> log = OpenLog(dir, p, &s);
    if (!log) return fmt::format("reopening the log: {}", s.ToString());
    const auto outputs = ReadTopic(log.get(), "bal");
    std::string diff = two_stage_ ? testing::CheckBalancesAnyOrder(rr_inputs_, outputs)
                       : guarantee_ == ProcessingGuarantee::kExactlyOnce
                           ? CheckBalances(inputs_, outputs)
                           : testing::CheckBalancesAtLeastOnce(inputs_, outputs);
    if (!diff.empty()) return "output: " + diff;
    auto group = log->offsets().Fetch(kApp);
    if (!group.ok()) return group.status().ToString();
    int64_t committed = 0;
    for (const auto& [tp, off] : *group) {
      // The input's offsets, not the repartition topic's.
      if (tp.topic == (two_stage_ ? "tx-rr" : "tx")) committed += off.offset.value();
    }
    if (committed != kTransactions) {
      return fmt::format("mirrored offsets cover {} inputs, not {}", committed, kTransactions);
    }
    auto db = StateDb::Open(dir + "/state/" + kApp, {"balances-store"}, p->env.get());
    if (!db.ok()) return db.status().ToString();
    std::map<std::string, int64_t> stored;
    std::string bad;
    Status scan =
        (*db)->ScanPrefix((*db)->store(0), "", [&](std::string_view k, std::string_view v) {
          if (k.size() < 4) {
            bad = "a store key without a partition prefix";
            return;
          }
          int32_t part = (static_cast<uint8_t>(k[0]) << 24) | (static_cast<uint8_t>(k[1]) << 16) |
                         (static_cast<uint8_t>(k[2]) << 8) | static_cast<uint8_t>(k[3]);
          std::string acct(k.substr(4));
          if (PartitionForKey(acct, kInputPartitions).value() != part) {
            bad = fmt::format("account {} stored under partition {}", acct, part);
          }
          int64_t balance = 0;
          if (!DecimalInt64Serde()->Deserialize(v, &balance).ok()) bad = "undecodable balance";
          stored[acct] = balance;
        });
    if (!scan.ok()) return scan.ToString();
    if (!bad.empty()) return "store: " + bad;
    std::map<std::string, int64_t> expect;
    for (const auto& [acct, amounts] : two_stage_ ? rr_inputs_ : inputs_) {
      for (int64_t a : amounts) expect[acct] += a;
    }
    if (stored != expect) {
      for (const auto& [acct, sum] : expect) {
        if (!stored.count(acct) || stored[acct] != sum) {
          return fmt::format("store: account {} holds {} but its inputs sum to {}", acct,
                             stored.count(acct) ? std::to_string(stored[acct]) : "nothing", sum);
        }
      }
      return "store: holds accounts that are not in the input";
    }
    return "";
  }

  // One cut point: cut at `n`; if `recovery_cut` > 0, cut again at that count of the restart;
  // then run to the end without faults and check. Returns "" or what went wrong.
  // Where the first cut landed: counts per Landing, for the summary line.
  enum Landing { kInStartup, kWhileRunning, kInTeardown, kNotReached, kLandings };

  std::string CutAndRecover(const std::string& dir, int64_t n, int64_t recovery_cut,
                            Landing* landing, bool* recovery_cut_landed, int64_t* started_at) {
    FreshCopy(dir);
    Power p;
    p.power.Arm(n);
    Attempt first = RunOnce(dir, &p);
    if (first.started) *started_at = first.ops_at_start;
    if (!first.status.ok() && !p.power.cut()) {
      return "the job failed before the power cut: " + first.status.ToString();
    }
    *landing = !p.power.cut()   ? kNotReached
               : !first.started ? kInStartup
               : !first.job_ok  ? kWhileRunning
                                : kInTeardown;
    p.LoseUnsyncedData();
    if (recovery_cut > 0) {
      p.power.Arm(recovery_cut);
      Attempt second = RunOnce(dir, &p);
      if (!second.status.ok() && !p.power.cut()) {
        return "the restarted job failed before the second cut: " + second.status.ToString();
      }
      *recovery_cut_landed = !second.started;
      p.LoseUnsyncedData();
    }
    Attempt last = RunOnce(dir, &p);
    if (!last.status.ok()) return "the restarted job failed: " + last.status.ToString();
    return CheckEverything(dir, &p);
  }

  // The sweep: a clean run bounds the cut points, then `cuts` seeded points (env overrides).
  void Sweep(int64_t default_cuts);

  ProcessingGuarantee guarantee_ = ProcessingGuarantee::kExactlyOnce;
  bool two_stage_ = false;
  Exchange exchange_ = Exchange::kLog;
  ScratchDir template_;
  std::map<std::string, std::vector<int64_t>> inputs_;
  std::map<std::string, std::vector<int64_t>> rr_inputs_;  // "tx-rr", per account in input order
};

TEST_F(PowerLossTest, CutAtSeededPointsRecoversEveryBalanceExactlyOnce) { Sweep(200); }

// At-least-once: outputs are synced before the unsynced state commit that covers them, and the
// state's WAL before offsets are mirrored, so a power cut repeats outputs but never loses one and
// never leaves mirrored offsets newer than the state.
TEST_F(PowerLossTest, AtLeastOnceCutsRepeatButNeverLoseABalance) {
  guarantee_ = ProcessingGuarantee::kAtLeastOnce;
  Sweep(60);
}

// A two-stage job: a downstream task reads the repartition topic only where it is synced, so a
// power cut never leaves its committed offsets over a batch that the writers republish later (in
// another order). 80 points: each run does about twice the I/O of the one-stage job.
TEST_F(PowerLossTest, TwoStageJobThroughARepartitionTopicRecoversExactlyOnce) {
  two_stage_ = true;
  exchange_ = Exchange::kLog;
  Sweep(80);
}

// The same job with the in-memory exchange: both stages' tasks commit in one write, so a cut
// leaves them all at the same commit, and nothing between the stages needs to survive it.
TEST_F(PowerLossTest, TwoStageJobWithTheLocalExchangeRecoversExactlyOnce) {
  two_stage_ = true;
  exchange_ = Exchange::kLocal;
  Sweep(80);
}

void PowerLossTest::Sweep(int64_t default_cuts) {
  uint64_t seed = static_cast<uint64_t>(EnvInt("SLUICE_TEST_SEED", std::random_device()()));
  int64_t cuts = EnvInt("SLUICE_POWER_CUTS", default_cuts);
  // SLUICE_POWER_CUT_AT=<n>[,<m>]: one point, cut at n, and at m of the restart if given.
  int64_t only = EnvInt("SLUICE_POWER_CUT_AT", 0), only_second = 0;
  if (const char* at = std::getenv("SLUICE_POWER_CUT_AT"); at && std::strchr(at, ',')) {
    only_second = std::strtoll(std::strchr(at, ',') + 1, nullptr, 10);
  }
  if (only > 0) cuts = 1;
  ScratchDir work;
  const std::string dir = work.path() + "/run";

  // A clean run bounds the cut points: its mutating operations across both layers. Second cuts
  // are drawn below the operations up to the end of Log::Open + Job::Start (a restart's recovery
  // is at least that long); the job's thread may already have run when Start returns, so the
  // bound is the least count seen at that point over the clean run and the sweep.
  int64_t total = 0, startup = 0, log_ops = 0, rocks_ops = 0;
  {
    FreshCopy(dir);
    Power p;
    Attempt clean = RunOnce(dir, &p);
    ASSERT_TRUE(clean.status.ok()) << clean.status;
    total = p.power.count();
    startup = clean.ops_at_start;
    log_ops = p.log_fs.op_count();
    rocks_ops = p.rocks_fs->op_count();
    p.LoseUnsyncedData();
    ASSERT_EQ(CheckEverything(dir, &p), "");
  }
  std::printf(
      "power-loss sweep: SLUICE_TEST_SEED=%llu, %lld cut points; a clean run has %lld mutating "
      "operations (log %lld, RocksDB %lld; %lld up to the end of Job::Start)\n",
      static_cast<unsigned long long>(seed), static_cast<long long>(cuts),
      static_cast<long long>(total), static_cast<long long>(log_ops),
      static_cast<long long>(rocks_ops), static_cast<long long>(startup));
  std::fflush(stdout);
  ASSERT_GT(total, 100) << "the clean run did too little I/O for a sweep";

  std::mt19937_64 rng(seed);
  int recovery_cuts = 0, recovery_cuts_landed = 0;
  int landings[kLandings] = {};
  for (int64_t i = 0; i < cuts; ++i) {
    int64_t n = only > 0 ? only : std::uniform_int_distribution<int64_t>(1, total)(rng);
    // Every 8th point also cuts the restart, within what recovery takes.
    int64_t second = only_second;
    if (only == 0 && i % 8 == 7) {
      second = std::uniform_int_distribution<int64_t>(1, std::max<int64_t>(startup, 1))(rng);
    }
    bool landed = false;
    Landing landing = kNotReached;
    int64_t started_at = 0;
    std::string err = CutAndRecover(dir, n, second, &landing, &landed, &started_at);
    ++landings[landing];
    if (started_at > 0) startup = std::min(startup, started_at);
    if (second > 0) {
      ++recovery_cuts;
      recovery_cuts_landed += landed ? 1 : 0;
    }
    ASSERT_EQ(err, "") << "cut point " << i << ": power cut at mutating operation " << n
                       << (second > 0 ? fmt::format(", again at {} of the restart", second) : "")
                       << " (replay: SLUICE_TEST_SEED=" << seed
                       << ", or this point alone: SLUICE_POWER_CUT_AT=" << n
                       << (second > 0 ? fmt::format(",{}", second) : "") << ")";
  }
  std::printf(
      "power-loss sweep: first cuts landed %d in Log::Open/Job::Start, %d while the job ran, %d "
      "in Job/Log teardown, %d not reached; %d second cuts during a restart, %d of them before "
      "Job::Start returned\n",
      landings[kInStartup], landings[kWhileRunning], landings[kInTeardown], landings[kNotReached],
      recovery_cuts, recovery_cuts_landed);
}

}  // namespace
}  // namespace sluice
