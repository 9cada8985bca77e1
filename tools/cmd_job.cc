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

#include "core/log.h"
#include "runtime/job_reset.h"
#include "tools/commands.h"
#include "tools/time_parse.h"

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
  ResetOptions o;
  o.application_id = a.app;
  o.state_dir = a.state_dir;
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
    fmt::print("reset application '{}' to {}:\n", a.app,
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
        "cannot reset '{}' while the data directory is in use (is the job running?)", a.app));
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> lines, ResetJob(log->get(), o));
  print(lines);
  return (*log)->Close();
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
