// KafkaServer: the TCP listener of `sluice serve`: Kafka clients produce into and consume from
// the core Log.
//
// One io thread (standalone asio) owns every socket; requests run on a small worker pool
// (RequestHandler), so an fsync or a long-poll never stalls the network. Each connection has at
// most one request in flight: it stops reading after a whole request (muted, as Kafka does) and
// resumes after the response is written, which bounds its memory to one request plus one
// response and keeps responses in request order. Limits (ServerOptions): max connections (per
// address, and a reserve for loopback clients), max frame size, a global cap on buffered request
// bytes (back-pressure: reads pause), first-request, idle, per-request read and write deadlines.
//
// Thread safety: Start/Stop from one thread; accessors are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/log.h"
#include "core/metrics.h"
#include "core/status.h"
#include "server/server_options.h"

namespace sluice::kafka {

namespace internal {
class ServerImpl;
}

class KafkaServer {
 public:
  // Binds and starts serving `log` (which must outlive the server). kIOError naming the address
  // if it cannot listen (e.g. the port is taken).
  static Result<std::unique_ptr<KafkaServer>> Start(Log* log, const ServerOptions& options);
  ~KafkaServer();
  KafkaServer(const KafkaServer&) = delete;
  KafkaServer& operator=(const KafkaServer&) = delete;

  // The bound port (useful with listen_port 0).
  uint16_t port() const;
  // "host:port" clients are told to use.
  std::string advertised_address() const;

  struct Stats {
    int64_t connections_open = 0;
    int64_t connections_accepted = 0;
    // Closed right after accept: over max_connections (or its non-reserved part for a remote
    // client) or over max_connections_per_ip.
    int64_t connections_rejected = 0;
    // Closed for not completing a first request within first_request_timeout.
    int64_t first_request_timeouts = 0;
    int64_t requests = 0;
    // Request bytes held now (partial frames plus requests awaiting their response), the most
    // ever held (never above max_buffered_request_bytes), and how many reads waited for room.
    int64_t buffered_request_bytes = 0;
    int64_t peak_buffered_request_bytes = 0;
    int64_t reads_paused = 0;
  };
  Stats stats() const;

  // Appends the server's metrics for a Prometheus scrape: connections (open, accepted,
  // rejected), requests and errors per Kafka API, request/response bytes, Produce and Fetch
  // latency, and the log it serves (partitions, end offsets, fsync latency). Thread-safe; reads
  // counters, never waits for a request.
  void AppendMetrics(PrometheusText& out) const;

  // Stops accepting, answers held requests, closes every connection and joins the threads.
  // Idempotent; the destructor calls it. Does not close the Log.
  void Stop();

 private:
  explicit KafkaServer(std::unique_ptr<internal::ServerImpl> impl);
  std::unique_ptr<internal::ServerImpl> impl_;
};

}  // namespace sluice::kafka
