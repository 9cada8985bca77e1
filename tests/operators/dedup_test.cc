// DedupByKey through the TestDriver.
#include "operators/dedup.h"

#include <gtest/gtest.h>

#include "operators/test_driver.h"
#include "operators/topology_builder.h"

namespace sluice {
namespace {

using testing::TestDriver;

TEST(DedupTest, PassesTheFirstRecordOfAKeyPerWindow) {
  TopologyBuilder b;
  b.EventTime({.max_out_of_orderness = std::chrono::milliseconds(100)});
  DedupByKey(b.Stream<std::string, std::string>("in"), "dedup", std::chrono::milliseconds(1000))
      .To("out");
  auto t = b.Build();
  ASSERT_TRUE(t.ok()) << t.status();
  TestDriver d(std::move(t).value());
  auto pipe = [&](const std::string& k, const std::string& v, int64_t ts) {
    ASSERT_TRUE((d.PipeInput<std::string, std::string>("in", k, v, Timestamp(ts)).ok()));
  };
  pipe("a", "1", 1000);
  pipe("a", "2", 1500);  // duplicate
  pipe("b", "3", 1600);
  pipe("a", "4", 1950);  // 950 ms after the first: duplicate (out of order within the bound too)
  pipe("a", "5", 2000);  // the window of the first has passed
  pipe("a", "6", 2999);  // duplicate of 5
  pipe("b", "7", 1400);  // record watermark 1900: late, dropped and counted
  std::vector<std::string> got;
  for (const auto& r : d.ReadOutput("out")) got.push_back(r.key + r.value);
  EXPECT_EQ(got, (std::vector<std::string>{"a1", "b3", "a5"}));
  EXPECT_EQ(d.late_records(), 1);
  ASSERT_TRUE(d.EndInput().ok());
  EXPECT_EQ(static_cast<InMemoryKeyValueStore*>(d.GetStore("dedup"))->size(), 0u);
}

}  // namespace
}  // namespace sluice
