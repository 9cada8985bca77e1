// sluice serve: the data directory over the Kafka wire protocol (server/README.md).
//
// With --run wordcount|balances --input T --output T, a shipped pipeline job runs in the same
// process on the same Log, so Kafka clients produce its input and consume its output while it
// runs (the server holds the directory's only writer lock).
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/log.h"
#include "operators/topology_builder.h"
#include "runtime/job.h"
#include "server/auth/credentials.h"
#include "server/kafka_server.h"
#include "tools/commands.h"
#include "tools/job_runner.h"
#include "tools/job_status.h"
#include "tools/metrics_http.h"
#include "tools/owner.h"
#include "tools/shipped_jobs.h"

namespace sluice::tools {
namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:9092";
  std::string advertised;
  int32_t max_connections = 1000;
  int32_t max_connections_per_ip = kafka::ServerOptions{}.max_connections_per_ip;
  int32_t reserved_loopback_connections = kafka::ServerOptions{}.reserved_loopback_connections;
  int64_t first_request_timeout_ms = kafka::ServerOptions{}.first_request_timeout.count();
  int64_t max_buffered_request_bytes = kafka::ServerOptions{}.max_buffered_request_bytes;
  int64_t max_decoded_request_bytes = kafka::ServerOptions{}.max_decoded_request_bytes;
  int32_t default_partitions = 1;
  bool no_auto_create = false;
  int64_t idle_timeout_ms = 600000;
  // Security: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (default: SSL with --tls-cert, else
  // PLAINTEXT).
  std::string security_protocol;
  std::string sasl_mechanisms = "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512";
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  std::string tls_client_auth = "none";
  bool insecure = false;
  // --metrics-listen HOST:PORT: Prometheus metrics of the server, its log and the --run job.
  std::string metrics_listen;
  // --run: a shipped job in this process.
  std::string job;
  std::string input;
  std::string output;
  std::string app;
  std::string state_dir = "./sluice-state";
  int threads = 1;
};

std::string AppId(const ServeArgs& a) { return a.app.empty() ? "serve-" + a.job : a.app; }

