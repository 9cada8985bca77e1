// Stream-table, table-table and windowed stream-stream joins through the TestDriver.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

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
  for (const auto& r : d.ReadOutput(topic)) {
    out.push_back(r.key + ":" + (r.tombstone ? std::string("(null)") : r.value));
  }
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

void Tombstone(TestDriver& d, const std::string& topic, const std::string& key, int64_t ts) {
  Status s = d.PipeBytes(topic, key, std::nullopt, Timestamp(ts));
  ASSERT_TRUE(s.ok()) << s;
}

// Orders (key: order id, value: customer id) joined with the global table "customers" by the
// customer id taken from the value.
Topology GlobalJoin(JoinKind kind) {
  TopologyBuilder b;
  auto orders = b.Stream<std::string, std::string>("orders");
  auto customers = b.GlobalTable<std::string, std::string>("customers", "customers-global");
  JoinGlobal(
      orders, customers, "orders-with-customers", kind,
      [](const std::string&, const std::string& customer) { return customer; },
      [](const std::string&, const std::string& customer, const std::optional<std::string>& c) {
        return customer + "@" + (c ? *c : std::string("?"));
      })
      .To("out");
  return BuildOrDie(b);
}

TEST(JoinTest, GlobalTableJoinsByAKeyFromTheValueAndFollowsUpdatesAndDeletes) {
  TestDriver d(GlobalJoin(JoinKind::kInner));
  Pipe(d, "customers", "c1", "DE", 1);
  Pipe(d, "customers", "c2", "FR", 2);
  Pipe(d, "orders", "o1", "c1", 3);
  Pipe(d, "orders", "o2", "c3", 4);  // no such customer: inner drops it
  Pipe(d, "customers", "c1", "JP", 5);
  Pipe(d, "orders", "o3", "c1", 6);  // the row as it is now
  Tombstone(d, "customers", "c2", 7);
  Pipe(d, "orders", "o4", "c2", 8);  // deleted: dropped
  Pipe(d, "orders", "o5", "c2", 9);
  EXPECT_EQ(Values(d, "out"), (std::vector<std::string>{"o1:c1@DE", "o3:c1@JP"}));
  auto store = d.StoreContents<std::string, std::string>("customers-global");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*store, (std::map<std::string, std::string>{{"c1", "JP"}}));
}

TEST(JoinTest, GlobalTableLeftJoinPassesMissingRowsAsNullopt) {
  TestDriver d(GlobalJoin(JoinKind::kLeft));
  Pipe(d, "orders", "o1", "c1", 1);
  Pipe(d, "customers", "c1", "DE", 2);
  Pipe(d, "orders", "o2", "c1", 3);
  EXPECT_EQ(Values(d, "out"), (std::vector<std::string>{"o1:c1@?", "o2:c1@DE"}));
}

TEST(JoinTest, GlobalTableByTheStreamKeyAfterAKeyChangeNeedsNoRepartition) {
  TopologyBuilder b;
  auto customers = b.GlobalTable<std::string, std::string>("customers", "customers-global");
  auto by_customer = b.Stream<std::string, std::string>("orders").KeyBy(
      [](const std::string&, const std::string& customer) { return customer; });
  JoinGlobal(by_customer, customers, "enrich", JoinKind::kInner,
             [](const std::string& c, const std::string&, const std::optional<std::string>& row) {
               return c + "@" + *row;
             })
      .To("out");
  Topology t = BuildOrDie(b);
  EXPECT_EQ(t.stages().size(), 1u) << t.Describe();
  EXPECT_NE(t.Describe().find("global: every task reads all its partitions"), std::string::npos)
      << t.Describe();
  TestDriver d(std::move(t));
  Pipe(d, "customers", "c1", "DE", 1);
  Pipe(d, "orders", "o1", "c1", 2);
  EXPECT_EQ(Values(d, "out"), (std::vector<std::string>{"c1:c1@DE"}));
}

