// MetricsHttpServer: `--metrics-listen HOST:PORT` — serves GET /metrics in the Prometheus text
// exposition format (0.0.4) over HTTP/1.1 with standalone asio, on a thread of its own.
//
//   SLUICE_ASSIGN_OR_RETURN(auto metrics, MetricsHttpServer::Start("127.0.0.1:9464"));
//   metrics->AddSource([&](PrometheusText& out) { job->AppendMetrics(out); });
//   ...
//   metrics->Stop();  // before anything a source reads goes away
//
// Start binds before returning, so a bad address fails at once, before the caller starts
// anything else. A scrape runs every source on the server's thread; sources read atomics or take
// short locks, so a scrape never waits for the job's or the server's work. Each request is
// answered and its connection closed (Connection: close); other paths are 404, other methods
// 405. Thread safety: AddSource and Stop from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/metrics.h"
#include "core/status.h"

namespace sluice::tools {

class MetricsHttpServer {
 public:
  using Source = std::function<void(PrometheusText&)>;

  // Listens on `address` ("HOST:PORT"; HOST an IP address or localhost, PORT 0 picks a free
  // one). kInvalidArgument for a malformed address, kIOError naming it when it cannot listen.
  static Result<std::unique_ptr<MetricsHttpServer>> Start(const std::string& address);
  ~MetricsHttpServer();  // Stop
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // Adds what every later scrape appends (in the order added).
  void AddSource(Source source);
  // Stops serving and joins the thread; sources are never called again. Idempotent.
  void Stop();
  // "HOST:PORT" with the bound port.
  std::string address() const;

  class Impl;

 private:
  explicit MetricsHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::tools
