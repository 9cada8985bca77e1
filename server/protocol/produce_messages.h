// Produce (key 0) request and response, versions 3..7 (identical layouts apart from the
// response's log_start_offset from v5), as Apache Kafka's ProduceRequest/ProduceResponse define.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/protocol/wire_reader.h"
#include "server/protocol/wire_writer.h"

namespace sluice::kafka {

struct ProduceRequest {
  struct PartitionData {
    int32_t index = 0;
    std::optional<std::string> records;  // concatenated RecordBatch v2 bytes
  };
  struct TopicData {
    std::string name;
    std::vector<PartitionData> partitions;
  };
  std::optional<std::string> transactional_id;
  int16_t acks = -1;
  int32_t timeout_ms = 0;
  std::vector<TopicData> topics;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct ProduceResponse {
  struct PartitionResponse {
    int32_t index = 0;
    int16_t error_code = 0;
    int64_t base_offset = -1;
    int64_t log_append_time_ms = -1;
    int64_t log_start_offset = -1;
  };
  struct TopicResponse {
    std::string name;
    std::vector<PartitionResponse> partitions;
  };
  std::vector<TopicResponse> topics;
  int32_t throttle_time_ms = 0;

  void Encode(WireWriter& w, int16_t version) const;
};

}  // namespace sluice::kafka
