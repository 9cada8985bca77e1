// TopNPerWindow through the TestDriver: a window's list is emitted once, when the watermark
// passes the window's end + grace (not on each result), with the n best, best first; the end of
// the input emits the lists still open; a result for an emitted window is late.
#include "operators/top_n.h"

#include <gtest/gtest.h>

#include "operators/test_driver.h"
#include "operators/topology_builder.h"
#include "tests/operators/driver_util.h"

namespace sluice {
namespace {

using testing::BuildOrDie;
using testing::Pipe;
using testing::TestDriver;

Topology TopTwo(int64_t window_grace_ms, int64_t top_grace_ms) {
  TopologyBuilder b;
  auto counts = b.Stream<std::string, std::string>("in")
                    .GroupByKey()
                    .WindowedBy(Windows::Tumbling(std::chrono::milliseconds(100))
                                    .Grace(std::chrono::milliseconds(window_grace_ms)))
                    .Count("counts");
  TopNPerWindow(
      counts, "top", 2,
      [](const WindowResult<int64_t>& x, const WindowResult<int64_t>& y) {
        return x.value > y.value;
      },
      top_grace_ms)
      .MapValues([](const WindowResult<std::vector<std::pair<std::string, int64_t>>>& r) {
        std::string s = std::to_string(r.start) + ":";
        for (const auto& [k, n] : r.value) s += " " + k + "=" + std::to_string(n);
        return s;
      })
      .WithSerdes({.key = Int64Serde(), .value = StringSerde()})
      .To("out");
  return BuildOrDie(b);
}

std::vector<std::string> Lists(TestDriver& d) {
  std::vector<std::string> v;
  for (const auto& r : d.ReadOutput("out")) v.push_back(r.value);
  return v;
}

// Counts close at their window's end (no grace); the lists wait 50 ms more.
TEST(TopNTest, EmitsEachListOnceWhenTheWatermarkPassesItsEndPlusGrace) {
  TestDriver d(TopTwo(0, 50));
  for (auto [k, ts] : std::vector<std::pair<std::string, int64_t>>{
           {"a", 10}, {"a", 20}, {"b", 30}, {"c", 40}, {"c", 50}, {"c", 60}}) {
    Pipe(d, "in", k, "", ts);
  }
  Pipe(d, "in", "x", "", 120);  // the counts of [0, 100) close; its list waits until 150
  EXPECT_TRUE(Lists(d).empty());
  Pipe(d, "in", "x", "", 150);
  EXPECT_EQ(Lists(d), (std::vector<std::string>{"0: c=3 a=2"}));  // once, the best two first
  Pipe(d, "in", "x", "", 400);
  EXPECT_EQ(Lists(d), (std::vector<std::string>{"100: x=2"}));
  Pipe(d, "in", "b", "", 95);  // its window is closed: late
  EXPECT_EQ(d.late_records(), 1);
  EXPECT_TRUE(Lists(d).empty());
  ASSERT_TRUE(d.EndInput().ok());  // the end of the input emits the open list
  EXPECT_EQ(Lists(d), (std::vector<std::string>{"400: x=1"}));
  EXPECT_EQ(static_cast<InMemoryKeyValueStore*>(d.GetStore("top"))->size(), 0u);
}

}  // namespace
}  // namespace sluice
