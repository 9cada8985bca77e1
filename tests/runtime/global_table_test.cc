// GlobalTable through the runtime: orders (4 partitions) joined with a customers table on 3
// partitions by the customer id in the order's value. Every task reads the whole customers topic
// into its own copy, bootstrapped before the orders whatever the declaration order; the copy
// follows updates while the job runs, resumes from its checkpoint after a restart (no re-read
// from zero), and survives SIGKILL of the process running the job with every order joined once.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include "core/log.h"
#include "core/partitioner.h"
#include "core/record_batch.h"
#include "operators/joins.h"
#include "operators/topology_builder.h"
#include "runtime/job.h"
#include "runtime/planner.h"
#include "tests/runtime/runtime_test_util.h"

namespace sluice {
namespace {

constexpr int kOrderPartitions = 4;
constexpr int kCustomerPartitions = 3;

// orders: key = order id, value = customer id. Declared before the global table on purpose:
// the order must not matter.
Topology OrdersWithCustomers() {
  TopologyBuilder b;
  auto orders = b.Stream<std::string, std::string>("orders");
  auto customers = b.GlobalTable<std::string, std::string>("customers", "customers-global");
  JoinGlobal(
      orders, customers, "orders-with-customers", JoinKind::kLeft,
      [](const std::string&, const std::string& customer) { return customer; },
      [](const std::string&, const std::string& customer, const std::optional<std::string>& row) {
        return customer + "@" + row.value_or("?");
      })
      .To("enriched");
  auto t = b.Build();
  SLUICE_CHECK_OK(t.status());
  return std::move(t).value();
}

class GlobalTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    state_ = dir_.path() + "/state";
    auto log = testing::OpenLogOrDie(data_);
    testing::CreateTopicOrDie(log.get(), "orders", kOrderPartitions);
    testing::CreateTopicOrDie(log.get(), "customers", kCustomerPartitions);
    testing::CreateTopicOrDie(log.get(), "enriched", 2);
    ASSERT_TRUE(log->Close().ok());
  }

  // Appends (key, value) records to `topic`, keyed to partitions as Kafka's partitioner does.
  static void Produce(Log* log, const std::string& topic,
                      const std::vector<std::pair<std::string, std::string>>& records) {
    auto cfg = log->DescribeTopic(topic);
    ASSERT_TRUE(cfg.ok());
    std::vector<RecordBatchBuilder> builders(cfg->partitions);
    std::vector<int> used(cfg->partitions, 0);
    auto flush = [&](int32_t p) {
      auto part = log->GetPartition(topic, PartitionId(p));
      ASSERT_TRUE(part.ok());
      ASSERT_TRUE((*part)->Append(builders[p].Finish(), Acks::kAll).ok());
      builders[p] = RecordBatchBuilder();
      used[p] = 0;
    };
    for (const auto& [k, v] : records) {
      int32_t p = PartitionForKey(k, cfg->partitions).value();
      builders[p].Add(Timestamp(1000), std::string_view(k), std::string_view(v));
      if (++used[p] == 50) flush(p);  // small batches: a kill can land inside the table
    }
    for (int32_t p = 0; p < cfg->partitions; ++p) {
      if (used[p] > 0) flush(p);
    }
  }

  // Customers c0..c{n-1} with value `tag` + id; orders o<from>..o<to-1> for customer c(i % n).
  void ProduceCustomers(Log* log, int n, const std::string& tag) {
    std::vector<std::pair<std::string, std::string>> rows;
    for (int i = 0; i < n; ++i) {
      rows.emplace_back(fmt::format("c{}", i), fmt::format("{}{}", tag, i));
      rows_[fmt::format("c{}", i)] = fmt::format("{}{}", tag, i);
    }
    Produce(log, "customers", rows);
  }
  void ProduceOrders(Log* log, int from, int to, int customers) {
    std::vector<std::pair<std::string, std::string>> orders;
    for (int i = from; i < to; ++i) {
      std::string c = fmt::format("c{}", i % customers);
      orders.emplace_back(fmt::format("o{}", i), c);
      expect_[fmt::format("o{}", i)] = c + "@" + rows_[c];
    }
    Produce(log, "orders", orders);
  }

  JobOptions Options(Log* log, bool until_end) const {
    JobOptions o;
    o.application_id = "global-app";
    o.log = log;
    o.data_dir = data_;
    o.state_dir = state_;
    o.until_end = until_end;
    o.threads = 2;
    o.commit_interval = std::chrono::milliseconds(1);
    o.batch_records = 40;
    return o;
  }

