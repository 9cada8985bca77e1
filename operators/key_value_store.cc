#include "operators/key_value_store.h"

namespace sluice {

Status InMemoryKeyValueStore::Get(std::string_view key, std::string* value, bool* found) {
  auto it = map_.find(key);
  *found = it != map_.end();
  if (*found) value->assign(it->second);
  return Status::Ok();
}

Status InMemoryKeyValueStore::Put(std::string_view key, std::string_view value) {
  auto it = map_.find(key);
  if (it == map_.end()) {
    map_.emplace(std::string(key), std::string(value));
  } else {
    it->second.assign(value);
  }
  return Status::Ok();
}

Status InMemoryKeyValueStore::Delete(std::string_view key) {
  auto it = map_.find(key);
  if (it != map_.end()) map_.erase(it);
  return Status::Ok();
}

Status InMemoryKeyValueStore::ForEach(
    const std::function<void(std::string_view, std::string_view)>& fn) {
  for (const auto& [k, v] : map_) fn(k, v);
  return Status::Ok();
}

}  // namespace sluice
