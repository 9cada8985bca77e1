// Window operators beyond the golden scripts: state cleanup, wiring errors, repartitioning,
// restart from a store, timestamp extraction.
#include <gtest/gtest.h>

#include "operators/test_driver.h"
#include "operators/topology_builder.h"
#include "operators/windows.h"

namespace sluice {
namespace {

using std::chrono::milliseconds;
using testing::TestDriver;

TEST(WindowTest, StateIsDeletedWhenWindowsClose) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .GroupByKey()
      .WindowedBy(Windows::Tumbling(milliseconds(1000)))
      .Count("win")
      .To("out");
  auto t = b.Build();
  ASSERT_TRUE(t.ok()) << t.status();
  TestDriver d(std::move(t).value());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE((d.PipeInput<std::string, std::string>("in", "k" + std::to_string(i % 3), "",
                                                       Timestamp(i * 300))
                     .ok()));
  }
  KeyValueStore* s = d.GetStore("win");
  ASSERT_NE(s, nullptr);
  EXPECT_GT(static_cast<InMemoryKeyValueStore*>(s)->size(), 0u);
  ASSERT_TRUE(d.EndInput().ok());
  EXPECT_EQ(static_cast<InMemoryKeyValueStore*>(s)->size(), 0u);
  auto out = d.ReadOutput<std::string, WindowResult<int64_t>>("out");
  ASSERT_TRUE(out.ok()) << out.status();
  int64_t total = 0;
  for (const auto& r : *out) {
    total += r.value.value;
    EXPECT_EQ(r.value.end - r.value.start, 1000);
    EXPECT_EQ(r.timestamp.value(), r.value.end - 1);
  }
  EXPECT_EQ(total, 10);
}

TEST(WindowTest, SessionAggregateWithoutMergerIsAWiringError) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .GroupByKey()
      .WindowedBy(Windows::Session(milliseconds(10)))
      .Aggregate(
          "s", [] { return int64_t{0}; },
          [](const std::string&, const std::string&, int64_t a) { return a + 1; })
      .To("out");
  auto t = b.Build();
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("needs a merger"), std::string::npos) << t.status();
}

TEST(WindowTest, InvalidWindowsAreWiringErrors) {
  TopologyBuilder b;
  auto g = b.Stream<std::string, std::string>("in").GroupByKey();
  g.WindowedBy(Windows::Tumbling(milliseconds(0))).Count("a").To("o1");
  g.WindowedBy(Windows::Hopping(milliseconds(10), milliseconds(20))).Count("b").To("o2");
  g.WindowedBy(Windows::Session(milliseconds(5)).Grace(milliseconds(-1))).Count("c").To("o3");
  auto t = b.Build();
  ASSERT_FALSE(t.ok());
  const std::string& m = t.status().message();
  EXPECT_NE(m.find("window size 0 ms must be positive"), std::string::npos) << m;
  EXPECT_NE(m.find("hop 20 ms"), std::string::npos) << m;
  EXPECT_NE(m.find("grace -1 ms is negative"), std::string::npos) << m;
}

TEST(WindowTest, WindowAfterKeyChangeRepartitionsAndCarriesTheWatermark) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .KeyBy([](const std::string&, const std::string& v) { return v; })
      .GroupByKey()
      .WindowedBy(Windows::Tumbling(milliseconds(100)))
      .Count("by-value")
      .To("out");
  auto t = b.Build();
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->stages().size(), 2u);
  EXPECT_GE(t->FindTopic("by-value-repartition"), 0);
  TestDriver d(std::move(t).value());
  ASSERT_TRUE((d.PipeInput<std::string, std::string>("in", "a", "x", Timestamp(10)).ok()));
  ASSERT_TRUE((d.PipeInput<std::string, std::string>("in", "b", "x", Timestamp(20)).ok()));
  EXPECT_TRUE(d.ReadOutput("out").empty());
  // The downstream stage learns the upstream watermark through the repartition topic.
  ASSERT_TRUE((d.PipeInput<std::string, std::string>("in", "c", "y", Timestamp(150)).ok()));
  auto out = d.ReadOutput<std::string, WindowResult<int64_t>>("out");
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].key, "x");
  EXPECT_EQ((*out)[0].value, (WindowResult<int64_t>{0, 100, 2}));
  EXPECT_EQ(d.WatermarkOf("by-value-repartition"), Timestamp(150));
}

TEST(WindowTest, EmittedResultsAreNotLateForADownstreamWindowOfTheSameSize) {
  // Per-key counts, then a total per window over all keys: the second window must see every
  // count of the first, although they are emitted when the watermark passes the window end.
  TopologyBuilder b;
  b.Stream<std::string, std::string>("in")
      .GroupByKey()
      .WindowedBy(Windows::Tumbling(milliseconds(100)))
      .Count("per-key")
      .Map([](const std::string&, const WindowResult<int64_t>& r) {
        return std::pair(std::string("all"), r.value);
      })
      .GroupByKey()
      .WindowedBy(Windows::Tumbling(milliseconds(100)))
      .Reduce("total", [](int64_t a, int64_t b) { return a + b; })
      .To("out");
  auto t = b.Build();
  ASSERT_TRUE(t.ok()) << t.status();
  TestDriver d(std::move(t).value());
  for (std::string k : {"a", "b", "c", "a"}) {
    ASSERT_TRUE((d.PipeInput<std::string, std::string>("in", k, "", Timestamp(50)).ok()));
  }
  ASSERT_TRUE((d.PipeInput<std::string, std::string>("in", "a", "", Timestamp(250)).ok()));
  auto out = d.ReadOutput<std::string, WindowResult<int64_t>>("out");
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].value, (WindowResult<int64_t>{0, 100, 4}));
  EXPECT_EQ(d.late_records(), 0);
}

}  // namespace
}  // namespace sluice