  // Runs the job in this process to the end of its inputs; returns its records_in.
  int64_t RunToEnd() {
    auto log = testing::OpenLogOrDie(data_);
    auto job = Job::Start(Options(log.get(), true), OrdersWithCustomers());
    EXPECT_TRUE(job.ok()) << job.status();
    if (!job.ok()) return -1;
    Status s = (*job)->Wait();
    EXPECT_TRUE(s.ok()) << s;
    int64_t in = (*job)->metrics().records_in;
    job->reset();
    EXPECT_TRUE(log->Close().ok());
    return in;
  }

  // Every enriched record: "" when each order appears exactly once with the row it expects.
  std::string CheckEnriched(Log* log) {
    std::map<std::string, std::vector<std::string>> got;
    for (const auto& part : testing::ReadTopic(log, "enriched")) {
      for (const auto& kv : part) got[kv.key].push_back(kv.value);
    }
    for (const auto& [order, want] : expect_) {
      auto it = got.find(order);
      if (it == got.end()) return fmt::format("order {} is missing", order);
      if (it->second != std::vector<std::string>{want}) {
        return fmt::format("order {}: got [{}], want {}", order, fmt::join(it->second, ", "), want);
      }
    }
    if (got.size() != expect_.size()) {
      return fmt::format("{} orders enriched, {} expected", got.size(), expect_.size());
    }
    return "";
  }

  testing::TempDir dir_;
  std::string data_, state_;
  std::map<std::string, std::string> rows_;    // customer -> latest row
  std::map<std::string, std::string> expect_;  // order -> enriched value
};

TEST_F(GlobalTableTest, EveryTaskJoinsItsOrdersWithCustomersOfEveryPartition) {
  constexpr int kCustomers = 300, kOrders = 1000;
  {
    auto log = testing::OpenLogOrDie(data_);
    ProduceCustomers(log.get(), kCustomers, "row");
    ProduceOrders(log.get(), 0, kOrders, kCustomers);
    ASSERT_TRUE(log->Close().ok());
  }
  // Each of the 4 tasks reads all 300 rows (bootstrap), then its orders.
  EXPECT_EQ(RunToEnd(), kOrderPartitions * kCustomers + kOrders);
  auto log = testing::OpenLogOrDie(data_);
  EXPECT_EQ(CheckEnriched(log.get()), "");
  // The table's offsets are the tasks' own: none is mirrored into the group.
  auto group = log->offsets().Fetch("global-app");
  ASSERT_TRUE(group.ok());
  for (const auto& [tp, off] : *group) EXPECT_NE(tp.topic, "customers");
}

TEST_F(GlobalTableTest, ARestartResumesTheTableFromItsCheckpointNotFromZero) {
  constexpr int kCustomers = 200;
  {
    auto log = testing::OpenLogOrDie(data_);
    ProduceCustomers(log.get(), kCustomers, "old");
    ProduceOrders(log.get(), 0, 400, kCustomers);
    ASSERT_TRUE(log->Close().ok());
  }
  ASSERT_EQ(RunToEnd(), kOrderPartitions * kCustomers + 400);
  {
    // 50 rows change; new orders must see the new rows, and each task reads only the 50.
    auto log = testing::OpenLogOrDie(data_);
    ProduceCustomers(log.get(), 50, "new");
    ProduceOrders(log.get(), 400, 700, kCustomers);
    ASSERT_TRUE(log->Close().ok());
  }
  EXPECT_EQ(RunToEnd(), kOrderPartitions * 50 + 300);
  auto log = testing::OpenLogOrDie(data_);
  EXPECT_EQ(CheckEnriched(log.get()), "");
}

