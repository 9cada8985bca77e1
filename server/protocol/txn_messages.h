// Transaction APIs: AddPartitionsToTxn (24) v0..2, AddOffsetsToTxn (25) v0..2, EndTxn (26)
// v0..2, in their non-flexible versions, and TxnOffsetCommit (28) v0..3 (v3 is flexible and
// carries the consumer's group metadata: generation, member id, group instance id; Kafka's
// TxnOffsetCommitRequest.json). Field lists in ../shared/kafka-transactions-compaction.md
// §1.3-1.7 (verified against Kafka's message JSON). The flexible versions of the other three
// and AddPartitionsToTxn v4+ (broker to coordinator) are not served.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/protocol/wire_reader.h"
#include "server/protocol/wire_writer.h"

namespace sluice::kafka {

struct AddPartitionsToTxnRequest {
  struct Topic {
    std::string name;
    std::vector<int32_t> partitions;
  };
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::vector<Topic> topics;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct AddPartitionsToTxnResponse {
  struct PartitionResult {
    int32_t partition_index = 0;
    int16_t error_code = 0;
  };
  struct Topic {
    std::string name;
    std::vector<PartitionResult> results;
  };
  int32_t throttle_time_ms = 0;
  std::vector<Topic> results;

  void Encode(WireWriter& w, int16_t version) const;
};

struct AddOffsetsToTxnRequest {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::string group_id;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

// The response of AddOffsetsToTxn and EndTxn (v0..2): throttle time and an error code.
struct TxnErrorResponse {
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;

  void Encode(WireWriter& w, int16_t version) const;
};

struct EndTxnRequest {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool committed = false;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

struct TxnOffsetCommitRequest {
  struct Partition {
    int32_t partition_index = 0;
    int64_t committed_offset = -1;
    int32_t committed_leader_epoch = -1;  // v2+
    std::optional<std::string> committed_metadata;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::string transactional_id;
  std::string group_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  // v3+: the consumer's group metadata (ConsumerGroupMetadata); -1 / "" / null from a producer
  // that sends only the group id.
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<Topic> topics;

  Status Decode(WireReader& r, int16_t version);
  void Encode(WireWriter& w, int16_t version) const;
};

// TxnOffsetCommit's response has AddPartitionsToTxn's shape (per topic, per partition a code),
// in compact encodings from v3.
struct TxnOffsetCommitResponse : AddPartitionsToTxnResponse {
  void Encode(WireWriter& w, int16_t version) const;
};

}  // namespace sluice::kafka
