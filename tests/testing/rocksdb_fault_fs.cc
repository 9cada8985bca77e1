#include "tests/testing/rocksdb_fault_fs.h"

#include <algorithm>
#include <filesystem>

namespace sluice::testing {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

// RocksDB builds paths as "<db>/<file>"; normalise so a file's directory matches the name the
// directory was opened with.
std::string Normalize(const std::string& path) {
  std::string p = std::filesystem::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string DirOf(const std::string& normalized_path) {
  size_t slash = normalized_path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return normalized_path.substr(0, slash);
}

Status ToStatus(const IOStatus& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  return IOError("{}: {}", what, s.ToString());
}

}  // namespace

class RocksFaultWritableFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  RocksFaultWritableFile(RocksFaultFileSystem* fs, std::string path,
                         std::unique_ptr<rocksdb::FSWritableFile> base)
      : FSWritableFileOwnerWrapper(std::move(base)), fs_(fs), path_(std::move(path)) {}

  IOStatus Append(const Slice& data, const IOOptions& options, IODebugContext* dbg) override {
    std::lock_guard<std::mutex> l(fs_->mu_);
    IOStatus s = fs_->CheckLocked("append", path_);
    if (s.ok()) s = target()->Append(data, options, dbg);
    if (s.ok()) fs_->files_[path_].size += data.size();
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo& /*info*/, IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            IODebugContext* dbg) override {
    std::lock_guard<std::mutex> l(fs_->mu_);
    IOStatus s = fs_->CheckLocked("positioned append", path_);
    if (s.ok()) s = target()->PositionedAppend(data, offset, options, dbg);
    if (s.ok()) {
      auto& f = fs_->files_[path_];
      f.size = std::max<uint64_t>(f.size, offset + data.size());
    }
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            const rocksdb::DataVerificationInfo& /*info*/,
                            IODebugContext* dbg) override {
    return PositionedAppend(data, offset, options, dbg);
  }
  IOStatus Truncate(uint64_t size, const IOOptions& options, IODebugContext* dbg) override {
    std::lock_guard<std::mutex> l(fs_->mu_);
    IOStatus s = fs_->CheckLocked("truncate", path_);
    if (s.ok()) s = target()->Truncate(size, options, dbg);
    if (s.ok()) {
      auto& f = fs_->files_[path_];
      f.size = size;
      f.synced = std::min(f.synced, size);
    }
    return s;
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    return WholeFileSync("fdatasync", [&] { return target()->Sync(options, dbg); });
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    return WholeFileSync("fsync", [&] { return target()->Fsync(options, dbg); });
  }
  IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const IOOptions& options,
                     IODebugContext* dbg) override {
    std::lock_guard<std::mutex> l(fs_->mu_);
    IOStatus s = fs_->CheckLocked("sync_file_range", path_);
    if (s.ok()) s = target()->RangeSync(offset, nbytes, options, dbg);
    if (s.ok()) {
      // Only a range that continues the synced prefix extends it.
      auto& f = fs_->files_[path_];
      if (offset <= f.synced) f.synced = std::max(f.synced, std::min(f.size, offset + nbytes));
    }
    return s;
  }

 private:
  // A sync of the whole file by `sync` (the base file's): what is written so far becomes synced.
  template <typename SyncFn>
  IOStatus WholeFileSync(const char* what, SyncFn sync) {
    std::lock_guard<std::mutex> l(fs_->mu_);
    IOStatus s = fs_->CheckLocked(what, path_);
    if (s.ok()) s = sync();
    if (s.ok()) fs_->files_[path_].synced = fs_->files_[path_].size;
    return s;
  }

  RocksFaultFileSystem* fs_;
  std::string path_;
};

class RocksFaultDirectory final : public rocksdb::FSDirectory {
 public:
  RocksFaultDirectory(RocksFaultFileSystem* fs, std::string dir,
                      std::unique_ptr<rocksdb::FSDirectory> base)
      : fs_(fs), dir_(std::move(dir)), base_(std::move(base)) {}

  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    return DirSync([&] { return base_->Fsync(options, dbg); });
  }
  IOStatus FsyncWithDirOptions(const IOOptions& options, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& dir_options) override {
    return DirSync([&] { return base_->FsyncWithDirOptions(options, dbg, dir_options); });
  }
  IOStatus Close(const IOOptions& options, IODebugContext* dbg) override {
    return base_->Close(options, dbg);
  }
  size_t GetUniqueId(char* id, size_t max_size) const override {
    return base_->GetUniqueId(id, max_size);
  }

 private:
  // A directory fsync by `sync` (the base directory's): its entries become durable.
  template <typename SyncFn>
  IOStatus DirSync(SyncFn sync) {
    std::lock_guard<std::mutex> l(fs_->mu_);
    IOStatus s = fs_->CheckLocked("fsync directory", dir_);
    if (s.ok()) s = sync();
    if (s.ok()) fs_->DirSyncedLocked(dir_);
    return s;
  }

  RocksFaultFileSystem* fs_;
  std::string dir_;
  std::unique_ptr<rocksdb::FSDirectory> base_;
};

