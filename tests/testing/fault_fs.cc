#include "tests/testing/fault_fs.h"

namespace sluice::testing {

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionFileSystem* fs, std::string path,
                    std::unique_ptr<WritableFile> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    std::lock_guard<std::mutex> l(fs_->mu_);
    return fs_->WriteLocked(base_.get(), path_, data);
  }
  Status Sync() override {
    std::function<void(const std::string&)> hook;
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      hook = fs_->before_sync_;
    }
    if (hook) hook(path_);
    std::lock_guard<std::mutex> l(fs_->mu_);
    return fs_->SyncLocked(base_.get(), path_);
  }
  Status Truncate(uint64_t size) override {
    std::lock_guard<std::mutex> l(fs_->mu_);
    return fs_->TruncateFileLocked(base_.get(), path_, size);
  }
  uint64_t size() const override { return base_->size(); }
  Status Close() override { return base_->Close(); }

 private:
  FaultInjectionFileSystem* fs_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

class FaultReadableFile final : public ReadableFile {
 public:
  FaultReadableFile(FaultInjectionFileSystem* fs, std::string path,
                    std::unique_ptr<ReadableFile> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}

  Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const override {
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      bool partial;
      SLUICE_RETURN_IF_ERROR(fs_->MaybeFailLocked(kOpRead, "pread", path_, &partial));
    }
    return base_->Read(offset, n, scratch);
  }
  Result<uint64_t> Size() const override { return base_->Size(); }

 private:
  FaultInjectionFileSystem* fs_;
  std::string path_;
  std::unique_ptr<ReadableFile> base_;
};

FaultInjectionFileSystem::FaultInjectionFileSystem(FileSystem* base) : base_(base) {}

Status FaultInjectionFileSystem::MaybeFailLocked(FaultOp op, std::string_view what,
                                                 const std::string& path, bool* partial) {
  *partial = false;
  if (frozen_ && op != kOpRead) {
    return ErrnoToStatus(EIO, fmt::format("{} (file system frozen)", what), path);
  }
  if (op != kOpRead && gate_ && !gate_()) {
    frozen_ = true;
    return ErrnoToStatus(EIO, fmt::format("{} (power cut)", what), path);
  }
  uint32_t mask = mode_ == Mode::kNone ? static_cast<uint32_t>(kOpAllMutating) : spec_.ops;
  if ((mask & op) == 0) return Status::Ok();
  ++op_count_;
  bool fail = false;
  switch (mode_) {
    case Mode::kNone:
      break;
    case Mode::kNth:
      fail = (triggered_ && spec_.persistent) || --countdown_ == 0;
      break;
    case Mode::kOneIn:
      fail = (triggered_ && spec_.persistent) ||
             std::uniform_int_distribution<int>(1, one_in_)(rng_) == 1;
      break;
  }
  if (!fail) return Status::Ok();
  triggered_ = true;
  ++faults_;
  *partial = spec_.partial_write && op == kOpWrite;
  return ErrnoToStatus(spec_.error, fmt::format("{} (injected fault)", what), path);
}

Status FaultInjectionFileSystem::WriteLocked(WritableFile* f, const std::string& path,
                                             std::string_view data) {
  bool partial;
  Status s = MaybeFailLocked(kOpWrite, "write", path, &partial);
  if (!s.ok()) {
    if (partial) f->Append(data.substr(0, data.size() / 2)).IgnoreError();
    return s;
  }
  return f->Append(data);
}

Status FaultInjectionFileSystem::SyncLocked(WritableFile* f, const std::string& path) {
  bool partial;
  SLUICE_RETURN_IF_ERROR(MaybeFailLocked(kOpSync, "fdatasync", path, &partial));
  SLUICE_RETURN_IF_ERROR(f->Sync());
  synced_size_[path] = f->size();
  return Status::Ok();
}

Status FaultInjectionFileSystem::TruncateFileLocked(WritableFile* f, const std::string& path,
                                                    uint64_t size) {
  bool partial;
  SLUICE_RETURN_IF_ERROR(MaybeFailLocked(kOpTruncate, "ftruncate", path, &partial));
  SLUICE_RETURN_IF_ERROR(f->Truncate(size));
  auto it = synced_size_.find(path);
  if (it != synced_size_.end()) it->second = std::min(it->second, size);
  return Status::Ok();
}

