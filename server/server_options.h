// Options of the Kafka-protocol server (`sluice serve`). Every field has its default in the
// comment; the defaults follow Apache Kafka's broker defaults where one exists.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/kafka_group_coordinator.h"

namespace sluice::kafka::auth {
class CredentialStore;
}  // namespace sluice::kafka::auth

namespace sluice::kafka {

struct ServerOptions {
  // Address to listen on. Default 127.0.0.1 (loopback only; listening elsewhere is a choice).
  std::string listen_host = "127.0.0.1";
  // Port to listen on; 0 picks a free one (tests). Default 9092.
  uint16_t listen_port = 9092;
  // host:port clients are told to connect to (Metadata, FindCoordinator). Default: the listen
  // host (127.0.0.1 when listening on 0.0.0.0/::) and the bound port.
  std::string advertised_host;
  int32_t advertised_port = 0;
  // Our broker id in Metadata. Default 1.
  int32_t node_id = 1;
  // Cluster id in Metadata v2+. Default "sluice".
  std::string cluster_id = "sluice";

  // Connections beyond this are closed right after accept. Default 1000.
  int32_t max_connections = 1000;
  // Connections from one client IP beyond this are closed right after accept (Kafka
  // max.connections.per.ip). Well below max_connections, so one address cannot take every slot
  // and lock the others out. Default 100.
  int32_t max_connections_per_ip = 100;
  // The last this many of max_connections only accept loopback clients (127.0.0.0/8, ::1), so an
  // operator on the server's host can always connect while remote clients hold every other
  // slot. At most half of max_connections is reserved whatever this says. Default 10.
  int32_t reserved_loopback_connections = 10;
  // A connection that has not completed its first request within this of being accepted is
  // closed, so connections that never speak free their slot quickly instead of after
  // idle_timeout. Default 10 s.
  std::chrono::milliseconds first_request_timeout{10000};
  // Cap on the bytes of requests held by the whole server: partial frames buffered from sockets
  // plus whole requests until their response is written. When a read would go past it, that
  // connection stops reading (its bytes wait in its fixed read buffer) until others release
  // memory; stalled partial frames are ended by request_read_timeout. Must be at least
  // max_frame_bytes + 4 so any single request can complete. Default 200 MiB.
  int64_t max_buffered_request_bytes = int64_t{200} << 20;
  // Cap on what one request may take in memory once decoded (array elements at their in-memory
  // size plus copied strings and records; small wire elements decode to several times their
  // size). A request over it is refused before the allocation and its connection closed. Must be
  // at least max_frame_bytes, as a request's copied records alone take about its wire size.
  // Default 128 MiB.
  int64_t max_decoded_request_bytes = int64_t{128} << 20;
  // Largest request frame (Kafka socket.request.max.bytes). Default 100 MiB.
  int32_t max_frame_bytes = 100 << 20;
  // A connection with no request in progress is closed after this (connections.max.idle.ms).
  // Default 10 min.
  std::chrono::milliseconds idle_timeout{600000};
  // Once the first byte of a request arrives, the whole request must arrive within this, or the
  // connection is closed (defeats slow trickling). Default 30 s.
  std::chrono::milliseconds request_read_timeout{30000};
  // A response the client does not read within this closes the connection. Default 30 s.
  std::chrono::milliseconds write_timeout{30000};
  // Cap on one Fetch response's record bytes, whatever the client asks (fetch.max.bytes).
  // Default 50 MiB.
  int32_t max_fetch_bytes = 50 << 20;
  // Threads that run requests (appends may wait for fsync). Default 4.
  int32_t worker_threads = 4;

  // Create unknown topics on Metadata/Produce, as Kafka's auto.create.topics.enable. Default on.
  bool auto_create_topics = true;
  // Partitions of auto-created topics and of CreateTopics with num_partitions -1. Default 1.
  int32_t default_partitions = 1;
  // Upper bound on the number of topics (CreateTopics and auto-create beyond it fail with
  // POLICY_VIOLATION). Default 10000.
  int32_t max_topics = 10000;
  // Upper bound on partitions per topic created over the wire. Default 1000.
  int32_t max_partitions_per_topic = 1000;

  GroupCoordinatorOptions groups;

  // SASL (SASL_PLAINTEXT / SASL_SSL listeners). When not empty, a connection must authenticate
  // with one of these mechanisms ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") before any API
  // other than ApiVersions, SaslHandshake and SaslAuthenticate, and every request is checked
  // against the principal's permissions in `credentials`. Default: none (no authentication, no
  // permission checks, the SASL APIs are neither advertised nor served).
  std::vector<std::string> sasl_mechanisms;
  // Users, credentials and permissions (<data>/credentials); required with sasl_mechanisms.
  std::shared_ptr<const auth::CredentialStore> credentials;

  // TLS (SSL / SASL_SSL listeners): PEM certificate chain and private key files. Both empty =
  // plaintext. Default: plaintext.
  std::string tls_cert_file;
  std::string tls_key_file;
  // PEM file of the CAs client certificates must chain to (needed for client auth).
  std::string tls_ca_file;
  enum class TlsClientAuth { kNone, kRequested, kRequired };
  // Whether clients are asked for a certificate (ssl.client.auth). Default none.
  TlsClientAuth tls_client_auth = TlsClientAuth::kNone;
  bool tls_enabled() const { return !tls_cert_file.empty(); }

  // Says who uses a topic that must not be deleted (for example "job wordcount, running in this
  // server" for the input, output and repartition topics of `sluice serve --run`), or "" when
  // nobody does. DeleteTopics of a topic in use fails with POLICY_VIOLATION and a log line.
  // Default: none (every topic may be deleted).
  std::function<std::string(std::string_view topic)> topic_in_use;

  // Receives one line per start, stop and client error. Default: stderr with a timestamp.
  std::function<void(std::string_view)> log_line;
  // Client-error lines beyond this many per second are counted and summarised. Default 20.
  int32_t max_error_lines_per_second = 20;
};

}  // namespace sluice::kafka