RocksFaultFileSystem::RocksFaultFileSystem(std::shared_ptr<rocksdb::FileSystem> base)
    : FileSystemWrapper(base) {}

IOStatus RocksFaultFileSystem::CheckLocked(const char* what, const std::string& path) {
  if (frozen_) return IOStatus::IOError(std::string(what) + " (file system frozen)", path);
  ++op_count_;
  if (gate_ && !gate_()) {
    frozen_ = true;
    return IOStatus::IOError(std::string(what) + " (power cut)", path);
  }
  return IOStatus::OK();
}

void RocksFaultFileSystem::TrackOpenLocked(const std::string& path, bool existed, bool truncated,
                                           uint64_t size) {
  if (!existed) {
    unsynced_new_[DirOf(path)].insert(path);
    files_[path] = FileState{};
  } else if (truncated) {
    files_[path] = FileState{};
  } else if (files_.count(path) == 0) {
    files_[path] = FileState{size, size};  // what was there before we saw it counts as durable
  }
}

void RocksFaultFileSystem::DirSyncedLocked(const std::string& dir) {
  unsynced_new_.erase(dir);
  pending_renames_.erase(dir);
}

IOStatus RocksFaultFileSystem::NewWritableFile(const std::string& fname,
                                               const rocksdb::FileOptions& opts,
                                               std::unique_ptr<rocksdb::FSWritableFile>* result,
                                               IODebugContext* dbg) {
  std::string path = Normalize(fname);
  std::lock_guard<std::mutex> l(mu_);
  IOStatus s = CheckLocked("open for writing", path);
  if (!s.ok()) return s;
  bool existed = target()->FileExists(path, IOOptions(), nullptr).ok();
  std::unique_ptr<rocksdb::FSWritableFile> base;
  s = target()->NewWritableFile(fname, opts, &base, dbg);
  if (!s.ok()) return s;
  TrackOpenLocked(path, existed, /*truncated=*/true, 0);
  *result = std::make_unique<RocksFaultWritableFile>(this, path, std::move(base));
  return s;
}

IOStatus RocksFaultFileSystem::ReopenWritableFile(const std::string& fname,
                                                  const rocksdb::FileOptions& opts,
                                                  std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                  IODebugContext* dbg) {
  std::string path = Normalize(fname);
  std::lock_guard<std::mutex> l(mu_);
  IOStatus s = CheckLocked("reopen for writing", path);
  if (!s.ok()) return s;
  uint64_t size = 0;
  bool existed = target()->GetFileSize(path, IOOptions(), &size, nullptr).ok();
  std::unique_ptr<rocksdb::FSWritableFile> base;
  s = target()->ReopenWritableFile(fname, opts, &base, dbg);
  if (!s.ok()) return s;
  TrackOpenLocked(path, existed, /*truncated=*/false, size);
  *result = std::make_unique<RocksFaultWritableFile>(this, path, std::move(base));
  return s;
}

IOStatus RocksFaultFileSystem::ReuseWritableFile(const std::string& fname,
                                                 const std::string& old_fname,
                                                 const rocksdb::FileOptions& opts,
                                                 std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                 IODebugContext* dbg) {
  std::string path = Normalize(fname);
  std::string old_path = Normalize(old_fname);
  std::lock_guard<std::mutex> l(mu_);
  IOStatus s = CheckLocked("reuse for writing", path);
  if (!s.ok()) return s;
  std::unique_ptr<rocksdb::FSWritableFile> base;
  s = target()->ReuseWritableFile(fname, old_fname, opts, &base, dbg);
  if (!s.ok()) return s;
  // A rename of the old file plus a truncation: the new name is new since the directory's fsync.
  files_.erase(old_path);
  auto it = unsynced_new_.find(DirOf(old_path));
  if (it != unsynced_new_.end()) it->second.erase(old_path);
  TrackOpenLocked(path, /*existed=*/false, /*truncated=*/true, 0);
  *result = std::make_unique<RocksFaultWritableFile>(this, path, std::move(base));
  return s;
}