Status FaultInjectionFileSystem::DropUnsyncedData() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [dir, renames] : pending_renames_) {
    for (auto it = renames.rbegin(); it != renames.rend(); ++it) {
      if (it->old_content) {
        SLUICE_RETURN_IF_ERROR(base_->Truncate(it->to, 0));
        SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, base_->OpenWritable(it->to));
        SLUICE_RETURN_IF_ERROR(f->Append(*it->old_content));
        SLUICE_RETURN_IF_ERROR(f->Close());
        synced_size_[it->to] = it->old_content->size();
      } else {
        Status s = base_->RemoveFile(it->to);
        if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
        synced_size_.erase(it->to);
      }
      if (it->from_content) {
        SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, base_->OpenWritable(it->from));
        SLUICE_RETURN_IF_ERROR(f->Append(*it->from_content));
        SLUICE_RETURN_IF_ERROR(f->Close());
        synced_size_[it->from] = it->from_content->size();
      }
    }
  }
  pending_renames_.clear();
  for (auto& [dir, paths] : unsynced_new_) {
    for (const std::string& p : paths) {
      Status s = base_->RemoveFile(p);
      if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
      synced_size_.erase(p);
    }
  }
  unsynced_new_.clear();
  for (const auto& [path, synced] : synced_size_) {
    if (!base_->Exists(path)) continue;
    SLUICE_ASSIGN_OR_RETURN(uint64_t size, base_->FileSize(path));
    if (size > synced) SLUICE_RETURN_IF_ERROR(base_->Truncate(path, synced));
  }
  return Status::Ok();
}

void FaultInjectionFileSystem::Freeze() {
  std::lock_guard<std::mutex> l(mu_);
  frozen_ = true;
}
void FaultInjectionFileSystem::Unfreeze() {
  std::lock_guard<std::mutex> l(mu_);
  frozen_ = false;
}
bool FaultInjectionFileSystem::frozen() const {
  std::lock_guard<std::mutex> l(mu_);
  return frozen_;
}

void FaultInjectionFileSystem::FailNth(int64_t n, const FaultSpec& spec) {
  std::lock_guard<std::mutex> l(mu_);
  mode_ = Mode::kNth;
  spec_ = spec;
  countdown_ = n;
  triggered_ = false;
  op_count_ = 0;
}

void FaultInjectionFileSystem::FailOneIn(int k, uint64_t seed, const FaultSpec& spec) {
  std::lock_guard<std::mutex> l(mu_);
  mode_ = Mode::kOneIn;
  spec_ = spec;
  one_in_ = std::max(k, 1);
  rng_.seed(seed);
  triggered_ = false;
  op_count_ = 0;
}

void FaultInjectionFileSystem::ClearFaults() {
  std::lock_guard<std::mutex> l(mu_);
  mode_ = Mode::kNone;
  triggered_ = false;
  op_count_ = 0;
}

void FaultInjectionFileSystem::SetBeforeSyncHook(std::function<void(const std::string&)> hook) {
  std::lock_guard<std::mutex> l(mu_);
  before_sync_ = std::move(hook);
}

void FaultInjectionFileSystem::SetBeforeOpenReadableHook(
    std::function<void(const std::string&)> hook) {
  std::lock_guard<std::mutex> l(mu_);
  before_open_readable_ = std::move(hook);
}

void FaultInjectionFileSystem::SetMutationGate(std::function<bool()> gate) {
  std::lock_guard<std::mutex> l(mu_);
  gate_ = std::move(gate);
}

int64_t FaultInjectionFileSystem::op_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return op_count_;
}
int64_t FaultInjectionFileSystem::faults_injected() const {
  std::lock_guard<std::mutex> l(mu_);
  return faults_;
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::OpenWritable(
    const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  bool partial;
  SLUICE_RETURN_IF_ERROR(MaybeFailLocked(kOpOpen, "open for append", path, &partial));
  bool existed = base_->Exists(path);
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, base_->OpenWritable(path));
  if (!existed) {
    unsynced_new_[DirName(path)].insert(path);
    synced_size_[path] = 0;
  } else if (synced_size_.count(path) == 0) {
    synced_size_[path] = f->size();  // what was there before we saw it counts as durable
  }
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, path, std::move(f)));
}

Result<std::unique_ptr<ReadableFile>> FaultInjectionFileSystem::OpenReadable(
    const std::string& path) {
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard<std::mutex> l(mu_);
    hook = before_open_readable_;
  }
  if (hook) hook(path);
  {
    std::lock_guard<std::mutex> l(mu_);
    bool partial;
    SLUICE_RETURN_IF_ERROR(MaybeFailLocked(kOpRead, "open for reading", path, &partial));
  }
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> f, base_->OpenReadable(path));
  return std::unique_ptr<ReadableFile>(new FaultReadableFile(this, path, std::move(f)));
}

