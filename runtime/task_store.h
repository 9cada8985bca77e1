// TaskStore: a task's view of one named store — RocksDB column family "store.<name>", keys
// prefixed with the task's partition (so two tasks never share a key), with an in-memory cache
// that holds the changes since the last commit (dirty entries) and values read or written
// before (clean entries, so hot keys are not read from RocksDB again). Only this task writes
// its keys, so the cache stays coherent. Commit moves the dirty entries into the task's
// WriteBatch; the cache is dropped at commit once it holds more than kMaxCacheEntries.
// Used by one task thread at a time.
#pragma once

#include <rocksdb/write_batch.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operators/key_value_store.h"
#include "runtime/node_map.h"
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

  static constexpr size_t kMaxCacheEntries = 1 << 20;

  // Before first use: finds out whether RocksDB holds any key of this task's partition. If not,
  // every key the store will ever hold passes through the cache, so a cache miss means "absent"
  // without a RocksDB Get (windowed stores create a new key per window; each was a Get), until
  // the cache is dropped.
  Status Init();

  bool dirty() const { return !dirty_.empty(); }
  // Adds the uncommitted changes to `batch`; they count as committed from now on.
  void MoveChangesTo(rocksdb::WriteBatch* batch);
  // Drops uncommitted changes (and the cache).
  void Discard() {
    dirty_.clear();
    cache_.Clear();
    last_ = nullptr;
    complete_ = false;
  }

 private:
  struct Entry {
    std::optional<std::string> value;  // nullopt: absent (deleted or never written)
    bool dirty = false;
    // RocksDB may hold a value for the key: a commit must Delete it to make it absent. False for
    // a key created and deleted between two commits (a short window), which then costs nothing.
    bool persisted = true;
  };
  using Cache = NodeMap<Entry>;
  std::string& Prefixed(std::string_view key);
  Entry& Slot(std::string_view key);
  // The cache entry of `key`, created if missing (read from RocksDB first when `load`).
  Result<Cache::Node*> Lookup(std::string_view key, bool load);

  StateDb* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::string prefix_;
  std::string scratch_;
  Cache cache_;
  std::vector<Cache::Node*> dirty_;  // nodes never move
  Cache::Node* last_ = nullptr;      // the entry of the last lookup
  bool complete_ = false;            // the cache holds every key the partition has (see Init)
};

}  // namespace sluice
