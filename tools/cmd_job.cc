// sluice job reset APP (--to-earliest | --to-time T) [--keep-state | --state-deleted] [--state DIR]
//                  [-b HOST:PORT]
//
// Rewinds a stopped job's inputs so it reprocesses them; without --keep-state also deletes its
// state and repartition topics. A reset to a time goes back to the start of the window containing
// it (minus grace and out-of-orderness) or refuses (runtime/job_reset.h). Prints what it did. A
// running job refuses (its data directory and state directory are locked). With -b (or on a data
// directory another process serves) it resets a job run over that broker: refused while the
// application's group has members, and it deletes the job's internal topics there too
// (ResetJobOverBroker).
#include <fmt/format.h>

#include "tools/commands.h"
#include "tools/run_job.h"

namespace sluice::tools {
namespace {

struct JobResetArgs {
  std::string app;
  bool to_earliest = false;
  std::string to_time;
  bool keep_state = false;
  bool state_deleted = false;
  std::string state_dir = "./sluice-state";
};

Status RunReset(CliContext& ctx, const JobResetArgs& a) {
  return ResetJobCommand(ctx, a.app, a.state_dir,
                         {.to_earliest = a.to_earliest,
                          .to_time = a.to_time,
                          .keep_state = a.keep_state,
                          .state_deleted = a.state_deleted});
}

}  // namespace

void RegisterJobCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* job = app.add_subcommand("job", "Manage pipeline jobs");
  job->require_subcommand(1);
  auto args = std::make_shared<JobResetArgs>();
  CLI::App* reset = job->add_subcommand(
      "reset", "Rewind a stopped job's inputs (and wipe its state unless --keep-state)");
  reset->add_option("app", args->app, "Application id")->required();
  reset->add_flag("--to-earliest", args->to_earliest, "Rewind to the oldest records");
  reset->add_option("--to-time", args->to_time,
                    "Rewind to the first record at or after this time (epoch ms or ISO-8601)");
  reset->add_flag("--keep-state", args->keep_state, "Keep the job's state (default: delete it)");
  reset->add_flag("--state-deleted", args->state_deleted,
                  "The job's state directory was deleted on purpose: rewind its offsets anyway");
  reset->add_option("--state", args->state_dir, "State directory (default ./sluice-state)");
  reset->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunReset(ctx, *args); }; });
}

}  // namespace sluice::tools
