// TaskStore: a task's view of one named store — RocksDB column family "store.<name>", keys
// prefixed with the task's partition (so two tasks never share a key), with an in-memory
// overlay of the changes since the last commit. Commit moves the overlay into the task's
// WriteBatch. Used by one task thread at a time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <rocksdb/write_batch.h>

#include "operators/key_value_store.h"
#include "runtime/state_db.h"

namespace sluice {

class TaskStore final : public KeyValueStore {
 public:
  TaskStore(StateDb* db, rocksdb::ColumnFamilyHandle* cf, int32_t partition);

  Status Get(std::string_view key, std::string* value, bool* found) override;
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  Status ForEach(
      const std::function<void(std::string_view key, std::string_view value)>& fn) override;

  bool dirty() const { return !overlay_.empty(); }
  // Adds the overlay's changes to `batch` and clears it.
  void MoveChangesTo(rocksdb::WriteBatch* batch);
  // Drops uncommitted changes.
  void Discard() { overlay_.clear(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::string& Prefixed(std::string_view key);

  StateDb* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::string prefix_;
  std::string scratch_;
  std::unordered_map<std::string, std::optional<std::string>, Hash, std::equal_to<>> overlay_;
};

}  // namespace sluice
