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
#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "core/log.h"
#include "operators/topology_builder.h"
#include "runtime/job.h"
#include "server/kafka_server.h"
#include "tools/analytics_run.h"
#include "tools/commands.h"
#include "tools/job_observer.h"
#include "tools/job_runner.h"
#include "tools/owner.h"

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

// `sluice run JOB --bootstrap-server HOST:PORT`: one instance of the job over the broker,
// exactly-once through transactions (runtime/README.md, "Running over a broker").
Status RunOverBroker(CliContext& ctx, const RunArgs& a, Topology topology, JobOptions o) {
  if (a.at_least_once) {
    return UsageError("--at-least-once: over a broker a job runs exactly-once only");
  }
  SLUICE_ASSIGN_OR_RETURN(auto observer, JobObserver::Start(a.metrics_listen));
  SLUICE_ASSIGN_OR_RETURN(auto client, OpenClient(ctx, Access::kWrite));
  Result<int32_t> in = client->PartitionCount(a.input);
  if (!in.ok()) return in.status();
  if (!client->PartitionCount(a.output).ok()) {
    Status s = client->CreateTopic(a.output, {.partitions = *in});
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
    if (s.ok() && !a.quiet) {
      fmt::print(stderr, "created output topic '{}' with {} partitions\n", a.output, *in);
    }
    // A cluster's brokers learn of a new topic a moment after CreateTopics returns.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    Result<int32_t> out = client->PartitionCount(a.output);
    while (!out.ok() && out.status().code() == StatusCode::kNotFound &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      out = client->PartitionCount(a.output);
    }
    if (!out.ok()) return out.status();
  }
  client.reset();
  o.bootstrap_servers = ctx.bootstrap_servers;
  const std::string app = o.application_id;
  InstallInterruptHandler();
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Job> job, Job::Start(o, std::move(topology)));
  // Over a broker there is no data directory here for a status file: metrics only.
  observer->Attach({.job = job.get(), .app = app, .job_name = a.job});
  Status s = WaitWithProgress(*job, app, a.quiet, /*show_late=*/false, nullptr);
  observer->Finish(s);
  return s;
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
  std::string app = a.app.empty() ? a.job : a.app;
  SLUICE_ASSIGN_OR_RETURN(JobOptions o, MakeJobOptions(a, app));
  if (a.describe) {
    PrintDescription(topology, o);
    return Status::Ok();
  }
  if (!ctx.bootstrap_servers.empty()) return RunOverBroker(ctx, a, std::move(topology), o);

  SLUICE_ASSIGN_OR_RETURN(auto observer, JobObserver::Start(a.metrics_listen));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, OpenWriter(ctx));
  if (!log->HasTopic(a.input)) {
    return NotFound(
        "input topic '{}' does not exist; create it with `sluice topic create {} "
        "--partitions N` and produce into it",
        a.input, a.input);
  }
  SLUICE_ASSIGN_OR_RETURN(TopicConfig in, log->DescribeTopic(a.input));
  SLUICE_RETURN_IF_ERROR(EnsureOutputTopic(*log, a.output, in.partitions, a.quiet));
  o.log = log.get();
  InstallInterruptHandler();
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Job> job, Job::Start(o, std::move(topology)));
  // Whoever owns the data directory serves it: while the job runs, the other `sluice` commands
  // on this directory (produce into its input, consume its output) go through this server on
  // an ephemeral loopback port, recorded in <data>/OWNER.
  kafka::ServerOptions so;
  so.listen_host = "127.0.0.1";
  so.listen_port = 0;
  so.auto_create_topics = false;
  so.topic_in_use = TopicsOfSimpleJob(a.job, app, a.input, a.output, "this process");
  auto server = ServeDirectory(log.get(), so, ctx.data_dir);
  if (!server.ok()) {
    job->Stop();
    job->Wait().IgnoreError();
    return server.status().WithContext("serving the data directory to other sluice commands");
  }
  observer->Attach({.job = job.get(),
                    .app = app,
                    .job_name = a.job,
                    .log = log.get(),
                    .server = server->get(),
                    .data_dir = ctx.data_dir});
  Status s = WaitWithProgress(*job, app, a.quiet, /*show_late=*/false, nullptr, a.until_end);
  observer->Finish(s);
  StopServing(server->get(), ctx.data_dir);
  SLUICE_RETURN_IF_ERROR(s);
  job.reset();
  return log->Close();
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
  run->add_option("--app", args->app, "Application id (default: the job name)");
  run->add_option("--state", args->state_dir, "State directory (default ./sluice-state)");
  run->add_option("--threads", args->threads, "Worker threads (default 1)");
  run->add_option("--commit-interval-ms", args->commit_interval_ms,
                  "Commit interval in milliseconds (default 100)");
  run->add_option("--batch-records", args->batch_records,
                  "Records a task processes per scheduling round (default 2000)");
  run->add_option("--from", args->from,
                  "Where to start without committed offsets: earliest (default), latest, or a "
                  "time (epoch ms or ISO-8601)");
  run->add_option("--exchange", args->exchange,
                  "How stages pass records at a repartition: log (default; through repartition "
                  "topics) or local (in memory, all tasks commit together; faster, no "
                  "repartition topics)");
  run->add_flag("--until-end", args->until_end, "Stop at the end of the input");
  run->add_flag("--at-least-once", args->at_least_once,
                "At-least-once instead of exactly-once (faster, may repeat outputs after a crash)");
  run->add_flag("--describe", args->describe, "Print the topology and exit");
  run->add_flag("--quiet", args->quiet, "No progress lines");
  run->add_option("--metrics-listen", args->metrics_listen,
                  "Serve the job's Prometheus metrics at http://HOST:PORT/metrics (port 0: a "
                  "free one, printed at start)");
  run->callback([&ctx, args, analytics] {
    ctx.action = [&ctx, args, analytics] { return Run(ctx, *args, *analytics); };
  });
}

}  // namespace sluice::tools