Status FaultInjectionFileSystem::CreateDir(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  bool partial;
  SLUICE_RETURN_IF_ERROR(MaybeFailLocked(kOpCreateDir, "mkdir", path, &partial));
  return base_->CreateDir(path);
}

Status FaultInjectionFileSystem::CreateDirs(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  bool partial;
  SLUICE_RETURN_IF_ERROR(MaybeFailLocked(kOpCreateDir, "mkdir", path, &partial));
  return base_->CreateDirs(path);
}

Status FaultInjectionFileSystem::SyncDir(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  bool partial;
  SLUICE_RETURN_IF_ERROR(MaybeFailLocked(kOpSyncDir, "fsync directory", path, &partial));
  SLUICE_RETURN_IF_ERROR(base_->SyncDir(path));
  unsynced_new_.erase(path);
  pending_renames_.erase(path);
  return Status::Ok();
}

Status FaultInjectionFileSystem::Rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  bool partial;
  SLUICE_RETURN_IF_ERROR(MaybeFailLocked(kOpRename, "rename", from, &partial));
  std::string dir = DirName(to);
  PendingRename pr{to, std::nullopt};
  bool to_is_new = unsynced_new_.count(dir) > 0 && unsynced_new_[dir].count(to) > 0;
  if (base_->Exists(to) && !to_is_new) {
    // After power loss the old name binding (and content) comes back. Only the durable part of
    // the old content survives.
    SLUICE_ASSIGN_OR_RETURN(std::string old, base_->ReadFile(to));
    auto it = synced_size_.find(to);
    if (it != synced_size_.end() && it->second < old.size()) old.resize(it->second);
    pr.old_content = std::move(old);
  }
  std::string from_dir = DirName(from);
  bool from_is_new = unsynced_new_.count(from_dir) > 0 && unsynced_new_[from_dir].count(from) > 0;
  if (!from_is_new && base_->Exists(from)) {
    SLUICE_ASSIGN_OR_RETURN(std::string content, base_->ReadFile(from));
    auto synced_it = synced_size_.find(from);
    if (synced_it != synced_size_.end() && synced_it->second < content.size()) {
      content.resize(synced_it->second);
    }
    pr.from = from;
    pr.from_content = std::move(content);
  }
  SLUICE_RETURN_IF_ERROR(base_->Rename(from, to));
  auto it = synced_size_.find(from);
  uint64_t synced = it != synced_size_.end() ? it->second : 0;
  if (it != synced_size_.end()) synced_size_.erase(it);
  synced_size_[to] = synced;
  if (unsynced_new_.count(from_dir)) unsynced_new_[from_dir].erase(from);
  if (to_is_new) {
    unsynced_new_[dir].insert(to);  // still covered by "created since the last SyncDir"
  } else {
    pending_renames_[dir].push_back(std::move(pr));
  }
  return Status::Ok();
}

Status FaultInjectionFileSystem::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  bool partial;
  SLUICE_RETURN_IF_ERROR(MaybeFailLocked(kOpRemove, "unlink", path, &partial));
  SLUICE_RETURN_IF_ERROR(base_->RemoveFile(path));
  synced_size_.erase(path);
  auto it = unsynced_new_.find(DirName(path));
  if (it != unsynced_new_.end()) it->second.erase(path);
  return Status::Ok();
}

Status FaultInjectionFileSystem::RemoveAll(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  bool partial;
  SLUICE_RETURN_IF_ERROR(MaybeFailLocked(kOpRemove, "remove", path, &partial));
  SLUICE_RETURN_IF_ERROR(base_->RemoveAll(path));
  std::string prefix = path + "/";
  for (auto it = synced_size_.begin(); it != synced_size_.end();) {
    it = (it->first == path || it->first.starts_with(prefix)) ? synced_size_.erase(it)
                                                              : std::next(it);
  }
  return Status::Ok();
}

Result<std::vector<std::string>> FaultInjectionFileSystem::ListDir(const std::string& path) {
  return base_->ListDir(path);
}

bool FaultInjectionFileSystem::Exists(const std::string& path) { return base_->Exists(path); }

Result<uint64_t> FaultInjectionFileSystem::FileSize(const std::string& path) {
  return base_->FileSize(path);
}

Status FaultInjectionFileSystem::Truncate(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> l(mu_);
  bool partial;
  SLUICE_RETURN_IF_ERROR(MaybeFailLocked(kOpTruncate, "truncate", path, &partial));
  SLUICE_RETURN_IF_ERROR(base_->Truncate(path, size));
  auto it = synced_size_.find(path);
  if (it != synced_size_.end()) it->second = std::min(it->second, size);
  return Status::Ok();
}

}  // namespace sluice::testing
