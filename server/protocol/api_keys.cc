#include "server/protocol/api_keys.h"

#include <array>

namespace sluice::kafka {
namespace {

constexpr std::array<ApiInfo, 17> kApis = {{
    {0, 3, 7, 9, "Produce"},
    {1, 4, 11, 12, "Fetch"},
    {2, 1, 3, 6, "ListOffsets"},
    {3, 0, 4, 9, "Metadata"},
    {8, 2, 7, 8, "OffsetCommit"},
    {9, 1, 5, 6, "OffsetFetch"},
    {10, 0, 2, 3, "FindCoordinator"},
    {11, 0, 5, 6, "JoinGroup"},
    {12, 0, 3, 4, "Heartbeat"},
    {13, 0, 3, 4, "LeaveGroup"},
    {14, 0, 3, 4, "SyncGroup"},
    {15, 0, 4, 5, "DescribeGroups"},
    {16, 0, 2, 3, "ListGroups"},
    {18, 0, 3, 3, "ApiVersions"},
    {19, 0, 4, 5, "CreateTopics"},
    {20, 0, 1, 4, "DeleteTopics"},
    {22, 0, 1, 2, "InitProducerId"},
}};

}  // namespace

std::span<const ApiInfo> SupportedApis() { return kApis; }

const ApiInfo* FindApi(int16_t key) {
  for (const ApiInfo& a : kApis) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

bool IsSupported(int16_t key, int16_t version) {
  const ApiInfo* a = FindApi(key);
  return a != nullptr && version >= a->min_version && version <= a->max_version;
}

bool IsFlexible(int16_t key, int16_t version) {
  const ApiInfo* a = FindApi(key);
  return a != nullptr && version >= a->first_flexible;
}

const char* ApiName(int16_t key) {
  const ApiInfo* a = FindApi(key);
  return a ? a->name : "UnknownApi";
}

}  // namespace sluice::kafka
