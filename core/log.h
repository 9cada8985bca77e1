// Log: a data directory of topics, each a fixed number of partitions, plus committed consumer
// group offsets. The entry point of the core library.
//
// Layout (see core/README.md):
//   <data>/LOCK                         holder info; it and <data> itself are flocked by the writer
//   <data>/topics/<topic>/topic.conf    TopicConfig
//   <data>/topics/<topic>/<p>/...       partition segments
//   <data>/groups/<group>.offsets       committed offsets of one group
//   <data>/producer-ids                 next idempotent producer id
//
// Processes: one writer at a time holds LOCK; any number of read-only Logs may be open at once
// alongside it and see its appends (Partition::Refresh). Thread safety: all methods thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/file_system.h"
#include "core/offset_store.h"
#include "core/partition.h"
#include "core/status.h"
#include "core/topic_config.h"
#include "core/types.h"

namespace sluice {

class GroupCoordinator;

struct LogOptions {
  // The data directory; created if missing (writer mode).
  std::string data_dir = "./sluice-data";
  // Read-only: takes no lock, creates nothing, refuses writes with kInvalidArgument.
  bool read_only = false;
  // How long a writer waits for another process's lock before failing with kUnavailable naming
  // the holder. Default 0: fail at once.
  std::chrono::milliseconds lock_wait{0};
  // A label recorded in the lock file so a second writer's error can name the holder
  // (e.g. "sluice produce clicks"). Default: the process name.
  std::string lock_holder_label;
  // File layer; defaults to FileSystem::Default(). Tests pass a fault-injecting one.
  FileSystem* fs = nullptr;
  PartitionOptions partition;
  // Receives one line per notable event (recovery after an unclean shutdown, retention errors).
  // Default: printed to stderr prefixed with "sluice: ".
  std::function<void(const std::string&)> info_log;
  // Writer mode: how often a background thread applies retention to open partitions and cleans
  // the compacted ones that are dirty enough (retention also runs when the Log closes). Zero
  // disables the thread. Default 30 s.
  std::chrono::milliseconds retention_check_interval{30000};
};

class Log {
 public:
  static Result<std::unique_ptr<Log>> Open(const LogOptions& options);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  const std::string& data_dir() const { return options_.data_dir; }
  bool read_only() const { return options_.read_only; }
  FileSystem* fs() const { return fs_; }

  // Creates a topic. kAlreadyExists if it exists; kInvalidArgument for a bad name or config.
  Status CreateTopic(const std::string& name, const TopicConfig& config);
  // Deletes a topic and its data. kNotFound if absent.
  Status DeleteTopic(const std::string& name);
  // Names of all topics, sorted.
  Result<std::vector<std::string>> ListTopics();
  Result<TopicConfig> DescribeTopic(const std::string& name);
  // Replaces a topic's configuration (the partition count must stay the same): writes topic.conf
  // atomically, then closes the topic's open partitions so they reopen with it on next use. The
  // caller must hold no Partition* of the topic (as for DeleteTopic). kNotFound if absent,
  // kInvalidArgument for a bad config or a changed partition count.
  Status AlterTopicConfig(const std::string& name, const TopicConfig& config);
  bool HasTopic(const std::string& name);

  // The partition, opened on first use. kNotFound names the topic or says how many partitions
  // it has.
  Result<Partition*> GetPartition(const std::string& topic, PartitionId partition);

  // `sluice topic repair`: accepts the loss of a damaged partition (PartitionOptions::repair):
  // cuts it at the first damage or missing segment, deletes the segments after it and makes the
  // result durable. With `dry_run` (or a read-only Log) it changes nothing. The report says which
  // offsets were lost (lost_begin/lost_end, damage). The partition must not be open in this Log.
  Result<RecoveryReport> RepairPartition(const std::string& topic, PartitionId partition,
                                         bool dry_run);

  // Committed group offsets (durable).
  OffsetStore& offsets() { return *offsets_; }
  // In-process consumer group membership (see group_coordinator.h).
  GroupCoordinator& groups() { return *groups_; }

  // A new idempotent producer id, unique in this data directory (durable before it returns).
  Result<int64_t> AllocateProducerId();

  // Applies retention to every open partition; returns segments deleted.
  Result<int> ApplyRetention(Timestamp now);
  // Cleans the open partitions of compacted topics whose dirty ratio reached the topic's
  // min.cleanable.dirty.ratio (the background thread runs it after retention); returns the
  // partitions cleaned.
  Result<int> CleanCompactedTopics(Timestamp now);
  // One cleaning of every partition of `topic` (sluice topic compact), ignoring the dirty ratio
  // when `force`. kInvalidArgument if the topic is not compacted.
  Result<std::vector<CompactionResult>> CompactTopic(const std::string& topic, bool force,
                                                     Timestamp now);

  // Closes every partition cleanly and releases the lock. Idempotent; the destructor calls it.
  Status Close();

 private:
  explicit Log(LogOptions options);
  Status Init();
  std::string TopicDir(const std::string& name) const;
  // The partition numbers that have a directory under `topic_dir`, sorted.
  Result<std::vector<int32_t>> PartitionDirs(const std::string& topic_dir) const;
  // Reads topic.conf and checks it against the partition directories: kNotFound if the topic does
  // not exist, kCorruption (saying what to do) if topic.conf is damaged, missing beside partition
  // data, or has fewer partitions than there are directories.
  Result<TopicConfig> LoadTopicConfig(const std::string& name) const;
  Result<Partition*> GetPartitionLocked(const std::string& topic, PartitionId partition);
  static Result<int64_t> ParseProducerIds(std::string_view bytes, const std::string& path);
  Result<int64_t> MaxProducerIdLocked();
  void Info(const std::string& line) const;

  LogOptions options_;
  FileSystem* fs_;
  void ReleaseLock();

  int lock_fd_ = -1;      // LOCK, flocked while this writer runs
  int dir_lock_fd_ = -1;  // the data directory, flocked while this writer runs
  std::mutex mu_;
  struct TopicState {
    TopicConfig config;
    std::vector<std::unique_ptr<Partition>> partitions;
  };
  std::map<std::string, std::unique_ptr<TopicState>> topics_;
  std::unique_ptr<OffsetStore> offsets_;
  std::unique_ptr<GroupCoordinator> groups_;
  bool closed_ = false;
  std::mutex retention_mu_;
  std::condition_variable retention_cv_;
  bool stop_retention_ = false;
  std::thread retention_thread_;
};

}  // namespace sluice
