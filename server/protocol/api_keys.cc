#include "server/protocol/api_keys.h"

namespace sluice::kafka {

std::span<const ApiInfo> SupportedApis() { return kServedApis; }

const ApiInfo* FindApi(int16_t key) {
  for (const ApiInfo& a : kServedApis) {
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