IOStatus RocksFaultFileSystem::NewRandomRWFile(const std::string& fname,
                                               const rocksdb::FileOptions& opts,
                                               std::unique_ptr<rocksdb::FSRandomRWFile>* result,
                                               IODebugContext* dbg) {
  {
    std::lock_guard<std::mutex> l(mu_);
    IOStatus s = CheckLocked("open for random writes", Normalize(fname));
    if (!s.ok()) return s;
  }
  return target()->NewRandomRWFile(fname, opts, result, dbg);
}

IOStatus RocksFaultFileSystem::NewDirectory(const std::string& name, const IOOptions& opts,
                                            std::unique_ptr<rocksdb::FSDirectory>* result,
                                            IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSDirectory> base;
  IOStatus s = target()->NewDirectory(name, opts, &base, dbg);
  if (!s.ok()) return s;
  *result = std::make_unique<RocksFaultDirectory>(this, Normalize(name), std::move(base));
  return s;
}

IOStatus RocksFaultFileSystem::DeleteFile(const std::string& fname, const IOOptions& opts,
                                          IODebugContext* dbg) {
  std::string path = Normalize(fname);
  std::lock_guard<std::mutex> l(mu_);
  IOStatus s = CheckLocked("unlink", path);
  if (s.ok()) s = target()->DeleteFile(fname, opts, dbg);
  if (!s.ok()) return s;
  files_.erase(path);
  auto it = unsynced_new_.find(DirOf(path));
  if (it != unsynced_new_.end()) it->second.erase(path);
  return s;
}

IOStatus RocksFaultFileSystem::Truncate(const std::string& fname, size_t size,
                                        const IOOptions& opts, IODebugContext* dbg) {
  std::string path = Normalize(fname);
  std::lock_guard<std::mutex> l(mu_);
  IOStatus s = CheckLocked("truncate", path);
  if (s.ok()) s = target()->Truncate(fname, size, opts, dbg);
  if (!s.ok()) return s;
  auto it = files_.find(path);
  if (it != files_.end()) {
    it->second.size = size;
    it->second.synced = std::min<uint64_t>(it->second.synced, size);
  }
  return s;
}

IOStatus RocksFaultFileSystem::CreateDir(const std::string& dir, const IOOptions& opts,
                                         IODebugContext* dbg) {
  std::lock_guard<std::mutex> l(mu_);
  IOStatus s = CheckLocked("mkdir", dir);
  return s.ok() ? target()->CreateDir(dir, opts, dbg) : s;
}

IOStatus RocksFaultFileSystem::CreateDirIfMissing(const std::string& dir, const IOOptions& opts,
                                                  IODebugContext* dbg) {
  std::lock_guard<std::mutex> l(mu_);
  IOStatus s = CheckLocked("mkdir", dir);
  return s.ok() ? target()->CreateDirIfMissing(dir, opts, dbg) : s;
}

IOStatus RocksFaultFileSystem::DeleteDir(const std::string& dir, const IOOptions& opts,
                                         IODebugContext* dbg) {
  std::lock_guard<std::mutex> l(mu_);
  IOStatus s = CheckLocked("rmdir", dir);
  return s.ok() ? target()->DeleteDir(dir, opts, dbg) : s;
}

