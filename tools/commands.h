// The `sluice` command line: shared context and the registration function of each command group.
//
// Every command group lives in its own tools/cmd_<group>.cc and exposes one Register function.
// A command's CLI11 callback does not do the work itself: it stores the work in
// CliContext::action, which main() runs after parsing succeeds, so that usage errors (exit 2)
// and run-time errors (exit 1) are reported in one place each.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "client/log_client.h"
#include "core/log.h"
#include "core/status.h"

namespace sluice::tools {

struct CliContext {
  // --data DIR (default ./sluice-data, or $SLUICE_DATA).
  std::string data_dir = "./sluice-data";
  // True when the user chose the data directory (--data or $SLUICE_DATA).
  bool data_dir_given = false;
  // --bootstrap-server/-b HOST:PORT: go through this Kafka broker (`sluice serve` or any Kafka
  // cluster) instead of opening the data directory. Empty: embedded.
  std::string bootstrap_servers;
  // The command line as typed, recorded in the writer lock so others can name the holder.
  std::string command_line;
  // How long a writer waits for another writer's lock before failing.
  std::chrono::milliseconds lock_wait{3000};
  // The work of the chosen command; set by its CLI11 callback, run by main().
  std::function<Status()> action;
};

// Set by SIGINT/SIGTERM once InstallInterruptHandler has run; long-running commands poll it and
// finish cleanly (flush, commit) instead of dying mid-write.
bool Interrupted();
void InstallInterruptHandler();

// Opens the data directory read-only: no lock, nothing created; runs alongside a writer.
// Fails with a clear message if the directory does not exist.
Result<std::unique_ptr<Log>> OpenReader(const CliContext& ctx);
// Opens the data directory as the (single) writer, waiting up to ctx.lock_wait for another
// writer. `create_dir`: whether a missing data directory may be created (only `topic create`).
Result<std::unique_ptr<Log>> OpenWriter(const CliContext& ctx, bool create_dir = false);

// How a command uses the log: reads only, writes, or writes and may create a missing data
// directory (only `topic create`).
enum class Access { kRead, kWrite, kCreate };

// The log the command works on: the broker of ctx.bootstrap_servers, or else the data directory
// (read-only for kRead: no lock, runs beside a writer; as the single writer otherwise, waiting
// up to ctx.lock_wait for another). A missing data directory fails with a clear message.
Result<std::unique_ptr<client::LogClient>> OpenClient(const CliContext& ctx, Access access);
// Where the log is, for messages: the data directory, or "the broker at HOST:PORT".
std::string LogLocation(const CliContext& ctx);

// A usage error detected after parsing (e.g. conflicting values): main() exits with code 2.
Status UsageError(std::string message);
bool IsUsageError(const Status& s);

void RegisterTopicCommands(CLI::App& app, CliContext& ctx);
void RegisterProduceCommand(CLI::App& app, CliContext& ctx);
void RegisterConsumeCommand(CLI::App& app, CliContext& ctx);
void RegisterGroupCommands(CLI::App& app, CliContext& ctx);
void RegisterDemoCommand(CLI::App& app, CliContext& ctx);
void RegisterRunCommand(CLI::App& app, CliContext& ctx);   // tools/cmd_run.cc
void RegisterJobCommands(CLI::App& app, CliContext& ctx);  // tools/cmd_job.cc
void RegisterServeCommand(CLI::App& app, CliContext& ctx);
void RegisterGenCommand(CLI::App& app, CliContext& ctx);     // tools/cmd_gen.cc
void RegisterUserCommands(CLI::App& app, CliContext& ctx);   // tools/cmd_user.cc
void RegisterStatusCommand(CLI::App& app, CliContext& ctx);  // tools/cmd_status.cc
void RegisterReportCommand(CLI::App& app, CliContext& ctx);  // tools/cmd_report.cc

}  // namespace sluice::tools