TEST_F(GlobalTableTest, UpdatesWhileRunningReachLaterOrders) {
  auto log = testing::OpenLogOrDie(data_);
  ProduceCustomers(log.get(), 10, "v1-");
  auto job = Job::Start(Options(log.get(), false), OrdersWithCustomers());
  ASSERT_TRUE(job.ok()) << job.status();
  // Waits (bounded, to catch a hang) until `n` enriched records are in the log.
  auto wait_for = [&](size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      size_t have = 0;
      for (const auto& part : testing::ReadTopic(log.get(), "enriched")) have += part.size();
      if (have >= n) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "no " << n << " enriched records within 30 s";
  };
  ProduceOrders(log.get(), 0, 20, 10);
  wait_for(20);
  ProduceCustomers(log.get(), 10, "v2-");  // every row changes while the job runs
  // Once each of the 4 tasks has read the 10 updates (4 x 10 rows at bootstrap, 20 orders, then
  // 4 x 10 updates), every later order must meet the new rows.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((*job)->metrics().records_in < 4 * 10 + 20 + 4 * 10 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ((*job)->metrics().records_in, 4 * 10 + 20 + 4 * 10);
  ProduceOrders(log.get(), 20, 40, 10);
  wait_for(40);
  (*job)->Stop();
  ASSERT_TRUE((*job)->Wait().ok());
  std::map<std::string, std::string> got;
  for (const auto& part : testing::ReadTopic(log.get(), "enriched")) {
    for (const auto& kv : part) got[kv.key] = kv.value;
  }
  EXPECT_EQ(got.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(got[fmt::format("o{}", i)],
              fmt::format("c{}@{}{}", i % 10, i < 20 ? "v1-" : "v2-", i % 10));
  }
}

TEST_F(GlobalTableTest, AJobOverABrokerRefusesAGlobalTableSayingWhatToDo) {
  JobOptions o;
  o.application_id = "global-app";
  o.bootstrap_servers = "127.0.0.1:1";  // never contacted: refused before
  o.state_dir = state_;
  auto job = Job::Start(o, OrdersWithCustomers());
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(job.status().message().find("global table"), std::string::npos) << job.status();
  EXPECT_NE(job.status().message().find("embedded log"), std::string::npos) << job.status();
}

TEST_F(GlobalTableTest, ThePlanLeavesTheGlobalTopicOutOfCoPartitioning) {
  auto log = testing::OpenLogOrDie(data_);
  auto plan = PlanInLog(OrdersWithCustomers(), "global-app", log.get());
  ASSERT_TRUE(plan.ok()) << plan.status();  // orders: 4 partitions, customers: 3
  EXPECT_EQ(plan->stage_partitions, std::vector<int32_t>{kOrderPartitions});
  EXPECT_NE(plan->Describe().find("customers (3 partitions, read, global"), std::string::npos)
      << plan->Describe();
}

// SIGKILL of a process running the job, at random moments (also while the tasks still load the
// table), then a run to the end: every order is joined exactly once, with its row.
TEST_F(GlobalTableTest, KillNineWhileLoadingAndJoiningLosesAndRepeatsNothing) {
  constexpr int kCustomers = 3000, kOrders = 4000;
  {
    auto log = testing::OpenLogOrDie(data_);
    ProduceCustomers(log.get(), kCustomers, "row");
    ProduceOrders(log.get(), 0, kOrders, kCustomers);
    ASSERT_TRUE(log->Close().ok());
  }
  const char* env = std::getenv("SLUICE_CRASH_SEED");
  const uint32_t seed = env ? static_cast<uint32_t>(std::atoll(env)) : std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE(fmt::format("SLUICE_CRASH_SEED={}", seed));
  // The child runs the job; the parent kills it. The parent holds no log open meanwhile.
  auto run_child = [&](std::optional<std::chrono::milliseconds> kill_after) {
    pid_t pid = fork();
    if (pid == 0) {
      auto log = Log::Open(LogOptions{.data_dir = data_});
      if (!log.ok()) _exit(3);
      auto job = Job::Start(Options(log->get(), true), OrdersWithCustomers());
      if (!job.ok()) {
        fmt::print(stderr, "{}\n", job.status());
        _exit(4);
      }
      Status s = (*job)->Wait();
      if (!s.ok()) fmt::print(stderr, "{}\n", s);
      _exit(s.ok() ? 0 : 5);
    }
    int status = 0;
    if (kill_after) {
      auto start = std::chrono::steady_clock::now();
      while (waitpid(pid, &status, WNOHANG) != pid) {
        if (std::chrono::steady_clock::now() - start >= *kill_after) {
          kill(pid, SIGKILL);
          waitpid(pid, &status, 0);
          return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    } else {
      waitpid(pid, &status, 0);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  };
  for (int i = 0; i < 6; ++i) {
    int rc = run_child(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 400)(rng)));
    ASSERT_TRUE(rc == -1 || rc == 0) << "run " << i << " failed with " << rc;
  }
  ASSERT_EQ(run_child(std::nullopt), 0);
  auto log = testing::OpenLogOrDie(data_);
  EXPECT_EQ(CheckEnriched(log.get()), "");
}

}  // namespace
}  // namespace sluice