IOStatus RocksFaultFileSystem::RenameFile(const std::string& from, const std::string& to,
                                          const IOOptions& opts, IODebugContext* dbg) {
  std::string src = Normalize(from);
  std::string dst = Normalize(to);
  std::lock_guard<std::mutex> l(mu_);
  IOStatus s = CheckLocked("rename", src);
  if (!s.ok()) return s;
  std::string dir = DirOf(dst);
  bool dst_is_new = unsynced_new_.count(dir) > 0 && unsynced_new_[dir].count(dst) > 0;
  PendingRename pr{dst, std::nullopt};
  if (!dst_is_new && target()->FileExists(dst, IOOptions(), nullptr).ok()) {
    // After power loss the old binding (and the durable part of its content) comes back.
    std::string old;
    s = rocksdb::ReadFileToString(target(), dst, &old);
    if (!s.ok()) return s;
    auto it = files_.find(dst);
    if (it != files_.end() && it->second.synced < old.size()) old.resize(it->second.synced);
    pr.old_content = std::move(old);
  }
  s = target()->RenameFile(from, to, opts, dbg);
  if (!s.ok()) return s;
  auto it = files_.find(src);
  FileState state;
  if (it != files_.end()) {
    state = it->second;
    files_.erase(it);
  } else {
    // Not written through us: what it holds counts as durable (as for a file found on open).
    target()->GetFileSize(dst, IOOptions(), &state.size, nullptr).PermitUncheckedError();
    state.synced = state.size;
  }
  files_[dst] = state;
  auto src_new = unsynced_new_.find(DirOf(src));
  if (src_new != unsynced_new_.end()) src_new->second.erase(src);
  if (dst_is_new) {
    unsynced_new_[dir].insert(dst);  // still covered by "created since the last dir fsync"
  } else {
    pending_renames_[dir].push_back(std::move(pr));
  }
  return s;
}

IOStatus RocksFaultFileSystem::LinkFile(const std::string& from, const std::string& to,
                                        const IOOptions& opts, IODebugContext* dbg) {
  std::string src = Normalize(from);
  std::string dst = Normalize(to);
  std::lock_guard<std::mutex> l(mu_);
  IOStatus s = CheckLocked("link", src);
  if (s.ok()) s = target()->LinkFile(from, to, opts, dbg);
  if (!s.ok()) return s;
  uint64_t size = 0;
  target()->GetFileSize(dst, IOOptions(), &size, nullptr).PermitUncheckedError();
  auto it = files_.find(src);
  files_[dst] = it != files_.end() ? it->second : FileState{size, size};
  unsynced_new_[DirOf(dst)].insert(dst);
  return s;
}

Status RocksFaultFileSystem::DropUnsyncedData() {
  std::lock_guard<std::mutex> l(mu_);
  IOOptions io;
  for (auto& [dir, renames] : pending_renames_) {
    for (auto it = renames.rbegin(); it != renames.rend(); ++it) {
      if (it->old_content) {
        SLUICE_RETURN_IF_ERROR(
            ToStatus(rocksdb::WriteStringToFile(target(), *it->old_content, it->to, false),
                     "restoring " + it->to));
        uint64_t n = it->old_content->size();
        files_[it->to] = FileState{n, n};
      } else {
        IOStatus s = target()->DeleteFile(it->to, io, nullptr);
        if (!s.ok() && !s.IsNotFound()) return ToStatus(s, "removing " + it->to);
        files_.erase(it->to);
      }
    }
  }
  pending_renames_.clear();
  for (auto& [dir, paths] : unsynced_new_) {
    for (const std::string& p : paths) {
      IOStatus s = target()->DeleteFile(p, io, nullptr);
      if (!s.ok() && !s.IsNotFound()) return ToStatus(s, "removing " + p);
      files_.erase(p);
    }
  }
  unsynced_new_.clear();
  for (auto& [path, f] : files_) {
    uint64_t size = 0;
    if (!target()->GetFileSize(path, io, &size, nullptr).ok()) continue;  // removed
    if (size > f.synced) {
      // Through a reopened file: RocksDB's posix FileSystem has no FileSystem::Truncate.
      std::unique_ptr<rocksdb::FSWritableFile> file;
      IOStatus s = target()->ReopenWritableFile(path, rocksdb::FileOptions(), &file, nullptr);
      if (s.ok()) s = file->Truncate(f.synced, io, nullptr);
      if (s.ok()) s = file->Close(io, nullptr);
      SLUICE_RETURN_IF_ERROR(ToStatus(s, "truncating " + path));
    }
    f.size = f.synced;
  }
  return Status::Ok();
}

void RocksFaultFileSystem::Freeze() {
  std::lock_guard<std::mutex> l(mu_);
  frozen_ = true;
}

void RocksFaultFileSystem::Unfreeze() {
  std::lock_guard<std::mutex> l(mu_);
  frozen_ = false;
}

bool RocksFaultFileSystem::frozen() const {
  std::lock_guard<std::mutex> l(mu_);
  return frozen_;
}

void RocksFaultFileSystem::SetMutationGate(std::function<bool()> gate) {
  std::lock_guard<std::mutex> l(mu_);
  gate_ = std::move(gate);
}

int64_t RocksFaultFileSystem::op_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return op_count_;
}

}  // namespace sluice::testing
