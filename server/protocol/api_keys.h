// The Kafka APIs this broker serves and the exact version ranges it advertises in ApiVersions
// (see /work/shared/kafka-protocol.md §2.1: the lower bounds 0 for FindCoordinator, 3 for
// Produce and 4 for Fetch are load-bearing for librdkafka's feature detection).
#pragma once

#include <cstdint>
#include <span>

namespace sluice::kafka {

enum class ApiKey : int16_t {
  kProduce = 0,
  kFetch = 1,
  kListOffsets = 2,
  kMetadata = 3,
  kOffsetCommit = 8,
  kOffsetFetch = 9,
  kFindCoordinator = 10,
  kJoinGroup = 11,
  kHeartbeat = 12,
  kLeaveGroup = 13,
  kSyncGroup = 14,
  kDescribeGroups = 15,
  kListGroups = 16,
  kApiVersions = 18,
  kCreateTopics = 19,
  kDeleteTopics = 20,
  kInitProducerId = 22,
};

struct ApiInfo {
  int16_t key;
  int16_t min_version;
  int16_t max_version;
  // First version that uses compact encodings and tagged fields (KIP-482).
  int16_t first_flexible;
  const char* name;
};

// Every served API, sorted by key.
std::span<const ApiInfo> SupportedApis();
// nullptr for an API key we do not serve.
const ApiInfo* FindApi(int16_t key);
// True when (key, version) is advertised.
bool IsSupported(int16_t key, int16_t version);
// True when (key, version) uses the flexible encoding (false for unknown keys).
bool IsFlexible(int16_t key, int16_t version);
// "Produce", "Fetch", ... or "ApiKey(<n>)".
const char* ApiName(int16_t key);

}  // namespace sluice::kafka
