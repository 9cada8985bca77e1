// FileSystem: the only way core/ touches disk. Production uses the POSIX implementation;
// tests substitute a fault-injecting one (tests/testing/fault_fs.h) that can fail operations
// with EIO/ENOSPC and drop data that was never fsynced, to simulate power loss.
//
// Thread safety: FileSystem methods are thread-safe. A WritableFile is used by one thread at a
// time, except that Sync may run concurrently with Append from another thread (group commit:
// one appender fsyncs while others keep writing); a ReadableFile may be read from many threads at
// once (positional reads).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

// A file open for appending. Bytes written by Append are visible to readers of the same path
// (other threads and other processes) as soon as Append returns, and survive a crash of this
// process; they survive power loss only after Sync returns OK.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  // fdatasync. After a failed Sync the file must not be trusted: callers stop writing to it.
  virtual Status Sync() = 0;
  // Shrinks (or extends with zeros) the file to `size`; later Appends go to the new end.
  virtual Status Truncate(uint64_t size) = 0;
  virtual uint64_t size() const = 0;
  virtual Status Close() = 0;
};

// A file open for positional reads.
class ReadableFile {
 public:
  virtual ~ReadableFile() = default;
  // Reads up to n bytes at `offset` into scratch; returns the bytes read (short at EOF).
  virtual Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const = 0;
  // Current size of the file on disk (it may grow while open).
  virtual Result<uint64_t> Size() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // The process-wide POSIX file system.
  static FileSystem* Default();

  // Opens `path` for appending at its end, creating it if missing.
  virtual Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path) = 0;
  virtual Result<std::unique_ptr<ReadableFile>> OpenReadable(const std::string& path) = 0;
  virtual Status CreateDir(const std::string& path) = 0;   // OK if it exists
  virtual Status CreateDirs(const std::string& path) = 0;  // like mkdir -p
  // fsyncs a directory so that entries created, renamed or removed in it are durable.
  virtual Status SyncDir(const std::string& path) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Removes a directory and everything below it.
  virtual Status RemoveAll(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;  // names only
  virtual bool Exists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;

  // Reads a whole (small) file.
  Result<std::string> ReadFile(const std::string& path);
  // Replaces `path` atomically: writes path.tmp, syncs it, renames over path, syncs the dir.
  Status WriteFileAtomic(const std::string& path, std::string_view data);
};

std::string JoinPath(std::string_view a, std::string_view b);
std::string DirName(std::string_view path);

}  // namespace sluice
