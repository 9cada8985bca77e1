#include "core/log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <thread>

#include "core/group_coordinator.h"
#include "core/internal/metadata_file.h"

namespace sluice {
namespace {

constexpr const char* kLockFile = "LOCK";
constexpr const char* kTopicsDir = "topics";
constexpr const char* kGroupsDir = "groups";
constexpr const char* kTrashDir = "trash";
constexpr const char* kTopicConf = "topic.conf";
constexpr const char* kProducerIds = "producer-ids";
// The first line of a checksummed producer-ids file; older files hold just the number.
constexpr std::string_view kProducerIdsHeader = "sluice-producer-ids 2\n";

std::string ProcessName() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::replace(cmd.begin(), cmd.end(), '\0', ' ');
  while (!cmd.empty() && cmd.back() == ' ') cmd.pop_back();
  return cmd.empty() ? "unknown" : cmd;
}

}  // namespace

Log::Log(LogOptions options) : options_(std::move(options)) {
  fs_ = options_.fs ? options_.fs : FileSystem::Default();
  options_.partition.fs = fs_;
  options_.partition.read_only = options_.read_only;
}

Log::~Log() { Close().IgnoreError(); }

Result<std::unique_ptr<Log>> Log::Open(const LogOptions& options) {
  if (options.data_dir.empty()) return InvalidArgument("data directory path is empty");
  std::unique_ptr<Log> log(new Log(options));
  SLUICE_RETURN_IF_ERROR(log->Init());
  return log;
}

Status Log::Init() {
  const std::string& dir = options_.data_dir;
  if (!options_.read_only) {
    SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(JoinPath(dir, kTopicsDir)));
    SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(JoinPath(dir, kGroupsDir)));
    // The lock is an flock on the data directory itself, which cannot be unlinked or replaced
    // while it holds our files: a lock on the LOCK file alone let a second writer in once someone
    // removed LOCK (the first kept its lock on the orphaned inode). LOCK is flocked as well, so a
    // writer of an older version (which locks only LOCK) is still kept out, and it describes the
    // holder for the error a second writer gets. The kernel drops both locks when the holder
    // dies, so a killed writer never leaves a stale lock behind.
    std::string lock_path = JoinPath(dir, kLockFile);
    dir_lock_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_lock_fd_ < 0) return ErrnoToStatus(errno, "cannot open data directory", dir);
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) {
      Status st = ErrnoToStatus(errno, "cannot open lock file", lock_path);
      ReleaseLock();
      return st;
    }
    auto deadline = std::chrono::steady_clock::now() + options_.lock_wait;
    while (::flock(dir_lock_fd_, LOCK_EX | LOCK_NB) != 0 ||
           ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) {
        Status st = ErrnoToStatus(errno, "cannot lock", dir);
        ReleaseLock();
        return st;
      }
      ::flock(dir_lock_fd_, LOCK_UN);  // held only together with LOCK
      if (std::chrono::steady_clock::now() >= deadline) {
        std::string holder(512, '\0');
        ssize_t n = ::pread(lock_fd_, holder.data(), holder.size(), 0);
        holder.resize(n > 0 ? n : 0);
        while (!holder.empty() && holder.back() == '\n') holder.pop_back();
        std::replace(holder.begin(), holder.end(), '\n', ' ');
        ReleaseLock();
        return Unavailable(
            "data directory '{}' is being written by another process ({}); wait for it to "
            "finish or stop it, or use a different --data directory",
            dir, holder.empty() ? "unknown holder" : holder);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      // LOCK may have been removed or replaced meanwhile: read the holder from the current one.
      ::close(lock_fd_);
      lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (lock_fd_ < 0) {
        Status st = ErrnoToStatus(errno, "cannot open lock file", lock_path);
        ReleaseLock();
        return st;
      }
    }
    std::string label =
        options_.lock_holder_label.empty() ? ProcessName() : options_.lock_holder_label;
    std::string info = fmt::format("pid {}: {}\n", ::getpid(), label);
    if (::ftruncate(lock_fd_, 0) != 0 ||
        ::pwrite(lock_fd_, info.data(), info.size(), 0) != static_cast<ssize_t>(info.size())) {
      Status st = ErrnoToStatus(errno, "cannot write lock file", lock_path);
      ReleaseLock();
      return st;
    }
    // Leftovers of a topic deletion that a crash interrupted.
    std::string trash = JoinPath(dir, kTrashDir);
    if (fs_->Exists(trash)) SLUICE_RETURN_IF_ERROR(fs_->RemoveAll(trash));
  }
  offsets_ = std::make_unique<OffsetStore>(fs_, JoinPath(dir, kGroupsDir), options_.read_only);
  groups_ = std::make_unique<GroupCoordinator>(this);
  if (!options_.read_only && options_.retention_check_interval.count() > 0) {
    retention_thread_ = std::thread([this] {
      std::unique_lock lock(retention_mu_);
      while (!retention_cv_.wait_for(lock, options_.retention_check_interval,
                                     [this] { return stop_retention_; })) {
        lock.unlock();
        auto deleted = ApplyRetention(Now());
        if (!deleted.ok()) Info(fmt::format("retention failed: {}", deleted.status()));
        auto cleaned = CleanCompactedTopics(Now());
        if (!cleaned.ok()) Info(fmt::format("compaction failed: {}", cleaned.status()));
        lock.lock();
      }
    });
  }
  return Status::Ok();
}

