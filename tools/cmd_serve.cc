// sluice serve: the data directory over the Kafka wire protocol (server/README.md).
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/log.h"
#include "server/kafka_server.h"
#include "tools/commands.h"

namespace sluice::tools {
namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:9092";
  std::string advertised;
  int32_t max_connections = 1000;
  int32_t default_partitions = 1;
  bool no_auto_create = false;
  int64_t idle_timeout_ms = 600000;
};

// Splits "HOST:PORT" (IPv6 as "[::1]:9092").
Status ParseHostPort(const std::string& flag, const std::string& s, std::string* host,
                     uint16_t* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
    return UsageError(fmt::format("{} '{}' must be HOST:PORT, e.g. 127.0.0.1:9092", flag, s));
  }
  *host = s.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  unsigned value = 0;
  std::string p = s.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || value > 65535) {
    return UsageError(fmt::format("{} '{}': port '{}' is not a number in 0..65535", flag, s, p));
  }
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

Status RunServe(const CliContext& ctx, const ServeArgs& args) {
  kafka::ServerOptions options;
  SLUICE_RETURN_IF_ERROR(
      ParseHostPort("--listen", args.listen, &options.listen_host, &options.listen_port));
  if (!args.advertised.empty()) {
    uint16_t port = 0;
    SLUICE_RETURN_IF_ERROR(
        ParseHostPort("--advertised", args.advertised, &options.advertised_host, &port));
    options.advertised_port = port;
  }
  if (args.max_connections < 1) return UsageError("--max-connections must be at least 1");
  if (args.default_partitions < 1) return UsageError("--partitions must be at least 1");
  options.max_connections = args.max_connections;
  options.default_partitions = args.default_partitions;
  options.auto_create_topics = !args.no_auto_create;
  options.idle_timeout = std::chrono::milliseconds(std::max<int64_t>(1, args.idle_timeout_ms));

  LogOptions log_options;
  log_options.data_dir = ctx.data_dir;
  log_options.lock_wait = ctx.lock_wait;
  log_options.lock_holder_label =
      fmt::format("sluice serve (Kafka protocol on {})", args.listen);
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, Log::Open(log_options));

  InstallInterruptHandler();
  auto server = kafka::KafkaServer::Start(log.get(), options);
  if (!server.ok()) {
    log->Close().IgnoreError();
    return server.status();
  }
  while (!Interrupted()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  (*server)->Stop();
  return log->Close();
}

}  // namespace

void RegisterServeCommand(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve the data directory to Kafka clients (kcat, librdkafka, kafka-python, "
               "kafkajs) over the Kafka wire protocol");
  cmd->add_option("--listen", args->listen,
                  "HOST:PORT to listen on (default 127.0.0.1:9092; loopback only unless you "
                  "choose otherwise)");
  cmd->add_option("--advertised", args->advertised,
                  "HOST:PORT clients are told to connect to (default: the listen address)");
  cmd->add_option("--max-connections", args->max_connections,
                  "Connections beyond this are closed (default 1000)");
  cmd->add_option("--partitions", args->default_partitions,
                  "Partitions of topics auto-created by producers (default 1)");
  cmd->add_flag("--no-auto-create", args->no_auto_create,
                "Do not create unknown topics on Metadata/Produce (Kafka auto.create.topics)");
  cmd->add_option("--idle-timeout-ms", args->idle_timeout_ms,
                  "Close connections idle this long (default 600000)");
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunServe(ctx, *args); }; });
}

}  // namespace sluice::tools
