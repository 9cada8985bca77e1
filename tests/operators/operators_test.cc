// Every DSL operator run through the TestDriver.
#include <gtest/gtest.h>

#include <stdexcept>

#include "operators/test_driver.h"
#include "operators/topology_builder.h"
#include "tests/operators/driver_util.h"

namespace sluice {
namespace {

using testing::BuildOrDie;
using testing::KeyValueTimestamp;
using testing::Pipe;
using testing::TestDriver;
using KV = KeyValueTimestamp<std::string, std::string>;

std::vector<KV> Out(TestDriver& d, const std::string& topic) {
  auto r = d.ReadOutput<std::string, std::string>(topic);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : std::vector<KV>{};
}

TEST(OperatorsTest, MapChangesKeyAndValueAndKeepsTimestamp) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .Map([](const std::string& k, const std::string& v) { return std::pair(v, k + "!"); })
      .To("out");
  TestDriver d(BuildOrDie(b));
  Pipe(d, "in", "a", "x", 5);
  EXPECT_EQ(Out(d, "out"), (std::vector<KV>{{"x", "a!", Timestamp(5)}}));
}

TEST(OperatorsTest, MapValuesChangesTheValueType) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .MapValues([](const std::string& v) { return static_cast<int64_t>(v.size()); })
      .To("out");
  TestDriver d(BuildOrDie(b));
  Pipe(d, "in", "k", "hello", 1);
  auto out = d.ReadOutput<std::string, int64_t>("out");
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].key, "k");
  EXPECT_EQ((*out)[0].value, 5);
}

TEST(OperatorsTest, FilterDropsRecordsFailingThePredicate) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .Filter([](const std::string&, const std::string& v) { return v.size() > 1; })
      .To("out");
  TestDriver d(BuildOrDie(b));
  Pipe(d, "in", "a", "x", 1);
  Pipe(d, "in", "b", "yy", 2);
  EXPECT_EQ(Out(d, "out"), (std::vector<KV>{{"b", "yy", Timestamp(2)}}));
}

TEST(OperatorsTest, FlatMapEmitsEveryPairInOrder) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .FlatMap([](const std::string& k, const std::string& v) {
        std::vector<std::pair<std::string, std::string>> out;
        for (char c : v) out.emplace_back(k, std::string(1, c));
        return out;
      })
      .To("out");
  TestDriver d(BuildOrDie(b));
  Pipe(d, "in", "k", "abc", 3);
  Pipe(d, "in", "k", "", 4);
  EXPECT_EQ(Out(d, "out"),
            (std::vector<KV>{
                {"k", "a", Timestamp(3)}, {"k", "b", Timestamp(3)}, {"k", "c", Timestamp(3)}}));
}

TEST(OperatorsTest, PeekSeesEveryRecordAndForwardsIt) {
  std::vector<std::string> seen;
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .Peek([&seen](const std::string& k, const std::string& v) { seen.push_back(k + v); })
      .To("out");
  TestDriver d(BuildOrDie(b));
  Pipe(d, "in", "a", "1", 1);
  Pipe(d, "in", "b", "2", 2);
  EXPECT_EQ(seen, (std::vector<std::string>{"a1", "b2"}));
  EXPECT_EQ(Out(d, "out").size(), 2u);
}

TEST(OperatorsTest, MergeInterleavesTwoStreamsInArrivalOrder) {
  TopologyBuilder b;
  auto left = b.Stream<std::string, std::string>("left");
  auto right = b.Stream<std::string, std::string>("right");
  left.Merge(right).To("out");
  TestDriver d(BuildOrDie(b));
  Pipe(d, "left", "l", "1", 1);
  Pipe(d, "right", "r", "2", 2);
  Pipe(d, "left", "l", "3", 3);
  EXPECT_EQ(Out(d, "out"),
            (std::vector<KV>{
                {"l", "1", Timestamp(1)}, {"r", "2", Timestamp(2)}, {"l", "3", Timestamp(3)}}));
}

