// Helpers shared by the command groups: opening the data directory, interrupts, usage errors.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <string_view>

#include "tools/commands.h"
#include "tools/owner.h"

namespace sluice::tools {
namespace {

std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted.store(true); }

constexpr std::string_view kUsagePrefix = "usage: ";

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status MissingDataDir(const CliContext& ctx) {
  return NotFound(
      "data directory '{}' does not exist; create a topic first with 'sluice topic create NAME "
      "--partitions N', or point --data (or $SLUICE_DATA) at an existing data directory",
      ctx.data_dir);
}

}  // namespace

bool Interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

void InstallInterruptHandler() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking read(2) on stdin returns EINTR and we notice
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

Result<std::unique_ptr<Log>> OpenReader(const CliContext& ctx) {
  if (!IsDirectory(ctx.data_dir)) return MissingDataDir(ctx);
  LogOptions options;
  options.data_dir = ctx.data_dir;
  options.read_only = true;
  return Log::Open(options);
}

Result<std::unique_ptr<Log>> OpenWriter(const CliContext& ctx, bool create_dir) {
  if (!create_dir && !IsDirectory(ctx.data_dir)) return MissingDataDir(ctx);
  LogOptions options;
  options.data_dir = ctx.data_dir;
  options.lock_wait = ctx.lock_wait;
  options.lock_holder_label = ctx.command_line;
  Result<std::unique_ptr<Log>> log = Log::Open(options);
  if (!log.ok() && log.status().code() == StatusCode::kUnavailable) {
    // Held by a process that serves the directory: say what to do instead of blaming the lock.
    Result<std::string> owner = FindOwner(ctx.data_dir, std::chrono::milliseconds(2000));
    if (owner.ok() && !owner->empty()) {
      return Unavailable(
          "data directory '{}' is served by another process at {} ({}); this command needs the "
          "directory itself: stop that process first, or run the job inside it with 'sluice serve "
          "--data {} --run JOB --input IN --output OUT', or run wordcount/balances over it with "
          "'sluice -b {} run JOB ...'; topic, produce, consume, group, gen and demo go through it "
          "as they are",
          ctx.data_dir, *owner, log.status().message(), ctx.data_dir, *owner);
    }
  }
  return log;
}

Result<std::unique_ptr<client::LogClient>> OpenClient(const CliContext& ctx, Access access) {
  client::ClientOptions options;
  options.client_id = ctx.command_line;
  if (!ctx.bootstrap_servers.empty()) {
    options.bootstrap_servers = ctx.bootstrap_servers;
    return client::OpenLogClient(options);
  }
  if (access != Access::kCreate && !IsDirectory(ctx.data_dir)) return MissingDataDir(ctx);
  options.data_dir = ctx.data_dir;
  options.read_only = access == Access::kRead;
  options.lock_wait = ctx.lock_wait;
  return client::OpenLogClient(options);
}

std::string LogLocation(const CliContext& ctx) {
  if (!ctx.bootstrap_servers.empty()) return "the broker at " + ctx.bootstrap_servers;
  return ctx.data_dir;
}

Status UsageError(std::string message) { return InvalidArgument("{}{}", kUsagePrefix, message); }

bool IsUsageError(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument &&
         std::string_view(s.message()).starts_with(kUsagePrefix);
}

}  // namespace sluice::tools
