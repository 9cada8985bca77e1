// GroupMemberLock: the one process that reads a consumer group's partitions directly from a data
// directory (no broker in between) holds an exclusive flock on <data>/groups/<group>.member, so a
// second process that would join the same group is refused instead of silently reading every
// partition too. The kernel drops the lock when its holder exits or is killed, so a dead member
// never blocks the group.
//
// Groups whose members live in one process (GroupCoordinator) or behind a broker (`sluice serve`)
// need no such lock: the coordinator splits the partitions. The lock is for readers of the
// embedded log in separate processes, which have no coordinator between them.
//
// Thread safety: an object is owned by one thread; Holder may be called from any thread.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace sluice {

class Log;

class GroupMemberLock {
 public:
  // Takes the member lock of `group` in `log`'s data directory without waiting, and records
  // "pid N: label" in it. kUnavailable naming the holder (pid and label) if another process (or
  // another GroupMemberLock of this process) holds it; the message says to serve the directory.
  // Works on a read-only Log (the lock file is the one thing it creates).
  static Result<std::unique_ptr<GroupMemberLock>> Acquire(Log& log, const std::string& group,
                                                          const std::string& label);
  // "pid N: label" of the process holding `group`'s member lock, or "" when nobody does.
  static Result<std::string> Holder(Log& log, const std::string& group);

  ~GroupMemberLock();  // releases the lock (the file stays; it is reused)
  GroupMemberLock(const GroupMemberLock&) = delete;
  GroupMemberLock& operator=(const GroupMemberLock&) = delete;

 private:
  explicit GroupMemberLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace sluice
