// Wiring checks of TopologyBuilder::Build(), stage cuts and Describe().
#include "operators/topology_builder.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

struct Opaque {
  int v = 0;
};

TEST(TopologyBuilderTest, EmptyTopologyIsAnError) {
  TopologyBuilder b;
  auto t = b.Build();
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("empty"), std::string::npos);
}

TEST(TopologyBuilderTest, BuildListsEveryWiringErrorAtOnce) {
  TopologyBuilder b;
  auto s = b.Stream<std::string, std::string>("in");
  s.GroupByKey().Count("dup");
  s.GroupByKey().Count("dup");                                         // duplicate store
  b.Stream<std::string, std::string>("in");                            // topic read twice
  s.MapValues([](const std::string&) { return Opaque{}; }).To("out");  // missing serde
  s.To("bad topic!");                                                  // invalid name
  s.GroupByKey().Count("");                                            // missing store name
  auto t = b.Build();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  const std::string& m = t.status().message();
  EXPECT_NE(m.find("5 wiring errors"), std::string::npos) << m;
  EXPECT_NE(m.find("store name 'dup' is used twice"), std::string::npos) << m;
  EXPECT_NE(m.find("topic 'in' is read by two sources"), std::string::npos) << m;
  EXPECT_NE(m.find("no value serde"), std::string::npos) << m;
  EXPECT_NE(m.find("'bad topic!' is invalid"), std::string::npos) << m;
  EXPECT_NE(m.find("needs a store name"), std::string::npos) << m;
}

TEST(TopologyBuilderTest, RepartitionWithoutSerdeIsReported) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .KeyBy([](const std::string&, const std::string&) { return Opaque{}; })
      .GroupByKey()
      .Count("opaque-counts");
  auto t = b.Build();
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("opaque-counts-repartition"), std::string::npos)
      << t.status();
}

TEST(TopologyBuilderTest, DuplicateOperatorNamesAreReported) {
  TopologyBuilder b;
  auto s = b.Stream<std::string, std::string>("in");
  s.Filter([](const std::string&, const std::string&) { return true; }, "f").To("a");
  s.Filter([](const std::string&, const std::string&) { return true; }, "f").To("b");
  auto t = b.Build();
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("two operators are named 'f'"), std::string::npos);
}

TEST(TopologyBuilderTest, StagesAreCutAtRepartitionTopics) {
  TopologyBuilder b;
  auto lines = b.Stream<std::string, std::string>("lines");
  lines.KeyBy([](const std::string&, const std::string& v) { return v; })
      .GroupByKey()
      .Count("c1")
      .ToStream()
      .To("c1-out");
  lines.GroupByKey().Count("c2");
  auto t = b.Build();
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->stages().size(), 2u);
  int rp = t->FindTopic("c1-repartition");
  ASSERT_GE(rp, 0);
  EXPECT_TRUE(t->topics()[rp].internal);
  EXPECT_EQ(t->TopicName(rp, "myapp"), "myapp-c1-repartition");
  const auto& s0 = t->stages()[0];
  const auto& s1 = t->stages()[1];
  EXPECT_EQ(s0.source_topics, std::vector<int>{t->FindTopic("lines")});
  EXPECT_EQ(s0.sink_topics, std::vector<int>{rp});
  EXPECT_EQ(s0.stores, std::vector<int>{t->FindStore("c2")});
  EXPECT_EQ(s1.source_topics, std::vector<int>{rp});
  EXPECT_EQ(s1.sink_topics, std::vector<int>{t->FindTopic("c1-out")});
  EXPECT_EQ(s1.stores, std::vector<int>{t->FindStore("c1")});
  EXPECT_EQ(t->stores()[t->FindStore("c1")].stage, 1);
}

TEST(TopologyBuilderTest, DescribeShowsStagesStoresAndRepartitions) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("lines", {}, "read-lines")
      .KeyBy([](const std::string&, const std::string& v) { return v; }, "by-line")
      .GroupByKey()
      .Count("line-counts");
  auto t = b.Build();
  ASSERT_TRUE(t.ok());
  std::string d = t->Describe("app");
  EXPECT_NE(d.find("Stage 0:"), std::string::npos) << d;
  EXPECT_NE(d.find("Stage 1:"), std::string::npos) << d;
  EXPECT_NE(d.find("read-lines [source] (topic: lines)"), std::string::npos) << d;
  EXPECT_NE(d.find("--> by-line"), std::string::npos) << d;
  EXPECT_NE(d.find("app-line-counts-repartition, repartition"), std::string::npos) << d;
  EXPECT_NE(d.find("line-counts (stage 1, key serde string, value serde int64)"), std::string::npos)
      << d;
}

}  // namespace
}  // namespace sluice
