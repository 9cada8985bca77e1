#include "runtime/planner.h"

#include <gtest/gtest.h>

#include "examples/balances.h"
#include "examples/word_count.h"
#include "operators/windows.h"

namespace sluice {
namespace {

Topology WordCount() {
  TopologyBuilder b;
  examples::AddWordCount(b, {.input = "lines", .output = "counts"});
  auto t = b.Build();
  EXPECT_TRUE(t.ok());
  return std::move(t).value();
}

TEST(PlannerTest, CutsWordCountIntoTwoStagesWithARepartitionTopic) {
  Topology t = WordCount();
  auto plan = MakePlan(t, "wc", {{"lines", 4}, {"counts", 2}});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->stage_partitions, (std::vector<int32_t>{4, 4}));
  ASSERT_EQ(plan->tasks.size(), 8u);
  EXPECT_EQ(plan->tasks[0].id, (TaskId{0, 0}));
  EXPECT_EQ(plan->tasks[7].id, (TaskId{1, 3}));
  int rp = t.FindTopic("word-counts-store-repartition");
  ASSERT_GE(rp, 0);
  EXPECT_EQ(plan->topics[rp].log_name, "wc-word-counts-store-repartition");
  EXPECT_TRUE(plan->topics[rp].internal);
  EXPECT_EQ(plan->topics[rp].partitions, 4);
  EXPECT_EQ(plan->tasks[4].input_topics, std::vector<int>{rp});
  EXPECT_EQ(plan->topics[t.FindTopic("counts")].partitions, 2);
}

// Repartition records carry the watermark header only where a stage at or after the reader
// consumes watermarks (operators/topology.h CarriesWatermark).
TEST(PlannerTest, OnlyTopicsFeedingTimeOperatorsCarryWatermarks) {
  Topology wc = WordCount();
  auto plan = MakePlan(wc, "wc", {{"lines", 2}, {"counts", 2}});
  ASSERT_TRUE(plan.ok()) << plan.status();
  int rp = wc.FindTopic("word-counts-store-repartition");
  ASSERT_GE(rp, 0);
  EXPECT_FALSE(plan->topics[rp].carries_watermark);  // a plain count ignores event time

  // lines -> (re-key) count "per-word" -> (re-key) windowed count "per-len": the window two
  // stages down needs the watermark carried through both repartition topics.
  TopologyBuilder b;
  b.Stream<std::string, std::string>("lines")
      .KeyBy([](const std::string&, const std::string& v) { return v; })
      .GroupByKey()
      .Count("per-word")
      .ToStream()
      .KeyBy([](const std::string& k, const int64_t&) { return std::to_string(k.size()); })
      .GroupByKey()
      .WindowedBy(Windows::Tumbling(std::chrono::minutes(1)))
      .Count("per-len")
      .To("out");
  auto t = b.Build();
  ASSERT_TRUE(t.ok()) << t.status();
  auto p2 = MakePlan(*t, "x", {{"lines", 2}, {"out", 2}});
  ASSERT_TRUE(p2.ok()) << p2.status();
  int first = t->FindTopic("per-word-repartition"), second = t->FindTopic("per-len-repartition");
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  EXPECT_TRUE(p2->topics[second].carries_watermark);
  EXPECT_TRUE(p2->topics[first].carries_watermark);
  EXPECT_FALSE(p2->topics[t->FindTopic("lines")].carries_watermark);  // not internal
}

TEST(PlannerTest, BalancesIsOneStageWithATaskPerInputPartition) {
  TopologyBuilder b;
  examples::AddBalances(b, {.input = "tx", .output = "bal"});
  auto t = b.Build();
  ASSERT_TRUE(t.ok());
  auto plan = MakePlan(*t, "b", {{"tx", 3}, {"bal", 1}});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->stage_partitions, std::vector<int32_t>{3});
  EXPECT_EQ(plan->tasks.size(), 3u);
}

TEST(PlannerTest, ListsEveryMissingTopicAtOnce) {
  auto plan = MakePlan(WordCount(), "wc", {});
  ASSERT_FALSE(plan.ok());
  const std::string& m = plan.status().message();
  EXPECT_NE(m.find("'lines', 'counts'"), std::string::npos) << m;
  EXPECT_NE(m.find("sluice topic create"), std::string::npos) << m;
}

TEST(PlannerTest, TopicsReadTogetherMustBeCoPartitioned) {
  TopologyBuilder b;
  auto a = b.Stream<std::string, std::string>("a");
  auto c = b.Stream<std::string, std::string>("c");
  a.Merge(c).To("out");
  auto t = b.Build();
  ASSERT_TRUE(t.ok());
  auto plan = MakePlan(*t, "m", {{"a", 2}, {"c", 3}, {"out", 1}});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("same number of partitions"), std::string::npos);
}

TEST(PlannerTest, ExistingRepartitionTopicWithWrongPartitionCountIsRejected) {
  auto plan = MakePlan(WordCount(), "wc",
                       {{"lines", 4}, {"counts", 1}, {"wc-word-counts-store-repartition", 2}});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("exists with 2 partitions"), std::string::npos);
}

}  // namespace
}  // namespace sluice