TEST(JoinTest, GlobalTableRecordsDoNotMoveTheStreamsWatermark) {
  TestDriver d(GlobalJoin(JoinKind::kInner));
  Pipe(d, "orders", "o1", "c1", 1000);
  Timestamp before = d.WatermarkOf("orders");
  Pipe(d, "customers", "c1", "DE", 1'700'000'000'000);  // stamped with the wall clock
  EXPECT_EQ(d.WatermarkOf("orders"), before);
  Pipe(d, "orders", "o2", "c1", 2000);
  EXPECT_GT(d.WatermarkOf("orders"), before);
  EXPECT_LT(d.WatermarkOf("orders").value(), 1'700'000'000'000);
}

TEST(JoinTest, GlobalTableWiringErrorsAreReportedByBuild) {
  {
    TopologyBuilder b;
    b.GlobalTable<std::string, std::string>("customers", "customers-global");
    b.Stream<std::string, std::string>("orders").To("out");
    auto t = b.Build();
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.status().message().find("is joined with no stream"), std::string::npos)
        << t.status();
  }
  {
    // Joined before and after a repartition: two stages would need the table.
    TopologyBuilder b;
    auto customers = b.GlobalTable<std::string, std::string>("customers", "customers-global");
    auto fn = [](const std::string&, const std::string& v, const std::optional<std::string>&) {
      return v;
    };
    auto first = JoinGlobal(b.Stream<std::string, std::string>("orders"), customers, "j1",
                            JoinKind::kLeft, fn);
    auto counted = first.KeyBy([](const std::string&, const std::string& v) { return v; })
                       .GroupByKey()
                       .Count("per-customer")
                       .ToStream()
                       .MapValues([](const int64_t& n) { return std::to_string(n); });
    JoinGlobal(counted, customers, "j2", JoinKind::kLeft, fn).To("out");
    auto t = b.Build();
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.status().message().find("is joined in two stages"), std::string::npos)
        << t.status();
  }
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

// users (left) joined with addresses (right) into the table "users-with-addresses", whose
// updates go to "out"; "orders" looks the join's result up (so its deletes are visible there).
Topology TableTableJoin(JoinKind kind) {
  TopologyBuilder b;
  auto users = b.Table<std::string, std::string>("users", "users-table");
  auto addresses = b.Table<std::string, std::string>("addresses", "addresses-table");
  auto joined =
      JoinTables(users, addresses, "users-with-addresses", kind,
                 [](const std::string&, const std::string& u, const std::optional<std::string>& a) {
                   return u + "@" + (a ? *a : std::string("?"));
                 });
  joined.ToStream().To("out");
  JoinTable(b.Stream<std::string, std::string>("orders"), joined, "orders-enriched",
            JoinKind::kLeft,
            [](const std::string&, const std::string& o, const std::optional<std::string>& j) {
              return o + "/" + (j ? *j : std::string("none"));
            })
      .To("orders-out");
  return BuildOrDie(b);
}

std::map<std::string, std::string> Joined(TestDriver& d) {
  auto m = d.StoreContents<std::string, std::string>("users-with-addresses");
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : std::map<std::string, std::string>{};
}

TEST(JoinTest, TableTableInnerUpdatesWhenEitherSideChangesAndTombstonesDeleteTheResult) {
  TestDriver d(TableTableJoin(JoinKind::kInner));
  Pipe(d, "users", "u1", "ann", 1);         // no address yet: no result
  Pipe(d, "addresses", "u2", "Paris", 2);   // no user yet: no result
  Pipe(d, "addresses", "u1", "Berlin", 3);  // -> u1: ann@Berlin
  Pipe(d, "users", "u2", "bob", 4);         // -> u2: bob@Paris
  Pipe(d, "users", "u1", "anna", 5);        // -> u1: anna@Berlin
  Pipe(d, "addresses", "u1", "Rome", 6);    // -> u1: anna@Rome
  EXPECT_EQ(Joined(d),
            (std::map<std::string, std::string>{{"u1", "anna@Rome"}, {"u2", "bob@Paris"}}));
  Tombstone(d, "addresses", "u1", 7);  // right delete: inner result deleted
  Tombstone(d, "users", "u2", 8);      // left delete: result deleted
  Tombstone(d, "users", "u3", 9);      // no such key: nothing changes
  EXPECT_EQ(Joined(d), (std::map<std::string, std::string>{}));
  Pipe(d, "orders", "u1", "o1", 10);
  Pipe(d, "addresses", "u1", "Oslo", 11);  // -> u1: anna@Oslo again
  Pipe(d, "orders", "u1", "o2", 12);
  std::vector<std::string> out;
  std::vector<int64_t> times;
  for (const auto& r : d.ReadOutput("out")) {
    out.push_back(r.key + ":" + (r.tombstone ? std::string("(null)") : r.value));
    times.push_back(r.timestamp.value());  // the timestamp of the update that caused it
  }
  // The two deleted results reach "out" as tombstones (key, null value).
  EXPECT_EQ(out,
            (std::vector<std::string>{"u1:ann@Berlin", "u2:bob@Paris", "u1:anna@Berlin",
                                      "u1:anna@Rome", "u1:(null)", "u2:(null)", "u1:anna@Oslo"}));
  EXPECT_EQ(times, (std::vector<int64_t>{3, 4, 5, 6, 7, 8, 11}));
  EXPECT_EQ(Values(d, "orders-out"), (std::vector<std::string>{"u1:o1/none", "u1:o2/anna@Oslo"}));
}