// Builds and starts the --run job on `log`; creates a missing output topic like `sluice run`.
Result<std::unique_ptr<Job>> StartJob(const ServeArgs& a, Log* log) {
  TopologyBuilder b;
  if (!AddSimpleJob(b, a.job, a.input, a.output)) {
    return UsageError(fmt::format(
        "--run '{}': serve can run wordcount or balances in-process; run other jobs with "
        "`sluice run` on a separate data directory",
        a.job));
  }
  SLUICE_ASSIGN_OR_RETURN(Topology topology, b.Build());
  if (!log->HasTopic(a.input)) {
    return NotFound(
        "--input topic '{}' does not exist; create it first (sluice topic create {} "
        "--partitions N, before starting serve)",
        a.input, a.input);
  }
  SLUICE_ASSIGN_OR_RETURN(TopicConfig in, log->DescribeTopic(a.input));
  SLUICE_RETURN_IF_ERROR(EnsureOutputTopic(*log, a.output, in.partitions, /*quiet=*/true));
  JobOptions o;
  o.application_id = AppId(a);
  o.log = log;
  o.state_dir = a.state_dir;
  o.threads = a.threads;
  return Job::Start(o, std::move(topology));
}

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

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host.starts_with("127.") || host == "::1";
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// --security-protocol, --sasl-mechanisms, --tls-*, --insecure → options. Loads the credentials
// when SASL is on.
Status ConfigureSecurity(const CliContext& ctx, const ServeArgs& args,
                         kafka::ServerOptions* options) {
  std::string protocol = args.security_protocol;
  if (protocol.empty()) protocol = args.tls_cert.empty() ? "PLAINTEXT" : "SSL";
  if (protocol != "PLAINTEXT" && protocol != "SSL" && protocol != "SASL_PLAINTEXT" &&
      protocol != "SASL_SSL") {
    return UsageError(fmt::format(
        "--security-protocol '{}': use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", protocol));
  }
  const bool tls = protocol == "SSL" || protocol == "SASL_SSL";
  const bool sasl = protocol.starts_with("SASL_");
  if (tls && (args.tls_cert.empty() || args.tls_key.empty())) {
    return UsageError(
        fmt::format("--security-protocol {} needs --tls-cert FILE and --tls-key FILE", protocol));
  }
  if (!tls && (!args.tls_cert.empty() || !args.tls_key.empty() || !args.tls_ca.empty())) {
    return UsageError(fmt::format(
        "--tls-* options with --security-protocol {}: use SSL or SASL_SSL to enable TLS",
        protocol));
  }
  if (args.tls_client_auth == "required") {
    options->tls_client_auth = kafka::ServerOptions::TlsClientAuth::kRequired;
  } else if (args.tls_client_auth == "requested") {
    options->tls_client_auth = kafka::ServerOptions::TlsClientAuth::kRequested;
  } else if (args.tls_client_auth != "none") {
    return UsageError(fmt::format("--tls-client-auth '{}': use required, requested or none",
                                  args.tls_client_auth));
  }
  if (options->tls_client_auth != kafka::ServerOptions::TlsClientAuth::kNone &&
      args.tls_ca.empty()) {
    return UsageError(
        "--tls-client-auth required|requested needs --tls-ca FILE (the CA that signs client "
        "certificates)");
  }
  if (tls) {
    options->tls_cert_file = args.tls_cert;
    options->tls_key_file = args.tls_key;
    options->tls_ca_file = args.tls_ca;
  }
  if (!sasl && !IsLoopbackHost(options->listen_host) && !args.insecure) {
    return UsageError(fmt::format(
        "--listen {} accepts clients from other hosts, and --security-protocol {} lets anyone "
        "who reaches the port create, delete, read and write every topic. Use "
        "--security-protocol SASL_SSL (see `sluice user add`), or pass --insecure to do it "
        "anyway",
        args.listen, protocol));
  }
  if (!sasl) return Status::Ok();
  for (const std::string& m : SplitCommas(args.sasl_mechanisms)) {
    if (m != "PLAIN" && !kafka::auth::ParseScramMechanism(m)) {
      return UsageError(fmt::format(
          "--sasl-mechanisms: '{}' is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", m));
    }
    options->sasl_mechanisms.push_back(m);
  }
  if (options->sasl_mechanisms.empty()) {
    return UsageError(
        "--sasl-mechanisms is empty: name at least one of PLAIN, SCRAM-SHA-256, "
        "SCRAM-SHA-512");
  }
  SLUICE_ASSIGN_OR_RETURN(kafka::auth::CredentialStore store,
                          kafka::auth::CredentialStore::Load(ctx.data_dir));
  if (store.users().empty()) {
    return UsageError(fmt::format(
        "--security-protocol {}: {} has no users, so nobody could log in; add one with "
        "`sluice user add NAME --data {}` and grant it permissions with `sluice user grant`",
        protocol, kafka::auth::CredentialStore::PathIn(ctx.data_dir), ctx.data_dir));
  }
  options->credentials = std::make_shared<const kafka::auth::CredentialStore>(std::move(store));
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
  if (!args.job.empty() && (args.input.empty() || args.output.empty())) {
    return UsageError(fmt::format("--run {} needs --input and --output", args.job));
  }
  if (args.threads < 1) return UsageError("--threads must be 1 or more");
  if (args.max_connections_per_ip < 1)
    return UsageError("--max-connections-per-ip must be at least 1");
  options.max_connections = args.max_connections;
  options.max_connections_per_ip = args.max_connections_per_ip;
  if (args.reserved_loopback_connections < 0)
    return UsageError("--reserved-loopback-connections must be 0 or more");
  options.reserved_loopback_connections = args.reserved_loopback_connections;
  options.first_request_timeout =
      std::chrono::milliseconds(std::max<int64_t>(1, args.first_request_timeout_ms));
  options.max_buffered_request_bytes = args.max_buffered_request_bytes;
  options.max_decoded_request_bytes = args.max_decoded_request_bytes;
  options.default_partitions = args.default_partitions;
  options.auto_create_topics = !args.no_auto_create;
  options.idle_timeout = std::chrono::milliseconds(std::max<int64_t>(1, args.idle_timeout_ms));
  SLUICE_RETURN_IF_ERROR(ConfigureSecurity(ctx, args, &options));

  if (!args.job.empty()) {
    // Deleting a topic the job reads or writes would pull its partitions from under it.
    options.topic_in_use =
        TopicsOfSimpleJob(args.job, AppId(args), args.input, args.output, "this server");
  }

  // Bound before anything starts: a bad address is an error with nothing to undo.
  std::unique_ptr<MetricsHttpServer> metrics;
  if (!args.metrics_listen.empty()) {
    SLUICE_ASSIGN_OR_RETURN(metrics, MetricsHttpServer::Start(args.metrics_listen));
  }

  LogOptions log_options;
  log_options.data_dir = ctx.data_dir;
  log_options.lock_wait = ctx.lock_wait;
  log_options.lock_holder_label = fmt::format("sluice serve (Kafka protocol on {})", args.listen);
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, Log::Open(log_options));

  InstallInterruptHandler();
  // Other `sluice` commands on this directory find the server in OWNER and go through it.
  // With --run, its application runs here: a second instance of it is refused (tools/run_job.h).
  std::vector<std::string> apps;
  if (!args.job.empty()) apps.push_back(AppId(args));
  auto server = ServeDirectory(log.get(), options, ctx.data_dir, apps);
  if (!server.ok()) {
    log->Close().IgnoreError();
    return server.status();
  }
  std::unique_ptr<Job> job;
  std::unique_ptr<JobStatusReporter> job_status_file;
  // Stops the scrapes before the job, the server or the log they read go away, on every path.
  struct StopScrapes {
    MetricsHttpServer* m;
    ~StopScrapes() {
      if (m) m->Stop();
    }
  } stop_scrapes{metrics.get()};
  if (metrics) {
    metrics->AddSource([s = server->get()](PrometheusText& out) { s->AppendMetrics(out); });
    fmt::print(stderr, "sluice serve: metrics at http://{}/metrics\n", metrics->address());
  }
  if (!args.job.empty()) {
    auto started = StartJob(args, log.get());
    if (!started.ok()) {
      StopServing(server->get(), ctx.data_dir);
      log->Close().IgnoreError();
      return started.status();
    }
    job = std::move(started).value();
    if (metrics) {
      metrics->AddSource([j = job.get()](PrometheusText& out) { j->AppendMetrics(out); });
    }
    job_status_file =
        std::make_unique<JobStatusReporter>(ctx.data_dir, AppId(args), args.job, job.get(),
                                            metrics ? metrics->address() : std::string());
    fmt::print(stderr, "sluice serve: running job {} ({} -> {}) in this process\n", args.job,
               args.input, args.output);
  }
  while (!Interrupted() && (!job || job->metrics().running)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Status job_status;
  if (job) {
    job->Stop();
    job_status = job->Wait();
    if (metrics) metrics->Stop();
    job_status_file->Finish(job_status);
    job.reset();
  }
  StopServing(server->get(), ctx.data_dir);
  Status closed = log->Close();
  if (!job_status.ok()) return job_status.WithContext(fmt::format("job {}", args.job));
  return closed;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve the data directory to Kafka clients (kcat, librdkafka, kafka-python, "
      "kafkajs) over the Kafka wire protocol");
  cmd->add_option("--listen", args->listen,
                  "HOST:PORT to listen on (default 127.0.0.1:9092; loopback only unless you "
                  "choose otherwise)");
  cmd->add_option("--advertised", args->advertised,
                  "HOST:PORT clients are told to connect to (default: the listen address)");
  cmd->add_option("--max-connections", args->max_connections,
                  "Connections beyond this are closed (default 1000)");
  cmd->add_option("--max-connections-per-ip", args->max_connections_per_ip,
                  "Connections from one client address beyond this are closed (default 100)");
  cmd->add_option("--reserved-loopback-connections", args->reserved_loopback_connections,
                  "The last N of --max-connections only accept clients on this host, so an "
                  "operator can always connect (default 10, at most half)");
  cmd->add_option("--first-request-timeout-ms", args->first_request_timeout_ms,
                  "Close connections that send no complete request this long after connecting "
                  "(default 10000)");
  cmd->add_option("--max-buffered-request-bytes", args->max_buffered_request_bytes,
                  "Cap on request bytes held across all connections; reads pause beyond it "
                  "(default 209715200, at least the 100 MiB frame limit + 4)");
  cmd->add_option("--max-decoded-request-bytes", args->max_decoded_request_bytes,
                  "Cap on what one request may take in memory once decoded; larger requests are "
                  "refused (default 134217728, at least the 100 MiB frame limit)");
  cmd->add_option("--partitions", args->default_partitions,
                  "Partitions of topics auto-created by producers (default 1)");
  cmd->add_flag("--no-auto-create", args->no_auto_create,
                "Do not create unknown topics on Metadata/Produce (Kafka auto.create.topics)");
  cmd->add_option("--idle-timeout-ms", args->idle_timeout_ms,
                  "Close connections idle this long (default 600000)");
  cmd->add_option("--security-protocol", args->security_protocol,
                  "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (default SSL with --tls-cert, "
                  "else PLAINTEXT)");
  cmd->add_option("--sasl-mechanisms", args->sasl_mechanisms,
                  "SASL_*: comma-separated mechanisms to enable (default "
                  "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512; users from `sluice user add`)");
  cmd->add_option("--tls-cert", args->tls_cert, "SSL/SASL_SSL: PEM certificate (chain) file");
  cmd->add_option("--tls-key", args->tls_key, "SSL/SASL_SSL: PEM private key file");
  cmd->add_option("--tls-ca", args->tls_ca,
                  "SSL/SASL_SSL: PEM file of CAs that client certificates must chain to");
  cmd->add_option("--tls-client-auth", args->tls_client_auth,
                  "required, requested or none (default): ask clients for a certificate");
  cmd->add_flag("--insecure", args->insecure,
                "Allow listening on a non-loopback address without SASL authentication");
  cmd->add_option("--metrics-listen", args->metrics_listen,
                  "Serve Prometheus metrics (requests, log, the --run job) at "
                  "http://HOST:PORT/metrics (port 0: a free one, printed at start)");
  cmd->add_option("--run", args->job,
                  "Also run a shipped job in this process on the same log: wordcount or "
                  "balances (needs --input and --output)");
  cmd->add_option("--input", args->input, "--run: the job's input topic (must exist)");
  cmd->add_option("--output", args->output,
                  "--run: the job's output topic (created with the input's partitions)");
  cmd->add_option("--app", args->app, "--run: application id (default serve-<job>)");
  cmd->add_option("--state", args->state_dir, "--run: state directory (default ./sluice-state)");
  cmd->add_option("--threads", args->threads, "--run: job threads (default 1)");
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunServe(ctx, *args); }; });
}

}  // namespace sluice::tools