void Log::Info(const std::string& line) const {
  if (options_.info_log) {
    options_.info_log(line);
  } else {
    fmt::print(stderr, "sluice: {}\n", line);
  }
}

std::string Log::TopicDir(const std::string& name) const {
  return JoinPath(JoinPath(options_.data_dir, kTopicsDir), name);
}

Status Log::CreateTopic(const std::string& name, const TopicConfig& config) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(name));
  SLUICE_RETURN_IF_ERROR(config.Validate());
  if (options_.read_only) {
    return InvalidArgument("cannot create topic '{}': the log is open read-only", name);
  }
  std::lock_guard lock(mu_);
  std::string dir = TopicDir(name);
  std::string conf = JoinPath(dir, kTopicConf);
  // A damaged topic (or one whose topic.conf is gone but whose partitions are not) must not be
  // created over: its old records would come back under the new configuration.
  auto existing = LoadTopicConfig(name);
  if (existing.ok()) return AlreadyExists("topic '{}' already exists", name);
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  // A directory without topic.conf and without partitions is a creation a crash interrupted; it
  // is reused.
  SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(dir));
  SLUICE_RETURN_IF_ERROR(fs_->WriteFileAtomic(conf, config.Serialize()));
  SLUICE_RETURN_IF_ERROR(fs_->SyncDir(JoinPath(options_.data_dir, kTopicsDir)));
  auto state = std::make_unique<TopicState>();
  state->config = config;
  state->partitions.resize(config.partitions);
  topics_[name] = std::move(state);
  return Status::Ok();
}

Status Log::DeleteTopic(const std::string& name) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(name));
  if (options_.read_only) {
    return InvalidArgument("cannot delete topic '{}': the log is open read-only", name);
  }
  std::lock_guard lock(mu_);
  std::string dir = TopicDir(name);
  // A topic whose topic.conf is damaged or missing can still be deleted (that is how its data is
  // dropped on purpose).
  if (!fs_->Exists(JoinPath(dir, kTopicConf))) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<int32_t> parts, PartitionDirs(dir));
    if (parts.empty()) return NotFound("topic '{}' does not exist", name);
  }
  auto it = topics_.find(name);
  if (it != topics_.end()) {
    for (auto& p : it->second->partitions) {
      if (p) SLUICE_RETURN_IF_ERROR(p->Close());
    }
    topics_.erase(it);
  }
  // Rename first so a crash never leaves a half-deleted topic that looks alive.
  std::string trash = JoinPath(options_.data_dir, kTrashDir);
  SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(trash));
  std::string dest = JoinPath(trash, fmt::format("{}-{}", name, Now()));
  SLUICE_RETURN_IF_ERROR(fs_->Rename(dir, dest));
  SLUICE_RETURN_IF_ERROR(fs_->SyncDir(JoinPath(options_.data_dir, kTopicsDir)));
  SLUICE_RETURN_IF_ERROR(fs_->RemoveAll(dest));
  return offsets_->DeleteTopic(name);
}

Status Log::AlterTopicConfig(const std::string& name, const TopicConfig& config) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(name));
  SLUICE_RETURN_IF_ERROR(config.Validate());
  if (options_.read_only) {
    return InvalidArgument("cannot change topic '{}': the log is open read-only", name);
  }
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(TopicConfig old, LoadTopicConfig(name));
  if (old.partitions != config.partitions) {
    return InvalidArgument("topic '{}' has {} partitions; a config change cannot change that", name,
                           old.partitions);
  }
  SLUICE_RETURN_IF_ERROR(
      fs_->WriteFileAtomic(JoinPath(TopicDir(name), kTopicConf), config.Serialize()));
  auto it = topics_.find(name);
  if (it != topics_.end()) {
    for (auto& p : it->second->partitions) {
      if (p) SLUICE_RETURN_IF_ERROR(p->Close());
    }
    topics_.erase(it);
  }
  return Status::Ok();
}

