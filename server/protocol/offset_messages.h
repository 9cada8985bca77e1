// OffsetCommit (8) v2..7 and OffsetFetch (9) v1..7 (flexible from 6). Layouts: Apache Kafka's
// definitions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/protocol/wire_reader.h"
#include "server/protocol/wire_writer.h"

namespace sluice::kafka {

struct OffsetCommitRequest {
  struct Partition {
    int32_t partition_index = 0;
    int64_t committed_offset = -1;
    int32_t committed_leader_epoch = -1;  // v6+
    int64_t commit_timestamp = -1;        // v1 only
    std::optional<std::string> committed_metadata;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::string group_id;
  int32_t generation_id = -1;                    // v1+
  std::string member_id;                         // v1+
  std::optional<std::string> group_instance_id;  // v7+
  int64_t retention_time_ms = -1;                // v2..4
  std::vector<Topic> topics;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct OffsetCommitResponse {
  struct Partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  int32_t throttle_time_ms = 0;  // v3+
  std::vector<Topic> topics;

  void Encode(WireWriter& w, int16_t version) const;
};

struct OffsetFetchRequest {
  struct Topic {
    std::string name;
    std::vector<int32_t> partition_indexes;
  };
  std::string group_id;
  // nullopt (v2+ null array) = every committed partition of the group.
  std::optional<std::vector<Topic>> topics;
  // v7+: answer UNSTABLE_OFFSET_COMMIT for a partition with a transactional offset not yet
  // committed or aborted (KIP-447), instead of the last committed offset.
  bool require_stable = false;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct OffsetFetchResponse {
  struct Partition {
    int32_t partition_index = 0;
    int64_t committed_offset = -1;
    int32_t committed_leader_epoch = -1;  // v5+
    std::optional<std::string> metadata;
    int16_t error_code = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  int32_t throttle_time_ms = 0;  // v3+
  std::vector<Topic> topics;
  int16_t error_code = 0;  // v2+

  void Encode(WireWriter& w, int16_t version) const;
};

}  // namespace sluice::kafka
