// The Kafka APIs this broker serves: ONE table (SLUICE_KAFKA_APIS) lists each API with its key,
// the exact version range it advertises in ApiVersions, its first flexible version, its request
// type (whose Decode/Encode are the decoder) and the RequestHandler member that serves it.
// Everything else is generated from it: the ApiKey enum, the ApiInfo table below, the
// RequestBody variant and ApiKeyOf (request.h), the decode switch (request.cc) and the handler
// switch (request_handler.cc). Adding an API is one row here plus its message codec and handler.
//
// The lower bounds 0 for FindCoordinator, 0 for Produce and 4 for Fetch are load-bearing for
// librdkafka's feature detection (server/README.md, "APIs and versions served"): librdkafka
// compresses with gzip, snappy and lz4 only when Produce is advertised from version 0 (Kafka 4's
// broker advertises 0 for this reason, KAFKA-18659). Produce v0-v2 requests decode, and each
// partition is answered UNSUPPORTED_VERSION: they carry message format v0/v1, which the log does
// not store, and no client that speaks v3 sends them.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace sluice::kafka {

// X(Name, key, min_version, max_version, first_flexible, RequestType, Handler)
//   Name           ApiKey::k<Name> and the name in logs and errors
//   first_flexible first version with compact encodings and tagged fields (KIP-482); a value
//                  above max_version means no served version is flexible
//   RequestType    the decoded request (its Decode(WireReader&, version) is the decoder)
//   Handler        the RequestHandler member serving it: Reply(h, const Req&),
//                  Reply(h, const Req&, const ClientInfo&), void(h, const Req&, Done) or
//                  void(h, const Req&, const ClientInfo&, Done)
// Rows are sorted by key (checked at compile time below).
#define SLUICE_KAFKA_APIS(X)                                                              \
  X(Produce, 0, 0, 7, 9, ProduceRequest, HandleProduce)                                   \
  X(Fetch, 1, 4, 11, 12, FetchRequest, StartFetch)                                        \
  X(ListOffsets, 2, 1, 3, 6, ListOffsetsRequest, HandleListOffsets)                       \
  X(Metadata, 3, 0, 4, 9, MetadataRequest, HandleMetadata)                                \
  X(OffsetCommit, 8, 2, 7, 8, OffsetCommitRequest, HandleOffsetCommit)                    \
  X(OffsetFetch, 9, 1, 7, 6, OffsetFetchRequest, HandleOffsetFetch)                       \
  X(FindCoordinator, 10, 0, 2, 3, FindCoordinatorRequest, HandleFindCoordinator)          \
  X(JoinGroup, 11, 0, 5, 6, JoinGroupRequest, HandleJoinGroup)                            \
  X(Heartbeat, 12, 0, 3, 4, HeartbeatRequest, HandleHeartbeat)                            \
  X(LeaveGroup, 13, 0, 3, 4, LeaveGroupRequest, HandleLeaveGroup)                         \
  X(SyncGroup, 14, 0, 3, 4, SyncGroupRequest, HandleSyncGroup)                            \
  X(DescribeGroups, 15, 0, 4, 5, DescribeGroupsRequest, HandleDescribeGroups)             \
  X(ListGroups, 16, 0, 2, 3, ListGroupsRequest, HandleListGroups)                         \
  X(SaslHandshake, 17, 0, 1, 2, SaslHandshakeRequest, HandleSaslHandshake)                \
  X(ApiVersions, 18, 0, 3, 3, ApiVersionsRequest, HandleApiVersions)                      \
  X(CreateTopics, 19, 0, 4, 5, CreateTopicsRequest, HandleCreateTopics)                   \
  X(DeleteTopics, 20, 0, 1, 4, DeleteTopicsRequest, HandleDeleteTopics)                   \
  X(DeleteRecords, 21, 0, 2, 2, DeleteRecordsRequest, HandleDeleteRecords)                \
  X(InitProducerId, 22, 0, 1, 2, InitProducerIdRequest, HandleInitProducerId)             \
  X(AddPartitionsToTxn, 24, 0, 2, 3, AddPartitionsToTxnRequest, HandleAddPartitionsToTxn) \
  X(AddOffsetsToTxn, 25, 0, 2, 3, AddOffsetsToTxnRequest, HandleAddOffsetsToTxn)          \
  X(EndTxn, 26, 0, 2, 3, EndTxnRequest, HandleEndTxn)                                     \
  X(TxnOffsetCommit, 28, 0, 3, 3, TxnOffsetCommitRequest, HandleTxnOffsetCommit)          \
  X(DescribeConfigs, 32, 0, 4, 4, DescribeConfigsRequest, HandleDescribeConfigs)          \
  X(AlterConfigs, 33, 0, 2, 2, AlterConfigsRequest, HandleAlterConfigs)                   \
  X(SaslAuthenticate, 36, 0, 2, 2, SaslAuthenticateRequest, HandleSaslAuthenticate)       \
  X(DeleteGroups, 42, 0, 2, 2, DeleteGroupsRequest, HandleDeleteGroups)                   \
  X(IncrementalAlterConfigs, 44, 0, 1, 1, IncrementalAlterConfigsRequest,                 \
    HandleIncrementalAlterConfigs)                                                        \
  X(OffsetDelete, 47, 0, 0, 1, OffsetDeleteRequest, HandleOffsetDelete)                   \
  X(DescribeCluster, 60, 0, 1, 0, DescribeClusterRequest, HandleDescribeCluster)

enum class ApiKey : int16_t {
#define SLUICE_API_ENUM(name, key, ...) k##name = key,
  SLUICE_KAFKA_APIS(SLUICE_API_ENUM)
#undef SLUICE_API_ENUM
};

struct ApiInfo {
  int16_t key;
  int16_t min_version;
  int16_t max_version;
  // First version that uses compact encodings and tagged fields (KIP-482).
  int16_t first_flexible;
  const char* name;
};

// Every served API in table order (sorted by key); ApiVersions advertises exactly this.
inline constexpr ApiInfo kServedApis[] = {
#define SLUICE_API_INFO(name, key, min_v, max_v, flex, ...) {key, min_v, max_v, flex, #name},
    SLUICE_KAFKA_APIS(SLUICE_API_INFO)
#undef SLUICE_API_INFO
};

namespace internal {
constexpr bool ApiTableIsWellFormed() {
  for (size_t i = 0; i < std::size(kServedApis); ++i) {
    const ApiInfo& a = kServedApis[i];
    if (a.min_version < 0 || a.min_version > a.max_version) return false;
    if (i > 0 && kServedApis[i - 1].key >= a.key) return false;
  }
  return true;
}
}  // namespace internal
static_assert(internal::ApiTableIsWellFormed(),
              "SLUICE_KAFKA_APIS: rows must be sorted by strictly increasing key, with "
              "0 <= min_version <= max_version");

// Every served API, sorted by key.
std::span<const ApiInfo> SupportedApis();
// nullptr for an API key we do not serve.
const ApiInfo* FindApi(int16_t key);
// True when (key, version) is advertised.
bool IsSupported(int16_t key, int16_t version);
// True when (key, version) uses the flexible encoding (false for unknown keys).
bool IsFlexible(int16_t key, int16_t version);
// "Produce", "Fetch", ... or "UnknownApi" for a key we do not serve.
const char* ApiName(int16_t key);
// The name Apache Kafka gives key (0..87: "CreatePartitions", "DescribeAcls", ...), whether this
// broker serves it or not; "UnknownApi" past Kafka's keys. For log lines about unserved requests.
const char* KafkaApiName(int16_t key);

}  // namespace sluice::kafka
