#include "tools/run_main.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tools/commands.h"
#include "tools/run_job.h"

namespace sluice {
namespace {

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

int RunMain(int argc, char** argv, const std::function<void(TopologyBuilder&)>& add_job,
            const RunMainOptions& options) {
  const std::string name =
      !options.name.empty() ? options.name : BaseName(argc > 0 ? argv[0] : "job");
  tools::CliContext ctx;
  ctx.command_line = name;
  for (int i = 1; i < argc; ++i) ctx.command_line += std::string(" ") + argv[i];
  if (const char* env = std::getenv("SLUICE_DATA"); env != nullptr && *env != '\0') {
    ctx.data_dir = env;
    ctx.data_dir_given = true;
  }
  tools::CommonRunArgs args;
  args.job = name;
  args.app = options.application_id.empty() ? name : options.application_id;
  bool create_topics = false;
  tools::ResetArgs reset;

  CLI::App app{options.description.empty() ? "runs the job " + name : options.description, name};
  app.fallthrough();  // --data, --app and --state may follow `reset`
  app.add_option("--data", ctx.data_dir,
                 "Data directory (default ./sluice-data, or $SLUICE_DATA); when another process "
                 "serves it, the job runs over that process");
  app.add_option("--bootstrap-server,-b", ctx.bootstrap_servers,
                 "HOST:PORT of a Kafka broker (`sluice serve` or a Kafka cluster) to run over");
  tools::AddRunOptions(&app, &args);
  app.add_flag("--create-topics", create_topics,
               "Create missing output topics with the inputs' partition count");
  CLI::App* reset_cmd =
      app.add_subcommand("reset", "Rewind the stopped job's inputs (and delete its state)");
  reset_cmd->add_flag("--to-earliest", reset.to_earliest, "Rewind to the oldest records");
  reset_cmd->add_option("--to-time", reset.to_time,
                        "Rewind to a time (epoch ms or ISO-8601), back to the start of the window "
                        "containing it");
  reset_cmd->add_flag("--keep-state", reset.keep_state,
                      "Keep the job's state (default: delete it)");
  reset_cmd->add_flag("--state-deleted", reset.state_deleted,
                      "The state directory was deleted on purpose: rewind anyway");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    fmt::print(stderr, "{}: {}; run '{} --help' for usage\n", name, OneLine(e.what()), name);
    return 2;
  }
  if (ctx.data_dir.empty()) {
    fmt::print(stderr, "{}: --data is empty; give a directory path\n", name);
    return 2;
  }

  Status s;
  if (reset_cmd->parsed()) {
    s = tools::ResetJobCommand(ctx, args.app, args.state_dir, reset);
  } else {
    TopologyBuilder builder;
    add_job(builder);
    Result<Topology> topology = builder.Build();
    if (!topology.ok()) {
      s = topology.status().WithContext("the job's topology");
    } else {
      s = tools::RunJob(ctx, args, std::move(topology).value(),
                        {.app = args.app,
                         .label = "job " + name,
                         .create_outputs = create_topics,
                         .show_late = true});
    }
  }
  std::fflush(stdout);
  if (!s.ok()) {
    fmt::print(stderr, "{}: {}\n", name, OneLine(s.message()));
    return tools::IsUsageError(s) ? 2 : 1;
  }
  return 0;
}

}  // namespace sluice
