// StateDb: the job's RocksDB instance — one per job instance, in <state_dir>/<application_id>,
// with one column family per named store ("store.<name>") plus "__sluice_meta" for the commit
// records (see commit_format.h). The only place RocksDB statuses become Status.
//
// Thread safety: RocksDB is thread-safe; tasks share one StateDb and write their own batches.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

// Every key in a store column family begins with its task's partition as 4 big-endian bytes
// (TaskStore), so tasks sharing a store never share a key; the memtable's insert hints go by it.
inline constexpr size_t kTaskPrefixBytes = 4;

// Converts a RocksDB status from `what` into a Status (the one place this happens).
Status FromRocks(const rocksdb::Status& s, std::string_view what);

class StateDb {
 public:
  // Opens or creates the DB in `dir` with a column family per store (existing ones are kept).
  // kUnavailable if another process has it open (the job is running elsewhere). `env` (not owned)
  // replaces the default Env when not null (tests pass a fault-injecting one).
  static Result<std::unique_ptr<StateDb>> Open(const std::string& dir,
                                               const std::vector<std::string>& stores,
                                               rocksdb::Env* env = nullptr);
  ~StateDb();

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* meta() const { return meta_; }
  // The column family of store i (index in the list given to Open).
  rocksdb::ColumnFamilyHandle* store(int i) const { return stores_[i]; }
  const std::string& dir() const { return dir_; }

  Status Get(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string* value,
             bool* found) const;
  // Writes atomically; with sync, durable (WAL fsynced) before returning.
  Status Write(rocksdb::WriteBatch* batch, bool sync);
  // Makes every write so far durable (fsyncs the WAL), for writes made with sync = false.
  Status SyncWal();
  // Estimated bytes of the whole DB: live data in SST files plus memtables (RocksDB's
  // estimates, summed over column families; 0 where RocksDB has none).
  int64_t EstimatedBytes() const;
  // Whether `cf` holds any key starting with `prefix`.
  Result<bool> AnyWithPrefix(rocksdb::ColumnFamilyHandle* cf, std::string_view prefix) const;
  // Calls fn for each key with `prefix` in `cf`, in order.
  Status ScanPrefix(rocksdb::ColumnFamilyHandle* cf, std::string_view prefix,
                    const std::function<void(std::string_view, std::string_view)>& fn) const;

 private:
  StateDb() = default;
  std::string dir_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> stores_;
};

}  // namespace sluice
