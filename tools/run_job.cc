#include "tools/run_job.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "core/log.h"
#include "runtime/job.h"
#include "runtime/job_reset.h"
#include "server/kafka_server.h"
#include "tools/job_observer.h"
#include "tools/owner.h"
#include "tools/time_parse.h"

namespace sluice::tools {
namespace {

// The topology's external topics: those it only reads (inputs) and those it writes (outputs).
struct ExternalTopics {
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};

ExternalTopics TopicsOf(const Topology& topology) {
  ExternalTopics t;
  for (const Topology::Topic& topic : topology.topics()) {
    if (topic.internal) continue;
    if (!topic.sink_nodes.empty()) {
      t.outputs.push_back(topic.name);
    } else if (!topic.source_nodes.empty()) {
      t.inputs.push_back(topic.name);
    }
  }
  return t;
}

Status MissingInput(const std::string& topic) {
  return NotFound(
      "input topic '{}' does not exist; create it with `sluice topic create {} --partitions N` "
      "and produce into it",
      topic, topic);
}

Status MissingOutput(const std::string& topic) {
  return NotFound(
      "output topic '{}' does not exist; create it with `sluice topic create {} --partitions N`, "
      "or pass --create-topics to create every missing output topic with the inputs' partition "
      "count",
      topic, topic);
}

// Over a broker: one instance, exactly-once through transactions (runtime/README.md, "Running
// over a broker").
std::string JobName(const JobRunSpec& spec) {
  return spec.job_name.empty() ? spec.app : spec.job_name;
}

Status RunOverBroker(CliContext& ctx, const CommonRunArgs& a, Topology topology, JobOptions o,
                     const JobRunSpec& spec, JobObserver& observer) {
  if (a.at_least_once) {
    return UsageError("--at-least-once: over a broker a job runs exactly-once only");
  }
  SLUICE_ASSIGN_OR_RETURN(auto client, OpenClient(ctx, Access::kWrite));
  const ExternalTopics topics = TopicsOf(topology);
  int32_t partitions = 1;
  for (const std::string& in : topics.inputs) {
    Result<int32_t> n = client->PartitionCount(in);
    if (!n.ok()) return n.status();
    partitions = std::max(partitions, *n);
  }
  for (const std::string& out : topics.outputs) {
    if (client->PartitionCount(out).ok()) continue;
    if (!spec.create_outputs) return MissingOutput(out);
    Status s = client->CreateTopic(out, {.partitions = partitions});
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
    if (s.ok() && !a.quiet) {
      fmt::print(stderr, "created output topic '{}' with {} partitions\n", out, partitions);
    }
    // A cluster's brokers learn of a new topic a moment after CreateTopics returns.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    Result<int32_t> n = client->PartitionCount(out);
    while (!n.ok() && n.status().code() == StatusCode::kNotFound &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      n = client->PartitionCount(out);
    }
    if (!n.ok()) return n.status();
  }
  client.reset();
  o.bootstrap_servers = ctx.bootstrap_servers;
  InstallInterruptHandler();
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Job> job, Job::Start(o, std::move(topology)));
  // Over a broker there is no data directory here for a status file: metrics only.
  observer.Attach({.job = job.get(), .app = spec.app, .job_name = JobName(spec)});
  Status s = WaitWithProgress(*job, spec.app, a.quiet, spec.show_late, nullptr, a.until_end);
  observer.Finish(s);
  return s;
}

}  // namespace

std::function<std::string(std::string_view)> TopicsInUse(const Topology& topology,
                                                         const std::string& app,
                                                         const std::string& label) {
  ExternalTopics t = TopicsOf(topology);
  std::vector<std::string> names = std::move(t.inputs);
  names.insert(names.end(), t.outputs.begin(), t.outputs.end());
  return [names = std::move(names), app, label](std::string_view topic) -> std::string {
    if (std::find(names.begin(), names.end(), topic) != names.end() ||
        (topic.starts_with(app + "-") && topic.ends_with("-repartition"))) {
      return fmt::format("{} (application '{}'), running in this process", label, app);
    }
    return std::string();
  };
}

