// The sessions example: per user, sessions closed by 30 minutes of inactivity, from a
// clickstream keyed by user (as `sluice gen clickstream` writes it).
//
// Output (key = user): {"user":"u7","start":1700000000000,"end":1700001234000,
//   "duration_ms":1234000,"views":12,"pages":["/page/1","/page/4"]}
// start/end are the first and last view's event time; pages are the distinct pages, sorted.
// A session is emitted once, when the watermark passes end + gap + grace.
// Late topic: page views too late for their session, unchanged. Dead-letter topic: records that
// are not page views, or whose key is not the value's user, with the reason (as pageviews).
#pragma once

#include <string>
#include <vector>

#include "examples/pageviews.h"
#include "operators/topology_builder.h"

namespace sluice::examples {

struct SessionsOptions {
  std::string input = "clicks";
  std::string output = "sessions";
  std::string late_topic = "sessions-late";
  std::string dead_letter_topic = "sessions-dead-letters";
  int64_t gap_ms = 30 * 60 * 1000;
  int64_t grace_ms = 0;
  int64_t out_of_order_ms = 5000;
};

void AddSessions(TopologyBuilder& builder, const SessionsOptions& options = {});

// Sessions, views, average views and duration, the users with the most sessions.
std::string SummarizeSessions(const std::vector<KeyValueText>& sessions, int64_t late,
                              int64_t dead_letters);

}  // namespace sluice::examples
