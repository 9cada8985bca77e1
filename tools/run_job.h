// RunJob: what `sluice run` and a user's binary (RunMain, tools/run_main.h) do with a topology:
// the options they share, describe, run on the data directory while serving it, or run over a
// broker (given with -b, or found serving the data directory), and reset.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "operators/topology.h"
#include "tools/commands.h"
#include "tools/job_observer.h"
#include "tools/job_runner.h"

namespace sluice::tools {

// Adds the options every run shares to `cmd`: --app, --state/--state-dir, --threads,
// --commit-interval-ms, --batch-records, --from, --exchange, --until-end, --at-least-once,
// --describe, --quiet. (Run options that every job gains, such as a metrics listener, go here.)
void AddRunOptions(CLI::App* cmd, CommonRunArgs* args);

// How RunJob runs one topology.
struct JobRunSpec {
  // The application id (group, transactional id, state directory name, repartition prefix).
  std::string app;
  // What the job is called in "topic in use" answers to other clients: "job wordcount".
  std::string label;
  // Create missing output topics (with the inputs' largest partition count); false: a missing
  // output topic is an error saying to create it or to pass --create-topics.
  bool create_outputs = false;
  // Progress lines count late records too.
  bool show_late = false;
  // The job's name in `sluice status` and the metrics (default: the application id).
  std::string job_name;
};

// Describes (--describe) or runs `topology` with the options `a` until it stops: on the data
// directory as its writer, serving it to other sluice commands while it runs; over the broker of
// ctx.bootstrap_servers; or, when another process serves the data directory (tools/owner.h), over
// that process, after one line on stderr saying so (ctx.bootstrap_servers is then set).
// Missing input topics are kNotFound saying how to create them.
Status RunJob(CliContext& ctx, const CommonRunArgs& a, Topology topology, const JobRunSpec& spec);

// For kafka::ServerOptions::topic_in_use while a job runs beside the server: the topology's
// external topics and its repartition topics ("<app>-...-repartition") are in use by "<label>
// (application '<app>'), running in this process".
std::function<std::string(std::string_view)> TopicsInUse(const Topology& topology,
                                                         const std::string& app,
                                                         const std::string& label);

// How WaitServingDirectory serves and waits.
struct ServedRun {
  std::string app;
  std::string job_name;                                        // in `sluice status` and the metrics
  std::function<std::string(std::string_view)> topics_in_use;  // TopicsInUse
  bool quiet = false;
  bool show_late = false;
  bool until_end = false;
  JobMetrics* metrics = nullptr;  // gets the final metrics, if given
};

// While `job` runs on `log` (this process holds the data directory as its writer): serves the
// directory to the other sluice commands (tools/owner.h; OWNER names run.app), attaches
// `observer`, waits with progress until the job stops, then stops serving. If serving cannot
// start, the job is stopped and the error returned. The shipped analytics runs use it too.
Status WaitServingDirectory(CliContext& ctx, Log* log, Job& job, JobObserver& observer,
                            ServedRun run);

// `reset` of a job: rewinds a stopped job's inputs (runtime/job_reset.h) and prints what it did.
struct ResetArgs {
  bool to_earliest = false;
  std::string to_time;
  bool keep_state = false;
  bool state_deleted = false;
};
Status ResetJobCommand(CliContext& ctx, const std::string& app, const std::string& state_dir,
                       const ResetArgs& a);

}  // namespace sluice::tools
