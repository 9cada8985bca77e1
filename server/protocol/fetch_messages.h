// Fetch (key 1) v4..11 and ListOffsets (key 2) v1..3. Layouts: Apache Kafka's definitions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/protocol/wire_reader.h"
#include "server/protocol/wire_writer.h"

namespace sluice::kafka {

struct FetchRequest {
  struct Partition {
    int32_t partition = 0;
    int32_t current_leader_epoch = -1;  // v9+
    int64_t fetch_offset = 0;
    int64_t log_start_offset = -1;  // v5+, followers only
    int32_t partition_max_bytes = 0;
  };
  struct Topic {
    std::string topic;
    std::vector<Partition> partitions;
  };
  struct ForgottenTopic {
    std::string topic;
    std::vector<int32_t> partitions;
  };
  int32_t replica_id = -1;
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = 0x7fffffff;  // v3+
  int8_t isolation_level = 0;      // v4+
  int32_t session_id = 0;          // v7+
  int32_t session_epoch = -1;      // v7+
  std::vector<Topic> topics;
  std::vector<ForgottenTopic> forgotten_topics;  // v7+
  std::string rack_id;                           // v11+

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct FetchResponse {
  struct Partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    int64_t high_watermark = -1;
    int64_t last_stable_offset = -1;  // v4+
    int64_t log_start_offset = -1;    // v5+
    // v4+: transactions aborted in the returned range, as (producer id, first offset); for a
    // read_committed fetch. Empty for read_uncommitted.
    std::vector<std::pair<int64_t, int64_t>> aborted_transactions;
    // Stored batches, served verbatim. Never encoded as null (librdkafka rejects -1).
    std::string records;
  };
  struct Topic {
    std::string topic;
    std::vector<Partition> partitions;
  };
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;  // v7+
  int32_t session_id = 0;  // v7+
  std::vector<Topic> topics;

  void Encode(WireWriter& w, int16_t version) const;
  // Sum of records sizes.
  size_t record_bytes() const;
};

struct ListOffsetsRequest {
  struct Partition {
    int32_t partition_index = 0;
    int64_t timestamp = -1;  // -1 latest, -2 earliest, else epoch ms
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  int32_t replica_id = -1;
  int8_t isolation_level = 0;  // v2+
  std::vector<Topic> topics;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct ListOffsetsResponse {
  struct Partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    int64_t timestamp = -1;
    int64_t offset = -1;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  int32_t throttle_time_ms = 0;  // v2+
  std::vector<Topic> topics;

  void Encode(WireWriter& w, int16_t version) const;
};

}  // namespace sluice::kafka
