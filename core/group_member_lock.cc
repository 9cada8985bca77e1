#include "core/group_member_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/log.h"
#include "core/offset_store.h"

namespace sluice {
namespace {

std::string ReadHolder(int fd) {
  std::string holder(512, '\0');
  ssize_t n = ::pread(fd, holder.data(), holder.size(), 0);
  holder.resize(n > 0 ? n : 0);
  while (!holder.empty() && holder.back() == '\n') holder.pop_back();
  std::replace(holder.begin(), holder.end(), '\n', ' ');
  return holder;
}

// Opens (creating) the member file of `group`; the groups directory too when a read-only Log
// of an old directory has none.
Result<int> OpenMemberFile(Log& log, const std::string& group, std::string* path) {
  SLUICE_RETURN_IF_ERROR(ValidateGroupId(group));
  *path = log.offsets().MemberLockPath(group);
  if (::mkdir(log.offsets().dir().c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoToStatus(errno, "cannot create the groups directory", log.offsets().dir());
  }
  int fd = ::open(path->c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoToStatus(errno, "cannot open group member file", *path);
  return fd;
}

}  // namespace

Result<std::unique_ptr<GroupMemberLock>> GroupMemberLock::Acquire(Log& log,
                                                                  const std::string& group,
                                                                  const std::string& label) {
  std::string path;
  SLUICE_ASSIGN_OR_RETURN(int fd, OpenMemberFile(log, group, &path));
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    std::string holder = err == EWOULDBLOCK ? ReadHolder(fd) : "";
    ::close(fd);
    if (err != EWOULDBLOCK) return ErrnoToStatus(err, "cannot lock group member file", path);
    return Unavailable(
        "group '{}' already has an active member reading '{}' directly ({}); members in separate "
        "processes need a broker to split the partitions between them: run 'sluice serve --data "
        "{}' and start the consumers again (they go through it), or stop the other member",
        group, log.data_dir(), holder.empty() ? "unknown holder" : holder, log.data_dir());
  }
  std::string info = fmt::format("pid {}: {}\n", ::getpid(), label);
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, info.data(), info.size(), 0) != static_cast<ssize_t>(info.size())) {
    Status st = ErrnoToStatus(errno, "cannot write group member file", path);
    ::close(fd);
    return st;
  }
  return std::unique_ptr<GroupMemberLock>(new GroupMemberLock(fd));
}

Result<std::string> GroupMemberLock::Holder(Log& log, const std::string& group) {
  std::string path = log.offsets().MemberLockPath(group);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return ErrnoToStatus(errno, "cannot open group member file", path);
  }
  std::string holder;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    holder = ReadHolder(fd);
    if (holder.empty()) holder = "unknown holder";
  }
  ::close(fd);  // drops the probe's shared lock
  return holder;
}

GroupMemberLock::~GroupMemberLock() { ::close(fd_); }

}  // namespace sluice
