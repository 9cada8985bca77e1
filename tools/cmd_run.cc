// sluice run wordcount|balances: runs a shipped job on the embedded log, or with
// --bootstrap-server as one instance over a broker (`sluice serve` or Kafka), exactly-once.
//
//   sluice run balances --input tx --output balances [--until-end] [--threads N] [--app ID]
//       [--state DIR] [--commit-interval-ms N] [--batch-records N] [--at-least-once] [--from
//       earliest|latest|TIME] [--exchange local|log]
//       [--describe] [--quiet]
//
// Progress (records in, records out, lag) goes to stderr once a second. SIGINT/SIGTERM stop the
// job with a final commit. A missing output topic is created with the input's partition count.
// wordcount and balances run through RunJob (tools/run_job.h), as a user's binary does with
// RunMain: when another process serves the data directory, they run over it.
#include <fmt/format.h>

#include "operators/topology_builder.h"
#include "tools/analytics_run.h"
#include "tools/commands.h"
#include "tools/job_runner.h"
#include "tools/run_job.h"
#include "tools/shipped_jobs.h"

namespace sluice::tools {
namespace {

struct RunArgs : CommonRunArgs {
  std::string output;
};

Result<Topology> BuildJob(const RunArgs& a) {
  TopologyBuilder b;
  if (!AddSimpleJob(b, a.job, a.input, a.output)) {
    return UsageError(fmt::format(
        "unknown job '{}'; the shipped jobs are wordcount, balances, pageviews, sessions, enrich "
        "and nexmark",
        a.job));
  }
  return b.Build();
}

Status Run(CliContext& ctx, const RunArgs& a, const AnalyticsArgs& analytics) {
  if (IsAnalyticsJob(a.job) && !ctx.bootstrap_servers.empty()) {
    return UsageError(fmt::format(
        "{} with --bootstrap-server: over a broker this version runs wordcount and balances; run "
        "{} on the data directory (without -b)",
        a.job, a.job));
  }
  if (IsAnalyticsJob(a.job)) {
    return RunAnalytics(ctx, a, analytics);
  }
  if ((a.job == "wordcount" || a.job == "balances") && (a.input.empty() || a.output.empty())) {
    return UsageError(fmt::format("{} needs --input and --output", a.job));
  }
  SLUICE_ASSIGN_OR_RETURN(Topology topology, BuildJob(a));
  const std::string app = a.app.empty() ? a.job : a.app;
  return RunJob(ctx, a, std::move(topology),
                {.app = app, .label = "job " + a.job, .create_outputs = true, .job_name = a.job});
}

}  // namespace

void RegisterRunCommand(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<RunArgs>();
  auto analytics = std::make_shared<AnalyticsArgs>();
  CLI::App* run = app.add_subcommand(
      "run", "Run a shipped job (wordcount, balances, pageviews, sessions, enrich, nexmark)");
  run->add_option("job", args->job,
                  "wordcount, balances, pageviews, sessions, enrich or nexmark (--query qN)")
      ->required();
  run->add_option("--input", args->input,
                  "Input topic (required for wordcount and balances; analytics default: clicks)");
  run->add_option("--output", args->output,
                  "Output topic, created if missing (wordcount and balances)");
  AddAnalyticsOptions(run, analytics.get());
  AddRunOptions(run, args.get());
  run->callback([&ctx, args, analytics] {
    ctx.action = [&ctx, args, analytics] { return Run(ctx, *args, *analytics); };
  });
}

}  // namespace sluice::tools
