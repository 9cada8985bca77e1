// The pageviews example: views per page per 1-minute tumbling window, and the 10 most viewed
// pages of each window, from a clickstream (examples/clickstream.h).
//
// Outputs (JSON values, times in epoch ms):
//   counts topic: key = page,
//     {"page":"/page/3","window_start":1700000040000,"window_end":1700000100000,"views":42}
//   top topic: key = window start (decimal text),
//     {"window_start":...,"window_end":...,"top":[{"page":"/page/3","views":42},...]}
//   late topic: the page views that arrived after their window closed, their values unchanged
//     byte for byte (key = page)
//   dead-letter topic: records that are not page views, key = input key,
//     {"reason":"...","topic":"clicks","value":"<the original value>","timestamp":...}
//
// Event time is the value's "ts"; the watermark allows `out_of_order_ms` of disorder and windows
// accept records `grace_ms` after their end. Page views are repartitioned by page through
// "<app>-pageviews-per-page-repartition".
#pragma once

#include <string>
#include <vector>

#include "operators/topology_builder.h"

namespace sluice::examples {

struct PageviewsOptions {
  std::string input = "clicks";
  std::string counts_output = "pageviews-counts";
  std::string top_output = "pageviews-top";
  std::string late_topic = "pageviews-late";
  std::string dead_letter_topic = "pageviews-dead-letters";
  int64_t window_ms = 60000;
  int64_t grace_ms = 10000;
  int64_t out_of_order_ms = 5000;
  int top_n = 10;
};

void AddPageviews(TopologyBuilder& builder, const PageviewsOptions& options = {});

struct KeyValueText {
  std::string key;
  std::string value;
};

// A readable summary of the outputs: windows, views counted, the most viewed pages over all
// windows, late and dead-letter records.
std::string SummarizePageviews(const std::vector<KeyValueText>& counts,
                               const std::vector<KeyValueText>& top, int64_t late,
                               int64_t dead_letters);

}  // namespace sluice::examples
