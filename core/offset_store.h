// OffsetStore: committed consumer-group offsets per (group, topic, partition), durable across
// restarts and crashes. One file per group, replaced atomically on every commit.
//
// Thread safety: thread-safe. Read-only stores read the files on every call, so they see commits
// made by another process.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/file_system.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice {

struct TopicPartition {
  std::string topic;
  PartitionId partition;
  auto operator<=>(const TopicPartition&) const = default;
};

// A committed position: the next offset to read, plus optional client metadata.
struct CommittedOffset {
  Offset offset;
  std::string metadata;
  Timestamp commit_time;
};

class OffsetStore {
 public:
  OffsetStore(FileSystem* fs, std::string groups_dir, bool read_only);

  // Durably records `offsets` for `group` (merged with what it had). A group id is 1..249 bytes,
  // any bytes (Kafka clients choose them).
  Status Commit(const std::string& group, const std::map<TopicPartition, CommittedOffset>& offsets);
  // All committed offsets of a group; empty if none.
  Result<std::map<TopicPartition, CommittedOffset>> Fetch(const std::string& group);
  Result<std::optional<CommittedOffset>> Fetch(const std::string& group, const TopicPartition& tp);
  // Groups that have committed offsets, sorted.
  Result<std::vector<std::string>> ListGroups();
  // Deletes a group's offsets, and offsets for a deleted topic in every group.
  Status DeleteGroup(const std::string& group);
  // Durably removes some partitions' committed offsets of a group (absent ones are ignored);
  // returns how many it removed. A group left with none loses its file, as DeleteGroup.
  Result<int> DeleteOffsets(const std::string& group, const std::vector<TopicPartition>& parts);
  Status DeleteTopic(const std::string& topic);

  // The groups directory, and <groups dir>/<encoded group>.member: the file GroupMemberLock
  // flocks (core/group_member_lock.h). ListGroups ignores it.
  const std::string& dir() const { return dir_; }
  std::string MemberLockPath(const std::string& group) const;

 private:
  std::string PathFor(const std::string& group) const;
  Result<std::map<TopicPartition, CommittedOffset>> Load(const std::string& group);
  // Parses a group's file (either version; format in core/README.md). Sets `*group` to the
  // group id the file names (empty for version 1, which does not).
  static Result<std::map<TopicPartition, CommittedOffset>> Parse(std::string_view bytes,
                                                                 const std::string& path,
                                                                 std::string* group);

  FileSystem* fs_;
  std::string dir_;
  bool read_only_;
  std::mutex mu_;
};

Status ValidateGroupId(std::string_view group);

}  // namespace sluice
