#include "core/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace sluice {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(LatencyHistogramTest, PutsEachDurationInTheFirstBucketThatHoldsIt) {
  LatencyHistogram h;
  h.Record(microseconds(50));          // <= 100 us: bucket 0
  h.Record(microseconds(100));         // exactly a bound: that bucket (le is inclusive)
  h.Record(milliseconds(3));           // <= 5 ms: bucket 5
  h.Record(std::chrono::seconds(30));  // above 10 s: +Inf
  LatencyHistogram::Snapshot s = h.Read();
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.buckets[0], 2);
  EXPECT_EQ(s.buckets[5], 1);
  EXPECT_EQ(s.buckets.back(), 1);
  EXPECT_NEAR(s.sum_seconds, 30.00315, 1e-9);
}

TEST(PrometheusTextTest, WritesHelpAndTypeOnceBeforeAFamilysSamplesAndEscapesLabels) {
  PrometheusText out;
  out.Counter("x_total", "Things", {{"topic", "a\"b\\c\nd"}}, 3);
  out.Counter("x_total", "Things", {{"topic", "e"}}, 4.5);
  out.Gauge("y", "A level", {}, -2);
  EXPECT_EQ(out.text(),
            "# HELP x_total Things\n# TYPE x_total counter\n"
            "x_total{topic=\"a\\\"b\\\\c\\nd\"} 3\n"
            "x_total{topic=\"e\"} 4.5\n"
            "# HELP y A level\n# TYPE y gauge\ny -2\n");
}

TEST(PrometheusTextTest, WritesAHistogramWithCumulativeBucketsSumAndCount) {
  LatencyHistogram h;
  h.Record(microseconds(50));
  h.Record(milliseconds(3));
  h.Record(milliseconds(3));
  PrometheusText out;
  out.Histogram("lat_seconds", "Latency", {{"app", "wc"}}, h.Read());
  const std::string& t = out.text();
  EXPECT_NE(t.find("# TYPE lat_seconds histogram\n"), std::string::npos) << t;
  EXPECT_NE(t.find("lat_seconds_bucket{app=\"wc\",le=\"0.0001\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("lat_seconds_bucket{app=\"wc\",le=\"0.0025\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("lat_seconds_bucket{app=\"wc\",le=\"0.005\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("lat_seconds_bucket{app=\"wc\",le=\"+Inf\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("lat_seconds_count{app=\"wc\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("lat_seconds_sum{app=\"wc\"} 0.00605\n"), std::string::npos) << t;
}

}  // namespace
}  // namespace sluice
