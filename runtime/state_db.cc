#include "runtime/state_db.h"

#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>

#include <filesystem>
#include <map>

#include "runtime/commit_format.h"
#include "runtime/state_info_log.h"

namespace sluice {

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = s.ToString();
  if (s.IsIOError() && msg.find("lock") != std::string::npos) {
    return Unavailable(
        "{}: the state directory is locked by another process (is the job "
        "already running?): {}",
        what, msg);
  }
  if (s.IsCorruption()) return Corruption("{}: {}", what, msg);
  if (s.IsNotFound()) return NotFound("{}: {}", what, msg);
  if (s.IsIOError()) return IOError("{}: {}", what, msg);
  if (s.IsInvalidArgument()) return InvalidArgument("{}: {}", what, msg);
  return Internal("{}: {}", what, msg);
}

Result<std::unique_ptr<StateDb>> StateDb::Open(const std::string& dir,
                                               const std::vector<std::string>& stores,
                                               rocksdb::Env* env) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IOError("cannot create state directory '{}': {}", dir, ec.message());

  rocksdb::DBOptions opts;
  opts.create_if_missing = true;
  opts.create_missing_column_families = true;
  if (env != nullptr) opts.env = env;
  // Not RocksDB's own file logger: it aborts the process on a full disk (state_info_log.h).
  opts.info_log = std::make_shared<StateInfoLog>((std::filesystem::path(dir) / "LOG").string());
  rocksdb::ColumnFamilyOptions cf_opts;

  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName,
                                    std::string(kMetaColumnFamily)};
  for (const auto& s : stores) names.push_back("store." + s);
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(opts, dir, &existing).ok()) {
    for (const auto& e : existing) {
      if (std::find(names.begin(), names.end(), e) == names.end()) names.push_back(e);
    }
  }
  // Store column families: a commit writes a task's dirty keys as one sorted run (TaskStore::
  // MoveChangesTo), all under the task's 4-byte partition prefix. With an insert hint per prefix
  // the memtable's skiplist continues from the previous key's position instead of searching from
  // the top, so a sorted run costs little more than appending. In-place updates (tried before)
  // need a full search per key first, which costs more than the versions they save once inserts
  // are hinted. Hints need non-concurrent memtable writes; our writers are one WriteBatch per
  // task commit (or per joint commit), so nothing is lost there. Measured against in-place updates
  // with bench/analytics_bench and bench/pipeline_bench (figures in bench/README.md).
  opts.allow_concurrent_memtable_write = false;
  rocksdb::ColumnFamilyOptions store_opts = cf_opts;
  store_opts.memtable_insert_with_hint_prefix_extractor.reset(
      rocksdb::NewFixedPrefixTransform(kTaskPrefixBytes));
  // Smaller memtables than the 64 MiB default: windowed stores insert a new key per window and a
  // tombstone at its close, and a skiplist of a few 100k entries makes every insert a chain of
  // cache misses; flushing 8 MiB (mostly superseded versions) is cheaper (measured with
  // bench/analytics_bench and bench/pipeline_bench; figures in bench/README.md).
  store_opts.write_buffer_size = 8 << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, n.starts_with("store.") ? store_opts : cf_opts);

  std::unique_ptr<StateDb> sdb(new StateDb());
  sdb->dir_ = dir;
  rocksdb::DB* raw = nullptr;
  SLUICE_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(opts, dir, descs, &sdb->handles_, &raw),
                                   fmt::format("opening state directory '{}'", dir)));
  sdb->db_.reset(raw);
  sdb->meta_ = sdb->handles_[1];
  for (size_t i = 0; i < stores.size(); ++i) sdb->stores_.push_back(sdb->handles_[2 + i]);
  return sdb;
}

StateDb::~StateDb() {
  if (db_) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }
}

Status StateDb::Get(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string* value,
                    bool* found) const {
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf, rocksdb::Slice(key.data(), key.size()), value);
  if (s.IsNotFound()) {
    *found = false;
    return Status::Ok();
  }
  *found = s.ok();
  return FromRocks(s, "reading state");
}

Status StateDb::Write(rocksdb::WriteBatch* batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db_->Write(wo, batch);
  if (s.IsNoSpace()) {
    std::error_code ec;
    const std::filesystem::space_info space = std::filesystem::space(dir_, ec);
    return IOError(
        "committing state in '{}': {}; its file system has {} bytes free. Free some disk space "
        "there (or move the state with --state) and start the job again: it resumes from its "
        "last commit",
        dir_, s.ToString(),
        ec ? std::string("an unknown number of") : std::to_string(space.available));
  }
  return FromRocks(s, "committing state");
}

int64_t StateDb::EstimatedBytes() const {
  int64_t total = 0;
  for (const char* property :
       {"rocksdb.estimate-live-data-size", "rocksdb.cur-size-all-mem-tables"}) {
    uint64_t v = 0;
    if (db_->GetAggregatedIntProperty(property, &v)) total += static_cast<int64_t>(v);
  }
  return total;
}

Status StateDb::SyncWal() { return FromRocks(db_->SyncWAL(), "syncing the state's WAL"); }

Result<bool> StateDb::AnyWithPrefix(rocksdb::ColumnFamilyHandle* cf,
                                    std::string_view prefix) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
  it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
  bool any = it->Valid() && it->key().starts_with(rocksdb::Slice(prefix.data(), prefix.size()));
  SLUICE_RETURN_IF_ERROR(FromRocks(it->status(), "scanning state"));
  return any;
}

Status StateDb::ScanPrefix(
    rocksdb::ColumnFamilyHandle* cf, std::string_view prefix,
    const std::function<void(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (!k.starts_with(prefix)) break;
    fn(k, std::string_view(it->value().data(), it->value().size()));
  }
  return FromRocks(it->status(), "scanning state");
}

}  // namespace sluice
