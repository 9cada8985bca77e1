// A table-table join through the runtime across a restart: the second run must join the first
// run's table rows, which it finds only in the restored stores.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "core/log.h"
#include "core/partitioner.h"
#include "core/record_batch.h"
#include "operators/joins.h"
#include "operators/topology_builder.h"
#include "runtime/job.h"
#include "tests/runtime/runtime_test_util.h"

namespace sluice {
namespace {

class TableJoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = testing::OpenLogOrDie(dir_.path() + "/data");
    for (const char* t : {"users", "addresses", "out"}) {
      testing::CreateTopicOrDie(log_.get(), t, 2);
    }
  }

  // Appends (key, value) records to `topic`; a value of std::nullopt is a tombstone.
  void Produce(const std::string& topic,
               const std::vector<std::pair<std::string, std::optional<std::string>>>& records) {
    std::vector<RecordBatchBuilder> builders(2);
    std::vector<bool> used(2, false);
    for (const auto& [k, v] : records) {
      int32_t p = PartitionForKey(k, 2).value();
      std::optional<std::string_view> value;
      if (v) value = *v;
      builders[p].Add(Timestamp(ts_++), k, value);
      used[p] = true;
    }
    for (int32_t p = 0; p < 2; ++p) {
      if (!used[p]) continue;
      auto part = log_->GetPartition(topic, PartitionId(p));
      ASSERT_TRUE(part.ok());
      ASSERT_TRUE((*part)->Append(builders[p].Finish(), Acks::kAll).ok());
    }
  }

  // Runs the join (left by default) of users with addresses to the end of its inputs, writing
  // the result's changes to `out`.
  Status Run(JoinKind kind = JoinKind::kLeft, const std::string& out = "out") {
    TopologyBuilder b;
    auto users = b.Table<std::string, std::string>("users", "users-table");
    auto addresses = b.Table<std::string, std::string>("addresses", "addresses-table");
    JoinTables(users, addresses, "users-with-addresses", kind,
               [](const std::string&, const std::string& u, const std::optional<std::string>& a) {
                 return u + "@" + a.value_or("?");
               })
        .ToStream()
        .To(out);
    auto t = b.Build();
    if (!t.ok()) return t.status();
    JobOptions o;
    o.application_id = "users-app";
    o.log = log_.get();
    o.state_dir = dir_.path() + "/state";
    o.until_end = true;
    o.commit_interval = std::chrono::milliseconds(20);
    auto job = Job::Start(o, std::move(t).value());
    if (!job.ok()) return job.status();
    return (*job)->Wait();
  }

  // The last value written to "out" per key (a key's records share a partition, so its order
  // in the partition is the order of its updates).
  std::map<std::string, std::string> LastOut() {
    std::map<std::string, std::string> last;
    for (const auto& part : testing::ReadTopic(log_.get(), "out")) {
      for (const auto& kv : part) last[kv.key] = kv.value;
    }
    return last;
  }

  testing::TempDir dir_;
  std::unique_ptr<Log> log_;
  int64_t ts_ = 1;
};

TEST_F(TableJoinTest, LeftJoinOfTablesJoinsTheFirstRunsRowsAfterARestart) {
  constexpr int kUsers = 100;
  std::vector<std::pair<std::string, std::optional<std::string>>> users, addresses;
  for (int i = 0; i < kUsers; ++i) users.emplace_back(fmt::format("u{}", i), fmt::format("n{}", i));
  for (int i = 0; i < kUsers; i += 2) addresses.emplace_back(fmt::format("u{}", i), "A");
  Produce("users", users);
  Produce("addresses", addresses);
  ASSERT_TRUE(Run().ok());

  // The oracle: the joined row per key, kept by hand.
  std::map<std::string, std::string> expect;
  for (int i = 0; i < kUsers; ++i) {
    expect[fmt::format("u{}", i)] = fmt::format("n{}@{}", i, i % 2 == 0 ? "A" : "?");
  }
  EXPECT_EQ(LastOut(), expect);

  // Run 2 sees only right-side changes: each result needs the user row stored by run 1.
  std::vector<std::pair<std::string, std::optional<std::string>>> changes;
  for (int i = 0; i < kUsers / 2; i += 2) {
    changes.emplace_back(fmt::format("u{}", i), std::nullopt);  // address deleted: n@?
    expect[fmt::format("u{}", i)] = fmt::format("n{}@?", i);
  }
  for (int i = 1; i < kUsers; i += 2) {
    changes.emplace_back(fmt::format("u{}", i), "B");  // address added: n@B
    expect[fmt::format("u{}", i)] = fmt::format("n{}@B", i);
  }
  changes.emplace_back("nobody", "C");  // no user: no result
  Produce("addresses", changes);
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(LastOut(), expect);
}

