// `sluice run` for the analytics examples (pageviews, sessions, and the jobs added next to them):
// builds the example's topology, creates its output topics, runs it with the common run options,
// prints progress (with late records) while it runs and the example's summary table at the end,
// computed from what this run wrote to its output topics.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tools/commands.h"
#include "tools/job_runner.h"

namespace sluice::tools {

// The analytics-only options.
struct AnalyticsArgs {
  std::string query;             // nexmark: q0..q8
  std::string users = "users";   // enrich: the users table topic
  std::string prefix;            // prefix of output topic names ("" = none)
  int64_t out_of_order_ms = -1;  // -1 = the example's default
};

bool IsAnalyticsJob(std::string_view job);
// Adds --query, --users, --output-prefix, --out-of-order-ms to `run`.
void AddAnalyticsOptions(CLI::App* run, AnalyticsArgs* args);
Status RunAnalytics(CliContext& ctx, const CommonRunArgs& run, const AnalyticsArgs& args);

}  // namespace sluice::tools
