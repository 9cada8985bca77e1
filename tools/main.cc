// sluice: the command line of the Sluice log.
//
// Exit codes: 0 success; 2 usage error (unknown command or option, a missing or conflicting
// option, a non-number where a number belongs, a bad --format or time); 1 any other error, with
// one line on stderr that says what went wrong and what to do.
//
// Environment: SLUICE_DATA (default data directory), SLUICE_LOCK_WAIT_MS (how long a writing
// command waits for another writer to finish; default 3000).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tools/commands.h"
#include "tools/owner.h"

namespace {

// The command path the user was in when parsing failed ("sluice topic create").
std::string CommandPath(CLI::App& app) {
  std::string path = "sluice";
  CLI::App* cur = &app;
  while (true) {
    auto subs = cur->get_subcommands();
    if (subs.empty()) break;
    cur = subs.front();
    path += " " + cur->get_name();
  }
  return path;
}

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// CLI11 reads integers with base prefixes ("0x10" is 16, "010" is 8). Every integer option of
// every command takes plain decimal only: an optional '-' and digits ("010" is 10).
void RequireDecimalIntegers(CLI::App* app) {
  static const CLI::Validator kDecimal(
      [](std::string& s) -> std::string {
        size_t i = !s.empty() && s[0] == '-' ? 1 : 0;
        bool ok = i < s.size();
        for (; ok && i < s.size(); ++i) ok = s[i] >= '0' && s[i] <= '9';
        if (!ok) return fmt::format("'{}' is not a valid number (use decimal digits)", s);
        // Leading zeros would make CLI11 read the rest as octal.
        size_t sign = s[0] == '-' ? 1 : 0;
        size_t zeros = s.find_first_not_of('0', sign);
        if (zeros == std::string::npos) zeros = s.size() - 1;
        s.erase(sign, zeros - sign);
        return std::string();
      },
      "");
  for (CLI::Option* opt : app->get_options()) {
    std::string type = opt->get_type_name();
    if (type.starts_with("INT") || type.starts_with("UINT")) opt->transform(kDecimal);
  }
  for (CLI::App* sub : app->get_subcommands({})) RequireDecimalIntegers(sub);
}

}  // namespace

int main(int argc, char** argv) {
  sluice::tools::CliContext ctx;
  ctx.command_line = "sluice";
  for (int i = 1; i < argc; ++i) ctx.command_line += std::string(" ") + argv[i];
  if (const char* env = std::getenv("SLUICE_DATA"); env != nullptr && *env != '\0') {
    ctx.data_dir = env;
    ctx.data_dir_given = true;
  }

  if (const char* wait = std::getenv("SLUICE_LOCK_WAIT_MS"); wait != nullptr && *wait != '\0') {
    char* end = nullptr;
    long long ms = std::strtoll(wait, &end, 10);
    if (*end != '\0' || ms < 0) {
      fmt::print(stderr, "sluice: SLUICE_LOCK_WAIT_MS='{}' is not a number of milliseconds\n",
                 wait);
      return 2;
    }
    ctx.lock_wait = std::chrono::milliseconds(ms);
  }

  CLI::App app{"sluice: a partitioned log and stream processor", "sluice"};
  app.fallthrough();  // global options (--data) may follow the subcommand
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  auto* data = app.add_option("--data", ctx.data_dir,
                              "Data directory (default ./sluice-data, or $SLUICE_DATA)");
  app.add_option("--bootstrap-server,-b", ctx.bootstrap_servers,
                 "HOST:PORT of a Kafka broker (`sluice serve` or any Kafka cluster) to go through "
                 "instead of opening the data directory (topic, produce, consume, group, gen)");

  sluice::tools::RegisterTopicCommands(app, ctx);
  sluice::tools::RegisterProduceCommand(app, ctx);
  sluice::tools::RegisterConsumeCommand(app, ctx);
  sluice::tools::RegisterGroupCommands(app, ctx);
  sluice::tools::RegisterDemoCommand(app, ctx);
  sluice::tools::RegisterRunCommand(app, ctx);
  sluice::tools::RegisterJobCommands(app, ctx);
  sluice::tools::RegisterServeCommand(app, ctx);
  sluice::tools::RegisterGenCommand(app, ctx);
  sluice::tools::RegisterUserCommands(app, ctx);
  sluice::tools::RegisterStatusCommand(app, ctx);
  sluice::tools::RegisterReportCommand(app, ctx);
  // Later command groups (sluice run, sluice job, ...) register here, one line each.
  RequireDecimalIntegers(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string where = CommandPath(app);
    std::string msg = OneLine(e.what());
    // CLI11 says "Could not convert: --partitions = abc"; say what is wrong instead.
    constexpr std::string_view kConvert = "Could not convert: ";
    if (std::string_view(msg).starts_with(kConvert)) {
      std::string rest = msg.substr(kConvert.size());
      if (size_t eq = rest.find(" = "); eq != std::string::npos) {
        msg =
            fmt::format("{}: '{}' is not a valid number", rest.substr(0, eq), rest.substr(eq + 3));
      }
    }
    fmt::print(stderr, "{}: {}; run '{} --help' for usage\n", where, msg, where);
    return 2;
  }
  if (data->count() > 0) ctx.data_dir_given = true;
  if (ctx.data_dir.empty()) {
    fmt::print(stderr, "sluice: --data is empty; give a directory path\n");
    return 2;
  }
  if (!ctx.bootstrap_servers.empty()) {
    // Only the commands that go through a LogClient can use a broker; the others would quietly
    // open the data directory instead.
    std::string where = CommandPath(app);
    bool supported = false;
    for (std::string_view cmd :
         {"sluice topic", "sluice produce", "sluice consume", "sluice group", "sluice gen",
          "sluice run", "sluice demo", "sluice job", "sluice status", "sluice report"}) {
      if (where.starts_with(cmd)) supported = true;
    }
    if (!supported) {
      fmt::print(
          stderr,
          "{}: --bootstrap-server is not supported by this command yet (it works with "
          "topic, produce, consume, group, gen, run, demo and job); run it without -b on the data "
          "directory\n",
          where);
      return 2;
    }
  }
  if (ctx.bootstrap_servers.empty() && ctx.action) {
    // Whoever owns the data directory serves it: the log commands go through its server.
    std::string where = CommandPath(app);
    for (std::string_view cmd :
         {"sluice topic", "sluice produce", "sluice consume", "sluice group", "sluice gen",
          "sluice demo", "sluice job", "sluice status", "sluice report"}) {
      if (!where.starts_with(cmd)) continue;
      // demo without --data makes a temporary directory of its own, which nobody serves.
      if (cmd == "sluice demo" && !ctx.data_dir_given) continue;
      sluice::Result<std::string> owner =
          sluice::tools::FindOwner(ctx.data_dir, std::chrono::milliseconds(5000));
      if (!owner.ok()) {
        fmt::print(stderr, "sluice: {}\n", OneLine(owner.status().message()));
        return 1;
      }
      ctx.bootstrap_servers = *owner;
    }
  }
  if (!ctx.action) {
    fmt::print(stderr, "sluice: no command given; run 'sluice --help' for usage\n");
    return 2;
  }
  sluice::Status s = ctx.action();
  std::fflush(stdout);
  if (!s.ok()) {
    fmt::print(stderr, "sluice: {}\n", OneLine(s.message()));
    return sluice::tools::IsUsageError(s) ? 2 : 1;
  }
  return 0;
}