// A deleted join result reaches the output topic as a tombstone (key, null value), and a
// compacted output topic then forgets the key once the cleaner has run.
TEST_F(TableJoinTest, DeletedResultsReachACompactedOutputAsTombstonesAndTheCleanerDropsTheKey) {
  TopicConfig c;
  c.partitions = 2;
  c.cleanup_policy = CleanupPolicy::kCompact;
  c.delete_retention_ms = 0;
  c.segment_bytes = 1024;  // small segments, so the cleaner has sealed ones to clean
  ASSERT_TRUE(log_->CreateTopic("joined", c).ok());
  std::vector<std::pair<std::string, std::optional<std::string>>> users, addresses;
  for (int i = 0; i < 20; ++i) {
    users.emplace_back(fmt::format("u{}", i), fmt::format("n{}", i));
    addresses.emplace_back(fmt::format("u{}", i), "A");
  }
  Produce("users", users);
  Produce("addresses", addresses);
  ASSERT_TRUE(Run(JoinKind::kInner, "joined").ok());
  // u3 loses its address (inner: no result any more), u4 its user row.
  Produce("addresses", {{"u3", std::nullopt}});
  Produce("users", {{"u4", std::nullopt}});
  ASSERT_TRUE(Run(JoinKind::kInner, "joined").ok());

  std::map<std::string, std::vector<std::string>> seen;  // per key, in order; "(null)" = tombstone
  for (const auto& part : testing::ReadTopic(log_.get(), "joined")) {
    for (const auto& kv : part) seen[kv.key].push_back(kv.tombstone ? "(null)" : kv.value);
  }
  EXPECT_EQ(seen["u3"], (std::vector<std::string>{"n3@A", "(null)"}));
  EXPECT_EQ(seen["u4"], (std::vector<std::string>{"n4@A", "(null)"}));
  EXPECT_EQ(seen["u5"], (std::vector<std::string>{"n5@A"}));

  // Seal the segments holding the tombstones: fill each partition past a segment with another
  // key, then clean with a clock past delete.retention.ms (0).
  for (int32_t p = 0; p < 2; ++p) {
    auto part = log_->GetPartition("joined", PartitionId(p));
    ASSERT_TRUE(part.ok());
    for (int i = 0; i < 3; ++i) {
      RecordBatchBuilder filler;
      filler.Add(Timestamp(1), std::string_view("filler"), std::string(1100, 'x'));
      ASSERT_TRUE((*part)->Append(filler.Finish(), Acks::kAll).ok());
    }
  }
  auto cleaned = log_->CompactTopic("joined", /*force=*/true, Timestamp(Now().value() + 60000));
  ASSERT_TRUE(cleaned.ok()) << cleaned.status();
  seen.clear();
  for (const auto& part : testing::ReadTopic(log_.get(), "joined")) {
    for (const auto& kv : part) seen[kv.key].push_back(kv.tombstone ? "(null)" : kv.value);
  }
  EXPECT_EQ(seen.count("u3"), 0u) << "the compacted topic still holds the deleted key u3";
  EXPECT_EQ(seen.count("u4"), 0u) << "the compacted topic still holds the deleted key u4";
  EXPECT_EQ(seen["u5"], (std::vector<std::string>{"n5@A"}));
  EXPECT_EQ(seen.size(), 19u);  // 18 live results and the filler
}

}  // namespace
}  // namespace sluice