Status WaitServingDirectory(CliContext& ctx, Log* log, Job& job, JobObserver& observer,
                            ServedRun run) {
  // Whoever owns the data directory serves it: while the job runs, the other `sluice` commands
  // on this directory (produce into its input, consume its output) go through this server on
  // an ephemeral loopback port, recorded in <data>/OWNER.
  kafka::ServerOptions so;
  so.listen_host = "127.0.0.1";
  so.listen_port = 0;
  so.auto_create_topics = false;
  so.topic_in_use = std::move(run.topics_in_use);
  auto server = ServeDirectory(log, so, ctx.data_dir, {run.app});
  if (!server.ok()) {
    job.Stop();
    job.Wait().IgnoreError();
    return server.status().WithContext("serving the data directory to other sluice commands");
  }
  observer.Attach({.job = &job,
                   .app = run.app,
                   .job_name = run.job_name,
                   .log = log,
                   .server = server->get(),
                   .data_dir = ctx.data_dir});
  Status s = WaitWithProgress(job, run.app, run.quiet, run.show_late, run.metrics, run.until_end);
  observer.Finish(s);
  StopServing(server->get(), ctx.data_dir);
  return s;
}

void AddRunOptions(CLI::App* cmd, CommonRunArgs* args) {
  cmd->add_option("--app", args->app, "Application id (default: the job name)");
  cmd->add_option("--state,--state-dir", args->state_dir,
                  "State directory (default ./sluice-state)");
  cmd->add_option("--threads", args->threads, "Worker threads (default 1)");
  cmd->add_option("--commit-interval-ms", args->commit_interval_ms,
                  "Commit interval in milliseconds (default 100)");
  cmd->add_option("--batch-records", args->batch_records,
                  "Records a task processes per scheduling round (default 2000)");
  cmd->add_option("--from", args->from,
                  "Where to start without committed offsets: earliest (default), latest, or a "
                  "time (epoch ms or ISO-8601)");
  cmd->add_option("--exchange", args->exchange,
                  "How stages pass records at a repartition: log (default; through repartition "
                  "topics) or local (in memory, all tasks commit together; faster, no "
                  "repartition topics)");
  cmd->add_flag("--until-end", args->until_end, "Stop at the end of the input");
  cmd->add_flag("--at-least-once", args->at_least_once,
                "At-least-once instead of exactly-once (faster, may repeat outputs after a crash)");
  cmd->add_flag("--describe", args->describe, "Print the topology and exit");
  cmd->add_flag("--quiet", args->quiet, "No progress lines");
  cmd->add_option("--metrics-listen", args->metrics_listen,
                  "Serve the job's Prometheus metrics at http://HOST:PORT/metrics (port 0: a "
                  "free one, printed at start)");
}

