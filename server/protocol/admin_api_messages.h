// The admin APIs Kafka's admin clients call beyond topic creation: DeleteRecords (21) v0..2,
// DescribeConfigs (32) v0..4, AlterConfigs (33) v0..2, DeleteGroups (42) v0..2,
// IncrementalAlterConfigs (44) v0..1, OffsetDelete (47) v0 and DescribeCluster (60) v0..1.
// Layouts: Apache Kafka's message definitions (clients/src/main/resources/common/message/
// <Name>Request.json / <Name>Response.json); the flexible versions (compact strings and arrays,
// tagged fields) are the ones those files list.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/protocol/wire_reader.h"
#include "server/protocol/wire_writer.h"

namespace sluice::kafka {

// Kafka's ConfigResource.Type and DescribeConfigsResponse ConfigSource values.
inline constexpr int8_t kResourceTopic = 2;
inline constexpr int8_t kResourceBroker = 4;
inline constexpr int8_t kConfigSourceDynamicTopic = 1;
inline constexpr int8_t kConfigSourceStaticBroker = 4;
inline constexpr int8_t kConfigSourceDefault = 5;

struct DeleteRecordsRequest {
  struct Partition {
    int32_t partition_index = 0;
    int64_t offset = 0;  // -1: the high watermark
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
  int32_t timeout_ms = 0;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct DeleteRecordsResponse {
  struct Partition {
    int32_t partition_index = 0;
    int64_t low_watermark = -1;
    int16_t error_code = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;

  void Encode(WireWriter& w, int16_t version) const;
};

struct DescribeConfigsRequest {
  struct Resource {
    int8_t resource_type = 0;
    std::string resource_name;
    std::optional<std::vector<std::string>> configuration_keys;  // null: every key
  };
  std::vector<Resource> resources;
  bool include_synonyms = false;       // v1+
  bool include_documentation = false;  // v3+

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct DescribeConfigsResponse {
  struct Synonym {
    std::string name;
    std::optional<std::string> value;
    int8_t source = 0;
  };
  struct Config {
    std::string name;
    std::optional<std::string> value;
    bool read_only = false;
    bool is_default = false;    // v0 only
    int8_t config_source = -1;  // v1+
    bool is_sensitive = false;
    std::vector<Synonym> synonyms;             // v1+
    int8_t config_type = 0;                    // v3+
    std::optional<std::string> documentation;  // v3+
  };
  struct Result {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    int8_t resource_type = 0;
    std::string resource_name;
    std::vector<Config> configs;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Result> results;

  void Encode(WireWriter& w, int16_t version) const;
};

struct AlterConfigsRequest {
  struct Config {
    std::string name;
    std::optional<std::string> value;
  };
  struct Resource {
    int8_t resource_type = 0;
    std::string resource_name;
    std::vector<Config> configs;
  };
  std::vector<Resource> resources;
  bool validate_only = false;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

// The response of AlterConfigs (flexible from v2) and IncrementalAlterConfigs (from v1).
struct AlterConfigsResponse {
  struct Result {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    int8_t resource_type = 0;
    std::string resource_name;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Result> responses;

  void Encode(WireWriter& w, int16_t version) const { EncodeAs(w, version >= 2); }
  void EncodeAs(WireWriter& w, bool flexible) const;
};

struct IncrementalAlterConfigsRequest {
  // Kafka's AlterConfigOp.OpType.
  enum Op : int8_t { kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3 };
  struct Config {
    std::string name;
    int8_t config_operation = kSet;
    std::optional<std::string> value;
  };
  struct Resource {
    int8_t resource_type = 0;
    std::string resource_name;
    std::vector<Config> configs;
  };
  std::vector<Resource> resources;
  bool validate_only = false;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct IncrementalAlterConfigsResponse : AlterConfigsResponse {
  void Encode(WireWriter& w, int16_t version) const { EncodeAs(w, version >= 1); }
};

struct DeleteGroupsRequest {
  std::vector<std::string> groups_names;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct DeleteGroupsResponse {
  struct Result {
    std::string group_id;
    int16_t error_code = 0;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Result> results;

  void Encode(WireWriter& w, int16_t version) const;
};

struct OffsetDeleteRequest {
  struct Topic {
    std::string name;
    std::vector<int32_t> partitions;
  };
  std::string group_id;
  std::vector<Topic> topics;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct OffsetDeleteResponse {
  struct Partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  int16_t error_code = 0;
  int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;

  void Encode(WireWriter& w, int16_t version) const;
};

struct DescribeClusterRequest {
  bool include_cluster_authorized_operations = false;
  int8_t endpoint_type = 1;  // v1+: 1 brokers, 2 controllers

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct DescribeClusterResponse {
  struct Broker {
    int32_t broker_id = 0;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  int8_t endpoint_type = 1;  // v1+
  std::string cluster_id;
  int32_t controller_id = -1;
  std::vector<Broker> brokers;
  int32_t cluster_authorized_operations = INT32_MIN;

  void Encode(WireWriter& w, int16_t version) const;
};

}  // namespace sluice::kafka
