// FaultInjectionFileSystem: a FileSystem wrapper for durability tests, in the manner of LevelDB's
// FaultInjectionTestEnv and RocksDB's FaultInjectionTestFS.
//
// It remembers, per file written through it, how many bytes were covered by a successful Sync,
// and which files were created (or renamed into place) since their directory was last synced.
// DropUnsyncedData() then simulates power loss: files are cut back to their synced length, files
// created since the last SyncDir of their directory disappear, and renames not covered by a
// SyncDir are undone. Freeze() models the instant of the power cut: every later mutating call
// fails with EIO and changes nothing.
//
// It can also fail operations: the Nth eligible operation from now, or a random 1-in-K, with EIO
// or ENOSPC, once or persistently, optionally writing half the data first (a short write).
//
// Simplifications: file and directory removals and directory creation are treated as durable at
// once; a rename's old target content is kept in memory to be restored (fine for the small files
// that are renamed into place). Thread-safe (one mutex; I/O happens under it).
#pragma once

#include <cerrno>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/file_system.h"

namespace sluice::testing {

// Operation kinds a fault can target (a bit mask).
enum FaultOp : uint32_t {
  kOpWrite = 1 << 0,      // WritableFile::Append
  kOpSync = 1 << 1,       // WritableFile::Sync
  kOpOpen = 1 << 2,       // OpenWritable
  kOpRename = 1 << 3,     // Rename
  kOpRemove = 1 << 4,     // RemoveFile, RemoveAll
  kOpSyncDir = 1 << 5,    // SyncDir
  kOpTruncate = 1 << 6,   // WritableFile::Truncate, FileSystem::Truncate
  kOpCreateDir = 1 << 7,  // CreateDir, CreateDirs
  kOpRead = 1 << 8,       // OpenReadable, ReadableFile::Read
  kOpAllMutating = (1 << 8) - 1,
};

struct FaultSpec {
  int error = EIO;                // errno to report: EIO or ENOSPC
  uint32_t ops = kOpAllMutating;  // which operations count and may fail
  bool persistent = false;        // once triggered, every later eligible op fails too
  bool partial_write = false;     // a failing Append first writes half of its data
};

class FaultInjectionFileSystem final : public FileSystem {
 public:
  explicit FaultInjectionFileSystem(FileSystem* base = FileSystem::Default());

  // Simulated power loss (see the class comment). Call after Freeze() and after the code under
  // test has let go of its files; Unfreeze() before reopening.
  Status DropUnsyncedData();
  void Freeze();
  void Unfreeze();
  bool frozen() const;

  // Fails the `n`th (1-based) operation matching spec.ops from now on.
  void FailNth(int64_t n, const FaultSpec& spec);
  // Fails each operation matching spec.ops with probability 1/k, drawn from `seed`.
  void FailOneIn(int k, uint64_t seed, const FaultSpec& spec);
  void ClearFaults();
  // Operations matching the current fault's mask seen since it was set (all mutating ops when
  // none is set): a clean run's count bounds a countdown sweep.
  int64_t op_count() const;
  int64_t faults_injected() const;
  // Called with the path before every WritableFile::Sync, outside the file system's lock: a sync
  // point that lets a test hold an fsync open while other threads run (e.g. to pin down group
  // commit deterministically).
  void SetBeforeSyncHook(std::function<void(const std::string& path)> hook);
  // Called with the path before every OpenReadable, outside the file system's lock: lets a test
  // run another actor (e.g. retention deleting that very file) between a listing and an open.
  void SetBeforeOpenReadableHook(std::function<void(const std::string& path)> hook);
  // Consulted (under the file system's lock) before every mutating operation while not frozen;
  // returning false freezes the file system and fails that operation. Lets one "power switch"
  // cut several fault layers at the same operation count (tests/runtime/power_loss_test.cc).
  void SetMutationGate(std::function<bool()> gate);

  // FileSystem.
  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path) override;
  Result<std::unique_ptr<ReadableFile>> OpenReadable(const std::string& path) override;
  Status CreateDir(const std::string& path) override;
  Status CreateDirs(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status RemoveAll(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  bool Exists(const std::string& path) override;
  Result<uint64_t> FileSize(const std::string& path) override;
  Status Truncate(const std::string& path, uint64_t size) override;

 private:
  friend class FaultWritableFile;
  friend class FaultReadableFile;

  // Decides whether an operation of kind `op` on `path` fails; returns the error to report.
  // REQUIRES: mu_ held.
  Status MaybeFailLocked(FaultOp op, std::string_view what, const std::string& path, bool* partial);
  Status WriteLocked(WritableFile* f, const std::string& path, std::string_view data);
  Status SyncLocked(WritableFile* f, const std::string& path);
  Status TruncateFileLocked(WritableFile* f, const std::string& path, uint64_t size);

  struct PendingRename {
    std::string to;
    std::optional<std::string> old_content;  // nullopt: `to` did not exist
    // The source's name was durable: undoing the rename brings it back with this (synced)
    // content, as a real file system does; nullopt when the source was new itself.
    std::string from;
    std::optional<std::string> from_content;
  };

  FileSystem* const base_;
  mutable std::mutex mu_;
  bool frozen_ = false;
  std::function<void(const std::string&)> before_sync_;
  std::function<void(const std::string&)> before_open_readable_;
  std::function<bool()> gate_;
  std::map<std::string, uint64_t> synced_size_;                // files written through us
  std::map<std::string, std::set<std::string>> unsynced_new_;  // dir -> paths created since SyncDir
  std::map<std::string, std::vector<PendingRename>> pending_renames_;  // dir -> renames

  // Fault plan.
  enum class Mode { kNone, kNth, kOneIn } mode_ = Mode::kNone;
  FaultSpec spec_;
  int64_t countdown_ = 0;
  int one_in_ = 0;
  std::mt19937_64 rng_;
  bool triggered_ = false;
  int64_t op_count_ = 0;
  int64_t faults_ = 0;
};

}  // namespace sluice::testing
