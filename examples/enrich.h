// The enrich example: page views joined with a users table (user -> country, plan), then views
// per country per 1-minute tumbling window.
//
// Users topic (a table: the latest row per user wins; `sluice gen users` writes one), key = user:
//   {"user":"u7","country":"DE","plan":"pro"}
// Outputs (JSON, times epoch ms):
//   enriched topic, key = user: {"user","page","referrer","ts","country","plan"} (country and
//     plan "unknown" when the table has no valid row for the user at the time)
//   counts topic, key = country: {"country":"DE","window_start":...,"window_end":...,"views":N}
//   late topic: views too late for their window (as they were enriched, key = country)
//   dead-letter topic: page views that do not parse or are keyed by another user, with the reason
// Both inputs must have the same number of partitions (checked when the job starts), unless the
// users are read as a global table (EnrichOptions::global_users). A users row
// that does not parse counts as no row. The join is stream-table: each view gets the row the
// table holds when the view is processed, so load the users topic before the clicks.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "examples/clickstream.h"
#include "examples/pageviews.h"
#include "operators/topology_builder.h"

namespace sluice::examples {

struct UserRow {
  std::string user, country, plan;
  bool valid = true;  // false: the table row did not parse (treated as missing)
  bool operator==(const UserRow&) const = default;
};

std::string ToJson(const UserRow& u);
Result<UserRow> ParseUserRow(std::string_view json);

// Deterministic users u0..u{n-1}, one row each, keyed by user.
void GenerateUsers(int users, uint64_t seed,
                   const std::function<void(const GeneratedRecord&)>& emit);

struct EnrichOptions {
  std::string input = "clicks";
  std::string users = "users";
  std::string enriched_output = "enrich-views";
  std::string counts_output = "enrich-country-counts";
  std::string late_topic = "enrich-late";
  std::string dead_letter_topic = "enrich-dead-letters";
  int64_t window_ms = 60000;
  int64_t grace_ms = 10000;
  int64_t out_of_order_ms = 5000;
  // Read the users topic as a GlobalTable (operators/joins.h, JoinGlobal) and look each view's
  // user up by the user field of the view: every task holds all users, so the users topic may
  // have any partition count. Default: a Table co-partitioned with the clicks.
  bool global_users = false;
};

void AddEnrich(TopologyBuilder& builder, const EnrichOptions& options = {});

std::string SummarizeEnrich(const std::vector<KeyValueText>& counts,
                            const std::vector<KeyValueText>& enriched, int64_t late,
                            int64_t dead_letters);

}  // namespace sluice::examples

template <>
struct sluice::SerdeFor<sluice::examples::UserRow> {
  static sluice::SerdePtr<sluice::examples::UserRow> Get();
};