Result<std::vector<std::string>> Log::ListTopics() {
  std::vector<std::string> out;
  std::string dir = JoinPath(options_.data_dir, kTopicsDir);
  if (!fs_->Exists(dir)) return out;
  SLUICE_ASSIGN_OR_RETURN(auto names, fs_->ListDir(dir));
  for (const std::string& n : names) {
    if (!ValidateTopicName(n).ok()) continue;
    std::string tdir = JoinPath(dir, n);
    // A topic that lost its topic.conf still has its partitions: it is listed (DescribeTopic
    // then reports the damage) rather than silently vanishing.
    bool listed = fs_->Exists(JoinPath(tdir, kTopicConf));
    if (!listed) {
      auto parts = PartitionDirs(tdir);
      listed = !parts.ok() || !parts->empty();
    }
    if (listed) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<TopicConfig> Log::DescribeTopic(const std::string& name) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(name));
  {
    std::lock_guard lock(mu_);
    auto it = topics_.find(name);
    if (it != topics_.end()) return it->second->config;
  }
  return LoadTopicConfig(name);
}

Result<std::vector<int32_t>> Log::PartitionDirs(const std::string& topic_dir) const {
  std::vector<int32_t> out;
  if (!fs_->Exists(topic_dir)) return out;
  SLUICE_ASSIGN_OR_RETURN(auto names, fs_->ListDir(topic_dir));
  for (const std::string& n : names) {
    int64_t v = 0;
    if (internal::ParseDecimal(n, &v) && v >= 0 && v <= INT32_MAX && n == std::to_string(v)) {
      out.push_back(static_cast<int32_t>(v));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<TopicConfig> Log::LoadTopicConfig(const std::string& name) const {
  std::string dir = TopicDir(name);
  std::string conf = JoinPath(dir, kTopicConf);
  SLUICE_ASSIGN_OR_RETURN(std::vector<int32_t> parts, PartitionDirs(dir));
  const std::string fix = fmt::format(
      "restore it from a backup, or drop the topic and its data with 'sluice topic delete {}'",
      name);
  if (!fs_->Exists(conf)) {
    if (parts.empty()) {
      return NotFound("topic '{}' does not exist; create it with 'sluice topic create {}'", name,
                      name);
    }
    return Corruption(
        "topic '{}' is damaged: '{}' holds data of {} partition{} but its topic.conf is missing; "
        "{} "
        "(it must allow at least {} partitions)",
        name, dir, parts.size(), parts.size() == 1 ? "" : "s", fix, parts.back() + 1);
  }
  SLUICE_ASSIGN_OR_RETURN(std::string text, fs_->ReadFile(conf));
  auto parsed = TopicConfig::Parse(text);
  if (!parsed.ok()) {
    return Corruption("topic '{}' is damaged: '{}' cannot be read ({}); {}", name, conf,
                      parsed.status().message(), fix);
  }
  if (!parts.empty() && parts.back() >= parsed->partitions) {
    return Corruption(
        "topic '{}' is damaged: '{}' says {} partition{} but '{}' holds partition {}; {} (it must "
        "allow at least {} partitions)",
        name, conf, parsed->partitions, parsed->partitions == 1 ? "" : "s", dir, parts.back(), fix,
        parts.back() + 1);
  }
  return parsed;
}

bool Log::HasTopic(const std::string& name) { return DescribeTopic(name).ok(); }

Result<Partition*> Log::GetPartition(const std::string& topic, PartitionId partition) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(topic));
  std::lock_guard lock(mu_);
  return GetPartitionLocked(topic, partition);
}

Result<RecoveryReport> Log::RepairPartition(const std::string& topic, PartitionId partition,
                                            bool dry_run) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(topic));
  std::lock_guard lock(mu_);
  if (!dry_run && options_.read_only) {
    return InvalidArgument("a repair changes files: open {} as its writer, or use a dry run",
                           options_.data_dir);
  }
  SLUICE_ASSIGN_OR_RETURN(TopicConfig config, LoadTopicConfig(topic));
  if (partition < PartitionId(0) || partition.value() >= config.partitions) {
    return NotFound("topic '{}' has {} partition{}; partition {} does not exist", topic,
                    config.partitions, config.partitions == 1 ? "" : "s", partition);
  }
  if (auto it = topics_.find(topic);
      it != topics_.end() &&
      it->second->partitions.size() > static_cast<size_t>(partition.value()) &&
      it->second->partitions[partition.value()]) {
    return InvalidArgument("partition {}-{} is open in this process; repair it before using it",
                           topic, partition);
  }
  std::string pdir = JoinPath(TopicDir(topic), fmt::format("{}", partition));
  if (!fs_->Exists(pdir)) return RecoveryReport{};  // nothing was ever written
  PartitionOptions o = options_.partition;
  o.repair = true;
  o.read_only = dry_run || options_.read_only;
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Partition> p,
                          Partition::Open(pdir, topic, partition, config, o));
  RecoveryReport report = p->recovery_report();
  SLUICE_RETURN_IF_ERROR(p->Close());
  return report;
}

