// StateInfoLog: RocksDB's informational log (the LOG file in a job's state directory), written
// so that a full or failing disk can never take the job down with it.
//
// RocksDB's own file logger asserts when it is asked to write again after a failed write
// (librocksdb 7.8: "Assertion `sync_without_flush_called_' failed" in WritableFileWriter), and
// RocksDB logs every background error it handles — so on a full state disk the first failed
// commit aborted the whole process instead of returning an error. This logger appends each line
// with one write(2) and, after the first failed write, stops writing: the log is for people,
// losing its tail is harmless, and the error itself reaches the job through the failed write's
// status. The previous run's LOG is kept as LOG.old.
//
// Thread-safe: RocksDB logs from several threads; each line is one write on an O_APPEND fd.
#pragma once

#include <rocksdb/env.h>

#include <atomic>
#include <string>

namespace sluice {

class StateInfoLog final : public rocksdb::Logger {
 public:
  // Opens (creates) `path` for appending after renaming an existing file to `path`.old. If it
  // cannot be opened, the logger drops every line.
  explicit StateInfoLog(const std::string& path);
  ~StateInfoLog() override;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;

 protected:
  rocksdb::Status CloseImpl() override;

 private:
  int fd_ = -1;
  std::atomic<bool> failed_{false};
};

}  // namespace sluice
