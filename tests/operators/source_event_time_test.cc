// Per-source event-time settings (SourceOptions of TopologyBuilder::Stream and Table): each
// source's timestamp extractor, out-of-orderness and idle timeout apply to its own partitions
// only; a source without them has the job's (TopologyBuilder::EventTime).
#include <gtest/gtest.h>

#include "operators/test_driver.h"
#include "operators/topology_builder.h"
#include "operators/windows.h"
#include "tests/operators/driver_util.h"

namespace sluice {
namespace {

using std::chrono::milliseconds;
using testing::BuildOrDie;
using testing::Pipe;
using testing::TestDriver;

// "a" (out-of-orderness 1000 ms) merged with "b" (the job's: 0), counted per 100 ms window.
Topology Merged(SourceOptions<std::string, std::string> a_options) {
  TopologyBuilder b;
  b.Stream<std::string, std::string>("a", std::move(a_options))
      .Merge(b.Stream<std::string, std::string>("b"))
      .GroupByKey()
      .WindowedBy(Windows::Tumbling(milliseconds(100)))
      .Count("counts")
      .MapValues([](const WindowResult<int64_t>& r) {
        return std::to_string(r.start) + ":" + std::to_string(r.value);
      })
      .To("out");
  return BuildOrDie(b);
}

std::vector<std::string> Values(TestDriver& d) {
  std::vector<std::string> v;
  for (const auto& r : d.ReadOutput("out")) v.push_back(r.key + "@" + r.value);
  return v;
}

TEST(SourceEventTimeTest, OutOfOrdernessIsPerSource) {
  TestDriver d(Merged({.max_out_of_orderness = milliseconds(1000)}));
  Pipe(d, "a", "k", "", 5000);
  Pipe(d, "b", "k", "", 5000);
  // a's partition: 5000 - 1000; b's: 5000 - 0.
  EXPECT_EQ(d.WatermarkOf("a"), Timestamp(4000));
  Pipe(d, "a", "k", "", 4500);  // within a's out-of-orderness: counted
  Pipe(d, "b", "k", "", 4600);  // b allows none: late
  EXPECT_EQ(d.late_records(), 1);
  ASSERT_TRUE(d.EndInput().ok());
  EXPECT_EQ(Values(d), (std::vector<std::string>{"k@4500:1", "k@5000:2"}));
}

TEST(SourceEventTimeTest, IdleTimeoutIsPerSource) {
  TestDriver d(Merged({.idle_timeout = milliseconds(100)}));
  Pipe(d, "a", "k", "", 500);
  Pipe(d, "b", "k", "", 1000);
  EXPECT_EQ(d.WatermarkOf("a"), Timestamp(500));
  // After 200 ms without records a is idle (its own 100 ms); b (the job's 10 s) is not, so the
  // watermark is b's alone.
  ASSERT_TRUE(d.AdvanceWallClock(200).ok());
  EXPECT_EQ(d.WatermarkOf("a"), Timestamp(1000));
  EXPECT_EQ(Values(d), (std::vector<std::string>{"k@500:1"}));
  // The other way round, b idles only after the job's 10 s.
  Pipe(d, "a", "k", "", 3000);
  ASSERT_TRUE(d.AdvanceWallClock(5000).ok());
  EXPECT_EQ(d.WatermarkOf("a"), Timestamp(1000));
}

TEST(SourceEventTimeTest, TimestampExtractorGivesTheEventTime) {
  // Values "<event time>"; the record timestamps are 0 (a producer that stamped nothing).
  TestDriver d(Merged({.timestamp = [](const std::string&, const std::string& v) {
    return v.empty() ? std::nullopt : std::optional<Timestamp>(Timestamp(std::stoll(v)));
  }}));
  Pipe(d, "a", "k", "", 0);  // no event time: keeps its timestamp, does not move the watermark
  EXPECT_EQ(d.WatermarkOf("a"), kMinWatermark);
  Pipe(d, "a", "k", "250", 0);
  Pipe(d, "b", "k", "", 900);
  EXPECT_EQ(d.WatermarkOf("a"), Timestamp(250));
  ASSERT_TRUE(d.EndInput().ok());
  EXPECT_EQ(Values(d), (std::vector<std::string>{"k@0:1", "k@200:1", "k@900:1"}));
}

TEST(SourceEventTimeTest, TableExtractorMakesTheTimeOfATableOnlyStage) {
  TopologyBuilder b;
  b.Table<std::string, std::string>(
       "t", "rows",
       {.timestamp =
            [](const std::string&, const std::string& v) {
              return std::optional<Timestamp>(Timestamp(std::stoll(v)));
            },
        .max_out_of_orderness = milliseconds(50)})
      .ToStream()
      .To("out");
  TestDriver d(BuildOrDie(b));
  Pipe(d, "t", "k", "700", 1);
  EXPECT_EQ(d.WatermarkOf("t"), Timestamp(650));
  auto out = d.ReadOutput("out");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].timestamp, Timestamp(700));
}

TEST(SourceEventTimeTest, DefaultsAreTheJobs) {
  TopologyBuilder b;
  b.EventTime({.max_out_of_orderness = milliseconds(300), .idle_timeout = milliseconds(0)});
  b.Stream<std::string, std::string>("a").To("out");
  b.Stream<std::string, std::string>("b", {.max_out_of_orderness = milliseconds(5)}).To("out2");
  Topology t = BuildOrDie(b);
  EventTimeOptions a = t.SourceEventTime(t.FindTopic("a"));
  EventTimeOptions bo = t.SourceEventTime(t.FindTopic("b"));
  EXPECT_EQ(a.max_out_of_orderness, milliseconds(300));
  EXPECT_EQ(bo.max_out_of_orderness, milliseconds(5));
  EXPECT_EQ(bo.idle_timeout, milliseconds(0));
  EXPECT_EQ(t.ShortestIdleTimeout(), milliseconds(0));
}

}  // namespace
}  // namespace sluice