Result<Partition*> Log::GetPartitionLocked(const std::string& topic, PartitionId partition) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) {
    auto parsed = LoadTopicConfig(topic);
    if (!parsed.ok()) return parsed.status();
    auto state = std::make_unique<TopicState>();
    state->config = *parsed;
    state->partitions.resize(parsed->partitions);
    it = topics_.emplace(topic, std::move(state)).first;
  }
  TopicState& t = *it->second;
  if (partition < PartitionId(0) || partition.value() >= t.config.partitions) {
    return NotFound("topic '{}' has {} partition{}; partition {} does not exist", topic,
                    t.config.partitions, t.config.partitions == 1 ? "" : "s", partition);
  }
  auto& slot = t.partitions[partition.value()];
  if (!slot) {
    std::string pdir = JoinPath(TopicDir(topic), fmt::format("{}", partition));
    // A partition opened for the first time has nothing to recover; only say "recovered" for
    // one that existed without its clean-shutdown marker.
    const bool existed = fs_->Exists(pdir);
    // In read-only mode the directory may not exist yet (the writer has not appended);
    // Partition::Open then gives an empty view that Refresh fills.
    SLUICE_ASSIGN_OR_RETURN(slot,
                            Partition::Open(pdir, topic, partition, t.config, options_.partition));
    const RecoveryReport& report = slot->recovery_report();
    if (!options_.read_only && existed && !report.clean_shutdown) {
      Info(fmt::format("recovered {}-{} after an unclean shutdown: {}", topic, partition,
                       report.ToString()));
    }
  }
  return slot.get();
}

Result<int64_t> Log::AllocateProducerId() {
  if (options_.read_only) return InvalidArgument("cannot allocate a producer id: log is read-only");
  std::lock_guard lock(mu_);
  std::string path = JoinPath(options_.data_dir, kProducerIds);
  int64_t next = -1;
  if (fs_->Exists(path)) {
    SLUICE_ASSIGN_OR_RETURN(std::string bytes, fs_->ReadFile(path));
    Result<int64_t> stored = ParseProducerIds(bytes, path);
    if (stored.ok()) {
      next = *stored;
    } else {
      Info(fmt::format("{}; the next producer id is taken from the partitions instead",
                       stored.status().message()));
    }
  }
  if (next < 0) {
    // The file is new, lost or damaged. Handing out an id a partition already knows would make
    // that producer's first batches look like duplicates of the old ones and be acknowledged
    // without being written, so the next id is one past the largest any partition holds.
    SLUICE_ASSIGN_OR_RETURN(int64_t max_seen, MaxProducerIdLocked());
    next = max_seen + 1;
  }
  SLUICE_RETURN_IF_ERROR(fs_->WriteFileAtomic(
      path, internal::SealMetadata(fmt::format("{}next={}\n", kProducerIdsHeader, next + 1))));
  return next;
}

Result<int64_t> Log::ParseProducerIds(std::string_view bytes, const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(internal::MetadataText m, internal::UnsealMetadata(bytes, path, ""));
  std::string_view text = m.text;
  int64_t next = -1;
  bool ok = false;
  if (m.checksummed && text.starts_with(kProducerIdsHeader)) {
    text.remove_prefix(kProducerIdsHeader.size());
    ok = text.starts_with("next=") && text.ends_with("\n") &&
         internal::ParseDecimal(text.substr(5, text.size() - 6), &next);
  } else if (!m.checksummed && !text.starts_with(kProducerIdsHeader)) {
    // Written before checksums: the number and a newline.
    ok = text.ends_with("\n") && internal::ParseDecimal(text.substr(0, text.size() - 1), &next);
  }
  if (!ok || next < 0) {
    return Corruption("metadata file '{}' is damaged: it does not hold a producer id", path);
  }
  return next;
}

