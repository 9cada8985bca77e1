// KeyValueStore: the byte-level state store interface operators use for named stores.
//
// operators/ declares it; runtime/ implements it over one RocksDB column family per store (with
// an in-memory overlay of uncommitted changes), and the TestDriver uses InMemoryKeyValueStore.
// Keys and values are opaque bytes produced by the store's serdes. A store instance belongs to
// one task and is used by one thread at a time.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice {

class KeyValueStore {
 public:
  virtual ~KeyValueStore() = default;
  // Sets *found and, if found, *value.
  virtual Status Get(std::string_view key, std::string* value, bool* found) = 0;
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  virtual Status Delete(std::string_view key) = 0;
  // Calls fn for every live entry in key byte order.
  virtual Status ForEach(
      const std::function<void(std::string_view key, std::string_view value)>& fn) = 0;
};

// A std::map-backed store (TestDriver, tests).
class InMemoryKeyValueStore final : public KeyValueStore {
 public:
  Status Get(std::string_view key, std::string* value, bool* found) override;
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  Status ForEach(
      const std::function<void(std::string_view key, std::string_view value)>& fn) override;
  size_t size() const { return map_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> map_;
};

}  // namespace sluice