TEST(OperatorsTest, BranchSendsToTheFirstMatchingPredicateAndDropsTheRest) {
  TopologyBuilder b;
  auto branches = b.Stream<std::string, std::string>("in").Branch(
      [](const std::string&, const std::string& v) { return v.starts_with("a"); },
      [](const std::string&, const std::string& v) { return v.size() <= 2; });
  ASSERT_EQ(branches.size(), 2u);
  branches[0].To("a-out");
  branches[1].To("short-out");
  TestDriver d(BuildOrDie(b));
  Pipe(d, "in", "1", "abc", 1);   // both match: first wins
  Pipe(d, "in", "2", "zz", 2);    // second
  Pipe(d, "in", "3", "zzzz", 3);  // none: dropped
  EXPECT_EQ(Out(d, "a-out"), (std::vector<KV>{{"1", "abc", Timestamp(1)}}));
  EXPECT_EQ(Out(d, "short-out"), (std::vector<KV>{{"2", "zz", Timestamp(2)}}));
}

TEST(OperatorsTest, KeyByThenCountRepartitionsAndCountsPerNewKey) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .KeyBy([](const std::string&, const std::string& v) { return v.substr(0, 1); })
      .GroupByKey()
      .Count("by-initial")
      .ToStream()
      .To("out");
  Topology t = BuildOrDie(b);
  EXPECT_EQ(t.stages().size(), 2u);
  TestDriver d(std::move(t));
  Pipe(d, "in", "1", "apple", 1);
  Pipe(d, "in", "2", "avocado", 2);
  Pipe(d, "in", "3", "banana", 3);
  auto out = d.ReadOutput<std::string, int64_t>("out");
  ASSERT_TRUE(out.ok());
  using C = KeyValueTimestamp<std::string, int64_t>;
  EXPECT_EQ(*out, (std::vector<C>{
                      {"a", 1, Timestamp(1)}, {"a", 2, Timestamp(2)}, {"b", 1, Timestamp(3)}}));
  auto store = d.StoreContents<std::string, int64_t>("by-initial");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*store, (std::map<std::string, int64_t>{{"a", 2}, {"b", 1}}));
  // Internal topics are not outputs.
  EXPECT_TRUE(d.ReadOutput("by-initial-repartition").empty());
}

TEST(OperatorsTest, CountWithoutKeyChangeStaysInOneStage) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in").GroupByKey().Count("counts");
  Topology t = BuildOrDie(b);
  EXPECT_EQ(t.stages().size(), 1u);
  EXPECT_EQ(t.FindTopic("counts-repartition"), -1);
}

TEST(OperatorsTest, ReduceStartsWithTheFirstValue) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .GroupByKey()
      .Reduce("longest", [](const std::string& a,
                            const std::string& v) { return v.size() > a.size() ? v : a; })
      .ToStream()
      .To("out");
  TestDriver d(BuildOrDie(b));
  Pipe(d, "in", "k", "bb", 1);
  Pipe(d, "in", "k", "a", 2);
  Pipe(d, "in", "k", "cccc", 3);
  EXPECT_EQ(Out(d, "out"), (std::vector<KV>{{"k", "bb", Timestamp(1)},
                                            {"k", "bb", Timestamp(2)},
                                            {"k", "cccc", Timestamp(3)}}));
}

TEST(OperatorsTest, AggregateUsesInitializerAndAggregateSerde) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .GroupByKey()
      .Aggregate(
          "total-length", [] { return 100.0; },
          [](const std::string&, const std::string& v, const double& agg) {
            return agg + static_cast<double>(v.size());
          })
      .ToStream()
      .To("out");
  TestDriver d(BuildOrDie(b));
  Pipe(d, "in", "k", "abc", 1);
  Pipe(d, "in", "j", "a", 2);
  Pipe(d, "in", "k", "de", 3);
  auto store = d.StoreContents<std::string, double>("total-length");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*store, (std::map<std::string, double>{{"j", 101.0}, {"k", 105.0}}));
  auto out = d.ReadOutput<std::string, double>("out");
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ((*out)[2].value, 105.0);
}