Result<int64_t> Log::MaxProducerIdLocked() {
  int64_t max_seen = -1;
  std::string dir = JoinPath(options_.data_dir, kTopicsDir);
  if (!fs_->Exists(dir)) return max_seen;
  SLUICE_ASSIGN_OR_RETURN(auto names, fs_->ListDir(dir));
  for (const std::string& topic : names) {
    if (!ValidateTopicName(topic).ok()) continue;
    SLUICE_ASSIGN_OR_RETURN(std::vector<int32_t> parts, PartitionDirs(TopicDir(topic)));
    for (int32_t p : parts) {
      auto partition = GetPartitionLocked(topic, PartitionId(p));
      if (!partition.ok()) {
        return partition.status().WithContext(
            "cannot find the largest producer id in use (producer-ids is missing or damaged)");
      }
      max_seen = std::max(max_seen, (*partition)->MaxProducerId());
    }
  }
  return max_seen;
}

Result<int> Log::ApplyRetention(Timestamp now) {
  std::vector<Partition*> open;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, t] : topics_) {
      for (auto& p : t->partitions) {
        if (p) open.push_back(p.get());
      }
    }
  }
  int deleted = 0;
  for (Partition* p : open) {
    SLUICE_ASSIGN_OR_RETURN(int n, p->ApplyRetention(now));
    deleted += n;
  }
  return deleted;
}

Result<int> Log::CleanCompactedTopics(Timestamp now) {
  std::vector<Partition*> open;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, t] : topics_) {
      if (!t->config.compacted()) continue;
      for (auto& p : t->partitions) {
        if (p) open.push_back(p.get());
      }
    }
  }
  int cleaned = 0;
  for (Partition* p : open) {
    SLUICE_ASSIGN_OR_RETURN(CompactionResult r, p->Compact({.now = now, .force = false}));
    if (r.cleaned) {
      ++cleaned;
      Info(
          fmt::format("compacted {}-{}: {} segment(s) of {} bytes into {} of {} bytes, {} of {} "
                      "records kept",
                      p->topic(), p->id(), r.segments_in, r.bytes_in, r.segments_out, r.bytes_out,
                      r.records_out, r.records_in));
    }
  }
  return cleaned;
}

Result<std::vector<CompactionResult>> Log::CompactTopic(const std::string& topic, bool force,
                                                        Timestamp now) {
  SLUICE_ASSIGN_OR_RETURN(TopicConfig config, DescribeTopic(topic));
  if (!config.compacted()) {
    return InvalidArgument(
        "topic '{}' has cleanup.policy=delete, so it is not compacted; create a topic with "
        "--config cleanup.policy=compact for a compacted log",
        topic);
  }
  std::vector<CompactionResult> out;
  for (int32_t i = 0; i < config.partitions; ++i) {
    SLUICE_ASSIGN_OR_RETURN(Partition * p, GetPartition(topic, PartitionId(i)));
    SLUICE_ASSIGN_OR_RETURN(CompactionResult r, p->Compact({.now = now, .force = force}));
    out.push_back(std::move(r));
  }
  return out;
}

Status Log::Close() {
  if (retention_thread_.joinable()) {
    {
      std::lock_guard lock(retention_mu_);
      stop_retention_ = true;
    }
    retention_cv_.notify_all();
    retention_thread_.join();
  }
  Status first;
  if (!options_.read_only && !closed_) {
    auto deleted = ApplyRetention(Now());
    if (!deleted.ok()) first = deleted.status();
  }
  std::lock_guard lock(mu_);
  if (closed_) return Status::Ok();
  closed_ = true;
  for (auto& [name, t] : topics_) {
    for (auto& p : t->partitions) {
      if (!p) continue;
      Status st = p->Close();
      if (first.ok() && !st.ok()) first = st;
    }
  }
  ReleaseLock();
  return first;
}

void Log::ReleaseLock() {
  // Closing the descriptors releases the flocks.
  if (lock_fd_ >= 0) ::close(lock_fd_);
  if (dir_lock_fd_ >= 0) ::close(dir_lock_fd_);
  lock_fd_ = -1;
  dir_lock_fd_ = -1;
}

}  // namespace sluice
