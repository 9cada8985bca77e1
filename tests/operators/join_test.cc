// Stream-table and windowed stream-stream joins through the TestDriver.
#include <gtest/gtest.h>

#include <algorithm>

#include "operators/joins.h"
#include "operators/test_driver.h"
#include "operators/topology_builder.h"
#include "tests/operators/driver_util.h"

namespace sluice {
namespace {

using std::chrono::milliseconds;
using testing::BuildOrDie;
using testing::Pipe;
using testing::TestDriver;

std::vector<std::string> Values(TestDriver& d, const std::string& topic) {
  std::vector<std::string> out;
  for (const auto& r : d.ReadOutput(topic)) out.push_back(r.key + ":" + r.value);
  return out;
}

Topology TableJoin(JoinKind kind) {
  TopologyBuilder b;
  auto users = b.Table<std::string, std::string>("users", "users-table");
  JoinTable(b.Stream<std::string, std::string>("views"), users, "enrich", kind,
            [](const std::string&, const std::string& v, const std::optional<std::string>& u) {
              return v + "@" + (u ? *u : std::string("?"));
            })
      .To("out");
  return BuildOrDie(b);
}

TEST(JoinTest, StreamTableInnerUsesTheLatestRowAndDropsMisses) {
  TestDriver d(TableJoin(JoinKind::kInner));
  Pipe(d, "users", "u1", "DE", 1);
  Pipe(d, "views", "u1", "a", 2);
  Pipe(d, "views", "u2", "b", 3);  // no row: dropped
  Pipe(d, "users", "u1", "FR", 4);
  Pipe(d, "views", "u1", "c", 5);
  ASSERT_TRUE(d.PipeBytes("users", "u1", std::nullopt, Timestamp(6)).ok());  // tombstone
  Pipe(d, "views", "u1", "d", 7);
  EXPECT_EQ(Values(d, "out"), (std::vector<std::string>{"u1:a@DE", "u1:c@FR"}));
}

TEST(JoinTest, StreamTableLeftKeepsMisses) {
  TestDriver d(TableJoin(JoinKind::kLeft));
  Pipe(d, "views", "u2", "b", 3);
  Pipe(d, "users", "u2", "US", 4);
  Pipe(d, "views", "u2", "c", 5);
  EXPECT_EQ(Values(d, "out"), (std::vector<std::string>{"u2:b@?", "u2:c@US"}));
}

TEST(JoinTest, StreamTableAfterKeyChangeRepartitionsTheStream) {
  TopologyBuilder b;
  auto users = b.Table<std::string, std::string>("users", "users-table");
  auto views = b.Stream<std::string, std::string>("views").KeyBy(
      [](const std::string&, const std::string& v) { return v.substr(0, 2); });
  JoinTable(views, users, "enrich", JoinKind::kInner,
            [](const std::string&, const std::string& v, const std::optional<std::string>& u) {
              return v + "@" + *u;
            })
      .To("out");
  Topology t = BuildOrDie(b);
  EXPECT_GE(t.FindTopic("enrich-stream-repartition"), 0);
  TestDriver d(std::move(t));
  Pipe(d, "users", "u7", "JP", 1);
  Pipe(d, "views", "x", "u7-home", 2);
  EXPECT_EQ(Values(d, "out"), (std::vector<std::string>{"u7:u7-home@JP"}));
}

TEST(JoinTest, StreamTableOuterIsAWiringError) {
  TopologyBuilder b;
  auto users = b.Table<std::string, std::string>("users", "users-table");
  JoinTable(
      b.Stream<std::string, std::string>("views"), users, "j", JoinKind::kOuter,
      [](const std::string&, const std::string& v, const std::optional<std::string>&) { return v; })
      .To("out");
  auto t = b.Build();
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("inner or left"), std::string::npos);
}

Topology WindowJoin(JoinKind kind, int64_t window, int64_t grace = 0) {
  TopologyBuilder b;
  auto fmt_pair = [](const std::string&, const std::optional<std::string>& l,
                     const std::optional<std::string>& r) {
    return (l ? *l : std::string("-")) + "+" + (r ? *r : std::string("-"));
  };
  JoinWindowed(b.Stream<std::string, std::string>("left"),
               b.Stream<std::string, std::string>("right"), "lr", milliseconds(window), kind,
               fmt_pair, milliseconds(grace))
      .To("out");
  return BuildOrDie(b);
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(JoinTest, WindowedInnerJoinsRecordsWithinTheWindowEitherWay) {
  TestDriver d(WindowJoin(JoinKind::kInner, 100));
  Pipe(d, "left", "k", "L1", 1000);
  Pipe(d, "right", "k", "R1", 1050);  // within 100 of L1
  Pipe(d, "right", "k", "R2", 1101);  // 101 after L1: no
  Pipe(d, "left", "k", "L2", 1150);   // joins R1 (100) and R2 (49)
  Pipe(d, "right", "j", "R3", 1150);  // other key
  EXPECT_EQ(Sorted(Values(d, "out")), (std::vector<std::string>{"k:L1+R1", "k:L2+R1", "k:L2+R2"}));
  ASSERT_TRUE(d.EndInput().ok());
  EXPECT_TRUE(Values(d, "out").empty());
  EXPECT_EQ(d.GetStore("lr-left") != nullptr, true);
  EXPECT_EQ(static_cast<InMemoryKeyValueStore*>(d.GetStore("lr-left"))->size(), 0u);
  EXPECT_EQ(static_cast<InMemoryKeyValueStore*>(d.GetStore("lr-right"))->size(), 0u);
}

TEST(JoinTest, WindowedLeftAndOuterEmitUnmatchedRecordsWhenTheyExpire) {
  for (JoinKind kind : {JoinKind::kLeft, JoinKind::kOuter}) {
    TestDriver d(WindowJoin(kind, 100));
    Pipe(d, "left", "k", "L1", 1000);
    Pipe(d, "right", "k", "R1", 1300);  // too far from L1
    // The watermark is min(left 1000, right 1300): L1 (expiring at 1100) may still be joined.
    EXPECT_TRUE(Values(d, "out").empty());
    Pipe(d, "left", "k", "L2", 1350);  // matches R1; watermark 1300 expires L1 unmatched
    EXPECT_EQ(Sorted(Values(d, "out")), (std::vector<std::string>{"k:L1+-", "k:L2+R1"}));
    ASSERT_TRUE(d.EndInput().ok());
    // L2 and R1 were matched: nothing unmatched is left, for left and outer alike.
    EXPECT_TRUE(Values(d, "out").empty());
  }
  TestDriver d(WindowJoin(JoinKind::kOuter, 10));
  Pipe(d, "right", "k", "R9", 500);
  ASSERT_TRUE(d.EndInput().ok());
  EXPECT_EQ(Values(d, "out"), (std::vector<std::string>{"k:-+R9"}));
}

TEST(JoinTest, WindowedJoinCountsLateRecords) {
  TestDriver d(WindowJoin(JoinKind::kInner, 100, 50));
  Pipe(d, "left", "k", "L1", 1000);
  Pipe(d, "left", "k", "L2", 2000);   // left watermark 2000
  Pipe(d, "right", "k", "R0", 1020);  // its partition's watermark is still low: not late
  Pipe(d, "left", "k", "L3", 1940);   // 1940 + 50 <= 2000: late
  EXPECT_EQ(d.late_records(), 1);
  EXPECT_EQ(Values(d, "out"), (std::vector<std::string>{"k:L1+R0"}));
}

TEST(JoinTest, DifferentPartitionCountsAreRefusedAtStartByThePlanner) {
  // Co-partitioning is a planner check (runtime/planner.h); here: both sides land in one stage.
  Topology t = WindowJoin(JoinKind::kInner, 10);
  int left = t.FindTopic("left"), right = t.FindTopic("right");
  int sl = t.nodes()[t.topics()[left].source_nodes[0]].stage;
  int sr = t.nodes()[t.topics()[right].source_nodes[0]].stage;
  EXPECT_EQ(sl, sr);
}

}  // namespace
}  // namespace sluice
