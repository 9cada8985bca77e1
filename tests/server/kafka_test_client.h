// Test helpers: an in-process KafkaServer on an ephemeral loopback port over a temporary data
// directory, and a blocking raw-socket Kafka client with timeouts.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/log.h"
#include "server/kafka_server.h"
#include "server/protocol/request.h"

namespace sluice::kafka::testing {

// A connected TCP socket to 127.0.0.1:port.
class RawClient {
 public:
  // `source_ip`: a local address to connect from (e.g. "127.0.0.2"); default any.
  explicit RawClient(uint16_t port, const char* source_ip = nullptr);
  ~RawClient();
  bool connected() const { return fd_ >= 0; }
  // Sends bytes; false if the peer closed.
  bool Send(std::string_view bytes);
  // Sends a request frame built from a typed body.
  bool SendRequest(int16_t api_version, const RequestBody& body, int32_t correlation_id = 1);
  // Reads one response frame (without size prefix); nullopt on close or timeout.
  std::optional<std::string> ReadFrame(
      std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // True if the server closes the connection within `timeout` (reads and drops any data).
  bool WaitClosed(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void Close();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Runs a KafkaServer over a fresh data directory under the test's temp dir.
class ServerFixture {
 public:
  explicit ServerFixture(ServerOptions options = {}, std::string data_dir = "");
  ~ServerFixture();
  uint16_t port() const { return server_->port(); }
  Log& log() { return *log_; }
  KafkaServer& server() { return *server_; }
  const std::string& data_dir() const { return data_dir_; }
  // Starts a new client connection.
  std::unique_ptr<RawClient> Connect() { return std::make_unique<RawClient>(port()); }

 private:
  std::string data_dir_;
  std::unique_ptr<Log> log_;
  std::unique_ptr<KafkaServer> server_;
};

// A one-record uncompressed RecordBatch v2 with a valid CRC.
std::string MakeBatch(std::string_view value, int records = 1);

// Peak resident set size of this process in KiB.
long PeakRssKib();

}  // namespace sluice::kafka::testing
