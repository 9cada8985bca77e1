// What every `sluice run` entry (and a user's binary, tools/run_main.h) does around a Job: the
// options every job shares and the JobOptions they make, create missing output topics and wait
// for the job with a progress line per second. Part of the sluice_app library.
#pragma once

#include <string>

#include "core/log.h"
#include "operators/topology_builder.h"
#include "runtime/job.h"

namespace sluice::tools {

// The options every `sluice run` job shares (filled by cmd_run.cc).
struct CommonRunArgs {
  std::string job;
  std::string input;  // "" = the example's default
  std::string app;
  std::string state_dir = "./sluice-state";
  std::string from = "earliest";
  std::string exchange = "log";
  // --metrics-listen HOST:PORT: serve the job's Prometheus metrics there; empty: none.
  std::string metrics_listen;
  int threads = 1;
  int64_t commit_interval_ms = 100;
  int64_t batch_records = 2000;
  bool until_end = false;
  bool describe = false;
  bool at_least_once = false;
  bool quiet = false;
};

// The JobOptions of `args` for application `app` (the log left to the caller), or a usage error
// naming the option that is out of range.
Result<JobOptions> MakeJobOptions(const CommonRunArgs& args, const std::string& app);

// `sluice run JOB --describe`: the topology, then how its repartitions would run with `options`.
void PrintDescription(const Topology& topology, const JobOptions& options);

// Creates topic `output` with `partitions` partitions if it does not exist (saying so on stderr
// unless `quiet`).
Status EnsureOutputTopic(Log& log, const std::string& output, int32_t partitions, bool quiet);

// Waits until `job` stops (end of input with --until-end, an error, or Ctrl-C, which stops it with
// a final commit). Unless `quiet`, prints "APP: in N, out N, lag N[, late N]" to stderr once a
// second and once at the end. With `until_end` and stderr a terminal, a progress line
// (ProgressLine: records in, rate, share of the starting lag consumed) replaces the per-second
// lines. Returns the job's final status; *final holds its last metrics.
Status WaitWithProgress(Job& job, const std::string& app, bool quiet, bool show_late,
                        JobMetrics* final, bool until_end = false);

}  // namespace sluice::tools