TEST(JoinTest, TableTableLeftKeepsLeftRowsAndReemitsThemWhenTheRightIsDeleted) {
  TestDriver d(TableTableJoin(JoinKind::kLeft));
  Pipe(d, "addresses", "u2", "Paris", 1);   // no user: no result
  Pipe(d, "users", "u1", "ann", 2);         // -> u1: ann@?
  Pipe(d, "addresses", "u1", "Berlin", 3);  // -> u1: ann@Berlin
  Pipe(d, "users", "u2", "bob", 4);         // -> u2: bob@Paris
  Tombstone(d, "addresses", "u1", 5);       // right delete: -> u1: ann@?
  Tombstone(d, "addresses", "u3", 6);       // no user u3: nothing
  Tombstone(d, "users", "u2", 7);           // left delete: result deleted
  EXPECT_EQ(Values(d, "out"), (std::vector<std::string>{"u1:ann@?", "u1:ann@Berlin", "u2:bob@Paris",
                                                        "u1:ann@?", "u2:(null)"}));
  EXPECT_EQ(Joined(d), (std::map<std::string, std::string>{{"u1", "ann@?"}}));
  Pipe(d, "orders", "u2", "o1", 8);
  EXPECT_EQ(Values(d, "orders-out"), (std::vector<std::string>{"u2:o1/none"}));
}

TEST(JoinTest, TableTableJoinsChainAndPassDeletesOn) {
  TopologyBuilder b;
  auto a = b.Table<std::string, std::string>("a", "a-table");
  auto bt = b.Table<std::string, std::string>("b", "b-table");
  auto c = b.Table<std::string, std::string>("c", "c-table");
  auto cat = [](const std::string&, const std::string& l, const std::optional<std::string>& r) {
    return l + (r ? *r : std::string("-"));
  };
  auto ab = JoinTables(a, bt, "ab", JoinKind::kInner, cat);
  JoinTables(ab, c, "abc", JoinKind::kInner, cat);
  TestDriver d(BuildOrDie(b));
  Pipe(d, "a", "k", "1", 1);
  Pipe(d, "b", "k", "2", 2);
  Pipe(d, "c", "k", "3", 3);
  auto abc = d.StoreContents<std::string, std::string>("abc");
  ASSERT_TRUE(abc.ok());
  EXPECT_EQ(*abc, (std::map<std::string, std::string>{{"k", "123"}}));
  Tombstone(d, "b", "k", 4);  // deletes ab's row, which deletes abc's
  abc = d.StoreContents<std::string, std::string>("abc");
  ASSERT_TRUE(abc.ok());
  EXPECT_TRUE(abc->empty());
}

TEST(JoinTest, TableTableOuterIsAWiringError) {
  TopologyBuilder b;
  auto users = b.Table<std::string, std::string>("users", "users-table");
  auto addresses = b.Table<std::string, std::string>("addresses", "addresses-table");
  JoinTables(users, addresses, "j", JoinKind::kOuter,
             [](const std::string&, const std::string& u, const std::optional<std::string>&) {
               return u;
             });
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