Status RunJob(CliContext& ctx, const CommonRunArgs& a, Topology topology, const JobRunSpec& spec) {
  SLUICE_ASSIGN_OR_RETURN(JobOptions o, MakeJobOptions(a, spec.app));
  if (a.describe) {
    PrintDescription(topology, o);
    return Status::Ok();
  }
  // The metrics address is bound first: a bad one fails before anything else starts.
  SLUICE_ASSIGN_OR_RETURN(auto observer, JobObserver::Start(a.metrics_listen));
  if (ctx.bootstrap_servers.empty()) {
    // Whoever owns the data directory serves it: run through that process rather than fail on
    // its lock.
    SLUICE_ASSIGN_OR_RETURN(std::string owner,
                            FindOwner(ctx.data_dir, std::chrono::milliseconds(5000)));
    if (!owner.empty()) {
      // One instance of an application per data directory, as when the lock refuses a second
      // `sluice run`: its second instance must not run beside it over its own server.
      SLUICE_ASSIGN_OR_RETURN(OwnerInfo info, OwnerOf(ctx.data_dir));
      if (std::find(info.apps.begin(), info.apps.end(), spec.app) != info.apps.end()) {
        return Unavailable(
            "application '{}' is already running in pid {}, which holds data directory '{}' (and "
            "serves it at {}); stop that instance first, or give this one another --app",
            spec.app, info.pid, ctx.data_dir, owner);
      }
      fmt::print(stderr,
                 "data directory '{}' is served by another process at {}: running over it, as "
                 "with -b {}\n",
                 ctx.data_dir, owner, owner);
      ctx.bootstrap_servers = owner;
    }
  }
  if (!ctx.bootstrap_servers.empty()) {
    return RunOverBroker(ctx, a, std::move(topology), std::move(o), spec, *observer);
  }

  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, OpenWriter(ctx));
  const ExternalTopics topics = TopicsOf(topology);
  int32_t partitions = 1;
  for (const std::string& in : topics.inputs) {
    if (!log->HasTopic(in)) return MissingInput(in);
    SLUICE_ASSIGN_OR_RETURN(TopicConfig config, log->DescribeTopic(in));
    partitions = std::max(partitions, config.partitions);
  }
  for (const std::string& out : topics.outputs) {
    if (log->HasTopic(out)) continue;
    if (!spec.create_outputs) return MissingOutput(out);
    SLUICE_RETURN_IF_ERROR(EnsureOutputTopic(*log, out, partitions, a.quiet));
  }
  o.log = log.get();
  auto in_use = TopicsInUse(topology, spec.app, spec.label);
  InstallInterruptHandler();
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Job> job, Job::Start(o, std::move(topology)));
  SLUICE_RETURN_IF_ERROR(WaitServingDirectory(ctx, log.get(), *job, *observer,
                                              {.app = spec.app,
                                               .job_name = JobName(spec),
                                               .topics_in_use = std::move(in_use),
                                               .quiet = a.quiet,
                                               .show_late = spec.show_late,
                                               .until_end = a.until_end}));
  job.reset();
  return log->Close();
}

Status ResetJobCommand(CliContext& ctx, const std::string& app, const std::string& state_dir,
                       const ResetArgs& a) {
  ResetOptions o;
  o.application_id = app;
  o.state_dir = state_dir;
  o.keep_state = a.keep_state;
  o.state_deleted = a.state_deleted;
  if (a.keep_state && a.state_deleted) {
    return UsageError("--keep-state and --state-deleted exclude each other");
  }
  if (a.to_earliest == !a.to_time.empty()) {
    return UsageError("give exactly one of --to-earliest and --to-time T");
  }
  o.to_earliest = a.to_earliest;
  if (!a.to_time.empty()) {
    Result<Timestamp> t = ParseTime(a.to_time);
    if (!t.ok()) return UsageError("--to-time: " + t.status().message());
    o.time = *t;
  }
  auto print = [&](const std::vector<std::string>& lines) {
    fmt::print("reset application '{}' to {}:\n", app,
               a.to_earliest ? std::string("the earliest offsets") : "time " + a.to_time);
    for (const auto& l : lines) fmt::print("  {}\n", l);
  };
  if (!ctx.bootstrap_servers.empty()) {
    // A job run over a broker (or a data directory another process serves).
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> client,
                            OpenClient(ctx, Access::kWrite));
    SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> lines, ResetJobOverBroker(client.get(), o));
    print(lines);
    return client->Close();
  }
  Result<std::unique_ptr<Log>> log = OpenWriter(ctx);
  if (!log.ok()) {
    return log.status().WithContext(fmt::format(
        "cannot reset '{}' while the data directory is in use (is the job running?)", app));
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> lines, ResetJob(log->get(), o));
  print(lines);
  return (*log)->Close();
}

}  // namespace sluice::tools
