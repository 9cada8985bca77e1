// ApiVersions (18) v0..3, Metadata (3) v0..4, CreateTopics (19) v0..4, DeleteTopics (20) v0..1 and
// InitProducerId (22) v0..1. Layouts: Apache Kafka's definitions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/protocol/wire_reader.h"
#include "server/protocol/wire_writer.h"

namespace sluice::kafka {

struct ApiVersionsRequest {
  std::string client_software_name;     // v3+
  std::string client_software_version;  // v3+

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct ApiVersionsResponse {
  struct ApiVersion {
    int16_t api_key = 0;
    int16_t min_version = 0;
    int16_t max_version = 0;
  };
  int16_t error_code = 0;
  std::vector<ApiVersion> api_keys;
  int32_t throttle_time_ms = 0;  // v1+

  // The table of SupportedApis() with the given error code; SaslHandshake and SaslAuthenticate
  // only `with_sasl` (a listener without SASL advertises exactly what it did before SASL).
  static ApiVersionsResponse Supported(int16_t error_code, bool with_sasl = false);
  // v3 is compact with tagged fields; the response header is v0 for every version.
  void Encode(WireWriter& w, int16_t version) const;
};

struct MetadataRequest {
  // nullopt = all topics (v1+ null array; v0 empty array also means all).
  std::optional<std::vector<std::string>> topics;
  bool allow_auto_topic_creation = true;  // v4+

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct MetadataResponse {
  struct Broker {
    int32_t node_id = 0;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;  // v1+
  };
  struct Partition {
    int16_t error_code = 0;
    int32_t partition_index = 0;
    int32_t leader_id = 0;
    std::vector<int32_t> replica_nodes;
    std::vector<int32_t> isr_nodes;
  };
  struct Topic {
    int16_t error_code = 0;
    std::string name;
    bool is_internal = false;  // v1+
    std::vector<Partition> partitions;
  };
  int32_t throttle_time_ms = 0;  // v3+
  std::vector<Broker> brokers;
  std::optional<std::string> cluster_id;  // v2+
  int32_t controller_id = -1;             // v1+
  std::vector<Topic> topics;

  void Encode(WireWriter& w, int16_t version) const;
};

struct CreateTopicsRequest {
  struct Assignment {
    int32_t partition_index = 0;
    std::vector<int32_t> broker_ids;
  };
  struct Config {
    std::string name;
    std::optional<std::string> value;
  };
  struct Topic {
    std::string name;
    int32_t num_partitions = -1;
    int16_t replication_factor = -1;
    std::vector<Assignment> assignments;
    std::vector<Config> configs;
  };
  std::vector<Topic> topics;
  int32_t timeout_ms = 0;
  bool validate_only = false;  // v1+

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct CreateTopicsResponse {
  struct Result {
    std::string name;
    int16_t error_code = 0;
    std::optional<std::string> error_message;  // v1+
  };
  int32_t throttle_time_ms = 0;  // v2+
  std::vector<Result> topics;

  void Encode(WireWriter& w, int16_t version) const;
};

struct DeleteTopicsRequest {
  std::vector<std::string> topic_names;
  int32_t timeout_ms = 0;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct DeleteTopicsResponse {
  struct Result {
    std::string name;
    int16_t error_code = 0;
  };
  int32_t throttle_time_ms = 0;  // v1+
  std::vector<Result> responses;

  void Encode(WireWriter& w, int16_t version) const;
};

struct InitProducerIdRequest {
  std::optional<std::string> transactional_id;
  int32_t transaction_timeout_ms = 0;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct InitProducerIdResponse {
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;

  void Encode(WireWriter& w, int16_t version) const;
};

}  // namespace sluice::kafka
