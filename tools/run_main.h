// RunMain: a user's job binary with the options and behaviour of `sluice run`, in one call.
//
//   void AddRevenue(sluice::TopologyBuilder& b) { ... }
//   int main(int argc, char** argv) { return sluice::RunMain(argc, argv, AddRevenue); }
//
// The binary then takes (`--help` lists them):
//   [--data DIR | -b HOST:PORT] [--app ID] [--state DIR] [--threads N] [--until-end] [--describe]
//   [--create-topics] [--from earliest|latest|TIME] [--exchange log|local] [--at-least-once]
//   [--commit-interval-ms N] [--batch-records N] [--quiet]
//   reset (--to-earliest | --to-time T) [--keep-state | --state-deleted]
// and runs the job exactly as `sluice run` runs a shipped one (the two share RunJob below):
//   - on the data directory (--data, default $SLUICE_DATA or ./sluice-data) as its single writer,
//     serving it over the Kafka protocol on a loopback port while it runs (recorded in
//     <data>/OWNER) so that `sluice produce/consume/topic ...` on that directory go through it;
//   - over a broker with -b HOST:PORT, and AUTOMATICALLY over the process that already serves the
//     data directory (a `sluice serve`, or another job), saying so in one line on stderr;
//   - missing input topics are an error saying how to create them; missing output topics too,
//     unless --create-topics (then they get the inputs' largest partition count);
//   - progress ("APP: in N, out N, lag N, late N") on stderr once a second and at the end;
//     SIGINT/SIGTERM stop it with a final commit;
//   - `reset` rewinds the stopped job's inputs (runtime/job_reset.h, as `sluice job reset`).
// Exit codes as `sluice`: 0 ok, 2 usage error, 1 any other error (one line on stderr).
#pragma once

#include <functional>
#include <string>

#include "operators/topology_builder.h"

namespace sluice {

struct RunMainOptions {
  // The program's name in help and messages (default: the basename of argv[0]).
  std::string name;
  // The default application id, --app (default: `name`).
  std::string application_id;
  // One line for --help (default: "runs the job <name>").
  std::string description;
};

// Parses argv, builds the topology with add_job and runs it (or describes it, or resets it).
// Returns the process exit code.
int RunMain(int argc, char** argv, const std::function<void(TopologyBuilder&)>& add_job,
            const RunMainOptions& options = {});

}  // namespace sluice
