// RocksFaultFileSystem: a rocksdb::FileSystemWrapper for power-loss tests of the job state, the
// RocksDB counterpart of FaultInjectionFileSystem (fault_fs.h), in the manner of RocksDB's
// FaultInjectionTestFS. Give it to RocksDB as an Env with rocksdb::NewCompositeEnv(fs).
//
// It remembers, per file written through it, the length covered by the last successful
// Sync/Fsync (or a RangeSync reaching the end of what was written), and which files were created
// (or renamed into place) since the last Fsync of their directory (FSDirectory::Fsync or
// FsyncWithDirOptions). DropUnsyncedData() then simulates power loss: files are cut back to their
// synced length, files created since their directory's last fsync are removed, and renames not
// covered by a directory fsync are undone (the old target content comes back). Freeze() models
// the instant of the power cut: every later mutating call fails with an IOError and changes
// nothing; Unfreeze() before reopening.
//
// Simplifications (as in fault_fs.h): file and directory removals, directory creation and
// truncation are durable at once; a renamed-over file's old content is kept in memory to be
// restored (fine for CURRENT and OPTIONS files); the source name of an undone rename does not come
// back; a file re-created with NewWritableFile counts as durably emptied; NewRandomRWFile files
// and the info LOG (written by the base file system's own logger) are not tracked; Close and
// Flush are not gated (they write nothing the OS has not been given). Thread-safe: one mutex, and
// every mutating operation runs under it.
#pragma once

#include <rocksdb/file_system.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace sluice::testing {

class RocksFaultFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit RocksFaultFileSystem(
      std::shared_ptr<rocksdb::FileSystem> base = rocksdb::FileSystem::Default());

  static const char* kClassName() { return "SluiceRocksFaultFileSystem"; }
  const char* Name() const override { return kClassName(); }

  // Simulated power loss (see the class comment). Call after Freeze() and after RocksDB is closed.
  Status DropUnsyncedData();
  void Freeze();
  void Unfreeze();
  bool frozen() const;
  // Consulted (under the lock) before every mutating operation while not frozen; returning false
  // freezes the file system and fails that operation (a power switch shared with other layers).
  void SetMutationGate(std::function<bool()> gate);
  // Mutating operations attempted while not frozen (a clean run's count bounds a cut sweep).
  int64_t op_count() const;

  // rocksdb::FileSystem.
  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomRWFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& opts,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& fname, size_t size, const rocksdb::IOOptions& opts,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDir(const std::string& dir, const rocksdb::IOOptions& opts,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDirIfMissing(const std::string& dir, const rocksdb::IOOptions& opts,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteDir(const std::string& dir, const rocksdb::IOOptions& opts,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to,
                               const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& from, const std::string& to,
                             const rocksdb::IOOptions& opts, rocksdb::IODebugContext* dbg) override;

 private:
  friend class RocksFaultWritableFile;
  friend class RocksFaultDirectory;

  struct FileState {
    uint64_t size = 0;    // bytes written through us (or found when first seen)
    uint64_t synced = 0;  // bytes covered by the last sync
  };
  struct PendingRename {
    std::string to;
    std::optional<std::string> old_content;  // nullopt: `to` did not exist (or was not durable)
  };

  // Fails when frozen or when the gate says the power is off. REQUIRES: mu_ held.
  rocksdb::IOStatus CheckLocked(const char* what, const std::string& path);
  // Bookkeeping for a file opened for writing. REQUIRES: mu_ held.
  void TrackOpenLocked(const std::string& path, bool existed, bool truncated, uint64_t size);
  void DirSyncedLocked(const std::string& dir);

  mutable std::mutex mu_;
  bool frozen_ = false;
  std::function<bool()> gate_;
  int64_t op_count_ = 0;
  std::map<std::string, FileState> files_;                     // files written through us
  std::map<std::string, std::set<std::string>> unsynced_new_;  // dir -> created since dir fsync
  std::map<std::string, std::vector<PendingRename>> pending_renames_;  // dir -> renames
};

}  // namespace sluice::testing