TEST(OperatorsTest, TableKeepsLatestValuePerKeyAndTombstonesDelete) {
  TopologyBuilder b;
  b.Table<std::string, std::string>("profiles", "profile-store").ToStream().To("updates");
  TestDriver d(BuildOrDie(b));
  Pipe(d, "profiles", "u1", "v1", 1);
  Pipe(d, "profiles", "u2", "w1", 2);
  Pipe(d, "profiles", "u1", "v2", 3);
  ASSERT_TRUE(d.PipeBytes("profiles", std::string_view("u2"), std::nullopt, Timestamp(4)).ok());
  auto store = d.StoreContents<std::string, std::string>("profile-store");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*store, (std::map<std::string, std::string>{{"u1", "v2"}}));
  // The three updates, then the delete of u2 as a tombstone (key, null value), as Kafka
  // Streams' KTable#toStream().to() writes it, so a compacted "updates" topic drops u2.
  std::vector<testing::TestRecord> updates = d.ReadOutput("updates");
  ASSERT_EQ(updates.size(), 4u);
  EXPECT_FALSE(updates[2].tombstone);
  EXPECT_EQ(updates[3],
            (testing::TestRecord{.key = "u2", .timestamp = Timestamp(4), .tombstone = true}));
}

TEST(OperatorsTest, TableDeletesPassKeyKeepingOperatorsToATombstoneAndStopAtKeyChanges) {
  TopologyBuilder b;
  auto changes = b.Table<std::string, std::string>("profiles", "profile-store").ToStream();
  changes.MapValues([](const std::string& v) { return v + "!"; })
      .Filter([](const std::string&, const std::string& v) { return v != "skip!"; })
      .To("mapped");
  // A key change has no key for a delete: nothing reaches "rekeyed" for it.
  changes.Map([](const std::string& k, const std::string& v) { return std::pair(v, k); })
      .To("rekeyed");
  TestDriver d(BuildOrDie(b));
  Pipe(d, "profiles", "u1", "v1", 1);
  ASSERT_TRUE(d.PipeBytes("profiles", std::string_view("u1"), std::nullopt, Timestamp(2)).ok());
  ASSERT_TRUE(d.PipeBytes("profiles", std::string_view("u9"), std::nullopt, Timestamp(3)).ok());
  EXPECT_EQ(d.ReadOutput("mapped"),
            (std::vector<testing::TestRecord>{
                {"u1", "v1!", Timestamp(1)},
                {.key = "u1", .timestamp = Timestamp(2), .tombstone = true},
                {.key = "u9", .timestamp = Timestamp(3), .tombstone = true}}));
  EXPECT_EQ(d.ReadOutput("rekeyed"),
            (std::vector<testing::TestRecord>{{"v1", "u1", Timestamp(1)}}));
  // The typed reader cannot show a null value and says so.
  Pipe(d, "profiles", "u2", "v2", 4);
  ASSERT_TRUE(d.PipeBytes("profiles", std::string_view("u2"), std::nullopt, Timestamp(5)).ok());
  auto typed = d.ReadOutput<std::string, std::string>("mapped");
  EXPECT_FALSE(typed.ok());
  EXPECT_NE(typed.status().message().find("tombstone"), std::string::npos) << typed.status();
}

TEST(OperatorsTest, UserExceptionAbortsNamingTheOperator) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .MapValues(
          [](const std::string& v) -> std::string {
            if (v == "bad") throw std::runtime_error("cannot handle 'bad'");
            return v;
          },
          "validate")
      .To("out");
  TestDriver d(BuildOrDie(b));
  Pipe(d, "in", "k", "good", 1);
  Status s = d.PipeInput<std::string, std::string>("in", "k", "bad", Timestamp(2));
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_NE(s.message().find("'validate'"), std::string::npos) << s;
  EXPECT_NE(s.message().find("cannot handle 'bad'"), std::string::npos) << s;
}

TEST(OperatorsTest, UndecodableInputIsAClearError) {
  TopologyBuilder b;
  b.Stream<std::string, int64_t>("amounts", {.value = DecimalInt64Serde()})
      .GroupByKey()
      .Reduce("sum", [](int64_t a, int64_t v) { return a + v; });
  TestDriver d(BuildOrDie(b));
  Status s = d.PipeBytes("amounts", std::string_view("k"), std::string_view("12abc"), Timestamp(1));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("topic 'amounts'"), std::string::npos) << s;
  EXPECT_NE(s.message().find("'12abc'"), std::string::npos) << s;
}

TEST(OperatorsTest, PipingIntoAnUnreadTopicIsNotFound) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in").To("out");
  TestDriver d(BuildOrDie(b));
  Status s = d.PipeInput<std::string, std::string>("out", "k", "v", Timestamp(1));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sluice
